//! A protected API with one `whoami` route per credential policy.
//!
//! ```text
//! cargo run -p portcullis-guard --example protected_api -- \
//!     --issuer http://localhost:8080 --listen 127.0.0.1:9090 \
//!     --client-id ID --client-secret SECRET
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9090/bearer/whoami
//! ```
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
    /// This API's audience; Portcullis uses its issuer URL by default.
    #[arg(long)]
    audience: Option<String>,
    #[arg(long, env = "GUARD_CLIENT_ID")]
    client_id: Option<String>,
    #[arg(long, env = "GUARD_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let args = Args::parse();
    let audience = args.audience.unwrap_or_else(|| args.issuer.clone());
    let mut config = GuardConfig::new(&args.issuer, audience);
    if let (Some(id), Some(secret)) = (args.client_id, args.client_secret) {
        config = config.with_client_credentials(ClientId::new(id), Secret::new(secret));
    }
    let guard = Guard::new(config)?;
    if let Err(e) = guard.warm_up().await {
        // Not fatal: the guard retries on demand and answers 503 meanwhile.
        eprintln!("warning: could not reach {} yet: {e}", args.issuer);
    }

    let app = app::app(&guard);

    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("protected API on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
