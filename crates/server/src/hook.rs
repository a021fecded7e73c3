//! The resource-ownership hook over HTTP: before a code carrying
//! `NAME__RESOURCEID` is issued, Portcullis POSTs
//! `{"user_id", "username", "client_id", "permission", "resource"}` to the
//! provider's URL and expects `200 {"allowed": true}`. Anything else is a no.

use std::time::Duration;

use async_trait::async_trait;
use portcullis_core::authorize::ResourceOwnership;
use portcullis_core::model::User;
use portcullis_protocol::ClientId;
use serde_json::json;

pub struct HttpResourceHook {
    url: String,
    http: reqwest::Client,
}

impl HttpResourceHook {
    pub fn new(url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Self { url, http }
    }
}

#[async_trait]
impl ResourceOwnership for HttpResourceHook {
    async fn may_grant(
        &self,
        user: &User,
        client: &ClientId,
        permission: &str,
        resource: &str,
    ) -> Result<bool, String> {
        let res = self
            .http
            .post(&self.url)
            .json(&json!({
                "user_id": user.id,
                "username": user.username,
                "client_id": client,
                "permission": permission,
                "resource": resource,
            }))
            .send()
            .await
            .map_err(|e| format!("hook unreachable: {e}"))?;
        if !res.status().is_success() {
            return Ok(false);
        }
        let body: serde_json::Value = res.json().await.map_err(|e| format!("hook answer: {e}"))?;
        Ok(body["allowed"] == true)
    }
}
