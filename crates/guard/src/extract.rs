//! Finding the credential in a request, in the places a policy enables.

use std::fmt;

use http::{HeaderMap, HeaderName, Uri, header};

use crate::config::Policy;
use crate::error::GuardError;

/// The credential(s) a request carries. `Debug` shows only the shape.
pub(crate) enum Presented {
    Token(String),
    ApiKey(String),
    TokenAndApiKey { token: String, api_key: String },
}

impl fmt::Debug for Presented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token(_) => "Token([redacted])",
            Self::ApiKey(_) => "ApiKey([redacted])",
            Self::TokenAndApiKey { .. } => "TokenAndApiKey([redacted])",
        })
    }
}

/// Whether `policy` needs the body of a request with these headers.
pub(crate) fn wants_form(policy: &Policy, headers: &HeaderMap) -> bool {
    policy.form_param.is_some() && is_form(headers)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Collect the credential from every enabled place. `form` is the buffered
/// body, when the policy reads forms and the request is one.
pub(crate) fn find(
    policy: &Policy,
    realm: &std::sync::Arc<str>,
    hint: &std::sync::Arc<str>,
    headers: &HeaderMap,
    uri: &Uri,
    form: Option<&[u8]>,
) -> Result<Presented, GuardError> {
    let mut tokens: Vec<String> = Vec::new();
    if policy.bearer {
        for value in headers.get_all(header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| not_ascii(&header::AUTHORIZATION))?;
            // Other schemes (Basic, ...) are not ours to judge.
            if let Some(token) = strip_bearer(value) {
                tokens.push(token.to_owned());
            }
        }
    }
    for name in &policy.token_headers {
        for value in headers.get_all(name) {
            tokens.push(
                value
                    .to_str()
                    .map_err(|_| not_ascii(name))?
                    .trim()
                    .to_owned(),
            );
        }
    }
    if let (Some(param), Some(query)) = (&policy.query_param, uri.query()) {
        collect_param(query.as_bytes(), param, &mut tokens);
    }
    if let (Some(param), Some(body)) = (&policy.form_param, form) {
        collect_param(body, param, &mut tokens);
    }
    let token = single(
        tokens,
        "the access token was sent more than once; use one method (RFC 6750 section 2)",
    )?;

    let api_key = match &policy.api_key {
        Some(rule) => {
            let mut keys = Vec::new();
            for value in headers.get_all(&rule.header) {
                keys.push(
                    value
                        .to_str()
                        .map_err(|_| not_ascii(&rule.header))?
                        .trim()
                        .to_owned(),
                );
            }
            single(keys, "the API key was sent more than once")?
        }
        None => None,
    };

    let with_token = policy.api_key.as_ref().is_some_and(|r| r.with_token);
    match (token, api_key) {
        (None, None) => Err(GuardError::MissingCredential {
            realm: realm.clone(),
            hint: hint.clone(),
        }),
        (Some(token), None) if !with_token => Ok(Presented::Token(token)),
        (None, Some(key)) if !with_token => Ok(Presented::ApiKey(key)),
        (Some(token), Some(api_key)) if with_token => {
            Ok(Presented::TokenAndApiKey { token, api_key })
        }
        (Some(_), Some(_)) => Err(GuardError::invalid_request(
            "send either an access token or an API key, not both",
        )),
        // One half of a pair: the client tried, so this is not §3.1's bare
        // challenge but a refusal that says what is missing.
        (Some(_), None) | (None, Some(_)) => Err(GuardError::InvalidToken(hint.to_string().into())),
    }
}

/// `Bearer <token>`, the scheme matched case-insensitively (RFC 9110 §11.1).
fn strip_bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn collect_param(encoded: &[u8], name: &str, out: &mut Vec<String>) {
    out.extend(
        form_urlencoded::parse(encoded)
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned()),
    );
}

/// The one value sent, or `invalid_request` if different values were sent;
/// the same value in two places is harmless and tolerated.
fn single(mut values: Vec<String>, twice: &'static str) -> Result<Option<String>, GuardError> {
    values.dedup();
    if values.len() > 1 {
        values.sort_unstable();
        values.dedup();
    }
    match values.len() {
        0 => Ok(None),
        1 => Ok(values.pop()),
        _ => Err(GuardError::invalid_request(twice)),
    }
}

