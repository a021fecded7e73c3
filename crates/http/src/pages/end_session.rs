//! `/oauth/logout`: the end-session endpoint of RP-Initiated Logout 1.0.
//! A relying party sends the browser here (GET or a form POST); with an
//! `id_token_hint` naming the signed-in user the session ends at once,
//! otherwise the user confirms on a page of ours first.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use portcullis_core::oidc::logout::{LogoutPlan, LogoutRequest};
use portcullis_protocol::Secret;

use super::{
    Cookies, Csrf, checked_form, cookie, current_session, message, see_other, unavailable,
};
use crate::AppState;
use crate::params::Params;

fn request_of(p: &Params) -> LogoutRequest {
    let get = |n: &str| p.get(n).map(str::to_owned);
    LogoutRequest {
        id_token_hint: get("id_token_hint"),
        client_id: get("client_id"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        state: get("state"),
    }
}

fn refused(description: &str) -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "This sign-out request is not valid",
        description,
    )
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match Params::from_form(query.unwrap_or_default().as_bytes()) {
        Ok(p) => handle(&state, &headers, &request_of(&p), false).await,
        Err(e) => refused(&e.description),
    }
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match Params::from_form(&body) {
        Ok(p) => handle(&state, &headers, &request_of(&p), false).await,
        Err(e) => refused(&e.description),
    }
}

/// The user's answer on the confirmation page (a form of ours, so CSRF
/// checked).
pub async fn confirm(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f = match checked_form(&state, &headers, &body) {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    handle(&state, &headers, &request_of(&f), true).await
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    req: &LogoutRequest,
    confirmed: bool,
) -> Response {
    let session = match current_session(state, headers).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let checked = match state
        .server
        .check_logout(req, session.as_ref().map(|(s, u)| (s, u)))
        .await
    {
        Ok(c) => c,
        Err(e) if e.code == portcullis_protocol::ErrorCode::ServerError => return unavailable(e),
        Err(e) => return refused(&e.description),
    };
    if let (LogoutPlan::Confirm { client_name }, false) = (&checked.plan, confirmed) {
        let csrf = Csrf::for_form(state, headers);
        let res = super::render(
            StatusCode::OK,
            "logout.html",
            context! {
                csrf => csrf.token,
                client_name => client_name,
                username => session.as_ref().map(|(_, u)| u.username.clone()),
                id_token_hint => req.id_token_hint,
                client_id => req.client_id,
                post_logout_redirect_uri => req.post_logout_redirect_uri,
                state => req.state,
            },
        );
        return csrf.attach(res);
    }
    let cookies = Cookies::for_issuer(&state.server.settings().issuer);
    if session.is_some()
        && let Some(id) = cookie(headers, cookies.session_name())
        && let Err(e) = state.server.end_session(&Secret::new(id)).await
    {
        return unavailable(e.into());
    }
    let mut res = match &checked.redirect {
        Some(uri) => see_other(uri),
        None => message(StatusCode::OK, "Signed out", "You have been signed out."),
    };
    res.headers_mut()
        .append(header::SET_COOKIE, cookies.clear(cookies.session_name()));
    res
}
