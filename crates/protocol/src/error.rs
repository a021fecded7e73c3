//! The one OAuth error type (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 6750 §3.1).
//! The HTTP crate maps it to a status code in exactly one place.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// The closed set of error codes Portcullis sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    UnsupportedTokenType,
    /// RFC 8707 §2: a `resource` that is malformed, unknown or not allowed.
    InvalidTarget,
    ServerError,
    TemporarilyUnavailable,
    /// OpenID Connect's answers to `prompt=none`, which OAuth clients use too.
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    /// OIDC Core §3.1.2.6: request objects are not accepted.
    RequestNotSupported,
    RequestUriNotSupported,
    /// RFC 6750 §3.1: the token lacks a scope the resource needs (403).
    InsufficientScope,
    /// RFC 6750 §3.1: a bearer token (here: a registration or initial
    /// access token) that is missing, unknown or expired.
    InvalidToken,
    /// RFC 7591 §3.2.2.
    InvalidRedirectUri,
    InvalidClientMetadata,
    /// RFC 8628 §3.5, used for any "too many, wait": answered with 429.
    SlowDown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidTarget => "invalid_target",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidToken => "invalid_token",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::SlowDown => "slow_down",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `c` may appear in `error_description` (RFC 6749 §5.2:
/// `%x20-21 / %x23-5B / %x5D-7E`, so no `"`, no `\`, no controls, ASCII only).
/// The same set is safe inside a quoted `WWW-Authenticate` parameter
/// (RFC 6750 §3).
pub fn is_description_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

/// `description` with every character RFC 6749 §5.2 forbids replaced: a
/// description built from a format string can never smuggle input through.
pub fn sanitize_description(description: Cow<'static, str>) -> Cow<'static, str> {
    if description.chars().all(is_description_char) {
        return description;
    }
    Cow::Owned(
        description
            .chars()
            .map(|c| match c {
                c if is_description_char(c) => c,
                '"' => '\'',
                '\\' => '/',
                _ => '?',
            })
            .collect(),
    )
}

/// What is wrong with a parameter's value, without repeating the value:
/// `name` is one of ours, never the client's.
pub fn describe_malformed(name: &str, value: &str) -> String {
    let what = if value.chars().any(char::is_control) {
        "contains control characters"
    } else if !value.is_ascii() {
        "contains characters outside ASCII"
    } else if value.contains(['"', '\\']) {
        "contains a quote or a backslash"
    } else {
        "is malformed"
    };
    format!("{name} {what}")
}

/// An OAuth error: a code, a short description for the client, and an
/// internal cause that is logged but never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Only characters of [`is_description_char`]; [`OAuthError::new`]
    /// replaces any other, and [`OAuthError::body`] checks again.
    pub description: Cow<'static, str>,
    cause: Option<String>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: sanitize_description(description.into()),
            cause: None,
        }
    }

    /// Attach a cause for the log. It must not contain secrets.
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn invalid_target(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidTarget, d)
    }
    pub fn unauthorized_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }
    pub fn unsupported_grant_type(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnsupportedGrantType, d)
    }
    pub fn access_denied(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::AccessDenied, d)
    }
    /// A scope parameter that does not parse, described without repeating it.
    pub fn malformed_scope(value: &str) -> Self {
        let d = describe_malformed("scope", value);
        Self::invalid_scope(if d.ends_with("malformed") {
            "scope is malformed: scope tokens are 1 to 200 printable ASCII characters, separated by spaces".into()
        } else {
            d
        })
    }
    pub fn server_error(cause: impl fmt::Display) -> Self {
        Self::new(ErrorCode::ServerError, "internal error").with_cause(cause)
    }
    pub fn temporarily_unavailable(cause: impl fmt::Display) -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable, retry later",
        )
        .with_cause(cause)
    }

    /// The JSON body of RFC 6749 §5.2. The description is public, so it is
    /// checked again here rather than trusted.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: self.code,
            error_description: sanitize_description(self.description.clone()),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorCode,
    pub error_description: Cow<'a, str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_carries_code_and_description_but_not_cause() {
        let e = OAuthError::invalid_grant("code expired").with_cause("row 7");
        let json = serde_json::to_value(e.body()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": "invalid_grant", "error_description": "code expired"})
        );
        assert_eq!(e.cause(), Some("row 7"));
    }

    #[test]
    fn descriptions_hold_only_the_characters_rfc_6749_allows() {
        let e = OAuthError::invalid_request(format!("bad `{}`", "a\"b\\c\0d\u{1}é\n"));
        assert_eq!(e.description, "bad `a'b/c?d???`");
        assert!(e.description.chars().all(is_description_char));
        let mut e = OAuthError::invalid_grant("fine");
        e.description = "set \"directly\"".into();
        assert_eq!(e.body().error_description, "set 'directly'");
        assert!(matches!(
            sanitize_description(Cow::Borrowed("plain text!")),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn malformed_values_are_described_not_repeated() {
        assert_eq!(
            describe_malformed("grant_type", "x\u{1}"),
            "grant_type contains control characters"
        );
        assert_eq!(
            describe_malformed("scope", "é"),
            "scope contains characters outside ASCII"
        );
        assert_eq!(
            describe_malformed("scope", "a\"b"),
            "scope contains a quote or a backslash"
        );
    }
}
