//! The developer console at `/console`: clients and API keys for their
//! owners, users and scopes for administrators; secrets shown once,
//! destructive actions confirmed, every action CSRF-checked and
//! ownership-checked on the server.

use portcullis_protocol::{ClientId, Secret};

use crate::support::{Browser, TestClient, TestServer, hidden, location};

const PASSWORD: &str = "correct horse battery";

/// Signs `username` (created here) in through `/console`, the way a browser
/// does: the console sends it to the login page, which sends it back.
async fn sign_in(s: &TestServer, username: &str, admin: bool) -> Browser {
    s.server()
        .operator()
        .create_user(username, PASSWORD, admin)
        .await
        .unwrap();
    let b = Browser::new(s);
    let res = b.get("/console").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=/console");
    let res = b.go("/login?next=/console").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert_eq!(unescape(&hidden(&html, "next")), "/console");
    let res = b
        .submit(
            &html,
            "/login",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("next", "/console"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/console");
    b
}

/// A page's text with minijinja's HTML escapes undone, to compare with
/// what the browser shows.
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The console page as it is now.
async fn console(b: &Browser) -> String {
    page_at(b, "/console").await
}

async fn page_at(b: &Browser, path: &str) -> String {
    let res = b.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    unescape(&res.text().await.unwrap())
}

/// The `value` of the input with `id` (the revealed secret, client id).
fn input_value(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let end = rest.find('>')?;
    let tag = &rest[..end];
    let start = tag.find("value=\"")? + "value=\"".len();
    Some(tag[start..].split('"').next()?.to_owned())
}

/// Submits the new-client form; returns status and page.
async fn create_client(b: &Browser, fields: &[(&str, &str)]) -> (u16, String) {
    let page = console(b).await;
    let res = b.submit(&page, "/console/clients", fields).await;
    let status = res.status().as_u16();
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    (status, unescape(&res.text().await.unwrap()))
}

/// Creates a client_credentials client for `orders:read`; returns it.
async fn new_client(b: &Browser, name: &str) -> TestClient {
    let (status, html) = create_client(
        b,
        &[
            ("name", name),
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
            ("token_lifetime", "600"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Select and copy it now: it will not be shown again"),
        "{html}"
    );
    let id = input_value(&html, "reveal-client-id").expect("the client id is shown");
    let secret = input_value(&html, "secret").expect("the secret is shown");
    TestClient {
        id: ClientId::new(id),
        secret: Secret::new(secret),
    }
}

/// Walks the confirmation page of `action` on `id` and POSTs its form.
async fn confirmed(b: &Browser, action: &str, id: &str, endpoint: &str) -> reqwest::Response {
    let res = b
        .get(&format!("/console/confirm?action={action}&id={id}"))
        .await;
    assert_eq!(res.status(), 200, "confirmation page for {action}");
    let html = unescape(&res.text().await.unwrap());
    assert!(html.contains("Are you sure?"), "{html}");
    assert!(html.contains(&format!("action=\"{endpoint}\"")), "{html}");
    assert_eq!(hidden(&html, "id"), id);
    b.submit(&html, endpoint, &[("id", id)]).await
}

async fn token_status(s: &TestServer, c: &TestClient) -> u16 {
    s.post_form(
        "/oauth/token",
        c,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
        ],
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test]
async fn console_requires_sign_in() {
    let s = TestServer::start().await;
    let b = Browser::new(&s);
    for path in ["/console", "/console/confirm?action=delete-client&id=x"] {
        let res = b.get(path).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(location(&res), "/login?next=/console", "{path}");
    }
    // A signed-out POST with a valid CSRF token goes to the login page too.
    let login = b.go("/login?next=/console").await.text().await.unwrap();
    let res = b.submit(&login, "/console/clients", &[("name", "x")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=/console");
    // Actions are POST only.
    assert_eq!(b.get("/console/clients/delete").await.status(), 405);
}

#[tokio::test]
async fn console_client_lifecycle_secret_shown_once_rotate_delete() {
    let s = TestServer::start().await;
    s.define_scope("orders:read", false).await;
    let b = sign_in(&s, "dev", false).await;

    let page = console(&b).await;
    assert!(page.contains("<html lang=\"en\">"));
    assert!(page.contains("No clients yet. Create one below"), "{page}");
    assert!(page.contains("No API keys yet."), "{page}");
    assert!(!page.contains("Create a user"), "no admin sections");

    let client = new_client(&b, "Order Dashboard").await;
    let stored = s
        .server()
        .store()
        .find_client(&client.id)
        .await
        .unwrap()
        .unwrap();
    let dev = s.server().find_user_by_name("dev").await.unwrap();
    assert_eq!(stored.owner.as_ref(), Some(&dev.id));
    assert_eq!(stored.token_lifetime, Some(600));

    // A reload lists the client but never shows the secret again.
    let page = console(&b).await;
    assert!(page.contains("Order Dashboard"));
    assert!(page.contains(client.id.as_str()));
    assert!(!page.contains(client.secret.expose()), "secret shown again");
    assert!(!page.contains("id=\"secret\""));
    assert_eq!(token_status(&s, &client).await, 200);

    // Rotate, after confirmation: the new secret works, the old does not.
    let res = confirmed(
        &b,
        "rotate-secret",
        client.id.as_str(),
        "/console/clients/rotate",
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = unescape(&res.text().await.unwrap());
    assert!(html.contains("The previous secret has stopped working"));
    let rotated = TestClient {
        id: client.id.clone(),
        secret: Secret::new(input_value(&html, "secret").expect("the new secret")),
    };
    assert_ne!(rotated.secret.expose(), client.secret.expose());
    assert_eq!(token_status(&s, &rotated).await, 200, "new secret works");
    assert_eq!(token_status(&s, &client).await, 401, "old secret refused");
    assert!(!console(&b).await.contains(rotated.secret.expose()));

    // Delete, after confirmation.
    let res = confirmed(
        &b,
        "delete-client",
        client.id.as_str(),
        "/console/clients/delete",
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/console?done=client-deleted");
    assert!(
        s.server()
            .store()
            .find_client(&client.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(token_status(&s, &rotated).await, 401);
    let page = page_at(&b, "/console?done=client-deleted").await;
    assert!(page.contains("The client was deleted"));
    assert!(page.contains("No clients yet."));
}

#[tokio::test]
async fn console_api_key_create_and_revoke() {
    let s = TestServer::start().await;
    let rs = s.client("orders:read").await;
    let b = sign_in(&s, "dev", false).await;

    let page = console(&b).await;
    let res = b
        .submit(
            &page,
            "/console/keys",
            &[("name", "nightly export"), ("scope", "orders:read")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let key = input_value(&html, "secret").expect("the key is shown");
    assert!(key.starts_with("pcs_"), "{key}");
    assert!(html.contains("Select and copy it now: it will not be shown again"));
    let id = key[4..20].to_owned();

    let record = s.server().store().find_api_key(&id).await.unwrap().unwrap();
    let dev = s.server().find_user_by_name("dev").await.unwrap();
    assert_eq!(record.owner, portcullis_core::model::Owner::User(dev.id));

    let info = s.introspect(&rs, &key).await;
    assert_eq!(info["active"], true, "{info}");

    let page = console(&b).await;
    assert!(page.contains("nightly export"));
    assert!(page.contains(&format!("pcs_{id}_")));
    assert!(!page.contains(&key), "key shown again");

    let res = confirmed(&b, "revoke-key", &id, "/console/keys/revoke").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/console?done=key-revoked");
    let info = s.introspect(&rs, &key).await;
    assert_eq!(info["active"], false, "{info}");
    let page = page_at(&b, "/console?done=key-revoked").await;
    assert!(page.contains("The API key was revoked"));
    assert!(page.contains(">revoked<"), "listed as revoked");
    assert!(!page.contains(&format!("action=revoke-key&id={id}")));
}

#[tokio::test]
async fn console_developers_cannot_touch_each_others_clients_or_keys() {
    let s = TestServer::start().await;
    s.define_scope("orders:read", false).await;
    let alice = sign_in(&s, "alice", false).await;
    let mallory = sign_in(&s, "mallory", false).await;

    let client = new_client(&alice, "Alice's app").await;
    let page = console(&alice).await;
    let res = alice
        .submit(&page, "/console/keys", &[("name", "alice key")])
        .await;
    let key = input_value(&res.text().await.unwrap(), "secret").unwrap();
    let key_id = key[4..20].to_owned();

    let page = console(&mallory).await;
    assert!(!page.contains(client.id.as_str()));
    assert!(!page.contains("Alice's app"));
    assert!(!page.contains(&key_id));
    assert!(page.contains("No clients yet."));

    for (action, id) in [
        ("delete-client", client.id.as_str()),
        ("rotate-secret", client.id.as_str()),
        ("revoke-key", key_id.as_str()),
    ] {
        let res = mallory
            .get(&format!("/console/confirm?action={action}&id={id}"))
            .await;
        assert_eq!(res.status(), 404, "confirm {action}");
    }
    for (endpoint, id) in [
        ("/console/clients/delete", client.id.as_str()),
        ("/console/clients/rotate", client.id.as_str()),
        ("/console/keys/revoke", key_id.as_str()),
    ] {
        let res = mallory.submit(&page, endpoint, &[("id", id)]).await;
        assert_eq!(res.status(), 404, "{endpoint}");
    }
    // Untouched.
    assert_eq!(token_status(&s, &client).await, 200);
    let rs = s.client("orders:read").await;
    assert_eq!(s.introspect(&rs, &key).await["active"], true);
}

#[tokio::test]
async fn console_user_and_scope_management_is_for_admins() {
    let s = TestServer::start().await;
    s.define_scope("orders:read", false).await;
    let dev = sign_in(&s, "dev", false).await;
    let admin = sign_in(&s, "root", true).await;
    let dev_client = new_client(&dev, "Dev app").await;

    // A developer gets 403 on every admin action.
    let page = console(&dev).await;
    assert!(!page.contains("id=\"users\""));
    assert!(!page.contains("id=\"scopes\""));
    let dev_user = s.server().find_user_by_name("dev").await.unwrap();
    let root_user = s.server().find_user_by_name("root").await.unwrap();
    for (endpoint, fields) in [
        (
            "/console/users",
            vec![("username", "eve"), ("password", "long enough pw")],
        ),
        (
            "/console/scopes",
            vec![("name", "admin:all"), ("description", "Everything")],
        ),
        (
            "/console/resources",
            vec![("uri", "https://api.example/mcp"), ("name", "Mine")],
        ),
        (
            "/console/users/disable",
            vec![("id", root_user.id.as_str())],
        ),
        ("/console/users/enable", vec![("id", root_user.id.as_str())]),
    ] {
        let res = dev.submit(&page, endpoint, &fields).await;
        assert_eq!(res.status(), 403, "{endpoint}");
    }
    let res = dev
        .get(&format!(
            "/console/confirm?action=disable-user&id={}",
            root_user.id
        ))
        .await;
    assert_eq!(res.status(), 403);
    assert!(s.server().find_user_by_name("eve").await.is_err());
    assert!(
        s.server()
            .store()
            .list_scopes()
            .await
            .unwrap()
            .iter()
            .all(|d| d.name != "admin:all")
    );

    // An administrator sees everyone's clients, and manages users and scopes.
    let page = console(&admin).await;
    assert!(page.contains(dev_client.id.as_str()));
    assert!(page.contains("id=\"users\""));
    assert!(page.contains("Create a user"));
    let res = admin
        .submit(
            &page,
            "/console/users",
            &[("username", "carol"), ("password", "long enough pw")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let carol = s.server().find_user_by_name("carol").await.unwrap();
    assert!(!carol.admin && !carol.disabled);
    let res = admin
        .submit(
            &page,
            "/console/scopes",
            &[
                ("name", "invoices:write"),
                ("description", "Write your invoices"),
                ("requires_resource", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let defs = s.server().store().list_scopes().await.unwrap();
    let def = defs.iter().find(|d| d.name == "invoices:write").unwrap();
    assert_eq!(def.description, "Write your invoices");
    assert!(def.requires_resource);
    let page = console(&admin).await;
    assert!(page.contains("carol"));
    assert!(page.contains("Write your invoices"));

    // Resources (RFC 8707): defined with their scopes; a bad identifier is
    // refused with the domain's message and the form kept.
    let res = admin
        .submit(
            &page,
            "/console/resources",
            &[
                ("uri", "https://api.example/mcp"),
                ("name", "Acme MCP"),
                ("scope", "invoices:write"),
                ("restricted", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let all = s.server().store().list_resources().await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].restricted);
    assert_eq!(all[0].scopes.to_string(), "invoices:write");
    let page = console(&admin).await;
    assert!(page.contains("Acme MCP"));
    let res = admin
        .submit(
            &page,
            "/console/resources",
            &[("uri", "https://api.example/#frag"), ("name", "Bad")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("fragment"), "{html}");
    let page = console(&admin).await;

    // A refused user or scope shows the domain's message.
    let res = admin
        .submit(
            &page,
            "/console/users",
            &[("username", "dave"), ("password", "short")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("a password must be 8 to 1024 characters long"));
    assert!(html.contains("value=\"dave\""), "username kept");
    let res = admin
        .submit(
            &page,
            "/console/scopes",
            &[("name", "a__b"), ("description", "x")],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("must not contain `__`"));

    // Disabling goes through a confirmation and signs the user out.
    let res = confirmed(
        &admin,
        "disable-user",
        dev_user.id.as_str(),
        "/console/users/disable",
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(s.server().find_user_by_name("dev").await.unwrap().disabled);
    assert_eq!(dev.get("/console").await.status(), 303, "dev signed out");
    let page = console(&admin).await;
    let res = admin
        .submit(
            &page,
            "/console/users/enable",
            &[("id", dev_user.id.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(!s.server().find_user_by_name("dev").await.unwrap().disabled);
    // An administrator cannot lock themselves out.
    let res = admin
        .submit(
            &page,
            "/console/users/disable",
            &[("id", root_user.id.as_str())],
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn console_forms_need_a_csrf_token() {
    let s = TestServer::start().await;
    s.define_scope("orders:read", false).await;
    let b = sign_in(&s, "dev", false).await;
    let client = new_client(&b, "App").await;
    for (endpoint, fields) in [
        (
            "/console/clients",
            vec![("name", "x"), ("grant_type", "client_credentials")],
        ),
        ("/console/clients/delete", vec![("id", client.id.as_str())]),
        ("/console/clients/rotate", vec![("id", client.id.as_str())]),
        ("/console/keys", vec![("name", "k")]),
    ] {
        let res = b
            .http
            .post(s.url(endpoint))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "no token: {endpoint}");
        let mut forged = fields.clone();
        forged.push(("csrf", "forged-token-value"));
        let res = b
            .http
            .post(s.url(endpoint))
            .form(&forged)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "wrong token: {endpoint}");
    }
    assert_eq!(token_status(&s, &client).await, 200, "client untouched");
    assert_eq!(s.server().store().list_clients().await.unwrap().len(), 1);
}

#[tokio::test]
async fn console_validation_errors_show_the_message_and_keep_the_values() {
    let s = TestServer::start().await;
    s.define_scope("orders:read", false).await;
    let b = sign_in(&s, "dev", false).await;

    let (status, html) = create_client(
        &b,
        &[
            ("name", "My App"),
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
            ("redirect_uris", "https://app.example/cb?from=console"),
            ("scope", "orders:read"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("must not carry a query string"), "{html}");
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("value=\"My App\""), "name kept");
    assert!(
        html.contains("value=\"refresh_token\" checked"),
        "grant kept"
    );
    assert!(html.contains("from=console</textarea>"), "redirect kept");
    assert!(!html.contains("id=\"secret\""));

    let (status, html) = create_client(&b, &[("name", "My App"), ("grant_type", "password")]).await;
    assert_eq!(status, 400);
    assert!(html.contains("unknown grant type `password`"), "{html}");

    // The domain's rules, as the CLI applies them.
    for (fields, expected) in [
        (
            vec![
                ("name", "Public"),
                ("grant_type", "client_credentials"),
                ("public", "1"),
            ],
            "a public client cannot use client_credentials",
        ),
        (
            vec![
                ("name", "No redirect"),
                ("grant_type", "authorization_code"),
            ],
            "need at least one --redirect-uri",
        ),
        (
            vec![
                ("name", "Unknown scope"),
                ("grant_type", "client_credentials"),
                ("scope", "nope:never"),
            ],
            "nope:never",
        ),
        (
            vec![
                ("name", "Lifetime"),
                ("grant_type", "client_credentials"),
                ("token_lifetime", "5"),
            ],
            "token lifetime must be between 60 and",
        ),
        (vec![("name", "No grants")], "at least one grant type"),
    ] {
        let (status, html) = create_client(&b, &fields).await;
        assert_eq!(status, 400, "{fields:?}");
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(s.server().store().list_clients().await.unwrap().is_empty());

    let page = console(&b).await;
    let res = b
        .submit(
            &page,
            "/console/keys",
            &[("name", "k"), ("expires_in_days", "9999")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("1 to 3650 days"), "{html}");
    assert!(html.contains("value=\"9999\""));
}

/// In headless Chromium: sign in, create a client and see its secret once,
/// create and revoke an API key. Skipped, with the reason printed, unless
/// `/usr/bin/chromium` and `/usr/bin/chromedriver` exist. With
/// `PORTCULLIS_SCREENSHOTS=1` it writes `docs/screenshots/console-*.png`.
mod in_chromium {
    use std::time::Duration;

    use fantoccini::{Client, Locator};

    use crate::chrome::in_browser;

    use super::PASSWORD;
    use crate::support::TestServer;

    /// Takes a screenshot when `PORTCULLIS_SCREENSHOTS=1`.
    async fn screenshot(browser: &Client, name: &str) {
        crate::chrome::screenshot(browser, name, true).await;
    }

    async fn heading(browser: &Client, text: &str) {
        browser
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::XPath(&format!("//h1[normalize-space()='{text}']")))
            .await
            .unwrap_or_else(|_| panic!("a page headed {text:?}"));
    }

    async fn click(browser: &Client, xpath: &str) {
        browser
            .find(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|_| panic!("no element at {xpath}"))
            .click()
            .await
            .unwrap();
    }

    async fn fill(browser: &Client, id: &str, text: &str) {
        browser
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|_| panic!("no #{id}"))
            .send_keys(text)
            .await
            .unwrap();
    }

    /// The revealed secret on the page, after checking how it is shown.
    async fn revealed(browser: &Client) -> String {
        let input = browser
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Id("secret"))
            .await
            .expect("the secret is revealed");
        assert!(input.attr("readonly").await.unwrap().is_some());
        let text = browser
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("Select and copy it now: it will not be shown again"),
            "{text}"
        );
        input
            .prop("value")
            .await
            .unwrap()
            .expect("the secret input has a value")
    }

    #[tokio::test]
    async fn console_in_chromium_secret_once_and_key_revocation() {
        in_browser(|browser| async move {
            let s = TestServer::start().await;
            s.server()
                .operator()
                .create_user("dev", PASSWORD, false)
                .await
                .unwrap();
            s.server()
                .operator()
                .define_scope(crate::support::scope_spec(
                    "orders:read",
                    "Read your orders",
                    false,
                ))
                .await
                .unwrap();
            let rs = s.client("orders:read").await;

            browser.goto(&s.url("/console")).await.unwrap();
            heading(&browser, "Sign in").await;
            let at = browser.current_url().await.unwrap();
            assert_eq!(at.path(), "/login", "{at}");
            fill(&browser, "username", "dev").await;
            fill(&browser, "password", PASSWORD).await;
            click(&browser, "//form//button[normalize-space()='Sign in']").await;
            heading(&browser, "Developer console").await;
            assert_eq!(browser.current_url().await.unwrap().path(), "/console");
            assert_eq!(browser.title().await.unwrap(), "Developer console");
            let text = browser
                .find(Locator::Css("main"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(text.contains("No clients yet."), "{text}");

            // Create a client: client_credentials is checked by default.
            fill(&browser, "client-name", "Order Dashboard").await;
            fill(&browser, "client-scope", "orders:read").await;
            click(&browser, "//button[normalize-space()='Create client']").await;
            let secret = revealed(&browser).await;
            assert!(secret.len() >= 32, "{secret}");
            let client_id = browser
                .find(Locator::Id("reveal-client-id"))
                .await
                .unwrap()
                .prop("value")
                .await
                .unwrap()
                .unwrap();
            screenshot(&browser, "console-secret.png").await;

            // Coming back to the console never shows it again.
            browser.goto(&s.url("/console")).await.unwrap();
            heading(&browser, "Developer console").await;
            assert!(browser.find(Locator::Id("secret")).await.is_err());
            let source = browser.source().await.unwrap();
            assert!(!source.contains(&secret), "secret shown again");
            assert!(source.contains(&client_id));
            screenshot(&browser, "console-clients.png").await;

            // Create an API key, then revoke it through the confirmation.
            fill(&browser, "key-name", "nightly export").await;
            fill(&browser, "key-scope", "orders:read").await;
            click(&browser, "//button[normalize-space()='Create API key']").await;
            let key = revealed(&browser).await;
            assert!(key.starts_with("pcs_"), "{key}");
            assert_eq!(s.introspect(&rs, &key).await["active"], true);

            browser.goto(&s.url("/console")).await.unwrap();
            heading(&browser, "Developer console").await;
            assert!(!browser.source().await.unwrap().contains(&key));
            browser
                .find(Locator::Css(
                    "a[href^='/console/confirm?action=revoke-key']",
                ))
                .await
                .expect("a revoke link")
                .click()
                .await
                .unwrap();
            heading(&browser, "Are you sure?").await;
            click(&browser, "//button[normalize-space()='Revoke key']").await;
            browser
                .wait()
                .at_most(Duration::from_secs(30))
                .for_element(Locator::Css("p.notice"))
                .await
                .expect("a notice after revoking");
            assert_eq!(browser.current_url().await.unwrap().path(), "/console");
            assert_eq!(s.introspect(&rs, &key).await["active"], false);
        })
        .await;
    }
}

#[tokio::test]
async fn administrators_see_self_registered_clients_marked() {
    let s = TestServer::start_with(|f| f.registration = Some("open".into())).await;
    let res = s
        .http
        .post(s.url("/oauth/register"))
        .json(&serde_json::json!({
            "client_name": "Agent From Nowhere",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let b = sign_in(&s, "root", true).await;
    let html = console(&b).await;
    let at = html
        .find("Agent From Nowhere")
        .expect("the client is listed");
    let item = &html[at..at + 400];
    assert!(item.contains("self-registered"), "{item}");
    assert!(html.contains("none (registered itself)"));
}

#[tokio::test]
async fn oidc_client_settings_and_profiles_in_the_console_and_the_account_page() {
    let s = TestServer::start().await;
    let b = sign_in(&s, "root", true).await;
    let (status, html) = create_client(
        &b,
        &[
            ("name", "Sign-in app"),
            ("grant_type", "authorization_code"),
            ("redirect_uris", "https://rp.example/cb"),
            ("post_logout_redirect_uris", "https://rp.example/bye\n"),
            ("backchannel_logout_uri", "https://rp.example/bcl"),
            ("backchannel_logout_session_required", "1"),
            ("subject_type", "pairwise"),
            ("id_token_alg", "ES256"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    let id = input_value(&html, "reveal-client-id").unwrap();
    let c = s
        .server()
        .operator()
        .client(&ClientId::new(&id))
        .await
        .unwrap();
    assert_eq!(
        c.oidc.post_logout_redirect_uris[0].as_str(),
        "https://rp.example/bye"
    );
    assert_eq!(
        c.oidc.backchannel_logout_uri.as_ref().unwrap().as_str(),
        "https://rp.example/bcl"
    );
    assert!(c.oidc.backchannel_logout_session_required);
    assert_eq!(c.oidc.sector(), Some("rp.example"));
    assert_eq!(
        c.oidc.id_token_signed_response_alg.map(|a| a.as_str()),
        Some("ES256")
    );
    let page = console(&b).await;
    assert!(page.contains("https://rp.example/bye") && page.contains("pairwise"));

    // A bad setting is the form's error; nothing is created.
    let before = s.server().operator().list_clients().await.unwrap().len();
    let (status, html) = create_client(
        &b,
        &[
            ("name", "Bad"),
            ("grant_type", "authorization_code"),
            ("redirect_uris", "https://rp.example/cb"),
            ("backchannel_logout_uri", "http://rp.example/bcl"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("backchannel_logout_uri"), "{html}");
    assert_eq!(
        s.server().operator().list_clients().await.unwrap().len(),
        before
    );

    // The administrator sets alice's profile and vouches for her email.
    let alice = s
        .server()
        .operator()
        .create_user("alice", PASSWORD, false)
        .await
        .unwrap();
    let page = console(&b).await;
    let res = b
        .submit(
            &page,
            "/console/users/profile",
            &[
                ("id", alice.id.as_str()),
                ("name", "Alice Liddell"),
                ("email", "alice@example.org"),
                ("email_verified", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let p = s.server().operator().user(&alice.id).await.unwrap().profile;
    assert_eq!(p.name.as_deref(), Some("Alice Liddell"));
    assert!(p.email_verified);
    let res = b
        .submit(
            &page,
            "/console/users/profile",
            &[("id", alice.id.as_str()), ("email", "nope")],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        s.server().operator().user(&alice.id).await.unwrap().profile,
        p
    );

    // Alice edits her own on the account page; a new address is unverified.
    let ab = Browser::new(&s);
    let html = ab.go("/account").await.text().await.unwrap();
    let res = ab
        .submit(
            &html,
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = unescape(&page_at(&ab, "/account").await);
    assert!(html.contains("value=\"Alice Liddell\""), "{html}");
    let res = ab
        .submit(
            &html,
            "/account/profile",
            &[
                ("name", "Alice L."),
                ("email", "alice@wonderland.example"),
                ("locale", "en-GB"),
                ("email_verified", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let p = s.server().operator().user(&alice.id).await.unwrap().profile;
    assert_eq!(p.name.as_deref(), Some("Alice L."));
    assert_eq!(p.email.as_deref(), Some("alice@wonderland.example"));
    assert_eq!(p.locale.as_deref(), Some("en-GB"));
    assert!(
        !p.email_verified,
        "a user cannot vouch for their own address"
    );
    // ...and cannot post without the form's CSRF token.
    let res = ab
        .http
        .post(s.url("/account/profile"))
        .form(&[("name", "Mallory")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        s.server()
            .operator()
            .user(&alice.id)
            .await
            .unwrap()
            .profile
            .name
            .as_deref(),
        Some("Alice L.")
    );
}
