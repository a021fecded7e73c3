//! Who may hold which scope, and who may manage what: the policy in core,
//! driven over the admin API and the console on both stores, and a
//! regression test for each bypass the security review found.

use portcullis_core::api_keys::ApiKeySpec;
use portcullis_core::model::{Consent, GrantPolicy, Owner};
use portcullis_core::registry::{ClientSpec, ScopeSpec};
use portcullis_protocol::{ClientId, GrantType, RedirectUri, ScopeSet, UserId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Browser, TestServer, assert_oauth_error, location};

const PASSWORD: &str = "long enough pw";

/// The world every cell of a matrix starts from: an administrator, a
/// developer and another developer; a self-service scope, a restricted
/// one and a resource permission.
struct World {
    root: UserId,
    dev: UserId,
    other: UserId,
}

async fn world(s: &TestServer) -> World {
    let op = s.server().operator();
    let mut ids = Vec::new();
    for (name, admin) in [("root", true), ("dev", false), ("other", false)] {
        ids.push(op.create_user(name, PASSWORD, admin).await.unwrap().id);
    }
    s.define_scope("orders:read", false).await;
    op.define_scope(ScopeSpec::new("payments:write", "Move money"))
        .await
        .unwrap();
    s.define_scope("ADDON_USER_APPROVED", true).await;
    let [root, dev, other] = ids.try_into().unwrap();
    World { root, dev, other }
}

async fn client_of(s: &TestServer, owner: Option<&UserId>) -> ClientId {
    s.server()
        .operator()
        .register_client(ClientSpec {
            name: "fixture".into(),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: ScopeSet::parse("orders:read").unwrap(),
            default_scopes: None,
            redirect_uris: Vec::<RedirectUri>::new(),
            public: false,
            token_lifetime: None,
            require_pkce: true,
            owner: owner.cloned(),
            resources: Vec::new(),
            oidc: Default::default(),
        })
        .await
        .unwrap()
        .client
        .id
}

async fn key_of(s: &TestServer, owner: Owner, scope: &str) -> (String, String) {
    let created = s
        .server()
        .operator()
        .create_api_key(ApiKeySpec {
            owner,
            name: "fixture".into(),
            scopes: ScopeSet::parse(scope).unwrap(),
            expires_in_days: None,
        })
        .await
        .unwrap();
    (created.record.id, created.key.expose().to_owned())
}

async fn consent_of(s: &TestServer, user: &UserId, client: &ClientId) -> String {
    s.server()
        .store()
        .upsert_consent(&Consent {
            id: format!("consent-{}", client.as_str()),
            user_id: user.clone(),
            client_id: client.clone(),
            scopes: ScopeSet::parse("orders:read").unwrap(),
            created_at: 1,
            updated_at: 1,
            revoked_at: None,
        })
        .await
        .unwrap()
        .id
}

