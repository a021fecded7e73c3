//! Who calls the admin API, and with which role.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use portcullis_core::AuthServer;
use portcullis_core::admin::Acting;
use portcullis_core::policy::Actor;
use portcullis_protocol::{Secret, UserId};
use subtle::ConstantTimeEq;

use super::problem::Problem;
use crate::AppState;
use crate::pages::{Cookies, cookie};

pub use portcullis_core::server::ADMIN_SCOPE;

/// An authenticated caller, as the policy in core knows them. What they may
/// do is decided there, never here.
pub struct Caller(pub Actor);

impl Caller {
    pub fn on(self, server: &AuthServer) -> Acting<'_> {
        server.acting_as(self.0)
    }

    /// The caller's own user id, for defaults such as a new client's owner.
    pub fn user_id(&self) -> Option<&UserId> {
        match &self.0 {
            Actor::User { id, .. } => Some(id),
            _ => None,
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let server = &state.server;
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(Problem::unauthorized)?;
            return Ok(Self(server.admin_actor_for_key(token.trim()).await?));
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
        Ok(Self(Actor::from(&user)))
    }
}
