//! `/console`: the developer console. A signed-in developer manages their
//! own clients and API keys; an administrator sees everything and also
//! manages users and scope definitions.
//!
//! Server-rendered and usable without JavaScript, like the login pages.
//! Every action is a CSRF-checked POST that re-checks ownership; secrets
//! appear only in the response to the POST that made them (never on a
//! GET), and destructive actions are reached through a confirmation page.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Environment, context};
use portcullis_core::admin::Acting;
use portcullis_core::api_keys::ApiKeySpec;
use portcullis_core::keyring::MAX_TOKEN_LIFETIME;
use portcullis_core::model::{ApiKeyRecord, Client, GrantPolicy, Owner, User};
use portcullis_core::policy::{Action, Actor};
use portcullis_core::registry::{ClientSpec, RegistryError, ScopeSpec};
use portcullis_protocol::{ClientId, GrantType, RedirectUri, ScopeSet, UserId};
use serde::{Deserialize, Serialize};

use super::{Csrf, csrf_failed, current_session, message, secure, see_other, unavailable};
use crate::AppState;

const LOGIN: &str = "/login?next=/console";

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../../../templates/base.html")),
        (
            "console.html",
            include_str!("../../../templates/console.html"),
        ),
        (
            "console_confirm.html",
            include_str!("../../../templates/console_confirm.html"),
        ),
    ] {
        env.add_template(name, source).expect("templates parse");
    }
    env
});

fn render(status: StatusCode, template: &str, ctx: impl Serialize) -> Response {
    match TEMPLATES.get_template(template).and_then(|t| t.render(ctx)) {
        Ok(html) => secure((status, Html(html)).into_response()),
        Err(e) => {
            tracing::error!(error = %e, template, "template failed");
            secure((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(dashboard))
        .route("/console/confirm", get(confirm))
        .route("/console/clients", post(clients::create_client))
        .route("/console/clients/rotate", post(clients::rotate_secret))
        .route("/console/clients/delete", post(clients::delete_client))
        .route("/console/keys", post(keys::create_key))
        .route("/console/keys/revoke", post(keys::revoke_key))
        .route("/console/users", post(users::create_user))
        .route("/console/users/disable", post(users::disable_user))
        .route("/console/users/enable", post(users::enable_user))
        .route("/console/users/profile", post(users::set_profile))
        .route("/console/scopes", post(scopes::define_scope))
        .route("/console/resources", post(resources::define_resource))
}

// ---------------------------------------------------------------------------
// Forms

/// The fields of a console POST. Only the grant-type checkboxes may repeat;
/// any other repeated field makes the form unreadable.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Option<Self> {
        let pairs = crate::params::form_pairs(body).ok()?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if name != "grant_type" && pairs[..i].iter().any(|(n, _)| n == name) {
                return None;
            }
        }
        Some(Self(pairs))
    }

    /// A field's value; absent and empty are both `None`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Space-separated scopes; tabs, newlines and `+` separate too.
fn parse_scopes(raw: &str) -> Result<ScopeSet, String> {
    let joined = raw
        .replace('+', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    ScopeSet::parse(&joined).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------
// The page

/// A secret shown once, in the response to the POST that made it.
#[derive(Serialize)]
struct Revealed {
    title: String,
    /// Set for clients: the id to configure beside the secret.
    client_id: Option<String>,
    /// `None` for a public client, which has no secret.
    secret: Option<String>,
    label: &'static str,
    kind: &'static str,
    rotated: bool,
}

/// Everything on the dashboard besides the lists: a notice, a revealed
/// secret, and the forms with what was typed and what was wrong.
#[derive(Default)]
struct View {
    notice: Option<&'static str>,
    revealed: Option<Revealed>,
    client_form: ClientForm,
    client_error: Option<String>,
    key_form: KeyForm,
    key_error: Option<String>,
    user_form: UserForm,
    user_error: Option<String>,
    scope_form: ScopeForm,
    scope_error: Option<String>,
    resource_form: ResourceForm,
    resource_error: Option<String>,
}

#[derive(Serialize)]
struct ClientRow {
    id: String,
    name: String,
    public: bool,
    grant_types: Vec<&'static str>,
    scopes: Vec<String>,
    /// `None`: every plain allowed scope.
    default_scopes: Option<Vec<String>>,
    redirect_uris: Vec<String>,
    token_lifetime: Option<i64>,
    owner: String,
    created: String,
    /// Registered itself (RFC 7591): when it was last used, for expiry.
    self_registered: Option<String>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    subject_type: &'static str,
}

#[derive(Serialize)]
struct KeyRow {
    id: String,
    name: String,
    scopes: Vec<String>,
    owner: String,
    created: String,
    last_used: Option<String>,
    expires: Option<String>,
    status: &'static str,
}

#[derive(Serialize)]
struct UserRow {
    id: String,
    username: String,
    admin: bool,
    disabled: bool,
    me: bool,
    created: String,
    /// The OpenID Connect claims (OIDC Core §5.1) as they are released.
    profile: portcullis_core::profile::UserProfile,
}

#[derive(Serialize)]
struct ScopeRow {
    name: String,
    description: String,
    requires_resource: bool,
    self_service: bool,
    machine_grantable: bool,
    listed: bool,
}

#[derive(Serialize)]
struct GrantChoice {
    value: &'static str,
    hint: &'static str,
}

const GRANT_CHOICES: [GrantChoice; 4] = [
    GrantChoice {
        value: "authorization_code",
        hint: "users sign in and consent; needs a redirect URI",
    },
    GrantChoice {
        value: "client_credentials",
        hint: "server-to-server, on the client's own behalf",
    },
    GrantChoice {
        value: "refresh_token",
        hint: "long-lived access; only with authorization_code",
    },
    GrantChoice {
        value: "implicit",
        hint: "legacy browser flow; prefer authorization_code with PKCE",
    },
];

fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "client-deleted" => "The client was deleted. Its credentials and tokens no longer work.",
        "key-revoked" => "The API key was revoked. It no longer works.",
        "user-created" => "The user was created. They can sign in now.",
        "user-disabled" => "The user was disabled and signed out everywhere.",
        "user-enabled" => "The user was enabled and can sign in again.",
        "user-profile" => "The profile was saved.",
        "scope-defined" => "The scope was saved. Clients and keys can now be given it.",
        "resource-defined" => {
            "The resource was saved. Clients can now ask tokens for it with resource=URI."
        }
        _ => return None,
    })
}

