// RFC 8414 metadata, discovered the way each library does it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

import { env, issuerUrl, insecure } from './helpers.mjs';

function assertEndpoints(as) {
  assert.equal(as.issuer, env.issuer);
  assert.equal(as.authorization_endpoint, `${env.issuer}/oauth/authorize`);
  assert.equal(as.token_endpoint, `${env.issuer}/oauth/token`);
  assert.equal(as.jwks_uri, `${env.issuer}/jwks.json`);
  assert.equal(as.introspection_endpoint, `${env.issuer}/oauth/introspect`);
  assert.equal(as.revocation_endpoint, `${env.issuer}/oauth/revoke`);
  assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
  assert.equal(as.authorization_response_iss_parameter_supported, true);
  for (const g of ['authorization_code', 'client_credentials', 'refresh_token']) {
    assert.ok(as.grant_types_supported.includes(g), `grant_types_supported lacks ${g}`);
  }
  for (const m of ['client_secret_basic', 'client_secret_post', 'none']) {
    assert.ok(as.token_endpoint_auth_methods_supported.includes(m), `token_endpoint_auth_methods_supported lacks ${m}`);
  }
  assert.deepEqual(as.revocation_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'none']);
  assert.deepEqual(as.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
  // The provisioned scopes (the MCP test's too) and the built-in
  // offline_access and OpenID Connect scopes; no client is registered for
  // implicit, so neither it nor `token` is advertised.
  const provisioned = [env.scope, process.env.INTEROP_MCP_SCOPE].filter(Boolean);
  const builtin = ['address', 'email', 'offline_access', 'openid', 'phone', 'profile'];
  assert.deepEqual(as.scopes_supported, [...builtin, ...provisioned].sort());
  // Clients nobody registered: dynamic registration and metadata documents.
  assert.equal(as.registration_endpoint, `${env.issuer}/oauth/register`);
  assert.equal(as.client_id_metadata_document_supported, true);
  assert.deepEqual(as.response_types_supported, ['code']);
  assert.ok(!as.grant_types_supported.includes('implicit'));
}

test('oauth4webapi: discoveryRequest / processDiscoveryResponse (algorithm oauth2)', async () => {
  const res = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', ...insecure });
  assert.equal(new URL(res.url).pathname, '/.well-known/oauth-authorization-server');
  const as = await oauth.processDiscoveryResponse(issuerUrl, res);
  assertEndpoints(as);
});

test('oauth4webapi: a different expected issuer is refused', async () => {
  const res = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', ...insecure });
  const other = new URL(`${env.issuer}/elsewhere`);
  await assert.rejects(oauth.processDiscoveryResponse(other, res), (e) => e.code === oauth.JSON_ATTRIBUTE_COMPARISON);
});

test('openid-client: discovery() with algorithm oauth2', async () => {
  const config = await client.discovery(issuerUrl, env.machine.id, env.machine.secret, undefined, {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests],
  });
  const as = config.serverMetadata();
  assertEndpoints(as);
  assert.equal(as.supportsPKCE(), true);
  assert.equal(config.clientMetadata().client_id, env.machine.id);
});
