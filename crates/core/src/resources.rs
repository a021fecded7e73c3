//! Resource servers and resource indicators (RFC 8707): which APIs a token
//! may be asked for, by whom, and with which scopes.

use std::collections::BTreeMap;
use std::sync::Arc;

use portcullis_protocol::{OAuthError, ResourceUri, ScopeSet};

use crate::model::{Client, Resource};
use crate::registry::RegistryError;
use crate::server::AuthServer;

/// Most `resource` parameters in one request: each becomes an `aud` entry.
pub const MAX_RESOURCES: usize = 10;

/// The defined resources, by identifier.
#[derive(Debug, Default)]
pub struct Resources(BTreeMap<ResourceUri, Resource>);

impl Resources {
    pub fn new(all: impl IntoIterator<Item = Resource>) -> Self {
        Self(all.into_iter().map(|r| (r.uri.clone(), r)).collect())
    }

    pub fn get(&self, uri: &ResourceUri) -> Option<&Resource> {
        self.0.get(uri)
    }

    /// RFC 8707 §2: each requested resource must be well formed, defined
    /// and open to `client`; the answer is `invalid_target` otherwise.
    /// Described without repeating the input.
    pub fn check(
        &self,
        requested: &[String],
        client: &Client,
        allow_http: bool,
    ) -> Result<Vec<ResourceUri>, OAuthError> {
        if requested.len() > MAX_RESOURCES {
            return Err(OAuthError::invalid_target(format!(
                "at most {MAX_RESOURCES} resources in one request"
            )));
        }
        let mut out: Vec<ResourceUri> = Vec::with_capacity(requested.len());
        for (i, raw) in requested.iter().enumerate() {
            let n = i + 1;
            let uri = ResourceUri::parse(raw, allow_http)
                .map_err(|e| OAuthError::invalid_target(format!("resource {n}: {e}")))?;
            let Some(def) = self.get(&uri) else {
                return Err(OAuthError::invalid_target(format!(
                    "resource {n} is not an API this server issues tokens for"
                )));
            };
            if def.restricted && !client.resources.contains(&uri) {
                return Err(OAuthError::invalid_target(format!(
                    "resource {n} is restricted and not allowed for this client"
                )));
            }
            if !out.contains(&uri) {
                out.push(uri);
            }
        }
        Ok(out)
    }

    /// The scopes the named resources understand, or `None` when there is
    /// no limit: no resource named, or one that declared no scopes.
    pub fn scope_union(&self, uris: &[ResourceUri]) -> Option<ScopeSet> {
        if uris.is_empty() {
            return None;
        }
        let mut union = ScopeSet::default();
        for uri in uris {
            let def = self.get(uri)?;
            if def.scopes.is_empty() {
                return None;
            }
            for s in def.scopes.iter() {
                union.insert(s.clone());
            }
        }
        Some(union)
    }
}

/// RFC 8707 §2.2: at the token endpoint of a grant made for `granted`,
/// `resource` may only pick among them; none picks them all.
pub fn narrow(
    requested: &[String],
    granted: &[ResourceUri],
) -> Result<Vec<ResourceUri>, OAuthError> {
    if requested.is_empty() {
        return Ok(granted.to_vec());
    }
    let mut out: Vec<ResourceUri> = Vec::new();
    for (i, raw) in requested.iter().enumerate() {
        let n = i + 1;
        let uri: ResourceUri = raw
            .parse()
            .map_err(|e| OAuthError::invalid_target(format!("resource {n}: {e}")))?;
        if !granted.contains(&uri) {
            return Err(OAuthError::invalid_target(format!(
                "resource {n} was not part of this grant; a token request may narrow the resources, never widen them"
            )));
        }
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

/// Keeps a grant for `uris` within the scopes those APIs understand: a named
/// scope outside them is `invalid_scope`; defaulted ones are narrowed.
pub fn fit_scopes(
    granted: ScopeSet,
    named: bool,
    union: Option<&ScopeSet>,
) -> Result<ScopeSet, OAuthError> {
    let Some(union) = union else {
        return Ok(granted);
    };
    let fits = |s: &portcullis_protocol::Scope| {
        crate::scope_policy::is_builtin(s.as_str())
            || union.contains(s)
            || union.contains_str(s.split_resource().0)
    };
    if named {
        if let Some(s) = granted.iter().find(|s| !fits(s)) {
            let (name, _) = s.split_resource();
            return Err(OAuthError::invalid_scope(format!(
                "`{name}` is not a scope of the requested resource"
            )));
        }
        return Ok(granted);
    }
    let narrowed: ScopeSet = granted.iter().filter(|s| fits(s)).cloned().collect();
    if narrowed
        .iter()
        .all(|s| crate::scope_policy::is_builtin(s.as_str()))
    {
        return Err(OAuthError::invalid_scope(
            "none of this client's default scopes belongs to the requested resource: send `scope`",
        ));
    }
    Ok(narrowed)
}

/// A resource as an administrator defines it.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    pub uri: String,
    pub name: String,
    pub scopes: ScopeSet,
    pub restricted: bool,
}

impl AuthServer {
    pub(crate) async fn resources(&self) -> Result<Arc<Resources>, OAuthError> {
        let store = self.store.clone();
        self.resources
            .get_or_load(&(), move || async move {
                Ok(Arc::new(Resources::new(store.list_resources().await?)))
            })
            .await
    }

    /// The checked resources of a request and the scopes they limit it to.
    /// A request naming none never touches the catalogue, so grants that do
    /// not use resources do not depend on it being loadable.
    pub(crate) async fn requested_resources(
        &self,
        requested: &[String],
        client: &Client,
    ) -> Result<(Vec<ResourceUri>, Option<ScopeSet>), OAuthError> {
        if requested.is_empty() {
            return Ok((Vec::new(), None));
        }
        let catalog = self.resources().await?;
        let resources = catalog.check(requested, client, self.allows_http_resources())?;
        let union = catalog.scope_union(&resources);
        Ok((resources, union))
    }

    /// Whether `http` resource identifiers on any host are accepted.
    pub(crate) fn allows_http_resources(&self) -> bool {
        self.settings.insecure_http_resources
    }

    pub(crate) async fn define_resource(
        &self,
        spec: ResourceSpec,
    ) -> Result<Resource, RegistryError> {
        let uri = ResourceUri::parse(spec.uri.trim(), self.allows_http_resources())
            .map_err(|e| RegistryError::Invalid(e.to_string()))?;
        let name = spec.name.trim();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(RegistryError::Invalid(
                "a resource needs a name of 1 to 200 printable characters: it is shown on the consent page"
                    .into(),
            ));
        }
        let defs = self.scope_definitions().await?;
        for s in spec.scopes.iter() {
            if !crate::scope_policy::is_builtin(s.as_str()) {
                defs.check_allowable(s).map_err(RegistryError::Invalid)?;
            }
        }
        let created_at = self
            .resources()
            .await?
            .get(&uri)
            .map_or_else(|| self.now(), |r| r.created_at);
        let r = Resource {
            uri,
            name: name.to_owned(),
            scopes: spec.scopes,
            restricted: spec.restricted,
            created_at,
        };
        self.store.upsert_resource(&r).await?;
        self.resources.clear();
        Ok(r)
    }

    pub(crate) async fn delete_resource(&self, uri: &ResourceUri) -> Result<(), RegistryError> {
        if !self.store.delete_resource(uri).await? {
            return Err(RegistryError::NotFound(format!("resource `{uri}`")));
        }
        self.resources.clear();
        Ok(())
    }
}
