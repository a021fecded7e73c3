//! `/login` and `/logout`.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use portcullis_core::users::LoginError;
use portcullis_protocol::Secret;
use serde::Deserialize;

use super::{ClientAddr, Cookies, Csrf, checked_form, cookie, message, see_other, unavailable};
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    request: Option<String>,
    next: Option<String>,
}

/// Where to go after logging in: the pending request, or a page of ours.
/// Never an arbitrary URL, so login cannot be an open redirect.
fn after_login(request: Option<&str>, next: Option<&str>) -> String {
    match (request, next) {
        (Some(r), _) => format!("/oauth/authorize/continue?request={}", urlencode(r)),
        (None, Some("/account")) => "/account".into(),
        (None, Some("/console")) => "/console".into(),
        _ => "/account".into(),
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    q: &LoginQuery,
    error: Option<&str>,
    username: &str,
) -> Response {
    let csrf = Csrf::for_form(state, headers);
    let res = super::render(
        status,
        "login.html",
        context! {
            csrf => csrf.token,
            request => q.request,
            next => q.next,
            error => error,
            username => username,
        },
    );
    csrf.attach(res)
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    // OIDC Core §3.1.2.1: `login_hint` prefills the username.
    let hint = match &q.request {
        Some(request) => state.server.login_hint(request).await,
        None => None,
    };
    page(
        &state,
        &headers,
        StatusCode::OK,
        &q,
        None,
        hint.as_deref().unwrap_or_default(),
    )
}

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: Bytes,
) -> Response {
    let f = match checked_form(&state, &headers, &body) {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let q = LoginQuery {
        request: f.get("request").map(str::to_owned),
        next: f.get("next").map(str::to_owned),
    };
    let username = f.get("username").unwrap_or_default();
    let password = f.get("password").unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            &q,
            Some("Enter your username and password."),
            username,
        );
    }
    match state.server.login(username, password, &addr).await {
        Ok(user) => {
            let (id, _) = match state.server.create_session(&user).await {
                Ok(s) => s,
                Err(e) => return unavailable(e.into()),
            };
            if let Some(request) = &q.request
                && let Err(e) = state.server.note_login(request, &user).await
            {
                return unavailable(e.into());
            }
            let cookies = Cookies::for_issuer(&state.server.settings().issuer);
            let mut res = see_other(&after_login(q.request.as_deref(), q.next.as_deref()));
            res.headers_mut().append(
                header::SET_COOKIE,
                cookies.set(
                    cookies.session_name(),
                    id.expose(),
                    Some(portcullis_core::session::ABSOLUTE_TIMEOUT),
                ),
            );
            res
        }
        Err(LoginError::Invalid) => page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            &q,
            Some("Wrong username or password."),
            username,
        ),
        Err(LoginError::Throttled { retry_after }) => {
            let mut res = page(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                &q,
                Some(&format!(
                    "Too many failed attempts. Try again in {retry_after} seconds."
                )),
                username,
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            res
        }
        Err(LoginError::Store(e)) => unavailable(e.into()),
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = checked_form(&state, &headers, &body) {
        return refused;
    }
    let cookies = Cookies::for_issuer(&state.server.settings().issuer);
    if let Some(id) = cookie(&headers, cookies.session_name())
        && let Err(e) = state.server.end_session(&Secret::new(id)).await
    {
        return unavailable(e.into());
    }
    let mut res = message(StatusCode::OK, "Signed out", "You have been signed out.");
    res.headers_mut()
        .append(header::SET_COOKIE, cookies.clear(cookies.session_name()));
    res
}
