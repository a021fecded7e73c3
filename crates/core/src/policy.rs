//! The one answer to "may this actor do this?" for everything an operator,
//! an administrator or a developer manages: clients, API keys, users, scope
//! definitions, consents and signing keys.
//!
//! [`decide`] is pure: the caller looks the object up and says who answers
//! for it; the decision itself never touches the store, so the whole matrix
//! is tested here in memory. The admin API, the console and the CLI reach
//! it only through [`crate::admin::Acting`], which pairs each decision with
//! the operation it guards.

use portcullis_protocol::{ClientId, UserId};

use crate::model::{GrantPolicy, Resource, ScopeDefinition};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Someone at the server's own command line: full control, as whoever
    /// can read the database already has it.
    Operator,
    /// A signed-in user (console session), or a user-owned API key carrying
    /// `portcullis:admin`, acting as that user.
    User { id: UserId, admin: bool },
    /// A client-owned API key carrying `portcullis:admin`. Such a key acts
    /// for a machine, which manages nothing; it may only read the scopes.
    Client(ClientId),
    /// A client describing itself: registering at the registration
    /// endpoint (RFC 7591) or identified by a metadata document. It may be
    /// allowed what any developer may allow their own client, and manages
    /// nothing else.
    Registrant,
    /// No credentials, or credentials that did not check out.
    Anonymous,
}

/// The user who answers for an object: a client's registering developer, an
/// API key's owning user (or the developer of the client owning it). `None`
/// for objects made by the operator, which only administrators reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership<'a>(pub Option<&'a UserId>);

