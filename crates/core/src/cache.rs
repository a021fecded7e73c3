//! A small time-bounded cache for read-mostly records (clients, scope
//! definitions). A change made on another instance is seen here `ttl` later
//! plus one store round trip; while the store does not answer, at most
//! `ttl + grace` later (see [`TtlCache::get_or_load`]). A change made here
//! calls `invalidate`/`clear` and is seen at once: a load that read the
//! store before it is discarded.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

type Waiters<K, V> = Mutex<HashMap<K, watch::Receiver<Option<V>>>>;

pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    map: RwLock<HashMap<K, (Instant, V)>>,
    /// How long past its TTL an entry may still be served while reloading.
    grace: Duration,
    /// Bumped by every invalidation: a load begun before it must not
    /// store what it read.
    generation: AtomicU64,
    /// Keys whose expired entry is being reloaded.
    reloading: Mutex<HashSet<K>>,
    /// Missing keys being loaded, with the channel their value arrives on.
    inflight: Waiters<K, V>,
}

/// The one load of a missing key; waiters are released when it is dropped,
/// however it ends.
struct InFlight<'a, K: Eq + Hash, V> {
    map: &'a Waiters<K, V>,
    key: &'a K,
    tx: watch::Sender<Option<V>>,
}

impl<K: Eq + Hash, V> Drop for InFlight<'_, K, V> {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // Only this load's entry: an invalidation may have replaced it.
        if map
            .get(self.key)
            .is_some_and(|rx| rx.same_channel(&self.tx.subscribe()))
        {
            map.remove(self.key);
        }
        // Dropping `tx` then wakes the waiters: they see the value sent, or
        // a closed channel and load for themselves.
    }
}

/// Clears a key's reload mark however the reload ends.
struct Reloading<K: Eq + Hash + Clone, V: Clone> {
    cache: Arc<TtlCache<K, V>>,
    key: K,
}

