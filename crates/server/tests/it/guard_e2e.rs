//! End to end: Portcullis and the example protected API (the guard's
//! `examples/protected_api` routes), both on 127.0.0.1:0.

use std::time::Duration;

use portcullis_core::api_keys::ApiKeySpec;
use portcullis_guard::{Guard, GuardConfig};
use portcullis_protocol::ScopeSet;
use serde_json::Value;

use crate::support::{TestClient, TestServer};

#[path = "../../../guard/examples/protected_api/app.rs"]
mod example;

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn start(s: &TestServer, introspector: &TestClient) -> Self {
        let mut config = GuardConfig::new(s.issuer(), s.issuer())
            .with_client_credentials(introspector.id.clone(), introspector.secret.clone());
        config.api_key_ttl = Duration::from_millis(300);
        config.api_key_negative_ttl = Duration::from_millis(300);
        let guard = Guard::new(config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = example::app(&guard);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }
}

async fn status(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn tokens_and_keys_reach_the_protected_api_only_where_enabled() {
    let s = TestServer::start().await;
    s.define_scope("orders:read", false).await;
    let rs = s.client("orders:read").await;
    let caller = s.client("orders:read").await;
    let api = Api::start(&s, &rs).await;
    let token = s.token(&caller, Some("orders:read")).await;

    // Bearer, and the principal it yields.
    let res = api
        .get("/bearer/whoami")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let who: Value = res.json().await.unwrap();
    assert_eq!(who["subject"], caller.id.as_str());
    assert_eq!(who["kind"], "client");
    assert_eq!(
        status(api.get("/bearer/orders").bearer_auth(&token)).await,
        200
    );

    // Each location enabled on /flexible, refused on /bearer.
    assert_eq!(
        status(api.get("/flexible/whoami").header("access_token", &token)).await,
        200
    );
    assert_eq!(
        status(api.get(&format!("/flexible/whoami?access_token={token}"))).await,
        200
    );
    let form = api
        .http
        .post(format!("{}/flexible/whoami", api.base))
        .form(&[("access_token", token.as_str())]);
    assert_eq!(status(form).await, 200);
    let res = api
        .get(&format!("/bearer/whoami?access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(
        status(api.get("/bearer/whoami").header("access_token", &token)).await,
        401
    );
    assert_eq!(
        status(api.get("/bearer/whoami").bearer_auth("garbage")).await,
        401
    );

    // A token without the scope: 403 naming it.
    s.define_scope("account:read", false).await;
    let narrow_client = s.client("account:read").await;
    let narrow = s.token(&narrow_client, None).await;
    let res = api
        .get("/bearer/orders")
        .bearer_auth(&narrow)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("orders:read"),
        "{challenge}"
    );
}

#[tokio::test]
async fn api_keys_alone_or_paired_with_a_token() {
    let s = TestServer::start().await;
    s.define_scope("orders:read", false).await;
    let rs = s.client("orders:read").await;
    let caller = s.client("orders:read").await;
    let api = Api::start(&s, &rs).await;
    let created = s
        .server()
        .operator()
        .create_api_key(ApiKeySpec {
            owner: portcullis_core::model::Owner::Client(caller.id.clone()),
            name: "partner".into(),
            scopes: ScopeSet::parse("orders:read").unwrap(),
            expires_in_days: None,
        })
        .await
        .unwrap();
    let key = created.key.expose().to_owned();
    let token = s.token(&caller, None).await;

    let res = api
        .get("/server/whoami")
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let who: Value = res.json().await.unwrap();
    assert_eq!(who["kind"], "api_key");
    assert_eq!(
        status(api.get("/server/whoami").bearer_auth(&token)).await,
        401
    );

    // The classifieds policy: both headers, never one alone.
    let both = api
        .get("/paired/whoami")
        .header("x-access-token", &token)
        .header("x-api-key", &key);
    assert_eq!(status(both).await, 200);
    assert_eq!(
        status(api.get("/paired/whoami").header("x-access-token", &token)).await,
        401
    );
    assert_eq!(
        status(api.get("/paired/whoami").header("x-api-key", &key)).await,
        401
    );

    // A revoked key is refused once the guard's cache lifetime has passed.
    s.server()
        .operator()
        .revoke_api_key(&created.record.id)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        status(api.get("/server/whoami").header("x-api-key", &key)).await,
        401
    );
    let paired = api
        .get("/paired/whoami")
        .header("x-access-token", &token)
        .header("x-api-key", &key);
    assert_eq!(status(paired).await, 401);
}

/// RFC 8707 audiences reach the guard: a token whose `aud` array holds the
/// API's identifier passes, one for another API only does not.
#[tokio::test]
async fn the_guard_accepts_an_audience_array_that_names_it() {
    const MCP: &str = "https://mcp.example/mcp";
    const OTHER: &str = "https://billing.example/";
    let s = TestServer::start().await;
    s.define_scope("orders:read", false).await;
    for uri in [MCP, OTHER] {
        s.server()
            .operator()
            .define_resource(portcullis_core::resources::ResourceSpec {
                uri: uri.into(),
                name: uri.into(),
                scopes: ScopeSet::default(),
                restricted: false,
            })
            .await
            .unwrap();
    }
    let caller = s.client("orders:read").await;
    let guard = Guard::new(GuardConfig::new(s.issuer(), MCP)).unwrap();
    let token = |resources: &'static [&'static str]| {
        let s = &s;
        let caller = &caller;
        async move {
            let mut form = vec![("grant_type", "client_credentials")];
            form.extend(resources.iter().map(|r| ("resource", *r)));
            let res = s.post_form("/oauth/token", caller, &form).await;
            assert_eq!(res.status(), 200);
            let body: Value = res.json().await.unwrap();
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let check = |t: String| {
        let guard = guard.clone();
        async move {
            let req = http::Request::builder()
                .uri("/")
                .header("authorization", format!("Bearer {t}"))
                .body(())
                .unwrap();
            let (parts, ()) = req.into_parts();
            guard.authenticate(&parts).await
        }
    };
    assert!(
        check(token(&[MCP]).await).await.is_ok(),
        "aud: the MCP server"
    );
    assert!(
        check(token(&[OTHER, MCP]).await).await.is_ok(),
        "aud: an array naming it"
    );
    assert!(
        check(token(&[OTHER]).await).await.is_err(),
        "aud: another API only"
    );
    assert!(check(token(&[]).await).await.is_err(), "aud: the issuer");
}
