//! The signing key ring. Keys are parsed once, when the ring is (re)loaded
//! from the store, never per request; the JWT header and the JWK Set are
//! serialized at load time too.

use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_protocol::secret::random_id;
use portcullis_protocol::wire::{Jwk, JwkSet};
use portcullis_protocol::{KeyId, OAuthError};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::model::{SigningAlg, SigningKeyRecord};

/// Tokens never live longer than this, so a retired key is dropped from the
/// JWK Set this long after it stopped signing.
pub const MAX_TOKEN_LIFETIME: i64 = 86_400;

#[derive(Debug, thiserror::Error)]
#[error("signing key {kid}: {reason}")]
pub struct KeyError {
    kid: String,
    reason: String,
}

/// Creates a new private key, PKCS#8 DER.
pub fn generate_private_key(alg: SigningAlg) -> Vec<u8> {
    let rng = SystemRandom::new();
    match alg {
        SigningAlg::ES256 => {
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .expect("ECDSA key generation failed")
                .as_ref()
                .to_vec()
        }
        SigningAlg::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng)
            .expect("Ed25519 key generation failed")
            .as_ref()
            .to_vec(),
        SigningAlg::RS256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                .expect("RSA key generation failed");
            key.to_pkcs8_der()
                .expect("RSA key encoding failed")
                .as_bytes()
                .to_vec()
        }
    }
}

/// A fresh key record, published now and signing from `active_at`.
pub fn new_key_record(alg: SigningAlg, now: i64, active_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: KeyId::new(random_id::<12>()),
        alg,
        private_pkcs8: generate_private_key(alg),
        created_at: now,
        active_at,
        retired_at: None,
    }
}

enum Signer {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(RsaKeyPair),
}

