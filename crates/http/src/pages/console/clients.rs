//! Clients in the console: register (the secret shown once), rotate the
//! secret, delete.

use super::*;

/// What was typed into the new-client form, kept to re-render it.
#[derive(Serialize)]
pub(super) struct ClientForm {
    pub(super) name: String,
    pub(super) grant_types: Vec<String>,
    pub(super) redirect_uris: String,
    pub(super) scope: String,
    /// Empty: every plain allowed scope.
    pub(super) default_scope: String,
    pub(super) token_lifetime: String,
    pub(super) public: bool,
    /// OpenID Connect: post-logout redirect URIs, one per line.
    pub(super) post_logout_redirect_uris: String,
    pub(super) backchannel_logout_uri: String,
    pub(super) backchannel_logout_session_required: bool,
    /// `public` or `pairwise`.
    pub(super) subject_type: String,
    /// RS256, ES256 or EdDSA.
    pub(super) id_token_alg: String,
}

impl Default for ClientForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            grant_types: vec![GrantType::ClientCredentials.as_str().into()],
            redirect_uris: String::new(),
            scope: String::new(),
            default_scope: String::new(),
            token_lifetime: String::new(),
            public: false,
            post_logout_redirect_uris: String::new(),
            backchannel_logout_uri: String::new(),
            backchannel_logout_session_required: false,
            subject_type: "public".into(),
            id_token_alg: "RS256".into(),
        }
    }
}

impl ClientForm {
    pub(super) fn read(f: &Form) -> Self {
        Self {
            name: f.text("name"),
            grant_types: f.all("grant_type"),
            redirect_uris: f.text("redirect_uris"),
            scope: f.text("scope"),
            default_scope: f.text("default_scope"),
            token_lifetime: f.text("token_lifetime").trim().to_owned(),
            public: f.checked("public"),
            post_logout_redirect_uris: f.text("post_logout_redirect_uris"),
            backchannel_logout_uri: f.text("backchannel_logout_uri").trim().to_owned(),
            backchannel_logout_session_required: f.checked("backchannel_logout_session_required"),
            subject_type: f.text("subject_type"),
            id_token_alg: f.text("id_token_alg"),
        }
    }

    /// The registration it asks for, parsed the way the CLI parses its
    /// options; a parse error is the one-line message to show.
    pub(super) fn spec(&self, owner: &UserId) -> Result<ClientSpec, String> {
        let mut grant_types = Vec::new();
        for g in self
            .grant_types
            .iter()
            .flat_map(|g| g.split([',', ' ']))
            .filter(|g| !g.is_empty())
        {
            let g: GrantType = g.parse().map_err(|e| format!("{e}"))?;
            if !grant_types.contains(&g) {
                grant_types.push(g);
            }
        }
        let mut redirect_uris: Vec<RedirectUri> = Vec::new();
        for line in self.redirect_uris.lines().map(str::trim) {
            if line.is_empty() {
                continue;
            }
            let u = RedirectUri::parse(line).map_err(|e| e.to_string())?;
            if !redirect_uris.contains(&u) {
                redirect_uris.push(u);
            }
        }
        let scopes = parse_scopes(&self.scope)?;
        let default_scopes = match self.default_scope.trim() {
            "" => None,
            raw => Some(parse_scopes(raw)?),
        };
        let token_lifetime = match self.token_lifetime.as_str() {
            "" => None,
            raw => Some(raw.parse::<i64>().map_err(|_| {
                format!(
                    "token lifetime must be a whole number of seconds between 60 and {MAX_TOKEN_LIFETIME}"
                )
            })?),
        };
        Ok(ClientSpec {
            name: self.name.clone(),
            grant_types,
            scopes,
            default_scopes,
            redirect_uris,
            public: self.public,
            token_lifetime,
            require_pkce: true,
            owner: Some(owner.clone()),
            resources: Vec::new(),
            oidc: self.oidc()?,
        })
    }

    /// The OpenID Connect settings, parsed as the CLI and the admin API
    /// parse them (the redirect-URI checks come with the registration).
    fn oidc(&self) -> Result<portcullis_core::client_oidc::ClientOidc, String> {
        let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        portcullis_core::client_oidc::OidcSettings {
            post_logout_redirect_uris: self
                .post_logout_redirect_uris
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            backchannel_logout_uri: non_empty(&self.backchannel_logout_uri),
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            subject_type: non_empty(&self.subject_type),
            sector_identifier: None,
            // RS256 is the default: leave it unset, as the CLI does.
            id_token_signed_response_alg: non_empty(&self.id_token_alg).filter(|a| a != "RS256"),
        }
        .parse()
        .map_err(|e| e.to_string())
    }
}

pub(super) async fn create_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    let input = ClientForm::read(&f);
    let result = match input.spec(&user.id) {
        Ok(spec) => acting(&state, &user)
            .register_client(spec)
            .await
            .map_err(refusal),
        Err(msg) => Err(Refused::Message(StatusCode::BAD_REQUEST, msg)),
    };
    match result {
        Ok(created) => {
            let view = View {
                revealed: Some(Revealed {
                    title: format!("Client “{}” created", created.client.name),
                    client_id: Some(created.client.id.to_string()),
                    secret: created.secret.map(|s| s.expose().to_owned()),
                    label: "Client secret",
                    kind: "client",
                    rotated: false,
                }),
                ..View::default()
            };
            page(&state, &headers, &user, StatusCode::OK, view).await
        }
        Err(Refused::Message(status, msg)) => {
            let view = View {
                client_form: input,
                client_error: Some(msg),
                ..View::default()
            };
            page(&state, &headers, &user, status, view).await
        }
        Err(Refused::Page(res)) => res,
    }
}

pub(super) async fn rotate_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    let client = tri!(owned_client(&state, &user, f.get("id")).await);
    match acting(&state, &user).rotate_client_secret(&client.id).await {
        Ok(secret) => {
            let view = View {
                revealed: Some(Revealed {
                    title: format!("New secret for “{}”", client.name),
                    client_id: Some(client.id.to_string()),
                    secret: Some(secret.expose().to_owned()),
                    label: "New client secret",
                    kind: "client",
                    rotated: true,
                }),
                ..View::default()
            };
            page(&state, &headers, &user, StatusCode::OK, view).await
        }
        Err(e) => refusal_page(e, "Could not rotate the secret"),
    }
}

pub(super) async fn delete_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    let client = tri!(owned_client(&state, &user, f.get("id")).await);
    match acting(&state, &user).delete_client(&client.id).await {
        Ok(()) => see_other("/console?done=client-deleted"),
        Err(RegistryError::NotFound(_)) => not_found("client"),
        Err(e) => refusal_page(e, "Could not delete the client"),
    }
}
