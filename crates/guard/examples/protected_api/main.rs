//! A protected API with one `whoami` route per credential policy.
//!
//! ```text
//! cargo run -p portcullis-guard --example protected_api -- \
//!     --issuer http://localhost:8080 --listen 127.0.0.1:9090 \
//!     --resource http://127.0.0.1:9090 --client-id ID --client-secret SECRET
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9090/bearer/whoami
//! curl http://127.0.0.1:9090/.well-known/oauth-protected-resource
//! ```
//!
//! `--resource` is this API's resource identifier (RFC 8707): tokens must
//! name it in `aud` (ask Portcullis for one with `resource=` on the token
//! request), and its RFC 9728 metadata is served at the well-known path it
//! implies, which every 401 names in `resource_metadata`. Without it the
//! audience is the issuer URL, which is what Portcullis puts into tokens
//! requested without `resource` — then the challenges point at the issuer's
//! host, so pass `--resource` when clients are to discover this API.
//!
//! `--client-id`/`--client-secret` are the client this API introspects API
//! keys as; they can also come from `GUARD_CLIENT_ID`/`GUARD_CLIENT_SECRET`,
//! which keeps the secret out of `ps`.

mod app;

use std::net::SocketAddr;

use clap::Parser;
use portcullis_guard::{Guard, GuardConfig};
use portcullis_protocol::{ClientId, Secret};

#[derive(Parser)]
struct Args {
    /// The Portcullis issuer URL.
    #[arg(long, default_value = "http://localhost:8080")]
    issuer: String,
    #[arg(long, default_value = "127.0.0.1:9090")]
    listen: SocketAddr,
    /// This API's resource identifier and so the audience its tokens must
    /// name; the issuer URL (Portcullis's default audience) if unset.
    #[arg(long, alias = "audience", value_name = "URI")]
    resource: Option<String>,
    /// Scopes advertised in the metadata document (repeatable).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    #[arg(long, env = "GUARD_CLIENT_ID")]
    client_id: Option<String>,
    #[arg(long, env = "GUARD_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let args = Args::parse();
    let resource = args.resource.unwrap_or_else(|| args.issuer.clone());
    let mut config = GuardConfig::new(&args.issuer, resource)
        .with_resource_name("Portcullis example API")
        .with_scopes_supported(args.scopes);
    if let (Some(id), Some(secret)) = (args.client_id, args.client_secret) {
        config = config.with_client_credentials(ClientId::new(id), Secret::new(secret));
    }
    let guard = Guard::new(config)?;
    if let Err(e) = guard.warm_up().await {
        // Not fatal: the guard retries on demand and answers 503 meanwhile.
        eprintln!("warning: could not reach {} yet: {e}", args.issuer);
    }

    // The metadata beside the guarded routes: clients read it before they
    // have a token.
    let app = app::app(&guard).merge(guard.metadata_router());

    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("protected API on http://{}", listener.local_addr()?);
    println!(
        "resource {} (metadata at {})",
        guard.resource(),
        guard
            .resource_metadata_url()
            .unwrap_or(guard.metadata_path())
    );
    axum::serve(listener, app).await?;
    Ok(())
}
