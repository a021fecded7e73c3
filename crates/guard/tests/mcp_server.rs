//! The MCP server example (`examples/mcp_server`) on 127.0.0.1, against the
//! test authorization server: discovery from the 401, then an MCP session
//! (streamable HTTP, protocol 2025-11-25) whose tools see the caller.

mod common;

#[path = "../examples/mcp_server/app.rs"]
mod app;

use common::{Signer, TestAs, claims};
use portcullis_guard::{Guard, GuardConfig};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

const PROTOCOL: &str = "2025-11-25";

struct Mcp {
    url: String,
    issuer: String,
    http: reqwest::Client,
    _as: TestAs,
    key: Signer,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Mcp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Mcp {
    async fn start() -> Self {
        let key = Signer::es256("k1");
        let server = TestAs::start(&[&key]).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let guard = Guard::new(
            GuardConfig::new(&server.issuer, &url).with_scopes_supported([app::CALL_SCOPE]),
        )
        .unwrap();
        let router = app::app(&guard, &[]);
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            url,
            issuer: server.issuer.clone(),
            http: reqwest::Client::new(),
            _as: server,
            key,
            task,
        }
    }

    /// A user's token for this server, with `scope`.
    fn token(&self, scope: &str) -> String {
        let mut c = claims(&self.issuer, "user-7", scope);
        c["aud"] = json!(self.url);
        self.key.sign(&c)
    }

    /// POST one JSON-RPC message; the JSON-RPC answer (from a JSON or an SSE
    /// body), if any, and the response headers.
    async fn post(
        &self,
        token: Option<&str>,
        session: Option<&str>,
        message: Value,
    ) -> (reqwest::StatusCode, HeaderMap, Option<Value>) {
        let mut req = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(message.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(s) = session {
            req = req
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", PROTOCOL);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let event_stream = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let text = res.text().await.unwrap();
        let body = if event_stream {
            // The answer is the SSE event whose data is a JSON-RPC response.
            text.lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                .find(|v| v.get("id").is_some())
        } else {
            serde_json::from_str(&text).ok()
        };
        (status, headers, body)
    }

    /// initialize + notifications/initialized; the session id.
    async fn initialize(&self, token: &str) -> String {
        let (status, headers, body) = self
            .post(
                Some(token),
                None,
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": PROTOCOL,
                    "capabilities": {},
                    "clientInfo": {"name": "guard-test", "version": "0"},
                }}),
            )
            .await;
        assert_eq!(status, 200, "{body:?}");
        let body = body.unwrap();
        assert_eq!(body["result"]["protocolVersion"], PROTOCOL);
        assert!(body["result"]["capabilities"]["tools"].is_object());
        let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
        let (status, _, _) = self
            .post(
                Some(token),
                Some(&session),
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert_eq!(status, 202);
        session
    }

    async fn call_tool(&self, token: &str, session: &str, name: &str, arguments: Value) -> Value {
        let (status, _, body) = self
            .post(
                Some(token),
                Some(session),
                json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                       "params": {"name": name, "arguments": arguments}}),
            )
            .await;
        assert_eq!(status, 200, "{body:?}");
        body.unwrap()["result"].clone()
    }
}

fn challenge(headers: &HeaderMap) -> &str {
    headers
        .get("www-authenticate")
        .map(HeaderValue::to_str)
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn unauthenticated_request_is_told_where_to_authenticate() {
    let mcp = Mcp::start().await;
    let (status, headers, _) = mcp
        .post(
            None,
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}),
        )
        .await;
    assert_eq!(status, 401);
    let metadata_url = mcp
        .url
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    assert!(
        challenge(&headers).contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{}",
        challenge(&headers)
    );

    // Where it points, the client learns the resource and its issuer.
    let res = mcp.http.get(&metadata_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["resource"], mcp.url.as_str());
    assert_eq!(doc["authorization_servers"], json!([mcp.issuer]));
    assert_eq!(doc["scopes_supported"], json!([app::CALL_SCOPE]));

    // A token for another resource gets no further.
    let mut other = claims(&mcp.issuer, "user-7", app::CALL_SCOPE);
    other["aud"] = json!("http://127.0.0.1:1/mcp");
    let (status, headers, _) = mcp
        .post(
            Some(&mcp.key.sign(&other)),
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}),
        )
        .await;
    assert_eq!(status, 401);
    assert!(challenge(&headers).contains("error=\"invalid_token\""));
    assert!(challenge(&headers).contains("resource_metadata="));
}

#[tokio::test]
async fn tools_see_the_caller() {
    let mcp = Mcp::start().await;
    let token = mcp.token("mcp:call profile");
    let session = mcp.initialize(&token).await;

    let (status, _, tools) = mcp
        .post(
            Some(&token),
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
        )
        .await;
    assert_eq!(status, 200);
    let mut names: Vec<String> = tools.unwrap()["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["echo", "whoami"]);

    let who = mcp.call_tool(&token, &session, "whoami", json!({})).await;
    assert_eq!(who["isError"], false);
    assert_eq!(who["structuredContent"]["subject"], "user-7");
    assert_eq!(who["structuredContent"]["client_id"], "web-app");
    assert_eq!(
        who["structuredContent"]["scopes"],
        json!(["mcp:call", "profile"])
    );
    assert!(
        who["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("user-7")
    );

    let echo = mcp
        .call_tool(&token, &session, "echo", json!({"message": "hello"}))
        .await;
    assert_eq!(echo["isError"], false);
    assert_eq!(echo["content"][0]["text"], "hello");
}

#[tokio::test]
async fn echo_without_the_scope_is_a_tool_error() {
    let mcp = Mcp::start().await;
    let token = mcp.token("profile");
    let session = mcp.initialize(&token).await;
    let echo = mcp
        .call_tool(&token, &session, "echo", json!({"message": "hello"}))
        .await;
    assert_eq!(echo["isError"], true);
    let text = echo["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("mcp:call"), "{text}");

    // Each request is checked on its own: a session does not outlive the
    // token, and whoami sees the token of the request, not of initialize.
    let (status, _, _) = mcp
        .post(
            None,
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
        )
        .await;
    assert_eq!(status, 401);
    let stronger = mcp.token("profile mcp:call");
    let echo = mcp
        .call_tool(&stronger, &session, "echo", json!({"message": "again"}))
        .await;
    assert_eq!(echo["content"][0]["text"], "again");
}
