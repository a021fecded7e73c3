// Revocation (RFC 7009) by a confidential client (client_secret_basic) and
// by a public client (client_id alone), then introspection says inactive.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

import { authorizationServer, insecure, rejectsWithOAuthError } from './helpers.mjs';
import { oauth4webapiCodeFlow, openidClientCodeFlow, openidConfig, webClient, nativeClient, webAuth } from './flows.mjs';

async function revoke(c, auth, token, hint) {
  const as = await authorizationServer();
  const options = { ...insecure };
  if (hint) options.additionalParameters = { token_type_hint: hint };
  const res = await oauth.revocationRequest(as, c, auth, token, options);
  return oauth.processRevocationResponse(res);
}

async function activeForWeb(token) {
  const as = await authorizationServer();
  const res = await oauth.introspectionRequest(as, webClient, webAuth(), token, insecure);
  return (await oauth.processIntrospectionResponse(as, webClient, res)).active;
}

async function refresh(c, auth, token) {
  const as = await authorizationServer();
  const res = await oauth.refreshTokenGrantRequest(as, c, auth, token, insecure);
  return oauth.processRefreshTokenResponse(as, c, res);
}

test('oauth4webapi: confidential client revokes its access and refresh tokens (client_secret_basic)', async () => {
  const { tokens } = await oauth4webapiCodeFlow('web');
  assert.equal(await activeForWeb(tokens.access_token), true);
  assert.equal(await activeForWeb(tokens.refresh_token), true);

  await revoke(webClient, webAuth(), tokens.access_token, 'access_token');
  assert.equal(await activeForWeb(tokens.access_token), false, 'the revoked access token');

  await revoke(webClient, webAuth(), tokens.refresh_token, 'refresh_token');
  assert.equal(await activeForWeb(tokens.refresh_token), false, 'the revoked refresh token');
  await rejectsWithOAuthError(() => refresh(webClient, webAuth(), tokens.refresh_token), 'invalid_grant', 'a revoked refresh token', 400);

  // Revoking again, or an unknown token, is still 200 (RFC 7009 §2.2).
  await revoke(webClient, webAuth(), tokens.refresh_token);
  await revoke(webClient, webAuth(), 'not-a-token');
});

test('oauth4webapi: public client revokes with client_id alone (None)', async () => {
  const { tokens } = await oauth4webapiCodeFlow('native');
  assert.equal(await activeForWeb(tokens.access_token), true);

  await revoke(nativeClient, oauth.None(), tokens.access_token);
  assert.equal(await activeForWeb(tokens.access_token), false, 'the revoked access token');

  await revoke(nativeClient, oauth.None(), tokens.refresh_token, 'refresh_token');
  await rejectsWithOAuthError(() => refresh(nativeClient, oauth.None(), tokens.refresh_token), 'invalid_grant', 'a revoked refresh token', 400);
});

test('openid-client: tokenRevocation by the confidential and the public client', async () => {
  for (const kind of ['web-basic', 'native']) {
    const { tokens, config } = await openidClientCodeFlow(kind);
    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    assert.equal(await activeForWeb(tokens.access_token), false, `${kind}: the revoked access token`);
    await client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    if (kind !== 'native') {
      assert.equal(await activeForWeb(tokens.refresh_token), false, `${kind}: the revoked refresh token`);
    }
    await rejectsWithOAuthError(() => client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant', `${kind}: a revoked refresh token`, 400);
  }
  // client_secret_post: an unknown token is 200 as well.
  await client.tokenRevocation(await openidConfig('web'), 'not-a-token');
});
