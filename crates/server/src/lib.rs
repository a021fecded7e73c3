//! The `portcullis` binary's library half: configuration, startup and the
//! command-line interface, so tests start the server exactly as `main` does.

pub mod cli;
pub mod config;
mod hook;
pub mod logging;
pub mod private_files;
pub mod transport;

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis_core::{AuthServer, SystemClock};
use portcullis_store::{SqlStore, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, FileConfig};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("store: {0}")]
    Store(#[from] portcullis_core::StoreError),
    #[error("{0}")]
    Start(#[from] portcullis_core::server::StartError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Private(#[from] private_files::PrivateFileError),
}

/// The SQLite database file a `sqlite:` URL names.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

/// The key-encryption key: the configured file, or for the embedded
/// default `<data_dir>/kek`, created on first start. Instances sharing a
/// PostgreSQL database must share one file, so it is never generated there.
pub fn load_kek(config: &Config) -> Result<portcullis_core::kek::Kek, StartError> {
    let sqlite = config.uses_default_sqlite();
    let path = match (&config.kek_file, sqlite) {
        (Some(p), _) => p.clone(),
        (None, true) => config.data_dir.join("kek"),
        (None, false) => {
            return Err(config::ConfigError(
                "kek_file is required with PostgreSQL: private signing keys are encrypted with it. \
                 Create one with `portcullis keys new-kek --out /etc/portcullis/kek` and give every instance the same file"
                    .into(),
            )
            .into());
        }
    };
    if path.exists() {
        return Ok(private_files::read_kek(&path)?);
    }
    if !sqlite {
        return Err(config::ConfigError(format!(
            "kek_file {} does not exist: create it once with `portcullis keys new-kek --out {}` and give every instance the same file",
            path.display(),
            path.display()
        ))
        .into());
    }
    tracing::info!(path = %path.display(), "created the key-encryption key; back it up with the database");
    Ok(private_files::create_kek(&path)?)
}

/// Opens the configured store and applies migrations. The embedded default
/// creates its data directory first.
pub async fn open_store(config: &Config) -> Result<Arc<SqlStore>, StartError> {
    let db = sqlite_path(&config.database_url);
    if config.uses_default_sqlite() {
        private_files::private_dir(&config.data_dir)?;
        if let Some(db) = db.as_deref().filter(|p| p.exists()) {
            private_files::check(db, "600")?;
        }
    }
    let mut opts = StoreOptions::new(&config.database_url);
    opts.max_connections = config.db_max_connections;
    opts.acquire_timeout = config.db_acquire_timeout;
    let store = SqlStore::connect(&opts).await?;
    store.migrate().await?;
    if let Some(db) = db {
        let name = db.display().to_string();
        let wal = std::path::PathBuf::from(format!("{name}-wal"));
        let shm = std::path::PathBuf::from(format!("{name}-shm"));
        private_files::tighten(&[&db, &wal, &shm])?;
    }
    Ok(Arc::new(store))
}

/// The domain server on an opened store.
pub async fn auth_server(
    config: &Config,
    store: Arc<SqlStore>,
    issuer: &str,
) -> Result<Arc<AuthServer>, StartError> {
    let kek = Arc::new(load_kek(config)?);
    let mut server =
        AuthServer::start(store, Arc::new(SystemClock), config.settings(issuer), kek).await?;
    if let Some(url) = &config.resource_hook_url {
        server.set_resource_hook(Arc::new(hook::HttpResourceHook::new(url.clone())));
    }
    Ok(Arc::new(server))
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub issuer: String,
    pub server: Arc<AuthServer>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting connections, closes idle ones, lets in-flight
    /// requests finish, and waits until they have or the shutdown grace has
    /// passed; connections still open then are dropped.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    /// A handle that asks the server to stop, for signal handlers.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    pub async fn wait(self) -> std::io::Result<()> {
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Binds, opens the store, starts the background work and serves until
/// [`Running::shutdown`].
pub async fn start(config: &Config) -> Result<Running, StartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{}", addr.port()));
    let store = open_store(config).await?;
    let server = auth_server(config, store, &issuer).await?;
    let (shutdown, stop) = watch::channel(false);
    spawn_maintenance(server.clone(), config.key_refresh, shutdown.subscribe());
    let app = portcullis_http::router(portcullis_http::AppState::new(server.clone()));
    let task = tokio::spawn(transport::serve(listener, app, config.transport, stop));
    Ok(Running {
        addr,
        issuer,
        server,
        shutdown,
        task,
    })
}

/// Reloads the key ring (keys rotated by another instance or the CLI) and
/// forgets expired revocations.
fn spawn_maintenance(
    server: Arc<AuthServer>,
    key_refresh: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(key_refresh);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_purge = server.now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if let Err(e) = server.reload_keys().await {
                tracing::warn!(error = %e, "key ring reload failed; keeping the current keys");
            }
            if let Err(e) = server.flush_api_key_usage().await {
                tracing::warn!(error = %e, "could not record API-key use");
            }
            let now = server.now();
            if now - last_purge >= 3600 {
                match server.store().purge_expired(now).await {
                    Ok(n) => tracing::debug!(purged = n, "forgot expired revocations"),
                    Err(e) => tracing::warn!(error = %e, "purge of expired revocations failed"),
                }
                if let Err(e) = server.sweep_unused_registrations().await {
                    tracing::warn!(error = %e, "sweep of unused registrations failed");
                }
                last_purge = now;
            }
        }
    });
}
