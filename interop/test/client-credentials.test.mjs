// Client credentials (RFC 6749 §4.4) with client_secret_basic and
// client_secret_post, and the JWT access token checked as a resource
// server would (RFC 9068: signature against the JWKS, typ, iss, aud, exp).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

import { env, issuerUrl, insecure, authorizationServer, validateAccessToken, rejectsWithOAuthError } from './helpers.mjs';

const { id, secret } = env.machine;

async function assertMachineToken(tokens) {
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(typeof tokens.expires_in, 'number');
  assert.ok(tokens.expires_in > 0);
  assert.equal(tokens.scope, env.scope);
  assert.equal(tokens.refresh_token, undefined, 'client credentials issue no refresh token');
  const claims = await validateAccessToken(tokens.access_token);
  assert.equal(claims.iss, env.issuer);
  assert.ok([claims.aud].flat().includes(env.issuer), `aud ${JSON.stringify(claims.aud)} defaults to the issuer`);
  assert.equal(claims.client_id, id);
  assert.equal(claims.scope, env.scope);
  assert.ok(claims.exp > Math.floor(Date.now() / 1000));
  return claims;
}

test('oauth4webapi: client_secret_basic', async () => {
  const as = await authorizationServer();
  const res = await oauth.clientCredentialsGrantRequest(as, { client_id: id }, oauth.ClientSecretBasic(secret), { scope: env.scope }, insecure);
  const tokens = await oauth.processClientCredentialsResponse(as, { client_id: id }, res);
  await assertMachineToken(tokens);
});

test('oauth4webapi: client_secret_post', async () => {
  const as = await authorizationServer();
  const res = await oauth.clientCredentialsGrantRequest(as, { client_id: id }, oauth.ClientSecretPost(secret), { scope: env.scope }, insecure);
  const tokens = await oauth.processClientCredentialsResponse(as, { client_id: id }, res);
  await assertMachineToken(tokens);
});

test('oauth4webapi: a wrong secret is invalid_client', async () => {
  const as = await authorizationServer();
  for (const auth of [oauth.ClientSecretBasic(`${secret}x`), oauth.ClientSecretPost(`${secret}x`)]) {
    await rejectsWithOAuthError(async () => {
      const res = await oauth.clientCredentialsGrantRequest(as, { client_id: id }, auth, { scope: env.scope }, insecure);
      await oauth.processClientCredentialsResponse(as, { client_id: id }, res);
    }, 'invalid_client', 'wrong secret', 401);
  }
});

test('openid-client: clientCredentialsGrant with client_secret_basic and client_secret_post', async () => {
  for (const auth of [client.ClientSecretBasic(secret), client.ClientSecretPost(secret)]) {
    const config = await client.discovery(issuerUrl, id, undefined, auth, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    const tokens = await client.clientCredentialsGrant(config, { scope: env.scope });
    await assertMachineToken(tokens);
    assert.ok(tokens.expiresIn() > 0);
  }
});

test('the resource server refuses a token whose signature or audience is wrong', async () => {
  const as = await authorizationServer();
  const res = await oauth.clientCredentialsGrantRequest(as, { client_id: id }, oauth.ClientSecretBasic(secret), { scope: env.scope }, insecure);
  const { access_token } = await oauth.processClientCredentialsResponse(as, { client_id: id }, res);
  const [h, p, sig] = access_token.split('.');
  const bytes = Buffer.from(sig, 'base64url');
  bytes[bytes.length >> 1] ^= 0x01;
  await assert.rejects(validateAccessToken(`${h}.${p}.${bytes.toString('base64url')}`), /signature/i);
  await assert.rejects(validateAccessToken(access_token, 'https://api.other.example'), /aud/i);
});
