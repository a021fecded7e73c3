use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portcullis_protocol::GrantType;
use serde_json::{Value, json};

use crate::support::{TestServer, assert_oauth_error};

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn client_credentials_with_basic_auth_issues_an_rfc9068_jwt() {
    let s = TestServer::start().await;
    let c = s.client("read write").await;
    let res = s
        .post_form("/oauth/token", &c, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write");
    assert!(body.get("refresh_token").is_none());

    let token = body["access_token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].is_string());

    let claims = claims_of(token);
    assert_eq!(claims["iss"], s.issuer());
    assert_eq!(claims["sub"], c.id.as_str());
    assert_eq!(claims["client_id"], c.id.as_str());
    assert_eq!(claims["aud"], s.issuer());
    assert_eq!(claims["scope"], "read write");
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert_eq!(body["expires"].as_i64().unwrap(), exp);
}

#[tokio::test]
async fn client_secret_post_and_json_bodies_work() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.id.as_str()),
            ("client_secret", c.secret.expose()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The classifieds seed's style: JSON, with headers the endpoint ignores.
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .header("x-api-key", "whatever")
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": c.id.as_str(),
            "client_secret": c.secret.expose(),
            "scope": "read",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "read");
    assert!(body["expires"].as_i64().unwrap() > 1_700_000_000);
}

#[tokio::test]
async fn basic_credentials_may_be_form_encoded_or_plain() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    // RFC 6749 §2.3.1 form-encodes before base64; our ids and secrets are
    // URL-safe, so percent-encoding a character that needs none must work.
    let id = c.id.as_str();
    let encoded_id = format!("%{:02X}{}", id.as_bytes()[0], &id[1..]);
    for id in [c.id.as_str().to_owned(), encoded_id] {
        let value = format!(
            "Basic {}",
            STANDARD.encode(format!("{id}:{}", c.secret.expose()))
        );
        let res = s
            .http
            .post(s.url("/oauth/token"))
            .header("authorization", value)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn scopes_are_narrowed_checked_and_resource_scoped() {
    let s = TestServer::start().await;
    // A machine may hold a resource permission only when an administrator
    // made it machine-grantable (scope_grants tests the refusal otherwise).
    s.server()
        .operator()
        .define_scope(portcullis_core::registry::ScopeSpec {
            requires_resource: true,
            machine_grantable: true,
            ..portcullis_core::registry::ScopeSpec::new("ADDON_USER_APPROVED", "Approve add-ons")
        })
        .await
        .unwrap();
    let c = s.client("read write ADDON_USER_APPROVED").await;

    let token = s.token(&c, Some("read")).await;
    assert_eq!(claims_of(&token)["scope"], "read");

    // `+` in a form decodes to a space: `A+B` means two scopes.
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(c.id.as_str(), Some(c.secret.expose()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=read+ADDON_USER_APPROVED__AZTH74V2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "ADDON_USER_APPROVED__AZTH74V2 read");

    // Omitted scope: every plain allowed scope, no resource permission.
    let token = s.token(&c, None).await;
    assert_eq!(claims_of(&token)["scope"], "read write");

    let res = s
        .post_form(
            "/oauth/token",
            &c,
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_scope").await;
    let res = s
        .post_form(
            "/oauth/token",
            &c,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "ADDON_USER_APPROVED"),
            ],
        )
        .await;
    let d = assert_oauth_error(res, 400, "invalid_scope").await;
    assert!(d.contains("resource id"), "{d}");
    let res = s
        .post_form(
            "/oauth/token",
            &c,
            &[("grant_type", "client_credentials"), ("scope", "read\"x")],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_scope").await;
}

#[tokio::test]
async fn per_client_token_lifetime() {
    let s = TestServer::start().await;
    let c = s
        .client_with("read", |spec| spec.token_lifetime = Some(120))
        .await;
    let res = s
        .post_form("/oauth/token", &c, &[("grant_type", "client_credentials")])
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(c.id.as_str(), Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_oauth_error(res, 401, "invalid_client").await;

    let res = s
        .http
        .post(s.url("/oauth/token"))
        .basic_auth("no-such-client", Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;

    let res = s
        .http
        .post(s.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;

    let res = s
        .http
        .post(s.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
}

#[tokio::test]
async fn grant_type_must_be_supported_and_allowed() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    let res = s
        .post_form("/oauth/token", &c, &[("grant_type", "password")])
        .await;
    assert_oauth_error(res, 400, "unsupported_grant_type").await;

    let code_only = s
        .client_with("read", |spec| {
            spec.grant_types = vec![GrantType::AuthorizationCode];
            spec.redirect_uris =
                vec![portcullis_protocol::RedirectUri::parse("https://app.example/cb").unwrap()];
        })
        .await;
    let res = s
        .post_form(
            "/oauth/token",
            &code_only,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_oauth_error(res, 400, "unauthorized_client").await;
}

#[tokio::test]
async fn rotated_and_deleted_clients_stop_authenticating() {
    let s = TestServer::start_with(|f| f.cache_ttl_ms = Some(0)).await;
    let c = s.client("read").await;
    s.token(&c, None).await;
    let new_secret = s
        .server()
        .operator()
        .rotate_client_secret(&c.id)
        .await
        .unwrap();
    let res = s
        .post_form("/oauth/token", &c, &[("grant_type", "client_credentials")])
        .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    let rotated = crate::support::TestClient {
        id: c.id.clone(),
        secret: new_secret,
    };
    s.token(&rotated, None).await;
    s.server().operator().delete_client(&c.id).await.unwrap();
    let res = s
        .post_form(
            "/oauth/token",
            &rotated,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_oauth_error(res, 401, "invalid_client").await;
}

#[tokio::test]
async fn metadata_lists_what_is_implemented() {
    let s = TestServer::start().await;
    let m: Value = s
        .http
        .get(s.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["issuer"], s.issuer());
    assert_eq!(m["token_endpoint"], format!("{}/oauth/token", s.issuer()));
    assert_eq!(m["jwks_uri"], format!("{}/jwks.json", s.issuer()));
    assert_eq!(
        m["grant_types_supported"],
        json!(["authorization_code", "client_credentials", "refresh_token"]),
        "implicit only once a client is registered for it"
    );
    assert_eq!(
        m["authorization_endpoint"],
        format!("{}/oauth/authorize", s.issuer())
    );
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(
        m["scopes_supported"],
        json!([
            "address",
            "email",
            "offline_access",
            "openid",
            "phone",
            "profile"
        ])
    );

    let jwks: Value = s
        .http
        .get(s.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The access-token key and the RS256 companion ID tokens need (OIDC
    // Core §15.1), in no particular order.
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{jwks}");
    let key = keys
        .iter()
        .find(|k| k["alg"] == "ES256")
        .expect("the ES256 key");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kty"], "EC");
    assert!(key["kid"].is_string());
    assert!(key.get("d").is_none(), "no private part");
    let rsa = keys
        .iter()
        .find(|k| k["alg"] == "RS256")
        .expect("the RS256 key");
    assert_eq!(rsa["kty"], "RSA");
    assert!(
        rsa.get("d").is_none() && rsa.get("p").is_none(),
        "no private part"
    );
}

#[tokio::test]
async fn eddsa_and_rs256_can_be_configured() {
    for alg in ["EdDSA", "RS256"] {
        let s = TestServer::start_with(|f| f.signing_alg = Some(alg.into())).await;
        let c = s.client("read").await;
        let token = s.token(&c, None).await;
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg);
        assert_eq!(s.introspect(&c, &token).await["active"], true);
    }
}
