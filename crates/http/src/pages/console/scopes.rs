//! Scope definitions in the console (administrators), with their grant
//! policy.

use super::*;

#[derive(Serialize, Default)]
pub(super) struct ScopeForm {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) requires_resource: bool,
    pub(super) self_service: bool,
    pub(super) machine_grantable: bool,
    pub(super) unlisted: bool,
}

pub(super) async fn define_scope(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    let input = ScopeForm {
        name: f.text("name").trim().to_owned(),
        description: f.text("description"),
        requires_resource: f.checked("requires_resource"),
        self_service: f.checked("self_service"),
        machine_grantable: f.checked("machine_grantable"),
        unlisted: f.checked("unlisted"),
    };
    let spec = ScopeSpec {
        name: input.name.clone(),
        description: input.description.clone(),
        requires_resource: input.requires_resource,
        grant_policy: if input.self_service {
            GrantPolicy::SelfService
        } else {
            GrantPolicy::Restricted
        },
        machine_grantable: input.machine_grantable,
        listed: !input.unlisted,
    };
    match acting(&state, &user).define_scope(spec).await {
        Ok(_) => see_other("/console?done=scope-defined#scopes"),
        Err(e) => {
            let (status, msg) = match form_refusal(e) {
                Ok(shown) => shown,
                Err(page) => return page,
            };
            let view = View {
                scope_form: input,
                scope_error: Some(msg),
                ..View::default()
            };
            page(&state, &headers, &user, status, view).await
        }
    }
}
