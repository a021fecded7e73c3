//! A real OAuth client (the `oauth2` crate) gets a token, and a different
//! JWT library (`jsonwebtoken`) verifies it against the published JWKS.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use portcullis_protocol::AccessTokenClaims;
use serde_json::Value;

use crate::support::TestServer;

#[tokio::test]
async fn oauth2_crate_gets_a_token_that_verifies_against_jwks() {
    let s = TestServer::start().await;
    let c = s.client("read write").await;

    // Discover the endpoints as a client library would.
    let meta: Value = s
        .http
        .get(s.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_url = meta["token_endpoint"]
        .as_str()
        .unwrap()
        .replace("localhost", "127.0.0.1");
    let jwks_url = meta["jwks_uri"]
        .as_str()
        .unwrap()
        .replace("localhost", "127.0.0.1");

    let client = BasicClient::new(ClientId::new(c.id.to_string()))
        .set_client_secret(ClientSecret::new(c.secret.expose().to_owned()))
        .set_token_uri(TokenUrl::new(token_url).unwrap());
    let http = oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .expect("client credentials token");
    assert_eq!(token.expires_in().unwrap().as_secs(), 3600);
    assert_eq!(token.scopes().unwrap()[0].as_str(), "read");
    assert!(token.refresh_token().is_none());

    let jwks: JwkSet = s
        .http
        .get(jwks_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = token.access_token().secret();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[s.issuer()]);
    validation.set_issuer(&[s.issuer()]);
    let data = jsonwebtoken::decode::<AccessTokenClaims>(
        jwt,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("signature, issuer, audience and expiry verify");
    assert_eq!(data.claims.client_id.as_str(), c.id.as_str());
    assert_eq!(data.claims.scope.to_string(), "read");
    assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
}

#[tokio::test]
async fn oauth2_crate_sees_a_wrong_secret_as_invalid_client() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    let client = BasicClient::new(ClientId::new(c.id.to_string()))
        .set_client_secret(ClientSecret::new("wrong".into()))
        .set_token_uri(TokenUrl::new(s.url("/oauth/token")).unwrap());
    let http = oauth2::reqwest::Client::new();
    let err = client
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap_err();
    match err {
        oauth2::RequestTokenError::ServerResponse(r) => {
            assert_eq!(r.error().to_string(), "invalid_client")
        }
        other => panic!("expected an RFC 6749 error, got {other:?}"),
    }
}
