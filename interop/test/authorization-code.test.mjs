// Authorization code with PKCE (S256), state and iss (RFC 9207), for a
// confidential client and for a public native client on a random loopback
// port (RFC 8252 §7.3), with both libraries. Each flow here asks for
// prompt=consent, so the consent page is filled in every time (a remembered
// consent would otherwise skip it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';

import { env, authorizationServer, validateAccessToken, rejectsWithOAuthError, insecure } from './helpers.mjs';
import { oauth4webapiCodeFlow, openidClientCodeFlow, webClient, webAuth } from './flows.mjs';

const consent = { prompt: 'consent' };

function assertConsented(steps) {
  assert.ok(steps.includes('POST /consent'), `no consent page: ${steps.join(' → ')}`);
}

async function assertUserTokens(tokens, clientId) {
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, env.scope);
  assert.equal(typeof tokens.refresh_token, 'string', 'a client allowed refresh_token gets one');
  assert.ok(tokens.refresh_token.length >= 32);
  const claims = await validateAccessToken(tokens.access_token);
  assert.equal(claims.sub, env.userId, 'sub is the user who signed in');
  assert.equal(claims.client_id, clientId);
  assert.equal(claims.scope, env.scope);
}

test('oauth4webapi: confidential client, client_secret_basic', async () => {
  const { tokens, params, redirectUri, verifier, steps } = await oauth4webapiCodeFlow('web', consent);
  assertConsented(steps);
  await assertUserTokens(tokens, env.web.id);

  // The code works once.
  const as = await authorizationServer();
  await rejectsWithOAuthError(async () => {
    const res = await oauth.authorizationCodeGrantRequest(as, webClient, webAuth(), params, redirectUri, verifier, insecure);
    await oauth.processAuthorizationCodeResponse(as, webClient, res);
  }, 'invalid_grant', 'a replayed code', 400);
});

test('oauth4webapi: public client on a random loopback port, no client authentication', async () => {
  const { tokens, redirectUri, steps } = await oauth4webapiCodeFlow('native', consent);
  assertConsented(steps);
  assert.match(redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  assert.notEqual(redirectUri, env.native.registered);
  await assertUserTokens(tokens, env.native.id);
});

test('openid-client: confidential client, client_secret_post', async () => {
  const { tokens, steps } = await openidClientCodeFlow('web', consent);
  assertConsented(steps);
  await assertUserTokens(tokens, env.web.id);
  assert.ok(tokens.expiresIn() > 0);
});

test('openid-client: confidential client, client_secret_basic', async () => {
  const { tokens, steps } = await openidClientCodeFlow('web-basic', consent);
  assertConsented(steps);
  await assertUserTokens(tokens, env.web.id);
});

test('openid-client: public client on a random loopback port', async () => {
  const { tokens, redirectUri, callback, steps } = await openidClientCodeFlow('native', consent);
  assertConsented(steps);
  assert.equal(callback.origin + callback.pathname, redirectUri);
  await assertUserTokens(tokens, env.native.id);
});

test('oauth4webapi: no scope sent gets the client\'s default scopes (RFC 6749 §3.3)', async () => {
  const { tokens, steps } = await oauth4webapiCodeFlow('web', { ...consent, scope: null });
  assertConsented(steps);
  await assertUserTokens(tokens, env.web.id);
});

test('openid-client: offline_access asks for a refresh token and stays out of the access token', async () => {
  const { tokens, steps } = await openidClientCodeFlow('native', { ...consent, scope: `${env.scope} offline_access` });
  assertConsented(steps);
  // assertUserTokens checks the response's and the token's scope are the
  // API scope alone, and that a refresh token came.
  await assertUserTokens(tokens, env.native.id);
});
