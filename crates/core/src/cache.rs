//! A small time-bounded cache for read-mostly records (clients, scope
//! definitions). Staleness is bounded by the TTL: a change made on another
//! instance is seen here at most `ttl` later (plus one store round trip,
//! see [`TtlCache::get_or_load`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    map: RwLock<HashMap<K, (Instant, V)>>,
    /// Keys whose expired entry one caller is reloading.
    reloading: Mutex<HashSet<K>>,
}

/// Clears a key's reload mark however the reload ends, even if the caller's
/// future is dropped halfway.
struct Reloading<'a, K: Eq + Hash> {
    set: &'a Mutex<HashSet<K>>,
    key: &'a K,
}

impl<K: Eq + Hash> Drop for Reloading<'_, K> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(self.key);
    }
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            map: RwLock::new(HashMap::new()),
            reloading: Mutex::new(HashSet::new()),
        }
    }

    /// The cached value, or `load`'s. When a busy entry expires, one caller
    /// reloads it and the others keep the expired value meanwhile, rather
    /// than every request in flight querying the store at the same instant
    /// (and queueing for pool connections). An expired value is only served
    /// while its reload is under way and for at most one more TTL.
    pub async fn get_or_load<E, F, Fut>(&self, key: &K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if self.ttl.is_zero() {
            return load().await;
        }
        let stale = {
            let map = self.map.read().unwrap_or_else(|p| p.into_inner());
            match map.get(key) {
                Some((at, v)) if at.elapsed() < self.ttl => return Ok(v.clone()),
                Some((at, v)) if at.elapsed() < 2 * self.ttl => Some(v.clone()),
                _ => None,
            }
        };
        let _mark = match stale {
            Some(v) => {
                let first = self
                    .reloading
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key.clone());
                if !first {
                    return Ok(v);
                }
                Some(Reloading {
                    set: &self.reloading,
                    key,
                })
            }
            None => None,
        };
        let value = load().await?;
        self.insert(key.clone(), value.clone());
        Ok(value)
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

    #[tokio::test]
    async fn one_caller_reloads_an_expired_entry_while_the_others_get_the_old_value() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let c = Arc::new(TtlCache::new(Duration::from_millis(100), 10));
        let loads = Arc::new(AtomicUsize::new(0));
        let load = |v: &'static str| {
            let loads = loads.clone();
            move || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, ()>(v)
            }
        };
        assert_eq!(c.get_or_load(&1, load("old")).await, Ok("old"));
        assert_eq!(c.get_or_load(&1, load("unused")).await, Ok("old"));
        assert_eq!(loads.load(Ordering::SeqCst), 1);

        tokio::time::sleep(Duration::from_millis(120)).await;
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let c = c.clone();
                let load = load("new");
                tokio::spawn(async move { c.get_or_load(&1, load).await })
            })
            .collect();
        let mut seen = Vec::new();
        for t in callers {
            seen.push(t.await.unwrap().unwrap());
        }
        assert_eq!(loads.load(Ordering::SeqCst), 2, "one reload for 20 callers");
        assert_eq!(seen.iter().filter(|v| **v == "new").count(), 1);
        assert_eq!(c.get_or_load(&1, load("unused")).await, Ok("new"));

        // Expired for more than one more TTL: no stale value, everyone loads.
        tokio::time::sleep(Duration::from_millis(210)).await;
        assert_eq!(c.get_or_load(&1, load("newer")).await, Ok("newer"));
        assert_eq!(loads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_reload_lets_the_next_caller_try() {
        let c = TtlCache::new(Duration::from_millis(50), 10);
        assert_eq!(c.get_or_load(&1, || async { Ok::<_, ()>(1) }).await, Ok(1));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            c.get_or_load(&1, || async { Err::<i32, _>(()) }).await,
            Err(())
        );
        // Dropped halfway through its reload.
        let abandoned = c.get_or_load(&1, std::future::pending::<Result<i32, ()>>);
        assert!(
            tokio::time::timeout(Duration::from_millis(5), abandoned)
                .await
                .is_err()
        );
        assert_eq!(c.get_or_load(&1, || async { Ok::<_, ()>(2) }).await, Ok(2));
    }

    #[test]
    fn zero_ttl_disables_caching() {
        let c = TtlCache::new(Duration::ZERO, 10);
        c.insert(1, 1);
        assert_eq!(c.get(&1), None);
    }
}