/// One parsed key: signer, verifier, precomputed header and JWK.
pub struct LoadedKey {
    pub kid: KeyId,
    pub alg: SigningAlg,
    pub active_at: i64,
    pub retired_at: Option<i64>,
    signer: Signer,
    public: Vec<u8>,
    header_b64: String,
    pub jwk: Jwk,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

impl LoadedKey {
    pub fn parse(rec: &SigningKeyRecord) -> Result<Self, KeyError> {
        let err = |reason: String| KeyError {
            kid: rec.kid.to_string(),
            reason,
        };
        let rng = SystemRandom::new();
        let der = rec.private_pkcs8.as_slice();
        let (signer, public, jwk_params) = match rec.alg {
            SigningAlg::ES256 => {
                let kp = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    der,
                    &rng,
                )
                .map_err(|e| err(e.to_string()))?;
                let point = kp.public_key().as_ref().to_vec();
                // Uncompressed SEC1 point: 0x04 || x || y.
                let (x, y) = (&point[1..33], &point[33..65]);
                let params = ("EC", Some("P-256"), Some(b64(x)), Some(b64(y)), None, None);
                (Signer::Es256(kp), point, params)
            }
            SigningAlg::EdDSA => {
                let kp = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|e| err(e.to_string()))?;
                let public = kp.public_key().as_ref().to_vec();
                let params = ("OKP", Some("Ed25519"), Some(b64(&public)), None, None, None);
                (Signer::EdDsa(kp), public, params)
            }
            SigningAlg::RS256 => {
                use rsa::pkcs8::DecodePrivateKey;
                use rsa::traits::PublicKeyParts;
                let kp = RsaKeyPair::from_pkcs8(der).map_err(|e| err(e.to_string()))?;
                let public = kp.public_key().as_ref().to_vec();
                let parts =
                    rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| err(e.to_string()))?;
                let params = (
                    "RSA",
                    None,
                    None,
                    None,
                    Some(b64(&parts.n().to_bytes_be())),
                    Some(b64(&parts.e().to_bytes_be())),
                );
                (Signer::Rs256(kp), public, params)
            }
        };
        let (kty, crv, x, y, n, e) = jwk_params;
        let header = Header {
            alg: rec.alg.as_str(),
            typ: portcullis_protocol::claims::ACCESS_TOKEN_TYP,
            kid: rec.kid.as_str(),
        };
        let header_json = serde_json::to_vec(&header).map_err(|e| err(e.to_string()))?;
        Ok(Self {
            kid: rec.kid.clone(),
            alg: rec.alg,
            active_at: rec.active_at,
            retired_at: rec.retired_at,
            signer,
            public,
            header_b64: b64(&header_json),
            jwk: Jwk {
                kty: kty.into(),
                kid: rec.kid.to_string(),
                alg: rec.alg.as_str().into(),
                use_: "sig".into(),
                crv: crv.map(Into::into),
                x,
                y,
                n,
                e,
            },
        })
    }

    /// A compact JWS access token over `claims`, with this key's
    /// precomputed header.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, OAuthError> {
        self.sign_with_header(&self.header_b64, claims)
    }

    /// A compact JWS of another type (`JWT` for ID tokens, `logout+jwt`
    /// for logout tokens): the header is built here, as these are rarer.
    pub fn sign_typed<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, OAuthError> {
        let header = Header {
            alg: self.alg.as_str(),
            typ,
            kid: self.kid.as_str(),
        };
        let header = serde_json::to_vec(&header).map_err(OAuthError::server_error)?;
        self.sign_with_header(&b64(&header), claims)
    }

    fn sign_with_header<T: Serialize>(
        &self,
        header_b64: &str,
        claims: &T,
    ) -> Result<String, OAuthError> {
        let payload = serde_json::to_vec(claims).map_err(OAuthError::server_error)?;
        let mut out = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 400);
        out.push_str(header_b64);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
        let rng = SystemRandom::new();
        let sig: Vec<u8> = match &self.signer {
            Signer::Es256(kp) => kp
                .sign(&rng, out.as_bytes())
                .map_err(|_| OAuthError::server_error("ECDSA signing failed"))?
                .as_ref()
                .to_vec(),
            Signer::EdDsa(kp) => kp.sign(out.as_bytes()).as_ref().to_vec(),
            Signer::Rs256(kp) => {
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, &rng, out.as_bytes(), &mut sig)
                    .map_err(|_| OAuthError::server_error("RSA signing failed"))?;
                sig
            }
        };
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&sig, &mut out);
        Ok(out)
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        let alg: &dyn signature::VerificationAlgorithm = match self.alg {
            SigningAlg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            SigningAlg::EdDSA => &signature::ED25519,
            SigningAlg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(alg, &self.public)
            .verify(message, sig)
            .is_ok()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn signs_at(active_at: i64, retired_at: Option<i64>, now: i64) -> bool {
    active_at <= now && retired_at.is_none_or(|r| r > now)
}

impl SigningKeyRecord {
    /// May sign at `now` (the newest such key does).
    pub fn may_sign_at(&self, now: i64) -> bool {
        signs_at(self.active_at, self.retired_at, now)
    }

    /// Still in the JWK Set at `now`: until every token it could have
    /// signed has expired.
    pub fn is_published_at(&self, now: i64) -> bool {
        self.retired_at
            .is_none_or(|r| r + MAX_TOKEN_LIFETIME + 60 >= now)
    }
}

/// Where a key is in its life, for `keys list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// In the JWK Set, signing from `active_at` on.
    Next,
    /// Signs new tokens.
    Active,
    /// In the JWK Set for tokens it signed; signs nothing new.
    Retired,
    /// Out of the JWK Set; every token it signed has expired.
    Expired,
}

/// The newest key of each algorithm that may sign at `now`.
fn newest_signers(records: &[SigningKeyRecord], now: i64) -> Vec<&SigningKeyRecord> {
    let mut out: Vec<&SigningKeyRecord> = Vec::new();
    for r in records.iter().filter(|r| r.may_sign_at(now)) {
        match out.iter_mut().find(|o| o.alg == r.alg) {
            Some(o) if (r.active_at, &r.kid) > (o.active_at, &o.kid) => *o = r,
            Some(_) => {}
            None => out.push(r),
        }
    }
    out
}

/// The state of each key at `now`: the newest signing key of each
/// algorithm is active (access tokens use the configured one, ID tokens
/// the one the client asks for).
pub fn key_states(records: &[SigningKeyRecord], now: i64) -> Vec<(&SigningKeyRecord, KeyState)> {
    let signers: Vec<&KeyId> = newest_signers(records, now)
        .into_iter()
        .map(|r| &r.kid)
        .collect();
    records
        .iter()
        .map(|r| {
            let state = if signers.contains(&&r.kid) {
                KeyState::Active
            } else if !r.is_published_at(now) {
                KeyState::Expired
            } else if r.active_at > now {
                KeyState::Next
            } else {
                KeyState::Retired
            };
            (r, state)
        })
        .collect()
}

