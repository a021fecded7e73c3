use clap::Subcommand;
use portcullis_core::AuthServer;
use portcullis_core::model::ScopeDefinition;
use serde_json::json;

use super::{CliResult, print_json};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Define a scope (or change its definition).
    Define {
        name: String,
        /// Shown to the user on the consent page.
        #[arg(long)]
        description: String,
        /// The scope is only valid as NAME__RESOURCEID.
        #[arg(long)]
        requires_resource: bool,
        #[arg(long)]
        json: bool,
    },
    /// List scope definitions.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn to_json(d: &ScopeDefinition) -> serde_json::Value {
    json!({
        "name": d.name,
        "description": d.description,
        "requires_resource": d.requires_resource,
        "created_at": d.created_at,
    })
}

pub async fn run(server: &AuthServer, cmd: Command) -> CliResult {
    match cmd {
        Command::Define {
            name,
            description,
            requires_resource,
            json,
        } => {
            let def = server
                .define_scope(&name, &description, requires_resource)
                .await?;
            if json {
                print_json(&to_json(&def));
            } else {
                println!("defined scope {}", def.name);
            }
        }
        Command::List { json } => {
            let defs = server.store().list_scopes().await?;
            if json {
                print_json(&serde_json::Value::Array(
                    defs.iter().map(to_json).collect(),
                ));
            } else if defs.is_empty() {
                println!(
                    "no scopes defined; add one with `portcullis scope define NAME --description TEXT`"
                );
            } else {
                for d in defs {
                    let flag = if d.requires_resource {
                        " (needs NAME__RESOURCEID)"
                    } else {
                        ""
                    };
                    println!("{}{flag}\t{}", d.name, d.description);
                }
            }
        }
    }
    Ok(())
}
