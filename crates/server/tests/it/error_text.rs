//! Hostile text in every parameter of every OAuth endpoint: each error's
//! `error_description` holds only what RFC 6749 §5.2 allows
//! (%x20-21 / %x23-5B / %x5D-7E), and so does every `WWW-Authenticate`
//! value (RFC 6750 §3). Input is described, never echoed.

use serde_json::{Map, Value};

use crate::authcode::{CB, setup};
use crate::support::{TestClient, TestServer, location, params_of, pkce_pair};

const HOSTILE: &[&str] = &[
    "\0",
    "a\u{1}b",
    "\"",
    "\\",
    "x\"y\\z",
    "\\u{1}",
    "é",
    "\u{202e}evil",
    "\r\nx-injected: 1",
    "\t",
    "\u{7f}",
    "%00",
    "client_credentials\0",
    "😀",
];

fn allowed(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

fn check_description(d: &str, what: &str) {
    assert!(d.chars().all(allowed), "{what}: error_description {d:?}");
}

/// Visible ASCII, and every quoted value within the allowed set.
fn check_challenge(v: &str, what: &str) {
    assert!(
        v.chars().all(|c| (' '..='~').contains(&c)),
        "{what}: WWW-Authenticate {v:?}"
    );
    for (i, part) in v.split('"').enumerate() {
        if i % 2 == 1 {
            assert!(part.chars().all(allowed), "{what}: WWW-Authenticate {v:?}");
        }
    }
}

async fn check_response(res: reqwest::Response, what: &str) -> u16 {
    let status = res.status().as_u16();
    assert!(status < 500, "{what}: {status}");
    for v in res.headers().get_all("www-authenticate") {
        check_challenge(v.to_str().expect("visible ASCII"), what);
    }
    if let Ok(body) = res.json::<Value>().await
        && let Some(d) = body.get("error_description")
    {
        check_description(d.as_str().expect("a string"), what);
    }
    status
}

/// The request's parameters with `name` set to `value` (or, with `repeat`,
/// added a second time).
fn variant(
    base: &[(String, String)],
    name: &str,
    value: &str,
    repeat: bool,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = base
        .iter()
        .filter(|(n, _)| repeat || n != name)
        .cloned()
        .collect();
    out.push((name.to_owned(), value.to_owned()));
    out
}

async fn send(
    s: &TestServer,
    path: &str,
    params: &[(String, String)],
    json: bool,
    basic: Option<&TestClient>,
) -> reqwest::Response {
    let mut req = s.http.post(s.url(path));
    if let Some(c) = basic {
        req = req.basic_auth(c.id.as_str(), Some(c.secret.expose()));
    }
    if json {
        // A JSON object cannot repeat a name through serde_json's map, so
        // repeats are written by hand.
        let body = params
            .iter()
            .map(|(n, v)| format!("{}:{}", Value::from(n.as_str()), Value::from(v.as_str())))
            .collect::<Vec<_>>()
            .join(",");
        req.header("content-type", "application/json")
            .body(format!("{{{body}}}"))
    } else {
        req.form(params)
    }
    .send()
    .await
    .unwrap()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn token_introspection_and_revocation_errors_never_echo_input() {
    let (s, c) = setup().await;
    let cc = s.client("read").await;
    let secret = cc.secret.expose().to_owned();
    let id = cc.id.to_string();
    let requests: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "/oauth/token",
            owned(&[
                ("grant_type", "client_credentials"),
                ("scope", "read"),
                ("client_id", &id),
                ("client_secret", &secret),
            ]),
        ),
        (
            "/oauth/token",
            owned(&[
                ("grant_type", "authorization_code"),
                ("code", "abc"),
                ("redirect_uri", CB),
                ("code_verifier", "v"),
                ("client_id", c.id.as_str()),
                ("client_secret", c.secret.expose()),
            ]),
        ),
        (
            "/oauth/token",
            owned(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "abc"),
                ("scope", "read"),
                ("client_id", c.id.as_str()),
                ("client_secret", c.secret.expose()),
            ]),
        ),
        (
            "/oauth/introspect",
            owned(&[
                ("token", "abc"),
                ("token_type_hint", "access_token"),
                ("client_id", &id),
                ("client_secret", &secret),
            ]),
        ),
        (
            "/oauth/revoke",
            owned(&[
                ("token", "abc"),
                ("token_type_hint", "refresh_token"),
                ("client_id", &id),
                ("client_secret", &secret),
            ]),
        ),
    ];
    let mut statuses = std::collections::BTreeMap::new();
    for (path, base) in &requests {
        let mut names: Vec<String> = base.iter().map(|(n, _)| n.clone()).collect();
        names.extend(HOSTILE.iter().map(|h| h.to_string()));
        for name in &names {
            for value in HOSTILE {
                for repeat in [false, true] {
                    for json in [false, true] {
                        let params = variant(base, name, value, repeat);
                        let what = format!("{path} {name:?}={value:?} repeat={repeat} json={json}");
                        let status =
                            check_response(send(&s, path, &params, json, None).await, &what).await;
                        *statuses.entry(status).or_insert(0) += 1;
                    }
                }
            }
        }
        // Hostile credentials in HTTP Basic, with the body's own removed.
        let body: Vec<(String, String)> = base
            .iter()
            .filter(|(n, _)| !n.starts_with("client_"))
            .cloned()
            .collect();
        for value in HOSTILE {
            let hostile = TestClient {
                id: portcullis_protocol::ClientId::new(*value),
                secret: portcullis_protocol::Secret::new(*value),
            };
            let what = format!("{path} basic {value:?}");
            check_response(send(&s, path, &body, false, Some(&hostile)).await, &what).await;
        }
    }
    // The requests reached the error paths, not only the parser.
    for code in [400, 401] {
        assert!(
            statuses.get(&code).copied().unwrap_or(0) > 50,
            "{statuses:?}"
        );
    }
}

#[tokio::test]
async fn authorization_error_redirects_never_echo_input() {
    let (s, c) = setup().await;
    let (_, challenge) = pkce_pair();
    let base = owned(&[
        ("response_type", "code"),
        ("client_id", c.id.as_str()),
        ("redirect_uri", CB),
        ("scope", "read"),
        ("state", "st4te"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("prompt", "none"),
    ]);
    let mut redirects = 0;
    for (name, _) in &base {
        for value in HOSTILE {
            for repeat in [false, true] {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(variant(&base, name, value, repeat))
                    .finish();
                let what = format!("authorize {name}={value:?} repeat={repeat}");
                let res = s
                    .http
                    .get(s.url(&format!("/oauth/authorize?{query}")))
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().as_u16() < 500, "{what}: {}", res.status());
                if res.status().is_redirection() {
                    let to = location(&res);
                    if to.starts_with(CB) {
                        redirects += 1;
                        let p = params_of(&to);
                        assert!(p.contains_key("error"), "{what}: {to}");
                        check_description(&p["error_description"], &what);
                    }
                }
            }
        }
    }
    assert!(redirects > 50, "{redirects}");

    // The JSON of a token error is the same whatever the content type.
    let mut obj = Map::new();
    obj.insert("grant_type".into(), "\u{1}\"\\".into());
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(c.id.as_str(), Some(c.secret.expose()))
        .json(&obj)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    assert_eq!(
        body["error_description"],
        "grant_type contains control characters"
    );
}