/// What the actor wants to do, with the object it is done to.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    ListClients,
    RegisterClient,
    /// Register a client on behalf of another developer (or of nobody).
    RegisterClientFor(Option<&'a UserId>),
    ReadClient(Ownership<'a>),
    ChangeClient(Ownership<'a>),
    ListApiKeys,
    CreateApiKey(Ownership<'a>),
    ReadApiKey(Ownership<'a>),
    RevokeApiKey(Ownership<'a>),
    ListUsers,
    ReadUser(&'a UserId),
    /// Change a user's standard claims (name, email, …). Only an
    /// administrator may vouch for an address (`email_verified`); the
    /// profile code applies that.
    EditProfile(&'a UserId),
    ManageUsers,
    ReadScopes,
    DefineScope,
    /// Put this scope on a client's allowance or on an API key.
    AllowScope(&'a ScopeDefinition),
    /// The APIs tokens may be asked for (RFC 8707).
    ReadResources,
    DefineResource,
    /// Let a client ask tokens for this resource.
    AllowResource(&'a Resource),
    ReadConsents(&'a UserId),
    RevokeConsent(&'a UserId),
    ReadSigningKeys,
    RotateSigningKey,
    /// Mint an initial access token for dynamic client registration.
    CreateRegistrationToken,
}

/// Why not. `NotFound` is for objects the actor may not even know exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
}

const ADMIN_ONLY: &str = "this needs the admin role";

fn owned(actor: &UserId, o: Ownership<'_>, what: &'static str) -> Result<(), Denied> {
    if o.0 == Some(actor) {
        Ok(())
    } else {
        Err(Denied::NotFound(what))
    }
}

/// What anyone below an administrator may allow: self-service scopes and
/// open resources, the same for a developer and for a self-registered
/// client.
fn decide_allowance(action: Action<'_>) -> Result<(), Denied> {
    match action {
        Action::AllowScope(def) => match def.effective_policy() {
            GrantPolicy::SelfService => Ok(()),
            GrantPolicy::Restricted => Err(Denied::Forbidden(format!(
                "scope `{}` is restricted: only an administrator can allow it on a client or key",
                def.name
            ))),
        },
        Action::AllowResource(r) if !r.restricted => Ok(()),
        Action::AllowResource(r) => Err(Denied::Forbidden(format!(
            "resource `{}` is restricted: only an administrator can allow it on a client",
            r.uri
        ))),
        _ => Ok(()),
    }
}

pub fn decide(actor: &Actor, action: Action<'_>) -> Result<(), Denied> {
    use Action as A;
    let me = match actor {
        Actor::Operator | Actor::User { admin: true, .. } => return Ok(()),
        Actor::Anonymous => return Err(Denied::Unauthenticated),
        Actor::Client(_) => {
            return match action {
                A::ReadScopes | A::ReadResources => Ok(()),
                _ => Err(Denied::Forbidden(
                    "a client-owned key cannot manage Portcullis; use a key owned by a user".into(),
                )),
            };
        }
        Actor::Registrant => {
            return match action {
                A::RegisterClient | A::AllowScope(_) | A::AllowResource(_) => {
                    decide_allowance(action)
                }
                _ => Err(Denied::Forbidden(
                    "a self-registered client manages nothing but its own registration".into(),
                )),
            };
        }
        Actor::User { id, admin: false } => id,
    };
    match action {
        A::ListClients | A::ListApiKeys | A::ReadScopes | A::ReadResources => Ok(()),
        A::RegisterClientFor(owner) if owner == Some(me) => Ok(()),
        A::RegisterClientFor(_) => Err(Denied::Forbidden(
            "only an administrator can register a client for someone else".into(),
        )),
        A::ReadClient(o) | A::ChangeClient(o) => owned(me, o, "client"),
        A::ReadApiKey(o) | A::RevokeApiKey(o) => owned(me, o, "API key"),
        A::CreateApiKey(o) if o.0 == Some(me) => Ok(()),
        A::CreateApiKey(_) => Err(Denied::Forbidden(
            "only an administrator can create a key for another owner".into(),
        )),
        A::ReadUser(u) | A::ReadConsents(u) if u == me => Ok(()),
        A::ReadUser(_) => Err(Denied::NotFound("user")),
        A::EditProfile(u) if u == me => Ok(()),
        A::EditProfile(_) => Err(Denied::NotFound("user")),
        A::RevokeConsent(u) if u == me => Ok(()),
        A::ReadConsents(_) | A::RevokeConsent(_) => Err(Denied::NotFound("consent")),
        A::AllowScope(_) | A::AllowResource(_) | A::RegisterClient => decide_allowance(action),
        A::ListUsers
        | A::ManageUsers
        | A::DefineScope
        | A::DefineResource
        | A::ReadSigningKeys
        | A::RotateSigningKey
        | A::CreateRegistrationToken => Err(Denied::Forbidden(ADMIN_ONLY.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(name: &str, policy: GrantPolicy) -> ScopeDefinition {
        ScopeDefinition {
            name: name.into(),
            description: "d".into(),
            requires_resource: false,
            grant_policy: policy,
            machine_grantable: false,
            listed: true,
            created_at: 0,
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Outcome {
        Allowed,
        Unauthenticated,
        Forbidden,
        NotFound,
    }

    fn outcome(r: Result<(), Denied>) -> Outcome {
        match r {
            Ok(()) => Outcome::Allowed,
            Err(Denied::Unauthenticated) => Outcome::Unauthenticated,
            Err(Denied::Forbidden(_)) => Outcome::Forbidden,
            Err(Denied::NotFound(_)) => Outcome::NotFound,
        }
    }

    /// Every actor kind × every action × owned / not owned. Each row names
    /// the action and what it is done to; the columns are operator, admin,
    /// developer, client-owned key, anonymous.
    #[test]
    fn the_policy_matrix() {
        use Outcome::{Allowed as Y, Forbidden as F, NotFound as N, Unauthenticated as U};
        let dev = UserId::new("dev");
        let other = UserId::new("other");
        let open = scope("orders:read", GrantPolicy::SelfService);
        let shut = scope("payments:write", GrantPolicy::Restricted);
        let reserved = scope("portcullis:admin", GrantPolicy::SelfService);
        let api = |restricted| Resource {
            uri: portcullis_protocol::ResourceUri::parse("https://api.example/mcp", false).unwrap(),
            name: "API".into(),
            scopes: Default::default(),
            restricted,
            created_at: 0,
        };
        let (open_api, shut_api) = (api(false), api(true));
        let mine = Ownership(Some(&dev));
        let theirs = Ownership(Some(&other));
        let nobodys = Ownership(None);
        let actors = [
            Actor::Operator,
            Actor::User {
                id: UserId::new("root"),
                admin: true,
            },
            Actor::User {
                id: dev.clone(),
                admin: false,
            },
            Actor::Client(ClientId::new("c1")),
            Actor::Anonymous,
            Actor::Registrant,
        ];
        let rows: Vec<(&str, Action<'_>, [Outcome; 6])> = vec![
            ("list clients", Action::ListClients, [Y, Y, Y, F, U, F]),
            (
                "register a client",
                Action::RegisterClient,
                [Y, Y, Y, F, U, Y],
            ),
            (
                "register for self",
                Action::RegisterClientFor(Some(&dev)),
                [Y, Y, Y, F, U, F],
            ),
            (
                "register for another",
                Action::RegisterClientFor(Some(&other)),
                [Y, Y, F, F, U, F],
            ),
            (
                "register for nobody",
                Action::RegisterClientFor(None),
                [Y, Y, F, F, U, F],
            ),
            (
                "read own client",
                Action::ReadClient(mine),
                [Y, Y, Y, F, U, F],
            ),
            (
                "read another's client",
                Action::ReadClient(theirs),
                [Y, Y, N, F, U, F],
            ),
            (
                "read operator's client",
                Action::ReadClient(nobodys),
                [Y, Y, N, F, U, F],
            ),
            (
                "change own client",
                Action::ChangeClient(mine),
                [Y, Y, Y, F, U, F],
            ),
            (
                "change another's client",
                Action::ChangeClient(theirs),
                [Y, Y, N, F, U, F],
            ),
            ("list keys", Action::ListApiKeys, [Y, Y, Y, F, U, F]),
            (
                "create own key",
                Action::CreateApiKey(mine),
                [Y, Y, Y, F, U, F],
            ),
            (
                "create another's key",
                Action::CreateApiKey(theirs),
                [Y, Y, F, F, U, F],
            ),
            (
                "create operator's key",
                Action::CreateApiKey(nobodys),
                [Y, Y, F, F, U, F],
            ),
            ("read own key", Action::ReadApiKey(mine), [Y, Y, Y, F, U, F]),
            (
                "read another's key",
                Action::ReadApiKey(theirs),
                [Y, Y, N, F, U, F],
            ),
            (
                "revoke own key",
                Action::RevokeApiKey(mine),
                [Y, Y, Y, F, U, F],
            ),
            (
                "revoke another's key",
                Action::RevokeApiKey(theirs),
                [Y, Y, N, F, U, F],
            ),
            ("list users", Action::ListUsers, [Y, Y, F, F, U, F]),
            ("read self", Action::ReadUser(&dev), [Y, Y, Y, F, U, F]),
            (
                "read another user",
                Action::ReadUser(&other),
                [Y, Y, N, F, U, F],
            ),
            (
                "edit own profile",
                Action::EditProfile(&dev),
                [Y, Y, Y, F, U, F],
            ),
            (
                "edit another's profile",
                Action::EditProfile(&other),
                [Y, Y, N, F, U, F],
            ),
            ("manage users", Action::ManageUsers, [Y, Y, F, F, U, F]),
            ("read scopes", Action::ReadScopes, [Y, Y, Y, Y, U, F]),
            ("define a scope", Action::DefineScope, [Y, Y, F, F, U, F]),
            ("read resources", Action::ReadResources, [Y, Y, Y, Y, U, F]),
            (
                "define a resource",
                Action::DefineResource,
                [Y, Y, F, F, U, F],
            ),
            (
                "allow an open resource",
                Action::AllowResource(&open_api),
                [Y, Y, Y, F, U, Y],
            ),
            (
                "allow a restricted resource",
                Action::AllowResource(&shut_api),
                [Y, Y, F, F, U, F],
            ),
            (
                "allow a self-service scope",
                Action::AllowScope(&open),
                [Y, Y, Y, F, U, Y],
            ),
            (
                "allow a restricted scope",
                Action::AllowScope(&shut),
                [Y, Y, F, F, U, F],
            ),
            (
                "allow portcullis:*",
                Action::AllowScope(&reserved),
                [Y, Y, F, F, U, F],
            ),
            (
                "read own consents",
                Action::ReadConsents(&dev),
                [Y, Y, Y, F, U, F],
            ),
            (
                "read another's consents",
                Action::ReadConsents(&other),
                [Y, Y, N, F, U, F],
            ),
            (
                "revoke own consent",
                Action::RevokeConsent(&dev),
                [Y, Y, Y, F, U, F],
            ),
            (
                "revoke another's consent",
                Action::RevokeConsent(&other),
                [Y, Y, N, F, U, F],
            ),
            (
                "read signing keys",
                Action::ReadSigningKeys,
                [Y, Y, F, F, U, F],
            ),
            (
                "mint a registration token",
                Action::CreateRegistrationToken,
                [Y, Y, F, F, U, F],
            ),
            (
                "rotate signing key",
                Action::RotateSigningKey,
                [Y, Y, F, F, U, F],
            ),
        ];
        for (what, action, expected) in rows {
            for (actor, want) in actors.iter().zip(expected) {
                assert_eq!(outcome(decide(actor, action)), want, "{what} as {actor:?}");
            }
        }
    }

    #[test]
    fn a_refusal_names_the_restricted_scope() {
        let dev = Actor::User {
            id: UserId::new("dev"),
            admin: false,
        };
        let shut = scope("payments:write", GrantPolicy::Restricted);
        let e = decide(&dev, Action::AllowScope(&shut)).unwrap_err();
        assert!(e.to_string().contains("`payments:write`"), "{e}");
    }
}
