//! In a real browser: headless Chromium, driven over WebDriver by
//! fantoccini, walks the authorization-code flow through the login and
//! consent pages to a redirect URI served by the test itself.
//!
//! Each test starts its own chromedriver on a free loopback port (killed by
//! a drop guard) and a Chromium with a fresh profile. They are skipped, with
//! a printed reason, only when Chromium or chromedriver cannot be found
//! (Debian: `apt-get install chromium chromium-driver`).
//!
//! With `PORTCULLIS_SCREENSHOTS=1` the approve test also writes
//! `docs/screenshots/login.png` and `docs/screenshots/consent.png`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::{Client, Locator};
use portcullis_protocol::{GrantType, RedirectUri};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::chrome::{in_browser, screenshot};
use crate::support::{TestClient, TestServer};

/// The resource id in the resource-scoped permission the client asks for.
const RESOURCE: &str = "AZTH74V2";
const CLIENT_NAME: &str = "Order Dashboard";
const ORDERS_DESCRIPTION: &str = "Read your orders";
const ADDON_DESCRIPTION: &str = "Approve add-ons";
const STATE: &str = "xyz";

/// The client application's redirect target: records each query string it
/// receives and answers a small page.
async fn callback_server() -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    async fn callback(
        State(tx): State<mpsc::UnboundedSender<String>>,
        RawQuery(query): RawQuery,
    ) -> Html<&'static str> {
        let _ = tx.send(query.unwrap_or_default());
        Html(
            "<!doctype html><html><head><title>Order Dashboard</title></head>\
             <body><h1>Back at Order Dashboard</h1></body></html>",
        )
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/callback", get(callback))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, rx)
}

/// A Portcullis with a user, two scopes (one resource-scoped) and a
/// confidential authorization-code client redirecting to `redirect_uri`.
async fn setup(redirect_uri: &str) -> (TestServer, TestClient) {
    let s = TestServer::start().await;
    s.server()
        .operator()
        .create_user("alice", "correct horse battery", false)
        .await
        .unwrap();
    s.server()
        .operator()
        .define_scope(crate::support::scope_spec(
            "orders:read",
            ORDERS_DESCRIPTION,
            false,
        ))
        .await
        .unwrap();
    s.server()
        .operator()
        .define_scope(crate::support::scope_spec(
            "ADDON_USER_APPROVED",
            ADDON_DESCRIPTION,
            true,
        ))
        .await
        .unwrap();
    let redirect = RedirectUri::parse(redirect_uri).unwrap();
    let client = s
        .client_with("orders:read ADDON_USER_APPROVED", |spec| {
            spec.name = CLIENT_NAME.into();
            spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            spec.redirect_uris = vec![redirect];
        })
        .await;
    (s, client)
}

/// A PKCE verifier (43+ unreserved characters, unique per call) and its
/// S256 challenge.
fn pkce() -> (String, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let seed = format!("{nanos}-{:?}", std::thread::current().id());
    let verifier = format!(
        "browser-{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(seed.as_bytes()))
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_url(s: &TestServer, c: &TestClient, redirect_uri: &str, challenge: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", c.id.as_str())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair(
            "scope",
            &format!("orders:read ADDON_USER_APPROVED__{RESOURCE}"),
        )
        .append_pair("state", STATE)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    s.url(&format!("/oauth/authorize?{query}"))
}

/// The visible text of the page's main card.
async fn visible_text(browser: &Client) -> String {
    browser
        .find(Locator::Css("main"))
        .await
        .expect("the page has a <main>")
        .text()
        .await
        .unwrap()
}

/// Opens the authorize URL, signs in as alice and stops on the consent
/// page, checking both pages on the way; `shoot` takes the screenshots
/// (when `PORTCULLIS_SCREENSHOTS=1`).
async fn sign_in_to_consent(browser: &Client, s: &TestServer, authorize: &str, shoot: bool) {
    browser.goto(authorize).await.unwrap();
    let username = browser
        .wait()
        .for_element(Locator::Id("username"))
        .await
        .expect("the authorize URL leads to the login form");
    let at = browser.current_url().await.unwrap();
    assert_eq!(at.path(), "/login", "redirected to login: {at}");
    assert!(
        at.query_pairs()
            .any(|(k, v)| k == "request" && !v.is_empty()),
        "login carries the pending request: {at}"
    );
    assert_eq!(browser.title().await.unwrap(), "Sign in");
    username.send_keys("alice").await.unwrap();
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("correct horse battery")
        .await
        .unwrap();
    screenshot(browser, "login.png", shoot).await;
    let submit = browser
        .find(Locator::XPath(
            "//form//button[normalize-space()='Sign in']",
        ))
        .await
        .expect("a Sign in button");
    submit.click().await.unwrap();

    browser
        .wait()
        .for_element(Locator::Css("button[name=decision][value=approve]"))
        .await
        .unwrap_or_else(|_| panic!("no consent page after signing in"));
    let at = browser.current_url().await.unwrap();
    assert_eq!(at.path(), "/consent", "redirected to consent: {at}");
    assert!(at.as_str().starts_with(&s.url("/consent?request=")), "{at}");
    assert_eq!(
        browser.title().await.unwrap(),
        format!("Allow {CLIENT_NAME}?")
    );
    let text = visible_text(browser).await;
    for expected in [
        CLIENT_NAME,
        ORDERS_DESCRIPTION,
        ADDON_DESCRIPTION,
        &format!("on resource {RESOURCE}"),
        "alice",
        "127.0.0.1",
    ] {
        assert!(
            text.contains(expected),
            "consent page shows {expected:?}:\n{text}"
        );
    }
    for button in ["approve", "deny"] {
        let b = browser
            .find(Locator::Css(&format!(
                "button[name=decision][value={button}]"
            )))
            .await
            .unwrap();
        assert!(b.is_displayed().await.unwrap(), "{button} button visible");
    }
    screenshot(browser, "consent.png", shoot).await;
}

/// Waits for the callback server to be hit; returns its query pairs.
async fn callback_query(rx: &mut mpsc::UnboundedReceiver<String>) -> Vec<(String, String)> {
    let query = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("the browser reached the redirect URI within 30 s")
        .expect("callback server alive");
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut found = pairs.iter().filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v.as_str());
    assert!(found.next().is_none(), "`{name}` appears once: {pairs:?}");
    first
}

