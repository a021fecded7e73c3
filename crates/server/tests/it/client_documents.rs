//! Client ID metadata documents: a `client_id` that is a URL is fetched,
//! validated and cached, and such a client completes the code flow with
//! PKCE. Fetches never reach loopback, private or link-local addresses
//! unless the development setting allows loopback. Both stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::authcode::{CB, PASSWORD, approve};
use crate::support::{TestServer, assert_oauth_error, pkce_pair};

/// What the document server answers, changeable by the test.
#[derive(Clone)]
struct Served {
    body: Arc<std::sync::Mutex<(StatusCode, HeaderMap, String)>>,
    hits: Arc<AtomicUsize>,
}

impl Served {
    fn set(&self, status: StatusCode, headers: &[(&'static str, &str)], body: String) {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        *self.body.lock().unwrap() = (status, h, body);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A document server on loopback answering every path alike; the client
/// id is its `/client.json`.
async fn document_server() -> (String, Served) {
    let served = Served {
        body: Arc::new(std::sync::Mutex::new((
            StatusCode::NOT_FOUND,
            HeaderMap::new(),
            String::new(),
        ))),
        hits: Arc::default(),
    };
    let state = served.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::get(move || {
            let state = state.clone();
            async move {
                state.hits.fetch_add(1, Ordering::SeqCst);
                let (status, headers, body) = state.body.lock().unwrap().clone();
                (status, headers, body).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/client.json"), served)
}

fn document(id: &str) -> Value {
    json!({
        "client_id": id,
        "client_name": "Roaming Agent",
        "client_uri": "https://agent.example",
        "redirect_uris": [CB],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

async fn servers(allow_loopback: bool) -> Vec<TestServer> {
    let tune = move |f: &mut portcullis::FileConfig| {
        f.client_id_metadata_allow_loopback = Some(allow_loopback);
    };
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

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query(id: &str, challenge: &str) -> String {
    format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=mcp:tools%20offline_access&state=st4te&code_challenge={challenge}&code_challenge_method=S256",
        enc(id),
        enc(CB)
    )
}

#[tokio::test]
async fn a_metadata_document_client_completes_the_code_flow_and_is_cached() {
    for s in servers(true).await {
        let (id, served) = document_server().await;
        served.set(
            StatusCode::OK,
            &[("cache-control", "max-age=3600")],
            document(&id).to_string(),
        );

        let meta: Value = s
            .http
            .get(s.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta["client_id_metadata_document_supported"], true);

        let (verifier, challenge) = pkce_pair();
        let (consent, code) = approve(&s, &query(&id, &challenge)).await.unwrap();
        assert!(consent.contains("Unverified application"), "{consent}");
        assert!(consent.contains("Roaming Agent"));
        assert!(
            consent.contains("app.example"),
            "the redirect host is shown"
        );

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
        assert_eq!(body["token_type"], "Bearer", "{body}");
        assert_eq!(body["scope"], "mcp:tools");
        let refresh = body["refresh_token"].as_str().expect("a refresh token");

        let res = s
            .http
            .post(s.url("/oauth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", id.as_str()),
                ("refresh_token", refresh),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        assert_eq!(
            served.hits(),
            1,
            "one fetch for the whole flow: it is cached"
        );
    }
}

#[tokio::test]
async fn invalid_documents_are_invalid_client_at_both_endpoints() {
    for s in servers(true).await {
        let (id, served) = document_server().await;
        let (_, challenge) = pkce_pair();
        let mut wrong_id = document(&id);
        wrong_id["client_id"] = json!("https://elsewhere.example/client.json");
        let mut secret = document(&id);
        secret["token_endpoint_auth_method"] = json!("client_secret_basic");
        type Case<'a> = (StatusCode, Vec<(&'static str, String)>, String, &'a str);
        let cases: Vec<Case> = vec![
            (StatusCode::OK, vec![], wrong_id.to_string(), "not the URL"),
            (
                StatusCode::OK,
                vec![],
                secret.to_string(),
                "token_endpoint_auth_method",
            ),
            (StatusCode::OK, vec![], "<html></html>".into(), "JSON"),
            (
                StatusCode::OK,
                vec![],
                json!({"client_id": id, "redirect_uris": [CB], "pad": "x".repeat(6000)})
                    .to_string(),
                "larger than",
            ),
            (
                StatusCode::FOUND,
                vec![("location", format!("{id}2"))],
                String::new(),
                "redirects are not followed",
            ),
            (StatusCode::NOT_FOUND, vec![], String::new(), "404"),
        ];
        for (n, (status, headers, body, says)) in cases.into_iter().enumerate() {
            let headers: Vec<(&'static str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            // A failure is remembered for seconds: each case has its own id.
            let id = id.replace("client.json", &format!("case{n}.json"));
            served.set(
                status,
                &headers,
                body.replace("client.json", &format!("case{n}.json")),
            );
            let page = crate::support::Browser::new(&s)
                .go(&format!("/oauth/authorize?{}", query(&id, &challenge)))
                .await;
            assert_eq!(page.status(), 400, "{says}");
            let html = page.text().await.unwrap();
            assert!(html.contains("invalid_client"), "{says}: {html}");
            assert!(html.contains(says), "{says}: {html}");
            let res = s
                .http
                .post(s.url("/oauth/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", id.as_str()),
                    ("code", "x"),
                    ("code_verifier", "y"),
                ])
                .send()
                .await
                .unwrap();
            let description = assert_oauth_error(res, 401, "invalid_client").await;
            assert!(description.contains(says), "{says}: {description}");
        }
    }
}

/// Accepts connections and counts them, answering nothing.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, count)
}

#[tokio::test]
async fn fetches_never_reach_loopback_private_or_metadata_addresses() {
    for s in servers(false).await {
        let (port, connections) = counting_listener().await;
        let (_, challenge) = pkce_pair();
        for (id, says) in [
            // A name that resolves to loopback: refused after resolution.
            (format!("https://localhost:{port}/client.json"), "loopback"),
            (format!("https://127.0.0.1:{port}/client.json"), "loopback"),
            ("https://10.0.0.1/client.json".to_owned(), "private"),
            (
                "https://169.254.169.254/latest/meta-data".to_owned(),
                "link-local",
            ),
            // An IPv4-mapped IPv6 literal (in the form the URL normalises to).
            ("https://[::ffff:a00:1]/client.json".to_owned(), "private"),
            // Plain http is only for loopback in development.
            (format!("http://127.0.0.1:{port}/client.json"), "https"),
        ] {
            let res = s
                .http
                .post(s.url("/oauth/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", id.as_str()),
                    ("code", "x"),
                    ("code_verifier", "y"),
                ])
                .send()
                .await
                .unwrap();
            let description = assert_oauth_error(res, 401, "invalid_client").await;
            assert!(description.contains(says), "{id}: {description}");
            let page = crate::support::Browser::new(&s)
                .go(&format!("/oauth/authorize?{}", query(&id, &challenge)))
                .await;
            assert_eq!(page.status(), 400, "{id}");
            assert!(page.text().await.unwrap().contains(says), "{id}");
        }
        assert_eq!(
            connections.load(Ordering::SeqCst),
            0,
            "no connection was made to a refused address"
        );
    }
}

#[tokio::test]
async fn deny_and_allow_lists_and_switching_documents_off() {
    let (id, served) = document_server().await;
    served.set(StatusCode::OK, &[], document(&id).to_string());
    let token_with = |s: &TestServer| {
        s.http
            .post(s.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", id.as_str()),
                ("code", "x"),
                ("code_verifier", "y"),
            ])
            .send()
    };

    let denied = TestServer::start_with(|f| {
        f.client_id_metadata_allow_loopback = Some(true);
        f.client_id_metadata_deny_hosts = Some(vec!["127.0.0.1".into()]);
    })
    .await;
    let d = assert_oauth_error(token_with(&denied).await.unwrap(), 401, "invalid_client").await;
    assert!(d.contains("not accepted here"), "{d}");

    let listed = TestServer::start_with(|f| {
        f.client_id_metadata_allow_loopback = Some(true);
        f.client_id_metadata_allow_hosts = Some(vec!["agents.example".into()]);
    })
    .await;
    let d = assert_oauth_error(token_with(&listed).await.unwrap(), 401, "invalid_client").await;
    assert!(d.contains("only listed hosts"), "{d}");

    let off = TestServer::start_with(|f| {
        f.client_id_metadata_documents = Some(false);
        f.client_id_metadata_allow_loopback = Some(true);
    })
    .await;
    // An unknown client, like any other id: the generic answer.
    let d = assert_oauth_error(token_with(&off).await.unwrap(), 401, "invalid_client").await;
    assert_eq!(d, "client authentication failed");
    let meta: Value = off
        .http
        .get(off.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(meta.get("client_id_metadata_document_supported").is_none());
    assert_eq!(served.hits(), 0, "no server fetched a document");
}
