//! A small time-bounded cache for read-mostly records (clients, scope
//! definitions). Staleness is bounded by the TTL: a change made on another
//! instance is seen here at most `ttl` later.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    map: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            map: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.capacity {
            // Unknown ids are cached too, so a flood of random ids must not
            // grow memory without bound: drop the stale entries, or all.
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(key, (Instant::now(), value));
    }

    pub fn invalidate(&self, key: &K) {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    pub fn clear(&self) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let c = TtlCache::new(Duration::from_millis(30), 2);
        c.insert(1, "a");
        assert_eq!(c.get(&1), Some("a"));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&1), None);
        c.insert(2, "b");
        c.insert(3, "c");
        c.insert(4, "d");
        assert!(c.map.read().unwrap().len() <= 2);
        assert_eq!(c.get(&4), Some("d"));
        c.invalidate(&4);
        assert_eq!(c.get(&4), None);
    }

    #[test]
    fn zero_ttl_disables_caching() {
        let c = TtlCache::new(Duration::ZERO, 10);
        c.insert(1, 1);
        assert_eq!(c.get(&1), None);
    }
}
