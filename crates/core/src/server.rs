//! The authorization server's state: store, key ring, clock, caches and
//! settings. HTTP handlers and CLI commands call methods on it.

use std::sync::Arc;
use std::time::Duration;

use portcullis_protocol::{ClientId, Jti, OAuthError};

use crate::batch::Batcher;
use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::kek::Kek;
use crate::keyring::{
    ID_TOKEN_DEFAULT_ALG, KeyError, KeyRing, KeySet, new_key_record, rotation_retires,
};
use crate::model::{ApiKeyRecord, Client, SigningAlg, SigningKeyRecord};
use crate::scope_policy::ScopeDefinitions;
use crate::store::{Store, StoreError};

/// How long past `cache_ttl` a cached client or scope list may still be
/// used while the store does not answer its reload: a slow or saturated
/// database then delays a change by up to this much instead of stalling
/// every token request.
const STALE_GRACE: Duration = Duration::from_secs(10);

/// The scope an API key needs to call the admin API; defined at start.
pub const ADMIN_SCOPE: &str = "portcullis:admin";

/// Settings the domain reads, validated by the binary's config layer.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `iss` of every token and the metadata's issuer, without trailing slash.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// Access-token lifetime when the client sets none.
    pub default_token_lifetime: i64,
    /// Algorithm of newly created signing keys.
    pub signing_alg: SigningAlg,
    /// How stale cached clients and scope definitions may be.
    pub cache_ttl: Duration,
    /// Whether starting may create a signing key of `signing_alg` (and
    /// retire the others). True for the server; false for administrative
    /// commands, which must never change what a running server signs with.
    pub manage_signing_keys: bool,
    /// Browser origins allowed at the token and revocation endpoints beside
    /// those of registered redirect URIs (`scheme://host[:port]`).
    pub cors_allowed_origins: Vec<String>,
    /// Most scopes one request, client or API key may carry: a bound on
    /// token size, consent pages and resource-hook calls.
    pub max_scopes: usize,
    /// Peers whose `Forwarded` / `X-Forwarded-For` name the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Accept `http` resource identifiers on any host (with
    /// `insecure_http_issuer`); otherwise `http` only on loopback.
    pub insecure_http_resources: bool,
    /// Client ID metadata documents: whether, and from where.
    pub client_documents: crate::client_document::DocumentSettings,
    /// Dynamic client registration (RFC 7591).
    pub registration: crate::registration::RegistrationSettings,
    /// Development only: back-channel logout tokens may go to loopback
    /// addresses. Otherwise they go only to public ones, as documents are
    /// fetched only from public ones.
    pub backchannel_logout_allow_loopback: bool,
}

