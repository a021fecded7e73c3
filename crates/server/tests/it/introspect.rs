use portcullis_protocol::{AccessTokenClaims, ClientId, Jti, ScopeSet};
use serde_json::{Value, json};

use crate::support::{TestServer, assert_oauth_error};

/// A token signed by the server's own key, with claims of our choosing.
fn signed(s: &TestServer, claims: &AccessTokenClaims) -> String {
    s.server()
        .keys()
        .current()
        .signing_key()
        .unwrap()
        .sign(claims)
        .unwrap()
}

#[tokio::test]
async fn a_live_token_introspects_active_with_its_claims() {
    let s = TestServer::start().await;
    let rs = s.client("read").await;
    let c = s.client("read write").await;
    let token = s.token(&c, Some("write")).await;
    let body = s.introspect(&rs, &token).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "write");
    assert_eq!(body["client_id"], c.id.as_str());
    assert_eq!(body["sub"], c.id.as_str());
    assert_eq!(body["iss"], s.issuer());
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["exp"].as_i64().unwrap() > body["iat"].as_i64().unwrap());
}

#[tokio::test]
async fn expired_tampered_foreign_and_garbage_tokens_are_inactive() {
    let s = TestServer::start().await;
    let rs = s.client("read").await;
    let c = s.client("read").await;
    let now = s.server().now();
    let base = AccessTokenClaims {
        iss: s.issuer().to_owned(),
        sub: c.id.to_string(),
        aud: s.issuer().to_owned(),
        client_id: c.id.clone(),
        scope: ScopeSet::parse("read").unwrap(),
        jti: Jti::new("t1"),
        iat: now - 7200,
        exp: now - 3600,
        gid: None,
    };
    let expired = signed(&s, &base);
    let wrong_issuer = signed(
        &s,
        &AccessTokenClaims {
            iss: "https://evil.example".into(),
            exp: now + 600,
            ..base.clone()
        },
    );
    let deleted_client = signed(
        &s,
        &AccessTokenClaims {
            client_id: ClientId::new("gone"),
            exp: now + 600,
            ..base.clone()
        },
    );
    let good = s.token(&c, None).await;
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    let other = TestServer::start().await;
    let oc = other.client("read").await;
    let foreign = other.token(&oc, None).await;

    for token in [
        expired.as_str(),
        wrong_issuer.as_str(),
        deleted_client.as_str(),
        tampered.as_str(),
        foreign.as_str(),
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",
    ] {
        let body = s.introspect(&rs, token).await;
        assert_eq!(body, json!({"active": false}), "{token}");
    }
}

#[tokio::test]
async fn a_deleted_clients_tokens_become_inactive() {
    let s = TestServer::start_with(|f| f.cache_ttl_ms = Some(0)).await;
    let rs = s.client("read").await;
    let c = s.client("read").await;
    let token = s.token(&c, None).await;
    assert_eq!(s.introspect(&rs, &token).await["active"], true);
    s.server().delete_client(&c.id).await.unwrap();
    assert_eq!(s.introspect(&rs, &token).await["active"], false);
}

#[tokio::test]
async fn introspection_requires_an_authenticated_confidential_client() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    let token = s.token(&c, None).await;
    let res = s
        .http
        .post(s.url("/oauth/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = s
        .http
        .post(s.url("/oauth/introspect"))
        .basic_auth(c.id.as_str(), Some("wrong"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = s.post_form("/oauth/introspect", &c, &[]).await;
    assert_oauth_error(res, 400, "invalid_request").await;

    // JSON bodies work here too.
    let res = s
        .http
        .post(s.url("/oauth/introspect"))
        .json(&json!({"token": token, "client_id": c.id.as_str(), "client_secret": c.secret.expose()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["active"], true);
}