/// `YYYY-MM-DD HH:MM UTC` for a Unix time.
fn when(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// The signed-in user, as the policy in core sees them: every list and
/// every change below goes through it.
fn acting<'a>(state: &'a AppState, user: &User) -> Acting<'a> {
    state.server.acting_as(Actor::from(user))
}

/// The dashboard for `user`, with `view` on top of the current lists.
async fn page(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    status: StatusCode,
    view: View,
) -> Response {
    let me = acting(state, user);
    let loaded = async {
        Ok::<_, RegistryError>((
            me.list_clients().await?,
            me.list_api_keys().await?,
            me.list_scopes().await?,
            me.list_resources().await?,
            if me.allowed(Action::ListUsers).is_ok() {
                me.list_users().await?
            } else {
                Vec::new()
            },
        ))
    }
    .await;
    let (all_clients, all_keys, scopes, resources, users) = match loaded {
        Ok(l) => l,
        Err(e) => {
            return refusal_page(e, "Console unavailable");
        }
    };
    let usernames: HashMap<&str, &str> = users
        .iter()
        .map(|u| (u.id.as_str(), u.username.as_str()))
        .collect();
    let client_names: HashMap<&str, &str> = all_clients
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let now = state.server.now();

    let mut clients: Vec<&Client> = all_clients.iter().collect();
    clients.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    let clients: Vec<ClientRow> = clients
        .into_iter()
        .map(|c| ClientRow {
            id: c.id.to_string(),
            name: c.name.clone(),
            public: c.is_public(),
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            scopes: c.scopes.iter().map(ToString::to_string).collect(),
            default_scopes: c
                .default_scopes
                .as_ref()
                .map(|d| d.iter().map(ToString::to_string).collect()),
            redirect_uris: c.redirect_uris.iter().map(ToString::to_string).collect(),
            token_lifetime: c.token_lifetime,
            post_logout_redirect_uris: c
                .oidc
                .post_logout_redirect_uris
                .iter()
                .map(ToString::to_string)
                .collect(),
            backchannel_logout_uri: c
                .oidc
                .backchannel_logout_uri
                .as_ref()
                .map(ToString::to_string),
            subject_type: c.oidc.subject_type.as_str(),
            owner: match &c.owner {
                Some(o) if o == &user.id => user.username.clone(),
                Some(o) => usernames.get(o.as_str()).unwrap_or(&o.as_str()).to_string(),
                None if c.is_self_asserted() => "none (registered itself)".into(),
                None => "none (registered with the CLI)".into(),
            },
            created: when(c.created_at),
            self_registered: match &c.origin {
                portcullis_core::model::ClientOrigin::Dynamic { last_used_at, .. } => {
                    Some(when(*last_used_at))
                }
                _ => None,
            },
        })
        .collect();

    let mut keys: Vec<&ApiKeyRecord> = all_keys.iter().collect();
    // Live keys first, newest first within each group.
    keys.sort_by_key(|k| (k.revoked_at.is_some(), std::cmp::Reverse(k.created_at)));
    let keys: Vec<KeyRow> = keys
        .into_iter()
        .map(|k| KeyRow {
            id: k.id.clone(),
            name: k.name.clone(),
            scopes: k.scopes.iter().map(ToString::to_string).collect(),
            owner: match &k.owner {
                Owner::User(u) if u == &user.id => format!("user {}", user.username),
                Owner::User(u) => {
                    format!("user {}", usernames.get(u.as_str()).unwrap_or(&u.as_str()))
                }
                Owner::Client(c) => format!(
                    "client {}",
                    client_names.get(c.as_str()).unwrap_or(&c.as_str())
                ),
            },
            created: when(k.created_at),
            last_used: k.last_used_at.map(when),
            expires: k.expires_at.map(when),
            status: if k.revoked_at.is_some() {
                "revoked"
            } else if k.expires_at.is_some_and(|e| e <= now) {
                "expired"
            } else {
                "active"
            },
        })
        .collect();

    let mut scopes: Vec<ScopeRow> = scopes
        .into_iter()
        .map(|d| ScopeRow {
            self_service: d.effective_policy() == GrantPolicy::SelfService,
            machine_grantable: d.machine_grantable,
            listed: d.listed,
            name: d.name,
            description: d.description,
            requires_resource: d.requires_resource,
        })
        .collect();
    scopes.sort_by(|a, b| a.name.cmp(&b.name));

    let mut users: Vec<UserRow> = users
        .iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            username: u.username.clone(),
            admin: u.admin,
            disabled: u.disabled,
            me: u.id == user.id,
            created: when(u.created_at),
            profile: u.profile.clone(),
        })
        .collect();
    users.sort_by(|a, b| a.username.cmp(&b.username));

    let csrf = Csrf::for_form(state, headers);
    let res = render(
        status,
        "console.html",
        context! {
            csrf => csrf.token,
            username => user.username,
            admin => user.admin,
            issuer => state.server.settings().issuer,
            notice => view.notice,
            revealed => view.revealed,
            clients => clients,
            keys => keys,
            scopes => scopes,
            resources => resources
                .iter()
                .map(|r| context! {
                    uri => r.uri.as_str(),
                    name => r.name,
                    scopes => r.scopes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    restricted => r.restricted,
                })
                .collect::<Vec<_>>(),
            users => users,
            grant_choices => GRANT_CHOICES,
            max_lifetime => MAX_TOKEN_LIFETIME,
            client_form => view.client_form,
            client_error => view.client_error,
            key_form => view.key_form,
            key_error => view.key_error,
            user_form => view.user_form,
            user_error => view.user_error,
            scope_form => view.scope_form,
            scope_error => view.scope_error,
            resource_form => view.resource_form,
            resource_error => view.resource_error,
        },
    );
    csrf.attach(res)
}