impl Settings {
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        Self {
            audience: issuer.clone(),
            issuer,
            default_token_lifetime: 3600,
            signing_alg: SigningAlg::ES256,
            cache_ttl: Duration::from_secs(2),
            manage_signing_keys: true,
            cors_allowed_origins: Vec::new(),
            max_scopes: crate::scope_policy::DEFAULT_MAX_SCOPES,
            trusted_proxies: Vec::new(),
            insecure_http_resources: false,
            backchannel_logout_allow_loopback: false,
            client_documents: crate::client_document::DocumentSettings {
                enabled: true,
                ..Default::default()
            },
            registration: Default::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Kek(#[from] crate::kek::KekError),
}

/// The records with their private keys opened, for the key ring.
fn opened(kek: &Kek, records: Vec<SigningKeyRecord>) -> Result<Vec<SigningKeyRecord>, StartError> {
    records
        .into_iter()
        .map(|mut r| {
            r.private_pkcs8 = kek.open(r.kid.as_str(), &r.private_pkcs8)?;
            Ok(r)
        })
        .collect()
}

/// A new record as it is stored: its private key sealed.
fn sealed(kek: &Kek, mut r: SigningKeyRecord) -> SigningKeyRecord {
    r.private_pkcs8 = kek.seal(r.kid.as_str(), &r.private_pkcs8);
    r
}

pub struct AuthServer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    pub(crate) keys: KeyRing,
    kek: Arc<Kek>,
    pub(crate) last_used: crate::api_keys::LastUsed,
    pub(crate) login_turns: crate::throttle::Turns,
    /// Access tokens whose signature verified, by SHA-256 of the token.
    pub(crate) verified: TtlCache<[u8; 32], Arc<portcullis_protocol::AccessTokenClaims>>,
    pub(crate) resource_hook: Option<Arc<dyn crate::authorize::ResourceOwnership>>,
    /// Revocation and API-key lookups, coalesced (never cached).
    pub(crate) revoked: Batcher<Jti, ()>,
    pub(crate) api_keys: Batcher<String, ApiKeyRecord>,
    clients: Arc<TtlCache<ClientId, Option<Arc<Client>>>>,
    scopes: Arc<TtlCache<(), Arc<ScopeDefinitions>>>,
    pub(crate) cors_origins: Arc<TtlCache<(), Arc<crate::cors::CorsOrigins>>>,
    pub(crate) advertised: Arc<TtlCache<(), Arc<crate::advertised::Advertised>>>,
    pub(crate) resources: Arc<TtlCache<(), Arc<crate::resources::Resources>>>,
    /// Clients described by metadata documents, by URL; each entry bounded
    /// by its own expiry inside.
    pub(crate) documents: Arc<TtlCache<ClientId, Arc<crate::client_document::DocumentEntry>>>,
    pub(crate) fetcher: Option<Arc<crate::outbound::Fetcher>>,
    /// Delivers back-channel logout tokens.
    pub(crate) logout_sender: Arc<crate::outbound::Fetcher>,
    /// Keys pairwise subject identifiers (OIDC Core §8.1).
    pub(crate) pairwise_salt: Vec<u8>,
}

impl AuthServer {
    /// Loads the key ring, creating a signing key of the configured
    /// algorithm when there is none. Private keys are sealed under `kek`;
    /// any stored in the clear by an earlier version are sealed now.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
        kek: Arc<Kek>,
    ) -> Result<Self, StartError> {
        let now = clock.now();
        let records = store.list_signing_keys().await?;
        for r in records.iter().filter(|r| !Kek::is_sealed(&r.private_pkcs8)) {
            let seal = kek.seal(r.kid.as_str(), &r.private_pkcs8);
            store.set_signing_key_private(&r.kid, &seal).await?;
            tracing::info!(kid = %r.kid, "sealed a signing key stored in the clear");
        }
        let has_current = records
            .iter()
            .any(|k| k.alg == settings.signing_alg && k.may_sign_at(now));
        if settings.manage_signing_keys && !has_current {
            // A first start, or the configured algorithm changed: the new key
            // signs at once and the others retire (staying published while
            // their tokens live), except the RS256 key of ID tokens.
            for old in records.iter().filter(|k| {
                k.retired_at.is_none_or(|r| r > now)
                    && rotation_retires(settings.signing_alg, k.alg)
            }) {
                store.retire_signing_key(&old.kid, now).await?;
            }
            store
                .insert_signing_key(&sealed(
                    &kek,
                    new_key_record(settings.signing_alg, now, now),
                ))
                .await?;
            tracing::info!(alg = settings.signing_alg.as_str(), "created a signing key");
        }
        let has_id_token_key = records
            .iter()
            .any(|k| k.alg == ID_TOKEN_DEFAULT_ALG && k.may_sign_at(now));
        if settings.manage_signing_keys
            && settings.signing_alg != ID_TOKEN_DEFAULT_ALG
            && !has_id_token_key
        {
            // OIDC Core §15.1: ID tokens can always be RS256.
            store
                .insert_signing_key(&sealed(
                    &kek,
                    new_key_record(ID_TOKEN_DEFAULT_ALG, now, now),
                ))
                .await?;
            tracing::info!("created an RS256 signing key for ID tokens");
        }
        // The scope an API key needs to call the admin API.
        if !store
            .list_scopes()
            .await?
            .iter()
            .any(|d| d.name == ADMIN_SCOPE)
        {
            store
                .upsert_scope(&crate::model::ScopeDefinition {
                    name: ADMIN_SCOPE.into(),
                    description: "Manage Portcullis through the admin API".into(),
                    requires_resource: false,
                    grant_policy: crate::model::GrantPolicy::Restricted,
                    machine_grantable: false,
                    listed: false,
                    created_at: now,
                })
                .await?;
        }
        let pairwise_salt = store
            .server_secret(
                crate::oidc::PAIRWISE_SALT,
                portcullis_protocol::secret::random_id::<32>().as_bytes(),
            )
            .await?;
        let records = opened(&kek, store.list_signing_keys().await?)?;
        let keys = KeyRing::new(KeySet::build(&records, now, settings.signing_alg)?);
        let revoked = {
            let store = store.clone();
            Batcher::spawn(Arc::new(move |jtis: Vec<Jti>| {
                let store = store.clone();
                Box::pin(async move {
                    let found = store.revoked_among(&jtis).await?;
                    Ok(found.into_iter().map(|j| (j, ())).collect())
                })
            }))
        };
        let api_keys = {
            let store = store.clone();
            Batcher::spawn(Arc::new(move |ids: Vec<String>| {
                let store = store.clone();
                Box::pin(async move {
                    let found = store.find_api_keys(&ids).await?;
                    Ok(found.into_iter().map(|k| (k.id.clone(), k)).collect())
                })
            }))
        };
        Ok(Self {
            kek,
            revoked,
            api_keys,
            last_used: Default::default(),
            login_turns: Default::default(),
            verified: TtlCache::new(Duration::from_secs(60), 10_000),
            resource_hook: None,
            clients: Arc::new(
                TtlCache::new(settings.cache_ttl, 10_000).with_stale_grace(STALE_GRACE),
            ),
            scopes: Arc::new(TtlCache::new(settings.cache_ttl, 1).with_stale_grace(STALE_GRACE)),
            cors_origins: Arc::new(
                TtlCache::new(settings.cache_ttl, 1).with_stale_grace(STALE_GRACE),
            ),
            advertised: Arc::new(
                TtlCache::new(settings.cache_ttl, 1).with_stale_grace(STALE_GRACE),
            ),
            resources: Arc::new(TtlCache::new(settings.cache_ttl, 1).with_stale_grace(STALE_GRACE)),
            documents: Arc::new(
                TtlCache::new(crate::client_document::MAX_CACHE, 10_000)
                    .with_stale_grace(Duration::ZERO),
            ),
            fetcher: settings.client_documents.fetcher(),
            logout_sender: crate::oidc::logout::sender(&settings),
            pairwise_salt,
            store,
            clock,
            settings,
            keys,
        })
    }

