//! The routes of the example protected API, one `whoami` per credential
//! policy. Kept apart from `main.rs` so the end-to-end tests serve exactly
//! these routes.

use axum::routing::get;
use axum::{Json, Router};
use portcullis_guard::{
    ACCESS_TOKEN, ACCESS_TOKEN_PARAM, Guard, GuardError, Policy, Principal, X_ACCESS_TOKEN,
    X_API_KEY,
};

async fn whoami(principal: Principal) -> Json<Principal> {
    Json(principal)
}

async fn orders(principal: Principal) -> Result<Json<serde_json::Value>, GuardError> {
    principal.require_scope("orders:read")?;
    Ok(Json(
        serde_json::json!({ "orders": [], "for": principal.subject }),
    ))
}

/// `/bearer`, `/flexible`, `/paired` and `/server`, each behind its policy.
pub fn app(guard: &Guard) -> Router {
    // One guard, one set of caches; a policy per API.
    let bearer = Router::new()
        .route("/whoami", get(whoami))
        .route("/orders", get(orders))
        .layer(guard.with_policy(Policy::bearer()).layer());
    let flexible = Router::new()
        .route("/whoami", get(whoami).post(whoami))
        .layer(
            guard
                .with_policy(
                    Policy::bearer()
                        .with_token_header(ACCESS_TOKEN)
                        .with_query_param(ACCESS_TOKEN_PARAM)
                        .with_form_param(ACCESS_TOKEN_PARAM),
                )
                .layer(),
        );
    let paired = Router::new().route("/whoami", get(whoami)).layer(
        guard
            .with_policy(Policy::token_and_api_key(X_ACCESS_TOKEN, X_API_KEY))
            .layer(),
    );
    let server = Router::new()
        .route("/whoami", get(whoami))
        .layer(guard.with_policy(Policy::api_key(X_API_KEY)).layer());
    Router::new()
        .nest("/bearer", bearer)
        .nest("/flexible", flexible)
        .nest("/paired", paired)
        .nest("/server", server)
}