/// ID tokens may always be signed with RS256 (OIDC Core §15.1), so the
/// ring keeps an RS256 key beside the access-token key of another
/// algorithm, and rotating that key leaves the RS256 one alone.
pub const ID_TOKEN_DEFAULT_ALG: SigningAlg = SigningAlg::RS256;

/// Whether rotating to a new key of `new` retires `old`: a key of the same
/// algorithm always; a key of another algorithm when both sign access
/// tokens (a change of algorithm), never the RS256 key ID tokens need.
pub fn rotation_retires(new: SigningAlg, old: SigningAlg) -> bool {
    old == new || (new != ID_TOKEN_DEFAULT_ALG && old != ID_TOKEN_DEFAULT_ALG)
}

/// One consistent view of the keys.
pub struct KeySet {
    /// Signs access tokens.
    signing: Option<Arc<LoadedKey>>,
    /// The newest signing key of each algorithm.
    signers: Vec<Arc<LoadedKey>>,
    published: Vec<Arc<LoadedKey>>,
    jwks_json: Arc<str>,
}

impl KeySet {
    /// Builds the view at time `now`: of each algorithm, the newest active,
    /// unretired key signs; access tokens use `preferred` (the configured
    /// algorithm) when such a key signs, else the newest key of another
    /// algorithm than the ID tokens' RS256, else that one. Every key not
    /// yet past its retirement grace is published.
    pub fn build(
        records: &[SigningKeyRecord],
        now: i64,
        preferred: SigningAlg,
    ) -> Result<Self, KeyError> {
        let mut published = Vec::new();
        for rec in records.iter().filter(|r| r.is_published_at(now)) {
            published.push(Arc::new(LoadedKey::parse(rec)?));
        }
        published.sort_by(|a, b| (b.active_at, &b.kid).cmp(&(a.active_at, &a.kid)));
        let mut signers: Vec<Arc<LoadedKey>> = Vec::new();
        for k in published
            .iter()
            .filter(|k| signs_at(k.active_at, k.retired_at, now))
        {
            if !signers.iter().any(|s| s.alg == k.alg) {
                signers.push(k.clone());
            }
        }
        let signing = signers
            .iter()
            .min_by_key(|k| (k.alg != preferred, k.alg == ID_TOKEN_DEFAULT_ALG))
            .cloned();
        let jwks = JwkSet {
            keys: published.iter().map(|k| k.jwk.clone()).collect(),
        };
        let jwks_json = serde_json::to_string(&jwks).expect("a JWK Set serializes");
        Ok(Self {
            signing,
            signers,
            published,
            jwks_json: jwks_json.into(),
        })
    }

    /// The key access tokens are signed with.
    pub fn signing_key(&self) -> Option<&Arc<LoadedKey>> {
        self.signing.as_ref()
    }

    /// The key that signs with `alg` now, if any.
    pub fn signer_for(&self, alg: SigningAlg) -> Option<&Arc<LoadedKey>> {
        self.signers.iter().find(|k| k.alg == alg)
    }

    /// The algorithms some key signs with now.
    pub fn signing_algs(&self) -> impl Iterator<Item = SigningAlg> + '_ {
        self.signers.iter().map(|k| k.alg)
    }

    pub fn published(&self) -> &[Arc<LoadedKey>] {
        &self.published
    }

    pub fn jwks_json(&self) -> Arc<str> {
        self.jwks_json.clone()
    }

    pub fn find(&self, kid: &str) -> Option<&Arc<LoadedKey>> {
        self.published.iter().find(|k| k.kid.as_str() == kid)
    }

    /// Verifies an access token made by one of these keys and returns its
    /// decoded payload. Checks `typ`, `kid` and that `alg` is the key's own.
    pub fn verify<T: for<'de> Deserialize<'de>>(&self, token: &str) -> Option<T> {
        self.verify_typed(portcullis_protocol::claims::ACCESS_TOKEN_TYP, token)
    }

    /// Verifies a compact JWS of type `typ` made by one of these keys.
    pub fn verify_typed<T: for<'de> Deserialize<'de>>(&self, typ: &str, token: &str) -> Option<T> {
        #[derive(Deserialize)]
        struct Hdr {
            alg: String,
            kid: String,
            typ: Option<String>,
        }
        if token.len() > 16 * 1024 {
            return None;
        }
        let (signing_input, sig_b64) = token.rsplit_once('.')?;
        let (header_b64, payload_b64) = signing_input.split_once('.')?;
        let header: Hdr = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
        let key = self.find(&header.kid)?;
        if header.alg != key.alg.as_str() || header.typ.as_deref() != Some(typ) {
            return None;
        }
        let sig = URL_SAFE_NO_PAD.decode(sig_b64).ok()?;
        if !key.verify(signing_input.as_bytes(), &sig) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload_b64).ok()?).ok()
    }
}