    /// Asks `hook` before granting any `NAME__RESOURCEID` permission.
    pub fn set_resource_hook(&mut self, hook: Arc<dyn crate::authorize::ResourceOwnership>) {
        self.resource_hook = Some(hook);
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Adds a signing key that is published now and signs from
    /// `now + publish_delay`, when every current key retires. Resource
    /// servers that cache the JWK Set see the new key before any token
    /// signed by it.
    pub(crate) async fn rotate_signing_key(
        &self,
        alg: Option<SigningAlg>,
        publish_delay: i64,
    ) -> Result<SigningKeyRecord, StartError> {
        let now = self.clock.now();
        let next = new_key_record(
            alg.unwrap_or(self.settings.signing_alg),
            now,
            now + publish_delay.max(0),
        );
        self.store
            .insert_signing_key(&sealed(&self.kek, next.clone()))
            .await?;
        for old in self.store.list_signing_keys().await? {
            if old.kid != next.kid
                && old.retired_at.is_none()
                && rotation_retires(next.alg, old.alg)
            {
                self.store
                    .retire_signing_key(&old.kid, next.active_at)
                    .await?;
            }
        }
        self.reload_keys().await?;
        Ok(next)
    }

    /// Rereads the keys from the store, so keys rotated elsewhere (another
    /// instance, the CLI) are published and used here.
    pub async fn reload_keys(&self) -> Result<(), StartError> {
        let records = opened(&self.kek, self.store.list_signing_keys().await?)?;
        self.keys.replace(KeySet::build(
            &records,
            self.clock.now(),
            self.settings.signing_alg,
        )?);
        Ok(())
    }

    /// Seals every private key under `new` instead of the current KEK, in
    /// one transaction: either all keys move or none do.
    pub(crate) async fn rewrap_keys(&self, new: &Kek) -> Result<usize, StartError> {
        let records = opened(&self.kek, self.store.list_signing_keys().await?)?;
        let rewrapped: Vec<(portcullis_protocol::KeyId, Vec<u8>)> = records
            .iter()
            .map(|r| (r.kid.clone(), new.seal(r.kid.as_str(), &r.private_pkcs8)))
            .collect();
        self.store.set_signing_key_privates(&rewrapped).await?;
        Ok(rewrapped.len())
    }

    pub(crate) async fn find_client(
        &self,
        id: &ClientId,
    ) -> Result<Option<Arc<Client>>, OAuthError> {
        if crate::client_document::DocumentSettings::names_document(id.as_str()) {
            return self.document_client(id).await;
        }
        let (store, key) = (self.store.clone(), id.clone());
        self.clients
            .get_or_load(id, move || async move {
                Ok(store.find_client(&key).await?.map(Arc::new))
            })
            .await
    }

    /// After any change to a client: its cached record, the CORS origins
    /// its redirect URIs contribute and the grants the metadata advertises.
    pub(crate) fn forget_client(&self, id: &ClientId) {
        self.clients.invalidate(id);
        self.cors_origins.clear();
        self.advertised.clear();
    }

    pub(crate) async fn scope_definitions(&self) -> Result<Arc<ScopeDefinitions>, OAuthError> {
        let store = self.store.clone();
        self.scopes
            .get_or_load(&(), move || async move {
                Ok(Arc::new(ScopeDefinitions::new(store.list_scopes().await?)))
            })
            .await
    }

    pub(crate) fn forget_scopes(&self) {
        self.scopes.clear();
        self.advertised.clear();
    }
}
