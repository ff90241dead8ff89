//! PostgreSQL's per-request session check, batched: checks that arrive
//! while one query is in flight wait and go together in the next.
//!
//! With the session cache off (several instances), every authenticated
//! request asks whether its session is active. On its own that is a
//! query and sqlx's ping on release: two round trips, as many as the
//! request's own data query, and on a loaded server most of the cost of
//! authentication (BENCHMARKS.md). Batched, the round trips are shared:
//! one worker task per store runs while checks wait and stops when none
//! do, so a lone request waits for nobody, and under load a query answers
//! as many checks as arrived during the previous one. Each check is still
//! decided for its own `now`.

use std::{
    collections::HashMap,
    future::Future,
    mem,
    sync::{Arc, Mutex, PoisonError},
};

use auth_core::{AuthError, UserId};
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::error::map_sqlx_error;

/// At most this many checks per query.
const MAX_BATCH: usize = 64;

/// The active sessions among `$1` with their owners and expiry; the
/// expiry is compared per check, each against its own `now`.
const ACTIVE_SESSIONS: &str =
    "SELECT id, user_id, expires_at FROM auth_sessions WHERE id = ANY($1) AND revoked_at IS NULL";

type Answer = Result<Option<UserId>, AuthError>;

/// The checks waiting for the next query, and whether a worker runs.
#[derive(Default)]
pub(crate) struct SessionChecks {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    working: bool,
    waiting: Vec<Waiting>,
}

struct Waiting {
    id: String,
    now: OffsetDateTime,
    answer: oneshot::Sender<Answer>,
}

impl SessionChecks {
    /// The owner of session `id` if it is active at `now`.
    pub(crate) async fn owner(
        self: &Arc<Self>,
        pool: &PgPool,
        id: &str,
        now: OffsetDateTime,
    ) -> Answer {
        // Outside a tokio runtime no worker can be spawned: ask alone.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return query(pool, &[id])
                .await
                .map(|rows| owner_at(&rows, id, now));
        };
        let (answer, answered) = oneshot::channel();
        let start_worker = {
            let mut queue = self.lock();
            queue.waiting.push(Waiting {
                id: id.to_owned(),
                now,
                answer,
            });
            !mem::replace(&mut queue.working, true)
        };
        if start_worker {
            // Spawned, so that this request being cancelled cannot strand
            // the others of its batch.
            runtime.spawn(Arc::clone(self).work(pool.clone()));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(AuthError::internal("the session check was abandoned")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The queue is consistent between statements: a panic elsewhere
        // cannot leave it half-changed.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers batches, oldest checks first, until none is waiting. The
    /// guard is made before the task first runs: a task dropped unrun (its
    /// runtime shutting down) still marks the worker stopped.
    fn work(self: Arc<Self>, pool: PgPool) -> impl Future<Output = ()> + Send + 'static {
        let mut stopped = Stopped {
            checks: self,
            early: true,
        };
        async move {
            let checks = Arc::clone(&stopped.checks);
            loop {
                let batch: Vec<Waiting> = {
                    let mut queue = checks.lock();
                    // Checks whose request is gone need no answer.
                    queue.waiting.retain(|waiting| !waiting.answer.is_closed());
                    if queue.waiting.is_empty() {
                        queue.working = false;
                        stopped.finished();
                        return;
                    }
                    let take = queue.waiting.len().min(MAX_BATCH);
                    queue.waiting.drain(..take).collect()
                };
                let ids: Vec<&str> = batch.iter().map(|waiting| waiting.id.as_str()).collect();
                match query(&pool, &ids).await {
                    Ok(rows) => {
                        for waiting in batch {
                            let owner = owner_at(&rows, &waiting.id, waiting.now);
                            let _ = waiting.answer.send(Ok(owner));
                        }
                    }
                    Err(error) => answer_all_with(batch, error),
                }
            }
        }
    }
}

/// Marks the worker stopped when its task ends early (a panic, or dropped
/// by its runtime); the checks waiting then fail rather than hang.
struct Stopped {
    checks: Arc<SessionChecks>,
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
            let mut queue = self.checks.lock();
            queue.working = false;
            queue.waiting.clear();
        }
    }
}

type Rows = HashMap<String, (String, OffsetDateTime)>;

async fn query(pool: &PgPool, ids: &[&str]) -> Result<Rows, AuthError> {
    let rows: Vec<(String, String, OffsetDateTime)> = sqlx::query_as(ACTIVE_SESSIONS)
        .bind(ids)
        .fetch_all(pool)
        .await
        .map_err(map_sqlx_error)?;
    Ok(rows
        .into_iter()
        .map(|(id, user, expires_at)| (id, (user, expires_at)))
        .collect())
}

fn owner_at(rows: &Rows, id: &str, now: OffsetDateTime) -> Option<UserId> {
    let (user, expires_at) = rows.get(id)?;
    (*expires_at > now).then(|| UserId::new(user.clone()))
}

/// The batch's error for each of its checks: the first gets it whole, the
/// others the same kind with its text (an error has one owner).
fn answer_all_with(batch: Vec<Waiting>, error: AuthError) {
    let copy = |error: &AuthError| match error {
        AuthError::Unavailable(source) => AuthError::unavailable(source.to_string()),
        AuthError::InvalidConfig(problem) => AuthError::InvalidConfig(problem.clone()),
        other => AuthError::internal(other.to_string()),
    };
    let mut batch = batch.into_iter();
    let Some(first) = batch.next() else { return };
    for waiting in batch {
        let _ = waiting.answer.send(Err(copy(&error)));
    }
    let _ = first.answer.send(Err(error));
}
