//! A short-lived, in-process memory of sessions found active, so that
//! [`AuthService::authenticate`](crate::AuthService::authenticate) need not
//! ask the session store on every request.

use std::{
    collections::HashMap,
    sync::{PoisonError, RwLock},
};

use time::{Duration, OffsetDateTime};

use crate::{SessionId, UserId};

/// How many sessions the cache remembers before it forgets the stale ones
/// (and, if none are stale, all of them). About 100 bytes each.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
struct Entry {
    user_id: UserId,
    valid_until: OffsetDateTime,
}

#[derive(Debug)]
pub(crate) struct SessionCache {
    ttl: Duration,
    entries: RwLock<HashMap<SessionId, Entry>>,
}

impl SessionCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// Whether `session_id` was found active less than the TTL before `now`.
    pub(crate) fn is_fresh(&self, session_id: &SessionId, now: OffsetDateTime) -> bool {
        // A panic while the lock was held leaves a map that is still
        // consistent (every operation is a single map call), so poisoning
        // is ignored rather than turned into a panic here.
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(session_id)
            .is_some_and(|entry| now < entry.valid_until)
    }

    pub(crate) fn remember(&self, session_id: &SessionId, user_id: &UserId, now: OffsetDateTime) {
        let Some(valid_until) = now.checked_add(self.ttl) else {
            return;
        };
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| now < entry.valid_until);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            session_id.clone(),
            Entry {
                user_id: user_id.clone(),
                valid_until,
            },
        );
    }

    pub(crate) fn forget(&self, session_id: &SessionId) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.remove(session_id);
    }

    pub(crate) fn forget_user(&self, user_id: &UserId) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, entry| &entry.user_id != user_id);
    }
}
