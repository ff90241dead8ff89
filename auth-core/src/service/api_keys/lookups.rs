//! The store lookups of API keys, shared by concurrent requests with one
//! key: a request that arrives while a lookup of its key is in flight
//! waits for the next one, which answers every request that waited for it.
//!
//! A script that sends many requests at once with one key then costs one
//! store lookup per round trip instead of one per request (the session
//! check of `auth-sqlx`'s PostgreSQL store is batched alike). This is no
//! cache: every answer comes from a lookup that started after its request
//! arrived, so a deletion that committed before a request is seen by it;
//! and a lone request waits for nobody.

use std::{
    collections::HashMap,
    future::Future,
    mem,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use tokio::sync::oneshot;

use super::API_KEY;
use crate::{AuthError, CredentialStore, store::Credential};

type Answer = Result<Option<Credential>, AuthError>;

/// The requests waiting for the next lookup of each key (by its id part);
/// a key is in the map while a worker looks it up.
#[derive(Default)]
pub(super) struct Lookups {
    waiting: Mutex<HashMap<String, Vec<oneshot::Sender<Answer>>>>,
}

impl Lookups {
    /// The key row with this id part, from a lookup that starts after this
    /// call.
    pub(super) async fn find(
        self: &Arc<Self>,
        store: &Arc<dyn CredentialStore>,
        id_part: &str,
    ) -> Answer {
        // Outside a tokio runtime no worker can be spawned: look up alone.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return store.find(&API_KEY, id_part).await;
        };
        let (answer, answered) = oneshot::channel();
        let start_worker = {
            let mut waiting = self.lock();
            match waiting.get_mut(id_part) {
                Some(queue) => {
                    queue.push(answer);
                    false
                }
                None => {
                    waiting.insert(id_part.to_owned(), vec![answer]);
                    true
                }
            }
        };
        if start_worker {
            // Spawned, so that this request being cancelled cannot strand
            // the others waiting with it.
            runtime.spawn(Arc::clone(self).work(Arc::clone(store), id_part.to_owned()));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(AuthError::internal("an API key's lookup was abandoned")))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<oneshot::Sender<Answer>>>> {
        // The map is consistent between statements: a panic elsewhere
        // cannot leave it half-changed.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Looks the key up for those waiting, again while more wait, then
    /// leaves the map. The guard is made before the task first runs: a
    /// task dropped unrun (its runtime shutting down) still leaves it.
    fn work(
        self: Arc<Self>,
        store: Arc<dyn CredentialStore>,
        id_part: String,
    ) -> impl Future<Output = ()> + Send + 'static {
        let mut stopped = Stopped {
            lookups: self,
            id_part,
            early: true,
        };
        async move {
            let lookups = Arc::clone(&stopped.lookups);
            let id_part = stopped.id_part.clone();
            loop {
                let round = {
                    let mut waiting = lookups.lock();
                    let queue = waiting.get_mut(&id_part).map(mem::take).unwrap_or_default();
                    let queue: Vec<_> = queue
                        .into_iter()
                        .filter(|answer| !answer.is_closed())
                        .collect();
                    if queue.is_empty() {
                        waiting.remove(&id_part);
                        stopped.finished();
                        return;
                    }
                    queue
                };
                match store.find(&API_KEY, &id_part).await {
                    Ok(row) => {
                        for answer in round {
                            let _ = answer.send(Ok(row.clone()));
                        }
                    }
                    Err(error) => answer_all_with(round, &error),
                }
            }
        }
    }
}

/// Takes the key out of the map when its worker ends early (a panic, or
/// dropped by its runtime): those waiting then fail rather than hang.
struct Stopped {
    lookups: Arc<Lookups>,
    id_part: String,
    early: bool,
}

impl Stopped {
    /// The worker ends normally: nothing to undo.
    fn finished(&mut self) {
        self.early = false;
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.early {
            self.lookups.lock().remove(&self.id_part);
        }
    }
}

/// The lookup's error for each request of the round (an error has one
/// owner: each gets the same kind, with its text).
fn answer_all_with(round: Vec<oneshot::Sender<Answer>>, error: &AuthError) {
    for answer in round {
        let copy = match error {
            AuthError::Unavailable(source) => AuthError::unavailable(source.to_string()),
            other => AuthError::internal(other.to_string()),
        };
        let _ = answer.send(Err(copy));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::{
        any::Any,
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use async_trait::async_trait;
    use time::OffsetDateTime;

    use super::*;
    use crate::{
        CredentialId, MemoryStore, NewCredential,
        hooked::{Hook, Hooked},
    };

    /// Counts `find`, and has it take 20 ms to answer after it read: the
    /// answer is as old as the lookup's start.
    #[derive(Default)]
    struct Slow {
        finds: AtomicUsize,
    }

    #[async_trait]
    impl Hook for Slow {
        async fn before(&self, method: &'static str) -> Result<(), AuthError> {
            if method == "find" {
                self.finds.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }

        async fn after(&self, method: &'static str, _: &(dyn Any + Send + Sync)) {
            if method == "find" {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    type SlowStore = Hooked<MemoryStore, Slow>;

    async fn store_with_key() -> (Arc<SlowStore>, Arc<dyn CredentialStore>) {
        let inner = MemoryStore::new();
        inner
            .insert(NewCredential {
                id: CredentialId::new("k"),
                kind: API_KEY,
                lookup: "idpart".into(),
                user_id: None,
                data: b"{}".to_vec(),
                created_at: OffsetDateTime::UNIX_EPOCH,
                expires_at: None,
            })
            .await
            .unwrap();
        let slow = Arc::new(Hooked::new(Arc::new(inner), Slow::default()));
        let store: Arc<dyn CredentialStore> = slow.clone();
        (slow, store)
    }

    /// Many requests at once with one key share lookups; a lone one gets
    /// one of its own; another key is looked up on its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_with_one_key_share_lookups() {
        let (slow, store) = store_with_key().await;
        let lookups = Arc::new(Lookups::default());
        let requests: Vec<_> = (0..50)
            .map(|_| {
                let (lookups, store) = (Arc::clone(&lookups), Arc::clone(&store));
                tokio::spawn(async move { lookups.find(&store, "idpart").await })
            })
            .collect();
        for request in requests {
            let row = request.await.unwrap().unwrap().unwrap();
            assert_eq!(row.id.as_str(), "k");
        }
        let shared = slow.hook().finds.load(Ordering::SeqCst);
        assert!(shared <= 3, "{shared} lookups for 50 requests");
        assert!(lookups.find(&store, "other").await.unwrap().is_none());
        assert_eq!(slow.hook().finds.load(Ordering::SeqCst), shared + 1);
        // The last worker leaves the map right after its last answer.
        for _ in 0..100 {
            if lookups.lock().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("a worker is left");
    }

    /// A request that arrives while a lookup is in flight waits for the
    /// next one: it sees a deletion that committed before it arrived.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_never_takes_an_older_lookups_answer() {
        let (slow, store) = store_with_key().await;
        let lookups = Arc::new(Lookups::default());
        let first = {
            let (lookups, store) = (Arc::clone(&lookups), Arc::clone(&store));
            tokio::spawn(async move { lookups.find(&store, "idpart").await })
        };
        // The first lookup is in flight (it sleeps 20 ms); the key goes.
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(slow.hook().finds.load(Ordering::SeqCst), 1);
        slow.inner()
            .consume(&CredentialId::new("k"), 1)
            .await
            .unwrap()
            .then_some(())
            .unwrap();
        let second = lookups.find(&store, "idpart").await.unwrap();
        assert!(second.is_none(), "the second request saw the deletion");
        let first = first.await.unwrap().unwrap();
        assert!(first.is_some(), "the first lookup read before the deletion");
        assert_eq!(slow.hook().finds.load(Ordering::SeqCst), 2);
    }
}
