//! The `portcullis` binary's library half: configuration, startup and the
//! command-line interface, so tests start the server exactly as `main` does.

pub mod cli;
pub mod config;
mod hook;
pub mod logging;
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
}

/// Opens the configured store and applies migrations. The embedded default
/// creates its data directory first.
pub async fn open_store(config: &Config) -> Result<Arc<SqlStore>, StartError> {
    if config.uses_default_sqlite() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let mut opts = StoreOptions::new(&config.database_url);
    opts.max_connections = config.db_max_connections;
    opts.acquire_timeout = config.db_acquire_timeout;
    let store = SqlStore::connect(&opts).await?;
    store.migrate().await?;
    Ok(Arc::new(store))
}

/// The domain server on an opened store.
pub async fn auth_server(
    config: &Config,
    store: Arc<SqlStore>,
    issuer: &str,
) -> Result<Arc<AuthServer>, StartError> {
    let mut server =
        AuthServer::start(store, Arc::new(SystemClock), config.settings(issuer)).await?;
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
                last_purge = now;
            }
        }
    });
}
