//! Users in the console (administrators): create, disable, enable, and
//! edit the profile OpenID Connect clients receive.

use super::*;

/// The password is never echoed back.
#[derive(Serialize, Default)]
pub(super) struct UserForm {
    pub(super) username: String,
    pub(super) admin: bool,
}

pub(super) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    let input = UserForm {
        username: f.text("username").trim().to_owned(),
        admin: f.checked("admin"),
    };
    let password = f.get("password").unwrap_or_default();
    match acting(&state, &user)
        .create_user(&input.username, password, input.admin)
        .await
    {
        Ok(_) => see_other("/console?done=user-created#users"),
        Err(e) => {
            let (status, msg) = match form_refusal(e) {
                Ok(shown) => shown,
                Err(page) => return page,
            };
            let view = View {
                user_form: input,
                user_error: Some(msg),
                ..View::default()
            };
            page(&state, &headers, &user, status, view).await
        }
    }
}

pub(super) async fn set_disabled(
    state: AppState,
    headers: HeaderMap,
    body: Bytes,
    disabled: bool,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    if let Some(res) = unless_allowed(&state, &user, Action::ManageUsers) {
        return res;
    }
    let target = tri!(some_user(&state, &user, f.get("id")).await);
    if disabled && target.id == user.id {
        return message(
            StatusCode::BAD_REQUEST,
            "Not your own account",
            "You cannot disable the account you are signed in with.",
        );
    }
    match acting(&state, &user)
        .set_user_disabled(&target.id, disabled)
        .await
    {
        Ok(()) if disabled => see_other("/console?done=user-disabled#users"),
        Ok(()) => see_other("/console?done=user-enabled#users"),
        Err(RegistryError::NotFound(_)) => not_found("user"),
        Err(e) => refusal_page(e, "Could not change the user"),
    }
}

pub(super) async fn disable_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    set_disabled(state, headers, body, true).await
}

pub(super) async fn enable_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    set_disabled(state, headers, body, false).await
}

/// The profile attributes the console edits; the others stay as they are.
const PROFILE_FIELDS: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "email",
    "phone_number",
    "locale",
];

pub(super) async fn set_profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    if let Some(res) = unless_allowed(&state, &user, Action::ManageUsers) {
        return res;
    }
    let target = tri!(some_user(&state, &user, f.get("id")).await);
    let mut p = target.profile.clone();
    for name in PROFILE_FIELDS {
        if let (Some(v), Some(field)) = (f.get(name), p.text_claim_mut(name)) {
            *field = Some(v.to_owned());
        }
    }
    // An administrator vouches for the address and number, or does not.
    p.email_verified =
        f.checked("email_verified") && p.email.as_deref().is_some_and(|e| !e.trim().is_empty());
    p.phone_number_verified = f.checked("phone_number_verified")
        && p.phone_number
            .as_deref()
            .is_some_and(|e| !e.trim().is_empty());
    match acting(&state, &user).set_user_profile(&target.id, p).await {
        Ok(_) => see_other("/console?done=user-profile#users"),
        Err(RegistryError::NotFound(_)) => not_found("user"),
        Err(RegistryError::Invalid(reason)) => message(
            StatusCode::BAD_REQUEST,
            "The profile was not saved",
            &reason,
        ),
        Err(e) => refusal_page(e, "Could not change the profile"),
    }
}
