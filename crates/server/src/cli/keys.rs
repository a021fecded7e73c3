use clap::Subcommand;
use portcullis_core::AuthServer;
use serde_json::json;

use super::{CliResult, print_json};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List signing keys and their state.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(server: &AuthServer, cmd: Command) -> CliResult {
    match cmd {
        Command::List { json } => {
            let now = server.now();
            let keys = server.store().list_signing_keys().await?;
            let rows: Vec<_> = keys
                .iter()
                .map(|k| {
                    let state = match k.retired_at {
                        Some(_) => "retired",
                        None if k.active_at > now => "published",
                        None => "active",
                    };
                    json!({
                        "kid": k.kid,
                        "alg": k.alg.as_str(),
                        "state": state,
                        "created_at": k.created_at,
                        "active_at": k.active_at,
                        "retired_at": k.retired_at,
                    })
                })
                .collect();
            if json {
                print_json(&serde_json::Value::Array(rows));
            } else {
                for r in rows {
                    println!(
                        "{}\t{}\t{}",
                        r["kid"].as_str().unwrap_or(""),
                        r["alg"].as_str().unwrap_or(""),
                        r["state"].as_str().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(())
}
