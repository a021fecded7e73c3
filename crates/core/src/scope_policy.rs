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

    pub fn iter(&self) -> impl Iterator<Item = &ScopeDefinition> {
        self.0.values()
    }

    /// Checks that a scope may be allowed for a client at all: a defined
    /// plain scope, a defined resource permission by name (any resource), or
    /// `NAME__ID` for one resource.
    pub fn check_allowable(&self, scope: &Scope) -> Result<(), String> {
        match scope.split_resource() {
            (name, None) if name == OFFLINE_ACCESS => Err(format!(
                "`{name}` is built in: every client allowed the refresh_token grant may ask for it"
            )),
            (name, None) if is_oidc(name) => Err(format!(
                "`{name}` is built in: every client acting for a user may ask for it"
            )),
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

/// Built in (OpenID Connect Core §11): asking for it asks for a refresh
/// token. It is granted only where one is issued, and never appears in an
/// access token's `scope`: it names no permission at any API.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// What the consent page says of `offline_access`.
pub const OFFLINE_ACCESS_DESCRIPTION: &str = "Keep access while you are not using the app";

/// OpenID Connect's scopes (Core §3.1.2.1, §5.4): `openid` asks for an ID
/// token, the others for the user's claims. Any client acting for a user
/// may ask for them; the user decides at the consent page.
pub const OPENID: &str = "openid";
pub const OIDC_SCOPES: [&str; 5] = [OPENID, "profile", "email", "address", "phone"];

pub fn is_oidc(name: &str) -> bool {
    OIDC_SCOPES.contains(&name)
}

/// The scopes built into Portcullis rather than defined by the operator.
pub fn is_builtin(name: &str) -> bool {
    name == OFFLINE_ACCESS || is_oidc(name)
}

/// What the consent page says of a built-in scope.
pub fn builtin_description(name: &str) -> Option<&'static str> {
    Some(match name {
        OFFLINE_ACCESS => OFFLINE_ACCESS_DESCRIPTION,
        OPENID => "Sign you in with your account",
        "profile" => {
            "Your profile: name, username, picture, website, gender, birthdate, time zone and locale"
        }
        "email" => "Your email address",
        "address" => "Your postal address",
        "phone" => "Your phone number",
        _ => return None,
    })
}

/// The party a request asks scopes for, as far as scopes are concerned.
#[derive(Debug, Clone, Copy)]
pub struct Grantee<'a> {
    /// The scopes the client may be granted.
    pub allowed: &'a ScopeSet,
    /// What a request without `scope` gets; `None`: every plain allowed scope.
    pub defaults: Option<&'a ScopeSet>,
    pub delegation: Delegation,
    /// Whether a refresh token comes with this grant, which is what
    /// `offline_access` asks for.
    pub refreshable: bool,
}

impl<'a> Grantee<'a> {
    /// `client` asking for a token acting for a user (`Delegation::User`)
    /// or for itself.
    pub fn of(client: &'a crate::model::Client, delegation: Delegation) -> Self {
        Self {
            allowed: &client.scopes,
            defaults: client.default_scopes.as_ref(),
            delegation,
            refreshable: delegation == Delegation::User
                && client.allows_grant(portcullis_protocol::GrantType::RefreshToken),
        }
    }
}

/// The scopes to grant for a request.
///
/// Without a `scope` parameter (or with only `offline_access`) the client
/// gets its default scopes (RFC 6749 §3.3). Any requested scope outside the
/// client's allowance is `invalid_scope`; so is a user-approved resource
/// permission when no user is involved, and a grant that would hold no
/// scope at all: such a token opens nothing, and failing now says why.
pub fn resolve(
    requested: Option<&ScopeSet>,
    who: &Grantee<'_>,
    defs: &ScopeDefinitions,
    max: usize,
) -> Result<ScopeSet, OAuthError> {
    let machine_ok = |name: &str| {
        who.delegation == Delegation::User || defs.get(name).is_some_and(|d| d.machine_grantable)
    };
    let offline = requested.is_some_and(|r| r.contains_str(OFFLINE_ACCESS));
    let named = requested
        .map(|r| r.clone().without(OFFLINE_ACCESS))
        .filter(|r| !r.is_empty());
    let mut granted = match named {
        Some(requested) => {
            check_count(&requested, max).map_err(OAuthError::invalid_scope)?;
            for scope in requested.iter() {
                if is_oidc(scope.as_str()) {
                    if who.delegation == Delegation::Machine {
                        return Err(OAuthError::invalid_scope(format!(
                            "`{scope}` is about a user: a client acting for itself cannot ask for it"
                        )));
                    }
                    continue;
                }
                check_requested(scope, who.allowed, defs)?;
                if let (name, Some(_)) = scope.split_resource()
                    && !machine_ok(name)
                {
                    return Err(OAuthError::invalid_scope(user_approved(name)));
                }
            }
            requested
        }
        None => defaults(who, defs, machine_ok),
    };
    if offline && who.refreshable {
        granted.insert(Scope::parse(OFFLINE_ACCESS).expect("a valid scope token"));
    } else if !who.refreshable {
        // No refresh token comes with this grant (implicit, client
        // credentials, a client without the grant): there is nothing for
        // `offline_access` to mean, so it is dropped (OIDC Core §11), and the
        // response's `scope` says so.
        granted.remove(OFFLINE_ACCESS);
    }
    if granted.iter().all(|s| s.as_str() == OFFLINE_ACCESS) {
        return Err(OAuthError::invalid_scope(
            "no scope was requested and this client has no default scope: send `scope`",
        ));
    }
    check_count(&granted, max).map_err(OAuthError::invalid_scope)?;
    Ok(granted)
}

