//! Rate limiting: the [`RateLimiter`] trait behind the sign-in throttle and
//! the per-client limit, and the in-memory [`MemoryRateLimiter`].
//!
//! One trait for both, so that an application with several server
//! processes can share one budget through one backend (the `auth-redis`
//! crate has a Redis one) instead of each process counting its own.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration as StdDuration,
};

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::{AuthError, Clock, SystemClock};

/// What a [`RateLimiter`] says about one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit; the hit was counted.
    Allowed,
    /// Over the limit: refuse the request, and tell the client to come
    /// back after this long (the `Retry-After` of a 429).
    Limited {
        /// Until the key's window ends, at least 1 s.
        retry_after: StdDuration,
    },
}

impl Decision {
    /// `Ok` when allowed, [`AuthError::TooManyAttempts`] when limited.
    ///
    /// # Errors
    /// [`AuthError::TooManyAttempts`] with the decision's `retry_after`.
    pub fn into_result(self) -> Result<(), AuthError> {
        match self {
            Self::Allowed => Ok(()),
            Self::Limited { retry_after } => Err(AuthError::TooManyAttempts { retry_after }),
        }
    }
}

/// Counts hits per key in fixed windows.
///
/// [`hit`](Self::hit) counts one hit on `key` and answers
/// [`Decision::Limited`] once the key has had more than `limit` hits in its
/// current window; the window starts at the key's first hit and lasts
/// `window`, after which the count starts again from zero.
/// [`reset`](Self::reset) forgets a key (a successful sign-in does that).
///
/// Implementations must count atomically: two concurrent hits on one key
/// must never both see the same count, or a burst slips past the limit.
/// A backend that cannot be reached answers `Err`
/// ([`AuthError::Unavailable`]): the service then refuses the request (503)
/// rather than letting it through unlimited.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one hit on `key`; see the trait's documentation.
    ///
    /// # Errors
    /// [`AuthError::Unavailable`] when the backend cannot be reached.
    async fn hit(&self, key: &str, limit: u32, window: StdDuration) -> Result<Decision, AuthError>;

    /// Forgets `key`'s count.
    ///
    /// # Errors
    /// [`AuthError::Unavailable`] when the backend cannot be reached.
    async fn reset(&self, key: &str) -> Result<(), AuthError>;
}

#[async_trait]
impl<T: RateLimiter + ?Sized> RateLimiter for Arc<T> {
    async fn hit(&self, key: &str, limit: u32, window: StdDuration) -> Result<Decision, AuthError> {
        (**self).hit(key, limit, window).await
    }

    async fn reset(&self, key: &str) -> Result<(), AuthError> {
        (**self).reset(key).await
    }
}

/// The per-client limit on the auth routes: at most `max_requests` per
/// client address per `window`, shared by all the routes that consult it
/// (sign-up, sign-in, refresh). Default 60 per minute.
///
/// Clients behind one NAT share an address, and so a budget: the default
/// leaves room for an office signing in at once, while a single client
/// guessing passwords across many accounts (which the per-account
/// [`SignInThrottle`](crate::SignInThrottle) cannot see) gets one try a
/// second. Behind a reverse proxy, set
/// [`trusted_proxies`](crate::AuthServiceBuilder::trusted_proxies), or
/// every client is the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRateLimit {
    max_requests: u32,
    window: StdDuration,
}

impl ClientRateLimit {
    /// `max_requests` (at least 1) per `window` (1 s to 1 day), checked by
    /// the builder.
    pub const fn new(max_requests: u32, window: StdDuration) -> Self {
        Self {
            max_requests,
            window,
        }
    }

    /// The requests allowed per window.
    pub const fn max_requests(&self) -> u32 {
        self.max_requests
    }

    /// The window.
    pub const fn window(&self) -> StdDuration {
        self.window
    }
}

impl Default for ClientRateLimit {
    fn default() -> Self {
        Self::new(60, StdDuration::from_secs(60))
    }
}

/// How many keys a [`MemoryRateLimiter`] tracks by default. Beyond its
/// capacity it forgets finished windows, then the keys with the fewest
/// hits (all those with one, then two, …), so that a flood of new keys
/// (one hit each) evicts its own kind first: a key that is being guessed
/// at keeps its count. If every tracked key is at its limit, a new key
/// goes untracked (and a warning is logged) rather than the map growing
/// without bound.
pub const DEFAULT_MAX_TRACKED_KEYS: usize = 100_000;

#[derive(Debug)]
struct Window {
    ends: OffsetDateTime,
    hits: u32,
    limit: u32,
}

/// The default [`RateLimiter`]: counters in this process's memory, at most
/// [`DEFAULT_MAX_TRACKED_KEYS`] of them (about 100 bytes each).
///
/// With several server processes each counts its own hits, so the budget
/// is per process; use a shared backend (such as `auth-redis`) there.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::AuthError> {
/// use std::time::Duration;
/// use auth_core::limits::{Decision, MemoryRateLimiter, RateLimiter};
///
/// let limiter = MemoryRateLimiter::new();
/// let minute = Duration::from_secs(60);
/// assert_eq!(limiter.hit("client:192.0.2.1", 1, minute).await?, Decision::Allowed);
/// assert!(matches!(limiter.hit("client:192.0.2.1", 1, minute).await?, Decision::Limited { .. }));
/// # Ok(()) }
/// ```
pub struct MemoryRateLimiter {
    clock: Arc<dyn Clock>,
    max_tracked: usize,
    windows: Mutex<HashMap<String, Window>>,
}