/// The live key set, swapped atomically on reload; readers never block.
pub struct KeyRing(ArcSwap<KeySet>);

impl KeyRing {
    pub fn new(set: KeySet) -> Self {
        Self(ArcSwap::from_pointee(set))
    }

    pub fn current(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.0.load()
    }

    pub fn replace(&self, set: KeySet) {
        self.0.store(Arc::new(set));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_protocol::{AccessTokenClaims, ClientId, Jti, ScopeSet};

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "http://localhost:8080".into(),
            sub: "c1".into(),
            aud: portcullis_protocol::Audience::One("http://localhost:8080".into()),
            client_id: ClientId::new("c1"),
            scope: ScopeSet::parse("read").unwrap(),
            jti: Jti::new("j1"),
            iat: 1_000,
            exp: 4_600,
            gid: None,
        }
    }

    fn jwk_to_decoding_key(jwk: &Jwk) -> jsonwebtoken::DecodingKey {
        let json = serde_json::to_value(jwk).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(json).unwrap();
        jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap()
    }

    #[test]
    fn every_algorithm_signs_tokens_another_library_verifies() {
        for (alg, jalg) in [
            (SigningAlg::ES256, jsonwebtoken::Algorithm::ES256),
            (SigningAlg::EdDSA, jsonwebtoken::Algorithm::EdDSA),
            (SigningAlg::RS256, jsonwebtoken::Algorithm::RS256),
        ] {
            let rec = new_key_record(alg, 1_000, 1_000);
            let set = KeySet::build(std::slice::from_ref(&rec), 1_000, SigningAlg::ES256).unwrap();
            let key = set.signing_key().unwrap();
            let token = key.sign(&claims()).unwrap();

            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
            assert_eq!(header.kid.as_deref(), Some(rec.kid.as_str()));
            let mut v = jsonwebtoken::Validation::new(jalg);
            v.set_audience(&["http://localhost:8080"]);
            v.validate_exp = false;
            let decoded = jsonwebtoken::decode::<AccessTokenClaims>(
                &token,
                &jwk_to_decoding_key(&key.jwk),
                &v,
            )
            .unwrap();
            assert_eq!(decoded.claims, claims());

            let back: AccessTokenClaims = set.verify(&token).unwrap();
            assert_eq!(back, claims());
        }
    }

    #[test]
    fn each_algorithm_has_its_signer_and_access_tokens_use_the_configured_one() {
        let es = new_key_record(SigningAlg::ES256, 0, 0);
        let rs = new_key_record(SigningAlg::RS256, 0, 0);
        let recs = [es.clone(), rs.clone()];
        let set = KeySet::build(&recs, 10, SigningAlg::ES256).unwrap();
        assert_eq!(set.signing_key().unwrap().kid, es.kid);
        assert_eq!(set.signer_for(SigningAlg::RS256).unwrap().kid, rs.kid);
        assert!(set.signer_for(SigningAlg::EdDSA).is_none());
        let set = KeySet::build(&recs, 10, SigningAlg::RS256).unwrap();
        assert_eq!(set.signing_key().unwrap().kid, rs.kid);
        // Configured EdDSA without such a key yet: not the RS256 key.
        let set = KeySet::build(&recs, 10, SigningAlg::EdDSA).unwrap();
        assert_eq!(set.signing_key().unwrap().kid, es.kid);
        let states: Vec<KeyState> = key_states(&recs, 10).into_iter().map(|(_, s)| s).collect();
        assert_eq!(states, [KeyState::Active, KeyState::Active]);

        // An ID token is typed JWT; it does not pass as an access token.
        let id = set
            .signer_for(SigningAlg::RS256)
            .unwrap()
            .sign_typed("JWT", &claims())
            .unwrap();
        assert!(set.verify::<AccessTokenClaims>(&id).is_none());
        assert_eq!(
            set.verify_typed::<AccessTokenClaims>("JWT", &id),
            Some(claims())
        );
        assert!(rotation_retires(SigningAlg::EdDSA, SigningAlg::ES256));
        assert!(!rotation_retires(SigningAlg::EdDSA, SigningAlg::RS256));
        assert!(!rotation_retires(SigningAlg::RS256, SigningAlg::ES256));
    }

    #[test]
    fn tampered_and_foreign_tokens_do_not_verify() {
        let set = KeySet::build(
            &[new_key_record(SigningAlg::ES256, 0, 0)],
            0,
            SigningAlg::ES256,
        )
        .unwrap();
        let token = set.signing_key().unwrap().sign(&claims()).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        parts[1] = &forged;
        assert!(set.verify::<AccessTokenClaims>(&parts.join(".")).is_none());
        assert!(set.verify::<AccessTokenClaims>("garbage").is_none());
        assert!(set.verify::<AccessTokenClaims>("a.b.c").is_none());

        let other = KeySet::build(
            &[new_key_record(SigningAlg::ES256, 0, 0)],
            0,
            SigningAlg::ES256,
        )
        .unwrap();
        let foreign = other.signing_key().unwrap().sign(&claims()).unwrap();
        assert!(set.verify::<AccessTokenClaims>(&foreign).is_none());
    }

    #[test]
    fn a_rotated_key_is_published_first_and_signs_after_the_delay() {
        let current = new_key_record(SigningAlg::ES256, 0, 0);
        let next = new_key_record(SigningAlg::ES256, 100, 700);
        let retiring = SigningKeyRecord {
            retired_at: Some(700),
            ..current.clone()
        };
        let recs = [retiring.clone(), next.clone()];
        let set = KeySet::build(&recs, 100, SigningAlg::ES256).unwrap();
        assert_eq!(set.signing_key().unwrap().kid, current.kid);
        assert!(
            set.find(next.kid.as_str()).is_some(),
            "published before it signs"
        );
        let states: Vec<KeyState> = key_states(&recs, 100).into_iter().map(|(_, s)| s).collect();
        assert_eq!(states, [KeyState::Active, KeyState::Next]);

        let set = KeySet::build(&recs, 700, SigningAlg::ES256).unwrap();
        assert_eq!(set.signing_key().unwrap().kid, next.kid);
        assert!(
            set.find(current.kid.as_str()).is_some(),
            "kept for its tokens"
        );
        let states: Vec<KeyState> = key_states(&recs, 700).into_iter().map(|(_, s)| s).collect();
        assert_eq!(states, [KeyState::Retired, KeyState::Active]);
        let late = 700 + MAX_TOKEN_LIFETIME + 61;
        let states: Vec<KeyState> = key_states(&recs, late)
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        assert_eq!(states, [KeyState::Expired, KeyState::Active]);
    }

    #[test]
    fn newest_active_key_signs_and_retired_keys_leave_after_grace() {
        let old = SigningKeyRecord {
            retired_at: Some(100),
            ..new_key_record(SigningAlg::ES256, 0, 0)
        };
        let current = new_key_record(SigningAlg::ES256, 100, 100);
        let next = new_key_record(SigningAlg::ES256, 200, 1_000);
        let recs = [old.clone(), current.clone(), next.clone()];

        let set = KeySet::build(&recs, 500, SigningAlg::ES256).unwrap();
        assert_eq!(set.signing_key().unwrap().kid, current.kid);
        assert_eq!(set.published().len(), 3);

        let set = KeySet::build(&recs, 1_000, SigningAlg::ES256).unwrap();
        assert_eq!(set.signing_key().unwrap().kid, next.kid);

        let set = KeySet::build(&recs, 100 + MAX_TOKEN_LIFETIME + 61, SigningAlg::ES256).unwrap();
        assert!(set.find(old.kid.as_str()).is_none());
        assert_eq!(set.published().len(), 2);
    }
}
