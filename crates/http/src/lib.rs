//! The Portcullis HTTP surface. Handlers are thin: they parse the request
//! into domain types, call [`AuthServer`], and map the result through the
//! one error conversion in [`error`].

pub mod admin;
mod client_auth;
mod cors;
pub mod error;
pub mod pages;
pub mod params;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, Response};
use portcullis_core::AuthServer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use params::MAX_BODY_BYTES;

#[derive(Clone)]
pub struct AppState {
    pub server: Arc<AuthServer>,
    metadata: Arc<serde_json::Map<String, serde_json::Value>>,
    readiness: Arc<routes::health::Readiness>,
}

impl AppState {
    pub fn new(server: Arc<AuthServer>) -> Self {
        let metadata = Arc::new(routes::metadata::fixed(server.settings()));
        Self {
            server,
            metadata,
            readiness: Default::default(),
        }
    }
}

/// The router `main` serves, and the one every test drives.
pub fn router(state: AppState) -> Router {
    let trusted = std::sync::Arc::new(state.server.settings().trusted_proxies.clone());
    Router::new()
        .merge(routes::router(state.server.clone()))
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(
            TraceLayer::new_for_http()
                // The path only: query strings may carry tokens.
                .make_span_with(move |req: &Request<_>| {
                    // The client as throttling sees it: the peer, or behind
                    // a trusted proxy the address it forwarded. Recorded as
                    // a value, formatted only if the span is logged.
                    let client = req
                        .extensions()
                        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                        .map(|c| {
                            let header = |n| req.headers().get(n).and_then(|v| v.to_str().ok());
                            portcullis_core::proxy::client_address(
                                c.0.ip(),
                                header("forwarded"),
                                header("x-forwarded-for"),
                                &trusted,
                            )
                        });
                    let span = tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = req.uri().path(),
                        client = tracing::field::Empty,
                        client_id = tracing::field::Empty,
                    );
                    if let Some(ip) = client {
                        span.record("client", tracing::field::display(ip));
                    }
                    span
                })
                .on_request(())
                .on_response(|res: &Response<_>, latency: Duration, _span: &Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_us = latency.as_micros() as u64,
                        "served"
                    );
                })
                .on_failure(()),
        )
}
