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

mod authorization_code {
    use oauth2::basic::BasicClient;
    use oauth2::{
        AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
        RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl,
    };

    use crate::authcode::{CB, PASSWORD, setup};
    use crate::support::{Browser, params_of};

    /// The `oauth2` crate builds the authorization URL (with PKCE and
    /// state) and exchanges the code and the refresh token; the browser
    /// steps are driven over HTTP.
    #[tokio::test]
    async fn oauth2_crate_runs_the_code_flow_with_pkce_refresh_and_reuse_detection() {
        let (s, c) = setup().await;
        let client = BasicClient::new(ClientId::new(c.id.to_string()))
            .set_client_secret(ClientSecret::new(c.secret.expose().to_owned()))
            .set_auth_uri(AuthUrl::new(s.url("/oauth/authorize")).unwrap())
            .set_token_uri(TokenUrl::new(s.url("/oauth/token")).unwrap())
            .set_redirect_uri(RedirectUrl::new(CB.to_owned()).unwrap());
        let http = oauth2::reqwest::Client::builder()
            .redirect(oauth2::reqwest::redirect::Policy::none())
            .build()
            .unwrap();

        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("read".into()))
            .add_scope(Scope::new("ADDON_USER_APPROVED__AZTH74V2".into()))
            .set_pkce_challenge(challenge)
            .url();

        let b = Browser::new(&s);
        let login = b.go(url.as_str()).await;
        assert_eq!(login.url().path(), "/login");
        let consent = b.login(login, "alice", PASSWORD).await;
        let back = b.decide(consent, true).await;
        let p = params_of(&back);
        assert_eq!(&p["state"], state.secret(), "state round trip");
        assert_eq!(p["iss"], s.issuer());

        let token = client
            .exchange_code(AuthorizationCode::new(p["code"].clone()))
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("code exchange");
        let scopes: Vec<String> = token
            .scopes()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(scopes, ["ADDON_USER_APPROVED__AZTH74V2", "read"]);
        let first_refresh = token.refresh_token().unwrap().clone();

        let refreshed = client
            .exchange_refresh_token(&first_refresh)
            .request_async(&http)
            .await
            .expect("refresh");
        assert_ne!(
            refreshed.refresh_token().unwrap().secret(),
            first_refresh.secret()
        );

        // Reusing the rotated token is refused, and kills the new one too.
        let err = client
            .exchange_refresh_token(&first_refresh)
            .request_async(&http)
            .await
            .unwrap_err();
        assert!(
            matches!(err, oauth2::RequestTokenError::ServerResponse(ref r) if r.error().to_string() == "invalid_grant"),
            "{err:?}"
        );
        let err = client
            .exchange_refresh_token(&RefreshToken::new(
                refreshed.refresh_token().unwrap().secret().clone(),
            ))
            .request_async(&http)
            .await
            .unwrap_err();
        assert!(matches!(err, oauth2::RequestTokenError::ServerResponse(_)));

        // A replayed code and a mismatched redirect are refused.
        let replay = client
            .exchange_code(AuthorizationCode::new(p["code"].clone()))
            .set_pkce_verifier(PkceCodeChallenge::new_random_sha256().1)
            .request_async(&http)
            .await
            .unwrap_err();
        assert!(
            matches!(replay, oauth2::RequestTokenError::ServerResponse(ref r) if r.error().to_string() == "invalid_grant")
        );
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let (bad, _) = client
            .authorize_url(CsrfToken::new_random)
            .set_redirect_uri(std::borrow::Cow::Owned(
                RedirectUrl::new("https://evil.example/cb".into()).unwrap(),
            ))
            .set_pkce_challenge(challenge)
            .url();
        let res = b.get(bad.as_str()).await;
        assert_eq!(
            res.status(),
            400,
            "mismatched redirect: an error page, no redirect"
        );

        // Deny: the client sees access_denied with its state.
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("write".into()))
            .set_pkce_challenge(challenge)
            .url();
        let consent = b.go(url.as_str()).await;
        let back = b.decide(consent, false).await;
        let p = params_of(&back);
        assert_eq!(p["error"], "access_denied");
        assert_eq!(&p["state"], state.secret());
    }
}
