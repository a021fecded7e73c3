// node-oidc-provider set up like Portcullis, for bench/peers.sh.
//
// - one confidential client: grant_types ['client_credentials'],
//   token_endpoint_auth_method 'client_secret_basic', scope 'read';
// - features.clientCredentials, features.introspection and
//   features.resourceIndicators on; the resource BENCH_RESOURCE gets
//   accessTokenFormat 'jwt' tokens signed with ALG (ES256 | EdDSA | RS256) by
//   a key generated at start with node's crypto and exported as a JWK;
// - node-oidc-provider never stores JWT-format access tokens (they are meant
//   to be verified by the resource server), so introspecting one always
//   answers {"active":false}. For the introspection scenario a second
//   resource, BENCH_OPAQUE_RESOURCE, issues opaque tokens, which are stored
//   in the adapter and introspect as active;
// - default in-memory adapter (an LRU of 1,000 entries), devInteractions
//   off, cookie keys set, no debug output (run with NODE_ENV=production and
//   DEBUG unset). Listens on 127.0.0.1:PORT only.
//
// One process, one thread of JavaScript: node-oidc-provider does not fork
// workers by itself. node:cluster (or several processes behind a balancer)
// would be needed to use a second core.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const env = (name, fallback) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
};

const HOST = '127.0.0.1';
const PORT = Number.parseInt(env('PORT', '18090'), 10);
const ALG = env('ALG', 'ES256');
const CLIENT_ID = env('BENCH_CLIENT_ID', 'bench');
const CLIENT_SECRET = env('BENCH_CLIENT_SECRET', '');
const RESOURCE = env('BENCH_RESOURCE', 'urn:portcullis:bench');
const OPAQUE_RESOURCE = env('BENCH_OPAQUE_RESOURCE', 'urn:portcullis:bench:opaque');
const TOKEN_TTL = Number.parseInt(env('BENCH_TOKEN_TTL', '3600'), 10);

if (!Number.isInteger(PORT) || PORT < 1024 || PORT > 65535) {
  throw new Error(`PORT must be in 1024..65535 (got ${process.env.PORT})`);
}
if (CLIENT_SECRET.length < 32) {
  throw new Error('BENCH_CLIENT_SECRET must be set (at least 32 characters)');
}

function signingKey(alg) {
  let pair;
  switch (alg) {
    case 'ES256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'EdDSA':
      pair = generateKeyPairSync('ed25519');
      break;
    case 'RS256':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    default:
      throw new Error(`ALG must be ES256, EdDSA or RS256 (got ${alg})`);
  }
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `bench-${alg.toLowerCase()}` };
}

const version = JSON.parse(readFileSync(
  new URL('./node_modules/oidc-provider/package.json', import.meta.url),
)).version;

const resourceServers = {
  [RESOURCE]: {
    scope: 'read',
    audience: RESOURCE,
    accessTokenTTL: TOKEN_TTL,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: ALG } },
  },
  [OPAQUE_RESOURCE]: {
    scope: 'read',
    audience: OPAQUE_RESOURCE,
    accessTokenTTL: TOKEN_TTL,
    accessTokenFormat: 'opaque',
  },
};

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'read',
  }],
  // The provider's default signing alg (RS256) would need an RSA key; the
  // keystore only holds the ALG key.
  clientDefaults: { id_token_signed_response_alg: ALG },
  jwks: { keys: [signingKey(ALG)] },
  scopes: ['read'],
  ttl: {
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? TOKEN_TTL,
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Any authenticated confidential client may introspect.
      allowedPolicy: (ctx, client) => client.clientAuthMethod !== 'none',
    },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      // A token request without resource= gets the JWT resource.
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        const info = resourceServers[resourceIndicator];
        if (!info) throw new Provider.errors.InvalidTarget();
        return info;
      },
    },
  },
};

const provider = new Provider(`http://${HOST}:${PORT}`, configuration);

// Quiet: nothing is logged per request. Server errors (5xx) are worth seeing.
provider.on('server_error', (ctx, err) => {
  console.error(`server_error ${ctx.method} ${ctx.path}: ${err?.stack ?? err}`);
});

const server = createServer(provider.callback());
server.listen(PORT, HOST, () => {
  console.error(`node-oidc-provider ${version} (node ${process.version}, pid ${process.pid}) `
    + `listening on http://${HOST}:${PORT}, alg ${ALG}, resource ${RESOURCE}`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
