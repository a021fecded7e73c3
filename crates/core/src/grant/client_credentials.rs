//! RFC 6749 §4.4: the client acts on its own behalf.

use portcullis_protocol::wire::TokenResponse;
use portcullis_protocol::{GrantType, OAuthError, ScopeSet};

use crate::authorize::Grantor;
use crate::model::Client;
use crate::scope_policy;
use crate::server::AuthServer;

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub scope: Option<ScopeSet>,
    /// RFC 8707 `resource` parameters, as sent.
    pub resources: Vec<String>,
}

impl AuthServer {
    pub(crate) async fn client_credentials(
        &self,
        client: &Client,
        req: Request,
    ) -> Result<TokenResponse, OAuthError> {
        // A public client has no credentials, so it cannot act for itself.
        if client.is_public() || !client.allows_grant(GrantType::ClientCredentials) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the client_credentials grant",
            ));
        }
        let (resources, union) = self.requested_resources(&req.resources, client).await?;
        let defs = self.scope_definitions().await?;
        let scope = scope_policy::resolve(
            req.scope.as_ref(),
            &scope_policy::Grantee::of(client, scope_policy::Delegation::Machine),
            &defs,
            self.settings.max_scopes,
        )?;
        let scope = crate::resources::fit_scopes(scope, req.scope.is_some(), union.as_ref())?;
        // A machine-grantable resource permission is still the provider's
        // to allow, with the client itself as the one asking.
        for s in scope.iter() {
            if let (name, Some(resource)) = s.split_resource()
                && !self
                    .may_grant(
                        Grantor::Client(&client.id),
                        Some(&client.id),
                        name,
                        resource,
                    )
                    .await
            {
                return Err(OAuthError::invalid_scope(format!(
                    "this client may not hold `{name}` on that resource"
                )));
            }
        }
        // RFC 6749 §4.4.3: no refresh token for client credentials.
        Ok(self
            .issue_access_token(
                client,
                crate::token::TokenFor {
                    subject: client.id.as_str(),
                    scope,
                    gid: None,
                    resources: &resources,
                },
            )?
            .into_response(None))
    }
}
