//! The public signing keys (RFC 7517), serialized when the ring is loaded.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

pub async fn get(State(state): State<AppState>) -> impl IntoResponse {
    let json = state.server.keys().current().jwks_json();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            // Short, so a key published ahead of rotation is seen in time.
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        json.to_string(),
    )
}
