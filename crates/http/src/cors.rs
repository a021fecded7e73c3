//! CORS for the endpoints a browser app calls: the metadata and JWKS for
//! anyone (`*`), the token and revocation endpoints for the origins of
//! registered redirect URIs and the configured list. Never credentials:
//! these endpoints take no cookies, so a page gains nothing it could not
//! send itself. Introspection gets none: it is for resource servers with a
//! confidential client's secret, which no page should hold. The user's pages
//! (authorize, login, consent, account, console) and the admin API get none
//! either: they run on cookies, where a cross-origin read is the attack.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use portcullis_core::AuthServer;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// `Access-Control-Allow-Origin: *` for public documents.
pub fn public_documents() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// The token and revocation endpoints: the page's origin must be one of a
/// registered redirect URI's, or configured.
pub fn client_endpoints(server: Arc<AuthServer>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(
            move |origin: HeaderValue, _| {
                let server = server.clone();
                async move {
                    match origin.to_str() {
                        Ok(o) => server.allows_cors_origin(o).await,
                        Err(_) => false,
                    }
                }
            },
        ))
        // GET for userinfo (OIDC Core §5.3.1).
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("dpop"),
        ])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// The registration endpoints, for browser clients (MCP Inspector) that
/// no registered redirect URI vouches for yet: any origin, no cookies; the
/// bearer token is the only credential, and it is sent explicitly.
pub fn registration() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::POST, Method::GET, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// A preflight has no body to send: 204, as the Fetch standard's examples
/// answer (the CORS layer itself answers 200).
pub async fn preflight_no_content(req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut res = next.run(req).await;
    if preflight && res.status() == StatusCode::OK {
        *res.status_mut() = StatusCode::NO_CONTENT;
    }
    res
}
