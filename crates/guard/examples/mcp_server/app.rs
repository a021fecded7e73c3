//! The example MCP server: two tools behind the guard, and the RFC 9728
//! metadata that tells MCP clients where to get a token. Kept apart from
//! `main.rs` so that the tests serve exactly this.

use axum::Router;
use http::request::Parts;
use portcullis_guard::{Guard, Principal};
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};

/// The scope `echo` needs.
pub const CALL_SCOPE: &str = "mcp:call";

/// `POST /mcp` (streamable HTTP) behind `guard`, and the metadata document
/// beside it. `allowed_hosts` are the `Host` values the MCP transport
/// accepts (its DNS-rebinding guard), besides loopback.
pub fn app(guard: &Guard, allowed_hosts: &[String]) -> Router {
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(allowed_hosts.iter().cloned());
    let mcp = StreamableHttpService::new(
        || Ok(Tools),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default().with_allowed_hosts(hosts),
    );
    Router::new()
        .nest_service("/mcp", mcp)
        .layer(guard.layer())
        .merge(guard.metadata_router())
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct EchoArgs {
    /// What to send back.
    pub message: String,
}

/// The tools. rmcp hands each call the HTTP request head it came in, and
/// the guard layer put the caller's [`Principal`] into its extensions.
#[derive(Debug, Clone, Default)]
pub struct Tools;

/// The caller, as the guard verified it for this very request.
fn caller(parts: &Parts) -> Result<&Principal, ErrorData> {
    parts.extensions.get::<Principal>().ok_or_else(|| {
        // Only if the MCP service is mounted without the guard layer.
        ErrorData::internal_error("no authenticated caller", None)
    })
}

#[tool_router]
impl Tools {
    #[tool(description = "Who is calling: the subject, client and scopes of the access token")]
    async fn whoami(
        &self,
        Extension(parts): Extension<Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let p = caller(&parts)?;
        Ok(CallToolResult::structured(serde_json::json!({
            "subject": p.subject,
            "client_id": p.client_id,
            "kind": p.kind,
            "scopes": p.scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        })))
    }

    #[tool(description = "Send the message back; needs the scope mcp:call")]
    async fn echo(
        &self,
        Parameters(EchoArgs { message }): Parameters<EchoArgs>,
        Extension(parts): Extension<Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let p = caller(&parts)?;
        if !p.has_scope(CALL_SCOPE) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "echo needs the scope `{CALL_SCOPE}`, which this access token does not carry; \
                 get a token with `scope={CALL_SCOPE}`"
            ))]));
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(message)]))
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "portcullis-mcp-example",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "An example MCP server behind portcullis-guard: `whoami` tells who is calling, \
                 `echo` needs the scope mcp:call.",
            )
    }
}
