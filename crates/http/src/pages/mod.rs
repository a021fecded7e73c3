//! The pages the end user sees: login, consent, connected apps, errors.
//! Server-rendered, usable without JavaScript; every POST form carries a
//! CSRF token (double-submit: a random cookie echoed in the form).

pub mod account;
pub mod authorize;
pub mod consent;
pub mod console;
pub mod end_session;
pub mod login;

use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::Environment;
use portcullis_core::model::{Session, User};
use portcullis_protocol::Secret;
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::AppState;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../../templates/base.html")),
        ("login.html", include_str!("../../templates/login.html")),
        ("consent.html", include_str!("../../templates/consent.html")),
        ("account.html", include_str!("../../templates/account.html")),
        ("message.html", include_str!("../../templates/message.html")),
        ("logout.html", include_str!("../../templates/logout.html")),
    ] {
        env.add_template(name, source).expect("templates parse");
    }
    env
});

pub const STYLE_CSS: &str = include_str!("../../static/style.css");

/// Headers every page carries: no script at all, no framing, no referrer.
fn secure(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub fn render(status: StatusCode, template: &str, ctx: impl Serialize) -> Response {
    match TEMPLATES.get_template(template).and_then(|t| t.render(ctx)) {
        Ok(html) => secure((status, Html(html)).into_response()),
        Err(e) => {
            tracing::error!(error = %e, template, "template failed");
            secure((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
        }
    }
}

/// A page with a heading and a sentence: errors and confirmations.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render(status, "message.html", minijinja::context! { title, text })
}

pub fn see_other(location: &str) -> Response {
    secure(Redirect::to(location).into_response())
}

/// Cookie names and attributes follow the issuer: `Secure` and the
/// `__Host-` prefix when it is https.
#[derive(Clone, Copy)]
pub struct Cookies {
    secure: bool,
}

impl Cookies {
    pub fn for_issuer(issuer: &str) -> Self {
        Self {
            secure: issuer.starts_with("https://"),
        }
    }

    pub fn session_name(self) -> &'static str {
        if self.secure {
            "__Host-portcullis_session"
        } else {
            "portcullis_session"
        }
    }

    pub fn csrf_name(self) -> &'static str {
        if self.secure {
            "__Host-portcullis_csrf"
        } else {
            "portcullis_csrf"
        }
    }

    pub fn set(self, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if self.secure {
            c.push_str("; Secure");
        }
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        HeaderValue::from_str(&c).expect("cookie values are base64url")
    }

    pub fn clear(self, name: &str) -> HeaderValue {
        self.set(name, "", Some(0))
    }
}

/// The value of cookie `name`, from any `Cookie` header.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The CSRF token for a form: the browser's existing one, or a new one to
/// set with the response.
pub struct Csrf {
    pub token: String,
    set_cookie: Option<HeaderValue>,
}

impl Csrf {
    pub fn for_form(state: &AppState, headers: &HeaderMap) -> Self {
        let cookies = Cookies::for_issuer(&state.server.settings().issuer);
        match cookie(headers, cookies.csrf_name()) {
            Some(token) => Self {
                token,
                set_cookie: None,
            },
            None => {
                let token = Secret::generate().expose().to_owned();
                let set_cookie = Some(cookies.set(cookies.csrf_name(), &token, None));
                Self { token, set_cookie }
            }
        }
    }

    pub fn attach(&self, mut res: Response) -> Response {
        if let Some(c) = &self.set_cookie {
            res.headers_mut().append(header::SET_COOKIE, c.clone());
        }
        res
    }

    /// A POST passes only if its form field equals the cookie.
    pub fn verify(state: &AppState, headers: &HeaderMap, submitted: Option<&str>) -> bool {
        let cookies = Cookies::for_issuer(&state.server.settings().issuer);
        match (cookie(headers, cookies.csrf_name()), submitted) {
            (Some(c), Some(s)) if !s.is_empty() => c.as_bytes().ct_eq(s.as_bytes()).into(),
            _ => false,
        }
    }
}

pub fn csrf_failed() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "Your browser sent a form we could not verify. Go back, reload the page and try again.",
    )
}

/// The logged-in user, if the session cookie names a live session.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Session, User)>, Response> {
    let cookies = Cookies::for_issuer(&state.server.settings().issuer);
    let Some(id) = cookie(headers, cookies.session_name()) else {
        return Ok(None);
    };
    state
        .server
        .find_session(&Secret::new(id))
        .await
        .map_err(|e| unavailable(portcullis_protocol::OAuthError::from(e)))
}

pub fn unavailable(e: portcullis_protocol::OAuthError) -> Response {
    tracing::error!(error = %e.code, cause = e.cause(), "page failed");
    let status = crate::error::status_of(e.code);
    message(
        status,
        "Something went wrong",
        "The service could not complete this step. Please try again in a moment.",
    )
}

/// The client's address, for throttling failed logins.
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(Self("unknown".into()));
        };
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let ip = portcullis_core::proxy::client_address(
            peer,
            header("forwarded"),
            header("x-forwarded-for"),
            &state.server.settings().trusted_proxies,
        );
        Ok(Self(ip.to_string()))
    }
}

/// Form fields of a page POST, strict like the OAuth endpoints, once its
/// CSRF token checks out: the one gate every page form goes through.
// The error is the page the handler answers with, returned at once: boxing
// it would only add an allocation.
#[allow(clippy::result_large_err)]
pub fn checked_form(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<crate::params::Params, Response> {
    let form = crate::params::Params::from_form(body).map_err(|_| invalid_form())?;
    if !Csrf::verify(state, headers, form.get("csrf")) {
        return Err(csrf_failed());
    }
    Ok(form)
}

pub fn invalid_form() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "Invalid form",
        "The form could not be read.",
    )
}
