//! The admin API: every route, its authorization, validation and paging.

use portcullis_core::api_keys::ApiKeySpec;
use portcullis_protocol::ScopeSet;
use serde_json::{Value, json};

use crate::support::TestServer;

struct Caller {
    key: String,
}

/// An admin API key of a new administrator `root`.
pub async fn admin_key(s: &TestServer) -> String {
    caller(s, "root", true).await.key
}

async fn caller(s: &TestServer, username: &str, admin: bool) -> Caller {
    s.server()
        .operator()
        .create_user(username, "long enough pw", admin)
        .await
        .unwrap();
    let created = s
        .server()
        .operator()
        .create_api_key(ApiKeySpec {
            owner: s.owner(username).await,
            name: "admin api".into(),
            scopes: ScopeSet::parse("portcullis:admin").unwrap(),
            expires_in_days: None,
        })
        .await
        .unwrap();
    Caller {
        key: created.key.expose().to_owned(),
    }
}

async fn call(
    s: &TestServer,
    who: Option<&Caller>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s
        .http
        .request(method, s.url(&format!("/admin/api/v1{path}")));
    if let Some(c) = who {
        req = req.bearer_auth(&c.key);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    if status >= 400 {
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

use reqwest::Method;

#[tokio::test]
async fn clients_are_managed_per_owner() {
    let s = TestServer::start().await;
    s.define_scope("read", false).await;
    let admin = caller(&s, "root", true).await;
    let dev = caller(&s, "dev", false).await;
    let other = caller(&s, "other", false).await;

    let (st, _) = call(&s, None, Method::GET, "/clients", None).await;
    assert_eq!(st, 401);
    let (st, _) = call(
        &s,
        Some(&Caller {
            key: "pcs_bogus".into(),
        }),
        Method::GET,
        "/clients",
        None,
    )
    .await;
    assert_eq!(st, 401);

    let new = json!({"name": "Dev app", "grant_types": ["client_credentials"], "scope": "read"});
    let (st, created) = call(&s, Some(&dev), Method::POST, "/clients", Some(new)).await;
    assert_eq!(st, 201);
    let id = created["client"]["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43);

    // The secret works, and is not shown again.
    let c = crate::support::TestClient {
        id: portcullis_protocol::ClientId::new(&id),
        secret: portcullis_protocol::Secret::new(&secret),
    };
    s.token(&c, None).await;
    let (st, shown) = call(&s, Some(&dev), Method::GET, &format!("/clients/{id}"), None).await;
    assert_eq!(st, 200);
    assert!(shown.get("client_secret").is_none());

    // Another developer neither sees nor touches it; the admin does.
    let (_, list) = call(&s, Some(&other), Method::GET, "/clients", None).await;
    assert_eq!(list["total"], 0);
    for (m, p) in [
        (Method::GET, format!("/clients/{id}")),
        (Method::DELETE, format!("/clients/{id}")),
        (Method::POST, format!("/clients/{id}/rotate-secret")),
    ] {
        let (st, _) = call(&s, Some(&other), m, &p, None).await;
        assert_eq!(st, 404, "{p}");
    }
    let (st, _) = call(
        &s,
        Some(&other),
        Method::PATCH,
        &format!("/clients/{id}"),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(st, 404);
    let (_, list) = call(&s, Some(&admin), Method::GET, "/clients", None).await;
    assert_eq!(list["total"], 1);

    let (st, updated) = call(
        &s,
        Some(&dev),
        Method::PATCH,
        &format!("/clients/{id}"),
        Some(json!({"name": "Renamed", "token_lifetime": 600})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["token_lifetime"], 600);

    let (st, rotated) = call(
        &s,
        Some(&dev),
        Method::POST,
        &format!("/clients/{id}/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_ne!(rotated["client_secret"], secret.as_str());

    let (st, _) = call(
        &s,
        Some(&dev),
        Method::DELETE,
        &format!("/clients/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _) = call(&s, Some(&dev), Method::GET, &format!("/clients/{id}"), None).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn validation_errors_are_problem_json() {
    let s = TestServer::start().await;
    let dev = caller(&s, "dev", false).await;
    let cases = [
        json!({"name": "x", "grant_types": ["password"]}),
        json!({"name": "x", "grant_types": ["authorization_code"], "redirect_uris": ["https://a.example/cb?x=1"]}),
        json!({"name": "x", "grant_types": ["client_credentials"], "scope": "undefined"}),
        json!({"name": "", "grant_types": ["client_credentials"]}),
    ];
    for body in cases {
        let (st, p) = call(&s, Some(&dev), Method::POST, "/clients", Some(body.clone())).await;
        assert_eq!(st, 422, "{body}");
        assert_eq!(p["status"], 422);
        assert!(p["detail"].as_str().unwrap().len() > 5);
    }
    let (st, _) = call(
        &s,
        Some(&dev),
        Method::POST,
        "/clients",
        Some(json!({"nonsense": 1})),
    )
    .await;
    assert_eq!(st, 422);
    let res = s
        .http
        .post(s.url("/admin/api/v1/clients"))
        .bearer_auth(&dev.key)
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (st, _) = call(&s, Some(&dev), Method::GET, "/clients?limit=0", None).await;
    assert_eq!(st, 400);
    let (st, _) = call(&s, Some(&dev), Method::GET, "/clients?limit=abc", None).await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn users_scopes_and_signing_keys_need_the_admin_role() {
    let s = TestServer::start().await;
    let admin = caller(&s, "root", true).await;
    let dev = caller(&s, "dev", false).await;
    for (m, p, b) in [
        (Method::GET, "/users", None),
        (
            Method::POST,
            "/users",
            Some(json!({"username": "eve", "password": "long enough pw"})),
        ),
        (
            Method::POST,
            "/scopes",
            Some(json!({"name": "x", "description": "X"})),
        ),
        (Method::GET, "/signing-keys", None),
        (Method::POST, "/signing-keys/rotate", Some(json!({}))),
        (Method::POST, "/registration-tokens", Some(json!({}))),
    ] {
        let (st, _) = call(&s, Some(&dev), m, p, b).await;
        assert_eq!(st, 403, "{p}");
    }
    let (st, user) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/users",
        Some(json!({"username": "eve", "password": "long enough pw"})),
    )
    .await;
    assert_eq!(st, 201);
    let id = user["id"].as_str().unwrap();
    let (st, shown) = call(&s, Some(&admin), Method::GET, &format!("/users/{id}"), None).await;
    assert_eq!(st, 200);
    assert_eq!(shown["username"], "eve");
    let (st, _) = call(&s, Some(&dev), Method::GET, &format!("/users/{id}"), None).await;
    assert_eq!(st, 404, "a developer sees only themselves");
    let (st, patched) = call(
        &s,
        Some(&admin),
        Method::PATCH,
        &format!("/users/{id}"),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(patched["disabled"], true);
    let (st, _) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/users",
        Some(json!({"username": "eve", "password": "long enough pw"})),
    )
    .await;
    assert_eq!(st, 422, "duplicate username");

    let (st, _) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/scopes",
        Some(json!({"name": "orders:read", "description": "Read orders"})),
    )
    .await;
    assert_eq!(st, 201);
    let (_, scopes) = call(&s, Some(&dev), Method::GET, "/scopes", None).await;
    assert!(
        scopes["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "orders:read")
    );

    let (_, keys) = call(&s, Some(&admin), Method::GET, "/signing-keys", None).await;
    assert_eq!(keys[0]["state"], "active");
    let (st, next) = call(
        &s,
        Some(&admin),
        Method::POST,
        "/signing-keys/rotate",
        Some(json!({"alg": "EdDSA", "publish_delay": 60})),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(next["state"], "next");
    let (_, keys) = call(&s, Some(&admin), Method::GET, "/signing-keys", None).await;
    // The ES256 access-token key, the RS256 key ID tokens always have
    // (OIDC Core §15.1), and the new EdDSA one.
    let algs: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs.len(), 3, "{keys}");
    for alg in ["ES256", "RS256", "EdDSA"] {
        assert!(algs.contains(&alg), "{alg} in {algs:?}");
    }
}

#[tokio::test]
async fn api_keys_and_paging() {
    let s = TestServer::start().await;
    s.define_scope("read", false).await;
    let admin = caller(&s, "root", true).await;
    let dev = caller(&s, "dev", false).await;
    for i in 0..5 {
        let (st, k) = call(
            &s,
            Some(&dev),
            Method::POST,
            "/api-keys",
            Some(json!({"name": format!("k{i}"), "scope": "read"})),
        )
        .await;
        assert_eq!(st, 201);
        assert!(k["key"].as_str().unwrap().starts_with("pcs_"));
    }
    let (_, page) = call(
        &s,
        Some(&dev),
        Method::GET,
        "/api-keys?limit=2&offset=2",
        None,
    )
    .await;
    assert_eq!(page["total"], 6, "five plus the admin-API key");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["offset"], 2);
    assert!(page["items"][0].get("key").is_none());
    // Not the caller's own key: keys made in the same second are ordered by
    // their random id, so the page may hold it, and revoking it would sign
    // the caller out.
    let id = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] != "admin api")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (_, admins) = call(&s, Some(&admin), Method::GET, "/api-keys?limit=200", None).await;
    assert_eq!(admins["total"], 7);
    let (st, _) = call(
        &s,
        Some(&dev),
        Method::POST,
        "/api-keys",
        Some(json!({"name": "x", "owner": {"kind": "user", "id": s.user_id("root").await}})),
    )
    .await;
    assert_eq!(st, 403, "a developer cannot make keys for others");
    let (st, _) = call(
        &s,
        Some(&dev),
        Method::DELETE,
        &format!("/api-keys/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _) = call(
        &s,
        Some(&dev),
        Method::DELETE,
        &format!("/api-keys/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn consents_are_listed_and_revoked() {
    let (s, c) = crate::authcode::setup().await;
    let b = crate::support::Browser::new(&s);
    let (_, challenge) = crate::support::pkce_pair();
    crate::authcode::code_for(&s, &b, &c, "read", &challenge).await;
    let admin = caller(&s, "root", true).await;
    let (st, page) = call(
        &s,
        Some(&admin),
        Method::GET,
        "/consents?username=alice",
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(page["total"], 1);
    let id = page["items"][0]["id"].as_str().unwrap();
    let (st, _) = call(
        &s,
        Some(&admin),
        Method::DELETE,
        &format!("/consents/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (_, page) = call(
        &s,
        Some(&admin),
        Method::GET,
        "/consents?username=alice",
        None,
    )
    .await;
    assert_eq!(page["total"], 0);
}

#[tokio::test]
async fn a_console_session_works_with_a_csrf_header() {
    let (s, _) = crate::authcode::setup().await;
    let b = crate::support::Browser::new(&s);
    let page = b.go("/login").await;
    let res = b.login(page, "alice", crate::authcode::PASSWORD).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let res = b
        .http
        .get(s.url("/admin/api/v1/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body =
        json!({"name": "via session", "grant_types": ["client_credentials"], "scope": "read"});
    let res = b
        .http
        .post(s.url("/admin/api/v1/clients"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "no CSRF header");
    let csrf = b
        .go("/login")
        .await
        .text()
        .await
        .map(|h| crate::support::hidden(&h, "csrf"))
        .unwrap();
    let res = b
        .http
        .post(s.url("/admin/api/v1/clients"))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let s = TestServer::start().await;
    let doc: Value = s
        .http
        .get(s.url("/admin/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/admin/api/v1/clients",
        "/admin/api/v1/clients/{id}",
        "/admin/api/v1/users",
        "/admin/api/v1/api-keys",
        "/admin/api/v1/signing-keys/rotate",
        "/admin/api/v1/consents",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
}

#[tokio::test]
async fn user_profiles_are_set_by_admins_and_by_the_user_within_bounds() {
    let s = TestServer::start().await;
    let admin = caller(&s, "root", true).await;
    let dev = caller(&s, "dev", false).await;
    let dev_id = s.user_id("dev").await.to_string();
    let root_id = s.user_id("root").await.to_string();
    let path = format!("/users/{dev_id}/profile");

    let (st, user) = call(
        &s,
        Some(&admin),
        Method::PUT,
        &path,
        Some(
            json!({"name": "Dev Eloper", "email": "dev@example.com", "email_verified": true,
            "address": {"country": "FR"}}),
        ),
    )
    .await;
    assert_eq!(st, 200, "{user}");
    assert_eq!(user["profile"]["name"], "Dev Eloper");
    assert_eq!(user["profile"]["email_verified"], true);
    assert_eq!(user["profile"]["address"]["country"], "FR");
    let (_, shown) = call(
        &s,
        Some(&admin),
        Method::GET,
        &format!("/users/{dev_id}"),
        None,
    )
    .await;
    assert_eq!(shown["profile"], user["profile"], "stored");

    // The user edits their own profile but cannot vouch for an address.
    let (st, mine) = call(
        &s,
        Some(&dev),
        Method::PUT,
        &path,
        Some(json!({"name": "Dev", "email": "me@example.org", "email_verified": true})),
    )
    .await;
    assert_eq!(st, 200, "{mine}");
    assert_eq!(mine["profile"]["name"], "Dev");
    assert_eq!(mine["profile"]["email"], "me@example.org");
    assert!(
        mine["profile"].get("email_verified").is_none(),
        "a user cannot verify their own new address: {mine}"
    );
    // ...nor anyone else's profile.
    let (st, _) = call(
        &s,
        Some(&dev),
        Method::PUT,
        &format!("/users/{root_id}/profile"),
        Some(json!({"name": "Pwned"})),
    )
    .await;
    assert!(st == 403 || st == 404, "{st}");

    // Bad profiles: problem JSON naming the claim, nothing changed.
    for (body, needle) in [
        (json!({"email": "nope"}), "email"),
        (json!({"birthdate": "tomorrow"}), "birthdate"),
        (json!({"website": "javascript:alert(1)"}), "website"),
        (json!({"name": "x".repeat(300)}), "name"),
        (json!({"email_verified": true}), "email_verified"),
    ] {
        let (st, problem) = call(&s, Some(&admin), Method::PUT, &path, Some(body.clone())).await;
        assert_eq!(st, 422, "{body}: {problem}");
        assert!(
            problem.to_string().contains(needle),
            "{needle} named in {problem}"
        );
    }
    let (st, _) = call(
        &s,
        Some(&admin),
        Method::PUT,
        &path,
        Some(json!({"nmae": "typo"})),
    )
    .await;
    assert!(
        (400..500).contains(&st),
        "an unknown claim is refused: {st}"
    );
    let (st, _) = call(
        &s,
        Some(&admin),
        Method::PUT,
        "/users/nobody/profile",
        Some(json!({})),
    )
    .await;
    assert_eq!(st, 404);
    let (_, after) = call(
        &s,
        Some(&admin),
        Method::GET,
        &format!("/users/{dev_id}"),
        None,
    )
    .await;
    assert_eq!(after["profile"], mine["profile"]);
}
