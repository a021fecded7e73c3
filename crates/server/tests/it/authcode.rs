//! Acting for a user: login, consent, authorization code with PKCE,
//! refresh-token rotation, implicit, connected apps, driven over HTTP the
//! way a browser and a client would.

use portcullis_protocol::{GrantType, RedirectUri};
use serde_json::{Value, json};

use crate::support::{
    Browser, TestClient, TestServer, assert_oauth_error, hidden, location, params_of, pkce_pair,
};

pub const CB: &str = "https://app.example/callback";
pub const PASSWORD: &str = "correct horse battery";

pub async fn setup() -> (TestServer, TestClient) {
    let s = TestServer::start().await;
    s.server()
        .operator()
        .create_user("alice", PASSWORD, false)
        .await
        .unwrap();
    s.server()
        .operator()
        .define_scope(crate::support::scope_spec(
            "ADDON_USER_APPROVED",
            "Approve add-ons",
            true,
        ))
        .await
        .unwrap();
    let c = code_client(&s, |_| {}).await;
    (s, c)
}

pub async fn code_client(
    s: &TestServer,
    tune: impl FnOnce(&mut portcullis_core::registry::ClientSpec),
) -> TestClient {
    s.client_with("read write ADDON_USER_APPROVED", |spec| {
        spec.name = "Acme Delivery".into();
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        spec.redirect_uris = vec![RedirectUri::parse(CB).unwrap()];
        tune(spec);
    })
    .await
}

