use clap::Subcommand;
use portcullis_core::AuthServer;
use portcullis_core::model::{GrantPolicy, ScopeDefinition};
use portcullis_core::registry::ScopeSpec;
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
        /// Any developer may allow it on their own clients and keys
        /// (default: only an administrator may).
        #[arg(long)]
        self_service: bool,
        /// A resource permission clients (client_credentials) and API keys
        /// may hold without a user's consent; the resource hook is still asked.
        #[arg(long, requires = "requires_resource")]
        machine_grantable: bool,
        /// Leave it out of the metadata's scopes_supported (it works the same).
        #[arg(long)]
        unlisted: bool,
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
        "grant_policy": d.effective_policy(),
        "machine_grantable": d.machine_grantable,
        "listed": d.listed,
        "created_at": d.created_at,
    })
}

pub async fn run(server: &AuthServer, cmd: Command) -> CliResult {
    match cmd {
        Command::Define {
            name,
            description,
            requires_resource,
            self_service,
            machine_grantable,
            unlisted,
            json,
        } => {
            let def = server
                .operator()
                .define_scope(ScopeSpec {
                    name,
                    description,
                    requires_resource,
                    grant_policy: if self_service {
                        GrantPolicy::SelfService
                    } else {
                        GrantPolicy::Restricted
                    },
                    machine_grantable,
                    listed: !unlisted,
                })
                .await?;
            if json {
                print_json(&to_json(&def));
            } else {
                println!("defined scope {}", def.name);
            }
        }
        Command::List { json } => {
            let defs = server.operator().list_scopes().await?;
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
                    let policy = d.effective_policy().as_str();
                    let machine = if d.machine_grantable {
                        ", machine-grantable"
                    } else {
                        ""
                    };
                    println!("{}{flag}\t{policy}{machine}\t{}", d.name, d.description);
                }
            }
        }
    }
    Ok(())
}