// ---------------------------------------------------------------------------
// Shared steps

async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<User, Response> {
    match current_session(state, headers).await {
        Ok(Some((_, user))) => Ok(user),
        Ok(None) => Err(see_other(LOGIN)),
        Err(page) => Err(page),
    }
}

/// The form of a console POST, once its CSRF token checks out, and who
/// sent it.
async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(User, Form), Response> {
    let Some(form) = Form::parse(body) else {
        return Err(super::invalid_form());
    };
    if !Csrf::verify(state, headers, form.get("csrf")) {
        return Err(csrf_failed());
    }
    let user = signed_in(state, headers).await?;
    Ok((user, form))
}

/// The refusal page when the policy says no to `action`.
fn unless_allowed(state: &AppState, user: &User, action: Action<'_>) -> Option<Response> {
    acting(state, user)
        .allowed(action)
        .err()
        .map(|e| refusal_page(e, "Not allowed"))
}

fn not_found(what: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("There is no such {what} in your console. It may have been deleted already."),
    )
}

fn no_id() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "Invalid form",
        "The form names nothing to act on.",
    )
}

/// Why the domain refused: a one-line message to show beside the form
/// with its status, or a whole page (the store failed).
enum Refused {
    Message(StatusCode, String),
    Page(Response),
}

fn refusal(e: RegistryError) -> Refused {
    match e {
        RegistryError::Invalid(m) => Refused::Message(StatusCode::BAD_REQUEST, m),
        RegistryError::NotFound(_) => Refused::Message(StatusCode::NOT_FOUND, e.to_string()),
        RegistryError::Forbidden(m) => Refused::Message(StatusCode::FORBIDDEN, m),
        RegistryError::Unauthenticated => Refused::Page(see_other(LOGIN)),
        RegistryError::Store(e) => Refused::Page(unavailable(e.into())),
        RegistryError::OAuth(e) => Refused::Page(unavailable(e)),
        RegistryError::Start(e) => {
            tracing::error!(error = %e, "console request failed");
            Refused::Page(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not do that. Try again later.",
            ))
        }
    }
}

