//! Coalesces concurrent point lookups into one store query.
//!
//! Introspection must see a revocation at once, on every instance, so the
//! revocation and API-key lookups cannot be cached. Under load, though,
//! dozens of them are waiting at the same moment, and the fixed cost of a
//! query (a pool checkout, a round trip, the database's per-statement work)
//! dominates a lookup by primary key. A worker task takes whatever lookups
//! are queued, asks the store about all of them in one statement, and
//! answers each; while that query runs, the next batch queues up. An idle
//! server sends a batch of one, so nothing waits for a timer, and every
//! answer still comes from a query issued after the request arrived.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::store::StoreError;

/// Queries in flight at once: one runs while the next batch fills, and a
/// second lets a slow query not hold every caller behind it.
const IN_FLIGHT: usize = 2;
/// A bound on the statement size (parameters, array length).
const MAX_BATCH: usize = 256;
/// Callers queued beyond this wait for room, so memory stays bounded.
const QUEUE: usize = 4096;

type Reply<V> = oneshot::Sender<Result<Option<V>, StoreError>>;
type LoadFuture<K, V> = Pin<Box<dyn Future<Output = Result<HashMap<K, V>, StoreError>> + Send>>;
/// Looks up many keys at once; keys that are absent are simply missing
/// from the map.
pub type Loader<K, V> = Arc<dyn Fn(Vec<K>) -> LoadFuture<K, V> + Send + Sync>;

pub struct Batcher<K, V> {
    queue: mpsc::Sender<(K, Reply<V>)>,
    load: Loader<K, V>,
}

impl<K, V> Batcher<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Starts the worker on the current Tokio runtime.
    pub fn spawn(load: Loader<K, V>) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, load.clone()));
        Self { queue, load }
    }

    pub async fn get(&self, key: K) -> Result<Option<V>, StoreError> {
        let (reply, answer) = oneshot::channel();
        if self.queue.send((key.clone(), reply)).await.is_ok()
            && let Ok(result) = answer.await
        {
            return result;
        }
        // The worker is gone (its runtime shut down): ask directly.
        self.load_one(key).await
    }

    async fn load_one(&self, key: K) -> Result<Option<V>, StoreError> {
        let mut found = (self.load)(vec![key.clone()]).await?;
        Ok(found.remove(&key))
    }
}

async fn run<K, V>(mut rx: mpsc::Receiver<(K, Reply<V>)>, load: Loader<K, V>)
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let load = load.clone();
        tokio::spawn(async move {
            let keys: HashSet<K> = batch.iter().map(|(k, _)| k.clone()).collect();
            let keys = keys.into_iter().collect();
            let result = load(keys).await;
            drop(slot);
            for (key, reply) in batch {
                let answer = match &result {
                    Ok(found) => Ok(found.get(&key).cloned()),
                    Err(e) => Err(e.clone()),
                };
                // The caller may have gone away (its request was dropped).
                let _ = reply.send(answer);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting_loader(
        calls: Arc<AtomicUsize>,
        sizes: Arc<std::sync::Mutex<Vec<usize>>>,
    ) -> Loader<u32, u32> {
        Arc::new(move |keys: Vec<u32>| {
            let calls = calls.clone();
            let sizes = sizes.clone();
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                sizes.lock().unwrap().push(keys.len());
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                // Even keys exist and map to themselves times ten.
                Ok(keys
                    .into_iter()
                    .filter(|k| k % 2 == 0)
                    .map(|k| (k, k * 10))
                    .collect())
            })
        })
    }

    #[tokio::test]
    async fn concurrent_lookups_share_queries_and_get_their_own_answer() {
        let calls = Arc::new(AtomicUsize::new(0));
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let batcher = Arc::new(Batcher::spawn(counting_loader(
            calls.clone(),
            sizes.clone(),
        )));
        let tasks: Vec<_> = (0..200u32)
            .map(|k| {
                let b = batcher.clone();
                tokio::spawn(async move { (k, b.get(k).await.unwrap()) })
            })
            .collect();
        for t in tasks {
            let (k, v) = t.await.unwrap();
            assert_eq!(v, (k % 2 == 0).then_some(k * 10), "key {k}");
        }
        let queries = calls.load(Ordering::SeqCst);
        assert!(queries < 200, "{queries} queries for 200 lookups");
        assert!(sizes.lock().unwrap().iter().all(|&n| n <= MAX_BATCH));
    }

    #[tokio::test]
    async fn an_idle_lookup_is_answered_alone_and_errors_reach_every_caller() {
        let calls = Arc::new(AtomicUsize::new(0));
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let batcher = Batcher::spawn(counting_loader(calls.clone(), sizes.clone()));
        assert_eq!(batcher.get(4).await.unwrap(), Some(40));
        assert_eq!(batcher.get(3).await.unwrap(), None);
        assert_eq!(*sizes.lock().unwrap(), vec![1, 1]);

        let failing: Loader<u32, u32> =
            Arc::new(|_keys| Box::pin(async { Err(StoreError::Unavailable("down".into())) }));
        let batcher = Batcher::spawn(failing);
        assert!(matches!(
            batcher.get(1).await,
            Err(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn without_a_worker_the_lookup_goes_straight_to_the_store() {
        let calls = Arc::new(AtomicUsize::new(0));
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let batcher =
            rt.block_on(async { Batcher::spawn(counting_loader(calls.clone(), sizes.clone())) });
        drop(rt); // the worker dies with its runtime
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(batcher.get(2)).unwrap(), Some(20));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
