use clap::Subcommand;
use portcullis_core::AuthServer;
use portcullis_core::api_keys::ApiKeySpec;
use portcullis_core::model::{ApiKeyRecord, Owner};
use portcullis_protocol::{ClientId, ScopeSet};
use serde_json::json;

use super::{CliError, CliResult, print_json};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an API secret key; it is printed once.
    Create {
        /// The username of the user the key acts for.
        #[arg(long, conflicts_with = "client", required_unless_present = "client")]
        user: Option<String>,
        /// The id of the client the key acts for.
        #[arg(long)]
        client: Option<String>,
        #[arg(long)]
        name: String,
        /// Scopes, space-separated.
        #[arg(long, default_value = "")]
        scope: String,
        /// Days until the key expires (default: never).
        #[arg(long)]
        expires_in: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// List API keys (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API key by id; it stops working at once.
    Revoke { id: String },
}

fn to_json(k: &ApiKeyRecord) -> serde_json::Value {
    json!({
        "id": k.id,
        "name": k.name,
        "owner": {"kind": k.owner.kind(), "id": k.owner.id()},
        "scope": k.scopes.to_string(),
        "created_at": k.created_at,
        "last_used_at": k.last_used_at,
        "expires_at": k.expires_at,
        "revoked_at": k.revoked_at,
    })
}

pub async fn run(server: &AuthServer, cmd: Command) -> CliResult {
    match cmd {
        Command::Create {
            user,
            client,
            name,
            scope,
            expires_in,
            json,
        } => {
            let operator = server.operator();
            let owner = match (user, client) {
                (Some(name), _) => Owner::User(operator.user_by_name(&name).await?.id),
                (None, Some(id)) => Owner::Client(ClientId::new(id)),
                (None, None) => return Err(CliError("name an owner: --user or --client".into())),
            };
            let created = operator
                .create_api_key(ApiKeySpec {
                    owner,
                    name,
                    scopes: ScopeSet::parse(&scope.replace('+', " "))?,
                    expires_in_days: expires_in,
                })
                .await?;
            if json {
                let mut v = to_json(&created.record);
                v["key"] = json!(created.key.expose());
                print_json(&v);
            } else {
                println!("key: {}   (shown once: store it now)", created.key.expose());
                println!("id:  {}", created.record.id);
            }
        }
        Command::List { json } => {
            let keys = server.operator().list_api_keys().await?;
            if json {
                print_json(&serde_json::Value::Array(
                    keys.iter().map(to_json).collect(),
                ));
            } else if keys.is_empty() {
                println!("no API keys; create one with `portcullis api-key create`");
            } else {
                for k in keys {
                    let state = if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{state}",
                        k.id,
                        k.name,
                        format_args!("{} {}", k.owner.kind(), k.owner.id()),
                        k.scopes
                    );
                }
            }
        }
        Command::Revoke { id } => {
            server.operator().revoke_api_key(&id).await?;
            println!("revoked API key {id}");
        }
    }
    Ok(())
}
