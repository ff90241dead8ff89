//! What a process remembers of API keys: the keys found good (for the
//! session cache's lifetime, so that a request with a key need not ask
//! the store), and when it last tried to write each key's
//! `last_used_at` (so that it tries at most once a minute).

use std::{
    collections::HashMap,
    sync::{PoisonError, RwLock},
};

use time::{Duration, OffsetDateTime};

use super::INTERVAL;
use crate::{CredentialId, UserId};

/// How many keys either map holds before it forgets the stale ones (and,
/// if none are stale, all of them): forgetting only costs store lookups
/// (or one more `last_used_at` write), it never lets anything in.
const MAX_ENTRIES: usize = 100_000;

/// A key found good: what a later request with it is checked against.
#[derive(Debug, Clone)]
pub(super) struct Cached {
    pub(super) id: CredentialId,
    pub(super) user_id: UserId,
    /// The SHA-256 of the whole key, compared with the presented key's.
    pub(super) hash: [u8; 32],
    /// The key's own expiry, checked on every use.
    pub(super) expires_at: Option<OffsetDateTime>,
}

#[derive(Debug)]
struct Entry {
    key: Cached,
    /// Trusted until then: the cache's lifetime after the lookup, never
    /// past the key's expiry.
    valid_until: OffsetDateTime,
}

#[derive(Debug, Default)]
struct Entries {
    /// By the key's id part.
    keys: HashMap<String, Entry>,
    /// Bumped by every deletion. A lookup that started before one may
    /// have read the key still there; `remember` refuses its result, so a
    /// deletion racing a request can never put the key back.
    generation: u64,
}

/// A point in the cache's history, taken before asking the store.
#[derive(Debug, Clone, Copy)]
pub(super) struct Generation(u64);

/// The keys this process found good, each trusted for the lifetime given.
#[derive(Debug)]
pub(super) struct KeyCache {
    ttl: Duration,
    entries: RwLock<Entries>,
}

impl KeyCache {
    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(Entries::default()),
        }
    }

    /// The key with this id part, if it was found good less than the
    /// lifetime before `now`.
    pub(super) fn get(&self, id_part: &str, now: OffsetDateTime) -> Option<Cached> {
        // Every operation under the lock is a single map call, so a map
        // left by a panic is still consistent: poisoning is ignored.
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .keys
            .get(id_part)
            .filter(|entry| now < entry.valid_until)
            .map(|entry| entry.key.clone())
    }

    /// Call before asking the store; pass the result to `remember`.
    pub(super) fn generation(&self) -> Generation {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        Generation(entries.generation)
    }

    /// Records that the store found the key good at `now`, unless a
    /// deletion happened since `seen`.
    pub(super) fn remember(
        &self,
        id_part: &str,
        key: Cached,
        now: OffsetDateTime,
        seen: Generation,
    ) {
        let Some(mut valid_until) = now.checked_add(self.ttl) else {
            return;
        };
        if let Some(expires_at) = key.expires_at {
            valid_until = valid_until.min(expires_at);
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.generation != seen.0 {
            return;
        }
        let keys = &mut entries.keys;
        if keys.len() >= MAX_ENTRIES {
            keys.retain(|_, entry| now < entry.valid_until);
            if keys.len() >= MAX_ENTRIES {
                keys.clear();
            }
        }
        keys.insert(id_part.to_owned(), Entry { key, valid_until });
    }

    /// Forgets the key with this id part, now and when the guard drops
    /// (after the store's deletion, however it ended).
    pub(super) fn forget_when_done<'a>(&'a self, id_part: &'a str) -> ForgetOnDrop<'a> {
        self.forget(id_part);
        ForgetOnDrop {
            cache: self,
            id_part,
        }
    }

    /// Forgets the key with this id part now.
    pub(super) fn forget(&self, id_part: &str) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.generation = entries.generation.wrapping_add(1);
        entries.keys.remove(id_part);
    }

    /// Forgets every key of the user (whose account is gone).
    pub(super) fn forget_user(&self, user_id: &UserId) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.generation = entries.generation.wrapping_add(1);
        entries
            .keys
            .retain(|_, entry| &entry.key.user_id != user_id);
    }
}

