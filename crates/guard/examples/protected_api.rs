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

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use portcullis_guard::{
    ACCESS_TOKEN, ACCESS_TOKEN_PARAM, Guard, GuardConfig, GuardError, Policy, Principal,
    X_ACCESS_TOKEN, X_API_KEY,
};
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

async fn whoami(principal: Principal) -> Json<Principal> {
    Json(principal)
}

async fn orders(principal: Principal) -> Result<Json<serde_json::Value>, GuardError> {
    principal.require_scope("orders:read")?;
    Ok(Json(
        serde_json::json!({ "orders": [], "for": principal.subject }),
    ))
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

    // One guard, one set of caches; a policy per API.
    let bearer = Router::new()
        .route("/whoami", get(whoami))
        .route("/orders", get(orders))
        .layer(guard.with_policy(Policy::bearer()).layer());
    let flexible = Router::new()
        .route("/whoami", get(whoami).post(whoami))
        .layer(
            guard
                .with_policy(
                    Policy::bearer()
                        .with_token_header(ACCESS_TOKEN)
                        .with_query_param(ACCESS_TOKEN_PARAM)
                        .with_form_param(ACCESS_TOKEN_PARAM),
                )
                .layer(),
        );
    let paired = Router::new().route("/whoami", get(whoami)).layer(
        guard
            .with_policy(Policy::token_and_api_key(X_ACCESS_TOKEN, X_API_KEY))
            .layer(),
    );
    let server = Router::new()
        .route("/whoami", get(whoami))
        .layer(guard.with_policy(Policy::api_key(X_API_KEY)).layer());
    let app = Router::new()
        .nest("/bearer", bearer)
        .nest("/flexible", flexible)
        .nest("/paired", paired)
        .nest("/server", server);

    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("protected API on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
