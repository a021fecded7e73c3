//! RFC 9728 from the outside: the metadata document and where it is served,
//! and the challenges that point clients at it, against the test
//! authorization server.

mod common;

use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use common::{Signer, TestAs, claims};
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use portcullis_guard::{
    ACCESS_TOKEN_PARAM, Guard, GuardConfig, GuardError, Policy, Principal,
    protected_resource_metadata_path,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const RESOURCE: &str = "https://api.example/mcp";
const METADATA_URL: &str = "https://api.example/.well-known/oauth-protected-resource/mcp";

fn guard(server: &TestAs) -> Guard {
    Guard::new(
        GuardConfig::new(&server.issuer, RESOURCE)
            .with_resource_name("Example MCP server")
            .with_scopes_supported(["mcp:read", "mcp:call"]),
    )
    .unwrap()
}

/// `/mcp` behind the guard (needs `mcp:call`), the metadata beside it.
fn app(guard: &Guard) -> Router {
    async fn mcp(p: Principal) -> Result<Json<Value>, GuardError> {
        p.require_scopes(["mcp:call", "mcp:read"])?;
        Ok(Json(json!({ "sub": p.subject })))
    }
    Router::new()
        .route("/mcp", get(mcp).post(mcp))
        .layer(guard.layer())
        .merge(guard.metadata_router())
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

async fn call(router: &Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

fn request(method: Method, uri: &str, auth: Option<&str>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(token) = auth {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}

fn challenge(a: &Answer) -> &str {
    a.headers[header::WWW_AUTHENTICATE].to_str().unwrap()
}

fn user_token(server: &TestAs, key: &Signer, aud: Value, scope: &str) -> String {
    let mut c = claims(&server.issuer, "user-7", scope);
    c["aud"] = aud;
    key.sign(&c)
}

#[tokio::test]
async fn metadata_document_names_the_resource_and_its_server() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let g = guard(&server);
    assert_eq!(
        g.metadata_path(),
        "/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(g.resource_metadata_url(), Some(METADATA_URL));

    let a = call(
        &app(&g),
        request(
            Method::GET,
            "/.well-known/oauth-protected-resource/mcp",
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.body,
        json!({
            "resource": RESOURCE,
            "authorization_servers": [server.issuer],
            "scopes_supported": ["mcp:read", "mcp:call"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Example MCP server",
        })
    );
    assert_eq!(a.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(a.headers[header::CACHE_CONTROL], "public, max-age=3600");

    // A guard with another policy advertises what that policy reads.
    let flexible = g.with_policy(
        Policy::bearer()
            .with_query_param(ACCESS_TOKEN_PARAM)
            .with_form_param(ACCESS_TOKEN_PARAM),
    );
    assert_eq!(
        flexible
            .protected_resource_metadata()
            .bearer_methods_supported,
        ["header", "body", "query"]
    );

    // Optional members are left out when unset.
    let bare = Guard::new(GuardConfig::new(&server.issuer, "https://api.example")).unwrap();
    assert_eq!(
        serde_json::to_value(bare.protected_resource_metadata()).unwrap(),
        json!({
            "resource": "https://api.example",
            "authorization_servers": [server.issuer],
            "bearer_methods_supported": ["header"],
        })
    );
}

#[tokio::test]
async fn metadata_path_has_the_resource_path_only_when_there_is_one() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    for (resource, path, url) in [
        (
            "https://api.example/mcp",
            "/.well-known/oauth-protected-resource/mcp",
            Some("https://api.example/.well-known/oauth-protected-resource/mcp"),
        ),
        (
            "http://127.0.0.1:8080/tenant/a/mcp",
            "/.well-known/oauth-protected-resource/tenant/a/mcp",
            Some("http://127.0.0.1:8080/.well-known/oauth-protected-resource/tenant/a/mcp"),
        ),
        (
            "https://api.example/",
            "/.well-known/oauth-protected-resource",
            Some("https://api.example/.well-known/oauth-protected-resource"),
        ),
        (
            "https://api.example",
            "/.well-known/oauth-protected-resource",
            Some("https://api.example/.well-known/oauth-protected-resource"),
        ),
        // Not a URL one can fetch: a path to mount, but nothing to point at.
        (
            "api://orders",
            "/.well-known/oauth-protected-resource",
            None,
        ),
    ] {
        assert_eq!(protected_resource_metadata_path(resource), path);
        let g = Guard::new(GuardConfig::new(&server.issuer, resource)).unwrap();
        assert_eq!(g.metadata_path(), path, "{resource}");
        assert_eq!(g.resource_metadata_url(), url, "{resource}");
        let router: Router = g.metadata_router();
        let a = call(&router, request(Method::GET, path, None)).await;
        assert_eq!(a.status, StatusCode::OK, "{resource}");
        assert_eq!(a.body["resource"], resource);
    }
    assert!(Guard::new(GuardConfig::new(&server.issuer, "https://api.example/#x")).is_err());
}

#[tokio::test]
async fn metadata_answers_cors_preflight_and_only_reads() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let router = app(&guard(&server));
    let path = "/.well-known/oauth-protected-resource/mcp";

    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header(header::ORIGIN, "https://inspector.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "mcp-protocol-version",
        )
        .body(Body::empty())
        .unwrap();
    let a = call(&router, preflight).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(a.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(
        a.headers[header::ACCESS_CONTROL_ALLOW_METHODS],
        "GET, HEAD, OPTIONS"
    );
    assert_eq!(a.headers[header::ACCESS_CONTROL_ALLOW_HEADERS], "*");

    let a = call(&router, request(Method::POST, path, None)).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers[header::ALLOW], "GET, HEAD, OPTIONS");

    // The document is not behind the guard, and the guard only guards.
    assert_eq!(
        call(&router, request(Method::GET, "/mcp", None))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn every_401_points_at_the_metadata() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let router = app(&guard(&server));

    let bare = call(&router, request(Method::POST, "/mcp", None)).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&bare),
        format!("Bearer realm=\"{RESOURCE}\", resource_metadata=\"{METADATA_URL}\"")
    );

    let garbage = call(&router, request(Method::POST, "/mcp", Some("not.a.jwt"))).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&garbage),
        format!(
            "Bearer error=\"invalid_token\", error_description=\"the access token is malformed\", resource_metadata=\"{METADATA_URL}\""
        )
    );

    // The error response of a guard used without the layer says the same.
    let res: http::Response<Body> = guard(&server).error_response(&GuardError::MissingCredential {
        realm: "r".into(),
        hint: "h".into(),
    });
    assert_eq!(
        res.headers()[header::WWW_AUTHENTICATE],
        format!("Bearer realm=\"r\", resource_metadata=\"{METADATA_URL}\"").as_str()
    );
}

#[tokio::test]
async fn insufficient_scope_names_the_scopes_and_the_metadata() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let router = app(&guard(&server));
    let token = user_token(&server, &key, json!(RESOURCE), "mcp:read");

    let a = call(&router, request(Method::POST, "/mcp", Some(&token))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["error"], "insufficient_scope");
    assert_eq!(
        challenge(&a),
        format!(
            "Bearer error=\"insufficient_scope\", error_description=\"this request requires the scopes `mcp:call mcp:read`\", scope=\"mcp:call mcp:read\", resource_metadata=\"{METADATA_URL}\""
        )
    );

    let enough = user_token(&server, &key, json!(RESOURCE), "mcp:read mcp:call");
    let a = call(&router, request(Method::POST, "/mcp", Some(&enough))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["sub"], "user-7");
}

#[tokio::test]
async fn aud_must_contain_this_resource() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let router = app(&guard(&server));
    let scope = "mcp:read mcp:call";

    // RFC 8707: a token for several resources, this one among them.
    let several = user_token(
        &server,
        &key,
        json!(["https://other.example", RESOURCE]),
        scope,
    );
    let a = call(&router, request(Method::POST, "/mcp", Some(&several))).await;
    assert_eq!(a.status, StatusCode::OK);

    for aud in [
        json!("https://other.example"),
        json!(["https://other.example", "https://api.example"]),
        // Not a prefix match: the identifier is compared whole.
        json!("https://api.example/mcp/other"),
    ] {
        let token = user_token(&server, &key, aud.clone(), scope);
        let a = call(&router, request(Method::POST, "/mcp", Some(&token))).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{aud}");
        assert_eq!(
            a.body["error_description"],
            "the access token is for another audience"
        );
        assert!(challenge(&a).ends_with(&format!("resource_metadata=\"{METADATA_URL}\"")));
    }
}

#[tokio::test]
async fn cors_preflights_pass_the_guard_and_plain_options_do_not() {
    let key = Signer::es256("k1");
    let server = TestAs::start(&[&key]).await;
    let g = guard(&server);
    // An API answering preflights itself, behind the guard: a preflight
    // carries no credentials, so the guard must let it reach this.
    async fn preflight_answer() -> (StatusCode, [(header::HeaderName, &'static str); 1]) {
        (
            StatusCode::NO_CONTENT,
            [(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                "https://inspector.example",
            )],
        )
    }
    let router = Router::new()
        .route("/mcp", get(|| async { "tools" }).options(preflight_answer))
        .layer(g.layer());
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/mcp")
        .header(header::ORIGIN, "https://inspector.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    let a = call(&router, preflight).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        a.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://inspector.example"
    );
    let plain = call(&router, request(Method::OPTIONS, "/mcp", None)).await;
    assert_eq!(plain.status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&plain).contains(METADATA_URL));
}
