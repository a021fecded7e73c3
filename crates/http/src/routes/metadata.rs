//! Authorization server metadata (RFC 8414) and OpenID Provider metadata
//! (OpenID Connect Discovery 1.0 §3): one document served at both paths,
//! so the two never disagree. Exactly what is implemented, and of what
//! depends on registration or on the key ring, only what some client can
//! use.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use portcullis_core::Settings;
use portcullis_core::advertised::Advertised;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::ApiError;

/// The part that follows from the settings alone, built once.
pub fn fixed(s: &Settings) -> Map<String, Value> {
    let iss = &s.issuer;
    let confidential = ["client_secret_basic", "client_secret_post"];
    let any = ["client_secret_basic", "client_secret_post", "none"];
    let Value::Object(m) = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "jwks_uri": format!("{iss}/jwks.json"),
        "introspection_endpoint": format!("{iss}/oauth/introspect"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "userinfo_endpoint": format!("{iss}/oauth/userinfo"),
        "end_session_endpoint": format!("{iss}/oauth/logout"),
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "subject_types_supported": ["public", "pairwise"],
        "claims_supported": portcullis_core::oidc::claims::supported(),
        "claim_types_supported": ["normal"],
        "display_values_supported": ["page", "popup", "touch", "wap"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "token_endpoint_auth_methods_supported": any,
        // Only a confidential client may ask what a token means.
        "introspection_endpoint_auth_methods_supported": confidential,
        // RFC 7009 §2.1: a public client revokes with its client_id.
        "revocation_endpoint_auth_methods_supported": any,
        // Not a registered name (RFC 8414 has none for access tokens): it
        // tells resource servers such as portcullis-guard which algorithms
        // to accept, beside the registered fields above.
        "access_token_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
    }) else {
        unreachable!("a JSON object literal")
    };
    let mut m = m;
    if s.registration.mode != portcullis_core::registration::RegistrationMode::Off {
        m.insert(
            "registration_endpoint".into(),
            json!(format!("{iss}/oauth/register")),
        );
    }
    if s.client_documents.enabled {
        // draft-ietf-oauth-client-id-metadata-document §4.
        m.insert("client_id_metadata_document_supported".into(), json!(true));
    }
    m
}

/// The whole document. `id_token_algs`: those some key signs with now.
pub fn document(
    fixed: &Map<String, Value>,
    advertised: &Advertised,
    id_token_algs: &[&str],
) -> Value {
    let mut m = fixed.clone();
    m.insert(
        "id_token_signing_alg_values_supported".into(),
        json!(id_token_algs),
    );
    let (grants, responses, modes): (&[&str], &[&str], &[&str]) = if advertised.implicit {
        (
            &[
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "implicit",
            ],
            &["code", "token"],
            &["query", "fragment"],
        )
    } else {
        (
            &["authorization_code", "client_credentials", "refresh_token"],
            &["code"],
            &["query"],
        )
    };
    m.insert("grant_types_supported".into(), json!(grants));
    m.insert("response_types_supported".into(), json!(responses));
    m.insert("response_modes_supported".into(), json!(modes));
    m.insert("scopes_supported".into(), json!(advertised.scopes));
    Value::Object(m)
}

pub async fn get(State(state): State<AppState>) -> Response {
    serve(&state).await
}

/// `/.well-known/openid-configuration`: the same document.
pub async fn openid(State(state): State<AppState>) -> Response {
    serve(&state).await
}

async fn serve(state: &AppState) -> Response {
    let keys = state.server.keys().current();
    let mut algs: Vec<&str> = keys.signing_algs().map(|a| a.as_str()).collect();
    // RS256 first: OIDC Core §15.1 requires it and it is the default.
    algs.sort_by_key(|a| *a != "RS256");
    match state.server.advertised().await {
        Ok(advertised) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                // Short: a scope or client registered now shows within a minute.
                (header::CACHE_CONTROL, "public, max-age=60"),
            ],
            document(&state.metadata, &advertised, &algs).to_string(),
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}
