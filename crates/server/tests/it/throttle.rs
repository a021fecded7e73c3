//! Login throttling under concurrency, per (account, address), behind
//! trusted proxies; and a password change or a disabled account ending
//! sessions and refresh tokens. Both stores.

use std::sync::Arc;

use crate::support::{Browser, TestServer, hidden, pkce_pair};

const PASSWORD: &str = "correct horse battery";

async fn server(postgres: bool, trusted: bool) -> Option<TestServer> {
    let url = if postgres {
        Some(crate::postgres::fresh_database().await?)
    } else {
        None
    };
    let s = TestServer::start_with(move |f| {
        f.database_url = url;
        if trusted {
            f.trusted_proxies = Some(vec!["127.0.0.0/8".into()]);
        }
    })
    .await;
    s.server()
        .operator()
        .create_user("alice", PASSWORD, false)
        .await
        .unwrap();
    Some(s)
}

/// A browser at one client address, as a reverse proxy reports it.
struct At {
    http: reqwest::Client,
    csrf: String,
    address: &'static str,
}

async fn at(s: &TestServer, address: &'static str) -> At {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = http
        .get(s.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    At {
        http,
        csrf: hidden(&html, "csrf"),
        address,
    }
}

async fn try_login(s: &TestServer, at: &At, password: &str) -> u16 {
    at.http
        .post(s.url("/login"))
        .header("x-forwarded-for", at.address)
        .form(&[
            ("csrf", at.csrf.as_str()),
            ("username", "alice"),
            ("password", password),
            ("next", "/account"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn burst(postgres: bool) {
    let Some(s) = server(postgres, true).await else {
        return;
    };
    let s = Arc::new(s);
    let a = Arc::new(at(&s, "198.51.100.1").await);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (s, a) = (s.clone(), a.clone());
        set.spawn(async move { try_login(&s, &a, "wrong password!").await });
    }
    let mut evaluated = 0;
    let mut throttled = 0;
    while let Some(status) = set.join_next().await {
        match status.unwrap() {
            401 => evaluated += 1,
            429 => throttled += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(evaluated <= 5, "{evaluated} guesses were checked");
    assert_eq!(evaluated + throttled, 100);
    // The right password from that address waits out the block too...
    assert_eq!(try_login(&s, &a, PASSWORD).await, 429);
    // ...but the owner elsewhere gets in.
    let home = at(&s, "203.0.113.5").await;
    assert_eq!(try_login(&s, &home, PASSWORD).await, 303);
}

#[tokio::test]
async fn a_burst_of_guesses_is_checked_no_more_than_the_budget_on_sqlite() {
    burst(false).await;
}

#[tokio::test]
async fn a_burst_of_guesses_is_checked_no_more_than_the_budget_on_postgres() {
    burst(true).await;
}

#[tokio::test]
async fn forwarding_headers_count_only_from_trusted_proxies() {
    // No trusted proxies: every "address" is the peer, 127.0.0.1, so the
    // guesses and the owner share one bucket and a header changes nothing.
    let s = server(false, false).await.unwrap();
    let attacker = at(&s, "198.51.100.1").await;
    for _ in 0..5 {
        assert_eq!(try_login(&s, &attacker, "wrong password!").await, 401);
    }
    assert_eq!(try_login(&s, &attacker, "wrong password!").await, 429);
    let spoofed = at(&s, "203.0.113.5").await;
    assert_eq!(try_login(&s, &spoofed, PASSWORD).await, 429);
}

async fn sessions_end(postgres: bool) {
    let Some(s) = server(postgres, false).await else {
        return;
    };
    s.define_scope("read", false).await;
    let c = crate::authcode::code_client(&s, |_| {}).await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce_pair();
    let code = crate::authcode::code_for(&s, &b, &c, "read", &challenge).await;
    let tokens: serde_json::Value = crate::authcode::exchange(&s, &c, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(b.get("/account").await.status(), 200, "signed in");

    let alice = s.user_id("alice").await;
    s.server()
        .operator()
        .set_password(&alice, "a brand new passphrase")
        .await
        .unwrap();
    assert_eq!(b.get("/account").await.status(), 303, "the session ended");
    let res = crate::authcode::refresh(&s, &c, &refresh, None).await;
    crate::support::assert_oauth_error(res, 400, "invalid_grant").await;
    assert_eq!(s.introspect(&c, &access).await["active"], false);

    // Disabling ends them too; enabling does not bring them back.
    let b = Browser::new(&s);
    let page = b.go("/account").await;
    let page = b.login(page, "alice", "a brand new passphrase").await;
    assert_eq!(page.status(), 200);
    s.server()
        .operator()
        .set_user_disabled(&alice, true)
        .await
        .unwrap();
    s.server()
        .operator()
        .set_user_disabled(&alice, false)
        .await
        .unwrap();
    assert_eq!(b.get("/account").await.status(), 303);
}

#[tokio::test]
async fn a_password_change_or_disabling_ends_sessions_and_refresh_tokens_on_sqlite() {
    sessions_end(false).await;
}

#[tokio::test]
async fn a_password_change_or_disabling_ends_sessions_and_refresh_tokens_on_postgres() {
    sessions_end(true).await;
}
