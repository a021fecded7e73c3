"""Authlib peer for bench/peers.sh: Flask + Authlib's AuthorizationServer.

Set up like Portcullis and the node-oidc-provider peer:

- one confidential client (BENCH_CLIENT_ID / BENCH_CLIENT_SECRET), grant type
  client_credentials only, client_secret_basic, scope "read";
- RFC 9068 JWT access tokens (Authlib's JWTBearerTokenGenerator), signed
  with ALG (ES256 | EdDSA | RS256) by a key generated at import, audience
  BENCH_RESOURCE;
- RFC 7662 introspection of those JWTs (Authlib's JWTIntrospectionEndpoint:
  it verifies the signature and claims; nothing is stored, so, unlike
  node-oidc-provider, the introspected token is the JWT itself);
- RFC 8414 metadata at /.well-known/oauth-authorization-server.

Run by gunicorn with --preload, so the key is generated once in the master
and shared by the forked workers (a token issued by one worker introspects
on the other). Quiet: Flask logs nothing per request, gunicorn's access log
is off.

joserfc (Authlib's JOSE library) only allows its "recommended" algorithms
(HS256, RS256, ES256) unless told otherwise, and Authlib's RFC 9068 classes
do not pass an algorithm list; "EdDSA" is added to that default list here,
and its deprecation warning (RFC 9864 prefers "Ed25519") silenced.
"""

import os
import warnings

from flask import Flask, jsonify, request
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator, JWTIntrospectionEndpoint

ALG = os.environ.get("ALG", "ES256")
ISSUER = os.environ["BENCH_ISSUER"]
CLIENT_ID = os.environ.get("BENCH_CLIENT_ID", "bench")
CLIENT_SECRET = os.environ["BENCH_CLIENT_SECRET"]
RESOURCE = os.environ.get("BENCH_RESOURCE", "urn:portcullis:bench")
TOKEN_TTL = int(os.environ.get("BENCH_TOKEN_TTL", "3600"))

if len(CLIENT_SECRET) < 32:
    raise SystemExit("BENCH_CLIENT_SECRET must be at least 32 characters")

if ALG == "ES256":
    KEY = ECKey.generate_key("P-256", parameters={"alg": ALG, "use": "sig", "kid": "bench-es256"})
elif ALG == "EdDSA":
    KEY = OKPKey.generate_key("Ed25519", parameters={"alg": ALG, "use": "sig", "kid": "bench-eddsa"})
    if "EdDSA" not in JWSRegistry.recommended:
        JWSRegistry.recommended.append("EdDSA")
    warnings.simplefilter("ignore", SecurityWarning)
elif ALG == "RS256":
    KEY = RSAKey.generate_key(2048, parameters={"alg": ALG, "use": "sig", "kid": "bench-rs256"})
else:
    raise SystemExit(f"ALG must be ES256, EdDSA or RS256 (got {ALG})")


class Client(ClientMixin):
    def __init__(self, client_id, client_secret, scope):
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return self.scope
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        import hmac
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "client_secret_basic"

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


CLIENTS = {CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET, "read")}


def query_client(client_id):
    return CLIENTS.get(client_id)


def save_token(token, request):
    # JWT access tokens are self-contained: nothing to store.
    pass


class TokenGenerator(JWTBearerTokenGenerator):
    def get_jwks(self):
        return KEY

    def get_audiences(self, client, user, scope):
        return RESOURCE


class Introspection(JWTIntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic"]

    def get_jwks(self):
        return KEY

    def check_permission(self, token, client, request):
        # Any authenticated confidential client may introspect.
        return True


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]


app = Flask(__name__)
server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
server.register_grant(ClientCredentials)
server.register_token_generator(
    "default",
    TokenGenerator(issuer=ISSUER, alg=ALG, expires_generator=lambda client, grant_type: TOKEN_TTL),
)
server.register_endpoint(Introspection(issuer=ISSUER))

METADATA = {
    "issuer": ISSUER,
    "token_endpoint": f"{ISSUER}/token",
    "introspection_endpoint": f"{ISSUER}/token/introspection",
    "jwks_uri": f"{ISSUER}/jwks",
    "grant_types_supported": ["client_credentials"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
    "scopes_supported": ["read"],
}


@app.get("/.well-known/oauth-authorization-server")
def metadata():
    return jsonify(METADATA)


@app.get("/jwks")
def jwks():
    return jsonify({"keys": [KEY.as_dict(private=False)]})


@app.post("/token")
def issue_token():
    return server.create_token_response()


@app.post("/token/introspection")
def introspect():
    return server.create_endpoint_response(Introspection.ENDPOINT_NAME)