async fn call(
    s: &TestServer,
    key: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s
        .http
        .request(method, s.url(&format!("/admin/api/v1{path}")));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// One request of the matrix, built afresh for each actor from new
/// fixtures, so no cell sees another's changes.
struct Row {
    what: &'static str,
    /// Statuses for: admin key, developer key, client-owned key, anonymous.
    expect: [u16; 4],
}

fn rows() -> Vec<Row> {
    let r = |what, expect| Row { what, expect };
    vec![
        r("list clients", [200, 200, 403, 401]),
        r("register with a self-service scope", [201, 201, 403, 401]),
        r("register with a restricted scope", [201, 403, 403, 401]),
        r("register with portcullis:admin", [201, 403, 403, 401]),
        r("read own client", [200, 200, 403, 401]),
        r("read another's client", [200, 404, 403, 401]),
        r("read the operator's client", [200, 404, 403, 401]),
        r("add a restricted scope to own client", [200, 403, 403, 401]),
        r("rename another's client", [200, 404, 403, 401]),
        r("rotate another's secret", [200, 404, 403, 401]),
        r("delete another's client", [204, 404, 403, 401]),
        r("delete own client", [204, 204, 403, 401]),
        r("list keys", [200, 200, 403, 401]),
        r("create own key, self-service scope", [201, 201, 403, 401]),
        r("create own key, restricted scope", [201, 403, 403, 401]),
        r("create a key for another user", [201, 403, 403, 401]),
        r("create a key for own client", [201, 201, 403, 401]),
        r("create a key for another's client", [201, 403, 403, 401]),
        r(
            "create a key with a user-approved permission",
            [422, 422, 403, 401],
        ),
        r("revoke another's key", [204, 404, 403, 401]),
        r("revoke own key", [204, 204, 403, 401]),
        r("list users", [200, 403, 403, 401]),
        r("create a user", [201, 403, 403, 401]),
        r("read another user", [200, 404, 403, 401]),
        r("disable another user", [200, 403, 403, 401]),
        r("list scopes", [200, 200, 200, 401]),
        r("define a scope", [201, 403, 403, 401]),
        r("list signing keys", [200, 403, 403, 401]),
        r("rotate the signing key", [201, 403, 403, 401]),
        r("list another's consents", [200, 404, 403, 401]),
        r("revoke another's consent", [204, 404, 403, 401]),
        r("revoke own consent", [204, 204, 403, 401]),
    ]
}

/// Runs `row` as `key`, on fixtures made for this cell alone.
async fn run_admin(s: &TestServer, w: &World, row: &Row, key: Option<&str>, n: usize) -> u16 {
    let dev_client = client_of(s, Some(&w.dev)).await;
    let other_client = client_of(s, Some(&w.other)).await;
    let op_client = client_of(s, None).await;
    let (other_key, _) = key_of(s, Owner::User(w.other.clone()), "orders:read").await;
    let (dev_key, _) = key_of(s, Owner::User(w.dev.clone()), "orders:read").await;
    let new_client = |scope: &str| json!({"name": "made", "grant_types": ["client_credentials"], "scope": scope});
    let new_key = |scope: &str, owner: Option<Value>| {
        let mut v = json!({"name": "made", "scope": scope});
        if let Some(o) = owner {
            v["owner"] = o;
        }
        v
    };
    let (m, path, body) = match row.what {
        "list clients" => (Method::GET, "/clients".to_owned(), None),
        "register with a self-service scope" => (
            Method::POST,
            "/clients".into(),
            Some(new_client("orders:read")),
        ),
        "register with a restricted scope" => (
            Method::POST,
            "/clients".into(),
            Some(new_client("orders:read payments:write")),
        ),
        "register with portcullis:admin" => (
            Method::POST,
            "/clients".into(),
            Some(new_client("portcullis:admin")),
        ),
        "read own client" => (Method::GET, format!("/clients/{dev_client}"), None),
        "read another's client" => (Method::GET, format!("/clients/{other_client}"), None),
        "read the operator's client" => (Method::GET, format!("/clients/{op_client}"), None),
        "add a restricted scope to own client" => (
            Method::PATCH,
            format!("/clients/{dev_client}"),
            Some(json!({"scope": "orders:read payments:write"})),
        ),
        "rename another's client" => (
            Method::PATCH,
            format!("/clients/{other_client}"),
            Some(json!({"name": "mine now"})),
        ),
        "rotate another's secret" => (
            Method::POST,
            format!("/clients/{other_client}/rotate-secret"),
            None,
        ),
        "delete another's client" => (Method::DELETE, format!("/clients/{other_client}"), None),
        "delete own client" => (Method::DELETE, format!("/clients/{dev_client}"), None),
        "list keys" => (Method::GET, "/api-keys".into(), None),
        "create own key, self-service scope" => (
            Method::POST,
            "/api-keys".into(),
            Some(new_key(
                "orders:read",
                Some(json!({"kind": "user", "id": w.dev})),
            )),
        ),
        "create own key, restricted scope" => (
            Method::POST,
            "/api-keys".into(),
            Some(new_key(
                "payments:write",
                Some(json!({"kind": "user", "id": w.dev})),
            )),
        ),
        "create a key for another user" => (
            Method::POST,
            "/api-keys".into(),
            Some(new_key(
                "orders:read",
                Some(json!({"kind": "user", "id": w.other})),
            )),
        ),
        "create a key for own client" => (
            Method::POST,
            "/api-keys".into(),
            Some(new_key(
                "orders:read",
                Some(json!({"kind": "client", "id": dev_client})),
            )),
        ),
        "create a key for another's client" => (
            Method::POST,
            "/api-keys".into(),
            Some(new_key(
                "orders:read",
                Some(json!({"kind": "client", "id": other_client})),
            )),
        ),
        "create a key with a user-approved permission" => (
            Method::POST,
            "/api-keys".into(),
            Some(new_key(
                "ADDON_USER_APPROVED__VICTIMSHOP",
                Some(json!({"kind": "user", "id": w.dev})),
            )),
        ),
        "revoke another's key" => (Method::DELETE, format!("/api-keys/{other_key}"), None),
        "revoke own key" => (Method::DELETE, format!("/api-keys/{dev_key}"), None),
        "list users" => (Method::GET, "/users".into(), None),
        "create a user" => (
            Method::POST,
            "/users".into(),
            Some(json!({"username": format!("made{n}"), "password": PASSWORD})),
        ),
        "read another user" => (Method::GET, format!("/users/{}", w.other), None),
        "disable another user" => (
            Method::PATCH,
            format!("/users/{}", w.root),
            Some(json!({"disabled": false})),
        ),
        "list scopes" => (Method::GET, "/scopes".into(), None),
        "define a scope" => (
            Method::POST,
            "/scopes".into(),
            Some(
                json!({"name": format!("made{n}"), "description": "Made", "grant_policy": "self-service"}),
            ),
        ),
        "list signing keys" => (Method::GET, "/signing-keys".into(), None),
        "rotate the signing key" => (Method::POST, "/signing-keys/rotate".into(), Some(json!({}))),
        "list another's consents" => (Method::GET, "/consents?username=other".into(), None),
        "revoke another's consent" => {
            let id = consent_of(s, &w.other, &other_client).await;
            (Method::DELETE, format!("/consents/{id}"), None)
        }
        "revoke own consent" => {
            let id = consent_of(s, &w.dev, &dev_client).await;
            (Method::DELETE, format!("/consents/{id}"), None)
        }
        other => panic!("no request for row `{other}`"),
    };
    call(s, key, m, &path, body).await.0
}

async fn admin_matrix(s: &TestServer) {
    let w = world(s).await;
    let (_, admin) = key_of(s, Owner::User(w.root.clone()), "portcullis:admin").await;
    let (_, dev) = key_of(s, Owner::User(w.dev.clone()), "portcullis:admin").await;
    let machine = client_of(s, None).await;
    let (_, machine) = key_of(s, Owner::Client(machine), "portcullis:admin").await;
    let actors = [
        ("admin", Some(admin.as_str())),
        ("developer", Some(dev.as_str())),
        ("client-owned key", Some(machine.as_str())),
        ("anonymous", None),
    ];
    let mut n = 0;
    for row in rows() {
        for ((name, key), want) in actors.iter().zip(row.expect) {
            n += 1;
            let got = run_admin(s, &w, &row, *key, n).await;
            assert_eq!(got, want, "{} as {name}", row.what);
        }
    }
}

#[tokio::test]
async fn the_policy_matrix_over_the_admin_api_on_sqlite() {
    admin_matrix(&TestServer::start().await).await;
}

#[tokio::test]
async fn the_policy_matrix_over_the_admin_api_on_postgres() {
    let Some(url) = crate::postgres::fresh_database().await else {
        return;
    };
    admin_matrix(&crate::postgres::instance(&url).await).await;
}

async fn sign_in(s: &TestServer, username: &str) -> Browser {
    let b = Browser::new(s);
    let res = b.go("/login?next=/console").await;
    let html = res.text().await.unwrap();
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
    assert_eq!(location(&res), "/console", "{username} signs in");
    b
}

/// The console rows: (what, statuses for admin, developer).
const CONSOLE_ROWS: &[(&str, [u16; 2])] = &[
    ("register with a self-service scope", [200, 200]),
    ("register with a restricted scope", [200, 403]),
    ("create a key with a restricted scope", [200, 403]),
    ("create a key with a user-approved permission", [400, 400]),
    ("confirm deleting another's client", [200, 404]),
    ("delete another's client", [303, 404]),
    ("rotate another's secret", [200, 404]),
    ("revoke another's key", [303, 404]),
    ("create a user", [303, 403]),
    ("disable another user", [303, 403]),
    ("define a scope", [303, 403]),
];

async fn run_console(s: &TestServer, w: &World, b: &Browser, what: &str, n: usize) -> u16 {
    let other_client = client_of(s, Some(&w.other)).await;
    let (other_key, _) = key_of(s, Owner::User(w.other.clone()), "orders:read").await;
    let page = b.get("/console").await.text().await.unwrap();
    let name = format!("made{n}");
    let other_client = other_client.to_string();
    let other_id = w.other.to_string();
    let (action, fields): (&str, Vec<(&str, &str)>) = match what {
        "register with a self-service scope" => (
            "/console/clients",
            vec![
                ("name", "made"),
                ("grant_type", "client_credentials"),
                ("scope", "orders:read"),
            ],
        ),
        "register with a restricted scope" => (
            "/console/clients",
            vec![
                ("name", "made"),
                ("grant_type", "client_credentials"),
                ("scope", "orders:read payments:write"),
            ],
        ),
        "create a key with a restricted scope" => (
            "/console/keys",
            vec![("name", "made"), ("scope", "payments:write")],
        ),
        "create a key with a user-approved permission" => (
            "/console/keys",
            vec![
                ("name", "made"),
                ("scope", "ADDON_USER_APPROVED__VICTIMSHOP"),
            ],
        ),
        "confirm deleting another's client" => {
            let path = format!("/console/confirm?action=delete-client&id={other_client}");
            return b.get(&path).await.status().as_u16();
        }
        "delete another's client" => ("/console/clients/delete", vec![("id", &other_client)]),
        "rotate another's secret" => ("/console/clients/rotate", vec![("id", &other_client)]),
        "revoke another's key" => ("/console/keys/revoke", vec![("id", &other_key)]),
        "create a user" => (
            "/console/users",
            vec![("username", &name), ("password", PASSWORD)],
        ),
        "disable another user" => ("/console/users/disable", vec![("id", &other_id)]),
        "define a scope" => (
            "/console/scopes",
            vec![
                ("name", &name),
                ("description", "Made"),
                ("self_service", "1"),
            ],
        ),
        other => panic!("no form for row `{other}`"),
    };
    b.submit(&page, action, &fields).await.status().as_u16()
}

async fn console_matrix(s: &TestServer) {
    let w = world(s).await;
    let admin = sign_in(s, "root").await;
    let dev = sign_in(s, "dev").await;
    let mut n = 0;
    for (what, expect) in CONSOLE_ROWS {
        for ((name, b), want) in [("admin", &admin), ("developer", &dev)].iter().zip(expect) {
            n += 1;
            let got = run_console(s, &w, b, what, n).await;
            assert_eq!(got, *want, "{what} as {name} in the console");
        }
    }
    // Anonymous: no session, so every console page and form sends the
    // browser to sign in, and no form does anything.
    let anon = Browser::new(s);
    let res = anon.get("/console").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=/console");
    let login = anon.go("/login").await.text().await.unwrap();
    let before = s.server().store().list_clients().await.unwrap().len();
    let res = anon
        .submit(
            &login,
            "/console/clients",
            &[("name", "anon"), ("grant_type", "client_credentials")],
        )
        .await;
    assert!(
        res.status() == 303 || res.status() == 403,
        "{}",
        res.status()
    );
    assert_eq!(
        s.server().store().list_clients().await.unwrap().len(),
        before
    );
}

#[tokio::test]
async fn the_policy_matrix_over_the_console_on_sqlite() {
    console_matrix(&TestServer::start().await).await;
}

#[tokio::test]
async fn the_policy_matrix_over_the_console_on_postgres() {
    let Some(url) = crate::postgres::fresh_database().await else {
        return;
    };
    console_matrix(&crate::postgres::instance(&url).await).await;
}

// Regressions: each bypass of the review, as the attacker tried it.

#[tokio::test]
async fn a_developer_cannot_give_a_client_restricted_or_admin_scopes() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let (_, dev) = key_of(&s, Owner::User(w.dev.clone()), "portcullis:admin").await;
    let body = json!({
        "grant_types": ["client_credentials"],
        "name": "evil",
        "scope": "ADDON_USER_APPROVED payments:write portcullis:admin",
    });
    let (st, problem) = call(&s, Some(&dev), Method::POST, "/clients", Some(body)).await;
    assert_eq!(st, 403, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("`payments:write`"),
        "the refusal names the scope: {problem}"
    );
    let (st, problem) = call(
        &s,
        Some(&dev),
        Method::POST,
        "/api-keys",
        Some(json!({"name": "evil", "scope": "portcullis:admin"})),
    )
    .await;
    assert_eq!(st, 403, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("`portcullis:admin`")
    );
    // An administrator may mark a scope self-service, except portcullis:*.
    let (_, admin) = key_of(&s, Owner::User(w.root.clone()), "portcullis:admin").await;
    let (st, v) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/scopes",
        Some(
            json!({"name": "portcullis:admin", "description": "x", "grant_policy": "self-service"}),
        ),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(v["grant_policy"], "restricted");
    let (st, _) = call(
        &s,
        Some(&dev),
        Method::POST,
        "/api-keys",
        Some(json!({"name": "evil", "scope": "portcullis:admin"})),
    )
    .await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn existing_grants_keep_working_but_changes_are_checked() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    // The operator once allowed a restricted scope on the developer's client.
    let c = s
        .client_with("orders:read payments:write", |spec| {
            spec.owner = Some(w.dev.clone())
        })
        .await;
    assert!(!s.token(&c, Some("payments:write")).await.is_empty());
    let (_, dev) = key_of(&s, Owner::User(w.dev.clone()), "portcullis:admin").await;
    // Renaming, or keeping the scopes it has, is fine...
    let (st, _) = call(
        &s,
        Some(&dev),
        Method::PATCH,
        &format!("/clients/{}", c.id),
        Some(json!({"name": "renamed", "scope": "payments:write"})),
    )
    .await;
    assert_eq!(st, 200);
    // ...but it cannot add back what it dropped, nor add another.
    let (st, _) = call(
        &s,
        Some(&dev),
        Method::PATCH,
        &format!("/clients/{}", c.id),
        Some(json!({"scope": "payments:write portcullis:admin"})),
    )
    .await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn client_credentials_never_carry_user_approved_permissions() {
    let (url, seen) = crate::authcode::ownership_hook().await;
    let s = TestServer::start_with(|f| {
        f.resource_hook_url = Some(url);
        f.cache_ttl_ms = Some(0);
    })
    .await;
    s.define_scope("ADDON_USER_APPROVED", true).await;
    let c = s.client("ADDON_USER_APPROVED").await;
    for scope in [
        "ADDON_USER_APPROVED__VICTIMSHOP",
        "ADDON_USER_APPROVED__AZTH74V2",
    ] {
        let res = s
            .post_form(
                "/oauth/token",
                &c,
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        let d = assert_oauth_error(res, 400, "invalid_scope").await;
        assert!(d.contains("user-approved"), "{d}");
    }
    assert!(seen.lock().unwrap().is_empty(), "no grant, so no hook call");

    // Marked machine-grantable, the hook decides with the client as actor.
    s.server()
        .operator()
        .define_scope(ScopeSpec {
            requires_resource: true,
            machine_grantable: true,
            grant_policy: GrantPolicy::SelfService,
            ..ScopeSpec::new("ADDON_USER_APPROVED", "Approve add-ons")
        })
        .await
        .unwrap();
    let res = s
        .post_form(
            "/oauth/token",
            &c,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "ADDON_USER_APPROVED__VICTIMSHOP"),
            ],
        )
        .await;
    assert_oauth_error(res, 400, "invalid_scope").await;
    let token = s.token(&c, Some("ADDON_USER_APPROVED__AZTH74V2")).await;
    assert!(!token.is_empty());
    let asked = seen.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[1]["actor"], "client");
    assert_eq!(asked[1]["client_id"], c.id.as_str());
    assert_eq!(asked[1]["resource"], "AZTH74V2");
}

