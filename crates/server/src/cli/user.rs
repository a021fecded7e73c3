use std::io::Read;

use clap::Subcommand;
use portcullis_core::AuthServer;
use portcullis_core::model::User;
use serde_json::json;

use super::{CliError, CliResult, print_json};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from standard input (the only way: never on
        /// the command line, where other users could see it).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// An administrator of Portcullis.
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: no login, and their tokens stop working.
    Disable { username: String },
    /// Enable a disabled user again.
    Enable { username: String },
    /// Set a user's password, read from standard input.
    SetPassword {
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

fn read_password() -> Result<String, CliError> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| CliError(format!("cannot read the password from standard input: {e}")))?;
    Ok(s.trim_end_matches(['\r', '\n']).to_owned())
}

fn to_json(u: &User) -> serde_json::Value {
    json!({
        "id": u.id,
        "username": u.username,
        "disabled": u.disabled,
        "admin": u.admin,
        "created_at": u.created_at,
    })
}

pub async fn run(server: &AuthServer, cmd: Command) -> CliResult {
    match cmd {
        Command::Create {
            username,
            admin,
            json,
            ..
        } => {
            let user = server
                .operator()
                .create_user(&username, &read_password()?, admin)
                .await?;
            if json {
                print_json(&to_json(&user));
            } else {
                println!("created user {} ({})", user.username, user.id);
            }
        }
        Command::List { json } => {
            let users = server.operator().list_users().await?;
            if json {
                print_json(&serde_json::Value::Array(
                    users.iter().map(to_json).collect(),
                ));
            } else {
                for u in users {
                    let flags = match (u.disabled, u.admin) {
                        (true, _) => " (disabled)",
                        (false, true) => " (admin)",
                        _ => "",
                    };
                    println!("{}\t{}{flags}", u.id, u.username);
                }
            }
        }
        Command::Disable { username } => {
            let operator = server.operator();
            let id = operator.user_by_name(&username).await?.id;
            operator.set_user_disabled(&id, true).await?;
            println!("disabled user {username}");
        }
        Command::Enable { username } => {
            let operator = server.operator();
            let id = operator.user_by_name(&username).await?.id;
            operator.set_user_disabled(&id, false).await?;
            println!("enabled user {username}");
        }
        Command::SetPassword { username, .. } => {
            let operator = server.operator();
            let id = operator.user_by_name(&username).await?.id;
            operator.set_password(&id, &read_password()?).await?;
            println!("password of {username} changed");
        }
    }
    Ok(())
}
