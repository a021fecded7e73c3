//! The UserInfo endpoint (OIDC Core §5.3): the claims the access token's
//! scopes release about its user.

use portcullis_protocol::{ErrorCode, OAuthError, UserId};
use serde_json::{Map, Value, json};

use crate::model::User;
use crate::scope_policy::OPENID;
use crate::server::AuthServer;

impl AuthServer {
    /// The claims `access_token` may read: `sub` always (as the client's ID
    /// tokens say it), the rest by scope.
    pub async fn userinfo(&self, access_token: &str) -> Result<Map<String, Value>, OAuthError> {
        let invalid = |d: &'static str| OAuthError::new(ErrorCode::InvalidToken, d);
        let claims = self
            .live_access_token(access_token)
            .await?
            .ok_or_else(|| invalid("the access token is not valid"))?;
        if claims.gid.is_none() {
            return Err(invalid(
                "this access token was issued to a client for itself, not for a user",
            ));
        }
        if !claims.scope.contains_str(OPENID) {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token was not granted the openid scope",
            ));
        }
        let client = self
            .find_client(&claims.client_id)
            .await?
            .ok_or_else(|| invalid("the access token's client is gone"))?;
        let user_id = UserId::new(&claims.sub);
        let user = self
            .store
            .find_user(&user_id)
            .await?
            .ok_or_else(|| invalid("the access token's user is gone"))?;
        let mut out = super::claims::released(&available_claims(&user), &claims.scope);
        out.insert("sub".into(), json!(self.subject_for(&client, &user_id)));
        Ok(out)
    }
}

/// Everything known about `user`, by claim name.
pub(crate) fn available_claims(user: &User) -> Map<String, Value> {
    let mut all = user.profile.claims();
    all.insert("preferred_username".into(), json!(user.username));
    all.insert("updated_at".into(), json!(user.updated_at));
    all
}
