//! What the domain needs from storage, split by concern. Store methods read
//! as verbs: `find_*` returns an Option, `insert_*`, `take_*` consumes
//! atomically, `revoke_*`.

use async_trait::async_trait;
use portcullis_protocol::{ClientId, Jti, KeyId, OAuthError, SecretHash};

use crate::model::{Client, ScopeDefinition, SigningKeyRecord};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or timed out; retrying may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness constraint refused the write.
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("store error: {0}")]
    Other(String),
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => OAuthError::temporarily_unavailable(e),
            _ => OAuthError::server_error(e),
        }
    }
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn find_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Replaces every field but the id, secret and creation time.
    async fn update_client(&self, client: &Client) -> Result<bool, StoreError>;
    async fn set_client_secret(
        &self,
        id: &ClientId,
        hash: &SecretHash,
        now: i64,
    ) -> Result<bool, StoreError>;
    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait ScopeStore: Send + Sync {
    /// Creates the definition or replaces its description and flag.
    async fn upsert_scope(&self, def: &ScopeDefinition) -> Result<(), StoreError>;
    async fn list_scopes(&self) -> Result<Vec<ScopeDefinition>, StoreError>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    async fn retire_signing_key(&self, kid: &KeyId, at: i64) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Remembers a revoked access token until it would have expired anyway.
    async fn revoke_access_token(&self, jti: &Jti, expires_at: i64) -> Result<(), StoreError>;
    async fn is_access_token_revoked(&self, jti: &Jti) -> Result<bool, StoreError>;
    /// Forgets revocations of tokens that have expired.
    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait Store: ClientStore + ScopeStore + KeyStore + RevocationStore + 'static {
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
}
