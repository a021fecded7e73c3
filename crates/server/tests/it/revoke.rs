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
