//! What the domain needs from storage, split by concern. Store methods read
//! as verbs: `find_*` returns an Option, `insert_*`, `take_*` consumes
//! atomically, `revoke_*`.

use async_trait::async_trait;
use portcullis_protocol::{ClientId, Jti, KeyId, OAuthError, ResourceUri, SecretHash, UserId};

use crate::model::{
    ApiKeyRecord, AuthorizationCode, Client, Consent, PendingAuthorization, Redemption,
    RefreshTokenRecord, Resource, ScopeDefinition, Session, SigningKeyRecord, User,
};

#[derive(Debug, Clone, thiserror::Error)]
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

/// Dynamic client registration (RFC 7591): initial access tokens, and
/// clients that registered themselves.
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    /// Stores an initial access token by its hash.
    async fn insert_registration_token(
        &self,
        hash: &SecretHash,
        created_at: i64,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError>;
    /// Inserts `client`, spending `initial` (single use) in the same
    /// transaction. `false`, and nothing written, when `initial` is unknown,
    /// spent or expired.
    async fn insert_registered_client(
        &self,
        client: &Client,
        initial: Option<&SecretHash>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Moves a dynamically registered client's `last_used_at` forward.
    async fn touch_client(&self, id: &ClientId, at: i64) -> Result<(), StoreError>;
    /// Deletes dynamically registered clients unused since `before`; the ids.
    async fn delete_unused_clients(&self, before: i64) -> Result<Vec<ClientId>, StoreError>;
}

#[async_trait]
pub trait ScopeStore: Send + Sync {
    /// Creates the definition or replaces its description and flag.
    async fn upsert_scope(&self, def: &ScopeDefinition) -> Result<(), StoreError>;
    async fn list_scopes(&self) -> Result<Vec<ScopeDefinition>, StoreError>;
}

#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// Defines a resource, or changes its name, scopes and restriction.
    async fn upsert_resource(&self, r: &Resource) -> Result<(), StoreError>;
    async fn list_resources(&self) -> Result<Vec<Resource>, StoreError>;
    /// Whether it existed. Clients keep their allowance of it, which then
    /// names nothing until it is defined again.
    async fn delete_resource(&self, uri: &ResourceUri) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// Replaces a key's stored private key (sealing a legacy plaintext one).
    async fn set_signing_key_private(
        &self,
        kid: &KeyId,
        private: &[u8],
    ) -> Result<bool, StoreError>;
    /// Replaces several keys' stored private keys in one transaction.
    async fn set_signing_key_privates(&self, keys: &[(KeyId, Vec<u8>)]) -> Result<(), StoreError>;
    async fn retire_signing_key(&self, kid: &KeyId, at: i64) -> Result<bool, StoreError>;
    /// The server-wide secret `name`, stored as `candidate` if there is none
    /// yet: every instance gets the value the first one stored.
    async fn server_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;
}

