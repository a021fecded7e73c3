pub mod health;
pub mod introspect;
pub mod jwks;
pub mod metadata;
pub mod register;
pub mod revoke;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use portcullis_core::AuthServer;
use portcullis_core::registration::RegistrationMode;

use crate::{AppState, cors, pages};

async fn style() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::STYLE_CSS,
    )
}

pub fn router(server: Arc<AuthServer>) -> Router<AppState> {
    let documents = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::get),
        )
        .route("/.well-known/openid-configuration", get(metadata::openid))
        .route("/jwks.json", get(jwks::get))
        .layer(cors::public_documents());
    let mut client_endpoints = Router::new()
        .route("/oauth/token", post(token::post))
        .route("/oauth/revoke", post(revoke::post))
        .route("/oauth/userinfo", get(userinfo::get).post(userinfo::post))
        .layer(cors::client_endpoints(server.clone()));
    if server.registration_mode() != RegistrationMode::Off {
        client_endpoints = client_endpoints.merge(
            Router::new()
                .route("/oauth/register", post(register::register))
                .route(
                    "/oauth/register/{client_id}",
                    get(register::read)
                        .put(register::update)
                        .delete(register::delete),
                )
                .layer(cors::registration()),
        );
    }
    Router::new()
        .merge(
            documents
                .merge(client_endpoints)
                .layer(axum::middleware::from_fn(cors::preflight_no_content)),
        )
        .route("/oauth/introspect", post(introspect::post))
        .route(
            "/oauth/authorize",
            get(pages::authorize::get).post(pages::authorize::post),
        )
        .route("/oauth/authorize/continue", get(pages::authorize::resume))
        .route("/login", get(pages::login::get).post(pages::login::post))
        .route("/logout", post(pages::login::logout))
        .route(
            "/oauth/logout",
            get(pages::end_session::get).post(pages::end_session::post),
        )
        .route("/oauth/logout/confirm", post(pages::end_session::confirm))
        .route(
            "/consent",
            get(pages::consent::get).post(pages::consent::post),
        )
        .route("/account", get(pages::account::get))
        .route("/account/revoke", post(pages::account::revoke))
        .route("/account/profile", post(pages::account::profile))
        .route("/static/style.css", get(style))
        .route("/healthz", get(health::live))
        .merge(pages::console::routes())
        .merge(crate::admin::routes())
        .route("/readyz", get(health::ready))
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1) for
/// responses that carry tokens or token facts.
pub fn no_store(mut res: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}
