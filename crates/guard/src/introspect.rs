//! API keys, checked by introspection (RFC 7662) with a short cache.
//!
//! API keys are opaque, so only the server can say whether one is live.
//! Asking on every request would put the server on every API's hot path, so
//! answers are kept briefly — both ways: a positive answer for
//! `api_key_ttl` (the time a revocation takes to be felt here), a negative
//! one for `api_key_negative_ttl` (so a client retrying a bad key does not
//! become a flood). Keys are cached under their SHA-256, never in clear.

use std::time::Duration;

use portcullis_protocol::wire::IntrospectionResponse;
use portcullis_protocol::{ClientId, ScopeSet, SecretHash};

use crate::cache::Cache;
use crate::config::{ClientCredentials, GuardConfig};
use crate::discovery::Discovery;
use crate::{GuardError, Principal, PrincipalKind, unix_now};

/// `token_type` of an API key in an introspection answer.
const API_KEY_TYPE: &str = "api_key";

/// Longer than any key Portcullis issues; a longer value is refused without
/// bothering the server.
const MAX_KEY_LEN: usize = 512;

/// What introspection said about a live key.
#[derive(Debug, Clone)]
pub(crate) struct ApiKeyInfo {
    pub owner: String,
    pub client_id: Option<ClientId>,
    pub scopes: ScopeSet,
    pub expires_at: Option<i64>,
}

impl ApiKeyInfo {
    pub(crate) fn into_principal(self) -> Principal {
        Principal {
            subject: self.owner,
            client_id: self.client_id,
            scopes: self.scopes,
            kind: PrincipalKind::ApiKey,
            expires_at: self.expires_at,
            api_key_owner: None,
        }
    }
}

type Answer = Result<ApiKeyInfo, &'static str>;

pub(crate) struct ApiKeys {
    cache: Cache<Answer>,
    client: Option<ClientCredentials>,
    ttl: Duration,
    negative_ttl: Duration,
}

impl ApiKeys {
    pub(crate) fn new(config: &GuardConfig) -> Self {
        Self {
            cache: Cache::new(config.api_key_cache_capacity),
            client: config.introspection_client.clone(),
            ttl: config.api_key_ttl,
            negative_ttl: config.api_key_negative_ttl,
        }
    }

    pub(crate) async fn check(
        &self,
        key: &str,
        http: &reqwest::Client,
        discovery: &Discovery,
    ) -> Result<ApiKeyInfo, GuardError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(GuardError::invalid_token("the API key is malformed"));
        }
        let hash = SecretHash::of(key.as_bytes());
        if let Some(answer) = self.cache.get(&hash) {
            return answer.map_err(GuardError::invalid_token);
        }
        let response = self.introspect(key, http, discovery).await?;
        let answer = judge(response);
        let ttl = match &answer {
            Ok(info) => match info.expires_at {
                // Never trust a key past its own expiry.
                Some(exp) => self.ttl.min(Duration::from_secs(
                    exp.saturating_sub(unix_now()).max(0) as u64,
                )),
                None => self.ttl,
            },
            Err(_) => self.negative_ttl,
        };
        self.cache.insert(hash, answer.clone(), ttl);
        answer.map_err(GuardError::invalid_token)
    }

    async fn introspect(
        &self,
        key: &str,
        http: &reqwest::Client,
        discovery: &Discovery,
    ) -> Result<IntrospectionResponse, GuardError> {
        let Some(client) = &self.client else {
            tracing::error!(
                "an API key was presented but the guard has no client to introspect with"
            );
            return Err(GuardError::Misconfigured);
        };
        let metadata = discovery.get(http).await?;
        let Some(endpoint) = &metadata.introspection_endpoint else {
            tracing::error!("the authorization server advertises no introspection endpoint");
            return Err(GuardError::Unavailable);
        };
        // RFC 6749 §2.3.1: id and secret are form-encoded before Basic.
        let response = http
            .post(endpoint)
            .basic_auth(
                form_encode(client.client_id.as_str()),
                Some(form_encode(client.client_secret.expose())),
            )
            .form(&[("token", key)])
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(endpoint, cause = %e, "introspection failed");
                GuardError::Unavailable
            })?;
        let status = response.status();
        if !status.is_success() {
            // 401 here means our own client credentials are wrong: the
            // caller's key may be fine, so this is not their 401.
            tracing::warn!(endpoint, %status, "introspection refused");
            return Err(GuardError::Unavailable);
        }
        response.json().await.map_err(|e| {
            tracing::warn!(endpoint, cause = %e, "introspection answer unreadable");
            GuardError::Unavailable
        })
    }
}

/// Turn an introspection answer into a verdict on an API key.
fn judge(r: IntrospectionResponse) -> Answer {
    if !r.active {
        return Err("the API key is unknown, expired or revoked");
    }
    // The server introspects every kind of token; an access token pasted
    // into the API-key header is not an API key.
    if !r
        .token_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(API_KEY_TYPE))
    {
        return Err("the credential is not an API key");
    }
    if r.exp.is_some_and(|exp| exp <= unix_now()) {
        return Err("the API key is unknown, expired or revoked");
    }
    let Some(owner) = r.sub else {
        return Err("the API key has no owner");
    };
    Ok(ApiKeyInfo {
        owner,
        client_id: r.client_id,
        scopes: r.scope.unwrap_or_default(),
        expires_at: r.exp,
    })
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> IntrospectionResponse {
        IntrospectionResponse {
            active: true,
            token_type: Some("api_key".into()),
            sub: Some("alice".into()),
            scope: Some(ScopeSet::parse("a b").unwrap()),
            ..Default::default()
        }
    }

    #[test]
    fn judges_introspection_answers() {
        let info = judge(live()).unwrap();
        assert_eq!(info.owner, "alice");
        assert_eq!(info.client_id, None);
        assert!(judge(IntrospectionResponse::inactive()).is_err());
        let bearer = IntrospectionResponse {
            token_type: Some("Bearer".into()),
            ..live()
        };
        assert_eq!(
            judge(bearer).unwrap_err(),
            "the credential is not an API key"
        );
        let expired = IntrospectionResponse {
            exp: Some(unix_now() - 1),
            ..live()
        };
        assert!(judge(expired).is_err());
    }
}
