use crate::support::{TestServer, assert_oauth_error};

#[tokio::test]
async fn a_revoked_token_introspects_inactive_and_its_jti_is_kept_until_expiry() {
    let s = TestServer::start().await;
    let rs = s.client("read").await;
    let c = s.client("read").await;
    let token = s.token(&c, None).await;
    let res = s
        .post_form(
            "/oauth/revoke",
            &c,
            &[("token", &token), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(s.introspect(&rs, &token).await["active"], false);

    // Kept until the token would have expired, then forgotten.
    let store = s.server().store();
    let now = s.server().now();
    assert_eq!(store.purge_expired(now).await.unwrap(), 0);
    assert_eq!(s.introspect(&rs, &token).await["active"], false);
    assert_eq!(store.purge_expired(now + 3601).await.unwrap(), 1);

    // Revoking twice is fine.
    let res = s.post_form("/oauth/revoke", &c, &[("token", &token)]).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn unknown_tokens_get_200_and_other_clients_tokens_are_left_alone() {
    let s = TestServer::start().await;
    let rs = s.client("read").await;
    let a = s.client("read").await;
    let b = s.client("read").await;
    let res = s
        .post_form("/oauth/revoke", &a, &[("token", "no-such-token")])
        .await;
    assert_eq!(res.status(), 200);
    let res = s
        .post_form(
            "/oauth/revoke",
            &a,
            &[("token", "x"), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(res.status(), 200);

    let tb = s.token(&b, None).await;
    let res = s.post_form("/oauth/revoke", &a, &[("token", &tb)]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(s.introspect(&rs, &tb).await["active"], true);
}

#[tokio::test]
async fn revocation_requires_client_authentication() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    let token = s.token(&c, None).await;
    let res = s
        .http
        .post(s.url("/oauth/revoke"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = s.post_form("/oauth/revoke", &c, &[]).await;
    assert_oauth_error(res, 400, "invalid_request").await;
}

/// A public client's user tokens: `(access_token, refresh_token)`.
async fn public_tokens(s: &TestServer, c: &crate::support::TestClient) -> (String, String) {
    let b = crate::support::Browser::new(s);
    let (verifier, challenge) = crate::support::pkce_pair();
    let code = crate::authcode::code_for(s, &b, c, "read", &challenge).await;
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", c.id.as_str()),
            ("code", &code),
            ("redirect_uri", crate::authcode::CB),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn revoke_as_public(s: &TestServer, client_id: &str, token: &str) -> reqwest::Response {
    s.http
        .post(s.url("/oauth/revoke"))
        .form(&[("token", token), ("client_id", client_id)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn public_clients_revoke_their_own_tokens_with_client_id_alone() {
    let (s, confidential) = crate::authcode::setup().await;
    let public = crate::authcode::code_client(&s, |spec| spec.public = true).await;
    let rs = s.client("read").await;

    // Its access token.
    let (access, refresh) = public_tokens(&s, &public).await;
    assert_eq!(s.introspect(&rs, &access).await["active"], true);
    let res = revoke_as_public(&s, public.id.as_str(), &access).await;
    assert_eq!(res.status(), 200);
    assert_eq!(s.introspect(&rs, &access).await["active"], false);

    // Its refresh token: the grant ends.
    let res = revoke_as_public(&s, public.id.as_str(), &refresh).await;
    assert_eq!(res.status(), 200);
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", public.id.as_str()),
            ("refresh_token", &refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_grant").await;

    // Another client's tokens are left alone, silently.
    let (theirs, _) = public_tokens(&s, &public).await;
    let b = crate::support::Browser::new(&s);
    let (verifier, challenge) = crate::support::pkce_pair();
    let code = crate::authcode::code_for(&s, &b, &confidential, "read", &challenge).await;
    let body: serde_json::Value = crate::authcode::exchange(&s, &confidential, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let (c_access, c_refresh) = (
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    );
    for token in [c_access, c_refresh] {
        let res = revoke_as_public(&s, public.id.as_str(), token).await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(s.introspect(&rs, c_access).await["active"], true);
    let res = crate::authcode::refresh(&s, &confidential, c_refresh, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(s.introspect(&rs, &theirs).await["active"], true);

    // A confidential client must still authenticate.
    let res = revoke_as_public(&s, confidential.id.as_str(), c_access).await;
    assert_eq!(
        res.headers()["www-authenticate"],
        "Basic realm=\"portcullis\", charset=\"UTF-8\""
    );
    assert_oauth_error(res, 401, "invalid_client").await;
    assert_eq!(s.introspect(&rs, c_access).await["active"], true);
    // And an unknown client id is no public client.
    let res = revoke_as_public(&s, "0123456789abcdef0123456789abcdef", &theirs).await;
    assert_oauth_error(res, 401, "invalid_client").await;
}

#[tokio::test]
async fn metadata_lists_none_for_revocation() {
    let s = TestServer::start().await;
    let doc: serde_json::Value = s
        .http
        .get(s.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = doc["revocation_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.iter().any(|m| m == "none"), "{methods:?}");
    assert!(methods.iter().any(|m| m == "client_secret_basic"));
}
