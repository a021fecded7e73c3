//! Which scopes a client may be granted (RFC 6749 §3.3), including
//! resource-scoped permissions `NAME__RESOURCEID`.

use std::collections::HashMap;

use portcullis_protocol::{OAuthError, Scope, ScopeSet};

use crate::model::ScopeDefinition;

/// The scope definitions, by name.
#[derive(Debug, Clone, Default)]
pub struct ScopeDefinitions(HashMap<String, ScopeDefinition>);

impl ScopeDefinitions {
    pub fn new(defs: impl IntoIterator<Item = ScopeDefinition>) -> Self {
        Self(defs.into_iter().map(|d| (d.name.clone(), d)).collect())
    }

    pub fn get(&self, name: &str) -> Option<&ScopeDefinition> {
        self.0.get(name)
    }

    /// Checks that a scope may be allowed for a client at all: a defined
    /// plain scope, a defined resource permission by name (any resource), or
    /// `NAME__ID` for one resource.
    pub fn check_allowable(&self, scope: &Scope) -> Result<(), String> {
        match scope.split_resource() {
            (name, None) => self.get(name).map(|_| ()).ok_or_else(|| {
                format!("unknown scope `{name}` (define it first with `portcullis scope define`)")
            }),
            (name, Some(_)) => match self.get(name) {
                Some(d) if d.requires_resource => Ok(()),
                Some(_) => Err(format!(
                    "scope `{name}` does not take a resource id, so `{scope}` is not valid"
                )),
                None => Err(format!("unknown scope `{name}` in `{scope}`")),
            },
        }
    }
}

/// Most scopes in one request, client or key unless configured otherwise.
pub const DEFAULT_MAX_SCOPES: usize = 50;

/// On whose behalf a token is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delegation {
    /// A user consented at the authorization endpoint (or the grant descends
    /// from such a consent).
    User,
    /// The client acts for itself (client_credentials); no user approved
    /// anything, so user-approved resource permissions are out of reach.
    Machine,
}

/// Refuses a set larger than `max`: such a token could outgrow what the
/// server itself accepts back at introspection.
pub fn check_count(scopes: &ScopeSet, max: usize) -> Result<(), String> {
    if scopes.len() > max {
        Err(format!(
            "{} scopes asked for; at most {max} are allowed at once",
            scopes.len()
        ))
    } else {
        Ok(())
    }
}

/// May an API key hold this scope? Like a client's allowance, except that a
/// resource permission must name its resource and be machine-grantable: a
/// key is used without any user present.
pub fn check_key_scope(scope: &Scope, defs: &ScopeDefinitions) -> Result<(), String> {
    defs.check_allowable(scope)?;
    let (name, resource) = scope.split_resource();
    match defs.get(name) {
        Some(d) if d.requires_resource && !d.machine_grantable => Err(user_approved(name)),
        Some(d) if d.requires_resource && resource.is_none() => Err(format!(
            "an API key must name the resource: `{name}__RESOURCEID`"
        )),
        _ => Ok(()),
    }
}

fn user_approved(name: &str) -> String {
    format!(
        "`{name}` is a user-approved resource permission: only a user's consent at the \
         authorization endpoint grants it"
    )
}

/// The scopes to grant for a request.
///
/// With no `scope` parameter the client gets every plain scope it is allowed
/// (a resource permission cannot be defaulted: it has no resource id). Any
/// requested scope outside the client's allowance is `invalid_scope`; so is
/// a user-approved resource permission when no user is involved.
pub fn resolve(
    requested: Option<&ScopeSet>,
    allowed: &ScopeSet,
    defs: &ScopeDefinitions,
    delegation: Delegation,
    max: usize,
) -> Result<ScopeSet, OAuthError> {
    let machine_ok = |name: &str| {
        delegation == Delegation::User || defs.get(name).is_some_and(|d| d.machine_grantable)
    };
    let Some(requested) = requested else {
        let granted: ScopeSet = allowed
            .iter()
            .filter(|s| match s.split_resource() {
                (name, None) => defs.get(name).is_some_and(|d| !d.requires_resource),
                (name, Some(_)) => machine_ok(name),
            })
            .cloned()
            .collect();
        check_count(&granted, max).map_err(OAuthError::invalid_scope)?;
        return Ok(granted);
    };
    check_count(requested, max).map_err(OAuthError::invalid_scope)?;
    for scope in requested.iter() {
        check_requested(scope, allowed, defs)?;
        if let (name, Some(_)) = scope.split_resource()
            && !machine_ok(name)
        {
            return Err(OAuthError::invalid_scope(user_approved(name)));
        }
    }
    Ok(requested.clone())
}

