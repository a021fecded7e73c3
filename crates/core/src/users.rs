//! End users: creation, passwords, disabling, and login with throttling of
//! failed attempts per account and per client address.

use std::sync::LazyLock;

use portcullis_protocol::UserId;
use portcullis_protocol::secret::random_hex_id;
use tokio::sync::Semaphore;

use crate::model::User;
use crate::password::{DUMMY_HASH, hash_password, verify_password};
use crate::registry::RegistryError;
use crate::server::AuthServer;
use crate::store::{Attempt, StoreError};
use crate::throttle;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// One answer for an unknown user, a wrong password and a disabled
    /// account: nothing to enumerate.
    #[error("wrong username or password")]
    Invalid,
    #[error("too many failed attempts; retry in {retry_after} s")]
    Throttled { retry_after: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn validate_username(name: &str) -> Result<(), RegistryError> {
    // A name shaped like a client id (32 lowercase hex digits) could be
    // mistaken for one wherever an owner is shown or typed.
    let like_client_id =
        name.len() == 32 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if like_client_id {
        return Err(RegistryError::Invalid(format!(
            "username `{name}` looks like a client id; choose another"
        )));
    }
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::Invalid(format!(
            "username `{}` must be 1 to 64 letters, digits, or . _ - @",
            name.escape_debug()
        )))
    }
}

fn validate_password(password: &str) -> Result<(), RegistryError> {
    // NIST SP 800-63B: at least 8 characters; a generous maximum bounds the
    // hashing work an attacker can request.
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(RegistryError::Invalid(
            "a password must be 8 to 1024 characters long".into(),
        ));
    }
    Ok(())
}

/// Hashes at once: each takes 12 MiB and a core for tens of milliseconds,
/// so more than one per core only adds memory, not throughput.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Argon2 takes tens of milliseconds: keep it off the async workers, and
/// bound how many run at once.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let _permit = HASHING
        .acquire()
        .await
        .expect("the semaphore is never closed");
    tokio::task::spawn_blocking(f)
        .await
        .expect("password hashing does not panic")
}

impl AuthServer {
    pub(crate) async fn create_user(
        &self,
        username: &str,
        password: &str,
        admin: bool,
    ) -> Result<User, RegistryError> {
        validate_username(username)?;
        validate_password(password)?;
        let pw = password.to_owned();
        let now = self.now();
        let user = User {
            id: UserId::new(random_hex_id::<16>()),
            username: username.to_owned(),
            password_hash: blocking(move || hash_password(&pw)).await,
            disabled: false,
            admin,
            profile: Default::default(),
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_user(&user).await {
            Err(StoreError::Conflict(_)) => Err(RegistryError::Invalid(format!(
                "user `{username}` already exists"
            ))),
            other => other.map(|_| user).map_err(Into::into),
        }
    }

    pub async fn find_user_by_name(&self, username: &str) -> Result<User, RegistryError> {
        self.store
            .find_user_by_username(username)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("user `{username}`")))
    }

    pub(crate) async fn set_password(
        &self,
        user: &User,
        password: &str,
    ) -> Result<(), RegistryError> {
        validate_password(password)?;
        let pw = password.to_owned();
        let hash = blocking(move || hash_password(&pw)).await;
        self.store
            .set_user_password(&user.id, &hash, self.now())
            .await?;
        self.end_sessions_and_grants(user).await
    }

    /// A disabled user cannot log in, their sessions end, and their tokens
    /// stop introspecting active and refreshing.
    pub(crate) async fn set_user_disabled(
        &self,
        user: &User,
        disabled: bool,
    ) -> Result<(), RegistryError> {
        self.store
            .set_user_disabled(&user.id, disabled, self.now())
            .await?;
        if disabled {
            self.end_sessions_and_grants(user).await?;
        }
        Ok(())
    }

    /// Checks a username and password. The attempt is counted against
    /// every throttle key before the (slow) check, one check per account at
    /// a time, so concurrent guesses cannot outrun the budget.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: &str,
    ) -> Result<User, LoginError> {
        let _turn = self.login_turns.wait(username).await;
        let now = self.now();
        let keys = throttle::keys(username, address);
        let mut taken: Vec<&str> = Vec::new();
        for (key, free) in &keys {
            match self.store.take_attempt(key, *free, now).await {
                Ok(Attempt::Allowed) => taken.push(key),
                Ok(Attempt::Blocked { until }) => {
                    self.refund(&taken).await?;
                    return Err(LoginError::Throttled {
                        retry_after: (until - now).max(1),
                    });
                }
                Err(e) => {
                    self.refund(&taken).await?;
                    return Err(e.into());
                }
            }
        }
        let user = self.store.find_user_by_username(username).await?;
        let phc = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.clone());
        let pw = password.to_owned();
        let matches = blocking(move || verify_password(&phc, &pw)).await;
        match user {
            Some(u) if matches && !u.disabled => {
                let [(pair, _), rest @ ..] = &keys;
                self.store.clear_throttle(pair).await?;
                let rest: Vec<&str> = rest.iter().map(|(k, _)| k.as_str()).collect();
                self.refund(&rest).await?;
                Ok(u)
            }
            _ => Err(LoginError::Invalid),
        }
    }

    async fn refund(&self, keys: &[&str]) -> Result<(), StoreError> {
        for key in keys {
            self.store.refund_attempt(key).await?;
        }
        Ok(())
    }

    /// After a password change or when an account is disabled: whoever
    /// holds a session or a refresh token of the old state loses it.
    async fn end_sessions_and_grants(&self, user: &User) -> Result<(), RegistryError> {
        let now = self.now();
        self.store.delete_sessions_of(&user.id).await?;
        let jtis = self.store.revoke_refresh_by_user(&user.id, now).await?;
        self.revoke_jtis(jtis).await?;
        Ok(())
    }
}