/// May `scope` be one of `client`'s default scopes? Only what a request
/// could name: an allowed scope, a resource permission with its id, or
/// `offline_access` for a client that gets refresh tokens.
pub fn check_default(
    scope: &Scope,
    client: &crate::model::Client,
    defs: &ScopeDefinitions,
) -> Result<(), String> {
    if is_oidc(scope.as_str()) {
        return if client.allows_grant(portcullis_protocol::GrantType::AuthorizationCode) {
            Ok(())
        } else {
            Err(format!(
                "default scope `{scope}` needs the authorization_code grant"
            ))
        };
    }
    if scope.as_str() == OFFLINE_ACCESS {
        return if client.allows_grant(portcullis_protocol::GrantType::RefreshToken) {
            Ok(())
        } else {
            Err(format!(
                "default scope `{OFFLINE_ACCESS}` needs the refresh_token grant"
            ))
        };
    }
    check_requested(scope, &client.scopes, defs)
        .map_err(|e| format!("default scope: {}", e.description))
}

/// The client's defaults that it may still hold: an allowance can shrink
/// after the defaults were set, and a default is never more than allowed.
fn defaults(
    who: &Grantee<'_>,
    defs: &ScopeDefinitions,
    machine_ok: impl Fn(&str) -> bool,
) -> ScopeSet {
    let usable = |s: &Scope| match s.split_resource() {
        (name, None) if is_builtin(name) => true,
        (name, None) => defs.get(name).is_some_and(|d| !d.requires_resource),
        (name, Some(_)) => machine_ok(name),
    };
    match who.defaults {
        Some(d) => d
            .iter()
            .filter(|s| is_builtin(s.as_str()) || check_requested(s, who.allowed, defs).is_ok())
            .filter(|s| usable(s))
            .cloned()
            .collect(),
        None => who.allowed.iter().filter(|s| usable(s)).cloned().collect(),
    }
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
            listed: true,
            created_at: 0,
        };
        ScopeDefinitions::new([
            d("read", false),
            d("write", false),
            d("USER_PHONE", false),
            d("ADDON_USER_APPROVED", true),
        ])
    }

    fn who(allowed: &ScopeSet, delegation: Delegation) -> Grantee<'_> {
        Grantee {
            allowed,
            defaults: None,
            delegation,
            refreshable: delegation == Delegation::User,
        }
    }

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn omitted_scope_defaults_to_plain_allowed_scopes() {
        let allowed = set("read USER_PHONE ADDON_USER_APPROVED");
        let got = resolve(None, &who(&allowed, Delegation::User), &defs(), 50).unwrap();
        assert_eq!(got, set("USER_PHONE read"));
    }

    #[test]
    fn requested_scopes_must_be_allowed() {
        let allowed = set("read");
        assert_eq!(
            resolve(
                Some(&set("read")),
                &who(&allowed, Delegation::User),
                &defs(),
                50
            )
            .unwrap(),
            set("read")
        );
        let e = resolve(
            Some(&set("read write")),
            &who(&allowed, Delegation::User),
            &defs(),
            50,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        let e = resolve(
            Some(&set("nope")),
            &who(&allowed, Delegation::User),
            &defs(),
            50,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn resource_permissions_need_their_id() {
        let allowed = set("ADDON_USER_APPROVED USER_PHONE");
        let ok = set("ADDON_USER_APPROVED__AZTH74V2 USER_PHONE");
        assert_eq!(
            resolve(Some(&ok), &who(&allowed, Delegation::User), &defs(), 50).unwrap(),
            ok
        );
        let e = resolve(
            Some(&set("ADDON_USER_APPROVED")),
            &who(&allowed, Delegation::User),
            &defs(),
            50,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert!(e.description.contains("resource id"));
        let e = resolve(
            Some(&set("USER_PHONE__X1")),
            &who(&allowed, Delegation::User),
            &defs(),
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
                &who(&allowed, Delegation::User),
                &defs(),
                50
            )
            .is_ok()
        );
        assert!(
            resolve(
                Some(&set("ADDON_USER_APPROVED__OTHER")),
                &who(&allowed, Delegation::User),
                &defs(),
                50
            )
            .is_err()
        );
        assert_eq!(
            resolve(None, &who(&allowed, Delegation::User), &defs(), 50).unwrap(),
            set("ADDON_USER_APPROVED__AZTH74V2")
        );
    }

    #[test]
    fn machines_get_no_user_approved_permission() {
        let allowed = set("read ADDON_USER_APPROVED");
        let m = |r: Option<&ScopeSet>, d: &ScopeDefinitions| {
            resolve(r, &who(&allowed, Delegation::Machine), d, 50)
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
    fn explicit_defaults_replace_the_plain_allowance() {
        let allowed = set("read write USER_PHONE");
        let defaults = set("read");
        let mut g = who(&allowed, Delegation::User);
        g.defaults = Some(&defaults);
        assert_eq!(resolve(None, &g, &defs(), 50).unwrap(), set("read"));
        // A named request is not limited to the defaults.
        assert_eq!(
            resolve(Some(&set("write")), &g, &defs(), 50).unwrap(),
            set("write")
        );
        // A default the client may no longer hold is not granted.
        let narrowed = set("write");
        g.allowed = &narrowed;
        let e = resolve(None, &g, &defs(), 50).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert!(
            e.description.contains("no default scope"),
            "{}",
            e.description
        );
    }

    #[test]
    fn no_scope_and_nothing_to_default_to_is_invalid_scope() {
        // Only a resource permission: it cannot be defaulted without an id.
        let allowed = set("ADDON_USER_APPROVED");
        let e = resolve(None, &who(&allowed, Delegation::User), &defs(), 50).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        let none = ScopeSet::default();
        let e = resolve(None, &who(&none, Delegation::Machine), &defs(), 50).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn offline_access_asks_for_a_refresh_token_and_is_never_a_permission() {
        let allowed = set("read write");
        let g = who(&allowed, Delegation::User);
        // Granted beside the named scopes, without being allowed by name.
        assert_eq!(
            resolve(Some(&set("read offline_access")), &g, &defs(), 50).unwrap(),
            set("offline_access read")
        );
        // Alone, it adds to the defaults.
        assert_eq!(
            resolve(Some(&set("offline_access")), &g, &defs(), 50).unwrap(),
            set("offline_access read write")
        );
        // Where no refresh token comes, it is dropped, not refused.
        let mut no_refresh = g;
        no_refresh.refreshable = false;
        assert_eq!(
            resolve(Some(&set("read offline_access")), &no_refresh, &defs(), 50).unwrap(),
            set("read")
        );
        let machine = who(&allowed, Delegation::Machine);
        assert_eq!(
            resolve(Some(&set("offline_access read")), &machine, &defs(), 50).unwrap(),
            set("read")
        );
        // Defaults may carry it, and lose it where it means nothing.
        let defaults = set("offline_access read");
        let mut d = g;
        d.defaults = Some(&defaults);
        assert_eq!(resolve(None, &d, &defs(), 50).unwrap(), defaults);
        d.refreshable = false;
        assert_eq!(resolve(None, &d, &defs(), 50).unwrap(), set("read"));
        // offline_access alone, with nothing else to grant, is no grant.
        let nothing = ScopeSet::default();
        let e = resolve(
            Some(&set("offline_access")),
            &who(&nothing, Delegation::User),
            &defs(),
            50,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn a_request_has_at_most_max_scopes() {
        let many: Vec<String> = (0..51)
            .map(|i| format!("ADDON_USER_APPROVED__R{i}"))
            .collect();
        let requested = set(&many.join(" "));
        let allowed = set("ADDON_USER_APPROVED");
        let e = resolve(
            Some(&requested),
            &who(&allowed, Delegation::User),
            &defs(),
            50,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert!(e.description.contains("at most 50"), "{}", e.description);
        let fifty = set(&many[..50].join(" "));
        assert!(resolve(Some(&fifty), &who(&allowed, Delegation::User), &defs(), 50).is_ok());
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
