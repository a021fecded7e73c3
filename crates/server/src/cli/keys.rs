use clap::Subcommand;
use portcullis_core::AuthServer;
use portcullis_core::keyring::key_states;
use portcullis_core::model::SigningAlg;
use serde_json::json;

use super::{CliError, CliResult, print_json};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List signing keys and their state (next, active, retired, expired).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a signing key: published in the JWK Set at once, signing after
    /// the publish delay, when the current key retires.
    Rotate {
        /// ES256, EdDSA or RS256 (default: the configured signing_alg).
        #[arg(long)]
        alg: Option<String>,
        /// Seconds between publishing the key and signing with it
        /// (default: the configured key_publish_delay_secs).
        #[arg(long)]
        publish_delay: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Write a new key-encryption key file (mode 600), for kek_file.
    NewKek {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Re-encrypt every private signing key under a new key-encryption key
    /// (created if the file does not exist), all or nothing; then point
    /// kek_file at it and restart every instance.
    Rewrap {
        #[arg(long)]
        new_kek_file: std::path::PathBuf,
    },
}

pub async fn run(server: &AuthServer, cmd: Command, default_delay: i64) -> CliResult {
    match cmd {
        Command::List { json } => {
            let now = server.now();
            let keys = server.store().list_signing_keys().await?;
            let rows: Vec<_> = key_states(&keys, now)
                .into_iter()
                .map(|(k, state)| {
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
                println!("kid\talg\tstate\tactive_at\tretired_at");
                for r in rows {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        r["kid"].as_str().unwrap_or_default(),
                        r["alg"].as_str().unwrap_or_default(),
                        r["state"].as_str().unwrap_or_default(),
                        r["active_at"],
                        r["retired_at"],
                    );
                }
            }
        }
        Command::Rotate {
            alg,
            publish_delay,
            json,
        } => {
            let alg = alg
                .map(|a| {
                    SigningAlg::parse(&a).ok_or_else(|| {
                        CliError(format!("--alg: `{a}` is not one of ES256, EdDSA, RS256"))
                    })
                })
                .transpose()?;
            let delay = publish_delay.unwrap_or(default_delay);
            if delay < 0 {
                return Err(CliError("--publish-delay must not be negative".into()));
            }
            let key = server.operator().rotate_signing_key(alg, delay).await?;
            if json {
                print_json(&json!({
                    "kid": key.kid,
                    "alg": key.alg.as_str(),
                    "active_at": key.active_at,
                }));
            } else {
                println!(
                    "new key {} ({}) is published now and signs from {} (in {delay} s)",
                    key.kid,
                    key.alg.as_str(),
                    key.active_at
                );
            }
        }
        // Handled before any store is opened: it is how a PostgreSQL
        // deployment gets the key it needs to open one.
        Command::NewKek { .. } => {
            return Err(CliError("`keys new-kek` runs without a server".into()));
        }
        Command::Rewrap { new_kek_file } => {
            let new = if new_kek_file.exists() {
                crate::private_files::read_kek(&new_kek_file)?
            } else {
                crate::private_files::create_kek(&new_kek_file)?
            };
            let n = server.operator().rewrap_signing_keys(&new).await?;
            println!(
                "{n} signing keys are now sealed under {}: set kek_file to it and restart every instance (the old file no longer opens them)",
                new_kek_file.display()
            );
        }
    }
    Ok(())
}