#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Remembers a revoked access token until it would have expired anyway.
    async fn revoke_access_token(&self, jti: &Jti, expires_at: i64) -> Result<(), StoreError>;
    async fn is_access_token_revoked(&self, jti: &Jti) -> Result<bool, StoreError>;
    /// Which of `jtis` are revoked, in one statement.
    async fn revoked_among(&self, jtis: &[Jti]) -> Result<Vec<Jti>, StoreError>;
    /// Forgets what has expired: revocations of expired tokens, stale
    /// pending requests, codes, sessions, refresh tokens and login counters.
    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    async fn find_user(&self, id: &UserId) -> Result<Option<User>, StoreError>;
    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn set_user_password(
        &self,
        id: &UserId,
        hash: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    async fn set_user_disabled(
        &self,
        id: &UserId,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Replaces the user's standard claims; `updated_at` becomes `now`.
    async fn set_user_profile(
        &self,
        id: &UserId,
        profile: &crate::profile::UserProfile,
        now: i64,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn find_session(&self, id_hash: &SecretHash) -> Result<Option<Session>, StoreError>;
    async fn touch_session(&self, id_hash: &SecretHash, now: i64) -> Result<(), StoreError>;
    async fn delete_session(&self, id_hash: &SecretHash) -> Result<(), StoreError>;
    /// Ends every session of a user; returns how many there were.
    async fn delete_sessions_of(&self, user: &UserId) -> Result<u64, StoreError>;
    /// Notes that session `sid` signed `user` in to `client` (OpenID
    /// Connect), until the session's own expiry.
    async fn record_session_client(
        &self,
        sid: &str,
        client: &ClientId,
        user: &UserId,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// The clients session `sid` signed in to, forgotten as they are read:
    /// logout notifies each once.
    async fn take_session_clients(&self, sid: &str) -> Result<Vec<(ClientId, UserId)>, StoreError>;
}

/// What reserving a login attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Within the budget: evaluate it.
    Allowed,
    /// Over the budget, or blocked already: refuse until this time.
    Blocked { until: i64 },
}

/// Failed-login counters, by key (an account, an address, or both). Every
/// change is one statement, so concurrent attempts cannot read the same
/// count and all pass.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Counts one attempt against `key` before it is evaluated. The
    /// `free`-th attempt since the last block is still allowed; the next
    /// starts a block of `block_secs(blocks so far)`. After a block has
    /// expired one attempt is allowed again.
    async fn take_attempt(&self, key: &str, free: i64, now: i64) -> Result<Attempt, StoreError>;
    /// Gives back an attempt that turned out not to be a failure (a correct
    /// password, or one never evaluated).
    async fn refund_attempt(&self, key: &str) -> Result<(), StoreError>;
    async fn clear_throttle(&self, key: &str) -> Result<(), StoreError>;
}

/// Block lengths: 30 s, doubled with each further block, at most 15 min.
/// Written out because the same statement runs on SQLite, which has no
/// `power()` by default.
pub const BLOCK_SECS_SQL: &str = "CASE login_throttle.blocks WHEN 0 THEN 30 WHEN 1 THEN 60 \
     WHEN 2 THEN 120 WHEN 3 THEN 240 WHEN 4 THEN 480 ELSE 900 END";

#[async_trait]
pub trait AuthorizationStore: Send + Sync {
    async fn insert_pending(&self, p: &PendingAuthorization) -> Result<(), StoreError>;
    async fn find_pending(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError>;
    /// Binds the request to the user who took it up, once.
    async fn claim_pending(&self, id: &str, user: &UserId) -> Result<bool, StoreError>;
    /// Consumes the request atomically: only one decision per request.
    async fn take_pending(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError>;
    /// Consumes the request atomically, only if `user` took it up: a
    /// stranger who learns its id can neither decide nor destroy it.
    async fn take_claimed_pending(
        &self,
        id: &str,
        user: &UserId,
    ) -> Result<Option<PendingAuthorization>, StoreError>;

    async fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError>;
    /// Marks the code redeemed, atomically and only once, recording what the
    /// redemption produces. `None` when it is unknown or already redeemed.
    async fn take_code(
        &self,
        code_hash: &SecretHash,
        redemption: &Redemption,
    ) -> Result<Option<AuthorizationCode>, StoreError>;
    /// What an earlier redemption of this code produced, if it was redeemed.
    async fn find_redemption(
        &self,
        code_hash: &SecretHash,
    ) -> Result<Option<Redemption>, StoreError>;
}

#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Records consent for `scopes`, adding to any earlier consent of this
    /// user for this client (a revoked one is replaced).
    async fn upsert_consent(&self, consent: &Consent) -> Result<Consent, StoreError>;
    async fn find_consent(&self, id: &str) -> Result<Option<Consent>, StoreError>;
    async fn find_active_consent(
        &self,
        user: &UserId,
        client: &ClientId,
    ) -> Result<Option<Consent>, StoreError>;
    async fn list_consents(&self, user: &UserId) -> Result<Vec<Consent>, StoreError>;
    async fn revoke_consent(&self, id: &str, now: i64) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    async fn insert_refresh_token(&self, t: &RefreshTokenRecord) -> Result<(), StoreError>;
    /// Marks the token rotated, atomically and only once. `None` when it is
    /// unknown, already rotated or revoked.
    async fn take_refresh_token(
        &self,
        hash: &SecretHash,
        now: i64,
    ) -> Result<Option<RefreshTokenRecord>, StoreError>;
    /// The token if it is neither rotated nor revoked (its expiry is the
    /// caller's to check).
    async fn find_live_refresh_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError>;
    /// The token whatever its state, to tell a replay from garbage.
    async fn find_refresh_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError>;
    /// Revokes every live token of the family; returns the access tokens
    /// issued beside them (jti, exp) so they can be revoked too.
    async fn revoke_refresh_family(
        &self,
        family_id: &str,
        now: i64,
    ) -> Result<Vec<(Jti, i64)>, StoreError>;
    /// Same, for every family under a consent.
    async fn revoke_refresh_by_consent(
        &self,
        consent_id: &str,
        now: i64,
    ) -> Result<Vec<(Jti, i64)>, StoreError>;
    /// Same, for every family of a user.
    async fn revoke_refresh_by_user(
        &self,
        user: &UserId,
        now: i64,
    ) -> Result<Vec<(Jti, i64)>, StoreError>;
    /// Whether the family was revoked (`revoke_refresh_family` marks it
    /// before sweeping). Read by the issuer of a new token after inserting
    /// it: a concurrent revocation either swept the new token or shows
    /// here, since each statement commits on its own.
    async fn is_refresh_family_revoked(&self, family_id: &str) -> Result<bool, StoreError>;
    /// The family of a live (unrevoked) token issued to `client`.
    async fn find_live_family(
        &self,
        hash: &SecretHash,
        client: &ClientId,
    ) -> Result<Option<String>, StoreError>;
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn find_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// The keys among `ids` that exist, in one statement.
    async fn find_api_keys(&self, ids: &[String]) -> Result<Vec<ApiKeyRecord>, StoreError>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes once; false when unknown or already revoked.
    async fn revoke_api_key(&self, id: &str, now: i64) -> Result<bool, StoreError>;
    /// Moves `last_used_at` forward (never back).
    async fn touch_api_key(&self, id: &str, at: i64) -> Result<(), StoreError>;
}

#[async_trait]
pub trait Store:
    ApiKeyStore
    + ClientStore
    + RegistrationStore
    + ScopeStore
    + ResourceStore
    + KeyStore
    + RevocationStore
    + UserStore
    + SessionStore
    + ThrottleStore
    + AuthorizationStore
    + ConsentStore
    + RefreshTokenStore
    + 'static
{
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Writes one row, for readiness: a full disk or a read-only database
    /// answers pings but not this.
    async fn probe_write(&self, now: i64) -> Result<(), StoreError>;
}
