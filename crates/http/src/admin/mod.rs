//! The admin API (`/admin/api/v1`): JSON CRUD for clients, users, scope
//! definitions, API keys, signing keys and consents. Callers authenticate
//! with an API key carrying the `portcullis:admin` scope (acting as the
//! key's owning user) or with a browser session plus an `X-CSRF-Token`
//! header on writes. Admins manage everything; developers only their own
//! clients and keys. Errors are RFC 7807 problem JSON.

mod actor;
mod api_keys;
mod clients;
mod consents;
mod problem;
mod registration_tokens;
mod resources;
mod scopes;
mod signing_keys;
mod users;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub use actor::ADMIN_SCOPE;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/v1/openapi.json", get(openapi))
        .route(
            "/admin/api/v1/clients",
            get(clients::list).post(clients::create),
        )
        .route(
            "/admin/api/v1/clients/{id}",
            get(clients::show)
                .patch(clients::update)
                .delete(clients::delete),
        )
        .route(
            "/admin/api/v1/clients/{id}/rotate-secret",
            post(clients::rotate_secret),
        )
        .route("/admin/api/v1/users", get(users::list).post(users::create))
        .route(
            "/admin/api/v1/users/{id}",
            get(users::show).patch(users::update),
        )
        .route(
            "/admin/api/v1/users/{id}/profile",
            axum::routing::put(users::set_profile),
        )
        .route(
            "/admin/api/v1/scopes",
            get(scopes::list).post(scopes::define),
        )
        .route(
            "/admin/api/v1/resources",
            get(resources::list).post(resources::define),
        )
        .route(
            "/admin/api/v1/resources/{uri}",
            axum::routing::delete(resources::delete),
        )
        .route(
            "/admin/api/v1/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/admin/api/v1/api-keys/{id}",
            axum::routing::delete(api_keys::revoke),
        )
        .route("/admin/api/v1/signing-keys", get(signing_keys::list))
        .route(
            "/admin/api/v1/signing-keys/rotate",
            post(signing_keys::rotate),
        )
        .route(
            "/admin/api/v1/registration-tokens",
            post(registration_tokens::create),
        )
        .route("/admin/api/v1/consents", get(consents::list))
        .route(
            "/admin/api/v1/consents/{id}",
            axum::routing::delete(consents::revoke),
        )
}

/// `?limit=&offset=` on every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// At most this many items (1 to 200, default 50).
    pub limit: Option<u32>,
    /// Skip this many items (default 0).
    pub offset: Option<u32>,
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub total: usize,
    pub limit: u32,
    pub offset: u32,
}

impl Paging {
    pub fn apply<T: ToSchema>(&self, all: Vec<T>) -> Result<Page<T>, problem::Problem> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(problem::Problem::bad_request(
                "limit must be between 1 and 200",
            ));
        }
        let offset = self.offset.unwrap_or(0);
        let total = all.len();
        let items = all
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        Ok(Page {
            items,
            total,
            limit,
            offset,
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Portcullis admin API", version = "1"),
    paths(
        clients::list, clients::create, clients::show, clients::update, clients::delete, clients::rotate_secret,
        users::list, users::create, users::show, users::update, users::set_profile,
        scopes::list, scopes::define,
        resources::list, resources::define, resources::delete,
        api_keys::list, api_keys::create, api_keys::revoke,
        signing_keys::list, signing_keys::rotate,
        consents::list, consents::revoke,
        registration_tokens::create,
    ),
    components(schemas(problem::ProblemBody)),
    modifiers(&SecurityAddon, &ProblemResponses),
    security(("api_key" = []))
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (pcs_…) carrying the portcullis:admin scope",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every operation can fail the same few ways; each failure is problem JSON.
/// Documented once here rather than on every handler.
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ProblemBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        let common = [
            ("400", "Malformed request"),
            ("401", "Not authenticated"),
            ("403", "Not allowed for this caller"),
            ("404", "Not found, or not visible to this caller"),
            ("413", "Body too large"),
            ("415", "Body is not JSON"),
            ("422", "Invalid values"),
            ("503", "The store is unavailable"),
        ];
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                let responses = &mut op.responses.responses;
                for (code, description) in common {
                    responses.insert(code.to_owned(), problem(description));
                }
            }
        }
    }
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        ApiDoc::openapi().to_json().unwrap_or_default(),
    )
}