/// Forgets a key when dropped; see [`KeyCache::forget_when_done`].
pub(super) struct ForgetOnDrop<'a> {
    cache: &'a KeyCache,
    id_part: &'a str,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.cache.forget(self.id_part);
    }
}

/// When this process last tried to write each key's `last_used_at`.
#[derive(Debug, Default)]
pub(super) struct LastUsed {
    tried: RwLock<HashMap<CredentialId, OffsetDateTime>>,
}

impl LastUsed {
    /// Whether a write of key `id`'s `last_used_at` is due at `now`: true
    /// at most once per [`INTERVAL`] per key, also when many requests ask
    /// at once (the first one is told yes and the time is noted).
    pub(super) fn due(&self, id: &CredentialId, now: OffsetDateTime) -> bool {
        let recent = |tried: &HashMap<CredentialId, OffsetDateTime>| {
            tried.get(id).is_some_and(|at| now - *at < INTERVAL)
        };
        if recent(&self.tried.read().unwrap_or_else(PoisonError::into_inner)) {
            return false;
        }
        let mut tried = self.tried.write().unwrap_or_else(PoisonError::into_inner);
        if recent(&tried) {
            return false;
        }
        if tried.len() >= MAX_ENTRIES {
            tried.retain(|_, at| now - *at < INTERVAL);
            if tried.len() >= MAX_ENTRIES {
                tried.clear();
            }
        }
        tried.insert(id.clone(), now);
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(user: &str, expires_at: Option<OffsetDateTime>) -> Cached {
        Cached {
            id: CredentialId::new("k"),
            user_id: UserId::new(user),
            hash: [7; 32],
            expires_at,
        }
    }

    #[test]
    fn a_lookup_that_raced_a_deletion_is_not_remembered() {
        let cache = KeyCache::new(Duration::seconds(5));
        let now = OffsetDateTime::UNIX_EPOCH;
        let before_lookup = cache.generation();
        drop(cache.forget_when_done("id"));
        cache.remember("id", key("u", None), now, before_lookup);
        assert!(cache.get("id", now).is_none());
        cache.remember("id", key("u", None), now, cache.generation());
        assert!(cache.get("id", now).is_some());
        assert!(cache.get("id", now + Duration::seconds(5)).is_none());
    }

    #[test]
    fn an_entry_never_outlives_the_key() {
        let cache = KeyCache::new(Duration::seconds(5));
        let now = OffsetDateTime::UNIX_EPOCH;
        let expires_at = now + Duration::seconds(2);
        cache.remember("id", key("u", Some(expires_at)), now, cache.generation());
        assert!(cache.get("id", now + Duration::seconds(1)).is_some());
        assert!(cache.get("id", expires_at).is_none());
    }

    #[test]
    fn deleting_a_user_forgets_their_keys_only() {
        let cache = KeyCache::new(Duration::seconds(5));
        let now = OffsetDateTime::UNIX_EPOCH;
        cache.remember("ada's", key("ada", None), now, cache.generation());
        cache.remember("bob's", key("bob", None), now, cache.generation());
        cache.forget_user(&UserId::new("ada"));
        assert!(cache.get("ada's", now).is_none());
        assert!(cache.get("bob's", now).is_some());
    }

    #[test]
    fn last_use_is_due_once_a_minute() {
        let last_used = LastUsed::default();
        let (a, b) = (CredentialId::new("a"), CredentialId::new("b"));
        let now = OffsetDateTime::UNIX_EPOCH;
        assert!(last_used.due(&a, now));
        assert!(!last_used.due(&a, now));
        assert!(last_used.due(&b, now), "each key on its own");
        assert!(!last_used.due(&a, now + Duration::seconds(59)));
        assert!(last_used.due(&a, now + Duration::seconds(60)));
        assert!(!last_used.due(&a, now + Duration::seconds(61)));
    }
}
