//! Browser sessions: a random id in a cookie, only its hash stored; idle
//! and absolute expiry.

use portcullis_protocol::Secret;

use crate::model::{Session, User};
use crate::server::AuthServer;
use crate::store::StoreError;

/// A session ends after this long without use...
pub const IDLE_TIMEOUT: i64 = 30 * 60;
/// ...and after this long in any case.
pub const ABSOLUTE_TIMEOUT: i64 = 12 * 60 * 60;
/// `last_seen_at` is written at most this often.
const TOUCH_EVERY: i64 = 60;

impl AuthServer {
    pub async fn create_session(&self, user: &User) -> Result<(Secret, Session), StoreError> {
        let now = self.now();
        let id = Secret::generate();
        let session = Session {
            id_hash: id.hash(),
            user_id: user.id.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + ABSOLUTE_TIMEOUT,
        };
        self.store.insert_session(&session).await?;
        Ok((id, session))
    }

    /// The live session behind a cookie value, and its (enabled) user.
    pub async fn find_session(&self, id: &Secret) -> Result<Option<(Session, User)>, StoreError> {
        let now = self.now();
        let Some(session) = self.store.find_session(&id.hash()).await? else {
            return Ok(None);
        };
        if session.expires_at <= now || session.last_seen_at + IDLE_TIMEOUT <= now {
            self.store.delete_session(&session.id_hash).await?;
            return Ok(None);
        }
        let Some(user) = self.store.find_user(&session.user_id).await? else {
            return Ok(None);
        };
        if user.disabled {
            self.store.delete_session(&session.id_hash).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(&session.id_hash, now).await?;
        }
        Ok(Some((session, user)))
    }

    /// Signs the browser out, and every client it signed in to through
    /// back-channel logout.
    pub async fn end_session(&self, id: &Secret) -> Result<(), StoreError> {
        self.end_session_by_hash(&id.hash()).await
    }
}
