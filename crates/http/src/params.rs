//! Request parameters of the token, introspection and revocation endpoints,
//! from a form (RFC 6749) or a JSON object (for clients written against
//! JSON token endpoints). Strict: a duplicated parameter, bytes that are not
//! UTF-8, an unsupported content type or an oversized body is
//! `invalid_request`.

use std::collections::BTreeMap;
use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use percent_encoding::percent_decode;
use portcullis_protocol::{OAuthError, ScopeSet};
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::error::ApiError;

/// Bodies over this size are refused.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The one parameter that may be repeated (RFC 8707 §2: one per API).
pub const RESOURCE: &str = "resource";

#[derive(Debug, Default)]
pub struct Params {
    /// Each parameter that may appear once, by name.
    single: BTreeMap<String, String>,
    /// Every `resource`, in order.
    resources: Vec<String>,
}

impl Params {
    /// An absent or empty parameter is `None` (RFC 6749 §3.1: parameters
    /// sent without a value are treated as omitted).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.single.get(name).map(String::as_str)
    }

    pub fn take(&mut self, name: &str) -> Option<String> {
        self.single.remove(name)
    }

    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{name}`")))
    }

    /// Every `resource` parameter, in order.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    pub fn scope(&self) -> Result<Option<ScopeSet>, OAuthError> {
        self.get("scope")
            .map(|s| ScopeSet::parse(s).map_err(|_| OAuthError::malformed_scope(s)))
            .transpose()
    }

    fn insert(&mut self, name: String, value: String) -> Result<(), OAuthError> {
        if value.is_empty() {
            return Ok(());
        }
        if name == RESOURCE {
            self.resources.push(value);
            return Ok(());
        }
        if self.single.contains_key(&name) {
            return Err(OAuthError::invalid_request(format!(
                "{} is repeated",
                parameter(&name)
            )));
        }
        self.single.insert(name, value);
        Ok(())
    }

    pub fn from_form(body: &[u8]) -> Result<Self, OAuthError> {
        let mut params = Params::default();
        for (name, value) in form_pairs(body)? {
            params.insert(name, value)?;
        }
        Ok(params)
    }

    pub fn from_json(body: &[u8]) -> Result<Self, OAuthError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let mut refused = None;
        let params = de
            .deserialize_map(ParamsVisitor {
                refused: &mut refused,
            })
            .map_err(|e| {
                refused.take().unwrap_or_else(|| {
                    OAuthError::invalid_request(format!("malformed JSON body: {}", json_reason(&e)))
                })
            })?;
        de.end()
            .map_err(|_| OAuthError::invalid_request("malformed JSON body: trailing characters"))?;
        Ok(params)
    }
}

/// Every name/value pair of a form or query string, in order, repeats
/// included; only bytes that are not UTF-8 are an error.
pub fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            Ok((form_decode(name)?, form_decode(value)?))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a
/// byte, and the bytes must be UTF-8.
fn form_decode(raw: &[u8]) -> Result<String, OAuthError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| OAuthError::invalid_request("request body is not valid UTF-8"))
}

/// The parameters the endpoints read, named in errors; any other name is
/// the client's text and is not repeated back.
const KNOWN: &[&str] = &[
    "grant_type",
    "scope",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
    "resource",
];

fn parameter(name: &str) -> String {
    match KNOWN.iter().find(|k| **k == name) {
        Some(k) => format!("parameter `{k}`"),
        None => "a parameter".to_owned(),
    }
}

/// The JSON error's category and position, without echoing input (serde's
/// own messages quote the offending value).
fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => "the body must be a JSON object of string parameters".to_owned(),
        Category::Syntax | Category::Eof | Category::Io => {
            format!("syntax error at line {} column {}", e.line(), e.column())
        }
    }
}

/// Reads a JSON object into [`Params`]; a parameter it refuses leaves its
/// own error in `refused`, since serde's error type carries only text.
struct ParamsVisitor<'a> {
    refused: &'a mut Option<OAuthError>,
}

impl<'de> Visitor<'de> for ParamsVisitor<'_> {
    type Value = Params;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of string parameters")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
        let mut params = Params::default();
        while let Some(name) = map.next_key::<String>()? {
            let value: serde_json::Value = map.next_value()?;
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                // Several resources in JSON: an array of strings.
                serde_json::Value::Array(items)
                    if name == RESOURCE && items.iter().all(serde_json::Value::is_string) =>
                {
                    for item in items {
                        if let serde_json::Value::String(s) = item {
                            params.resources.push(s);
                        }
                    }
                    continue;
                }
                _ => {
                    let e = OAuthError::invalid_request(format!(
                        "malformed JSON body: {} must be a string",
                        parameter(&name)
                    ));
                    let text = e.description.to_string();
                    *self.refused = Some(e);
                    return Err(de::Error::custom(text));
                }
            };
            if let Err(e) = params.insert(name, value) {
                let text = e.description.to_string();
                *self.refused = Some(e);
                return Err(de::Error::custom(text));
            }
        }
        Ok(params)
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let json = match content_type.as_deref() {
            Some("application/x-www-form-urlencoded") => false,
            Some("application/json") => true,
            _ => {
                return Err(OAuthError::invalid_request(
                    "Content-Type must be application/x-www-form-urlencoded or application/json",
                )
                .into());
            }
        };
        let body = Bytes::from_request(req, state).await.map_err(|_| {
            OAuthError::invalid_request(format!(
                "request body missing or larger than {} KiB",
                MAX_BODY_BYTES / 1024
            ))
        })?;
        let params = if json {
            Params::from_json(&body)?
        } else {
            Params::from_form(&body)?
        };
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decodes_plus_and_percent() {
        let p = Params::from_form(b"scope=a+b%20c&grant_type=client_credentials").unwrap();
        assert_eq!(p.get("scope"), Some("a b c"));
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
    }

    #[test]
    fn empty_values_are_omitted_and_duplicates_refused() {
        let p = Params::from_form(b"scope=&x").unwrap();
        assert_eq!(p.get("scope"), None);
        let e = Params::from_form(b"scope=a&scope=b").unwrap_err();
        assert!(e.description.contains("repeated"));
    }

    #[test]
    fn non_utf8_is_refused() {
        assert!(Params::from_form(b"scope=%FF").is_err());
        assert!(Params::from_form(b"scope=\xff").is_err());
    }

    #[test]
    fn json_takes_strings_only_and_refuses_duplicates() {
        let p = Params::from_json(br#"{"grant_type":"client_credentials","scope":null}"#).unwrap();
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("scope"), None);
        assert!(Params::from_json(br#"{"a":"1","a":"2"}"#).is_err());
        assert!(Params::from_json(br#"{"a":1}"#).is_err());
        assert!(Params::from_json(br#"["a"]"#).is_err());
        assert!(Params::from_json(br#"{"a":"1"} x"#).is_err());
        assert!(Params::from_json(b"{\"a\":\"\xff\"}").is_err());
    }
}
