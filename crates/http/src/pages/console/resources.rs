//! Resource servers (RFC 8707) in the console (administrators).

use super::*;

#[derive(Serialize, Default)]
pub(super) struct ResourceForm {
    pub(super) uri: String,
    pub(super) name: String,
    pub(super) scope: String,
    pub(super) restricted: bool,
}

pub(super) async fn define_resource(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (user, f) = tri!(begin(&state, &headers, &body).await);
    let input = ResourceForm {
        uri: f.text("uri").trim().to_owned(),
        name: f.text("name"),
        scope: f.text("scope"),
        restricted: f.checked("restricted"),
    };
    let result = match parse_scopes(&input.scope) {
        Ok(scopes) => acting(&state, &user)
            .define_resource(portcullis_core::resources::ResourceSpec {
                uri: input.uri.clone(),
                name: input.name.clone(),
                scopes,
                restricted: input.restricted,
            })
            .await
            .map_err(form_refusal),
        Err(msg) => Err(Ok((StatusCode::BAD_REQUEST, msg))),
    };
    match result {
        Ok(_) => see_other("/console?done=resource-defined#resources"),
        Err(Ok((status, msg))) => {
            let view = View {
                resource_form: input,
                resource_error: Some(msg),
                ..View::default()
            };
            page(&state, &headers, &user, status, view).await
        }
        Err(Err(page)) => page,
    }
}
