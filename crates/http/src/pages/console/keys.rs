//! API keys in the console: create (shown once) and revoke.

use super::*;

#[derive(Serialize, Default)]
pub(super) struct KeyForm {
    pub(super) name: String,
    pub(super) scope: String,
    pub(super) expires_in_days: String,
}

impl KeyForm {
    pub(super) fn read(f: &Form) -> Self {
        Self {
            name: f.text("name"),
            scope: f.text("scope"),
            expires_in_days: f.text("expires_in_days").trim().to_owned(),
        }
    }
}

pub(super) async fn create_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    let input = KeyForm::read(&f);
    let spec = parse_scopes(&input.scope).and_then(|scopes| {
        let expires_in_days = match input.expires_in_days.as_str() {
            "" => None,
            raw => Some(
                raw.parse::<i64>()
                    .map_err(|_| "expiry must be a whole number of days, 1 to 3650".to_owned())?,
            ),
        };
        Ok(ApiKeySpec {
            owner: Owner::User(user.id.clone()),
            name: input.name.clone(),
            scopes,
            expires_in_days,
        })
    });
    let result = match spec {
        Ok(spec) => acting(&state, &user)
            .create_api_key(spec)
            .await
            .map_err(refusal),
        Err(msg) => Err(Refused::Message(StatusCode::BAD_REQUEST, msg)),
    };
    match result {
        Ok(created) => {
            let view = View {
                revealed: Some(Revealed {
                    title: format!("API key “{}” created", created.record.name),
                    client_id: None,
                    secret: Some(created.key.expose().to_owned()),
                    label: "API key",
                    kind: "key",
                    rotated: false,
                }),
                ..View::default()
            };
            page(&state, &headers, &user, StatusCode::OK, view).await
        }
        Err(Refused::Message(status, msg)) => {
            let view = View {
                key_form: input,
                key_error: Some(msg),
                ..View::default()
            };
            page(&state, &headers, &user, status, view).await
        }
        Err(Refused::Page(res)) => res,
    }
}

pub(super) async fn revoke_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    let key = tri!(owned_key(&state, &user, f.get("id")).await);
    match acting(&state, &user).revoke_api_key(&key.id).await {
        // Revoking twice lands in the same place.
        Ok(()) | Err(RegistryError::NotFound(_)) => see_other("/console?done=key-revoked"),
        Err(e) => refusal_page(e, "Could not revoke the key"),
    }
}
