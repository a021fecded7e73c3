//! Where a client's credentials come from (RFC 6749 §2.3.1): HTTP Basic, or
//! `client_id`/`client_secret` in the body (form or JSON). Using both is
//! refused, as the RFC says a client must use only one method.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;
use portcullis_core::client_auth::ClientCredentials;
use portcullis_protocol::{ClientId, OAuthError, Secret};

use crate::params::Params;

pub fn extract(headers: &HeaderMap, params: &mut Params) -> Result<ClientCredentials, OAuthError> {
    let body_id = params.take("client_id");
    let body_secret = params.take("client_secret").map(Secret::new);
    let Some(auth) = headers.get(header::AUTHORIZATION) else {
        let client_id =
            body_id.ok_or_else(|| OAuthError::invalid_client("client authentication required"))?;
        return Ok(ClientCredentials {
            client_id: ClientId::new(client_id),
            secret: body_secret,
        });
    };
    let (id, secret) = parse_basic(auth.as_bytes())?;
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "use one client authentication method: HTTP Basic or client_secret in the body, not both",
        ));
    }
    if body_id.is_some_and(|b| b != id) {
        return Err(OAuthError::invalid_request(
            "client_id in the body differs from the one in the Authorization header",
        ));
    }
    Ok(ClientCredentials {
        client_id: ClientId::new(id),
        secret: Some(Secret::new(secret)),
    })
}

fn parse_basic(value: &[u8]) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let value = std::str::from_utf8(value).map_err(|_| bad())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "the token endpoint takes HTTP Basic client authentication",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((form_unescape(id), form_unescape(secret)))
}

/// RFC 6749 §2.3.1 form-encodes id and secret before Basic encoding; most
/// clients send them plain. Generated ids and secrets are URL-safe, so
/// decoding is harmless for the plain form; a value that does not decode to
/// UTF-8 is taken as it came.
fn form_unescape(s: &str) -> String {
    if !s.contains(['%', '+']) {
        return s.to_owned();
    }
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn basic_plain_and_form_encoded() {
        let plain = format!("Basic {}", STANDARD.encode("id1:s3cret"));
        let c = extract(&headers(&plain), &mut Params::default()).unwrap();
        assert_eq!(c.client_id.as_str(), "id1");
        assert_eq!(c.secret.unwrap().expose(), "s3cret");

        let encoded = format!("Basic {}", STANDARD.encode("my%20app:a%2Bb+c"));
        let c = extract(&headers(&encoded), &mut Params::default()).unwrap();
        assert_eq!(c.client_id.as_str(), "my app");
        assert_eq!(c.secret.unwrap().expose(), "a+b c");
    }

    #[test]
    fn two_methods_at_once_is_invalid_request() {
        let basic = format!("Basic {}", STANDARD.encode("id1:s"));
        let mut p = Params::from_form(b"client_secret=s").unwrap();
        let e = extract(&headers(&basic), &mut p).unwrap_err();
        assert_eq!(e.code, portcullis_protocol::ErrorCode::InvalidRequest);
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        for v in [
            "Basic !!!",
            "Basic",
            "Bearer abc",
            &format!("Basic {}", STANDARD.encode("nocolon")),
        ] {
            let e = extract(&headers(v), &mut Params::default()).unwrap_err();
            assert_eq!(e.code, portcullis_protocol::ErrorCode::InvalidClient, "{v}");
        }
    }

    #[test]
    fn body_credentials() {
        let mut p = Params::from_form(b"client_id=c&client_secret=s").unwrap();
        let c = extract(&HeaderMap::new(), &mut p).unwrap();
        assert_eq!(c.client_id.as_str(), "c");
        assert_eq!(c.secret.unwrap().expose(), "s");
        let e = extract(&HeaderMap::new(), &mut Params::default()).unwrap_err();
        assert_eq!(e.code, portcullis_protocol::ErrorCode::InvalidClient);
    }
}
