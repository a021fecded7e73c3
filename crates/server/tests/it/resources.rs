//! Resource servers and resource indicators (RFC 8707) at the token
//! endpoint: `aud` is the API asked for, and unknown, malformed or
//! disallowed resources are `invalid_target`. Both stores.

use base64::Engine as _;
use portcullis_core::registry::ClientUpdate;
use portcullis_core::resources::ResourceSpec;
use portcullis_protocol::{ResourceUri, ScopeSet};
use serde_json::{Value, json};

use crate::support::{TestClient, TestServer, assert_oauth_error};

const MCP: &str = "https://api.example/mcp";
const BILLING: &str = "https://billing.example/";
const INTERNAL: &str = "https://internal.example/api";

async fn servers() -> Vec<TestServer> {
    let mut out = vec![TestServer::start().await];
    if let Some(url) = crate::postgres::fresh_database().await {
        out.push(TestServer::start_with(move |f| f.database_url = Some(url)).await);
    }
    out
}

async fn define(s: &TestServer, uri: &str, scopes: &str, restricted: bool) {
    s.server()
        .operator()
        .define_resource(ResourceSpec {
            uri: uri.into(),
            name: format!("API at {uri}"),
            scopes: ScopeSet::parse(scopes).unwrap(),
            restricted,
        })
        .await
        .unwrap();
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn cc(s: &TestServer, c: &TestClient, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    s.post_form("/oauth/token", c, &form).await
}

async fn token(res: reqwest::Response) -> (String, Value) {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let jwt = body["access_token"].as_str().unwrap().to_owned();
    let c = claims(&jwt);
    (jwt, c)
}

#[tokio::test]
async fn the_access_token_is_for_the_resource_asked_for() {
    for s in servers().await {
        let c = s.client("read write").await;
        define(&s, MCP, "", false).await;
        define(&s, BILLING, "", false).await;

        // Without `resource`: as before, the configured audience.
        let (_, plain) = token(cc(&s, &c, &[]).await).await;
        assert_eq!(plain["aud"], s.issuer());

        let (jwt, one) = token(cc(&s, &c, &[("resource", MCP)]).await).await;
        assert_eq!(one["aud"], MCP, "one resource: a string");
        let info = s.introspect(&c, &jwt).await;
        assert_eq!(info["active"], true);
        assert_eq!(info["aud"], MCP);

        let (_, two) = token(cc(&s, &c, &[("resource", MCP), ("resource", BILLING)]).await).await;
        assert_eq!(two["aud"], json!([MCP, BILLING]), "several: an array");

        // A JSON body names several as an array.
        let res = s
            .http
            .post(s.url("/oauth/token"))
            .basic_auth(c.id.as_str(), Some(c.secret.expose()))
            .json(&json!({"grant_type": "client_credentials", "resource": [BILLING, MCP]}))
            .send()
            .await
            .unwrap();
        let (_, json_two) = token(res).await;
        assert_eq!(json_two["aud"], json!([BILLING, MCP]));
    }
}

#[tokio::test]
async fn unknown_malformed_or_disallowed_resources_are_invalid_target() {
    for s in servers().await {
        let c = s.client("read").await;
        define(&s, MCP, "", false).await;
        define(&s, INTERNAL, "", true).await;
        for (bad, needle) in [
            ("/mcp", "absolute"),
            ("api.example", "absolute"),
            ("https://api.example/mcp#x", "fragment"),
            ("http://api.example/mcp", "https"),
            ("https://unknown.example/", "not an API"),
            (INTERNAL, "restricted"),
            ("https://api.example/\u{1}\"", "absolute"),
        ] {
            let d = assert_oauth_error(
                cc(&s, &c, &[("resource", MCP), ("resource", bad)]).await,
                400,
                "invalid_target",
            )
            .await;
            assert!(d.contains(needle), "{bad:?}: {d}");
            assert!(d.contains("resource 2"), "names which one: {d}");
            assert!(!d.contains("unknown.example"), "never echoes input: {d}");
        }
        let many: Vec<(&str, &str)> = (0..11).map(|_| ("resource", MCP)).collect();
        assert_oauth_error(cc(&s, &c, &many).await, 400, "invalid_target").await;

        // Once allowed, a restricted resource works for that client only.
        s.server()
            .operator()
            .update_client(
                &c.id,
                ClientUpdate {
                    resources: Some(vec![INTERNAL.parse::<ResourceUri>().unwrap()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (_, ok) = token(cc(&s, &c, &[("resource", INTERNAL)]).await).await;
        assert_eq!(ok["aud"], INTERNAL);
        let other = s.client("read").await;
        assert_oauth_error(
            cc(&s, &other, &[("resource", INTERNAL)]).await,
            400,
            "invalid_target",
        )
        .await;

        // A deleted resource is unknown again.
        s.server()
            .operator()
            .delete_resource(&MCP.parse().unwrap())
            .await
            .unwrap();
        assert_oauth_error(
            cc(&s, &c, &[("resource", MCP)]).await,
            400,
            "invalid_target",
        )
        .await;
    }
}

#[tokio::test]
async fn a_resource_with_scopes_gets_tokens_with_only_those() {
    for s in servers().await {
        let c = s.client("orders:read orders:write billing:read").await;
        define(&s, MCP, "orders:read orders:write", false).await;
        // Defaults narrow to what the API understands.
        let (_, t) = token(cc(&s, &c, &[("resource", MCP)]).await).await;
        assert_eq!(t["scope"], "orders:read orders:write");
        // A named scope outside it is refused.
        let d = assert_oauth_error(
            cc(&s, &c, &[("resource", MCP), ("scope", "billing:read")]).await,
            400,
            "invalid_scope",
        )
        .await;
        assert!(d.contains("not a scope of the requested resource"), "{d}");
        let (_, t) = token(cc(&s, &c, &[("resource", MCP), ("scope", "orders:read")]).await).await;
        assert_eq!(t["scope"], "orders:read");
        // Without `resource`, nothing changes.
        let (_, t) = token(cc(&s, &c, &[("scope", "billing:read")]).await).await;
        assert_eq!(t["scope"], "billing:read");
    }
}

#[tokio::test]
async fn resources_through_the_admin_api() {
    let s = TestServer::start().await;
    let root = crate::admin::admin_key(&s).await;
    let post = |key: &str, path: &str, body: Value| {
        s.http.post(s.url(path)).bearer_auth(key).json(&body).send()
    };
    let res = post(
        &root,
        "/admin/api/v1/resources",
        json!({"uri": MCP, "name": "Acme MCP", "restricted": true}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["uri"], MCP);
    assert_eq!(view["restricted"], true);
    for bad in ["/relative", "https://a.example/#f", "http://a.example/"] {
        let res = post(
            &root,
            "/admin/api/v1/resources",
            json!({"uri": bad, "name": "x"}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 422, "{bad}");
    }
    let list: Value = s
        .http
        .get(s.url("/admin/api/v1/resources"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // A developer may read resources but neither define them nor allow a
    // restricted one on their own client.
    s.server()
        .operator()
        .create_user("dev", "long enough pw", false)
        .await
        .unwrap();
    let dev = s
        .server()
        .operator()
        .create_api_key(portcullis_core::api_keys::ApiKeySpec {
            owner: s.owner("dev").await,
            name: "dev".into(),
            scopes: ScopeSet::parse("portcullis:admin").unwrap(),
            expires_in_days: None,
        })
        .await
        .unwrap()
        .key
        .expose()
        .to_owned();
    let res = post(
        &dev,
        "/admin/api/v1/resources",
        json!({"uri": BILLING, "name": "Billing"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    let res = post(
        &dev,
        "/admin/api/v1/clients",
        json!({"name": "mine", "grant_types": ["client_credentials"], "resources": [MCP]}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    let res = post(
        &root,
        "/admin/api/v1/clients",
        json!({"name": "theirs", "grant_types": ["client_credentials"], "resources": [MCP]}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["client"]["resources"], json!([MCP]));

    let res = s
        .http
        .delete(s.url(&format!(
            "/admin/api/v1/resources/{}",
            url::form_urlencoded::byte_serialize(MCP.as_bytes()).collect::<String>()
        )))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

/// Authorize for `resources` with PKCE `challenge`, sign in, approve.
async fn code_for_resources(
    s: &TestServer,
    c: &TestClient,
    resources: &[&str],
    challenge: &str,
) -> Result<(String, String), String> {
    let extra: String = resources
        .iter()
        .map(|r| {
            format!(
                "&resource={}",
                url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
            )
        })
        .collect();
    let url = crate::authcode::authorize_url(c, "read", challenge, &extra);
    crate::authcode::approve(s, url.trim_start_matches("/oauth/authorize?")).await
}

#[tokio::test]
async fn the_code_flow_binds_tokens_to_the_resources_consented_to() {
    use crate::authcode::{CB, exchange, refresh};
    for s in servers().await {
        s.server()
            .operator()
            .create_user("alice", crate::authcode::PASSWORD, false)
            .await
            .unwrap();
        define(&s, MCP, "", false).await;
        define(&s, BILLING, "", false).await;
        let c = crate::authcode::code_client(&s, |_| {}).await;

        // Unknown at authorize: back to the client with invalid_target.
        let (_, challenge) = crate::support::pkce_pair();
        let back = code_for_resources(&s, &c, &["https://nowhere.example/"], &challenge)
            .await
            .unwrap_err();
        assert!(back.starts_with(CB), "{back}");
        assert_eq!(crate::support::params_of(&back)["error"], "invalid_target");

        let (verifier, challenge) = crate::support::pkce_pair();
        let (consent, code) = code_for_resources(&s, &c, &[MCP, BILLING], &challenge)
            .await
            .unwrap();
        // Names and identifiers, HTML-escaped (`/` is `&#x2f;`).
        assert!(
            consent.contains("Only at <strong>API at https:")
                && consent.contains("billing.example"),
            "the consent page names the APIs: {consent}"
        );
        // The token request may pick one of them.
        let res = s
            .post_form(
                "/oauth/token",
                &c,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", CB),
                    ("code_verifier", &verifier),
                    ("resource", MCP),
                ],
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(claims(body["access_token"].as_str().unwrap())["aud"], MCP);
        let rt = body["refresh_token"].as_str().unwrap().to_owned();

        // A refresh names no more than the grant had; a wider one is refused
        // before the token is used, so it still works afterwards.
        let res = s
            .post_form(
                "/oauth/token",
                &c,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                    ("resource", "https://nowhere.example/"),
                ],
            )
            .await;
        assert_oauth_error(res, 400, "invalid_target").await;
        let res = refresh(&s, &c, &rt, None).await;
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            claims(body["access_token"].as_str().unwrap())["aud"],
            json!([MCP, BILLING]),
            "without resource, the whole grant"
        );
        let rt = body["refresh_token"].as_str().unwrap().to_owned();
        let res = s
            .post_form(
                "/oauth/token",
                &c,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                    ("resource", BILLING),
                ],
            )
            .await;
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            claims(body["access_token"].as_str().unwrap())["aud"],
            BILLING
        );

        // A code exchange cannot widen either.
        let (verifier, challenge) = crate::support::pkce_pair();
        let (_, code) = code_for_resources(&s, &c, &[MCP], &challenge)
            .await
            .unwrap();
        let res = s
            .post_form(
                "/oauth/token",
                &c,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", CB),
                    ("code_verifier", &verifier),
                    ("resource", BILLING),
                ],
            )
            .await;
        let d = assert_oauth_error(res, 400, "invalid_target").await;
        assert!(d.contains("not part of this grant"), "{d}");

        // Without resource the flow is as before.
        let (verifier, challenge) = crate::support::pkce_pair();
        let (_, code) = code_for_resources(&s, &c, &[], &challenge).await.unwrap();
        let body: Value = exchange(&s, &c, &code, &verifier)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            claims(body["access_token"].as_str().unwrap())["aud"],
            s.issuer()
        );
    }
}
