// Shared by the interop tests: what interop/run provisioned (from the
// environment), a headless user agent for the login and consent pages, and
// a loopback listener standing in for a native app.

import assert from 'node:assert/strict';
import http from 'node:http';
import * as oauth from 'oauth4webapi';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite with interop/run`);
  return v;
}

export const env = {
  issuer: need('INTEROP_ISSUER'),
  username: need('INTEROP_USERNAME'),
  password: need('INTEROP_PASSWORD'),
  userId: need('INTEROP_USER_ID'),
  scope: need('INTEROP_SCOPE'),
  // client_credentials only
  machine: { id: need('INTEROP_CC_ID'), secret: need('INTEROP_CC_SECRET') },
  // confidential: authorization_code + refresh_token, redirect INTEROP_WEB_REDIRECT
  web: {
    id: need('INTEROP_WEB_ID'),
    secret: need('INTEROP_WEB_SECRET'),
    redirect: need('INTEROP_WEB_REDIRECT'),
  },
  // public: authorization_code + refresh_token, registered http://127.0.0.1/callback
  native: { id: need('INTEROP_NATIVE_ID'), registered: need('INTEROP_NATIVE_REDIRECT') },
};

export const issuerUrl = new URL(env.issuer);

// Plain http on loopback: both libraries refuse it unless told.
export const insecure = { [oauth.allowInsecureRequests]: true };

let metadata;
/** The server's metadata through oauth4webapi (RFC 8414 discovery). */
export async function authorizationServer() {
  if (!metadata) {
    const res = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', ...insecure });
    metadata = await oauth.processDiscoveryResponse(issuerUrl, res);
  }
  return metadata;
}

/**
 * A user agent with its own cookie jar that never follows redirects by
 * itself, like a browser driven step by step.
 */
export class Browser {
  constructor() {
    this.cookies = new Map();
  }

  async request(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /**
   * Follows `authorizeUrl` through the login and consent pages as the user
   * who signs in and approves, and returns the URL the server finally
   * redirects to outside itself (the client's redirect URI with the
   * authorization response), without visiting it.
   */
  async authorize(authorizeUrl, { username = env.username, password = env.password } = {}) {
    const server = new URL(env.issuer).origin;
    let url = new URL(authorizeUrl);
    const seen = [];
    for (let step = 0; step < 12; step++) {
      assert.equal(url.origin, server, `left the server unexpectedly at ${url}`);
      seen.push(`GET ${url.pathname}`);
      let res = await this.request(url);
      let page = res.status === 200 ? await res.text() : null;
      if (page !== null && url.pathname === '/login') {
        const fields = formFields(page, '/login');
        fields.set('username', username);
        fields.set('password', password);
        seen.push('POST /login');
        res = await this.post(new URL('/login', server), fields);
        page = null;
      } else if (page !== null && url.pathname === '/consent') {
        const fields = formFields(page, '/consent');
        fields.set('decision', 'approve');
        seen.push('POST /consent');
        res = await this.post(new URL('/consent', server), fields);
        page = null;
      }
      if (page !== null || ![302, 303, 307].includes(res.status)) {
        const body = page ?? (await res.text());
        assert.fail(
          `the authorization flow stopped at ${url} with ${res.status} after ${seen.join(' → ')}: ${body.slice(0, 500)}`,
        );
      }
      const next = new URL(res.headers.get('location'), url);
      if (next.origin !== server) {
        // A fresh browser has no session: the user must have signed in.
        assert.ok(seen.includes('POST /login'), `redirected back without a sign-in: ${seen.join(' → ')}`);
        this.steps = seen;
        if (process.env.INTEROP_TRACE) console.log(`# ${seen.join(' → ')} → ${next.origin}${next.pathname}`);
        return next;
      }
      url = next;
    }
    assert.fail(`too many redirects: ${seen.join(' → ')}`);
  }

  post(url, fields) {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function unescapeHtml(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i'));
  return m ? unescapeHtml(m[1] ?? m[2]) : undefined;
}

/** The hidden inputs of the form posting to `action` (csrf, request, …). */
export function formFields(html, action) {
  const forms = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)].map((m) => m[0]);
  const form = forms.find((f) => attr(f.match(/<form\b[^>]*>/i)[0], 'action') === action);
  assert.ok(form, `no form posting to ${action} in the page: ${html.slice(0, 500)}`);
  const fields = new Map();
  for (const [tag] of form.matchAll(/<input\b[^>]*>/gi)) {
    if ((attr(tag, 'type') ?? '').toLowerCase() === 'hidden') {
      fields.set(attr(tag, 'name'), attr(tag, 'value') ?? '');
    }
  }
  assert.ok(fields.get('csrf'), `the ${action} form has no hidden csrf field`);
  return fields;
}

/**
 * A native app's redirect listener on 127.0.0.1 and a port the OS picks.
 * `next()` resolves with the full URL of the next request it receives.
 */
export async function loopbackListener(path = '/callback') {
  const waiting = [];
  const received = [];
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end('You can close this window.');
    const url = new URL(req.url, `http://127.0.0.1:${server.address().port}`);
    const w = waiting.shift();
    if (w) w(url);
    else received.push(url);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    redirectUri: `http://127.0.0.1:${port}${path}`,
    next: () =>
      received.length ? Promise.resolve(received.shift()) : new Promise((r) => waiting.push(r)),
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Visits `url` (the authorization response) as the browser would, and returns what the listener got. */
export async function deliver(listener, url) {
  const got = listener.next();
  const res = await fetch(url, { redirect: 'manual' });
  assert.equal(res.status, 200, `the loopback listener answered ${res.status}`);
  await res.arrayBuffer();
  return got;
}

/**
 * The OAuth error code a library call failed with: from the error response
 * body (ResponseBodyError), or from a WWW-Authenticate challenge (a 401).
 */
export async function oauthErrorOf(err) {
  if (typeof err?.error === 'string') return err.error;
  if (Array.isArray(err?.cause)) {
    const fromChallenge = err.cause.map((c) => c?.parameters?.error).find(Boolean);
    if (fromChallenge) return fromChallenge;
  }
  if (err?.response && !err.response.bodyUsed) {
    try {
      return (await err.response.json()).error;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

/** Runs `fn`, which must fail with the OAuth error `code` (and HTTP `status` when given). */
export async function rejectsWithOAuthError(fn, code, what, status) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: succeeded, expected ${code}`);
  const got = await oauthErrorOf(err);
  assert.equal(got, code, `${what}: expected ${code}, got ${err.name}: ${err.message} (${err.code ?? ''} ${JSON.stringify(err.cause ?? null)})`);
  if (status !== undefined) assert.equal(err.status ?? err.response?.status, status, `${what}: HTTP status`);
  return err;
}

/** A resource server's check of an access token: RFC 9068 with oauth4webapi. */
export async function validateAccessToken(token, audience = env.issuer) {
  const as = await authorizationServer();
  const req = new Request('http://127.0.0.1/api', { headers: { authorization: `Bearer ${token}` } });
  return oauth.validateJwtAccessToken(as, req, audience, { ...insecure, signingAlgorithms: as.access_token_signing_alg_values_supported });
}
