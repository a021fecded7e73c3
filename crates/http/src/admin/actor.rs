//! Who calls the admin API, and with which role.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use portcullis_core::model::{OwnerKind, User};
use portcullis_protocol::{Secret, UserId};
use subtle::ConstantTimeEq;

use super::problem::Problem;
use crate::AppState;
use crate::pages::{Cookies, cookie};

pub use portcullis_core::server::ADMIN_SCOPE;

/// An authenticated caller: an admin, or a developer who may only touch
/// what they own.
pub struct Actor {
    pub user: User,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.user.admin
    }

    pub fn require_admin(&self) -> Result<(), Problem> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Problem::forbidden("this needs the admin role"))
        }
    }

    /// May this caller see and change something owned by `owner`?
    pub fn owns(&self, owner: Option<&str>) -> bool {
        self.is_admin() || owner == Some(self.user.id.as_str())
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let server = &state.server;
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(Problem::unauthorized)?;
            let key = server
                .verify_api_key(token.trim())
                .await?
                .ok_or_else(Problem::unauthorized)?;
            if !key.scopes.contains_str(ADMIN_SCOPE) || key.owner_kind != OwnerKind::User {
                return Err(Problem::forbidden(
                    "this API key lacks the portcullis:admin scope or is not owned by a user",
                ));
            }
            let user = server
                .store()
                .find_user(&UserId::new(&key.owner_id))
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(Problem::unauthorized)?;
            return Ok(Self { user });
        }
        // A console session: writes must echo the CSRF cookie in a header,
        // which a cross-site form cannot do.
        let cookies = Cookies::for_issuer(&server.settings().issuer);
        let Some(session) = cookie(&parts.headers, cookies.session_name()) else {
            return Err(Problem::unauthorized());
        };
        let (_, user) = server
            .find_session(&Secret::new(session))
            .await?
            .ok_or_else(Problem::unauthorized)?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            let expected = cookie(&parts.headers, cookies.csrf_name());
            let ok = matches!((sent, expected), (Some(s), Some(e)) if bool::from(s.as_bytes().ct_eq(e.as_bytes())));
            if !ok {
                return Err(Problem::forbidden("missing or wrong X-CSRF-Token header"));
            }
        }
        Ok(Self { user })
    }
}
