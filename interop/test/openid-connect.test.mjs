// Portcullis as an OpenID Provider, for openid-client with its default
// (OpenID Connect Discovery) configuration: discovery at
// /.well-known/openid-configuration, the code flow with PKCE, state and
// nonce, the ID token checked by the library (signature included, with
// enableNonRepudiationChecks), UserInfo, an ID token again on refresh, and
// RP-initiated logout.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';

import { env, issuerUrl, Browser } from './helpers.mjs';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite with interop/run`);
  return v;
}

const rp = {
  id: need('INTEROP_OIDC_ID'),
  secret: need('INTEROP_OIDC_SECRET'),
  redirect: need('INTEROP_OIDC_REDIRECT'),
  loggedOut: need('INTEROP_OIDC_LOGGED_OUT'),
  name: need('INTEROP_USER_NAME'),
  email: need('INTEROP_USER_EMAIL'),
};

async function discover() {
  // No `algorithm`: openid-client's default, OpenID Connect Discovery 1.0.
  const config = await client.discovery(issuerUrl, rp.id, rp.secret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  // Verify ID token signatures against jwks_uri too, not only the claims.
  client.enableNonRepudiationChecks(config);
  return config;
}

/** Signs alice in with `browser` and returns the tokens and what was sent. */
async function signIn(config, browser, scope = 'openid profile email') {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: rp.redirect,
    scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    prompt: 'consent',
  });
  const callback = await browser.authorize(url);
  assert.ok(callback.href.startsWith(`${rp.redirect}?`), `redirected to ${callback}`);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return { tokens, nonce };
}

test('openid-client: default discovery finds the OpenID Provider metadata', async () => {
  const config = await discover();
  const op = config.serverMetadata();
  assert.equal(op.issuer, env.issuer);
  assert.equal(op.userinfo_endpoint, `${env.issuer}/oauth/userinfo`);
  assert.equal(op.end_session_endpoint, `${env.issuer}/oauth/logout`);
  assert.equal(op.jwks_uri, `${env.issuer}/jwks.json`);
  assert.ok(op.scopes_supported.includes('openid'));
  assert.ok(op.id_token_signing_alg_values_supported.includes('RS256'), 'RS256 is always available (OIDC Core §15.1)');
  assert.deepEqual(op.subject_types_supported, ['public', 'pairwise']);
  assert.ok(op.claims_supported.includes('email_verified'));
  assert.equal(op.backchannel_logout_supported, true);
  assert.equal(op.supportsPKCE(), true);
});

test('openid-client: code flow with nonce, ID token, UserInfo, refresh and logout', async () => {
  const config = await discover();
  const browser = new Browser();
  const { tokens, nonce } = await signIn(config, browser);

  // The library has checked iss, aud, azp, exp, iat, nonce and the
  // signature; these are the claims it hands over.
  const claims = tokens.claims();
  assert.equal(claims.iss, env.issuer);
  assert.equal(claims.sub, env.userId);
  assert.equal(claims.aud, rp.id);
  assert.equal(claims.nonce, nonce);
  assert.equal(typeof claims.auth_time, 'number');
  assert.equal(typeof claims.sid, 'string');
  assert.equal(typeof claims.at_hash, 'string');
  assert.ok(tokens.scope.split(' ').includes('openid'));

  // UserInfo with the access token; the subject must match the ID token's.
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.sub, env.userId);
  assert.equal(info.name, rp.name, 'profile scope releases name');
  assert.equal(info.preferred_username, env.username);
  assert.equal(info.email, rp.email, 'email scope releases email');
  assert.equal(info.email_verified, true);
  assert.equal(info.phone_number, undefined, 'phone was not asked for');

  // A refresh brings a new ID token with the original auth_time (§12.2).
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
  const again = refreshed.claims();
  assert.ok(again, 'an ID token on refresh');
  assert.equal(again.sub, claims.sub);
  assert.equal(again.auth_time, claims.auth_time);

  // RP-initiated logout with id_token_hint: straight back to the registered
  // post-logout URI with the state.
  const state = client.randomState();
  const logout = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: rp.loggedOut,
    state,
  });
  const res = await browser.request(logout);
  assert.equal(res.status, 303, `logout answered ${res.status}: ${await res.text()}`);
  const back = new URL(res.headers.get('location'));
  assert.equal(back.origin + back.pathname, rp.loggedOut);
  assert.equal(back.searchParams.get('state'), state);

  // The session is gone: prompt=none now says login_required.
  const silent = client.buildAuthorizationUrl(config, {
    redirect_uri: rp.redirect,
    scope: 'openid',
    state: client.randomState(),
    nonce: client.randomNonce(),
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    prompt: 'none',
  });
  const answer = await browser.request(silent);
  assert.equal(answer.status, 303);
  const error = new URL(answer.headers.get('location'));
  assert.equal(error.origin + error.pathname, rp.redirect);
  assert.equal(error.searchParams.get('error'), 'login_required');
});

test('openid-client: a post_logout_redirect_uri that is not registered is refused', async () => {
  const config = await discover();
  const { tokens } = await signIn(config, new Browser(), 'openid');
  const logout = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: 'https://evil.example/',
  });
  const res = await fetch(logout, { redirect: 'manual' });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('location'), null, 'no redirect to an unregistered URI');
});