#[tokio::test]
async fn api_keys_never_carry_user_approved_permissions() {
    let (url, seen) = crate::authcode::ownership_hook().await;
    let s = TestServer::start_with(|f| f.resource_hook_url = Some(url)).await;
    let w = world(&s).await;
    let (_, admin) = key_of(&s, Owner::User(w.root.clone()), "portcullis:admin").await;
    let body =
        |scope: &str| json!({"name": "k", "scope": scope, "owner": {"kind": "user", "id": w.dev}});
    let (st, p) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/api-keys",
        Some(body("ADDON_USER_APPROVED__AZTH74V2")),
    )
    .await;
    assert_eq!(st, 422, "even for an administrator: {p}");
    assert!(
        p["detail"].as_str().unwrap().contains("user-approved"),
        "{p}"
    );

    s.server()
        .operator()
        .define_scope(ScopeSpec {
            requires_resource: true,
            machine_grantable: true,
            ..ScopeSpec::new("ADDON_USER_APPROVED", "Approve add-ons")
        })
        .await
        .unwrap();
    let (st, p) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/api-keys",
        Some(body("ADDON_USER_APPROVED")),
    )
    .await;
    assert_eq!(st, 422, "a key names its resource: {p}");
    let (st, _) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/api-keys",
        Some(body("ADDON_USER_APPROVED__VICTIMSHOP")),
    )
    .await;
    assert_eq!(st, 403, "the hook said no");
    let (st, _) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/api-keys",
        Some(body("ADDON_USER_APPROVED__AZTH74V2")),
    )
    .await;
    assert_eq!(st, 201);
    let asked = seen.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[1]["actor"], "user");
    assert_eq!(asked[1]["user_id"], w.dev.as_str());
    assert_eq!(asked[1]["client_id"], Value::Null);
}

