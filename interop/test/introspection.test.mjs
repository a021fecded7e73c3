// Introspection (RFC 7662): access tokens for any confidential client, a
// refresh token only for the client it was issued to.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

import { env, authorizationServer, insecure } from './helpers.mjs';
import { oauth4webapiCodeFlow, openidConfig, webClient, webAuth } from './flows.mjs';

const machineClient = { client_id: env.machine.id };
let web; // tokens of the confidential client
let native; // tokens of the public client

before(async () => {
  web = (await oauth4webapiCodeFlow('web')).tokens;
  native = (await oauth4webapiCodeFlow('native')).tokens;
});

async function introspect(c, auth, token, hint) {
  const as = await authorizationServer();
  const options = { ...insecure };
  if (hint) options.additionalParameters = { token_type_hint: hint };
  const res = await oauth.introspectionRequest(as, c, auth, token, options);
  return oauth.processIntrospectionResponse(as, c, res);
}

test('oauth4webapi: the access token, by the client it was issued to', async () => {
  for (const hint of [undefined, 'access_token']) {
    const info = await introspect(webClient, webAuth(), web.access_token, hint);
    assert.equal(info.active, true, `hint ${hint}`);
    assert.equal(info.client_id, env.web.id);
    assert.equal(info.sub, env.userId);
    assert.equal(info.scope, env.scope);
    assert.equal(info.iss, env.issuer);
    assert.equal(info.token_type.toLowerCase(), 'bearer');
    assert.ok(info.exp > Math.floor(Date.now() / 1000));
  }
});

test('oauth4webapi: the refresh token, by the client it was issued to (with and without hints)', async () => {
  for (const hint of [undefined, 'refresh_token', 'access_token']) {
    const info = await introspect(webClient, webAuth(), web.refresh_token, hint);
    assert.equal(info.active, true, `hint ${hint}: ${JSON.stringify(info)}`);
    assert.equal(info.token_type, 'refresh_token');
    assert.equal(info.client_id, env.web.id);
    assert.equal(info.sub, env.userId);
  }
});

test('oauth4webapi: client_secret_post works for introspection too', async () => {
  const info = await introspect(webClient, oauth.ClientSecretPost(env.web.secret), web.refresh_token, 'refresh_token');
  assert.equal(info.active, true);
  assert.equal(info.token_type, 'refresh_token');
});

test("another client: someone else's access token is active, their refresh token is not", async () => {
  const auth = oauth.ClientSecretBasic(env.machine.secret);
  const at = await introspect(machineClient, auth, web.access_token, 'access_token');
  assert.equal(at.active, true);
  assert.equal(at.client_id, env.web.id);
  for (const [rt, hint] of [
    [web.refresh_token, 'refresh_token'],
    [web.refresh_token, undefined],
    [native.refresh_token, 'refresh_token'],
  ]) {
    const info = await introspect(machineClient, auth, rt, hint);
    assert.deepEqual(info, { active: false });
  }
  // Nor does the confidential client see the public client's refresh token.
  assert.deepEqual(await introspect(webClient, webAuth(), native.refresh_token), { active: false });
  // The public client's access token is active for a confidential client.
  assert.equal((await introspect(webClient, webAuth(), native.access_token)).active, true);
});

test('unknown tokens are active:false', async () => {
  assert.deepEqual(await introspect(webClient, webAuth(), 'not-a-token'), { active: false });
});

test('openid-client: tokenIntrospection with token_type_hint', async () => {
  const config = await openidConfig('web');
  const at = await client.tokenIntrospection(config, web.access_token, { token_type_hint: 'access_token' });
  assert.equal(at.active, true);
  assert.equal(at.sub, env.userId);
  const rt = await client.tokenIntrospection(config, web.refresh_token, { token_type_hint: 'refresh_token' });
  assert.equal(rt.active, true);
  assert.equal(rt.token_type, 'refresh_token');
  const basic = await openidConfig('web-basic');
  assert.equal((await client.tokenIntrospection(basic, web.refresh_token)).active, true);
});
