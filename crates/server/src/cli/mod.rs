//! `portcullis`: serve, and administer the configured store whether or not
//! a server runs on it. Bad input gets one line naming the problem and a
//! non-zero exit.

mod api_key;
mod client;
mod keys;
mod oidc_args;
mod registration_token;
mod resource;
mod scope;
mod serve;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use portcullis_core::AuthServer;

use crate::config::{Config, FileConfig};
use crate::{StartError, auth_server, open_store};

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "OAuth 2.0 authorization server and API-key service"
)]
pub struct Cli {
    /// TOML config file; every key can also be set as PORTCULLIS_<KEY>.
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (sqlite:… or postgres:…); overrides the config.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Data directory of the embedded SQLite default.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Key-encryption key file; overrides the config.
    #[arg(long, global = true)]
    kek_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server.
    Serve(serve::Args),
    /// Apply database migrations and exit.
    Migrate,
    /// Register and manage clients.
    #[command(subcommand)]
    Client(client::Command),
    /// Define scopes.
    #[command(subcommand)]
    Scope(scope::Command),
    /// Define the APIs tokens may be asked for (RFC 8707 resources).
    #[command(subcommand)]
    Resource(resource::Command),
    /// Manage API secret keys.
    #[command(subcommand)]
    ApiKey(api_key::Command),
    /// Manage end users.
    #[command(subcommand)]
    User(user::Command),
    /// Inspect and rotate signing keys.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Initial access tokens for dynamic client registration.
    #[command(subcommand)]
    RegistrationToken(registration_token::Command),
}

/// A CLI failure: one line on stderr, exit code 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

pub type CliResult = Result<(), CliError>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(msg)) => {
            eprintln!("error: {}", msg.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> CliResult {
    let mut file =
        FileConfig::load(cli.config.as_deref())?.overlay_env(|k| std::env::var(k).ok())?;
    if let Some(url) = cli.database_url {
        file.database_url = Some(url);
    }
    if let Some(dir) = cli.data_dir {
        file.data_dir = Some(dir);
    }
    if let Some(kek) = cli.kek_file {
        file.kek_file = Some(kek);
    }
    match cli.command {
        Command::Serve(args) => serve::run(file, args).await,
        command => {
            let config = Config::from_file(file)?;
            let _log = crate::logging::init("warn", config.log_format, true);
            match command {
                Command::Migrate => {
                    open_store(&config).await?;
                    println!("migrations applied");
                    Ok(())
                }
                Command::Client(c) => {
                    let server = admin_server(&config).await?;
                    client::run(&server, c).await
                }
                Command::Scope(c) => {
                    let server = admin_server(&config).await?;
                    scope::run(&server, c).await
                }
                Command::Resource(c) => {
                    let server = admin_server(&config).await?;
                    resource::run(&server, c).await
                }
                Command::RegistrationToken(c) => {
                    let server = admin_server(&config).await?;
                    registration_token::run(&server, c).await
                }
                Command::ApiKey(c) => {
                    let server = admin_server(&config).await?;
                    api_key::run(&server, c).await
                }
                Command::User(c) => {
                    let server = admin_server(&config).await?;
                    user::run(&server, c).await
                }
                Command::Keys(keys::Command::NewKek { out }) => {
                    crate::private_files::create_kek(&out)?;
                    println!(
                        "wrote a new key-encryption key to {} (mode 600); set kek_file to it",
                        out.display()
                    );
                    Ok(())
                }
                Command::Keys(c) => {
                    let server = admin_server(&config).await?;
                    keys::run(&server, c, config.key_publish_delay).await
                }
                Command::Serve(_) => unreachable!("handled above"),
            }
        }
    }
}

/// The domain server on the configured store, for administrative commands.
async fn admin_server(config: &Config) -> Result<Arc<AuthServer>, StartError> {
    let store = open_store(config).await?;
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{}", config.listen.port()));
    let mut config = config.clone();
    config.manage_signing_keys = false;
    auth_server(&config, store, &issuer).await
}

/// Prints `value` as one JSON object.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
