//! An MCP server (streamable HTTP, with the official Rust SDK `rmcp`)
//! protected by Portcullis.
//!
//! ```text
//! cargo run -p portcullis-guard --example mcp_server -- \
//!     --issuer http://localhost:8080 --listen 127.0.0.1:9091 --scope mcp:call
//! ```
//!
//! Every request to `/mcp` needs an access token whose `aud` names the
//! resource (`--resource`, by default `http://127.0.0.1:<port>/mcp`): get one
//! from Portcullis with `resource=<that URI>`. Without one the answer is 401
//! with `WWW-Authenticate: Bearer resource_metadata="..."`, from where an MCP
//! client finds this server's RFC 9728 metadata and, in it, the issuer.

mod app;

use std::net::SocketAddr;

use clap::Parser;
use portcullis_guard::{Guard, GuardConfig};

#[derive(Parser)]
struct Args {
    /// The Portcullis issuer URL.
    #[arg(long, default_value = "http://localhost:8080")]
    issuer: String,
    #[arg(long, default_value = "127.0.0.1:9091")]
    listen: SocketAddr,
    /// This server's resource identifier, the audience its tokens must name;
    /// `http://<listen address>/mcp` by default.
    #[arg(long, value_name = "URI")]
    resource: Option<String>,
    /// A scope advertised in the metadata (repeatable), e.g. `mcp:call`.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let resource = args
        .resource
        .unwrap_or_else(|| format!("http://{addr}/mcp"));
    // The transport checks `Host` against DNS rebinding: let the resource's
    // own host through, beside loopback.
    let host = url::Url::parse(&resource)?
        .host_str()
        .map(str::to_owned)
        .into_iter()
        .collect::<Vec<_>>();
    let guard = Guard::new(
        GuardConfig::new(&args.issuer, &resource)
            .with_resource_name("Portcullis example MCP server")
            .with_scopes_supported(args.scopes),
    )?;
    if let Err(e) = guard.warm_up().await {
        // Not fatal: the guard retries on demand and answers 503 meanwhile.
        eprintln!("warning: could not reach {} yet: {e}", args.issuer);
    }

    let app = app::app(&guard, &host);
    eprintln!(
        "resource {resource}, metadata at {}",
        guard
            .resource_metadata_url()
            .unwrap_or(guard.metadata_path())
    );
    // The one line on stdout; scripts wait for it.
    println!("MCP server on http://{addr}/mcp");
    axum::serve(listener, app).await?;
    Ok(())
}
