//! Registering and managing clients and scope definitions: the rules the CLI
//! (and later the admin API and console) apply.

use portcullis_protocol::secret::random_hex_id;
use portcullis_protocol::{ClientId, GrantType, RedirectUri, Scope, ScopeSet, Secret, UserId};

use crate::client_oidc::ClientOidc;
use crate::keyring::MAX_TOKEN_LIFETIME;
use crate::model::{Client, GrantPolicy, ScopeDefinition};
use crate::server::AuthServer;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    OAuth(#[from] portcullis_protocol::OAuthError),
    #[error(transparent)]
    Start(crate::server::StartError),
}

/// A scope definition as an administrator writes it.
#[derive(Debug, Clone)]
pub struct ScopeSpec {
    pub name: String,
    pub description: String,
    pub requires_resource: bool,
    pub grant_policy: GrantPolicy,
    pub machine_grantable: bool,
    /// Named in the metadata's `scopes_supported`.
    pub listed: bool,
}

impl ScopeSpec {
    /// A plain, restricted scope: the safe default.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            requires_resource: false,
            grant_policy: GrantPolicy::Restricted,
            machine_grantable: false,
            listed: true,
        }
    }
}

/// What the owner chooses when registering a client.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub name: String,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    /// What a request without `scope` gets; `None`: every plain scope.
    pub default_scopes: Option<ScopeSet>,
    pub redirect_uris: Vec<RedirectUri>,
    pub public: bool,
    pub token_lifetime: Option<i64>,
    /// Only meaningful for confidential clients; public ones always need PKCE.
    pub require_pkce: bool,
    /// The developer who answers for it; `None` for the operator's clients.
    pub owner: Option<UserId>,
    /// Restricted resources it may ask tokens for.
    pub resources: Vec<portcullis_protocol::ResourceUri>,
    /// Logout URIs, subject type, ID token algorithm.
    pub oidc: ClientOidc,
}

/// A changed client; `None` leaves a field as it was.
#[derive(Debug, Clone, Default)]
pub struct ClientUpdate {
    pub name: Option<String>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<ScopeSet>,
    pub default_scopes: Option<Option<ScopeSet>>,
    pub redirect_uris: Option<Vec<RedirectUri>>,
    pub token_lifetime: Option<Option<i64>>,
    pub require_pkce: Option<bool>,
    pub resources: Option<Vec<portcullis_protocol::ResourceUri>>,
    /// Replaces the OpenID Connect settings whole.
    pub oidc: Option<ClientOidc>,
}

/// A client just created; the secret is here once and never again.
#[derive(Debug)]
pub struct CreatedClient {
    pub client: Client,
    pub secret: Option<Secret>,
}

impl AuthServer {
    pub(crate) async fn register_client(
        &self,
        spec: ClientSpec,
    ) -> Result<CreatedClient, RegistryError> {
        let now = self.now();
        let secret = (!spec.public).then(Secret::generate);
        let mut client = Client {
            id: ClientId::new(random_hex_id::<16>()),
            name: spec.name,
            secret_hash: secret.as_ref().map(Secret::hash),
            redirect_uris: spec.redirect_uris,
            grant_types: spec.grant_types,
            scopes: spec.scopes,
            default_scopes: spec.default_scopes,
            token_lifetime: spec.token_lifetime,
            require_pkce: spec.require_pkce || spec.public,
            owner: spec.owner,
            resources: spec.resources,
            oidc: spec.oidc,
            origin: crate::model::ClientOrigin::Registered,
            created_at: now,
            updated_at: now,
        };
        self.validate_oidc(&mut client)?;
        self.validate_client(&client).await?;
        self.store.insert_client(&client).await?;
        self.forget_client(&client.id);
        Ok(CreatedClient { client, secret })
    }

