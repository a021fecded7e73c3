//! Native apps on loopback redirect URIs (RFC 8252 §7.3, §8.3): a client
//! registered with `http://127.0.0.1/callback` listens on whatever port the
//! OS gives it, and the code comes back to that port.

use portcullis_protocol::{GrantType, RedirectUri};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::authcode::PASSWORD;
use crate::support::{
    Browser, TestClient, TestServer, assert_oauth_error, location, params_of, pkce_pair,
};

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn setup(registered: &str) -> (TestServer, TestClient) {
    let s = TestServer::start().await;
    s.server()
        .operator()
        .create_user("alice", PASSWORD, false)
        .await
        .unwrap();
    let c = public_client(&s, registered).await;
    (s, c)
}

async fn public_client(s: &TestServer, registered: &str) -> TestClient {
    s.client_with("read", |spec| {
        spec.name = "Acme CLI".into();
        spec.public = true;
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        spec.redirect_uris = vec![RedirectUri::parse(registered).unwrap()];
    })
    .await
}

fn authorize(c: &TestClient, redirect_uri: &str, challenge: &str) -> String {
    format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=read&state=st4te&code_challenge={challenge}&code_challenge_method=S256",
        c.id,
        urlencode(redirect_uri),
    )
}

/// The app's side: accepts one request on its loopback listener, as a
/// native app does, and returns the request target it was sent.
async fn receive_redirect(listener: TcpListener) -> String {
    let (mut conn, _) = listener.accept().await.unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "the browser hung up");
        head.extend_from_slice(&buf[..n]);
    }
    conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        .await
        .unwrap();
    let head = String::from_utf8(head).unwrap();
    head.split(' ').nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn a_public_client_on_a_loopback_ip_completes_the_code_flow_on_a_random_port() {
    let (s, c) = setup("http://127.0.0.1/callback").await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let app = tokio::spawn(receive_redirect(listener));

    let b = Browser::new(&s);
    let (verifier, challenge) = pkce_pair();
    let page = b.go(&authorize(&c, &redirect_uri, &challenge)).await;
    assert_eq!(page.url().path(), "/login");
    let consent = b.login(page, "alice", PASSWORD).await;
    let back = b.decide(consent, true).await;
    assert!(back.starts_with(&format!("{redirect_uri}?")), "{back}");

    // The browser follows the redirect to the app's port.
    let res = b.get(&back).await;
    assert_eq!(res.status(), 200);
    let target = app.await.unwrap();
    assert!(target.starts_with("/callback?"), "{target}");
    let p = params_of(&target);
    assert_eq!(p["state"], "st4te");
    assert_eq!(p["iss"], s.issuer());

    // The token request must name the URI used, port and all.
    let exchange = |uri: Option<String>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", c.id.to_string()),
            ("code", p["code"].clone()),
            ("code_verifier", verifier.clone()),
        ];
        if let Some(u) = uri {
            form.push(("redirect_uri", u));
        }
        s.http.post(s.url("/oauth/token")).form(&form).send()
    };
    let res = exchange(Some(redirect_uri.clone())).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["refresh_token"].is_string());
    assert_eq!(
        s.introspect(
            &s.client("read").await,
            body["access_token"].as_str().unwrap()
        )
        .await["active"],
        true
    );
}

#[tokio::test]
async fn the_token_request_must_repeat_the_port_used_at_authorize() {
    let (s, c) = setup("http://127.0.0.1/callback").await;
    let b = Browser::new(&s);
    for given in [
        Some("http://127.0.0.1/callback"),
        Some("http://127.0.0.1:50001/callback"),
        None,
    ] {
        let (verifier, challenge) = pkce_pair();
        let page = b
            .go(&authorize(
                &c,
                "http://127.0.0.1:50000/callback",
                &challenge,
            ))
            .await;
        let page = if page.url().path() == "/login" {
            b.login(page, "alice", PASSWORD).await
        } else {
            page
        };
        let back = if page.status().is_redirection() {
            location(&page)
        } else {
            b.decide(page, true).await
        };
        assert!(
            back.starts_with("http://127.0.0.1:50000/callback?"),
            "{back}"
        );
        let code = params_of(&back)["code"].clone();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", c.id.as_str()),
            ("code", &code),
            ("code_verifier", &verifier),
        ];
        if let Some(g) = given {
            form.push(("redirect_uri", g));
        }
        let res = s
            .http
            .post(s.url("/oauth/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let d = assert_oauth_error(res, 400, "invalid_grant").await;
        assert!(d.contains("redirect_uri"), "{given:?}: {d}");
    }
}

#[tokio::test]
async fn other_ports_are_refused_for_localhost_and_only_the_port_may_vary() {
    let s = TestServer::start().await;
    let b = Browser::new(&s);
    let cases = [
        // localhost is a name, matched exactly (RFC 8252 §8.3).
        ("http://localhost/cb", "http://localhost:8123/cb"),
        ("http://127.0.0.1/callback", "http://127.0.0.1:8123/other"),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8123/callback/",
        ),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.2:8123/callback",
        ),
        ("http://127.0.0.1/callback", "http://[::1]:8123/callback"),
        (
            "http://127.0.0.1/callback",
            "http://localhost:8123/callback",
        ),
        (
            "http://127.0.0.1/callback",
            "https://127.0.0.1:8123/callback",
        ),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8123/callback?x=1",
        ),
        ("http://127.0.0.1/callback", "http://127.0.0.1:0/callback"),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8123@evil.example/callback",
        ),
        ("http://[::1]/cb", "http://[::1]:8123/cb2"),
    ];
    for (registered, asked) in cases {
        let c = public_client(&s, registered).await;
        let (_, challenge) = pkce_pair();
        let res = b.get(&authorize(&c, asked, &challenge)).await;
        assert_eq!(res.status(), 400, "{registered} / {asked}");
        assert!(res.headers().get("location").is_none());
        assert!(res.text().await.unwrap().contains("not registered"));
    }
    // The IPv6 literal varies its port like 127.0.0.1.
    let c = public_client(&s, "http://[::1]/cb").await;
    let (_, challenge) = pkce_pair();
    let res = b
        .get(&authorize(&c, "http://[::1]:8123/cb", &challenge))
        .await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login?request="));
}
