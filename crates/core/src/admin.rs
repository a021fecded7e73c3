//! Managing Portcullis as someone: every operation the admin API, the
//! console and the CLI offer, each asking [`policy::decide`] before it
//! acts. The operations themselves (validation, hashing, the store) live
//! beside their records in `registry`, `api_keys` and `users`, reachable
//! from outside this crate only through here.

use portcullis_protocol::{ClientId, Scope, Secret, UserId};

use crate::api_keys::{ApiKeySpec, CreatedApiKey};
use crate::model::{ApiKeyRecord, Client, Consent, Owner, SigningAlg, SigningKeyRecord, User};
use crate::policy::{self, Action, Actor, Denied, Ownership};
use crate::registry::{ClientSpec, ClientUpdate, CreatedClient, RegistryError, ScopeSpec};
use crate::scope_policy::ScopeDefinitions;
use crate::server::{ADMIN_SCOPE, AuthServer};

impl From<&User> for Actor {
    fn from(u: &User) -> Self {
        Actor::User {
            id: u.id.clone(),
            admin: u.admin,
        }
    }
}

impl From<Denied> for RegistryError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Unauthenticated => Self::Unauthenticated,
            Denied::Forbidden(m) => Self::Forbidden(m),
            Denied::NotFound(what) => Self::NotFound(what.into()),
        }
    }
}

/// The server, as one actor sees it.
pub struct Acting<'a> {
    server: &'a AuthServer,
    actor: Actor,
}

impl AuthServer {
    pub fn acting_as(&self, actor: Actor) -> Acting<'_> {
        Acting {
            server: self,
            actor,
        }
    }

    /// The command line: the operator may do anything.
    pub fn operator(&self) -> Acting<'_> {
        self.acting_as(Actor::Operator)
    }

    /// Who presents this API key to the admin API. A key that does not
    /// verify is unauthenticated; one without `portcullis:admin` is refused.
    pub async fn admin_actor_for_key(&self, presented: &str) -> Result<Actor, RegistryError> {
        let key = self
            .verify_api_key(presented)
            .await?
            .ok_or(RegistryError::Unauthenticated)?;
        if !key.scopes.contains_str(ADMIN_SCOPE) {
            return Err(RegistryError::Forbidden(format!(
                "this API key lacks the {ADMIN_SCOPE} scope"
            )));
        }
        match key.owner {
            Owner::Client(id) => Ok(Actor::Client(id)),
            // verify_api_key has checked the owner exists and is enabled.
            Owner::User(id) => {
                let user = self
                    .store
                    .find_user(&id)
                    .await?
                    .ok_or(RegistryError::Unauthenticated)?;
                Ok(Actor::from(&user))
            }
        }
    }
}

