use crate::config::{Config, FileConfig};

use super::CliResult;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long)]
    listen: Option<String>,
}

pub async fn run(mut file: FileConfig, args: Args) -> CliResult {
    if let Some(l) = args.listen {
        file.listen = Some(l);
    }
    let config = Config::from_file(file)?;
    let _log = crate::logging::init(&config.log_level, config.log_format, false);
    let running = crate::start(&config).await?;
    tracing::info!(
        addr = %running.addr,
        issuer = %running.issuer,
        database = config.database_url.split(':').next().unwrap_or("?"),
        "portcullis is serving"
    );
    match running.server.store().list_users().await {
        Ok(users) if !users.iter().any(|u| u.admin) => tracing::info!(
            "no admin yet: create one with `portcullis user create --username admin --admin --password-stdin` (then sign in at {}/console)",
            running.issuer
        ),
        _ => {}
    }
    let stop = running.stopper();
    let grace_secs = config.transport.shutdown_grace.as_secs();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!(
            grace_secs,
            "shutting down: finishing in-flight requests, dropping what is left after the grace"
        );
        let _ = stop.send(true);
    });
    running.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