pub fn authorize_url(c: &TestClient, scope: &str, challenge: &str, extra: &str) -> String {
    format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st4te&code_challenge={challenge}&code_challenge_method=S256{extra}",
        c.id,
        urlencode(CB),
        urlencode(scope),
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Authorize → login → consent (approve) → the redirect with a code.
pub async fn code_for(
    s: &TestServer,
    b: &Browser,
    c: &TestClient,
    scope: &str,
    challenge: &str,
) -> String {
    let page = b.go(&authorize_url(c, scope, challenge, "")).await;
    let page = if page.url().path() == "/login" {
        b.login(page, "alice", PASSWORD).await
    } else {
        page
    };
    let back = if page.status().is_redirection() {
        location(&page)
    } else {
        assert_eq!(page.url().path(), "/consent");
        b.decide(page, true).await
    };
    assert!(back.starts_with(CB), "{back}");
    let p = params_of(&back);
    assert_eq!(p["state"], "st4te");
    assert_eq!(p["iss"], s.issuer());
    p["code"].clone()
}

/// Authorize with `query` (what follows `?`), sign in as alice and approve
/// if asked. `Ok((consent page, code))`, the page empty when a remembered
/// consent skipped it; `Err(redirect)` when the request went back to the
/// client before any sign-in (an error).
pub async fn approve(s: &TestServer, query: &str) -> Result<(String, String), String> {
    let b = Browser::new(s);
    let page = b.go(&format!("/oauth/authorize?{query}")).await;
    if page.status().is_redirection() {
        return Err(location(&page));
    }
    assert_eq!(page.url().path(), "/login");
    let after_login = b.login(page, "alice", PASSWORD).await;
    let (html, back) = if after_login.status().is_redirection() {
        (String::new(), location(&after_login))
    } else {
        assert_eq!(after_login.url().path(), "/consent");
        let html = after_login.text().await.unwrap();
        let request = hidden(&html, "request");
        let res = b
            .submit(
                &html,
                "/consent",
                &[("request", &request), ("decision", "approve")],
            )
            .await;
        assert_eq!(res.status(), 303);
        (html, location(&res))
    };
    assert!(back.starts_with(CB), "{back}");
    Ok((html, params_of(&back)["code"].clone()))
}

pub async fn exchange(
    s: &TestServer,
    c: &TestClient,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    s.post_form(
        "/oauth/token",
        c,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub async fn refresh(
    s: &TestServer,
    c: &TestClient,
    token: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(sc) = scope {
        form.push(("scope", sc));
    }
    s.post_form("/oauth/token", c, &form).await
}

#[tokio::test]
async fn the_full_flow_with_pkce_issues_tokens_for_the_user() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce_pair();

    let res = b
        .get(&authorize_url(
            &c,
            "read ADDON_USER_APPROVED__AZTH74V2",
            &challenge,
            "",
        ))
        .await;
    assert_eq!(res.status(), 303);
    let login = location(&res);
    assert!(login.starts_with("/login?request="), "{login}");
    assert!(
        !login.contains(c.id.as_str()),
        "parameters are held server-side"
    );

    let page = b.go(&login).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let consent = b.login(page, "alice", PASSWORD).await;
    assert_eq!(consent.url().path(), "/consent");
    let html = consent.text().await.unwrap();
    assert!(html.contains("Acme Delivery"));
    assert!(html.contains("read access"));
    assert!(html.contains("Approve add-ons"));
    assert!(html.contains("on resource <code>AZTH74V2</code>"), "{html}");
    assert!(html.contains("lang=\"en\""));

    let request = hidden(&html, "request");
    let res = b
        .http
        .post(s.url("/consent"))
        .form(&[
            ("csrf", hidden(&html, "csrf").as_str()),
            ("request", &request),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    let back = location(&res);
    let p = params_of(&back);
    assert!(back.starts_with(&format!("{CB}?")));
    assert_eq!(p["state"], "st4te");
    assert_eq!(p["iss"], s.issuer());

    let res = exchange(&s, &c, &p["code"], &verifier).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "ADDON_USER_APPROVED__AZTH74V2 read");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
    let info = s
        .introspect(&c, body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["active"], true);
    let alice = s
        .server()
        .store()
        .find_user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info["sub"], alice.id.as_str());
    assert_eq!(info["client_id"], c.id.as_str());

    // The request was decided once; replaying the consent POST fails.
    let again = b
        .http
        .post(s.url("/consent"))
        .form(&[
            ("csrf", hidden(&html, "csrf").as_str()),
            ("request", &request),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_no_code() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let (_, challenge) = pkce_pair();
    let page = b.go(&authorize_url(&c, "read", &challenge, "")).await;
    let consent = b.login(page, "alice", PASSWORD).await;
    let back = b.decide(consent, false).await;
    let p = params_of(&back);
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "st4te");
    assert_eq!(p["iss"], s.issuer());
    assert!(!p.contains_key("code"));
}

#[tokio::test]
async fn untrusted_client_or_redirect_shows_a_page_and_never_redirects() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let (_, ch) = pkce_pair();
    let unknown = format!(
        "/oauth/authorize?response_type=code&client_id=nope&redirect_uri={}&code_challenge={ch}&code_challenge_method=S256",
        urlencode(CB)
    );
    let wrong_redirect = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge={ch}&code_challenge_method=S256",
        c.id,
        urlencode("https://evil.example/cb")
    );
    let prefix_redirect = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge={ch}&code_challenge_method=S256",
        c.id,
        urlencode(&format!("{CB}/../x"))
    );
    for url in [unknown, wrong_redirect, prefix_redirect] {
        let res = b.get(&url).await;
        assert_eq!(res.status(), 400, "{url}");
        assert!(res.headers().get("location").is_none());
        assert!(res.text().await.unwrap().contains("cannot continue"));
    }
}

#[tokio::test]
async fn other_errors_redirect_with_error_state_and_iss() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let (_, ch) = pkce_pair();
    let cases = [
        (
            format!(
                "/oauth/authorize?response_type=code&client_id={}&state=st4te",
                c.id
            ),
            "invalid_request",
        ),
        (authorize_url(&c, "admin", &ch, ""), "invalid_scope"),
        (
            authorize_url(&c, "ADDON_USER_APPROVED", &ch, ""),
            "invalid_scope",
        ),
        (
            authorize_url(&c, "read", &ch, "&prompt=bogus"),
            "invalid_request",
        ),
        (
            authorize_url(&c, "read", &ch, "&scope=write"),
            "invalid_request",
        ),
        (
            format!(
                "/oauth/authorize?response_type=code&client_id={}&state=st4te&code_challenge={ch}&code_challenge_method=plain",
                c.id
            ),
            "invalid_request",
        ),
        (
            format!(
                "/oauth/authorize?response_type=code&client_id={}&state=st4te",
                c.id
            ),
            "invalid_request",
        ),
        (
            format!(
                "/oauth/authorize?response_type=id_token&client_id={}&state=st4te",
                c.id
            ),
            "unsupported_response_type",
        ),
        (
            format!(
                "/oauth/authorize?response_type=token&client_id={}&state=st4te",
                c.id
            ),
            "unauthorized_client",
        ),
        (
            authorize_url(&c, "read", &ch, "&prompt=none"),
            "login_required",
        ),
    ];
    for (url, code) in cases {
        let res = b.get(&url).await;
        assert_eq!(res.status(), 303, "{url}");
        let back = location(&res);
        assert!(back.starts_with(CB), "{back}");
        let p = params_of(&back);
        assert_eq!(p["error"], code, "{url}");
        assert_eq!(p["state"], "st4te");
        assert_eq!(p["iss"], s.issuer());
        assert!(p.contains_key("error_description"));
    }
}

