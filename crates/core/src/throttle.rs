//! Login throttling: budgets per (account, address), per account and per
//! address, counted atomically in the store before a password is checked,
//! and one password check in flight per account.
//!
//! The (account, address) budget is the tight one: five wrong passwords
//! from one address block that address for that account only, so the owner
//! signing in from elsewhere is not locked out. The per-account budget is
//! wider and stops a slow spread-out guesser; the per-address one stops a
//! single address spraying many accounts.

use std::hash::{DefaultHasher, Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};

/// Wrong passwords allowed before a block, per key kind.
pub const PAIR_FREE: i64 = 5;
pub const ACCOUNT_FREE: i64 = 50;
pub const ADDRESS_FREE: i64 = 20;

/// The keys one attempt is counted under, with their budgets.
pub fn keys(account: &str, address: &str) -> [(String, i64); 3] {
    let account = account.to_lowercase();
    [
        (format!("pair:{account}@{address}"), PAIR_FREE),
        (format!("user:{account}"), ACCOUNT_FREE),
        (format!("addr:{address}"), ADDRESS_FREE),
    ]
}

const STRIPES: usize = 64;

/// One password check in flight per account, so a burst of guesses queues
/// behind the store's counter instead of racing past it. Striped: memory
/// stays fixed however many accounts are tried, at the price of unrelated
/// accounts sometimes sharing a turn.
pub struct Turns(Vec<Mutex<()>>);

impl Default for Turns {
    fn default() -> Self {
        Self((0..STRIPES).map(|_| Mutex::new(())).collect())
    }
}

impl Turns {
    pub async fn wait(&self, account: &str) -> MutexGuard<'_, ()> {
        let mut h = DefaultHasher::new();
        account.to_lowercase().hash(&mut h);
        self.0[(h.finish() as usize) % STRIPES].lock().await
    }
}
