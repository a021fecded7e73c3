//! The facts of the metadata document (RFC 8414) that depend on what is
//! registered: the scopes a client can ask for by name, and whether any
//! client may use the implicit grant. Advertising a capability no client
//! can use only sends integrators down a path that ends in an error.

use std::sync::Arc;

use portcullis_protocol::{GrantType, OAuthError};

use crate::model::{Client, RESERVED_SCOPE_PREFIX, ScopeDefinition};
use crate::scope_policy::OFFLINE_ACCESS;
use crate::server::AuthServer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertised {
    /// `scopes_supported`, sorted.
    pub scopes: Vec<String>,
    /// Some client is registered for `response_type=token`.
    pub implicit: bool,
}

impl Advertised {
    /// Listed plain scopes, and `offline_access`. A resource permission is
    /// only ever asked for as `NAME__RESOURCEID`, which no list can name,
    /// and Portcullis's own `portcullis:*` scopes are for its operators.
    pub fn of(defs: &[ScopeDefinition], clients: &[Client]) -> Self {
        let mut scopes: Vec<String> = defs
            .iter()
            .filter(|d| d.listed && !d.requires_resource)
            .filter(|d| !d.name.starts_with(RESERVED_SCOPE_PREFIX))
            .map(|d| d.name.clone())
            .chain(std::iter::once(OFFLINE_ACCESS.to_owned()))
            .chain(
                crate::scope_policy::OIDC_SCOPES
                    .iter()
                    .map(|s| (*s).to_owned()),
            )
            .collect();
        scopes.sort();
        scopes.dedup();
        Self {
            scopes,
            implicit: clients.iter().any(|c| c.allows_grant(GrantType::Implicit)),
        }
    }
}

impl AuthServer {
    /// The registered facts the metadata document advertises, cached like
    /// clients and scopes and dropped when either changes.
    pub async fn advertised(&self) -> Result<Arc<Advertised>, OAuthError> {
        let store = self.store.clone();
        self.advertised
            .get_or_load(&(), move || async move {
                let (defs, clients) = (store.list_scopes().await?, store.list_clients().await?);
                Ok(Arc::new(Advertised::of(&defs, &clients)))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GrantPolicy;

    fn def(name: &str, requires_resource: bool, listed: bool) -> ScopeDefinition {
        ScopeDefinition {
            name: name.into(),
            description: name.into(),
            requires_resource,
            grant_policy: GrantPolicy::SelfService,
            machine_grantable: false,
            listed,
            created_at: 0,
        }
    }

    fn client(grants: Vec<GrantType>) -> Client {
        Client {
            grant_types: grants,
            ..Client::blank()
        }
    }

    #[test]
    fn lists_what_can_be_asked_for_by_name() {
        let defs = [
            def("write", false, true),
            def("read", false, true),
            def("internal", false, false),
            def("ADDON_USER_APPROVED", true, true),
            def("portcullis:admin", false, true),
        ];
        let a = Advertised::of(&defs, &[client(vec![GrantType::AuthorizationCode])]);
        assert_eq!(
            a.scopes,
            [
                "address",
                "email",
                "offline_access",
                "openid",
                "phone",
                "profile",
                "read",
                "write"
            ]
        );
        assert!(!a.implicit);
        let a = Advertised::of(&defs, &[client(vec![GrantType::Implicit])]);
        assert!(a.implicit);
    }
}
