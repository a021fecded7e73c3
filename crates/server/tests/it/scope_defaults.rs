//! What a client gets when it names no scope (RFC 6749 §3.3), the built-in
//! `offline_access`, and the metadata that advertises both (RFC 8414
//! `scopes_supported`, grants only when some client can use them). Both
//! stores.

use base64::Engine as _;
use portcullis_core::registry::ScopeSpec;
use portcullis_protocol::{GrantType, RedirectUri, ScopeSet};
use serde_json::{Value, json};

use crate::authcode::{CB, PASSWORD, exchange, refresh};
use crate::support::{
    Browser, TestClient, TestServer, assert_oauth_error, location, params_of, pkce_pair,
};

/// A server on SQLite, and one on PostgreSQL when one is configured.
async fn servers() -> Vec<TestServer> {
    let mut out = vec![TestServer::start().await];
    if let Some(url) = crate::postgres::fresh_database().await {
        out.push(TestServer::start_with(move |f| f.database_url = Some(url)).await);
    }
    for s in &out {
        s.server()
            .operator()
            .create_user("alice", PASSWORD, false)
            .await
            .unwrap();
    }
    out
}

async fn metadata(s: &TestServer) -> Value {
    let res = s
        .http
        .get(s.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The claims of a JWT, read without verifying (other tests verify).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn cc(s: &TestServer, c: &TestClient, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(sc) = scope {
        form.push(("scope", sc));
    }
    s.post_form("/oauth/token", c, &form).await
}

async fn granted(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let scope = body["scope"].as_str().unwrap().to_owned();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scope"],
        scope,
        "the response names the access token's scope"
    );
    scope
}

fn code_client_spec(
    grants: Vec<GrantType>,
) -> impl FnOnce(&mut portcullis_core::registry::ClientSpec) {
    move |spec| {
        spec.name = "Acme Delivery".into();
        spec.grant_types = grants;
        spec.redirect_uris = vec![RedirectUri::parse(CB).unwrap()];
    }
}

/// Authorize with `scope` (none when `None`), sign in and approve: the
/// consent page and the code.
async fn consent_and_code(
    s: &TestServer,
    c: &TestClient,
    scope: Option<&str>,
    challenge: &str,
) -> (String, String) {
    let scope = scope
        .map(|sc| format!("&scope={}", sc.replace(' ', "+")))
        .unwrap_or_default();
    let (html, code) = crate::authcode::approve(
        s,
        &format!(
            "response_type=code&client_id={}&redirect_uri={CB}{scope}\
             &state=st4te&code_challenge={challenge}&code_challenge_method=S256",
            c.id
        ),
    )
    .await
    .unwrap();
    assert!(
        !html.is_empty(),
        "these requests are always put to the user"
    );
    (html, code)
}

#[tokio::test]
async fn metadata_lists_listed_scopes_and_only_grants_a_client_can_use() {
    for s in servers().await {
        let op = s.server().operator();
        s.define_scope("orders:read", false).await;
        op.define_scope(ScopeSpec {
            listed: false,
            ..ScopeSpec::new("internal:audit", "Audit")
        })
        .await
        .unwrap();
        s.define_scope("ADDON_USER_APPROVED", true).await;

        let m = metadata(&s).await;
        assert_eq!(
            m["scopes_supported"],
            json!([
                "address",
                "email",
                "offline_access",
                "openid",
                "orders:read",
                "phone",
                "profile"
            ]),
            "listed plain scopes and offline_access; not unlisted, per-resource or portcullis:*"
        );
        assert_eq!(
            m["grant_types_supported"],
            json!(["authorization_code", "client_credentials", "refresh_token"])
        );
        assert_eq!(m["response_types_supported"], json!(["code"]));
        assert_eq!(m["response_modes_supported"], json!(["query"]));
        assert_eq!(
            m["revocation_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post", "none"])
        );
        assert_eq!(
            m["introspection_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post"])
        );

        // A client registered for implicit makes it usable, so advertised;
        // a newly defined scope shows too (both invalidate the cache).
        s.client_with("orders:read", code_client_spec(vec![GrantType::Implicit]))
            .await;
        s.define_scope("orders:write", false).await;
        let m = metadata(&s).await;
        assert_eq!(
            m["grant_types_supported"],
            json!([
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "implicit"
            ])
        );
        assert_eq!(m["response_types_supported"], json!(["code", "token"]));
        assert_eq!(m["response_modes_supported"], json!(["query", "fragment"]));
        assert_eq!(
            m["scopes_supported"],
            json!([
                "address",
                "email",
                "offline_access",
                "openid",
                "orders:read",
                "orders:write",
                "phone",
                "profile"
            ])
        );
    }
}

