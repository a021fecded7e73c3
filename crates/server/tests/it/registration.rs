//! Dynamic client registration (RFC 7591) and management (RFC 7592):
//! initial access tokens, the metadata rules, the registered client's code
//! flow, reading, updating and deleting a registration, `open` with its
//! rate limit, `off`. Both stores.

use portcullis_core::registration::OPEN_REGISTRATIONS_PER_ADDRESS;
use serde_json::{Value, json};

use crate::authcode::{CB, PASSWORD, approve};
use crate::support::{TestServer, assert_oauth_error, pkce_pair};

async fn servers(mode: &'static str) -> Vec<TestServer> {
    let tune = move |f: &mut portcullis::FileConfig| f.registration = Some(mode.into());
    let mut out = vec![TestServer::start_with(tune).await];
    if let Some(url) = crate::postgres::fresh_database().await {
        out.push(
            TestServer::start_with(move |f| {
                tune(f);
                f.database_url = Some(url);
            })
            .await,
        );
    }
    for s in &out {
        s.server()
            .operator()
            .create_user("alice", PASSWORD, false)
            .await
            .unwrap();
        s.define_scope("mcp:tools", false).await;
    }
    out
}

async fn initial_token(s: &TestServer) -> String {
    let (token, _) = s
        .server()
        .operator()
        .create_registration_token(None)
        .await
        .unwrap();
    token.expose().to_owned()
}

fn metadata() -> Value {
    json!({
        "client_name": "Agent Desktop",
        "redirect_uris": [CB],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "mcp:tools",
        "software_id": "agent-desktop",
    })
}

