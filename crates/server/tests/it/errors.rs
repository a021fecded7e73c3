//! Every malformed request to the token endpoint gets `invalid_request`.

use crate::support::{TestServer, assert_oauth_error};

async fn raw(s: &TestServer, content_type: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let c = s.client("read").await;
    let mut req = s
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(c.id.as_str(), Some(c.secret.expose()))
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.unwrap()
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

#[tokio::test]
async fn missing_grant_type() {
    let s = TestServer::start().await;
    let d = assert_oauth_error(
        raw(&s, FORM, b"scope=read".to_vec()).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(d.contains("grant_type"), "{d}");
}

#[tokio::test]
async fn duplicated_parameters() {
    let s = TestServer::start().await;
    let body = b"grant_type=client_credentials&grant_type=client_credentials".to_vec();
    let d = assert_oauth_error(raw(&s, FORM, body).await, 400, "invalid_request").await;
    assert!(d.contains("repeated"), "{d}");
    let body = b"grant_type=client_credentials&scope=read&scope=read".to_vec();
    assert_oauth_error(raw(&s, FORM, body).await, 400, "invalid_request").await;
    let body = br#"{"grant_type":"client_credentials","grant_type":"client_credentials"}"#.to_vec();
    assert_oauth_error(
        raw(&s, Some("application/json"), body).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn unsupported_or_missing_content_type() {
    let s = TestServer::start().await;
    let body = b"grant_type=client_credentials".to_vec();
    for ct in [
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let d = assert_oauth_error(raw(&s, ct, body.clone()).await, 400, "invalid_request").await;
        assert!(d.contains("Content-Type"), "{d}");
    }
    // Parameters on the content type are fine.
    let res = raw(
        &s,
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        body,
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn oversized_body() {
    let s = TestServer::start().await;
    let mut body = b"grant_type=client_credentials&pad=".to_vec();
    body.resize(64 * 1024 + 1, b'a');
    let d = assert_oauth_error(raw(&s, FORM, body).await, 400, "invalid_request").await;
    assert!(d.contains("64 KiB"), "{d}");
    // Just under the limit is accepted.
    let mut body = b"grant_type=client_credentials&pad=".to_vec();
    body.resize(64 * 1024, b'a');
    assert_eq!(raw(&s, FORM, body).await.status(), 200);
}

#[tokio::test]
async fn non_utf8_bytes() {
    let s = TestServer::start().await;
    let d = assert_oauth_error(
        raw(
            &s,
            FORM,
            b"grant_type=client_credentials&scope=%C3%28".to_vec(),
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert!(d.contains("UTF-8"), "{d}");
    assert_oauth_error(
        raw(
            &s,
            FORM,
            b"grant_type=client_credentials&scope=\xfe\xff".to_vec(),
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert_oauth_error(
        raw(
            &s,
            Some("application/json"),
            b"{\"grant_type\":\"\xff\"}".to_vec(),
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn malformed_json() {
    let s = TestServer::start().await;
    for body in [&b"{"[..], b"[]", b"{\"grant_type\": 5}", b"null", b""] {
        assert_oauth_error(
            raw(&s, Some("application/json"), body.to_vec()).await,
            400,
            "invalid_request",
        )
        .await;
    }
}

#[tokio::test]
async fn two_client_authentication_methods() {
    let s = TestServer::start().await;
    let c = s.client("read").await;
    let res = s
        .post_form(
            "/oauth/token",
            &c,
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", c.secret.expose()),
            ],
        )
        .await;
    let d = assert_oauth_error(res, 400, "invalid_request").await;
    assert!(d.contains("one client authentication method"), "{d}");
}

#[tokio::test]
async fn wrong_method_and_unknown_path() {
    let s = TestServer::start().await;
    let res = s.http.get(s.url("/oauth/token")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    let res = s.http.get(s.url("/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}