    pub(crate) async fn update_client(
        &self,
        id: &ClientId,
        update: ClientUpdate,
    ) -> Result<Client, RegistryError> {
        let mut client = self
            .store
            .find_client(id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("client `{id}`")))?;
        if let Some(v) = update.name {
            client.name = v;
        }
        if let Some(v) = update.grant_types {
            client.grant_types = v;
        }
        if let Some(v) = update.scopes {
            client.scopes = v;
        }
        if let Some(v) = update.default_scopes {
            client.default_scopes = v;
        }
        if let Some(v) = update.redirect_uris {
            client.redirect_uris = v;
        }
        if let Some(v) = update.token_lifetime {
            client.token_lifetime = v;
        }
        if let Some(v) = update.resources {
            client.resources = v;
        }
        if let Some(v) = update.oidc {
            client.oidc = v;
        }
        if let Some(v) = update.require_pkce {
            client.require_pkce = v || client.is_public();
        }
        client.updated_at = self.now();
        self.validate_oidc(&mut client)?;
        self.validate_client(&client).await?;
        if !self.store.update_client(&client).await? {
            return Err(RegistryError::NotFound(format!("client `{id}`")));
        }
        self.forget_client(id);
        Ok(client)
    }

    /// Issues a new secret; the old one stops working at once.
    pub(crate) async fn rotate_client_secret(
        &self,
        id: &ClientId,
    ) -> Result<Secret, RegistryError> {
        let client = self
            .store
            .find_client(id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("client `{id}`")))?;
        if client.is_public() {
            return Err(RegistryError::Invalid(format!(
                "client `{id}` is public and has no secret"
            )));
        }
        let secret = Secret::generate();
        if !self
            .store
            .set_client_secret(id, &secret.hash(), self.now())
            .await?
        {
            return Err(RegistryError::NotFound(format!("client `{id}`")));
        }
        self.forget_client(id);
        Ok(secret)
    }

    pub(crate) async fn delete_client(&self, id: &ClientId) -> Result<(), RegistryError> {
        if !self.store.delete_client(id).await? {
            return Err(RegistryError::NotFound(format!("client `{id}`")));
        }
        self.forget_client(id);
        Ok(())
    }

    /// The scopes a self-registered client may be allowed: what any
    /// developer may allow their own client.
    pub(crate) async fn registrant_scopes(
        &self,
    ) -> Result<ScopeSet, portcullis_protocol::OAuthError> {
        use crate::policy::{Action, Actor, decide};
        let defs = self.scope_definitions().await?;
        Ok(defs
            .iter()
            .filter(|d| decide(&Actor::Registrant, Action::AllowScope(d)).is_ok())
            .filter_map(|d| Scope::parse(&d.name).ok())
            .collect())
    }

    /// The OIDC settings of a client about to be stored, checked against
    /// its redirect URIs and the key ring; the pairwise sector filled in.
    pub(crate) fn validate_oidc(&self, c: &mut Client) -> Result<(), RegistryError> {
        let oidc = std::mem::take(&mut c.oidc);
        c.oidc = oidc
            .validated(&c.redirect_uris)
            .map_err(|e| RegistryError::Invalid(e.0))?;
        if let Some(alg) = c.oidc.id_token_signed_response_alg
            && !self.keys().current().signing_algs().any(|a| a == alg)
        {
            return Err(RegistryError::Invalid(format!(
                "no active signing key signs {}; create one with `portcullis keys rotate --alg {}`",
                alg.as_str(),
                alg.as_str()
            )));
        }
        Ok(())
    }

    async fn validate_client(&self, c: &Client) -> Result<(), RegistryError> {
        let invalid = |m: String| Err(RegistryError::Invalid(m));
        let name = c.name.trim();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return invalid("client name must be 1 to 200 printable characters".into());
        }
        if c.grant_types.is_empty() {
            return invalid("a client needs at least one grant type".into());
        }
        if c.is_public() && c.allows_grant(GrantType::ClientCredentials) {
            return invalid(
                "a public client cannot use client_credentials: it has no secret to authenticate with"
                    .into(),
            );
        }
        let redirects =
            c.allows_grant(GrantType::AuthorizationCode) || c.allows_grant(GrantType::Implicit);
        if redirects && c.redirect_uris.is_empty() {
            return invalid(
                "authorization_code and implicit need at least one --redirect-uri".into(),
            );
        }
        if c.allows_grant(GrantType::RefreshToken) && !c.allows_grant(GrantType::AuthorizationCode)
        {
            return invalid(
                "refresh_token is only issued with authorization_code; add that grant type".into(),
            );
        }
        if let Some(l) = c.token_lifetime
            && !(60..=MAX_TOKEN_LIFETIME).contains(&l)
        {
            return invalid(format!(
                "token lifetime must be between 60 and {MAX_TOKEN_LIFETIME} seconds, not {l}"
            ));
        }
        crate::scope_policy::check_count(&c.scopes, self.settings.max_scopes)
            .map_err(RegistryError::Invalid)?;
        let defs = crate::scope_policy::ScopeDefinitions::new(self.store.list_scopes().await?);
        for scope in c.scopes.iter() {
            defs.check_allowable(scope)
                .map_err(RegistryError::Invalid)?;
        }
        let catalog = if c.resources.is_empty() {
            Default::default()
        } else {
            self.resources().await?
        };
        for uri in &c.resources {
            if catalog.get(uri).is_none() {
                return Err(RegistryError::Invalid(format!(
                    "resource `{uri}` is not defined (define it first with `portcullis resource define`)"
                )));
            }
        }
        for scope in c.default_scopes.iter().flat_map(ScopeSet::iter) {
            crate::scope_policy::check_default(scope, c, &defs).map_err(RegistryError::Invalid)?;
        }
        Ok(())
    }

    /// Defines a scope, or changes an existing definition.
    pub(crate) async fn define_scope(
        &self,
        spec: ScopeSpec,
    ) -> Result<ScopeDefinition, RegistryError> {
        let name = spec.name.as_str();
        let scope = Scope::parse(name).map_err(|e| RegistryError::Invalid(e.to_string()))?;
        if scope
            .as_str()
            .contains(portcullis_protocol::scope::RESOURCE_SEPARATOR)
        {
            return Err(RegistryError::Invalid(format!(
                "scope name `{name}` must not contain `__`: it separates a permission from its resource id"
            )));
        }
        if crate::scope_policy::is_builtin(name) {
            return Err(RegistryError::Invalid(format!(
                "`{name}` is built into Portcullis and cannot be defined"
            )));
        }
        if spec.machine_grantable && !spec.requires_resource {
            return Err(RegistryError::Invalid(format!(
                "only a resource permission (--requires-resource) can be machine-grantable; \
                 `{name}` is a plain scope"
            )));
        }
        let description = spec.description.trim();
        if description.is_empty() || description.len() > 500 {
            return Err(RegistryError::Invalid(
                "a scope needs a description of 1 to 500 characters: it is shown on the consent page"
                    .into(),
            ));
        }
        let def = ScopeDefinition {
            name: scope.as_str().to_owned(),
            description: description.to_owned(),
            requires_resource: spec.requires_resource,
            grant_policy: spec.grant_policy,
            machine_grantable: spec.machine_grantable,
            listed: spec.listed,
            created_at: self.now(),
        };
        self.store.upsert_scope(&def).await?;
        self.forget_scopes();
        Ok(def)
    }
}