impl<K: Eq + Hash + Clone, V: Clone> Drop for Reloading<K, V> {
    fn drop(&mut self) {
        self.cache
            .reloading
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            map: RwLock::new(HashMap::new()),
            grace: ttl,
            generation: AtomicU64::new(0),
            reloading: Mutex::new(HashSet::new()),
            inflight: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_stale_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The cached value, or `load`'s. An expired entry is reloaded in the
    /// background by one task while every caller keeps getting the old
    /// value: when a busy entry expires, one query goes to the store rather
    /// than one per request in flight, and no request waits on the store
    /// for a record it already had. The old value is served for at most
    /// `grace` past its TTL (a reload that takes longer is abandoned); after
    /// that callers load it themselves.
    pub async fn get_or_load<E, F, Fut>(self: &Arc<Self>, key: &K, load: F) -> Result<V, E>
    where
        K: Send + Sync + 'static,
        V: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        if self.ttl.is_zero() {
            return load().await;
        }
        let stale = {
            let map = self.map.read().unwrap_or_else(|p| p.into_inner());
            match map.get(key) {
                Some((at, v)) if at.elapsed() < self.ttl => return Ok(v.clone()),
                Some((at, v)) if at.elapsed() < self.ttl + self.grace => Some(v.clone()),
                _ => None,
            }
        };
        if let Some(old) = stale {
            let first = self
                .reloading
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key.clone());
            if first {
                let mark = Reloading {
                    cache: self.clone(),
                    key: key.clone(),
                };
                let generation = self.generation.load(Ordering::Acquire);
                let reload = tokio::time::timeout(self.grace, load());
                tokio::spawn(async move {
                    // A failure keeps the old value until its grace ends;
                    // the next caller tries again.
                    if let Ok(Ok(value)) = reload.await {
                        mark.cache
                            .insert_if_current(generation, mark.key.clone(), value);
                    }
                    drop(mark);
                });
            }
            return Ok(old);
        }
        self.load_once(key, load).await
    }

    /// Loads a missing entry; callers that miss the same key meanwhile wait
    /// for this load instead of querying too (a cold start under load would
    /// otherwise send every request in flight to the store at once). If it
    /// fails or is abandoned, each waiter tries for itself.
    async fn load_once<E, F, Fut>(&self, key: &K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let generation = self.generation.load(Ordering::Acquire);
        let waiting = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            match inflight.get(key) {
                Some(rx) => Ok(rx.clone()),
                None => {
                    let (tx, rx) = watch::channel(None);
                    inflight.insert(key.clone(), rx);
                    Err(tx)
                }
            }
        };
        let waiting = match waiting {
            Ok(rx) => Some(rx),
            Err(tx) => {
                let leader = InFlight {
                    map: &self.inflight,
                    key,
                    tx,
                };
                let result = load().await;
                if let Ok(value) = &result
                    && self.insert_if_current(generation, key.clone(), value.clone())
                {
                    leader.tx.send_replace(Some(value.clone()));
                }
                return result;
            }
        };
        if let Some(mut rx) = waiting
            && let Ok(done) = rx.wait_for(Option::is_some).await
            && let Some(value) = done.clone()
        {
            return Ok(value);
        }
        let value = load().await?;
        self.insert_if_current(generation, key.clone(), value.clone());
        Ok(value)
    }

    /// Stores a loaded value unless an invalidation happened since its load
    /// began (it may have read the store before the change).
    fn insert_if_current(&self, generation: u64, key: K, value: V) -> bool {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return false;
        }
        Self::insert_into(&mut map, self.ttl, self.capacity, key, value);
        true
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
        Self::insert_into(&mut map, self.ttl, self.capacity, key, value);
    }

    fn insert_into(
        map: &mut HashMap<K, (Instant, V)>,
        ttl: Duration,
        capacity: usize,
        key: K,
        value: V,
    ) {
        if map.len() >= capacity {
            // Unknown ids are cached too, so a flood of random ids must not
            // grow memory without bound: drop the stale entries, or all.
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= capacity {
                map.clear();
            }
        }
        map.insert(key, (Instant::now(), value));
    }

    pub fn invalidate(&self, key: &K) {
        // Under the map's lock, so no load can check the generation and
        // then store between the bump and the removal.
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(key);
        drop(map);
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    pub fn clear(&self) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
        drop(map);
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
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
    async fn an_expired_entry_is_reloaded_once_in_the_background() {
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

        // Expired: twenty callers get the old value at once, one reload runs.
        tokio::time::sleep(Duration::from_millis(120)).await;
        for _ in 0..20 {
            assert_eq!(c.get_or_load(&1, load("new")).await, Ok("old"));
        }
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(loads.load(Ordering::SeqCst), 2, "one reload for 20 callers");
        assert_eq!(c.get_or_load(&1, load("unused")).await, Ok("new"));

        // Expired for longer than the grace: the caller loads it itself.
        tokio::time::sleep(Duration::from_millis(210)).await;
        assert_eq!(c.get_or_load(&1, load("newer")).await, Ok("newer"));
        assert_eq!(loads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failed_reload_keeps_the_old_value_until_its_grace_ends() {
        let c = Arc::new(
            TtlCache::new(Duration::from_millis(50), 10)
                .with_stale_grace(Duration::from_millis(200)),
        );
        assert_eq!(c.get_or_load(&1, || async { Ok::<_, ()>(1) }).await, Ok(1));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            c.get_or_load(&1, || async { Err::<i32, _>(()) }).await,
            Ok(1)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        // The failed reload cleared its mark: this caller starts another.
        assert_eq!(c.get_or_load(&1, || async { Ok::<_, ()>(2) }).await, Ok(1));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(c.get_or_load(&1, || async { Ok::<_, ()>(3) }).await, Ok(2));

        // Past the grace with the store failing: the error, not the old value.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            c.get_or_load(&1, || async { Err::<i32, _>(()) }).await,
            Err(())
        );
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_load() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        let c = Arc::new(TtlCache::new(Duration::from_secs(10), 10));
        let loads = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let (c, loads) = (c.clone(), loads.clone());
                tokio::spawn(async move {
                    c.get_or_load(&1, move || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, ()>("v")
                    })
                    .await
                })
            })
            .collect();
        for t in callers {
            assert_eq!(t.await.unwrap(), Ok("v"));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);

        // A failed load: the waiters try for themselves.
        let callers: Vec<_> = (0..5)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move {
                    c.get_or_load(&2, move || async move {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        if i == 0 { Err(()) } else { Ok("w") }
                    })
                    .await
                })
            })
            .collect();
        let results: Vec<_> = futures_join(callers).await;
        assert!(
            results.iter().filter(|r| r.is_ok()).count() >= 4,
            "{results:?}"
        );
    }

    async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_load_begun_before_an_invalidation_does_not_store_its_value() {
        let c = Arc::new(TtlCache::new(Duration::from_secs(10), 10));
        let c2 = c.clone();
        let slow = tokio::spawn(async move {
            c2.get_or_load(&1, || async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, ()>("read before the change")
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        c.invalidate(&1);
        // A caller after the invalidation starts its own load rather than
        // joining the one that may have read the old record.
        let after = c.get_or_load(&1, || async { Ok::<_, ()>("after") }).await;
        assert_eq!(after, Ok("after"));
        assert_eq!(slow.await.unwrap(), Ok("read before the change"));
        let now = c.get_or_load(&1, || async { Ok::<_, ()>("unused") }).await;
        assert_eq!(now, Ok("after"));
    }

    #[test]
    fn zero_ttl_disables_caching() {
        let c = TtlCache::new(Duration::ZERO, 10);
        c.insert(1, 1);
        assert_eq!(c.get(&1), None);
    }
}
