//! Why a request was refused, rendered as RFC 6750 §3 says.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

/// A refused request. Every variant renders to an HTTP response with
/// [`GuardError::to_response`] (and, with the `axum` feature, `IntoResponse`).
///
/// Descriptions are fixed texts chosen here: they never echo the credential,
/// and causes that could help an attacker (which part of the server failed)
/// are logged instead of sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// No credential where the policy looks: 401 with a bare challenge, as
    /// RFC 6750 §3.1 asks when the client did not try to authenticate.
    #[error("no credential: {hint}")]
    MissingCredential { realm: Arc<str>, hint: Arc<str> },
    /// A credential was sent but is not good: malformed, expired, for another
    /// issuer or audience, badly signed, revoked or unknown. 401.
    #[error("invalid token: {0}")]
    InvalidToken(Cow<'static, str>),
    /// The request itself is wrong, e.g. the token sent twice. 400.
    #[error("invalid request: {0}")]
    InvalidRequest(Cow<'static, str>),
    /// The credential is good but lacks `scope` (the scopes the request
    /// needs, space-separated, as the challenge's `scope` names them). 403.
    #[error("insufficient scope: `{scope}` is required")]
    InsufficientScope { scope: String },
    /// The credential holds `scope`, but a user-approved permission is
    /// checked and the caller is a machine (a client-credentials token or an
    /// API key), which no user approved anything for. 403.
    #[error("`{scope}` needs a user's approval")]
    UserApprovalRequired { scope: String },
    /// A form body too large to search for the token. 413.
    #[error("request body too large")]
    BodyTooLarge,
    /// The authorization server could not be asked (JWKS or introspection).
    /// 503: the credential may well be good, so the client should retry
    /// rather than discard it.
    #[error("the authorization server is unavailable")]
    Unavailable,
    /// This API is set up wrongly (e.g. API keys accepted but no client to
    /// introspect with). 500; the details are in the log.
    #[error("the guard is misconfigured")]
    Misconfigured,
}

impl GuardError {
    pub(crate) fn invalid_token(d: impl Into<Cow<'static, str>>) -> Self {
        Self::InvalidToken(d.into())
    }

    pub(crate) fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::InvalidRequest(d.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingCredential { .. } | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::InsufficientScope { .. } | Self::UserApprovalRequired { .. } => {
                StatusCode::FORBIDDEN
            }
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` of the JSON body (RFC 6750 §3.1 codes where they apply).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingCredential { .. } | Self::InvalidToken(_) => "invalid_token",
            Self::InvalidRequest(_) | Self::BodyTooLarge => "invalid_request",
            Self::InsufficientScope { .. } | Self::UserApprovalRequired { .. } => {
                "insufficient_scope"
            }
            Self::Unavailable => "temporarily_unavailable",
            Self::Misconfigured => "server_error",
        }
    }

    /// The `error_description` of the JSON body and the challenge.
    pub fn description(&self) -> Cow<'_, str> {
        match self {
            Self::MissingCredential { hint, .. } => Cow::Borrowed(hint),
            Self::InvalidToken(d) | Self::InvalidRequest(d) => Cow::Borrowed(d),
            Self::InsufficientScope { scope } if scope.contains(' ') => {
                Cow::Owned(format!("this request requires the scopes `{scope}`"))
            }
            Self::InsufficientScope { scope } => {
                Cow::Owned(format!("this request requires the scope `{scope}`"))
            }
            Self::UserApprovalRequired { scope } => Cow::Owned(format!(
                "this request requires `{scope}` approved by a user; a machine credential cannot carry it"
            )),
            Self::BodyTooLarge => Cow::Borrowed("the request body is too large"),
            Self::Unavailable => {
                Cow::Borrowed("the authorization server is unavailable, retry later")
            }
            Self::Misconfigured => Cow::Borrowed("internal error"),
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3), for the statuses that
    /// carry one. Without the RFC 9728 `resource_metadata` parameter, which
    /// only the guard knows: see [`GuardError::www_authenticate_with_metadata`].
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        self.www_authenticate_with_metadata(None)
    }

    /// [`GuardError::www_authenticate`] with `resource_metadata="URL"` (RFC
    /// 9728 §5.1) added, telling the client where to learn which
    /// authorization server to get a token from.
    /// [`crate::Guard::error_response`] and the layer pass the guard's URL.
    pub fn www_authenticate_with_metadata(
        &self,
        resource_metadata: Option<&str>,
    ) -> Option<HeaderValue> {
        let mut value = match self {
            Self::MissingCredential { realm, .. } => {
                format!("Bearer realm=\"{}\"", quoted(realm))
            }
            Self::InvalidToken(_) | Self::InvalidRequest(_) => format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                self.code(),
                quoted(&self.description())
            ),
            Self::InsufficientScope { scope } | Self::UserApprovalRequired { scope } => format!(
                "Bearer error=\"insufficient_scope\", error_description=\"{}\", scope=\"{}\"",
                quoted(&self.description()),
                quoted(scope)
            ),
            Self::BodyTooLarge | Self::Unavailable | Self::Misconfigured => return None,
        };
        if let Some(url) = resource_metadata {
            value.push_str(&metadata_param(url));
        }
        // Everything above is visible ASCII once quoted; fall back to the bare
        // scheme rather than fail the response if a caller's scope is not.
        Some(HeaderValue::try_from(value).unwrap_or(HeaderValue::from_static("Bearer")))
    }

    /// The complete response: status, challenge and a JSON
    /// `{"error", "error_description"}` body. Generic over the body type so
    /// that any tower stack can use it.
    pub fn to_response<B: From<Bytes>>(&self) -> Response<B> {
        self.to_response_with_metadata(None)
    }

    /// [`GuardError::to_response`] whose challenge names the RFC 9728
    /// metadata document.
    pub fn to_response_with_metadata<B: From<Bytes>>(
        &self,
        resource_metadata: Option<&str>,
    ) -> Response<B> {
        let body = serde_json::json!({
            "error": self.code(),
            "error_description": self.description(),
        });
        let mut res = Response::new(B::from(Bytes::from(body.to_string())));
        *res.status_mut() = self.status();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.www_authenticate_with_metadata(resource_metadata) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if matches!(self, Self::Unavailable) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

/// `, resource_metadata="URL"`, to append to a Bearer challenge.
fn metadata_param(url: &str) -> String {
    format!(", resource_metadata=\"{}\"", quoted(url))
}

/// Add `resource_metadata` to every Bearer challenge in `headers` that lacks
/// one: what the layer does to refusals from the API behind it (a handler's
/// `require_scope` error knows no guard).
pub(crate) fn add_resource_metadata(headers: &mut HeaderMap, url: &str) {
    let challenges: Vec<HeaderValue> = headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .cloned()
        .collect();
    if challenges.is_empty() {
        return;
    }
    let amended: Vec<HeaderValue> = challenges
        .into_iter()
        .map(|v| amend(&v, url).unwrap_or(v))
        .collect();
    headers.remove(header::WWW_AUTHENTICATE);
    for v in amended {
        headers.append(header::WWW_AUTHENTICATE, v);
    }
}

/// One Bearer challenge with `resource_metadata` added; `None` to leave the
/// value as it is (another scheme, several challenges in one value, or the
/// parameter already there).
fn amend(value: &HeaderValue, url: &str) -> Option<HeaderValue> {
    let text = value.to_str().ok()?.trim();
    let (scheme, params) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || params.contains("resource_metadata=") {
        return None;
    }
    let params = params.trim();
    if !only_params(params) {
        return None;
    }
    let amended = if params.is_empty() {
        format!("Bearer{}", &metadata_param(url)[1..])
    } else {
        format!("{text}{}", metadata_param(url))
    };
    HeaderValue::try_from(amended).ok()
}

/// Whether `params` is a bare `name=value, ...` list: a second challenge in
/// the same value would show as `Scheme name=...` after a comma.
fn only_params(params: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    let mut item = String::new();
    let mut items = Vec::new();
    for c in params.chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && c == ',' {
            items.push(std::mem::take(&mut item));
            continue;
        }
        if !quoted {
            item.push(c);
        }
    }
    items.push(item);
    items.iter().all(|i| {
        let i = i.trim();
        i.is_empty()
            || i.split_once('=')
                .is_some_and(|(name, _)| !name.trim().contains(' '))
    })
}

/// Escape for a quoted-string (RFC 9110 §5.6.4), dropping what a header
/// value cannot carry.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(e: &GuardError) -> String {
        e.www_authenticate().unwrap().to_str().unwrap().to_owned()
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        let missing = GuardError::MissingCredential {
            realm: "api".into(),
            hint: "send a token".into(),
        };
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(challenge(&missing), "Bearer realm=\"api\"");

        let bad = GuardError::invalid_token("token expired");
        assert_eq!(
            challenge(&bad),
            "Bearer error=\"invalid_token\", error_description=\"token expired\""
        );

        let scope = GuardError::InsufficientScope {
            scope: "orders:read".into(),
        };
        assert_eq!(scope.status(), StatusCode::FORBIDDEN);
        assert!(challenge(&scope).ends_with("scope=\"orders:read\""));
        assert!(GuardError::Unavailable.www_authenticate().is_none());
    }

    #[test]
    fn quotes_are_escaped() {
        let e = GuardError::MissingCredential {
            realm: "a\"b\\c\n".into(),
            hint: "".into(),
        };
        assert_eq!(challenge(&e), "Bearer realm=\"a\\\"b\\\\c?\"");
    }

    #[test]
    fn challenges_name_the_metadata_document() {
        let url = Some("https://api.example/.well-known/oauth-protected-resource/mcp");
        let missing = GuardError::MissingCredential {
            realm: "api".into(),
            hint: "send a token".into(),
        };
        assert_eq!(
            missing
                .www_authenticate_with_metadata(url)
                .unwrap()
                .to_str()
                .unwrap(),
            "Bearer realm=\"api\", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/mcp\""
        );
        let scope = GuardError::InsufficientScope {
            scope: "mcp:call files:read".into(),
        };
        let res: Response<Bytes> = scope.to_response_with_metadata(url);
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            res.headers()[header::WWW_AUTHENTICATE].to_str().unwrap(),
            "Bearer error=\"insufficient_scope\", error_description=\"this request requires the scopes `mcp:call files:read`\", scope=\"mcp:call files:read\", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/mcp\""
        );
        let quotes = GuardError::invalid_token("x").www_authenticate_with_metadata(Some("a\"b"));
        assert!(
            quotes
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("resource_metadata=\"a\\\"b\"")
        );
    }

    #[test]
    fn foreign_challenges_get_the_parameter_once() {
        let url = "https://api.example/.well-known/oauth-protected-resource";
        let mut h = HeaderMap::new();
        h.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"x\""),
        );
        h.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        h.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("bearer error=\"insufficient_scope\", scope=\"a, b\""),
        );
        h.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"x\", Basic realm=\"y\""),
        );
        add_resource_metadata(&mut h, url);
        add_resource_metadata(&mut h, url);
        let v: Vec<_> = h
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            v,
            [
                "Basic realm=\"x\"",
                "Bearer resource_metadata=\"https://api.example/.well-known/oauth-protected-resource\"",
                "bearer error=\"insufficient_scope\", scope=\"a, b\", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource\"",
                "Bearer realm=\"x\", Basic realm=\"y\"",
            ]
        );
    }

    #[test]
    fn response_has_json_body() {
        let res: Response<Bytes> = GuardError::invalid_request("twice").to_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "invalid_request", "error_description": "twice"})
        );
    }
}
