//! The resource-ownership hook over HTTP: before a code carrying
//! `NAME__RESOURCEID` is issued, Portcullis POSTs
//! `{"actor": "user", "user_id", "username", "client_id", "permission", "resource"}`
//! to the provider's URL and expects `200 {"allowed": true}`. Anything else
//! is a no. For a machine-grantable permission asked by a client itself
//! (client_credentials, or a client-owned API key) the body is
//! `{"actor": "client", "client_id", "permission", "resource"}`; for a
//! user's own API key, `client_id` is null.

use std::time::Duration;

use async_trait::async_trait;
use portcullis_core::authorize::{Grantor, ResourceOwnership};
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
        grantor: Grantor<'_>,
        client: Option<&ClientId>,
        permission: &str,
        resource: &str,
    ) -> Result<bool, String> {
        let body = match grantor {
            Grantor::User(user) => json!({
                "actor": "user",
                "user_id": user.id,
                "username": user.username,
                "client_id": client,
                "permission": permission,
                "resource": resource,
            }),
            Grantor::Client(id) => json!({
                "actor": "client",
                "client_id": id,
                "permission": permission,
                "resource": resource,
            }),
        };
        let res = self
            .http
            .post(&self.url)
            .json(&body)
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
