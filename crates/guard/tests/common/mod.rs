//! A tiny authorization server for the guard's tests and benchmark: metadata,
//! a JWKS it can change on the fly, and introspection of a table of API keys,
//! counting every fetch.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

/// The resource server's client at the test server; the secret has
/// characters that must be form-encoded before Basic (RFC 6749 §2.3.1).
pub const RS_ID: &str = "orders-api";
pub const RS_SECRET: &str = "s3cret/+=:x";
pub const AUD: &str = "api://orders";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[derive(Default)]
pub struct AsState {
    pub issuer: Mutex<String>,
    /// What the metadata says the issuer is (the real one if empty).
    pub claimed_issuer: Mutex<Option<String>>,
    pub algs: Mutex<Vec<String>>,
    pub jwks: Mutex<Vec<Value>>,
    /// Introspection answers by token; unknown tokens are inactive.
    pub api_keys: Mutex<HashMap<String, Value>>,
    pub metadata_fetches: AtomicUsize,
    pub jwks_fetches: AtomicUsize,
    pub introspections: AtomicUsize,
    /// Status the JWKS and introspection endpoints fail with, 0 for none.
    pub jwks_failure: AtomicU16,
    pub introspection_failure: AtomicU16,
}

impl AsState {
    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }
    pub fn introspections(&self) -> usize {
        self.introspections.load(Ordering::SeqCst)
    }
    pub fn publish(&self, signer: &Signer) {
        self.jwks.lock().unwrap().push(signer.jwk.clone());
    }
    pub fn withdraw(&self, kid: &str) {
        self.jwks.lock().unwrap().retain(|k| k["kid"] != kid);
    }
    pub fn add_api_key(&self, key: &str, owner: &str, scope: &str) {
        self.api_keys.lock().unwrap().insert(
            key.to_owned(),
            json!({"active": true, "token_type": "api_key", "sub": owner, "scope": scope,
                   "iat": now(), "exp": now() + 3600}),
        );
    }
    pub fn revoke_api_key(&self, key: &str) {
        self.api_keys.lock().unwrap().remove(key);
    }
}

pub struct TestAs {
    pub issuer: String,
    pub state: Arc<AsState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestAs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestAs {
    /// Start on 127.0.0.1:0, advertising ES256, EdDSA and RS256 like the
    /// real server, with the given keys published.
    pub async fn start(signers: &[&Signer]) -> Self {
        let state = Arc::new(AsState::default());
        *state.algs.lock().unwrap() = vec!["ES256".into(), "EdDSA".into(), "RS256".into()];
        for s in signers {
            state.publish(s);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        *state.issuer.lock().unwrap() = issuer.clone();
        let app = Router::new()
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/jwks.json", get(jwks))
            .route("/oauth/introspect", post(introspect))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            issuer,
            state,
            task,
        }
    }
}

async fn metadata(State(s): State<Arc<AsState>>) -> impl IntoResponse {
    s.metadata_fetches.fetch_add(1, Ordering::SeqCst);
    let iss = s.issuer.lock().unwrap().clone();
    let claimed = s.claimed_issuer.lock().unwrap().clone();
    axum::Json(json!({
        "issuer": claimed.unwrap_or_else(|| iss.clone()),
        "token_endpoint": format!("{iss}/oauth/token"),
        "jwks_uri": format!("{iss}/jwks.json"),
        "introspection_endpoint": format!("{iss}/oauth/introspect"),
        "access_token_signing_alg_values_supported": *s.algs.lock().unwrap(),
    }))
}

async fn jwks(State(s): State<Arc<AsState>>) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let failure = s.jwks_failure.load(Ordering::SeqCst);
    if failure != 0 {
        return StatusCode::from_u16(failure).unwrap().into_response();
    }
    axum::Json(json!({ "keys": *s.jwks.lock().unwrap() })).into_response()
}

async fn introspect(State(s): State<Arc<AsState>>, headers: HeaderMap, body: String) -> Response {
    s.introspections.fetch_add(1, Ordering::SeqCst);
    let failure = s.introspection_failure.load(Ordering::SeqCst);
    if failure != 0 {
        return StatusCode::from_u16(failure).unwrap().into_response();
    }
    if !client_authenticated(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let token = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let answer = s
        .api_keys
        .lock()
        .unwrap()
        .get(&token)
        .cloned()
        .unwrap_or_else(|| json!({"active": false}));
    axum::Json(answer).into_response()
}

fn client_authenticated(headers: &HeaderMap) -> bool {
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            Some(decode(id) == RS_ID && decode(secret) == RS_SECRET)
        })
        .unwrap_or(false)
}

/// A signing key of the test server.
pub struct Signer {
    pub kid: String,
    pub alg: Algorithm,
    key: EncodingKey,
    pub jwk: Value,
}

impl Signer {
    pub fn es256(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }),
        }
    }

    pub fn ed25519(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        Self {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            key: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            }),
        }
    }

    /// The header the real server writes.
    pub fn header(&self) -> Header {
        let mut h = Header::new(self.alg);
        h.typ = Some("at+jwt".into());
        h.kid = Some(self.kid.clone());
        h
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.header(), claims)
    }

    pub fn sign_with(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.key).unwrap()
    }
}

/// Claims as the real server issues them: a user's token for `client_id`.
pub fn claims(issuer: &str, sub: &str, scope: &str) -> Value {
    json!({
        "iss": issuer,
        "sub": sub,
        "aud": AUD,
        "client_id": "web-app",
        "scope": scope,
        "jti": format!("jti-{}", rand_suffix()),
        "iat": now(),
        "exp": now() + 300,
    })
}

pub fn rand_suffix() -> String {
    let bytes: [u8; 8] = portcullis_protocol::secret::random_bytes();
    URL_SAFE_NO_PAD.encode(bytes)
}
