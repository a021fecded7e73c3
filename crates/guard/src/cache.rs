//! A small bounded map from a credential's SHA-256 to what we concluded
//! about it, each entry with its own lifetime. Credentials themselves are
//! never kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use portcullis_protocol::SecretHash;

pub(crate) struct Cache<V> {
    map: Mutex<HashMap<SecretHash, (V, Instant)>>,
    capacity: usize,
}

impl<V: Clone> Cache<V> {
    /// A cache of at most `capacity` entries; 0 disables it.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    pub(crate) fn get(&self, key: &SecretHash) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(v, _)| v.clone())
    }

    pub(crate) fn insert(&self, key: SecretHash, value: V, ttl: Duration) {
        if ttl.is_zero() || !self.enabled() {
            return;
        }
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.retain(|_, (_, until)| *until > now);
            if map.len() >= self.capacity {
                // Still full of live entries: drop any one. Recency is not
                // worth tracking for entries this short-lived.
                if let Some(victim) = map.keys().next().copied() {
                    map.remove(&victim);
                }
            }
        }
        map.insert(key, (value, now + ttl));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let cache = Cache::new(3);
        for i in 0..10 {
            cache.insert(
                SecretHash::of(format!("k{i}").as_bytes()),
                i,
                Duration::from_secs(60),
            );
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&SecretHash::of(b"k9")), Some(9));
        cache.insert(SecretHash::of(b"short"), 1, Duration::from_nanos(1));
        std::thread::sleep(Duration::from_millis(1));
        assert_eq!(cache.get(&SecretHash::of(b"short")), None);
        let off = Cache::new(0);
        off.insert(SecretHash::of(b"x"), 1, Duration::from_secs(1));
        assert_eq!(off.get(&SecretHash::of(b"x")), None);
    }
}
