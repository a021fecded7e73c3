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

/// The scopes to grant for a request.
///
/// With no `scope` parameter the client gets every plain scope it is allowed
/// (a resource permission cannot be defaulted: it has no resource id). Any
/// requested scope outside the client's allowance is `invalid_scope`.
pub fn resolve(
    requested: Option<&ScopeSet>,
    allowed: &ScopeSet,
    defs: &ScopeDefinitions,
) -> Result<ScopeSet, OAuthError> {
    let Some(requested) = requested else {
        return Ok(allowed
            .iter()
            .filter(|s| match s.split_resource() {
                (name, None) => defs.get(name).is_some_and(|d| !d.requires_resource),
                (_, Some(_)) => true,
            })
            .cloned()
            .collect());
    };
    for scope in requested.iter() {
        check_requested(scope, allowed, defs)?;
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
        let got = resolve(None, &allowed, &defs()).unwrap();
        assert_eq!(got, set("USER_PHONE read"));
    }

    #[test]
    fn requested_scopes_must_be_allowed() {
        let allowed = set("read");
        assert_eq!(
            resolve(Some(&set("read")), &allowed, &defs()).unwrap(),
            set("read")
        );
        let e = resolve(Some(&set("read write")), &allowed, &defs()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        let e = resolve(Some(&set("nope")), &allowed, &defs()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn resource_permissions_need_their_id() {
        let allowed = set("ADDON_USER_APPROVED USER_PHONE");
        let ok = set("ADDON_USER_APPROVED__AZTH74V2 USER_PHONE");
        assert_eq!(resolve(Some(&ok), &allowed, &defs()).unwrap(), ok);
        let e = resolve(Some(&set("ADDON_USER_APPROVED")), &allowed, &defs()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert!(e.description.contains("resource id"));
        let e = resolve(Some(&set("USER_PHONE__X1")), &allowed, &defs()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn a_client_may_be_limited_to_one_resource() {
        let allowed = set("ADDON_USER_APPROVED__AZTH74V2");
        assert!(
            resolve(
                Some(&set("ADDON_USER_APPROVED__AZTH74V2")),
                &allowed,
                &defs()
            )
            .is_ok()
        );
        assert!(resolve(Some(&set("ADDON_USER_APPROVED__OTHER")), &allowed, &defs()).is_err());
        assert_eq!(
            resolve(None, &allowed, &defs()).unwrap(),
            set("ADDON_USER_APPROVED__AZTH74V2")
        );
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