#[tokio::test]
async fn key_owners_are_typed_and_usernames_cannot_pose_as_client_ids() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let victim = client_of(&s, Some(&w.other)).await;
    let (_, admin) = key_of(&s, Owner::User(w.root.clone()), "portcullis:admin").await;
    // The review's attack: a user named like a client id.
    let (st, p) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/users",
        Some(json!({"username": victim.as_str(), "password": PASSWORD})),
    )
    .await;
    assert_eq!(st, 422, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("looks like a client id")
    );
    // A developer's key is theirs, whatever their name; the owner is an
    // object, never a string to resolve.
    let (_, dev) = key_of(&s, Owner::User(w.dev.clone()), "portcullis:admin").await;
    let (st, v) = call(
        &s,
        Some(&dev),
        Method::POST,
        "/api-keys",
        Some(json!({"name": "k", "scope": "orders:read"})),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(v["api_key"]["owner"], json!({"kind": "user", "id": w.dev}));
    let (st, _) = call(
        &s,
        Some(&dev),
        Method::POST,
        "/api-keys",
        Some(json!({"name": "k", "scope": "orders:read", "owner": victim.as_str()})),
    )
    .await;
    assert_eq!(st, 422, "a bare string is no owner");
}

#[tokio::test]
async fn scopes_are_capped_per_request_client_and_key() {
    let s = TestServer::start_with(|f| f.max_scopes = Some(10)).await;
    s.define_scope("ADDON_USER_APPROVED", true).await;
    let many = |n: usize| {
        (0..n)
            .map(|i| format!("ADDON_USER_APPROVED__R{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // At the authorization endpoint: refused before any consent page.
    let c = crate::authcode::code_client(&s, |spec| {
        spec.scopes = ScopeSet::parse("ADDON_USER_APPROVED").unwrap();
    })
    .await;
    let b = Browser::new(&s);
    let (_, challenge) = crate::support::pkce_pair();
    let scope = many(11);
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=s&code_challenge={challenge}&code_challenge_method=S256",
        c.id,
        urlencoding(crate::authcode::CB),
        urlencoding(&scope),
    );
    let res = b.get(&url).await;
    assert_eq!(res.status(), 303);
    let back = location(&res);
    assert!(back.contains("error=invalid_scope"), "{back}");
    // On a client and on a key.
    let op = s.server().operator();
    let e = op
        .register_client(ClientSpec {
            name: "big".into(),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: ScopeSet::parse(&many(11)).unwrap(),
            default_scopes: None,
            redirect_uris: vec![],
            public: false,
            token_lifetime: None,
            require_pkce: true,
            owner: None,
            resources: Vec::new(),
            oidc: Default::default(),
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at most 10"), "{e}");
    // At the token endpoint.
    s.define_scope("read", false).await;
    let cc = s.client("read").await;
    let res = s
        .post_form(
            "/oauth/token",
            &cc,
            &[("grant_type", "client_credentials"), ("scope", &many(11))],
        )
        .await;
    let d = assert_oauth_error(res, 400, "invalid_scope").await;
    assert!(d.contains("at most 10"), "{d}");
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
