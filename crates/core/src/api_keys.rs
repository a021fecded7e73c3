//! API secret keys for server-to-server calls.
//!
//! A key reads `pcs_<id>_<secret><check>`: a fixed prefix secret scanners
//! can match, a public id (16 hex digits, the store's primary key), the
//! 256-bit secret (43 base64url characters) and a CRC-32 checksum (6
//! base64url characters) over everything before it, so a mistyped or
//! truncated key is refused before any store lookup. Only the secret's
//! SHA-256 is stored; `last_used_at` is kept in memory and written in
//! batches, so verifying a key costs one indexed read and no write.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_protocol::secret::random_hex_id;
use portcullis_protocol::wire::IntrospectionResponse;
use portcullis_protocol::{ClientId, OAuthError, ScopeSet, Secret};

use crate::authorize::Grantor;
use crate::model::{ApiKeyRecord, Owner};
use crate::registry::RegistryError;
use crate::server::AuthServer;
use crate::store::StoreError;

pub const PREFIX: &str = "pcs_";
const ID_LEN: usize = 16;
const SECRET_LEN: usize = 43;
const CHECK_LEN: usize = 6;

fn checksum(body: &str) -> String {
    URL_SAFE_NO_PAD.encode(crc32fast::hash(body.as_bytes()).to_be_bytes())
}

/// A key's parts, once its shape and checksum are right.
pub struct ParsedKey<'a> {
    pub id: &'a str,
    pub secret: &'a str,
}

pub fn parse(key: &str) -> Option<ParsedKey<'_>> {
    // Every valid key is ASCII; checking first keeps the byte offsets below
    // on character boundaries.
    if !key.is_ascii() {
        return None;
    }
    let rest = key.strip_prefix(PREFIX)?;
    if rest.len() != ID_LEN + 1 + SECRET_LEN + CHECK_LEN {
        return None;
    }
    let (id, rest) = rest.split_at(ID_LEN);
    let rest = rest.strip_prefix('_')?;
    let (secret, check) = rest.split_at(SECRET_LEN);
    let id_ok = id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    let body = &key[..key.len() - CHECK_LEN];
    (id_ok && checksum(body) == check).then_some(ParsedKey { id, secret })
}

fn compose(id: &str, secret: &Secret) -> String {
    let body = format!("{PREFIX}{id}_{}", secret.expose());
    let check = checksum(&body);
    body + &check
}

/// What the owner asks for.
#[derive(Debug, Clone)]
pub struct ApiKeySpec {
    pub owner: Owner,
    pub name: String,
    pub scopes: ScopeSet,
    pub expires_in_days: Option<i64>,
}

/// A key's owner, looked up.
enum Holder {
    User(Box<crate::model::User>),
    Client(ClientId),
}

impl Holder {
    fn grantor(&self) -> Grantor<'_> {
        match self {
            Self::User(u) => Grantor::User(u),
            Self::Client(c) => Grantor::Client(c),
        }
    }
}

/// A key just created: shown once.
pub struct CreatedApiKey {
    pub record: ApiKeyRecord,
    pub key: Secret,
}

/// Last-use times waiting to be written.
#[derive(Default)]
pub struct LastUsed(Mutex<HashMap<String, i64>>);

impl LastUsed {
    fn note(&self, id: &str, at: i64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(id.to_owned(), at);
    }

    fn drain(&self) -> Vec<(String, i64)> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.drain().collect()
    }
}

