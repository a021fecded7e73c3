//! Probes: `/healthz` says the process serves; `/readyz` that it can read
//! and write its store and has a signing key.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// Load balancers probe often; a probe that itself waits on a struggling
/// database would only add to its load, so one answer serves a second.
const FRESH: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Readiness(Mutex<Option<(Instant, StatusCode, &'static str)>>);

pub async fn live() -> &'static str {
    "ok"
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let cached = *state.readiness.0.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, status, text)) = cached
        && at.elapsed() < FRESH
    {
        return (status, text);
    }
    let (status, text) = check(&state).await;
    *state.readiness.0.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((Instant::now(), status, text));
    (status, text)
}

async fn check(state: &AppState) -> (StatusCode, &'static str) {
    if state.server.keys().current().signing_key().is_none() {
        return (StatusCode::SERVICE_UNAVAILABLE, "no signing key");
    }
    let store = state.server.store();
    if let Err(e) = store.ping().await {
        tracing::warn!(error = %e, "readiness check failed");
        return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable");
    }
    match store.probe_write(state.server.now()).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: the store cannot write");
            (StatusCode::SERVICE_UNAVAILABLE, "store cannot write")
        }
    }
}
