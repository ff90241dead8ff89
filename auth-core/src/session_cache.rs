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
    entries: RwLock<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    sessions: HashMap<SessionId, Entry>,
    /// Bumped by every revocation. A lookup that started before a
    /// revocation may have seen the session still active; `remember`
    /// refuses its result, so a sign-out racing a request can never put
    /// the revoked session back.
    generation: u64,
}

/// A point in the cache's history, taken before asking the store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generation(u64);

impl SessionCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(Entries::default()),
        }
    }

    /// Whether `session_id` was found active, as a session of `user_id`,
    /// less than the TTL before `now`.
    pub(crate) fn is_fresh(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> bool {
        // A panic while the lock was held leaves a map that is still
        // consistent (every operation is a single map call), so poisoning
        // is ignored rather than turned into a panic here.
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .sessions
            .get(session_id)
            .is_some_and(|entry| now < entry.valid_until && entry.user_id == *user_id)
    }

    /// Call before asking the store; pass the result to `remember`.
    pub(crate) fn generation(&self) -> Generation {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        Generation(entries.generation)
    }

    /// Records that the store found the session active, unless a
    /// revocation happened since `seen` (the answer may be stale). Trusted
    /// until `now + ttl`, but never past `not_after` (the token's `exp`,
    /// which never outlives the session): a session reaching its end is
    /// asked about again, not vouched for by the cache.
    pub(crate) fn remember(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        now: OffsetDateTime,
        not_after: OffsetDateTime,
        seen: Generation,
    ) {
        let Some(valid_until) = now.checked_add(self.ttl).map(|until| until.min(not_after)) else {
            return;
        };
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.generation != seen.0 {
            return;
        }
        let sessions = &mut entries.sessions;
        if sessions.len() >= MAX_ENTRIES {
            sessions.retain(|_, entry| now < entry.valid_until);
            if sessions.len() >= MAX_ENTRIES {
                // Forgetting only costs store lookups; nothing is let in.
                sessions.clear();
            }
        }
        sessions.insert(
            session_id.clone(),
            Entry {
                user_id: user_id.clone(),
                valid_until,
            },
        );
    }

    pub(crate) fn forget(&self, session_id: &SessionId) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.generation = entries.generation.wrapping_add(1);
        entries.sessions.remove(session_id);
    }

    pub(crate) fn forget_user(&self, user_id: &UserId) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.generation = entries.generation.wrapping_add(1);
        entries
            .sessions
            .retain(|_, entry| &entry.user_id != user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_that_raced_a_revocation_is_not_remembered() {
        let cache = SessionCache::new(Duration::seconds(5));
        let now = OffsetDateTime::UNIX_EPOCH;
        let (session, user) = (SessionId::new("s"), UserId::new("u"));
        // A request asks the store, which answers "active"; meanwhile the
        // session is signed out.
        let before_lookup = cache.generation();
        cache.forget(&session);
        let far = now + Duration::hours(1);
        cache.remember(&session, &user, now, far, before_lookup);
        assert!(!cache.is_fresh(&session, &user, now));
        // A lookup that started after the revocation is remembered.
        cache.remember(&session, &user, now, far, cache.generation());
        assert!(cache.is_fresh(&session, &user, now));
        assert!(!cache.is_fresh(&session, &user, now + Duration::seconds(5)));
    }

    #[test]
    fn an_entry_never_outlives_the_token() {
        let cache = SessionCache::new(Duration::seconds(5));
        let now = OffsetDateTime::UNIX_EPOCH;
        let (session, user) = (SessionId::new("s"), UserId::new("u"));
        let exp = now + Duration::seconds(2);
        cache.remember(&session, &user, now, exp, cache.generation());
        assert!(cache.is_fresh(&session, &user, now + Duration::seconds(1)));
        assert!(!cache.is_fresh(&session, &user, exp));
    }

    #[test]
    fn an_entry_vouches_only_for_its_user() {
        let cache = SessionCache::new(Duration::seconds(5));
        let now = OffsetDateTime::UNIX_EPOCH;
        let session = SessionId::new("s");
        let far = now + Duration::hours(1);
        cache.remember(&session, &UserId::new("u"), now, far, cache.generation());
        assert!(cache.is_fresh(&session, &UserId::new("u"), now));
        assert!(!cache.is_fresh(&session, &UserId::new("v"), now));
    }
}
