// The official MCP TypeScript SDK's client against the MCP server example
// (crates/guard/examples/mcp_server) behind portcullis-guard, with
// Portcullis as its authorization server: a 401 pointing at the protected
// resource metadata, discovery, registration (by client ID metadata
// document, then by dynamic registration with an initial access token),
// the code flow with PKCE and `resource`, a tool call, and a refresh.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';

import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { Browser, env } from './helpers.mjs';

const mcpUrl = process.env.INTEROP_MCP_URL;
const skip = mcpUrl ? false : 'INTEROP_MCP_URL is not set (interop/run starts the MCP example)';
const REDIRECT = 'http://127.0.0.1:53682/callback';

/** An in-memory OAuthClientProvider, as a CLI agent would keep one. */
class MemoryProvider {
  constructor({ clientMetadataUrl } = {}) {
    this.clientMetadataUrl = clientMetadataUrl;
    this.authorizationUrl = undefined;
    this.registered = undefined;
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: 'Interop MCP agent',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info) {
    this.info = info;
    this.registered = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = new URL(url);
  }
  saveCodeVerifier(v) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

function decodeJwt(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

async function connected(provider, fetchFn) {
  const client = new Client({ name: 'portcullis-interop', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: fetchFn });
  await client.connect(transport);
  return client;
}

/**
 * The whole agent flow with one provider: unauthorized connect, headless
 * sign-in and consent at the URL the SDK built, finishAuth, a connected
 * client, a tool call, a refresh through the SDK and another call.
 */
async function agentFlow(provider, fetchFn) {
  const client = new Client({ name: 'portcullis-interop', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: fetchFn });
  await assert.rejects(client.connect(transport), UnauthorizedError);

  const url = provider.authorizationUrl;
  assert.ok(url, 'the SDK sent the user to the authorization endpoint');
  assert.equal(url.origin + url.pathname, `${env.issuer}/oauth/authorize`);
  assert.equal(url.searchParams.get('resource'), mcpUrl, 'RFC 8707 resource is the MCP server');
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(url.searchParams.get('code_challenge'));

  const callback = await new Browser().authorize(url);
  assert.ok(callback.href.startsWith(`${REDIRECT}?`), `${callback}`);
  assert.equal(callback.searchParams.get('iss'), env.issuer);
  await transport.finishAuth(callback.searchParams.get('code'));

  const first = provider.tokens();
  assert.ok(first.access_token && first.refresh_token, 'an access and a refresh token');
  const claims = decodeJwt(first.access_token);
  assert.equal(claims.aud, mcpUrl, 'the token is for the MCP server only');
  assert.equal(claims.sub, env.userId);
  assert.equal(claims.client_id, provider.clientInformation().client_id);

  const mcp = await connected(provider, fetchFn);
  const tools = await mcp.listTools();
  assert.ok(tools.tools.some((t) => t.name === 'whoami'), JSON.stringify(tools));
  const who = await mcp.callTool({ name: 'whoami', arguments: {} });
  assert.ok(!who.isError, JSON.stringify(who));
  assert.match(JSON.stringify(who.content), new RegExp(env.userId), 'the tool sees the signed-in user');
  await mcp.close();

  // The SDK refreshes with the refresh token it saved.
  const result = await auth(provider, { serverUrl: mcpUrl, fetchFn });
  assert.equal(result, 'AUTHORIZED');
  const second = provider.tokens();
  assert.notEqual(second.access_token, first.access_token, 'a new access token');
  assert.notEqual(second.refresh_token, first.refresh_token, 'the refresh token rotated');
  assert.equal(decodeJwt(second.access_token).aud, mcpUrl);
  const again = await connected(provider, fetchFn);
  const who2 = await again.callTool({ name: 'whoami', arguments: {} });
  assert.ok(!who2.isError, JSON.stringify(who2));
  await again.close();
}

describe('MCP TypeScript SDK', { skip }, () => {
  test('an unauthenticated request gets a 401 naming the protected resource metadata', async () => {
    const res = await fetch(mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    });
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate');
    const m = challenge.match(/resource_metadata="([^"]+)"/);
    assert.ok(m, challenge);
    const prm = await (await fetch(m[1])).json();
    assert.equal(prm.resource, mcpUrl);
    assert.deepEqual(prm.authorization_servers, [env.issuer]);
  });

  describe('registered by a client ID metadata document', () => {
    let server;
    let documentUrl;
    let fetched = 0;
    before(async () => {
      const tls = {
        key: readFileSync(process.env.INTEROP_TLS_KEY),
        cert: readFileSync(process.env.INTEROP_TLS_CERT),
      };
      server = https.createServer(tls, (req, res) => {
        fetched += 1;
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
        res.end(
          JSON.stringify({
            client_id: documentUrl,
            ...new MemoryProvider().clientMetadata,
          }),
        );
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      documentUrl = `https://127.0.0.1:${server.address().port}/agent/client.json`;
    });
    after(() => server?.close());

    test('discovers, authorizes with PKCE and resource, calls a tool and refreshes', async () => {
      const provider = new MemoryProvider({ clientMetadataUrl: documentUrl });
      await agentFlow(provider);
      assert.equal(provider.clientInformation().client_id, documentUrl, 'the URL is the client id');
      assert.equal(fetched, 1, 'Portcullis fetched the document once and cached it');
    });
  });

  describe('registered dynamically (RFC 7591) with an initial access token', () => {
    test('registers, authorizes with PKCE and resource, calls a tool and refreshes', async () => {
      const initial = process.env.INTEROP_REGISTRATION_TOKEN;
      let registrations = 0;
      let registered;
      // The SDK has no setting for an initial access token: add it to its
      // registration request, as an agent's host application would.
      const withInitialToken = async (input, init = {}) => {
        const url = new URL(input instanceof Request ? input.url : input);
        if (url.pathname === '/oauth/register' && (init.method ?? 'GET') === 'POST') {
          registrations += 1;
          const headers = new Headers(init.headers);
          headers.set('authorization', `Bearer ${initial}`);
          const res = await fetch(input, { ...init, headers });
          registered = await res.clone().json();
          return res;
        }
        return fetch(input, init);
      };
      const provider = new MemoryProvider();
      await agentFlow(provider, withInitialToken);
      assert.equal(registrations, 1);
      // What Portcullis answered (the SDK keeps only what it uses).
      assert.equal(registered.client_id, provider.clientInformation().client_id);
      assert.equal(registered.token_endpoint_auth_method, 'none');
      assert.ok(registered.registration_access_token, 'RFC 7592 management token');
      const own = await fetch(registered.registration_client_uri, {
        headers: { authorization: `Bearer ${registered.registration_access_token}` },
      });
      assert.equal(own.status, 200, 'the client reads its registration (RFC 7592)');
    });
  });
});
