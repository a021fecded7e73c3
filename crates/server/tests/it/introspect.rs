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
        aud: s.issuer().to_owned().into(),
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
    s.server().operator().delete_client(&c.id).await.unwrap();
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

/// A user's tokens for a code client: `(access_token, refresh_token)`.
async fn user_tokens(s: &TestServer, c: &crate::support::TestClient) -> (String, String) {
    let b = crate::support::Browser::new(s);
    let (verifier, challenge) = crate::support::pkce_pair();
    let code = crate::authcode::code_for(s, &b, c, "read write", &challenge).await;
    let res = crate::authcode::exchange(s, c, &code, &verifier).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn introspect_with(
    s: &TestServer,
    caller: &crate::support::TestClient,
    token: &str,
    hint: Option<&str>,
) -> Value {
    let mut form = vec![("token", token)];
    if let Some(h) = hint {
        form.push(("token_type_hint", h));
    }
    let res = s.post_form("/oauth/introspect", caller, &form).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The refresh-token rules of RFC 7662 on one server (either store).
async fn refresh_tokens_introspect_for_their_own_client(s: &TestServer) {
    s.server()
        .operator()
        .create_user("alice", crate::authcode::PASSWORD, false)
        .await
        .unwrap();
    let c = crate::authcode::code_client(s, |_| {}).await;
    let other = crate::authcode::code_client(s, |_| {}).await;
    let rs = s.client("read").await;
    let (access, refresh) = user_tokens(s, &c).await;
    let alice = s
        .server()
        .store()
        .find_user_by_username("alice")
        .await
        .unwrap()
        .unwrap();

    // Its client sees it, whatever the hint says.
    for hint in [
        None,
        Some("refresh_token"),
        Some("access_token"),
        Some("bogus"),
    ] {
        let body = introspect_with(s, &c, &refresh, hint).await;
        assert_eq!(body["active"], true, "{hint:?}: {body}");
        assert_eq!(body["token_type"], "refresh_token");
        assert_eq!(body["scope"], "read write");
        assert_eq!(body["client_id"], c.id.as_str());
        assert_eq!(body["sub"], alice.id.as_str());
        let (iat, exp) = (body["iat"].as_i64().unwrap(), body["exp"].as_i64().unwrap());
        assert!(iat <= s.server().now() && exp > iat + 3600, "{body}");
    }
    // A refresh_token hint on an access token still finds the access token.
    let body = introspect_with(s, &rs, &access, Some("refresh_token")).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "Bearer");

    // Nobody else learns anything of it.
    for caller in [&other, &rs] {
        for hint in [None, Some("refresh_token")] {
            let body = introspect_with(s, caller, &refresh, hint).await;
            assert_eq!(body, json!({"active": false}), "{hint:?}");
        }
    }

    // Rotated: the old one is inactive, the new one active.
    let res = crate::authcode::refresh(s, &c, &refresh, None).await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let next = rotated["refresh_token"].as_str().unwrap();
    assert_eq!(
        introspect_with(s, &c, &refresh, Some("refresh_token")).await,
        json!({"active": false})
    );
    assert_eq!(introspect_with(s, &c, next, None).await["active"], true);

    // Revoked: inactive.
    let res = s.post_form("/oauth/revoke", &c, &[("token", next)]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        introspect_with(s, &c, next, Some("refresh_token")).await,
        json!({"active": false})
    );

    // Expired: inactive. (A live record copied with a past expiry.)
    let (_, live) = user_tokens(s, &c).await;
    let store = s.server().store();
    let mut record = store
        .find_refresh_token(&portcullis_protocol::Secret::new(&live).hash())
        .await
        .unwrap()
        .unwrap();
    let expired = portcullis_protocol::Secret::generate();
    record.token_hash = expired.hash();
    record.family_id = "expired-family".into();
    record.expires_at = s.server().now() - 1;
    store.insert_refresh_token(&record).await.unwrap();
    assert_eq!(
        introspect_with(s, &c, expired.expose(), Some("refresh_token")).await,
        json!({"active": false})
    );
    assert_eq!(introspect_with(s, &c, &live, None).await["active"], true);
}

#[tokio::test]
async fn refresh_tokens_introspect_for_their_own_client_on_sqlite() {
    refresh_tokens_introspect_for_their_own_client(&TestServer::start().await).await;
}

#[tokio::test]
async fn refresh_tokens_introspect_for_their_own_client_on_postgres() {
    let Some(url) = crate::postgres::fresh_database().await else {
        return;
    };
    refresh_tokens_introspect_for_their_own_client(&crate::postgres::instance(&url).await).await;
}