/// A refusal as a whole page titled `title`.
fn refusal_page(e: RegistryError, title: &str) -> Response {
    match refusal(e) {
        Refused::Message(status, msg) => message(status, title, &msg),
        Refused::Page(res) => res,
    }
}

/// A refusal to show beside a form, with its status; not being allowed at
/// all, or a failed store, is a whole page instead.
// The page is answered at once, as with `checked_form`: boxing it would
// only add an allocation.
#[allow(clippy::result_large_err)]
fn form_refusal(e: RegistryError) -> Result<(StatusCode, String), Response> {
    match refusal(e) {
        Refused::Message(StatusCode::FORBIDDEN, msg) => {
            Err(message(StatusCode::FORBIDDEN, "Not allowed", &msg))
        }
        Refused::Message(status, msg) => Ok((status, msg)),
        Refused::Page(res) => Err(res),
    }
}

/// A lookup's refusal as a page: an object the user may not see is
/// indistinguishable from a missing one.
fn lookup_failed(e: RegistryError, what: &str) -> Response {
    match refusal(e) {
        Refused::Message(StatusCode::NOT_FOUND, _) => not_found(what),
        Refused::Message(status, msg) => message(status, "Not allowed", &msg),
        Refused::Page(res) => res,
    }
}

async fn owned_client(state: &AppState, user: &User, id: Option<&str>) -> Result<Client, Response> {
    let id = id.ok_or_else(no_id)?;
    acting(state, user)
        .client(&ClientId::new(id))
        .await
        .map_err(|e| lookup_failed(e, "client"))
}

async fn owned_key(
    state: &AppState,
    user: &User,
    id: Option<&str>,
) -> Result<ApiKeyRecord, Response> {
    let id = id.ok_or_else(no_id)?;
    acting(state, user)
        .api_key(id)
        .await
        .map_err(|e| lookup_failed(e, "API key"))
}

async fn some_user(state: &AppState, user: &User, id: Option<&str>) -> Result<User, Response> {
    let id = id.ok_or_else(no_id)?;
    acting(state, user)
        .user(&UserId::new(id))
        .await
        .map_err(|e| lookup_failed(e, "user"))
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(res) => return res,
        }
    };
}