fn not_ascii(name: &HeaderName) -> GuardError {
    GuardError::InvalidRequest(format!("the `{name}` header is not visible ASCII").into())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{ACCESS_TOKEN, ACCESS_TOKEN_PARAM, X_ACCESS_TOKEN, X_API_KEY};

    fn run(
        policy: &Policy,
        headers: &[(&str, &str)],
        uri: &str,
        form: Option<&str>,
    ) -> Result<Presented, GuardError> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let realm: Arc<str> = "api".into();
        let hint: Arc<str> = policy.describe().into();
        find(
            policy,
            &realm,
            &hint,
            &map,
            &uri.parse().unwrap(),
            form.map(str::as_bytes),
        )
    }

    fn token(r: Result<Presented, GuardError>) -> String {
        match r {
            Ok(Presented::Token(t)) => t,
            other => panic!("expected a token, got {other:?}"),
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_other_schemes_ignored() {
        let p = Policy::bearer();
        assert_eq!(
            token(run(&p, &[("authorization", "bearer abc")], "/", None)),
            "abc"
        );
        assert_eq!(
            token(run(&p, &[("authorization", "Bearer  abc ")], "/", None)),
            "abc"
        );
        assert!(matches!(
            run(&p, &[("authorization", "Basic Zm9vOmJhcg==")], "/", None),
            Err(GuardError::MissingCredential { .. })
        ));
    }

    #[test]
    fn disabled_places_are_not_read() {
        let p = Policy::bearer();
        assert!(matches!(
            run(
                &p,
                &[("access_token", "t"), ("x-access-token", "t")],
                "/?access_token=t",
                Some("access_token=t")
            ),
            Err(GuardError::MissingCredential { .. })
        ));
    }

    #[test]
    fn every_enabled_place_is_read() {
        let p = Policy::bearer()
            .with_token_header(ACCESS_TOKEN)
            .with_query_param(ACCESS_TOKEN_PARAM)
            .with_form_param(ACCESS_TOKEN_PARAM);
        assert_eq!(token(run(&p, &[("access_token", "h")], "/", None)), "h");
        assert_eq!(token(run(&p, &[], "/?a=1&access_token=q%2B", None)), "q+");
        assert_eq!(token(run(&p, &[], "/", Some("x=1&access_token=f"))), "f");
        // The same value twice is one token.
        assert_eq!(
            token(run(
                &p,
                &[("authorization", "Bearer s")],
                "/?access_token=s",
                None
            )),
            "s"
        );
    }

    #[test]
    fn different_values_in_two_places_are_a_bad_request() {
        let p = Policy::bearer().with_query_param(ACCESS_TOKEN_PARAM);
        assert!(matches!(
            run(
                &p,
                &[("authorization", "Bearer a")],
                "/?access_token=b",
                None
            ),
            Err(GuardError::InvalidRequest(_))
        ));
        assert!(matches!(
            run(
                &p,
                &[],
                "/?access_token=a&access_token=b&access_token=a",
                None
            ),
            Err(GuardError::InvalidRequest(_))
        ));
    }

    #[test]
    fn pair_needs_both_halves() {
        let p = Policy::token_and_api_key(X_ACCESS_TOKEN, X_API_KEY);
        assert!(matches!(
            run(
                &p,
                &[("x-access-token", "t"), ("x-api-key", "k")],
                "/",
                None
            ),
            Ok(Presented::TokenAndApiKey { .. })
        ));
        assert!(matches!(
            run(&p, &[("x-access-token", "t")], "/", None),
            Err(GuardError::InvalidToken(_))
        ));
        assert!(matches!(
            run(&p, &[("x-api-key", "k")], "/", None),
            Err(GuardError::InvalidToken(_))
        ));
        assert!(matches!(
            run(&p, &[], "/", None),
            Err(GuardError::MissingCredential { .. })
        ));
    }

    #[test]
    fn api_key_alone_is_not_mixed_with_a_token() {
        let p = Policy::bearer().with_api_key(X_API_KEY);
        assert!(matches!(
            run(&p, &[("x-api-key", "k")], "/", None),
            Ok(Presented::ApiKey(_))
        ));
        assert!(matches!(
            run(
                &p,
                &[("x-api-key", "k"), ("authorization", "Bearer t")],
                "/",
                None
            ),
            Err(GuardError::InvalidRequest(_))
        ));
    }

    #[test]
    fn debug_hides_the_credential() {
        let shown = format!("{:?}", Presented::Token("secret-token".into()));
        assert!(!shown.contains("secret-token"));
    }

    #[test]
    fn only_form_content_types_are_read() {
        let p = Policy::bearer().with_form_param(ACCESS_TOKEN_PARAM);
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        assert!(wants_form(&p, &h));
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(!wants_form(&p, &h));
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert!(!wants_form(&Policy::bearer(), &h));
    }
}
