//! Authorization server metadata (RFC 8414): exactly what is implemented.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use portcullis_core::Settings;
use serde_json::json;

use crate::AppState;

pub fn document(s: &Settings) -> String {
    let iss = &s.issuer;
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "jwks_uri": format!("{iss}/jwks.json"),
        "introspection_endpoint": format!("{iss}/oauth/introspect"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token", "implicit"],
        "response_types_supported": ["code", "token"],
        "response_modes_supported": ["query", "fragment"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "access_token_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
    })
    .to_string()
}

pub async fn get(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        state.metadata.to_string(),
    )
}
