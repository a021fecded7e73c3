//! The authorization endpoint (RFC 6749 §3.1, §4.1, §4.2; RFC 9207; RFC
//! 9700). The protocol never renders HTML: it says what the browser should
//! see next (login, consent, or a redirect back to the client), and the
//! pages resume the pending request by id.

use portcullis_protocol::secret::random_id;
use portcullis_protocol::{
    ClientId, ErrorCode, GrantType, OAuthError, RedirectUri, ScopeSet, Secret, UserId,
};

use crate::model::{
    Authentication, AuthorizationCode, Client, Consent, OidcRequest, PendingAuthorization,
    ResponseType, Session, User,
};
use crate::oidc::Prompt;
use crate::scope_policy;
use crate::server::AuthServer;

/// How long a user has to log in and decide.
const PENDING_LIFETIME: i64 = 10 * 60;
/// Authorization codes live 60 s.
pub const CODE_LIFETIME: i64 = 60;

/// The raw parameters, as the HTTP layer found them (each at most once).
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    /// OpenID Connect (Core §3.1.2.1).
    pub nonce: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
    pub display: Option<String>,
    /// Request objects (OIDC Core §6), which are refused.
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// RFC 8707 `resource` parameters, in order (the one that may repeat).
    pub resources: Vec<String>,
    /// Set when a parameter was repeated; reported once the redirect URI
    /// is known to be safe.
    pub repeated: Option<String>,
}

/// Where a failed authorization request goes.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show an error page and
    /// never redirect (RFC 6749 §4.1.2.1).
    Page(String),
    /// Tell the client, at its verified redirect URI.
    Redirect(String),
    /// The store failed.
    Internal(OAuthError),
}

impl From<OAuthError> for AuthorizeError {
    fn from(e: OAuthError) -> Self {
        Self::Internal(e)
    }
}

impl From<crate::store::StoreError> for AuthorizeError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// What the browser should see next.
#[derive(Debug)]
pub enum Next {
    Login { request: String },
    Consent { request: String },
    Redirect(String),
}

/// A scope as the consent page shows it.
#[derive(Debug, Clone)]
pub struct ScopeView {
    pub scope: String,
    pub description: String,
    pub resource: Option<String>,
}

/// What the consent page needs.
#[derive(Debug, Clone)]
pub struct ConsentView {
    pub request: String,
    pub client_name: String,
    pub client_id: ClientId,
    pub redirect_host: String,
    pub scopes: Vec<ScopeView>,
    /// The APIs the tokens will be for (RFC 8707), by name and identifier.
    pub resources: Vec<(String, String)>,
    /// The client described itself (a metadata document or dynamic
    /// registration): its name is unverified, its redirect host is what the
    /// user should judge.
    pub unverified: bool,
}

/// Builds the redirect back to the client: query for codes, fragment for
/// implicit tokens (RFC 6749 §4.2.2), always with `iss` (RFC 9207).
fn redirect_to(
    uri: &RedirectUri,
    response_type: ResponseType,
    pairs: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    if let Some(s) = state {
        ser.append_pair("state", s);
    }
    ser.append_pair("iss", issuer);
    let sep = match response_type {
        ResponseType::Code => '?',
        ResponseType::Token => '#',
    };
    format!("{}{sep}{}", uri.as_str(), ser.finish())
}

