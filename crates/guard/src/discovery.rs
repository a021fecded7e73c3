//! The authorization server's metadata (RFC 8414), read once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::GuardError;

/// What the guard needs from the metadata document.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Metadata {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    #[serde(default)]
    pub access_token_signing_alg_values_supported: Option<Vec<String>>,
}

/// After a failed fetch, requests within this window fail at once instead
/// of each trying again against a server that is down.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

pub(crate) struct Discovery {
    url: String,
    issuer: String,
    cell: OnceCell<Metadata>,
    failed_at: Mutex<Option<Instant>>,
}

impl Discovery {
    pub(crate) fn new(issuer: &str) -> Self {
        Self {
            url: format!(
                "{}/.well-known/oauth-authorization-server",
                issuer.trim_end_matches('/')
            ),
            issuer: issuer.to_owned(),
            cell: OnceCell::new(),
            failed_at: Mutex::new(None),
        }
    }

    /// The metadata, fetched on first use. Metadata names endpoints, which do
    /// not move while a process runs, so it is never refetched once read.
    pub(crate) async fn get(&self, http: &reqwest::Client) -> Result<&Metadata, GuardError> {
        if let Some(m) = self.cell.get() {
            return Ok(m);
        }
        if self
            .failed_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|t| t.elapsed() < RETRY_AFTER_FAILURE)
        {
            return Err(GuardError::Unavailable);
        }
        self.cell
            .get_or_try_init(|| async {
                let result = self.fetch(http).await;
                if result.is_err() {
                    *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(Instant::now());
                }
                result
            })
            .await
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Metadata, GuardError> {
        let metadata: Metadata = get_json(http, &self.url, "metadata").await?;
        // RFC 8414 §3.3: a document for another issuer must not be used, or
        // a misrouted request would make us trust someone else's keys.
        if metadata.issuer != self.issuer {
            tracing::error!(
                expected = %self.issuer,
                got = %metadata.issuer,
                "authorization server metadata names another issuer"
            );
            return Err(GuardError::Unavailable);
        }
        Ok(metadata)
    }
}

/// GET a JSON document from the authorization server; any failure is
/// `Unavailable` with the cause logged (URLs here carry no secret).
pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    what: &str,
) -> Result<T, GuardError> {
    let fail = |cause: &dyn std::fmt::Display| {
        tracing::warn!(url, %cause, "could not fetch {what}");
        GuardError::Unavailable
    };
    let response = http.get(url).send().await.map_err(|e| fail(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(&format_args!("status {status}")));
    }
    response.json::<T>().await.map_err(|e| fail(&e))
}
