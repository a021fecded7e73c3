//! `/account`: the apps a user has connected, each revocable, and the
//! user's own profile (the claims OpenID Connect clients may ask for).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use portcullis_core::registry::RegistryError;
use serde::Serialize;

use super::{Csrf, checked_form, current_session, message, see_other, unavailable};
use crate::AppState;

#[derive(Serialize)]
struct App {
    id: String,
    name: String,
    scopes: Vec<String>,
    since: i64,
}

pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match current_session(&state, &headers).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return see_other("/login?next=/account"),
        Err(page) => return page,
    };
    let apps = match state.server.connected_apps(&user).await {
        Ok(a) => a,
        Err(e) => return unavailable(e),
    };
    let apps: Vec<App> = apps
        .into_iter()
        .map(|(c, client)| App {
            id: c.id,
            name: client
                .map(|c| c.name.clone())
                .unwrap_or_else(|| "(deleted application)".into()),
            scopes: c.scopes.iter().map(ToString::to_string).collect(),
            since: c.created_at,
        })
        .collect();
    let csrf = Csrf::for_form(&state, &headers);
    let res = super::render(
        StatusCode::OK,
        "account.html",
        context! {
            csrf => csrf.token,
            username => user.username,
            apps => apps,
            profile => user.profile,
            fields => EDITABLE.iter().map(|(name, label)| context! { name, label }).collect::<Vec<_>>(),
        },
    );
    csrf.attach(res)
}

/// The attributes a user edits on the account page, with their labels.
/// The rest (address, birthdate, …) are kept as they are; `*_verified` is
/// the operator's to set.
const EDITABLE: &[(&str, &str)] = &[
    ("name", "Full name"),
    ("given_name", "Given name"),
    ("family_name", "Family name"),
    ("nickname", "Nickname"),
    ("email", "Email"),
    ("phone_number", "Phone (E.164, e.g. +33612345678)"),
    ("locale", "Language (e.g. en-GB)"),
    ("zoneinfo", "Time zone (e.g. Europe/Paris)"),
    ("website", "Website"),
    ("picture", "Picture URL"),
];

/// The user's own profile form.
pub async fn profile(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f = match checked_form(&state, &headers, &body) {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let user = match current_session(&state, &headers).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return see_other("/login?next=/account"),
        Err(page) => return page,
    };
    let mut wanted = user.profile.clone();
    for (name, _) in EDITABLE {
        // A field missing from the form is left alone; an empty one clears.
        if let (Some(v), Some(field)) = (f.get(name), wanted.text_claim_mut(name)) {
            *field = Some(v.to_owned());
        }
    }
    let me = state
        .server
        .acting_as(portcullis_core::policy::Actor::from(&user));
    match me.set_user_profile(&user.id, wanted).await {
        Ok(_) => see_other("/account"),
        Err(RegistryError::Store(e)) => unavailable(e.into()),
        Err(RegistryError::OAuth(e)) => unavailable(e),
        Err(RegistryError::Invalid(reason)) => message(
            StatusCode::BAD_REQUEST,
            "Your profile was not saved",
            &reason,
        ),
        Err(e) => message(StatusCode::FORBIDDEN, "Not allowed", &e.to_string()),
    }
}

pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f = match checked_form(&state, &headers, &body) {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let user = match current_session(&state, &headers).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return see_other("/login?next=/account"),
        Err(page) => return page,
    };
    let Some(id) = f.get("consent") else {
        return message(
            StatusCode::BAD_REQUEST,
            "Invalid form",
            "The form names no application.",
        );
    };
    let me = state
        .server
        .acting_as(portcullis_core::policy::Actor::from(&user));
    match me.end_consent(id).await {
        // Another user's consent is indistinguishable from a revoked one.
        Ok(()) | Err(RegistryError::NotFound(_)) => see_other("/account"),
        Err(RegistryError::Store(e)) => unavailable(e.into()),
        Err(RegistryError::OAuth(e)) => unavailable(e),
        Err(e) => message(StatusCode::FORBIDDEN, "Not allowed", &e.to_string()),
    }
}