impl AuthServer {
    pub(crate) async fn create_api_key(
        &self,
        spec: ApiKeySpec,
    ) -> Result<CreatedApiKey, RegistryError> {
        let name = spec.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(RegistryError::Invalid(
                "an API key needs a name of 1 to 200 characters".into(),
            ));
        }
        let holder = match &spec.owner {
            Owner::User(id) => Holder::User(Box::new(
                self.store
                    .find_user(id)
                    .await?
                    .ok_or_else(|| RegistryError::NotFound(format!("user `{id}`")))?,
            )),
            Owner::Client(id) => {
                self.store
                    .find_client(id)
                    .await?
                    .ok_or_else(|| RegistryError::NotFound(format!("client `{id}`")))?;
                Holder::Client(id.clone())
            }
        };
        if let Some(days) = spec.expires_in_days
            && !(1..=3650).contains(&days)
        {
            return Err(RegistryError::Invalid(
                "--expires-in must be 1 to 3650 days".into(),
            ));
        }
        crate::scope_policy::check_count(&spec.scopes, self.settings.max_scopes)
            .map_err(RegistryError::Invalid)?;
        let defs = crate::scope_policy::ScopeDefinitions::new(self.store.list_scopes().await?);
        for s in spec.scopes.iter() {
            crate::scope_policy::check_key_scope(s, &defs).map_err(RegistryError::Invalid)?;
        }
        // A machine-grantable permission on a resource is still the
        // provider's to allow, asked with the key's owner as the grantor.
        for s in spec.scopes.iter() {
            let (name, Some(resource)) = s.split_resource() else {
                continue;
            };
            if !self.may_grant(holder.grantor(), None, name, resource).await {
                return Err(RegistryError::Forbidden(format!(
                    "the resource owner does not allow `{name}` on that resource for this owner"
                )));
            }
        }
        let now = self.now();
        let id = random_hex_id::<8>();
        let secret = Secret::generate();
        let record = ApiKeyRecord {
            id: id.clone(),
            name: name.to_owned(),
            owner: spec.owner,
            secret_hash: secret.hash(),
            scopes: spec.scopes,
            created_at: now,
            expires_at: spec.expires_in_days.map(|d| now + d * 86_400),
            last_used_at: None,
            revoked_at: None,
        };
        self.store.insert_api_key(&record).await?;
        Ok(CreatedApiKey {
            key: Secret::new(compose(&id, &secret)),
            record,
        })
    }

    pub(crate) async fn revoke_api_key(&self, id: &str) -> Result<(), RegistryError> {
        if self.store.revoke_api_key(id, self.now()).await? {
            Ok(())
        } else {
            Err(RegistryError::NotFound(format!("active API key `{id}`")))
        }
    }

    /// The live key behind `presented`, or `None` for anything else.
    pub async fn verify_api_key(
        &self,
        presented: &str,
    ) -> Result<Option<ApiKeyRecord>, OAuthError> {
        let Some(parsed) = parse(presented) else {
            return Ok(None);
        };
        let Some(record) = self.api_keys.get(parsed.id.to_owned()).await? else {
            return Ok(None);
        };
        let now = self.now();
        let live = record.revoked_at.is_none() && record.expires_at.is_none_or(|e| e > now);
        if !live || !record.secret_hash.verify(parsed.secret) {
            return Ok(None);
        }
        // A key acts for its owner: a disabled user's or a deleted client's
        // keys stop working with them.
        let owner_live = match &record.owner {
            Owner::User(id) => self.store.find_user(id).await?.is_some_and(|u| !u.disabled),
            Owner::Client(id) => self.find_client(id).await?.is_some(),
        };
        if !owner_live {
            return Ok(None);
        }
        self.last_used.note(&record.id, now);
        Ok(Some(record))
    }

    /// RFC 7662 for an API key: `token_type` says what it is.
    pub(crate) async fn introspect_api_key(
        &self,
        presented: &str,
    ) -> Result<IntrospectionResponse, OAuthError> {
        let Some(key) = self.verify_api_key(presented).await? else {
            return Ok(IntrospectionResponse::inactive());
        };
        Ok(IntrospectionResponse {
            active: true,
            scope: Some(key.scopes),
            client_id: match &key.owner {
                Owner::Client(c) => Some(c.clone()),
                Owner::User(_) => None,
            },
            token_type: Some("api_key".into()),
            exp: key.expires_at,
            iat: Some(key.created_at),
            sub: Some(key.owner.id().to_owned()),
            aud: None,
            iss: Some(self.settings.issuer.clone()),
            jti: Some(key.id),
        })
    }

    /// Writes the coalesced last-use times; called periodically.
    pub async fn flush_api_key_usage(&self) -> Result<usize, StoreError> {
        let pending = self.last_used.drain();
        for (id, at) in &pending {
            self.store.touch_api_key(id, *at).await?;
        }
        Ok(pending.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_recognisable_and_checksummed() {
        let key = compose("0123456789abcdef", &Secret::generate());
        assert!(key.starts_with("pcs_0123456789abcdef_"));
        let parsed = parse(&key).unwrap();
        assert_eq!(parsed.id, "0123456789abcdef");
        assert_eq!(parsed.secret.len(), 43);

        // One changed character anywhere is refused before any lookup.
        for i in 4..key.len() {
            let mut bytes = key.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(parse(&typo).is_none(), "typo at {i} accepted");
        }
        assert!(parse(&key[..key.len() - 1]).is_none());
        assert!(parse("pcs_").is_none());
        assert!(parse("eyJhbGciOi.x.y").is_none());
        // Multi-byte characters where the parts are cut: no panic.
        let tricky = format!("pcs_{}é{}", "a".repeat(15), "b".repeat(49));
        assert!(parse(&tricky).is_none());
    }
}
