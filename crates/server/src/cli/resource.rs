use clap::Subcommand;
use portcullis_core::AuthServer;
use portcullis_core::model::Resource;
use portcullis_core::resources::ResourceSpec;
use portcullis_protocol::{ResourceUri, ScopeSet};
use serde_json::json;

use super::{CliError, CliResult, print_json};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Define an API that accepts Portcullis tokens (RFC 8707), or change
    /// its definition. Clients ask for it with `resource=URI`; its tokens
    /// carry `aud: URI`.
    Define {
        /// An absolute https URI without fragment (http only on loopback).
        uri: String,
        /// Shown on the consent page.
        #[arg(long)]
        name: String,
        /// A scope this API understands; repeatable. Given any, a token for
        /// it holds no other scope.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Only clients allowed it (`client create|update --resource URI`)
        /// may ask for it.
        #[arg(long)]
        restricted: bool,
        #[arg(long)]
        json: bool,
    },
    /// List resources.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a resource; requests naming it become invalid_target.
    Delete { uri: String },
}

pub fn to_json(r: &Resource) -> serde_json::Value {
    json!({
        "uri": r.uri,
        "name": r.name,
        "scope": r.scopes.to_string(),
        "restricted": r.restricted,
        "created_at": r.created_at,
    })
}

pub async fn run(server: &AuthServer, cmd: Command) -> CliResult {
    match cmd {
        Command::Define {
            uri,
            name,
            scopes,
            restricted,
            json,
        } => {
            let scopes = ScopeSet::parse(&scopes.join(" "))?;
            let r = server
                .operator()
                .define_resource(ResourceSpec {
                    uri,
                    name,
                    scopes,
                    restricted,
                })
                .await?;
            if json {
                print_json(&to_json(&r));
            } else {
                println!("defined resource {}", r.uri);
            }
        }
        Command::List { json } => {
            let all = server.operator().list_resources().await?;
            if json {
                print_json(&serde_json::Value::Array(all.iter().map(to_json).collect()));
            } else if all.is_empty() {
                println!("no resources; add one with `portcullis resource define URI --name NAME`");
            } else {
                for r in all {
                    let flag = if r.restricted { " (restricted)" } else { "" };
                    println!("{}\t{}{flag}\t{}", r.uri, r.name, r.scopes);
                }
            }
        }
        Command::Delete { uri } => {
            let parsed: ResourceUri = uri.parse().map_err(|e| CliError(format!("{e}")))?;
            server.operator().delete_resource(&parsed).await?;
            println!("deleted resource {uri}");
        }
    }
    Ok(())
}