fn error_pairs(e: &OAuthError) -> [(&'static str, String); 2] {
    [
        ("error", e.code.as_str().to_owned()),
        ("error_description", e.description.to_string()),
    ]
}

impl AuthServer {
    fn error_redirect(
        &self,
        uri: &RedirectUri,
        rt: ResponseType,
        state: Option<&str>,
        e: OAuthError,
    ) -> AuthorizeError {
        let pairs = error_pairs(&e);
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        AuthorizeError::Redirect(redirect_to(uri, rt, &pairs, state, &self.settings.issuer))
    }

    /// Validates an authorization request and holds it server-side.
    pub async fn begin_authorization(
        &self,
        p: AuthorizeParams,
    ) -> Result<PendingAuthorization, AuthorizeError> {
        let client_id = p.client_id.as_deref().ok_or_else(|| {
            AuthorizeError::Page("The request names no client (client_id is missing).".into())
        })?;
        let client = self
            .find_client(&ClientId::new(client_id))
            .await
            .map_err(|e| match e.code {
                // A metadata document that could not be used: no redirect
                // URI is trustworthy, so the user is told here.
                ErrorCode::InvalidClient => AuthorizeError::Page(format!(
                    "The application that sent you here could not be identified (invalid_client): {}",
                    e.description
                )),
                _ => e.into(),
            })?
            .ok_or_else(|| {
                AuthorizeError::Page("The application that sent you here is not registered.".into())
            })?;
        let redirect_uri = match p.redirect_uri.as_deref() {
            // Exact, or a loopback IP literal on another port (RFC 8252 §7.3).
            Some(given) => {
                RedirectUri::find_match(&client.redirect_uris, given).ok_or_else(|| {
                    AuthorizeError::Page(
                        "The redirect URI in this request is not registered for this application."
                            .into(),
                    )
                })?
            }
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            None => {
                return Err(AuthorizeError::Page(
                    "The request has no redirect URI and the application has several.".into(),
                ));
            }
        };
        let state = p.state.clone();
        let rt_guess = match p.response_type.as_deref() {
            Some("token") => ResponseType::Token,
            _ => ResponseType::Code,
        };
        let fail =
            |e: OAuthError| self.error_redirect(&redirect_uri, rt_guess, state.as_deref(), e);
        if let Some(name) = &p.repeated {
            return Err(fail(OAuthError::invalid_request(format!(
                "parameter `{name}` is repeated"
            ))));
        }
        let response_type = match p.response_type.as_deref() {
            None => {
                return Err(fail(OAuthError::invalid_request(
                    "missing parameter `response_type`",
                )));
            }
            Some(s) => ResponseType::parse(s).ok_or_else(|| {
                fail(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    "response_type must be `code` (or `token` for clients registered for implicit)",
                ))
            })?,
        };
        let grant = match response_type {
            ResponseType::Code => GrantType::AuthorizationCode,
            ResponseType::Token => GrantType::Implicit,
        };
        if !client.allows_grant(grant) {
            return Err(fail(OAuthError::unauthorized_client(format!(
                "this client may not use response_type={}",
                response_type.as_str()
            ))));
        }
        if state.as_ref().is_some_and(|s| s.len() > 1024) {
            return Err(fail(OAuthError::invalid_request(
                "state is longer than 1024 characters",
            )));
        }
        let requested = p
            .scope
            .as_deref()
            .map(|s| ScopeSet::parse(s).map_err(|_| fail(OAuthError::malformed_scope(s))))
            .transpose()?;
        let defs = self.scope_definitions().await?;
        let scopes = scope_policy::resolve(
            requested.as_ref(),
            &scope_policy::Grantee {
                // Only the code flow brings a refresh token.
                refreshable: response_type == ResponseType::Code,
                ..scope_policy::Grantee::of(&client, scope_policy::Delegation::User)
            },
            &defs,
            self.settings.max_scopes,
        )
        .map_err(fail)?;
        let (resources, union) = self
            .requested_resources(&p.resources, &client)
            .await
            .map_err(fail)?;
        let scopes = crate::resources::fit_scopes(scopes, requested.is_some(), union.as_ref())
            .map_err(fail)?;
        let code_challenge = match (
            response_type,
            &p.code_challenge,
            p.code_challenge_method.as_deref(),
        ) {
            (_, Some(_), Some(m)) if m != "S256" => {
                return Err(fail(OAuthError::invalid_request(
                    "code_challenge_method must be S256",
                )));
            }
            (_, Some(_), None) => {
                // RFC 7636 §4.3 defaults to `plain`, which we do not accept.
                return Err(fail(OAuthError::invalid_request(
                    "code_challenge_method=S256 is required with code_challenge",
                )));
            }
            (ResponseType::Code, Some(c), Some(_)) => {
                if !crate::pkce::is_valid_challenge(c) {
                    return Err(fail(OAuthError::invalid_request(
                        "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
                    )));
                }
                Some(c.clone())
            }
            (ResponseType::Code, None, _) if client.require_pkce => {
                return Err(fail(OAuthError::invalid_request(
                    "PKCE is required: send code_challenge and code_challenge_method=S256",
                )));
            }
            _ => None,
        };
        let (prompt, oidc) = self.login_parameters(&p, &client).map_err(fail)?;
        let now = self.now();
        let pending = PendingAuthorization {
            id: random_id::<24>(),
            client_id: client.id.clone(),
            redirect_uri,
            response_type,
            scopes,
            state,
            code_challenge,
            prompt: prompt.to_value(),
            user_id: None,
            resources,
            oidc,
            created_at: now,
            expires_at: now + PENDING_LIFETIME,
        };
        self.store.insert_pending(&pending).await?;
        Ok(pending)
    }

    async fn live_pending(&self, id: &str) -> Result<PendingAuthorization, AuthorizeError> {
        match self.store.find_pending(id).await? {
            Some(p) if p.expires_at > self.now() => Ok(p),
            _ => Err(AuthorizeError::Page(
                "This sign-in request has expired or was already used. Go back to the application and start again."
                    .into(),
            )),
        }
    }

    /// Records that `user` just logged in for this request.
    pub async fn note_login(
        &self,
        request: &str,
        user: &User,
    ) -> Result<(), crate::store::StoreError> {
        self.store
            .claim_pending(request, &user.id)
            .await
            .map(|_| ())
    }

    /// The OpenID Connect parameters of a request, checked: what it asks of
    /// the login, kept with the request.
    fn login_parameters(
        &self,
        p: &AuthorizeParams,
        client: &Client,
    ) -> Result<(Prompt, OidcRequest), OAuthError> {
        if p.request.is_some() {
            return Err(OAuthError::new(
                ErrorCode::RequestNotSupported,
                "request objects are not supported: send the parameters themselves",
            ));
        }
        if p.request_uri.is_some() {
            return Err(OAuthError::new(
                ErrorCode::RequestUriNotSupported,
                "request_uri is not supported: send the parameters themselves",
            ));
        }
        let prompt = Prompt::parse(p.prompt.as_deref())?;
        let max_age = p
            .max_age
            .as_deref()
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|n| (0..=crate::session::ABSOLUTE_TIMEOUT * 1000).contains(n))
                    .ok_or_else(|| {
                        OAuthError::invalid_request("max_age must be a whole number of seconds")
                    })
            })
            .transpose()?;
        let bounded = |name: &str, v: &Option<String>, max: usize| match v {
            Some(v) if v.len() > max => Err(OAuthError::invalid_request(format!(
                "{name} is longer than {max} characters"
            ))),
            _ => Ok(v.clone()),
        };
        if let Some(d) = &p.display
            && !matches!(d.as_str(), "page" | "popup" | "touch" | "wap")
        {
            return Err(OAuthError::invalid_request(
                "display must be page, popup, touch or wap",
            ));
        }
        let hint_subject = p
            .id_token_hint
            .as_deref()
            .map(|h| self.verify_id_token_hint(h, client).map(|c| c.sub))
            .transpose()?;
        Ok((
            prompt,
            OidcRequest {
                nonce: bounded("nonce", &p.nonce, 512)?,
                max_age,
                login_hint: bounded("login_hint", &p.login_hint, 256)?,
                hint_subject,
            },
        ))
    }

    /// The username a pending request suggests (`login_hint`), for the
    /// login form.
    pub async fn login_hint(&self, request: &str) -> Option<String> {
        let pending = self.store.find_pending(request).await.ok()??;
        pending.oidc.login_hint
    }

    /// Decides the next step of a pending request for whoever is logged in.
    pub async fn continue_authorization(
        &self,
        request: &str,
        session: Option<(&Session, &User)>,
    ) -> Result<Next, AuthorizeError> {
        let pending = self.live_pending(request).await?;
        // Stored in canonical form by `begin_authorization`.
        let prompt = Prompt::parse(pending.prompt.as_deref()).unwrap_or_default();
        let Some((session, user)) = session else {
            if prompt.none {
                return self
                    .finish_with_error(
                        &pending,
                        OAuthError::new(ErrorCode::LoginRequired, "the user is not logged in"),
                    )
                    .await;
            }
            return Ok(Next::Login {
                request: pending.id,
            });
        };
        // prompt=login, a login older than max_age, or another user than
        // the id_token_hint names: the password again. The login page takes
        // the request up (`note_login`) once it succeeds, which settles it.
        if pending.user_id.is_none() {
            let stale = pending
                .oidc
                .max_age
                .is_some_and(|max| self.now() - session.created_at > max);
            let other_user = match &pending.oidc.hint_subject {
                Some(sub) => match self.find_client(&pending.client_id).await? {
                    Some(client) => *sub != self.subject_for(&client, &user.id),
                    None => true,
                },
                None => false,
            };
            if prompt.none && (stale || other_user) {
                let why = if stale {
                    "the user's login is older than max_age"
                } else {
                    "the user logged in is not the one id_token_hint names"
                };
                return self
                    .finish_with_error(&pending, OAuthError::new(ErrorCode::LoginRequired, why))
                    .await;
            }
            if prompt.login || stale || other_user {
                return Ok(Next::Login {
                    request: pending.id,
                });
            }
        }
        if !self.store.claim_pending(&pending.id, &user.id).await? {
            return Err(AuthorizeError::Page(
                "This sign-in request belongs to another user.".into(),
            ));
        }
        // A consent records scopes, not the APIs they were approved for, so
        // a request naming resources is always put to the user.
        let consented = pending.resources.is_empty()
            && self
                .store
                .find_active_consent(&user.id, &pending.client_id)
                .await?
                .is_some_and(|c| pending.scopes.is_subset(&c.scopes));
        if consented && !prompt.consent {
            return self
                .decide(request, session, user, true)
                .await
                .map(Next::Redirect);
        }
        if prompt.none {
            return self
                .finish_with_error(
                    &pending,
                    OAuthError::new(
                        ErrorCode::ConsentRequired,
                        "the user has not approved this application",
                    ),
                )
                .await;
        }
        Ok(Next::Consent {
            request: pending.id,
        })
    }

    async fn finish_with_error(
        &self,
        pending: &PendingAuthorization,
        e: OAuthError,
    ) -> Result<Next, AuthorizeError> {
        self.store.take_pending(&pending.id).await?;
        match self.error_redirect(
            &pending.redirect_uri,
            pending.response_type,
            pending.state.as_deref(),
            e,
        ) {
            AuthorizeError::Redirect(url) => Ok(Next::Redirect(url)),
            other => Err(other),
        }
    }

    /// What the consent page shows for a request this user has taken up.
    pub async fn consent_view(
        &self,
        request: &str,
        user: &User,
    ) -> Result<ConsentView, AuthorizeError> {
        let pending = self.live_pending(request).await?;
        if pending.user_id.as_ref() != Some(&user.id) {
            return Err(AuthorizeError::Page(
                "This sign-in request belongs to another user.".into(),
            ));
        }
        let client = self.find_client(&pending.client_id).await?.ok_or_else(|| {
            AuthorizeError::Page("The application is no longer registered.".into())
        })?;
        let defs = self.scope_definitions().await?;
        let scopes = pending
            .scopes
            .iter()
            .map(|s| {
                let (name, resource) = s.split_resource();
                ScopeView {
                    scope: s.to_string(),
                    description: match (scope_policy::builtin_description(name), defs.get(name)) {
                        (Some(text), _) if resource.is_none() => text.to_owned(),
                        (_, Some(d)) => d.description.clone(),
                        _ => name.to_owned(),
                    },
                    resource: resource.map(str::to_owned),
                }
            })
            .collect();
        let redirect_host = url::Url::parse(pending.redirect_uri.as_str())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| pending.redirect_uri.to_string());
        let catalog = if pending.resources.is_empty() {
            Default::default()
        } else {
            self.resources().await?
        };
        let resources = pending
            .resources
            .iter()
            .map(|uri| {
                let name = catalog
                    .get(uri)
                    .map_or_else(|| uri.to_string(), |r| r.name.clone());
                (name, uri.to_string())
            })
            .collect();
        Ok(ConsentView {
            request: pending.id,
            client_name: client.name.clone(),
            client_id: client.id.clone(),
            redirect_host,
            scopes,
            resources,
            unverified: client.is_self_asserted(),
        })
    }

    /// The user approves or denies; returns the redirect back to the client.
    /// The request is consumed, so it is decided once.
    pub async fn decide(
        &self,
        request: &str,
        session: &Session,
        user: &User,
        approve: bool,
    ) -> Result<String, AuthorizeError> {
        let pending = self
            .store
            .take_claimed_pending(request, &user.id)
            .await?
            .filter(|p| p.expires_at > self.now())
            .ok_or_else(|| {
                AuthorizeError::Page(
                    "This sign-in request has expired, was already used, or is not yours.".into(),
                )
            })?;
        let fail = |e| {
            self.error_redirect(
                &pending.redirect_uri,
                pending.response_type,
                pending.state.as_deref(),
                e,
            )
        };
        if !approve {
            return Err(fail(OAuthError::access_denied(
                "the user denied the request",
            )));
        }
        let client = self.find_client(&pending.client_id).await?.ok_or_else(|| {
            AuthorizeError::Page("The application is no longer registered.".into())
        })?;
        for scope in pending.scopes.iter() {
            if let (name, Some(resource)) = scope.split_resource()
                && !self
                    .may_grant(Grantor::User(user), Some(&client.id), name, resource)
                    .await
            {
                return Err(fail(OAuthError::access_denied(format!(
                    "you may not grant `{name}` on resource `{resource}`"
                ))));
            }
        }
        let consent = self
            .record_consent(&user.id, &client.id, &pending.scopes)
            .await?;
        match pending.response_type {
            ResponseType::Code => {
                let code = Secret::generate();
                let now = self.now();
                if pending.scopes.contains_str(scope_policy::OPENID) {
                    self.note_session_client(session, &client.id, &user.id)
                        .await?;
                }
                self.store
                    .insert_code(&AuthorizationCode {
                        code_hash: code.hash(),
                        client_id: client.id.clone(),
                        user_id: user.id.clone(),
                        consent_id: consent.id.clone(),
                        redirect_uri: pending.redirect_uri.clone(),
                        scopes: pending.scopes.clone(),
                        code_challenge: pending.code_challenge.clone(),
                        resources: pending.resources.clone(),
                        login: pending.scopes.contains_str(scope_policy::OPENID).then(|| {
                            Authentication {
                                auth_time: session.created_at,
                                sid: crate::oidc::sid_of(session),
                                amr: vec!["pwd".into()],
                                nonce: pending.oidc.nonce.clone(),
                            }
                        }),
                        created_at: now,
                        expires_at: now + CODE_LIFETIME,
                    })
                    .await?;
                Ok(redirect_to(
                    &pending.redirect_uri,
                    ResponseType::Code,
                    &[("code", code.expose())],
                    pending.state.as_deref(),
                    &self.settings.issuer,
                ))
            }
            ResponseType::Token => {
                let issued = self.issue_access_token(
                    &client,
                    crate::token::TokenFor {
                        subject: user.id.as_str(),
                        scope: pending.scopes.clone(),
                        gid: Some(&consent.id),
                        resources: &pending.resources,
                    },
                )?;
                let expires_in = issued.expires_in.to_string();
                let scope = issued.claims.scope.to_string();
                Ok(redirect_to(
                    &pending.redirect_uri,
                    ResponseType::Token,
                    &[
                        ("access_token", issued.token.as_str()),
                        ("token_type", "Bearer"),
                        ("expires_in", &expires_in),
                        ("scope", &scope),
                    ],
                    pending.state.as_deref(),
                    &self.settings.issuer,
                ))
            }
        }
    }

    async fn record_consent(
        &self,
        user: &UserId,
        client: &ClientId,
        scopes: &ScopeSet,
    ) -> Result<Consent, AuthorizeError> {
        let now = self.now();
        let mut all = scopes.clone();
        if let Some(existing) = self.store.find_active_consent(user, client).await? {
            for s in existing.scopes.iter() {
                all.insert(s.clone());
            }
        }
        Ok(self
            .store
            .upsert_consent(&Consent {
                id: random_id::<16>(),
                user_id: user.clone(),
                client_id: client.clone(),
                scopes: all,
                created_at: now,
                updated_at: now,
                revoked_at: None,
            })
            .await?)
    }

    /// Asks the provider's resource-ownership hook, if configured. Fails
    /// closed: an unreachable hook is a no.
    pub(crate) async fn may_grant(
        &self,
        grantor: Grantor<'_>,
        client: Option<&ClientId>,
        permission: &str,
        resource: &str,
    ) -> bool {
        let Some(hook) = &self.resource_hook else {
            return true;
        };
        match hook.may_grant(grantor, client, permission, resource).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(error = %e, "resource-ownership hook failed; denying");
                false
            }
        }
    }

    /// The consents (connected apps) of a user, with client names.
    pub async fn connected_apps(
        &self,
        user: &User,
    ) -> Result<Vec<(Consent, Option<std::sync::Arc<Client>>)>, OAuthError> {
        let mut out = Vec::new();
        for c in self.store.list_consents(&user.id).await? {
            let client = self.find_client(&c.client_id).await?;
            out.push((c, client));
        }
        Ok(out)
    }

    /// Revokes a consent of this user: its refresh tokens end and its access
    /// tokens introspect inactive.
    pub(crate) async fn revoke_consent(
        &self,
        user: &UserId,
        consent_id: &str,
    ) -> Result<bool, OAuthError> {
        let Some(consent) = self.store.find_consent(consent_id).await? else {
            return Ok(false);
        };
        if &consent.user_id != user {
            return Ok(false);
        }
        let now = self.now();
        let revoked = self.store.revoke_consent(consent_id, now).await?;
        let jtis = self
            .store
            .revoke_refresh_by_consent(consent_id, now)
            .await?;
        self.revoke_jtis(jtis).await?;
        Ok(revoked)
    }
}

/// Who asks for a permission on a resource: a user at the consent page (or
/// for their own API key), or a client acting for itself with a
/// machine-grantable permission.
#[derive(Debug, Clone, Copy)]
pub enum Grantor<'a> {
    User(&'a User),
    Client(&'a ClientId),
}

/// The provider's answer to "may this user (or this client) hold this
/// permission on this resource?" (the optional resource-ownership hook).
#[async_trait::async_trait]
pub trait ResourceOwnership: Send + Sync {
    /// `client` is the client the grant is for; `None` for an API key.
    async fn may_grant(
        &self,
        grantor: Grantor<'_>,
        client: Option<&ClientId>,
        permission: &str,
        resource: &str,
    ) -> Result<bool, String>;
}
