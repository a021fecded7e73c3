use clap::Subcommand;
use portcullis_core::AuthServer;
use serde_json::json;

use super::{CliResult, print_json};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mint an initial access token for dynamic client registration
    /// (RFC 7591 §3): one registration at `POST /oauth/register` with
    /// `Authorization: Bearer TOKEN`. Shown once; only its hash is kept.
    Create {
        /// Seconds until it expires (60 to 2592000; default 86400).
        #[arg(long)]
        expires_in: Option<i64>,
        /// Print `{"token": "...", "expires_at": ...}`.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(server: &AuthServer, cmd: Command) -> CliResult {
    match cmd {
        Command::Create { expires_in, json } => {
            let (token, expires_at) = server
                .operator()
                .create_registration_token(expires_in)
                .await?;
            if json {
                print_json(&json!({"token": token.expose(), "expires_at": expires_at}));
            } else {
                println!("{}", token.expose());
                eprintln!(
                    "initial access token for one client registration, valid until {expires_at} (unix time); it is not shown again"
                );
            }
            Ok(())
        }
    }
}
