// Refresh tokens rotate on every use; presenting a rotated one is reuse and
// revokes the whole family (so that check comes last in each family).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

import { env, authorizationServer, validateAccessToken, rejectsWithOAuthError, insecure } from './helpers.mjs';
import { oauth4webapiCodeFlow, openidClientCodeFlow, webClient, nativeClient, webAuth } from './flows.mjs';

async function refresh(c, auth, token) {
  const as = await authorizationServer();
  const res = await oauth.refreshTokenGrantRequest(as, c, auth, token, insecure);
  return oauth.processRefreshTokenResponse(as, c, res);
}

async function introspectAsWeb(token) {
  const as = await authorizationServer();
  const res = await oauth.introspectionRequest(as, webClient, webAuth(), token, insecure);
  return oauth.processIntrospectionResponse(as, webClient, res);
}

test('oauth4webapi: confidential client rotates, and reuse revokes the family', async () => {
  const { tokens: first } = await oauth4webapiCodeFlow('web');
  const second = await refresh(webClient, webAuth(), first.refresh_token);
  assert.equal(typeof second.refresh_token, 'string');
  assert.notEqual(second.refresh_token, first.refresh_token, 'the refresh token rotates');
  assert.notEqual(second.access_token, first.access_token);
  assert.equal(second.scope, env.scope, 'a refresh keeps the grant');
  const claims = await validateAccessToken(second.access_token);
  assert.equal(claims.sub, env.userId);

  const third = await refresh(webClient, webAuth(), second.refresh_token);
  assert.notEqual(third.refresh_token, second.refresh_token);

  // Last: the rotated-out token is reuse; the family goes with it.
  await rejectsWithOAuthError(() => refresh(webClient, webAuth(), first.refresh_token), 'invalid_grant', 'a rotated refresh token', 400);
  assert.equal((await introspectAsWeb(third.refresh_token)).active, false, 'reuse revoked the newest refresh token of the family');
  await rejectsWithOAuthError(() => refresh(webClient, webAuth(), third.refresh_token), 'invalid_grant', 'the family after reuse', 400);
});

test('oauth4webapi: public client refreshes with client_id alone', async () => {
  const { tokens: first } = await oauth4webapiCodeFlow('native');
  const second = await refresh(nativeClient, oauth.None(), first.refresh_token);
  assert.notEqual(second.refresh_token, first.refresh_token);
  const claims = await validateAccessToken(second.access_token);
  assert.equal(claims.client_id, env.native.id);
  // Another client cannot redeem it.
  await rejectsWithOAuthError(() => refresh(webClient, webAuth(), second.refresh_token), 'invalid_grant', "another client's refresh token", 400);
});

test('openid-client: refreshTokenGrant rotates (public and confidential), and reuse is invalid_grant', async () => {
  for (const kind of ['native', 'web']) {
    const { tokens: first, config } = await openidClientCodeFlow(kind);
    const second = await client.refreshTokenGrant(config, first.refresh_token);
    assert.notEqual(second.refresh_token, first.refresh_token, `${kind}: the refresh token rotates`);
    assert.equal(second.scope, env.scope);
    await validateAccessToken(second.access_token);
    await rejectsWithOAuthError(() => client.refreshTokenGrant(config, first.refresh_token), 'invalid_grant', `${kind}: a rotated refresh token`, 400);
    await rejectsWithOAuthError(() => client.refreshTokenGrant(config, second.refresh_token), 'invalid_grant', `${kind}: the family after reuse`, 400);
  }
});