impl std::fmt::Debug for MemoryRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRateLimiter")
            .field("max_tracked", &self.max_tracked)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRateLimiter {
    /// A limiter on the system clock tracking up to
    /// [`DEFAULT_MAX_TRACKED_KEYS`] keys.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// A limiter on `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            max_tracked: DEFAULT_MAX_TRACKED_KEYS,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Tracks at most `max` keys (at least 1).
    pub fn max_tracked_keys(mut self, max: usize) -> Self {
        self.max_tracked = max.max(1);
        self
    }

    /// The synchronous core of [`RateLimiter::hit`].
    fn hit_now(&self, key: &str, limit: u32, window: StdDuration) -> Decision {
        let now = self.clock.now();
        let window = Duration::try_from(window).unwrap_or(Duration::MAX);
        // The map stays consistent whatever panicked while holding the
        // lock (each step is one map call), so poisoning is ignored.
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= self.max_tracked && !windows.contains_key(key) {
            windows.retain(|_, window| now < window.ends);
            let mut fewest = 1;
            while windows.len() >= self.max_tracked
                && windows.values().any(|window| window.hits < window.limit)
            {
                windows.retain(|_, window| window.hits > fewest || window.hits >= window.limit);
                fewest += 1;
            }
            if windows.len() >= self.max_tracked {
                tracing::warn!("rate limiter full of limited keys; not tracking a new one");
                return Decision::Allowed;
            }
        }
        let entry = windows.entry(key.to_owned()).or_insert(Window {
            ends: now.saturating_add(window),
            hits: 0,
            limit,
        });
        if now >= entry.ends {
            entry.ends = now.saturating_add(window);
            entry.hits = 0;
        }
        entry.limit = limit;
        if entry.hits >= limit {
            let wait = StdDuration::try_from(entry.ends - now).unwrap_or(StdDuration::ZERO);
            return Decision::Limited {
                retry_after: round_up(wait),
            };
        }
        entry.hits += 1;
        Decision::Allowed
    }
}

/// Whole seconds, rounded up, at least 1: a client that waits exactly
/// this long is let in.
pub(crate) fn round_up(wait: StdDuration) -> StdDuration {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    StdDuration::from_secs(secs.max(1))
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str, limit: u32, window: StdDuration) -> Result<Decision, AuthError> {
        Ok(self.hit_now(key, limit, window))
    }

    async fn reset(&self, key: &str) -> Result<(), AuthError> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    const MINUTE: StdDuration = StdDuration::from_secs(60);

    fn limiter() -> (MemoryRateLimiter, ManualClock) {
        let clock = ManualClock::new(OffsetDateTime::UNIX_EPOCH);
        (
            MemoryRateLimiter::with_clock(Arc::new(clock.clone())),
            clock,
        )
    }

    #[test]
    fn refuses_after_the_limit_until_the_window_ends() {
        let (limiter, clock) = limiter();
        for _ in 0..3 {
            assert_eq!(limiter.hit_now("a", 3, MINUTE), Decision::Allowed);
            clock.advance(Duration::seconds(1));
        }
        clock.advance(Duration::seconds(7));
        assert_eq!(
            limiter.hit_now("a", 3, MINUTE),
            Decision::Limited {
                retry_after: StdDuration::from_secs(50)
            }
        );
        assert_eq!(limiter.hit_now("b", 3, MINUTE), Decision::Allowed);
        clock.advance(Duration::seconds(50));
        assert_eq!(limiter.hit_now("a", 3, MINUTE), Decision::Allowed);
    }

    #[test]
    fn flooding_with_new_keys_never_resets_a_limited_one() {
        let (limiter, _clock) = limiter();
        let limiter = limiter.max_tracked_keys(1_000);
        for _ in 0..10 {
            limiter.hit_now("limited", 10, MINUTE);
        }
        for _ in 0..9 {
            limiter.hit_now("nearly", 10, MINUTE);
        }
        for n in 0..1_010 {
            assert_eq!(
                limiter.hit_now(&format!("flood{n}"), 10, MINUTE),
                Decision::Allowed
            );
        }
        assert!(limiter.windows.lock().unwrap().len() <= 1_000);
        assert!(matches!(
            limiter.hit_now("limited", 10, MINUTE),
            Decision::Limited { .. }
        ));
        // One hit left, not ten.
        assert_eq!(limiter.hit_now("nearly", 10, MINUTE), Decision::Allowed);
        assert!(matches!(
            limiter.hit_now("nearly", 10, MINUTE),
            Decision::Limited { .. }
        ));
    }

    #[test]
    fn a_full_map_of_limited_keys_lets_new_keys_through_untracked() {
        let (limiter, _clock) = limiter();
        let limiter = limiter.max_tracked_keys(2);
        limiter.hit_now("a", 1, MINUTE);
        limiter.hit_now("b", 1, MINUTE);
        for _ in 0..3 {
            assert_eq!(limiter.hit_now("c", 1, MINUTE), Decision::Allowed);
        }
        assert_eq!(limiter.windows.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn reset_forgets_the_count() {
        let (limiter, _clock) = limiter();
        limiter.hit("a", 1, MINUTE).await.unwrap();
        assert!(limiter.hit("a", 1, MINUTE).await.unwrap() != Decision::Allowed);
        limiter.reset("a").await.unwrap();
        assert_eq!(
            limiter.hit("a", 1, MINUTE).await.unwrap(),
            Decision::Allowed
        );
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(round_up(StdDuration::ZERO), StdDuration::from_secs(1));
        assert_eq!(
            round_up(StdDuration::from_millis(1_001)),
            StdDuration::from_secs(2)
        );
        assert_eq!(
            round_up(StdDuration::from_secs(5)),
            StdDuration::from_secs(5)
        );
    }
}