/// The browser's own view of where it landed, read from the callback page.
async fn assert_landed(browser: &Client, redirect_uri: &str) -> Vec<(String, String)> {
    browser
        .wait()
        .for_element(Locator::XPath(
            "//h1[normalize-space()='Back at Order Dashboard']",
        ))
        .await
        .expect("the browser shows the client's callback page");
    let at = browser.current_url().await.unwrap();
    assert!(
        at.as_str().starts_with(&format!("{redirect_uri}?")),
        "landed on the redirect URI: {at}"
    );
    at.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn browser_login_approve_and_exchange_code() {
    in_browser(|browser| async move {
        let (addr, mut hits) = callback_server().await;
        let redirect_uri = format!("http://127.0.0.1:{}/callback", addr.port());
        let (s, client) = setup(&redirect_uri).await;
        let (verifier, challenge) = pkce();

        sign_in_to_consent(
            &browser,
            &s,
            &authorize_url(&s, &client, &redirect_uri, &challenge),
            true,
        )
        .await;
        browser
            .find(Locator::Css("button[name=decision][value=approve]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();

        let got = callback_query(&mut hits).await;
        assert_eq!(assert_landed(&browser, &redirect_uri).await, got);
        assert_eq!(param(&got, "state"), Some(STATE), "{got:?}");
        assert_eq!(param(&got, "iss"), Some(s.issuer()), "{got:?}");
        assert_eq!(param(&got, "error"), None, "{got:?}");
        let code = param(&got, "code").expect("a code").to_owned();

        let res = s
            .post_form(
                "/oauth/token",
                &client,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &redirect_uri),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "code exchange");
        let body: Value = res.json().await.unwrap();
        let access = body["access_token"].as_str().expect("an access token");
        assert!(
            body["refresh_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "a refresh token: {body}"
        );
        assert_eq!(body["token_type"], "Bearer", "{body}");
        let scope = body["scope"].as_str().unwrap_or_default();
        assert!(
            scope.contains("orders:read")
                && scope.contains(&format!("ADDON_USER_APPROVED__{RESOURCE}")),
            "granted scope: {body}"
        );

        let info = s.introspect(&client, access).await;
        assert_eq!(info["active"], true, "{info}");

        // The code is single-use.
        let again = s
            .post_form(
                "/oauth/token",
                &client,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &redirect_uri),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_eq!(again.status(), 400, "a code redeems once");
    })
    .await;
}

#[tokio::test]
async fn browser_login_and_deny() {
    in_browser(|browser| async move {
        let (addr, mut hits) = callback_server().await;
        let redirect_uri = format!("http://127.0.0.1:{}/callback", addr.port());
        let (s, client) = setup(&redirect_uri).await;
        let (_, challenge) = pkce();

        sign_in_to_consent(
            &browser,
            &s,
            &authorize_url(&s, &client, &redirect_uri, &challenge),
            false,
        )
        .await;
        browser
            .find(Locator::Css("button[name=decision][value=deny]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();

        let got = callback_query(&mut hits).await;
        assert_eq!(assert_landed(&browser, &redirect_uri).await, got);
        assert_eq!(param(&got, "error"), Some("access_denied"), "{got:?}");
        assert_eq!(param(&got, "state"), Some(STATE), "{got:?}");
        assert_eq!(param(&got, "iss"), Some(s.issuer()), "{got:?}");
        assert_eq!(param(&got, "code"), None, "no code on denial: {got:?}");
    })
    .await;
}
