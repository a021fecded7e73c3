//! Probes: `/healthz` says the process serves; `/readyz` that it can reach
//! its store and has a signing key.

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

pub async fn live() -> &'static str {
    "ok"
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.server.keys().current().signing_key().is_none() {
        return (StatusCode::SERVICE_UNAVAILABLE, "no signing key");
    }
    match state.server.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
