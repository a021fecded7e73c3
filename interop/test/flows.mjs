// The authorization code flow (PKCE S256, state, iss) end to end with each
// library, for the confidential web client and the public native client.
// Each call signs the user in with a fresh browser and returns the tokens.

import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

import { env, issuerUrl, insecure, authorizationServer, Browser, loopbackListener, deliver } from './helpers.mjs';

export const webClient = { client_id: env.web.id };
export const nativeClient = { client_id: env.native.id };
export const webAuth = () => oauth.ClientSecretBasic(env.web.secret);

/** openid-client configurations, discovered once per kind. */
const configs = {};
export async function openidConfig(kind) {
  if (!configs[kind]) {
    const [id, meta, auth] =
      kind === 'web'
        ? [env.web.id, undefined, client.ClientSecretPost(env.web.secret)]
        : kind === 'web-basic'
          ? [env.web.id, undefined, client.ClientSecretBasic(env.web.secret)]
          : [env.native.id, undefined, client.None()];
    configs[kind] = await client.discovery(issuerUrl, id, meta, auth, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
  }
  return configs[kind];
}

/**
 * oauth4webapi: the authorization request, the headless sign-in and
 * consent, validateAuthResponse (state and iss), and the code exchange.
 * `kind` is 'web' (client_secret_basic, the registered redirect URI) or
 * 'native' (no client authentication, a loopback listener on a random port).
 */
export async function oauth4webapiCodeFlow(kind, { prompt, scope = env.scope } = {}) {
  const as = await authorizationServer();
  const c = kind === 'web' ? webClient : nativeClient;
  const auth = kind === 'web' ? webAuth() : oauth.None();
  const listener = kind === 'native' ? await loopbackListener() : null;
  try {
    const redirectUri = listener ? listener.redirectUri : env.web.redirect;
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: c.client_id,
      redirect_uri: redirectUri,
      ...(scope === null ? {} : { scope }),
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...(prompt ? { prompt } : {}),
    }).toString();

    const browser = new Browser();
    let callback = await browser.authorize(url);
    assert.ok(callback.href.startsWith(`${redirectUri}?`), `redirected to ${callback}, not ${redirectUri}`);
    if (listener) callback = await deliver(listener, callback);
    assert.equal(callback.searchParams.get('iss'), env.issuer);

    // A mismatched state or issuer must be caught by the library.
    assert.throws(() => oauth.validateAuthResponse(as, c, callback, `${state}x`), /state/);
    const forged = new URL(callback);
    forged.searchParams.set('iss', 'https://evil.example');
    assert.throws(() => oauth.validateAuthResponse(as, c, forged, state), /iss/);

    const params = oauth.validateAuthResponse(as, c, callback, state);
    const res = await oauth.authorizationCodeGrantRequest(as, c, auth, params, redirectUri, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, c, res);
    return { tokens, params, redirectUri, verifier, steps: browser.steps };
  } finally {
    await listener?.close();
  }
}

/**
 * openid-client: buildAuthorizationUrl, the headless sign-in and consent,
 * then authorizationCodeGrant on the callback URL with expectedState and
 * the PKCE verifier (it validates iss itself).
 */
export async function openidClientCodeFlow(kind, { prompt, scope = env.scope } = {}) {
  const config = await openidConfig(kind);
  const listener = kind === 'native' ? await loopbackListener() : null;
  try {
    const redirectUri = listener ? listener.redirectUri : env.web.redirect;
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      ...(scope === null ? {} : { scope }),
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...(prompt ? { prompt } : {}),
    });
    const browser = new Browser();
    let callback = await browser.authorize(url);
    assert.ok(callback.href.startsWith(`${redirectUri}?`), `redirected to ${callback}, not ${redirectUri}`);
    if (listener) callback = await deliver(listener, callback);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return { tokens, config, redirectUri, callback, steps: browser.steps };
  } finally {
    await listener?.close();
  }
}
