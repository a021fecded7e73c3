//! Rows as the database returns them, and their conversion to domain
//! records. A stored value that no longer parses is a store error, never a
//! panic.

use std::fmt::Display;
use std::str::FromStr;

use portcullis_core::model::{Client, ScopeDefinition, SigningAlg, SigningKeyRecord};
use portcullis_core::store::StoreError;
use portcullis_protocol::{ClientId, KeyId, ScopeSet, SecretHash};

pub(crate) fn join<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn split<T: FromStr>(s: &str, what: &str) -> Result<Vec<T>, StoreError>
where
    T::Err: Display,
{
    s.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse()
                .map_err(|e| StoreError::Other(format!("stored {what} `{t}`: {e}")))
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<Vec<u8>>,
    redirect_uris: String,
    grant_types: String,
    scopes: String,
    token_lifetime: Option<i64>,
    require_pkce: bool,
    owner: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ClientRow {
    pub(crate) fn into_client(self) -> Result<Client, StoreError> {
        let secret_hash = match self.secret_hash {
            Some(b) => Some(SecretHash::from_slice(&b).ok_or_else(|| {
                StoreError::Other(format!("client {}: malformed secret hash", self.id))
            })?),
            None => None,
        };
        let redirect_uris = self
            .redirect_uris
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|u| {
                portcullis_protocol::RedirectUri::parse(u)
                    .map_err(|e| StoreError::Other(format!("client {}: {e}", self.id)))
            })
            .collect::<Result<_, _>>()?;
        Ok(Client {
            grant_types: split(&self.grant_types, "grant type")?,
            scopes: ScopeSet::parse(&self.scopes)
                .map_err(|e| StoreError::Other(format!("client {}: {e}", self.id)))?,
            id: ClientId::new(self.id),
            name: self.name,
            secret_hash,
            redirect_uris,
            token_lifetime: self.token_lifetime,
            require_pkce: self.require_pkce,
            owner: self.owner,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ScopeRow {
    name: String,
    description: String,
    requires_resource: bool,
    created_at: i64,
}

impl ScopeRow {
    pub(crate) fn into_definition(self) -> ScopeDefinition {
        ScopeDefinition {
            name: self.name,
            description: self.description,
            requires_resource: self.requires_resource,
            created_at: self.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    kid: String,
    alg: String,
    private_pkcs8: Vec<u8>,
    created_at: i64,
    active_at: i64,
    retired_at: Option<i64>,
}

impl KeyRow {
    pub(crate) fn into_record(self) -> Result<SigningKeyRecord, StoreError> {
        let alg = SigningAlg::parse(&self.alg).ok_or_else(|| {
            StoreError::Other(format!(
                "signing key {}: unknown alg {}",
                self.kid, self.alg
            ))
        })?;
        Ok(SigningKeyRecord {
            kid: KeyId::new(self.kid),
            alg,
            private_pkcs8: self.private_pkcs8,
            created_at: self.created_at,
            active_at: self.active_at,
            retired_at: self.retired_at,
        })
    }
}