fn check_requested(
    scope: &Scope,
    allowed: &ScopeSet,
    defs: &ScopeDefinitions,
) -> Result<(), OAuthError> {
    let (name, resource) = scope.split_resource();
    let Some(def) = defs.get(name) else {
        return Err(OAuthError::invalid_scope(format!(
            "unknown scope `{scope}`"
        )));
    };
    match resource {
        None if def.requires_resource => Err(OAuthError::invalid_scope(format!(
            "`{name}` is a resource permission and needs a resource id: `{name}__RESOURCEID`"
        ))),
        Some(_) if !def.requires_resource => Err(OAuthError::invalid_scope(format!(
            "`{name}` does not take a resource id"
        ))),
        _ if allowed.contains(scope) || allowed.contains_str(name) => Ok(()),
        _ => Err(OAuthError::invalid_scope(format!(
            "scope `{scope}` is not allowed for this client"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_protocol::ErrorCode;

    fn defs() -> ScopeDefinitions {
        let d = |name: &str, requires_resource| ScopeDefinition {
            name: name.into(),
            description: format!("{name} description"),
            requires_resource,
            grant_policy: crate::model::GrantPolicy::SelfService,
            machine_grantable: false,
            created_at: 0,
        };
        ScopeDefinitions::new([
            d("read", false),
            d("write", false),
            d("USER_PHONE", false),
            d("ADDON_USER_APPROVED", true),
        ])
    }

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn omitted_scope_defaults_to_plain_allowed_scopes() {
        let allowed = set("read USER_PHONE ADDON_USER_APPROVED");
        let got = resolve(None, &allowed, &defs(), Delegation::User, 50).unwrap();
        assert_eq!(got, set("USER_PHONE read"));
    }

    #[test]
    fn requested_scopes_must_be_allowed() {
        let allowed = set("read");
        assert_eq!(
            resolve(Some(&set("read")), &allowed, &defs(), Delegation::User, 50).unwrap(),
            set("read")
        );
        let e = resolve(
            Some(&set("read write")),
            &allowed,
            &defs(),
            Delegation::User,
            50,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        let e = resolve(Some(&set("nope")), &allowed, &defs(), Delegation::User, 50).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn resource_permissions_need_their_id() {
        let allowed = set("ADDON_USER_APPROVED USER_PHONE");
        let ok = set("ADDON_USER_APPROVED__AZTH74V2 USER_PHONE");
        assert_eq!(
            resolve(Some(&ok), &allowed, &defs(), Delegation::User, 50).unwrap(),
            ok
        );
        let e = resolve(
            Some(&set("ADDON_USER_APPROVED")),
            &allowed,
            &defs(),
            Delegation::User,
            50,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert!(e.description.contains("resource id"));
        let e = resolve(
            Some(&set("USER_PHONE__X1")),
            &allowed,
            &defs(),
            Delegation::User,
            50,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn a_client_may_be_limited_to_one_resource() {
        let allowed = set("ADDON_USER_APPROVED__AZTH74V2");
        assert!(
            resolve(
                Some(&set("ADDON_USER_APPROVED__AZTH74V2")),
                &allowed,
                &defs(),
                Delegation::User,
                50
            )
            .is_ok()
        );
        assert!(
            resolve(
                Some(&set("ADDON_USER_APPROVED__OTHER")),
                &allowed,
                &defs(),
                Delegation::User,
                50
            )
            .is_err()
        );
        assert_eq!(
            resolve(None, &allowed, &defs(), Delegation::User, 50).unwrap(),
            set("ADDON_USER_APPROVED__AZTH74V2")
        );
    }

    #[test]
    fn machines_get_no_user_approved_permission() {
        let allowed = set("read ADDON_USER_APPROVED");
        let m = |r: Option<&ScopeSet>, d: &ScopeDefinitions| {
            resolve(r, &allowed, d, Delegation::Machine, 50)
        };
        let e = m(Some(&set("ADDON_USER_APPROVED__VICTIM")), &defs()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert!(e.description.contains("user-approved"), "{}", e.description);
        assert_eq!(m(Some(&set("read")), &defs()).unwrap(), set("read"));

        // An administrator may let machines hold it.
        let mut d: Vec<ScopeDefinition> = ["read", "ADDON_USER_APPROVED"]
            .iter()
            .filter_map(|n| defs().get(n).cloned())
            .collect();
        d[1].machine_grantable = true;
        let d = ScopeDefinitions::new(d);
        let ok = set("ADDON_USER_APPROVED__MINE");
        assert_eq!(m(Some(&ok), &d).unwrap(), ok);
    }

    #[test]
    fn a_request_has_at_most_max_scopes() {
        let many: Vec<String> = (0..51)
            .map(|i| format!("ADDON_USER_APPROVED__R{i}"))
            .collect();
        let requested = set(&many.join(" "));
        let allowed = set("ADDON_USER_APPROVED");
        let e = resolve(Some(&requested), &allowed, &defs(), Delegation::User, 50).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert!(e.description.contains("at most 50"), "{}", e.description);
        let fifty = set(&many[..50].join(" "));
        assert!(resolve(Some(&fifty), &allowed, &defs(), Delegation::User, 50).is_ok());
    }

    #[test]
    fn api_keys_hold_only_machine_grantable_named_resources() {
        let mut all: Vec<ScopeDefinition> = ["read", "ADDON_USER_APPROVED"]
            .iter()
            .filter_map(|n| defs().get(n).cloned())
            .collect();
        let strict = ScopeDefinitions::new(all.clone());
        let scope = |s: &str| Scope::parse(s).unwrap();
        assert!(check_key_scope(&scope("read"), &strict).is_ok());
        assert!(check_key_scope(&scope("ADDON_USER_APPROVED__A1"), &strict).is_err());
        all[1].machine_grantable = true;
        let open = ScopeDefinitions::new(all);
        assert!(check_key_scope(&scope("ADDON_USER_APPROVED__A1"), &open).is_ok());
        assert!(check_key_scope(&scope("ADDON_USER_APPROVED"), &open).is_err());
    }

    #[test]
    fn allowable_checks_definitions() {
        let d = defs();
        assert!(d.check_allowable(&Scope::parse("read").unwrap()).is_ok());
        assert!(
            d.check_allowable(&Scope::parse("ADDON_USER_APPROVED").unwrap())
                .is_ok()
        );
        assert!(
            d.check_allowable(&Scope::parse("ADDON_USER_APPROVED__A1").unwrap())
                .is_ok()
        );
        assert!(
            d.check_allowable(&Scope::parse("read__A1").unwrap())
                .is_err()
        );
        assert!(
            d.check_allowable(&Scope::parse("unknown").unwrap())
                .is_err()
        );
    }
}