impl Acting<'_> {
    /// The policy's answer, for surfaces that show or hide a control
    /// before any operation is attempted.
    pub fn allowed(&self, action: Action<'_>) -> Result<(), RegistryError> {
        Ok(policy::decide(&self.actor, action)?)
    }

    /// May the actor see this object? Answers `false` rather than an error,
    /// for filtering lists.
    fn may(&self, action: Action<'_>) -> bool {
        policy::decide(&self.actor, action).is_ok()
    }

    async fn defs(&self) -> Result<ScopeDefinitions, RegistryError> {
        Ok(ScopeDefinitions::new(
            self.server.store.list_scopes().await?,
        ))
    }

    /// Each scope's grant policy, for scopes being newly put on a client or
    /// key. Unknown scopes are left to validation, which names them.
    async fn allow_scopes<'s>(
        &self,
        scopes: impl Iterator<Item = &'s Scope>,
    ) -> Result<(), RegistryError> {
        let defs = self.defs().await?;
        for s in scopes {
            if let Some(def) = defs.get(s.split_resource().0) {
                self.allowed(Action::AllowScope(def))?;
            }
        }
        Ok(())
    }

    // Clients.

    pub async fn list_clients(&self) -> Result<Vec<Client>, RegistryError> {
        self.allowed(Action::ListClients)?;
        let all = self.server.store.list_clients().await?;
        Ok(all
            .into_iter()
            .filter(|c| self.may(Action::ReadClient(Ownership(c.owner.as_ref()))))
            .collect())
    }

    pub async fn client(&self, id: &ClientId) -> Result<Client, RegistryError> {
        let not_found = || RegistryError::NotFound("client".into());
        let client = self
            .server
            .store
            .find_client(id)
            .await?
            .ok_or_else(not_found)?;
        self.allowed(Action::ReadClient(Ownership(client.owner.as_ref())))?;
        Ok(client)
    }

    async fn changeable_client(&self, id: &ClientId) -> Result<Client, RegistryError> {
        let client = self.client(id).await?;
        self.allowed(Action::ChangeClient(Ownership(client.owner.as_ref())))?;
        Ok(client)
    }

    /// Each newly allowed resource's restriction. Unknown ones are left to
    /// validation, which names them.
    async fn allow_resources<'r>(
        &self,
        uris: impl Iterator<Item = &'r portcullis_protocol::ResourceUri>,
    ) -> Result<(), RegistryError> {
        let all = self.server.resources().await?;
        for uri in uris {
            if let Some(r) = all.get(uri) {
                self.allowed(Action::AllowResource(r))?;
            }
        }
        Ok(())
    }

    pub async fn register_client(&self, spec: ClientSpec) -> Result<CreatedClient, RegistryError> {
        self.allowed(Action::RegisterClient)?;
        self.allowed(Action::RegisterClientFor(spec.owner.as_ref()))?;
        self.allow_scopes(spec.scopes.iter()).await?;
        self.allow_resources(spec.resources.iter()).await?;
        self.server.register_client(spec).await
    }

    /// Only scopes the change adds are checked against their grant policy:
    /// a developer keeps what an administrator once allowed.
    pub async fn update_client(
        &self,
        id: &ClientId,
        update: ClientUpdate,
    ) -> Result<Client, RegistryError> {
        let client = self.changeable_client(id).await?;
        if let Some(new) = &update.scopes {
            self.allow_scopes(new.iter().filter(|s| !client.scopes.contains(s)))
                .await?;
        }
        if let Some(new) = &update.resources {
            self.allow_resources(new.iter().filter(|r| !client.resources.contains(r)))
                .await?;
        }
        self.server.update_client(id, update).await
    }

    pub async fn rotate_client_secret(&self, id: &ClientId) -> Result<Secret, RegistryError> {
        self.changeable_client(id).await?;
        self.server.rotate_client_secret(id).await
    }

    pub async fn delete_client(&self, id: &ClientId) -> Result<(), RegistryError> {
        self.changeable_client(id).await?;
        self.server.delete_client(id).await
    }

    // API keys.

    /// The user who answers for a key's owner.
    async fn key_ownership(&self, owner: &Owner) -> Result<Option<UserId>, RegistryError> {
        Ok(match owner {
            Owner::User(u) => Some(u.clone()),
            Owner::Client(c) => self
                .server
                .store
                .find_client(c)
                .await?
                .and_then(|c| c.owner),
        })
    }

    /// One read of the clients for the whole list, not one per
    /// client-owned key.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, RegistryError> {
        self.allowed(Action::ListApiKeys)?;
        let client_owners: std::collections::HashMap<ClientId, Option<UserId>> = self
            .server
            .store
            .list_clients()
            .await?
            .into_iter()
            .map(|c| (c.id, c.owner))
            .collect();
        let keys = self.server.store.list_api_keys().await?;
        Ok(keys
            .into_iter()
            .filter(|k| {
                let by = match &k.owner {
                    Owner::User(u) => Some(u),
                    Owner::Client(c) => client_owners.get(c).and_then(Option::as_ref),
                };
                self.may(Action::ReadApiKey(Ownership(by)))
            })
            .collect())
    }

    /// The key and the user who answers for it, if the actor may see it.
    async fn visible_key(&self, id: &str) -> Result<(ApiKeyRecord, Option<UserId>), RegistryError> {
        let key = self
            .server
            .store
            .find_api_key(id)
            .await?
            .ok_or_else(|| RegistryError::NotFound("API key".into()))?;
        let by = self.key_ownership(&key.owner).await?;
        self.allowed(Action::ReadApiKey(Ownership(by.as_ref())))?;
        Ok((key, by))
    }

    pub async fn api_key(&self, id: &str) -> Result<ApiKeyRecord, RegistryError> {
        Ok(self.visible_key(id).await?.0)
    }

    pub async fn create_api_key(&self, spec: ApiKeySpec) -> Result<CreatedApiKey, RegistryError> {
        let by = self.key_ownership(&spec.owner).await?;
        self.allowed(Action::CreateApiKey(Ownership(by.as_ref())))?;
        self.allow_scopes(spec.scopes.iter()).await?;
        self.server.create_api_key(spec).await
    }

    pub async fn revoke_api_key(&self, id: &str) -> Result<(), RegistryError> {
        let (_, by) = self.visible_key(id).await?;
        self.allowed(Action::RevokeApiKey(Ownership(by.as_ref())))?;
        self.server.revoke_api_key(id).await
    }

    // Users.

    pub async fn list_users(&self) -> Result<Vec<User>, RegistryError> {
        self.allowed(Action::ListUsers)?;
        Ok(self.server.store.list_users().await?)
    }

    pub async fn user(&self, id: &UserId) -> Result<User, RegistryError> {
        self.allowed(Action::ReadUser(id))?;
        self.server
            .store
            .find_user(id)
            .await?
            .ok_or_else(|| RegistryError::NotFound("user".into()))
    }

    pub async fn user_by_name(&self, username: &str) -> Result<User, RegistryError> {
        let user = self.server.find_user_by_name(username).await?;
        // The same answer as for a missing user: names are not enumerable.
        match self.allowed(Action::ReadUser(&user.id)) {
            Err(RegistryError::NotFound(_)) => {
                Err(RegistryError::NotFound(format!("user `{username}`")))
            }
            other => other.map(|()| user),
        }
    }

    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
        admin: bool,
    ) -> Result<User, RegistryError> {
        self.allowed(Action::ManageUsers)?;
        self.server.create_user(username, password, admin).await
    }

    pub async fn set_password(&self, id: &UserId, password: &str) -> Result<(), RegistryError> {
        self.allowed(Action::ManageUsers)?;
        let user = self.user(id).await?;
        self.server.set_password(&user, password).await
    }

    pub async fn set_user_disabled(
        &self,
        id: &UserId,
        disabled: bool,
    ) -> Result<(), RegistryError> {
        self.allowed(Action::ManageUsers)?;
        let user = self.user(id).await?;
        self.server.set_user_disabled(&user, disabled).await
    }

    /// Replaces `id`'s standard claims. A user editing their own profile
    /// cannot mark an address or number verified; changing one clears it.
    pub async fn set_user_profile(
        &self,
        id: &UserId,
        profile: crate::profile::UserProfile,
    ) -> Result<User, RegistryError> {
        self.allowed(Action::EditProfile(id))?;
        let mut user = self.user(id).await?;
        let profile = profile
            .validated()
            .map_err(|e| RegistryError::Invalid(e.to_string()))?;
        user.profile = if self.allowed(Action::ManageUsers).is_ok() {
            profile
        } else {
            user.profile.edited_by_user(profile)
        };
        user.updated_at = self.server.now();
        if !self
            .server
            .store
            .set_user_profile(id, &user.profile, user.updated_at)
            .await?
        {
            return Err(RegistryError::NotFound("user".into()));
        }
        Ok(user)
    }

    // Scopes.

    pub async fn list_scopes(&self) -> Result<Vec<crate::model::ScopeDefinition>, RegistryError> {
        self.allowed(Action::ReadScopes)?;
        Ok(self.server.store.list_scopes().await?)
    }

    pub async fn define_scope(
        &self,
        spec: ScopeSpec,
    ) -> Result<crate::model::ScopeDefinition, RegistryError> {
        self.allowed(Action::DefineScope)?;
        self.server.define_scope(spec).await
    }

    // Resources.

    pub async fn list_resources(&self) -> Result<Vec<crate::model::Resource>, RegistryError> {
        self.allowed(Action::ReadResources)?;
        Ok(self.server.store.list_resources().await?)
    }

    pub async fn define_resource(
        &self,
        spec: crate::resources::ResourceSpec,
    ) -> Result<crate::model::Resource, RegistryError> {
        self.allowed(Action::DefineResource)?;
        self.server.define_resource(spec).await
    }

    pub async fn delete_resource(
        &self,
        uri: &portcullis_protocol::ResourceUri,
    ) -> Result<(), RegistryError> {
        self.allowed(Action::DefineResource)?;
        self.server.delete_resource(uri).await
    }

    // Consents.

    pub async fn consents(&self, user: &UserId) -> Result<Vec<Consent>, RegistryError> {
        self.allowed(Action::ReadConsents(user))?;
        Ok(self.server.store.list_consents(user).await?)
    }

    /// Ends a live consent: its refresh tokens stop working and its access
    /// tokens introspect inactive.
    pub async fn end_consent(&self, id: &str) -> Result<(), RegistryError> {
        let not_found = || RegistryError::NotFound("consent".into());
        let consent = self
            .server
            .store
            .find_consent(id)
            .await?
            .filter(|c| c.revoked_at.is_none())
            .ok_or_else(not_found)?;
        self.allowed(Action::RevokeConsent(&consent.user_id))?;
        self.server.revoke_consent(&consent.user_id, id).await?;
        Ok(())
    }

    // Signing keys.

    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, RegistryError> {
        self.allowed(Action::ReadSigningKeys)?;
        Ok(self.server.store.list_signing_keys().await?)
    }

    /// Moves every private signing key under a new key-encryption key.
    pub async fn rewrap_signing_keys(&self, new: &crate::kek::Kek) -> Result<usize, RegistryError> {
        self.allowed(Action::RotateSigningKey)?;
        self.server
            .rewrap_keys(new)
            .await
            .map_err(RegistryError::Start)
    }

    pub async fn rotate_signing_key(
        &self,
        alg: Option<SigningAlg>,
        publish_delay: i64,
    ) -> Result<SigningKeyRecord, RegistryError> {
        self.allowed(Action::RotateSigningKey)?;
        self.server
            .rotate_signing_key(alg, publish_delay)
            .await
            .map_err(RegistryError::Start)
    }

    /// An initial access token for dynamic registration (RFC 7591 §3),
    /// single use, and when it expires. Shown once; only its hash is kept.
    pub async fn create_registration_token(
        &self,
        expires_in: Option<i64>,
    ) -> Result<(Secret, i64), RegistryError> {
        self.allowed(Action::CreateRegistrationToken)?;
        Ok(self.server.create_registration_token(expires_in).await?)
    }
}