mod clients;
mod keys;
mod resources;
mod scopes;
mod users;

use clients::ClientForm;
use keys::KeyForm;
use resources::ResourceForm;
use scopes::ScopeForm;
use users::UserForm;

// ---------------------------------------------------------------------------
// Handlers

#[derive(Deserialize, Default)]
struct DashboardQuery {
    done: Option<String>,
}

async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let user = tri!(signed_in(&state, &headers).await);
    let view = View {
        notice: q.done.as_deref().and_then(notice_text),
        ..View::default()
    };
    page(&state, &headers, &user, StatusCode::OK, view).await
}

#[derive(Deserialize, Default)]
struct ConfirmQuery {
    action: Option<String>,
    id: Option<String>,
}

/// "Are you sure?" before a destructive action: a page whose only form
/// POSTs to the real action.
async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ConfirmQuery>,
) -> Response {
    let user = tri!(signed_in(&state, &headers).await);
    let id = q.id.as_deref().filter(|s| !s.is_empty());
    let (question, detail, action, button, subject_id) = match q.action.as_deref() {
        Some("delete-client") => {
            let c = tri!(owned_client(&state, &user, id).await);
            (
                format!("Delete the client “{}”?", c.name),
                format!(
                    "Client id {} stops working at once: token requests with it are refused and the tokens it holds stop being accepted. This cannot be undone.",
                    c.id
                ),
                "/console/clients/delete",
                "Delete client",
                c.id.to_string(),
            )
        }
        Some("rotate-secret") => {
            let c = tri!(owned_client(&state, &user, id).await);
            if c.is_public() {
                return message(
                    StatusCode::BAD_REQUEST,
                    "No secret to rotate",
                    "This is a public client: it has no secret.",
                );
            }
            (
                format!("Rotate the secret of “{}”?", c.name),
                "A new secret will be shown once. The current secret stops working immediately, so update your application's configuration right after.".to_owned(),
                "/console/clients/rotate",
                "Rotate secret",
                c.id.to_string(),
            )
        }
        Some("revoke-key") => {
            let k = tri!(owned_key(&state, &user, id).await);
            if k.revoked_at.is_some() {
                return message(
                    StatusCode::BAD_REQUEST,
                    "Already revoked",
                    "This API key has already been revoked.",
                );
            }
            (
                format!("Revoke the API key “{}”?", k.name),
                format!(
                    "The key pcs_{}_… stops working at once. This cannot be undone: to keep access, create a new key first.",
                    k.id
                ),
                "/console/keys/revoke",
                "Revoke key",
                k.id,
            )
        }
        Some("disable-user") => {
            if let Some(res) = unless_allowed(&state, &user, Action::ManageUsers) {
                return res;
            }
            let u = tri!(some_user(&state, &user, id).await);
            if u.id == user.id {
                return message(
                    StatusCode::BAD_REQUEST,
                    "Not your own account",
                    "You cannot disable the account you are signed in with.",
                );
            }
            (
                format!("Disable the user “{}”?", u.username),
                "They can no longer sign in, their sessions end, and the tokens issued to them stop working. You can enable the account again later.".to_owned(),
                "/console/users/disable",
                "Disable user",
                u.id.to_string(),
            )
        }
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Unknown action",
                "The console cannot do that. Go back to the console and try again.",
            );
        }
    };
    let csrf = Csrf::for_form(&state, &headers);
    let res = render(
        StatusCode::OK,
        "console_confirm.html",
        context! {
            csrf => csrf.token,
            question => question,
            detail => detail,
            action => action,
            button => button,
            id => subject_id,
        },
    );
    csrf.attach(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(when(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn only_grant_types_may_repeat() {
        assert!(Form::parse(b"grant_type=a&grant_type=b&name=x").is_some());
        assert!(Form::parse(b"name=x&name=y").is_none());
        assert!(Form::parse(b"csrf=x&csrf=y").is_none());
    }

    #[test]
    fn the_client_form_parses_like_the_cli() {
        let form = |body: &str| ClientForm::read(&Form::parse(body.as_bytes()).unwrap());
        let owner = UserId::new("u1");
        let spec = form(
            "name=App&grant_type=authorization_code&grant_type=refresh_token\
             &redirect_uris=https%3A%2F%2Fa.example%2Fcb%0D%0A%0D%0Ahttps%3A%2F%2Fa.example%2Fcb\
             &scope=read++write&token_lifetime=+600+",
        )
        .spec(&owner)
        .unwrap();
        assert_eq!(
            spec.grant_types,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(spec.redirect_uris.len(), 1);
        assert_eq!(spec.scopes.to_string(), "read write");
        assert_eq!(spec.token_lifetime, Some(600));
        assert_eq!(spec.owner, Some(UserId::new("u1")));

        let err = form("name=A&grant_type=password").spec(&owner).unwrap_err();
        assert!(err.contains("unknown grant type `password`"), "{err}");
        let err =
            form("name=A&grant_type=implicit&redirect_uris=https%3A%2F%2Fa.example%2F%3Fx%3D1")
                .spec(&owner)
                .unwrap_err();
        assert!(err.contains("must not carry a query string"), "{err}");
        let err = form("name=A&token_lifetime=soon").spec(&owner).unwrap_err();
        assert!(err.contains("whole number"), "{err}");
    }

    /// Every branch of both templates renders: admin lists, a revealed
    /// client secret and key, errors in every form.
    #[test]
    fn the_templates_render() {
        let client = ClientRow {
            id: "c1".into(),
            name: "App <b>".into(),
            public: false,
            grant_types: vec!["authorization_code"],
            scopes: vec!["orders:read".into()],
            default_scopes: Some(vec!["read".into()]),
            redirect_uris: vec!["https://a.example/cb".into()],
            token_lifetime: Some(600),
            owner: "dev".into(),
            created: when(0),
            self_registered: None,
            post_logout_redirect_uris: vec!["https://a.example/bye".into()],
            backchannel_logout_uri: None,
            subject_type: "pairwise",
        };
        let key = KeyRow {
            id: "k1".into(),
            name: "ci".into(),
            scopes: vec![],
            owner: "user dev".into(),
            created: when(0),
            last_used: Some(when(60)),
            expires: Some(when(120)),
            status: "active",
        };
        let user = UserRow {
            id: "u1".into(),
            username: "dev".into(),
            admin: false,
            disabled: true,
            me: false,
            created: when(0),
            profile: Default::default(),
        };
        let scope = ScopeRow {
            name: "orders".into(),
            description: "Orders".into(),
            requires_resource: true,
            self_service: false,
            machine_grantable: true,
            listed: false,
        };
        for (kind, client_id, secret) in [
            ("client", Some("c1"), Some("s3cret")),
            ("client", Some("c1"), None),
            ("key", None, Some("pcs_k1")),
        ] {
            let html = TEMPLATES
                .get_template("console.html")
                .unwrap()
                .render(context! {
                    csrf => "t", username => "root", admin => true, issuer => "https://id.example",
                    notice => notice_text("client-deleted"),
                    revealed => Revealed { title: "New".into(), client_id: client_id.map(Into::into), secret: secret.map(Into::into), label: "Secret", kind, rotated: true },
                    clients => [&client], keys => [&key], scopes => [&scope], users => [&user],
                    grant_choices => GRANT_CHOICES, max_lifetime => MAX_TOKEN_LIFETIME,
                    client_form => ClientForm::default(), client_error => "bad client",
                    key_form => KeyForm::default(), key_error => "bad key",
                    user_form => UserForm::default(), user_error => "bad user",
                    scope_form => ScopeForm::default(), scope_error => "bad scope",
                    resource_form => ResourceForm::default(), resource_error => "bad resource",
                })
                .unwrap();
            assert!(html.contains("App &lt;b&gt;"), "escaped");
            assert!(html.contains("action=disable-user") || html.contains("/console/users/enable"));
            assert_eq!(html.contains("id=\"secret\""), secret.is_some());
        }
        TEMPLATES
            .get_template("console_confirm.html")
            .unwrap()
            .render(context! { csrf => "t", question => "Q?", detail => "D", action => "/console/keys/revoke", button => "Revoke key", id => "k1" })
            .unwrap();
    }
}