#[tokio::test]
async fn code_exchange_rules() {
    let (s, c) = setup().await;
    let other = code_client(&s, |_| {}).await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce_pair();

    // Wrong verifier: invalid_grant, and the code is burnt.
    let code = code_for(&s, &b, &c, "read", &challenge).await;
    let res = exchange(&s, &c, &code, &pkce_pair().0).await;
    assert_oauth_error(res, 400, "invalid_grant").await;
    assert_oauth_error(
        exchange(&s, &c, &code, &verifier).await,
        400,
        "invalid_grant",
    )
    .await;

    // Missing verifier.
    let code = code_for(&s, &b, &c, "read", &challenge).await;
    let res = s
        .post_form(
            "/oauth/token",
            &c,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;

    // Wrong redirect URI.
    let code = code_for(&s, &b, &c, "read", &challenge).await;
    let res = s
        .post_form(
            "/oauth/token",
            &c,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example/other"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;

    // A code of another client.
    let code = code_for(&s, &b, &c, "read", &challenge).await;
    assert_oauth_error(
        exchange(&s, &other, &code, &verifier).await,
        400,
        "invalid_grant",
    )
    .await;

    // Garbage.
    assert_oauth_error(
        exchange(&s, &c, "nope", &verifier).await,
        400,
        "invalid_grant",
    )
    .await;

    // An expired code.
    let code = code_for(&s, &b, &c, "read", &challenge).await;
    let store = s.server().store();
    let hash = portcullis_protocol::Secret::new(&code).hash();
    let first = portcullis_core::model::Redemption {
        family_id: "f".into(),
        access_jti: portcullis_protocol::Jti::new("j"),
        access_exp: 0,
        redeemed_at: 0,
    };
    let mut taken = store.take_code(&hash, &first).await.unwrap().unwrap();
    taken.code_hash = portcullis_protocol::Secret::new("expired-code").hash();
    taken.expires_at = s.server().now() - 1;
    store.insert_code(&taken).await.unwrap();
    assert_oauth_error(
        exchange(&s, &c, "expired-code", &verifier).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_the_first_redemption_issued() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce_pair();
    let code = code_for(&s, &b, &c, "read", &challenge).await;
    let first: Value = exchange(&s, &c, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(s.introspect(&c, access).await["active"], true);

    let d = assert_oauth_error(
        exchange(&s, &c, &code, &verifier).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(d.contains("already used"), "{d}");
    assert_eq!(s.introspect(&c, access).await["active"], false);
    let res = refresh(&s, &c, first["refresh_token"].as_str().unwrap(), None).await;
    assert_oauth_error(res, 400, "invalid_grant").await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce_pair();
    let code = code_for(&s, &b, &c, "read write", &challenge).await;
    let t0: Value = exchange(&s, &c, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let r0 = t0["refresh_token"].as_str().unwrap();

    let res = refresh(&s, &c, r0, Some("read")).await;
    assert_eq!(res.status(), 200);
    let t1: Value = res.json().await.unwrap();
    assert_eq!(t1["scope"], "read");
    let r1 = t1["refresh_token"].as_str().unwrap();
    assert_ne!(r0, r1);

    // A wider scope is refused without consuming the token.
    let res = refresh(&s, &c, r1, Some("read write admin")).await;
    assert_oauth_error(res, 400, "invalid_scope").await;

    // Reuse of r0: refused, and the whole family is revoked.
    let res = refresh(&s, &c, r0, None).await;
    let d = assert_oauth_error(res, 400, "invalid_grant").await;
    assert!(d.contains("already used"));
    assert_eq!(
        s.introspect(&c, t1["access_token"].as_str().unwrap()).await["active"],
        false
    );
    assert_oauth_error(refresh(&s, &c, r1, None).await, 400, "invalid_grant").await;
    assert_oauth_error(refresh(&s, &c, "garbage", None).await, 400, "invalid_grant").await;

    // A clean rotation chain works end to end.
    let code = code_for(&s, &b, &c, "read", &challenge).await;
    let mut t: Value = exchange(&s, &c, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    for _ in 0..3 {
        let res = refresh(&s, &c, t["refresh_token"].as_str().unwrap(), None).await;
        assert_eq!(res.status(), 200);
        t = res.json().await.unwrap();
        assert_eq!(
            s.introspect(&c, t["access_token"].as_str().unwrap()).await["active"],
            true
        );
    }
}

#[tokio::test]
async fn consent_is_remembered_unless_prompt_consent() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let (_, challenge) = pkce_pair();
    code_for(&s, &b, &c, "read", &challenge).await;
    // Same scopes again: straight back with a code.
    let res = b.go(&authorize_url(&c, "read", &challenge, "")).await;
    assert_eq!(res.status(), 303);
    assert!(params_of(&location(&res)).contains_key("code"));
    // prompt=none works too now.
    let res = b
        .go(&authorize_url(&c, "read", &challenge, "&prompt=none"))
        .await;
    assert!(params_of(&location(&res)).contains_key("code"));
    // A wider request, or prompt=consent, asks again.
    let res = b.go(&authorize_url(&c, "read write", &challenge, "")).await;
    assert_eq!(res.url().path(), "/consent");
    let res = b
        .go(&authorize_url(&c, "read", &challenge, "&prompt=consent"))
        .await;
    assert_eq!(res.url().path(), "/consent");
    let res = b
        .go(&authorize_url(&c, "read write", &challenge, "&prompt=none"))
        .await;
    assert_eq!(params_of(&location(&res))["error"], "consent_required");
    // prompt=login asks for the password again.
    let res = b
        .go(&authorize_url(&c, "read", &challenge, "&prompt=login"))
        .await;
    assert_eq!(res.url().path(), "/login");
}

#[tokio::test]
async fn classifieds_style_json_exchange_without_pkce_or_redirect_uri() {
    let (s, _) = setup().await;
    let c = code_client(&s, |spec| spec.require_pkce = false).await;
    let b = Browser::new(&s);
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=ADDON_USER_APPROVED__AZTH74V2+read&state=st4te",
        c.id,
        urlencode(CB)
    );
    let page = b.go(&url).await;
    let consent = b.login(page, "alice", PASSWORD).await;
    let code = params_of(&b.decide(consent, true).await)["code"].clone();
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .header("x-api-key", "the-provider-api-key")
        .json(&json!({
            "code": code,
            "client_id": c.id.as_str(),
            "client_secret": c.secret.expose(),
            "grant_type": "authorization_code",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["expires"].as_i64().unwrap() > s.server().now());
    assert_eq!(body["scope"], "ADDON_USER_APPROVED__AZTH74V2 read");
}

#[tokio::test]
async fn public_clients_authenticate_with_pkce_alone() {
    let (s, _) = setup().await;
    let c = code_client(&s, |spec| spec.public = true).await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce_pair();
    // PKCE cannot be skipped by a public client.
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={}&state=st4te",
        c.id
    );
    let res = b.get(&url).await;
    assert_eq!(params_of(&location(&res))["error"], "invalid_request");

    let code = code_for(&s, &b, &c, "read", &challenge).await;
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", c.id.as_str()),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn implicit_only_for_clients_that_enable_it() {
    let (s, _) = setup().await;
    let c = code_client(&s, |spec| spec.grant_types = vec![GrantType::Implicit]).await;
    let b = Browser::new(&s);
    let url = format!(
        "/oauth/authorize?response_type=token&client_id={}&scope=read&state=st4te",
        c.id
    );
    let page = b.go(&url).await;
    let consent = b.login(page, "alice", PASSWORD).await;
    let back = b.decide(consent, true).await;
    assert!(
        back.starts_with(&format!("{CB}#")),
        "token in the fragment: {back}"
    );
    let p = params_of(&back);
    assert_eq!(p["token_type"], "Bearer");
    assert_eq!(p["state"], "st4te");
    assert_eq!(p["iss"], s.issuer());
    assert!(!p.contains_key("refresh_token"));
    let rs = s.client("read").await;
    assert_eq!(s.introspect(&rs, &p["access_token"]).await["active"], true);
}

#[tokio::test]
async fn disabling_a_user_ends_login_tokens_and_refresh() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce_pair();
    let code = code_for(&s, &b, &c, "read", &challenge).await;
    let t: Value = exchange(&s, &c, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    s.server()
        .operator()
        .set_user_disabled(&s.user_id("alice").await, true)
        .await
        .unwrap();
    assert_eq!(
        s.introspect(&c, t["access_token"].as_str().unwrap()).await["active"],
        false
    );
    assert_oauth_error(
        refresh(&s, &c, t["refresh_token"].as_str().unwrap(), None).await,
        400,
        "invalid_grant",
    )
    .await;
    let fresh = Browser::new(&s);
    let page = fresh.go("/login").await;
    let res = fresh.login(page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn revoking_a_connected_app_ends_its_tokens() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce_pair();
    let code = code_for(&s, &b, &c, "read", &challenge).await;
    let t: Value = exchange(&s, &c, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();

    let page = b.go("/account").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Acme Delivery"));
    let consent = hidden(&html, "consent");
    let res = b
        .submit(&html, "/account/revoke", &[("consent", &consent)])
        .await;
    assert_eq!(location(&res), "/account");
    assert!(
        !b.go("/account")
            .await
            .text()
            .await
            .unwrap()
            .contains("Acme Delivery")
    );
    assert_eq!(
        s.introspect(&c, t["access_token"].as_str().unwrap()).await["active"],
        false
    );
    assert_oauth_error(
        refresh(&s, &c, t["refresh_token"].as_str().unwrap(), None).await,
        400,
        "invalid_grant",
    )
    .await;
    // Asked again next time.
    let res = b.go(&authorize_url(&c, "read", &challenge, "")).await;
    assert_eq!(res.url().path(), "/consent");
}

#[tokio::test]
async fn forms_need_their_csrf_token() {
    let (s, c) = setup().await;
    let b = Browser::new(&s);
    let page = b.go("/login").await;
    let html = page.text().await.unwrap();
    assert!(!hidden(&html, "csrf").is_empty());
    let res = b
        .http
        .post(s.url("/login"))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = b
        .http
        .post(s.url("/login"))
        .form(&[
            ("csrf", "forged"),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A logged-in user's consent and logout forms are checked too.
    let (_, challenge) = pkce_pair();
    let page = b.go(&authorize_url(&c, "read", &challenge, "")).await;
    let consent = b.login(page, "alice", PASSWORD).await;
    let html = consent.text().await.unwrap();
    let res = b
        .http
        .post(s.url("/consent"))
        .form(&[
            ("csrf", "forged"),
            ("request", &hidden(&html, "request")),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = b
        .http
        .post(s.url("/logout"))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = b.submit(&html, "/logout", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(b.get("/account").await.status(), 303, "signed out");
}

#[tokio::test]
async fn failed_logins_are_generic_and_throttled() {
    let (s, _) = setup().await;
    let b = Browser::new(&s);
    let wrong_user = b
        .login(b.go("/login").await, "mallory", "whatever-pass")
        .await;
    assert_eq!(wrong_user.status(), 401);
    let t1 = wrong_user.text().await.unwrap();
    let wrong_pass = b
        .login(b.go("/login").await, "alice", "not-the-password")
        .await;
    assert_eq!(wrong_pass.status(), 401);
    let t2 = wrong_pass.text().await.unwrap();
    assert!(
        t1.contains("Wrong username or password.") && t2.contains("Wrong username or password.")
    );

    for _ in 0..4 {
        b.login(b.go("/login").await, "alice", "not-the-password")
            .await;
    }
    let res = b.login(b.go("/login").await, "alice", PASSWORD).await;
    assert_eq!(res.status(), 429, "even the right password waits");
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry));
}

#[tokio::test]
async fn session_cookie_attributes_follow_the_issuer() {
    for (issuer, name, secure) in [
        (None, "portcullis_session", false),
        (
            Some("https://auth.example.com"),
            "__Host-portcullis_session",
            true,
        ),
    ] {
        let s = TestServer::start_with(|f| f.issuer = issuer.map(str::to_owned)).await;
        s.server()
            .operator()
            .create_user("alice", PASSWORD, false)
            .await
            .unwrap();
        let b = Browser::new(&s);
        let page = b.go("/login").await;
        let csrf_cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
        let html = page.text().await.unwrap();
        let csrf = hidden(&html, "csrf");
        // Send the CSRF cookie by hand: the cookie store will not return a
        // Secure cookie over plain http.
        let cookie_name = csrf_cookie.split('=').next().unwrap();
        let res = b
            .http
            .post(s.url("/login"))
            .header("cookie", format!("{cookie_name}={csrf}"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let set = res.headers()["set-cookie"].to_str().unwrap();
        assert!(set.starts_with(&format!("{name}=")), "{set}");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
        assert_eq!(set.contains("Secure"), secure, "{set}");
        assert_eq!(csrf_cookie.contains("Secure"), secure);
    }
}

#[tokio::test]
async fn login_never_redirects_off_site() {
    let (s, _) = setup().await;
    let b = Browser::new(&s);
    let page = b.go("/login?next=https://evil.example/").await;
    let html = page.text().await.unwrap();
    let res = b
        .submit(
            &html,
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/account");
}

/// A provider endpoint that answers whether a user may grant a permission
/// on a resource: only `AZTH74V2` is theirs.
pub async fn ownership_hook() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::routing::post;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/may-grant",
        post(move |axum::Json(body): axum::Json<Value>| {
            let log = log.clone();
            async move {
                let allowed = body["resource"] == "AZTH74V2";
                log.lock().unwrap().push(body);
                axum::Json(json!({ "allowed": allowed }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/may-grant", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn the_resource_ownership_hook_decides_resource_permissions() {
    let (hook, seen) = ownership_hook().await;
    let s = TestServer::start_with(|f| f.resource_hook_url = Some(hook)).await;
    s.server()
        .operator()
        .create_user("alice", PASSWORD, false)
        .await
        .unwrap();
    s.server()
        .operator()
        .define_scope(crate::support::scope_spec(
            "ADDON_USER_APPROVED",
            "Approve add-ons",
            true,
        ))
        .await
        .unwrap();
    let c = code_client(&s, |_| {}).await;
    let b = Browser::new(&s);
    let (_, challenge) = pkce_pair();

    let code = code_for(&s, &b, &c, "read ADDON_USER_APPROVED__AZTH74V2", &challenge).await;
    assert!(!code.is_empty());
    {
        let calls = seen.lock().unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["permission"], "ADDON_USER_APPROVED");
        assert_eq!(calls[0]["username"], "alice");
        assert_eq!(calls[0]["client_id"], c.id.as_str());
    }

    let page = b
        .go(&authorize_url(
            &c,
            "ADDON_USER_APPROVED__SOMEONE_ELSES",
            &challenge,
            "",
        ))
        .await;
    let back = b.decide(page, true).await;
    let p = params_of(&back);
    assert_eq!(p["error"], "access_denied");
    assert!(!p.contains_key("code"));
    assert_eq!(p["state"], "st4te");

    // Plain scopes never ask the hook.
    let before = seen.lock().unwrap().len();
    let page = b.go(&authorize_url(&c, "write", &challenge, "")).await;
    b.decide(page, true).await;
    assert_eq!(seen.lock().unwrap().len(), before);
}

#[tokio::test]
async fn another_user_cannot_decide_or_destroy_a_pending_request() {
    let (s, c) = setup().await;
    s.server()
        .operator()
        .create_user("mallory", PASSWORD, false)
        .await
        .unwrap();
    let alice = Browser::new(&s);
    let (_, challenge) = pkce_pair();
    let page = alice.go(&authorize_url(&c, "read", &challenge, "")).await;
    let consent = alice.login(page, "alice", PASSWORD).await;
    let html = consent.text().await.unwrap();
    let request = hidden(&html, "request");

    let mallory = Browser::new(&s);
    let page = mallory.go("/login").await;
    mallory.login(page, "mallory", PASSWORD).await;
    let login_page = mallory.go("/account").await.text().await.unwrap();
    let res = mallory
        .submit(
            &login_page,
            "/consent",
            &[("request", &request), ("decision", "deny")],
        )
        .await;
    assert_eq!(res.status(), 400);

    // Alice's request still stands.
    let res = alice
        .submit(
            &html,
            "/consent",
            &[("request", &request), ("decision", "approve")],
        )
        .await;
    assert!(params_of(&location(&res)).contains_key("code"));
}
