//! Who is calling, once the credential has been checked.

use portcullis_protocol::scope::RESOURCE_SEPARATOR;
use portcullis_protocol::{ClientId, ScopeSet};
use serde::Serialize;

use crate::GuardError;

/// What kind of credential the caller presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// An access token issued on behalf of a user: `subject` is the user id.
    User,
    /// A client-credentials token: the client acts for itself and `subject`
    /// is its client id.
    Client,
    /// An API key: `subject` is the key's owner (a user id or a client id).
    ApiKey,
}

/// Which callers a permission check accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principals {
    /// Tokens a user approved at the consent page.
    UsersOnly,
    /// Also client-credentials tokens and API keys, for permissions an
    /// administrator made machine-grantable.
    Any,
}

/// The verified caller. The layer puts one into the request extensions; the
/// axum extractor hands it to handlers.
///
/// It holds no credential, so it can be logged and returned as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub subject: String,
    /// The client the token was issued to; absent for API keys that belong
    /// to a user.
    pub client_id: Option<ClientId>,
    pub scopes: ScopeSet,
    pub kind: PrincipalKind,
    /// Unix seconds; `None` for an API key that never expires.
    pub expires_at: Option<i64>,
    /// Under a policy requiring an API key beside the access token, the
    /// key's owner: the token says who acts, the key which system relays it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_owner: Option<String>,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains_str(scope)
    }

    /// `Ok` if the caller holds `scope`, else an error that renders as
    /// 403 `insufficient_scope` naming it.
    pub fn require_scope(&self, scope: &str) -> Result<(), GuardError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(GuardError::InsufficientScope {
                scope: scope.to_owned(),
            })
        }
    }

    /// `Ok` if the caller holds every one of `scopes`, else a 403
    /// `insufficient_scope` whose challenge names them all (space-separated,
    /// RFC 6750 §3), so that the client can ask for exactly those — the MCP
    /// step-up flow reads them from there.
    pub fn require_scopes<'a>(
        &self,
        scopes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), GuardError> {
        let scopes: Vec<&str> = scopes.into_iter().collect();
        if scopes.iter().all(|s| self.has_scope(s)) {
            Ok(())
        } else {
            Err(GuardError::InsufficientScope {
                scope: scopes.join(" "),
            })
        }
    }

    /// Whether the caller holds `permission` on `resource`, i.e. the scope
    /// `PERMISSION__RESOURCE`.
    pub fn has_permission(&self, permission: &str, resource: &str) -> bool {
        self.scopes
            .iter()
            .any(|s| s.split_resource() == (permission, Some(resource)))
    }

    /// Whether a user approved what this credential carries: an access token
    /// issued through the authorization endpoint. Client-credentials tokens
    /// and API keys act for machines.
    pub fn is_user_delegated(&self) -> bool {
        self.kind == PrincipalKind::User
    }

    /// Like [`Principal::require_scope`] for the resource-scoped permission
    /// `PERMISSION__RESOURCE`, which a user approves: only user-delegated
    /// tokens pass (see [`Principal::require_permission_from`] to accept
    /// machines too). The 403 names the scope.
    pub fn require_permission(&self, permission: &str, resource: &str) -> Result<(), GuardError> {
        self.require_permission_from(permission, resource, Principals::UsersOnly)
    }

    /// [`Principal::require_permission`], with the API choosing whether
    /// machine principals (holding a machine-grantable permission) pass.
    pub fn require_permission_from(
        &self,
        permission: &str,
        resource: &str,
        from: Principals,
    ) -> Result<(), GuardError> {
        let scope = || format!("{permission}{RESOURCE_SEPARATOR}{resource}");
        if !self.has_permission(permission, resource) {
            return Err(GuardError::InsufficientScope { scope: scope() });
        }
        match from {
            Principals::UsersOnly if !self.is_user_delegated() => {
                Err(GuardError::UserApprovalRequired { scope: scope() })
            }
            _ => Ok(()),
        }
    }

    /// The resources on which the caller holds `permission`, for handlers
    /// that list rather than check.
    pub fn resources_with<'a>(&'a self, permission: &'a str) -> impl Iterator<Item = &'a str> {
        self.scopes
            .iter()
            .filter_map(move |s| match s.split_resource() {
                (name, Some(resource)) if name == permission => Some(resource),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &str) -> Principal {
        Principal {
            subject: "u1".into(),
            client_id: Some(ClientId::new("c1")),
            scopes: ScopeSet::parse(scopes).unwrap(),
            kind: PrincipalKind::User,
            expires_at: Some(1),
            api_key_owner: None,
        }
    }

    #[test]
    fn scope_check_names_the_missing_scope() {
        let p = principal("orders:read");
        assert!(p.require_scope("orders:read").is_ok());
        assert_eq!(
            p.require_scope("orders:write"),
            Err(GuardError::InsufficientScope {
                scope: "orders:write".into()
            })
        );
    }

    #[test]
    fn scopes_check_names_every_required_scope() {
        let p = principal("a b");
        assert!(p.require_scopes(["a", "b"]).is_ok());
        assert!(p.require_scopes([]).is_ok());
        assert_eq!(
            p.require_scopes(["a", "c", "d"]),
            Err(GuardError::InsufficientScope {
                scope: "a c d".into()
            })
        );
    }

    #[test]
    fn permission_is_satisfied_by_the_resource_scope_only() {
        let p = principal("ADDON_USER_APPROVED__AZTH74V2 ADDON_USER_APPROVED__B2 USER_PHONE");
        assert!(
            p.require_permission("ADDON_USER_APPROVED", "AZTH74V2")
                .is_ok()
        );
        assert_eq!(
            p.require_permission("ADDON_USER_APPROVED", "OTHER"),
            Err(GuardError::InsufficientScope {
                scope: "ADDON_USER_APPROVED__OTHER".into()
            })
        );
        // The bare permission does not grant it on every resource.
        assert!(!p.has_permission("USER_PHONE", "X"));
        // Nor does a permission whose name merely starts the same.
        assert!(!p.has_permission("ADDON_USER", "APPROVED__AZTH74V2"));
        let mut r: Vec<_> = p.resources_with("ADDON_USER_APPROVED").collect();
        r.sort();
        assert_eq!(r, ["AZTH74V2", "B2"]);
    }

    #[test]
    fn machines_pass_a_permission_check_only_when_the_api_opts_in() {
        for kind in [PrincipalKind::Client, PrincipalKind::ApiKey] {
            let mut p = principal("ADDON_USER_APPROVED__AZTH74V2");
            p.kind = kind;
            assert!(!p.is_user_delegated());
            let e = p
                .require_permission("ADDON_USER_APPROVED", "AZTH74V2")
                .unwrap_err();
            assert_eq!(
                e,
                GuardError::UserApprovalRequired {
                    scope: "ADDON_USER_APPROVED__AZTH74V2".into()
                }
            );
            assert_eq!(e.status(), http::StatusCode::FORBIDDEN);
            assert_eq!(e.code(), "insufficient_scope");
            assert!(
                p.require_permission_from("ADDON_USER_APPROVED", "AZTH74V2", Principals::Any)
                    .is_ok()
            );
            // Opting in never grants a permission the credential lacks.
            assert!(
                p.require_permission_from("ADDON_USER_APPROVED", "OTHER", Principals::Any)
                    .is_err()
            );
        }
        assert!(principal("x").is_user_delegated());
    }
}