async fn register(s: &TestServer, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = s.http.post(s.url("/oauth/register")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn client_count(s: &TestServer) -> usize {
    s.server().store().list_clients().await.unwrap().len()
}

#[tokio::test]
async fn an_initial_access_token_registers_one_client_that_completes_the_code_flow() {
    for s in servers("token").await {
        let meta: Value = s
            .http
            .get(s.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            meta["registration_endpoint"],
            format!("{}/oauth/register", s.issuer())
        );

        // No token, a wrong token: RFC 6750 answers, nothing registered.
        let res = register(&s, None, &metadata()).await;
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        assert_oauth_error(res, 401, "invalid_token").await;
        assert_oauth_error(
            register(&s, Some("nope"), &metadata()).await,
            401,
            "invalid_token",
        )
        .await;
        assert_eq!(client_count(&s).await, 0);

        let token = initial_token(&s).await;
        let res = register(&s, Some(&token), &metadata()).await;
        assert_eq!(res.status(), 201);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let reg: Value = res.json().await.unwrap();
        let id = reg["client_id"].as_str().unwrap().to_owned();
        assert!(reg.get("client_secret").is_none(), "a public client: {reg}");
        assert_eq!(reg["token_endpoint_auth_method"], "none");
        assert_eq!(
            reg["grant_types"],
            json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(reg["scope"], "mcp:tools");
        assert_eq!(reg["client_name"], "Agent Desktop");
        assert_eq!(
            reg["registration_client_uri"],
            format!("{}/oauth/register/{id}", s.issuer())
        );
        assert!(reg["registration_access_token"].as_str().unwrap().len() >= 32);

        // Single use.
        let again = register(&s, Some(&token), &metadata()).await;
        let d = assert_oauth_error(again, 401, "invalid_token").await;
        assert!(d.contains("already used"), "{d}");
        assert_eq!(client_count(&s).await, 1);

        // The code flow with PKCE, as a public client.
        let (verifier, challenge) = pkce_pair();
        let (consent, code) = approve(
            &s,
            &format!(
                "response_type=code&client_id={id}&redirect_uri={}&scope=mcp:tools&state=st4te&code_challenge={challenge}&code_challenge_method=S256",
                url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
            ),
        )
        .await
        .unwrap();
        assert!(consent.contains("Unverified application"), "{consent}");
        let res = s
            .http
            .post(s.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", id.as_str()),
                ("code", code.as_str()),
                ("redirect_uri", CB),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["scope"], "mcp:tools", "{body}");
        assert!(body["refresh_token"].is_string());
    }
}

#[tokio::test]
async fn bad_metadata_is_refused_and_spends_no_token() {
    for s in servers("token").await {
        let token = initial_token(&s).await;
        let with = |k: &str, v: Value| {
            let mut m = metadata();
            m[k] = v;
            m
        };
        let mut no_redirects = metadata();
        no_redirects
            .as_object_mut()
            .unwrap()
            .remove("redirect_uris");
        for (body, code, says) in [
            (no_redirects, "invalid_redirect_uri", "redirect_uris"),
            (
                with("redirect_uris", json!(["https://app.example/cb#frag"])),
                "invalid_redirect_uri",
                "redirect_uris[0]",
            ),
            (
                with("grant_types", json!(["client_credentials"])),
                "invalid_client_metadata",
                "authorization_code",
            ),
            (
                with("grant_types", json!(["implicit", "authorization_code"])),
                "invalid_client_metadata",
                "grant types",
            ),
            (
                with("response_types", json!(["token"])),
                "invalid_client_metadata",
                "response_types",
            ),
            (
                with("token_endpoint_auth_method", json!("private_key_jwt")),
                "invalid_client_metadata",
                "token_endpoint_auth_method",
            ),
            (
                with("redirect_uris", json!("https://app.example/cb")),
                "invalid_client_metadata",
                "wrong type",
            ),
        ] {
            let d = assert_oauth_error(register(&s, Some(&token), &body).await, 400, code).await;
            assert!(d.contains(says), "{body}: {d}");
        }
        for (content_type, raw) in [
            ("application/json", "{not json"),
            ("application/json", "[1, 2]"),
            ("application/x-www-form-urlencoded", "redirect_uris=x"),
        ] {
            let res = s
                .http
                .post(s.url("/oauth/register"))
                .bearer_auth(&token)
                .header("content-type", content_type)
                .body(raw)
                .send()
                .await
                .unwrap();
            assert_oauth_error(res, 400, "invalid_client_metadata").await;
        }
        assert_eq!(client_count(&s).await, 0, "nothing half-written");
        // The token was never spent by a refusal.
        assert_eq!(register(&s, Some(&token), &metadata()).await.status(), 201);
    }
}

#[tokio::test]
async fn a_registration_is_read_updated_and_deleted_with_its_own_token() {
    for s in servers("token").await {
        let token = initial_token(&s).await;
        let mut confidential = metadata();
        confidential["token_endpoint_auth_method"] = json!("client_secret_basic");
        let reg: Value = register(&s, Some(&token), &confidential)
            .await
            .json()
            .await
            .unwrap();
        let id = reg["client_id"].as_str().unwrap();
        assert!(reg["client_secret"].as_str().is_some());
        assert_eq!(reg["client_secret_expires_at"], 0);
        let uri = reg["registration_client_uri"].as_str().unwrap();
        let rat = reg["registration_access_token"].as_str().unwrap();

        let read = s.http.get(uri).bearer_auth(rat).send().await.unwrap();
        assert_eq!(read.status(), 200);
        let read: Value = read.json().await.unwrap();
        assert_eq!(read["client_id"], id);
        assert!(read.get("client_secret").is_none(), "shown once only");

        for wrong in [None, Some("nope"), Some(token.as_str())] {
            let mut req = s.http.get(uri);
            if let Some(t) = wrong {
                req = req.bearer_auth(t);
            }
            assert_oauth_error(req.send().await.unwrap(), 401, "invalid_token").await;
        }

        let mut update = confidential.clone();
        update["client_id"] = json!(id);
        update["client_name"] = json!("Agent Desktop 2");
        update["redirect_uris"] = json!([CB, "http://127.0.0.1/callback"]);
        let res = s
            .http
            .put(uri)
            .bearer_auth(rat)
            .json(&update)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let updated: Value = res.json().await.unwrap();
        assert_eq!(updated["client_name"], "Agent Desktop 2");
        assert_eq!(updated["redirect_uris"].as_array().unwrap().len(), 2);

        let mut no_id = update.clone();
        no_id.as_object_mut().unwrap().remove("client_id");
        let res = s
            .http
            .put(uri)
            .bearer_auth(rat)
            .json(&no_id)
            .send()
            .await
            .unwrap();
        assert_oauth_error(res, 400, "invalid_client_metadata").await;
        let mut public = update.clone();
        public["token_endpoint_auth_method"] = json!("none");
        let res = s
            .http
            .put(uri)
            .bearer_auth(rat)
            .json(&public)
            .send()
            .await
            .unwrap();
        assert_oauth_error(res, 400, "invalid_client_metadata").await;

        let res = s.http.delete(uri).bearer_auth(rat).send().await.unwrap();
        assert_eq!(res.status(), 204);
        let res = s.http.get(uri).bearer_auth(rat).send().await.unwrap();
        assert_oauth_error(res, 401, "invalid_token").await;
        assert_eq!(client_count(&s).await, 0);
    }
}

#[tokio::test]
async fn open_registration_is_rate_limited_per_address_and_off_has_no_endpoint() {
    for s in servers("open").await {
        for _ in 0..OPEN_REGISTRATIONS_PER_ADDRESS {
            assert_eq!(register(&s, None, &metadata()).await.status(), 201);
        }
        let res = register(&s, None, &metadata()).await;
        assert!(res.headers().contains_key("retry-after"));
        let d = assert_oauth_error(res, 429, "slow_down").await;
        assert!(d.contains("too many registrations"), "{d}");
        assert_eq!(
            client_count(&s).await,
            OPEN_REGISTRATIONS_PER_ADDRESS as usize
        );
    }
    let off = TestServer::start_with(|f| f.registration = Some("off".into())).await;
    assert_eq!(register(&off, None, &metadata()).await.status(), 404);
    let meta: Value = off
        .http
        .get(off.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(meta.get("registration_endpoint").is_none());
}

#[tokio::test]
async fn unused_registrations_expire_and_used_ones_stay() {
    for s in servers("open").await {
        let reg: Value = register(&s, None, &metadata()).await.json().await.unwrap();
        let store = s.server().store();
        let now = s.server().now();
        assert!(
            store
                .delete_unused_clients(now - 10)
                .await
                .unwrap()
                .is_empty()
        );
        // An operator-made client never expires this way.
        let made = s.client("mcp:tools").await;
        let gone = store.delete_unused_clients(now + 10).await.unwrap();
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].as_str(), reg["client_id"].as_str().unwrap());
        assert!(store.find_client(&made.id).await.unwrap().is_some());
    }
}

#[test]
fn the_cli_mints_an_initial_access_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::cli::portcullis(
        dir.path(),
        &[
            "registration-token",
            "create",
            "--expires-in",
            "600",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    assert!(v["expires_at"].as_i64().is_some());
    let bad = crate::cli::portcullis(
        dir.path(),
        &["registration-token", "create", "--expires-in", "5"],
    );
    assert!(!bad.status.success());

    let data = dir.path().join("portcullis-data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = TestServer::start_with(|f| f.data_dir = Some(data)).await;
        assert_eq!(register(&s, Some(&token), &metadata()).await.status(), 201);
    });
}

#[tokio::test]
async fn an_administrator_mints_initial_access_tokens_through_the_admin_api() {
    let s = TestServer::start().await;
    s.define_scope("mcp:tools", false).await;
    let key = crate::admin::admin_key(&s).await;
    let mint = |body: Value| {
        s.http
            .post(s.url("/admin/api/v1/registration-tokens"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let res = mint(json!({"expires_in": 600})).await.unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let token = created["token"].as_str().unwrap();
    assert!(created["expires_at"].as_i64().unwrap() > s.server().now());
    for bad in [
        json!({"expires_in": 5}),
        json!({"expires_in": "soon"}),
        json!({"ttl": 60}),
    ] {
        let st = mint(bad.clone()).await.unwrap().status();
        assert!(st == 400 || st == 422, "{bad}: {st}");
    }
    assert_eq!(register(&s, Some(token), &metadata()).await.status(), 201);
}
