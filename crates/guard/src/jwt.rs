//! Local verification of JWT access tokens (RFC 9068) against the server's
//! published keys.
//!
//! The JWKS is fetched, parsed into verification keys once, and shared by
//! every request until it is replaced. An unknown `kid` triggers a refetch —
//! that is how a rotated-in key is learned — but at most one per
//! [`GuardConfig::jwks_refetch_interval`], so tokens with made-up `kid`s
//! cost the authorization server next to nothing. A failed fetch waits out
//! the same interval, so a server that is down is not hammered either.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use portcullis_protocol::claims::ACCESS_TOKEN_TYP;
use portcullis_protocol::{AccessTokenClaims, SecretHash};
use tokio::sync::Mutex;

use crate::cache::Cache;
use crate::config::GuardConfig;
use crate::discovery::{Discovery, Metadata, get_json};
use crate::{GuardError, Principal, PrincipalKind, unix_now};

/// One published key, ready to verify with.
struct VerifyingKey {
    alg: Algorithm,
    key: DecodingKey,
    /// Built once per key: issuer, audience, leeway and this key's algorithm.
    validation: Validation,
}

/// The keys of one JWKS fetch.
struct KeySet {
    keys: HashMap<String, VerifyingKey>,
    fetched_at: Instant,
    /// Which fetch this is; verified tokens remember it, so that a new key
    /// set (perhaps without a withdrawn key) makes them verify again.
    generation: u64,
}

pub(crate) struct Keys {
    current: RwLock<Option<Arc<KeySet>>>,
    /// When a refetch for an unknown `kid` (or any failed fetch) last
    /// happened. Held across the fetch, so that concurrent misses wait for
    /// one fetch instead of starting their own.
    last_attempt: Mutex<Option<Instant>>,
    refetch_interval: Duration,
    max_age: Duration,
    generations: AtomicU64,
    /// Tokens that verified, with the key-set generation they verified under.
    verified: Cache<(Principal, u64)>,
    issuer: String,
    audience: String,
    leeway: u64,
}

impl Keys {
    pub(crate) fn new(config: &GuardConfig) -> Self {
        Self {
            current: RwLock::new(None),
            last_attempt: Mutex::new(None),
            refetch_interval: config.jwks_refetch_interval,
            max_age: config.jwks_max_age,
            generations: AtomicU64::new(0),
            verified: Cache::new(config.token_cache_capacity),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway.as_secs(),
        }
    }

    fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Verify `token` and say who it speaks for.
    pub(crate) async fn verify(
        &self,
        token: &str,
        http: &reqwest::Client,
        discovery: &Discovery,
    ) -> Result<Principal, GuardError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| GuardError::invalid_token("the access token is malformed"))?;
        // RFC 9068 §4: the type keeps an ID token or any other JWT signed by
        // the same keys from passing as an access token.
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(GuardError::invalid_token(
                "the token is not an access token",
            ));
        }
        let kid = header
            .kid
            .ok_or_else(|| GuardError::invalid_token("the access token names no key"))?;
        let set = self.key_set_with(&kid, http, discovery).await?;
        let key = &set.keys[&kid];
        // The key decides the algorithm, never the token: a token cannot
        // talk us into checking an ES256 key's bytes as an HMAC secret.
        if header.alg != key.alg {
            return Err(GuardError::invalid_token(
                "the token's algorithm does not match its key",
            ));
        }
        let hash = self
            .verified
            .enabled()
            .then(|| SecretHash::of(token.as_bytes()));
        if let Some(hash) = &hash
            && let Some((principal, generation)) = self.verified.get(hash)
            && generation == set.generation
        {
            return Ok(principal);
        }
        let claims = jsonwebtoken::decode::<AccessTokenClaims>(token, &key.key, &key.validation)
            .map_err(|e| GuardError::invalid_token(describe(e.kind())))?
            .claims;
        let kind = if claims.sub == claims.client_id.as_str() {
            PrincipalKind::Client
        } else {
            PrincipalKind::User
        };
        let principal = Principal {
            subject: claims.sub,
            client_id: Some(claims.client_id),
            scopes: claims.scope,
            kind,
            expires_at: Some(claims.exp),
            api_key_owner: None,
        };
        if let Some(hash) = hash {
            // Remembered exactly as long as `decode` would still accept it.
            let left = claims.exp.saturating_add(self.leeway as i64) - unix_now();
            let ttl = Duration::from_secs(left.max(0) as u64);
            self.verified
                .insert(hash, (principal.clone(), set.generation), ttl);
        }
        Ok(principal)
    }

    /// A key set containing `kid`, fetching one if need be.
    async fn key_set_with(
        &self,
        kid: &str,
        http: &reqwest::Client,
        discovery: &Discovery,
    ) -> Result<Arc<KeySet>, GuardError> {
        if let Some(set) = self.snapshot()
            && set.keys.contains_key(kid)
        {
            if set.fetched_at.elapsed() >= self.max_age {
                self.refresh_stale(http, discovery).await;
                // A withdrawn key must stop verifying once we know of it.
                if let Some(fresh) = self.snapshot() {
                    return if fresh.keys.contains_key(kid) {
                        Ok(fresh)
                    } else {
                        Err(unknown_key())
                    };
                }
            }
            return Ok(set);
        }

        let mut last = self.last_attempt.lock().await;
        // Someone else may have fetched while we waited for the lock.
        let before = self.snapshot();
        if let Some(set) = &before
            && set.keys.contains_key(kid)
        {
            return Ok(set.clone());
        }
        if last.is_some_and(|t| t.elapsed() < self.refetch_interval) {
            return Err(if before.is_some() {
                unknown_key()
            } else {
                GuardError::Unavailable
            });
        }
        let result = self.fetch(http, discovery).await;
        // The first load is not a refetch: a key rotated in just after
        // startup is still learned at once. Refetches and failures count.
        if before.is_some() || result.is_err() {
            *last = Some(Instant::now());
        }
        let set = result?;
        let found = set.keys.contains_key(kid);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(set.clone());
        drop(last);
        if found { Ok(set) } else { Err(unknown_key()) }
    }

    /// Refetch an old key set unless a fetch is running or was just tried.
    /// Failure keeps the old set: the server being down is no reason to
    /// refuse tokens we can still verify.
    async fn refresh_stale(&self, http: &reqwest::Client, discovery: &Discovery) {
        let Ok(mut last) = self.last_attempt.try_lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < self.refetch_interval) {
            return;
        }
        match self.fetch(http, discovery).await {
            Ok(set) => *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(set),
            Err(_) => *last = Some(Instant::now()),
        }
    }

    /// Fetch metadata (first time only) and the JWKS, and eagerly parse it.
    pub(crate) async fn warm_up(
        &self,
        http: &reqwest::Client,
        discovery: &Discovery,
    ) -> Result<(), GuardError> {
        let mut last = self.last_attempt.lock().await;
        match self.fetch(http, discovery).await {
            Ok(set) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(set);
                Ok(())
            }
            Err(e) => {
                *last = Some(Instant::now());
                Err(e)
            }
        }
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        discovery: &Discovery,
    ) -> Result<Arc<KeySet>, GuardError> {
        let metadata = discovery.get(http).await?;
        let jwks: RawJwkSet = get_json(http, &metadata.jwks_uri, "the JWKS").await?;
        let set = self.parse(metadata, jwks);
        tracing::debug!(keys = set.keys.len(), "fetched the JWKS");
        Ok(Arc::new(set))
    }

    /// Turn each usable JWK into a verification key; skip, with a warning,
    /// the ones we cannot or must not use rather than lose the whole set.
    fn parse(&self, metadata: &Metadata, jwks: RawJwkSet) -> KeySet {
        let advertised = metadata
            .access_token_signing_alg_values_supported
            .as_deref();
        let mut keys = HashMap::new();
        for raw in jwks.keys {
            let kid = raw.get("kid").and_then(|v| v.as_str()).map(str::to_owned);
            let Some(kid) = kid else {
                tracing::warn!("skipping a JWK without `kid`");
                continue;
            };
            match self.verifying_key(raw, advertised) {
                Ok(key) => {
                    keys.insert(kid, key);
                }
                Err(why) => tracing::warn!(kid, why, "skipping a JWK"),
            }
        }
        KeySet {
            keys,
            fetched_at: Instant::now(),
            generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    fn verifying_key(
        &self,
        raw: serde_json::Value,
        advertised: Option<&[String]>,
    ) -> Result<VerifyingKey, &'static str> {
        if raw
            .get("use")
            .and_then(|u| u.as_str())
            .is_some_and(|u| u != "sig")
        {
            return Err("not a signing key");
        }
        let alg = raw.get("alg").and_then(|a| a.as_str()).map(str::to_owned);
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(raw).map_err(|_| "unsupported or malformed JWK")?;
        let alg = key_algorithm(alg.as_deref(), &jwk).ok_or("no usable `alg`")?;
        // HMAC keys would be secrets shared with us; the server publishes
        // none, so one in the set is an error or an attack.
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err("symmetric algorithm");
        }
        // Only what the server says it signs with; when it says nothing,
        // any asymmetric algorithm its keys declare.
        if let Some(algs) = advertised
            && !algs
                .iter()
                .any(|a| Algorithm::from_str(a).is_ok_and(|a| a == alg))
        {
            return Err("algorithm not advertised by the server");
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| "unusable key material")?;
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        Ok(VerifyingKey {
            alg,
            key,
            validation,
        })
    }
}

/// A JWK Set (the protocol crate's [`portcullis_protocol::wire::JwkSet`])
/// whose members are parsed one by one, so one odd key does not hide the
/// others.
#[derive(serde::Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

/// The key's algorithm: its `alg`, or failing that the one its curve implies.
fn key_algorithm(alg: Option<&str>, jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    if let Some(alg) = alg {
        return Algorithm::from_str(alg).ok();
    }
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        _ => None,
    }
}

fn unknown_key() -> GuardError {
    GuardError::invalid_token("the access token is signed by an unknown key")
}

fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the access token has expired",
        ErrorKind::ImmatureSignature => "the access token is not valid yet",
        ErrorKind::InvalidIssuer => "the access token is from another issuer",
        ErrorKind::InvalidAudience => "the access token is for another audience",
        ErrorKind::InvalidSignature => "the access token's signature is invalid",
        ErrorKind::InvalidAlgorithm => "the access token's algorithm is not accepted",
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => {
            "the access token's claims are malformed or incomplete"
        }
        _ => "the access token is malformed",
    }
}