#[tokio::test]
async fn unlisted_scopes_through_the_admin_api() {
    let s = TestServer::start().await;
    let key = crate::admin::admin_key(&s).await;
    let res = s
        .http
        .post(s.url("/admin/api/v1/scopes"))
        .bearer_auth(&key)
        .json(&json!({"name": "beta:read", "description": "Beta", "listed": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["listed"], false);
    let res = s
        .http
        .post(s.url("/admin/api/v1/scopes"))
        .bearer_auth(&key)
        .json(&json!({"name": "orders:read", "description": "Orders"}))
        .send()
        .await
        .unwrap();
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["listed"], true, "listed unless said otherwise");
    assert_eq!(
        metadata(&s).await["scopes_supported"],
        json!([
            "address",
            "email",
            "offline_access",
            "openid",
            "orders:read",
            "phone",
            "profile"
        ])
    );
    // Built in: it cannot be redefined.
    let res = s
        .http
        .post(s.url("/admin/api/v1/scopes"))
        .bearer_auth(&key)
        .json(&json!({"name": "offline_access", "description": "Mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn no_scope_gets_the_clients_default_scopes() {
    for s in servers().await {
        // By default: every plain allowed scope.
        let all = s.client("read write").await;
        assert_eq!(granted(cc(&s, &all, None).await).await, "read write");
        // Explicit defaults, and a named request beyond them.
        let some = s
            .client_with("read write", |spec| {
                spec.default_scopes = Some(ScopeSet::parse("read").unwrap());
            })
            .await;
        assert_eq!(granted(cc(&s, &some, None).await).await, "read");
        assert_eq!(granted(cc(&s, &some, Some("write")).await).await, "write");
        // Nothing to default to is invalid_scope, never an empty token.
        let none = s
            .client_with("read", |spec| {
                spec.default_scopes = Some(ScopeSet::default());
            })
            .await;
        let d = assert_oauth_error(cc(&s, &none, None).await, 400, "invalid_scope").await;
        assert!(d.contains("no default scope"), "{d}");
        assert_eq!(granted(cc(&s, &none, Some("read")).await).await, "read");
        s.define_scope("ADDON_USER_APPROVED", true).await;
        let per_resource = s.client("ADDON_USER_APPROVED").await;
        assert_oauth_error(cc(&s, &per_resource, None).await, 400, "invalid_scope").await;

        // A default must be something the client could ask for.
        let op = s.server().operator();
        for bad in ["write", "ADDON_USER_APPROVED", "offline_access"] {
            let mut spec = portcullis_core::registry::ClientSpec {
                name: "bad".into(),
                grant_types: vec![GrantType::ClientCredentials],
                scopes: ScopeSet::parse("read ADDON_USER_APPROVED").unwrap(),
                default_scopes: Some(ScopeSet::parse(bad).unwrap()),
                redirect_uris: vec![],
                public: false,
                token_lifetime: None,
                require_pkce: true,
                owner: None,
                resources: Vec::new(),
                oidc: Default::default(),
            };
            let e = op.register_client(spec.clone()).await.unwrap_err();
            assert!(e.to_string().contains("default scope"), "{bad}: {e}");
            spec.default_scopes = None;
            op.register_client(spec).await.unwrap();
        }
    }
}

#[tokio::test]
async fn default_scopes_through_the_admin_api() {
    let s = TestServer::start().await;
    s.define_scope("read", false).await;
    s.define_scope("write", false).await;
    let key = crate::admin::admin_key(&s).await;
    let send = |method: reqwest::Method, path: String, body: Value| {
        s.http
            .request(method, s.url(&path))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let res = send(
        reqwest::Method::POST,
        "/admin/api/v1/clients".into(),
        json!({"name": "a", "grant_types": ["client_credentials"], "scope": "read write",
               "default_scope": "read"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["client"]["default_scope"], "read");
    let c = TestClient {
        id: portcullis_protocol::ClientId::new(created["client"]["client_id"].as_str().unwrap()),
        secret: portcullis_protocol::Secret::new(created["client_secret"].as_str().unwrap()),
    };
    assert_eq!(granted(cc(&s, &c, None).await).await, "read");

    let path = format!("/admin/api/v1/clients/{}", c.id);
    let res = send(reqwest::Method::PATCH, path.clone(), json!({"name": "b"}))
        .await
        .unwrap();
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["default_scope"], "read", "unchanged when left out");
    let res = send(
        reqwest::Method::PATCH,
        path.clone(),
        json!({"default_scope": null}),
    )
    .await
    .unwrap();
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["default_scope"], Value::Null);
    assert_eq!(granted(cc(&s, &c, None).await).await, "read write");
    let res = send(
        reqwest::Method::PATCH,
        path,
        json!({"default_scope": "delete"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn offline_access_brings_a_refresh_token_and_never_reaches_the_access_token() {
    for s in servers().await {
        let c = s
            .client_with(
                "read write",
                code_client_spec(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]),
            )
            .await;
        let (verifier, challenge) = pkce_pair();
        let (consent, code) =
            consent_and_code(&s, &c, Some("read offline_access"), &challenge).await;
        assert!(
            consent.contains("Keep access while you are not using the app"),
            "the consent page says what offline_access means"
        );
        let res = exchange(&s, &c, &code, &verifier).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["scope"], "read");
        let access = body["access_token"].as_str().unwrap();
        assert_eq!(claims(access)["scope"], "read");
        let rt = body["refresh_token"].as_str().unwrap().to_owned();
        let info = s.introspect(&c, &rt).await;
        assert_eq!(info["active"], true);
        assert_eq!(info["scope"], "offline_access read");

        // A refresh may name it again, or leave it out.
        let res = refresh(&s, &c, &rt, Some("read offline_access")).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["scope"], "read");
        let rt = body["refresh_token"].as_str().unwrap().to_owned();
        let res = refresh(&s, &c, &rt, None).await;
        assert_eq!(res.status(), 200);

        // Alone, it means "the defaults, and a refresh token".
        let (verifier, challenge) = pkce_pair();
        let (_, code) = consent_and_code(&s, &c, Some("offline_access"), &challenge).await;
        let body: Value = exchange(&s, &c, &code, &verifier)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["scope"], "read write");
        assert!(body["refresh_token"].is_string());

        // A client without the refresh grant gets no refresh token, and
        // offline_access is dropped rather than refused.
        let no_refresh = s
            .client_with("read", code_client_spec(vec![GrantType::AuthorizationCode]))
            .await;
        let (verifier, challenge) = pkce_pair();
        let (_, code) =
            consent_and_code(&s, &no_refresh, Some("read offline_access"), &challenge).await;
        let body: Value = exchange(&s, &no_refresh, &code, &verifier)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["scope"], "read");
        assert!(body.get("refresh_token").is_none());

        // Client credentials never bring a refresh token either.
        let machine = s.client("read").await;
        assert_eq!(
            granted(cc(&s, &machine, Some("read offline_access")).await).await,
            "read"
        );

        // It is built in: not allowed by name, not definable.
        let op = s.server().operator();
        let e = op
            .define_scope(ScopeSpec::new("offline_access", "Mine"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("built in"), "{e}");
        let e = op
            .register_client(portcullis_core::registry::ClientSpec {
                name: "x".into(),
                grant_types: vec![GrantType::ClientCredentials],
                scopes: ScopeSet::parse("offline_access").unwrap(),
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
        assert!(e.to_string().contains("built in"), "{e}");
    }
}

#[tokio::test]
async fn default_scopes_apply_at_the_authorization_endpoint() {
    for s in servers().await {
        let c = s
            .client_with(
                "read write",
                move |spec: &mut portcullis_core::registry::ClientSpec| {
                    code_client_spec(vec![GrantType::AuthorizationCode, GrantType::RefreshToken])(
                        spec,
                    );
                    spec.default_scopes = Some(ScopeSet::parse("read offline_access").unwrap());
                },
            )
            .await;
        let (verifier, challenge) = pkce_pair();
        let (consent, code) = consent_and_code(&s, &c, None, &challenge).await;
        assert!(consent.contains("read access"), "the default is shown");
        assert!(!consent.contains("write access"), "and only the default");
        let body: Value = exchange(&s, &c, &code, &verifier)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["scope"], "read");
        assert!(body["refresh_token"].is_string());

        // Nothing to default to: the browser comes back with invalid_scope.
        s.define_scope("ADDON_USER_APPROVED", true).await;
        let strict = s
            .client_with(
                "ADDON_USER_APPROVED",
                code_client_spec(vec![GrantType::AuthorizationCode]),
            )
            .await;
        let b = Browser::new(&s);
        let res = b
            .get(&format!(
                "/oauth/authorize?response_type=code&client_id={}&redirect_uri={CB}\
                 &state=st4te&code_challenge={challenge}&code_challenge_method=S256",
                strict.id
            ))
            .await;
        let back = location(&res);
        assert!(back.starts_with(CB), "{back}");
        assert_eq!(params_of(&back)["error"], "invalid_scope");
    }
}
