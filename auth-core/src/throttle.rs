//! Sign-in throttling: after too many attempts for one email address that
//! did not end in a successful sign-in, further attempts are refused with
//! [`AuthError::TooManyAttempts`] until the window has passed.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration as StdDuration,
};

use time::{Duration, OffsetDateTime};

use crate::{AuthError, Email};

/// How many email addresses the throttle tracks at once. Beyond this it
/// forgets finished windows, then the addresses with the fewest attempts
/// (all those with one attempt, then two, …), so that a flood of new
/// addresses (one attempt each) evicts its own kind first: an address
/// that is being guessed at keeps its count. If every tracked address is
/// at the limit, a new address goes untracked (and a warning is logged)
/// rather than the map growing without bound.
const MAX_TRACKED: usize = 100_000;

/// How many failed sign-ins one email address may have per window.
///
/// The default, 10 attempts per 15 minutes, slows online guessing to 40
/// passwords an hour per account. Attempts for unknown addresses are
/// counted the same way, so the answer reveals nothing about which
/// addresses are registered.
///
/// What it costs, honestly:
/// * The limit is per email address, whoever sends the attempts, so while
///   it refuses a guesser it also refuses the account's owner (a 429 with
///   `Retry-After`, even with the right password). Someone who knows an
///   address can keep that account throttled by failing 10 times per
///   window, for as long as they keep at it. Where that matters, put a
///   per-client rate limiter in front (by IP or device) and raise this
///   limit, or switch it off with `sign_in_throttle(None)`.
/// * An attempt counts from the moment it starts, before its password is
///   checked (a success then clears the count), so a burst of concurrent
///   guesses cannot all slip through while their hashes run; by the same
///   rule, more than 10 sign-ins in flight at once for one account are
///   refused.
/// * Counts live in this process's memory: with several server processes,
///   each counts its own attempts.
///
/// ```
/// use std::time::Duration;
/// use auth_core::SignInThrottle;
///
/// let strict = SignInThrottle::new(5, Duration::from_secs(30 * 60));
/// assert_eq!(strict.max_failures(), 5);
/// assert_eq!(SignInThrottle::default().max_failures(), 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInThrottle {
    max_failures: u32,
    window: StdDuration,
}

impl SignInThrottle {
    /// At most `max_failures` failed sign-ins per email address in `window`
    /// (counted from the first failure). Both are checked by
    /// [`AuthServiceBuilder::build`](crate::AuthServiceBuilder::build): at
    /// least one attempt, and a window of 1 s to 1 day.
    pub const fn new(max_failures: u32, window: StdDuration) -> Self {
        Self {
            max_failures,
            window,
        }
    }

    /// The failures allowed per window.
    pub const fn max_failures(&self) -> u32 {
        self.max_failures
    }

    /// The window.
    pub const fn window(&self) -> StdDuration {
        self.window
    }
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self::new(10, StdDuration::from_secs(15 * 60))
    }
}

#[derive(Debug)]
struct Window {
    started: OffsetDateTime,
    attempts: u32,
}

/// The counters behind a [`SignInThrottle`].
#[derive(Debug)]
pub(crate) struct Throttle {
    max_attempts: u32,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

impl Throttle {
    pub(crate) fn new(max_attempts: u32, window: Duration) -> Self {
        Self {
            max_attempts,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for `email`, or refuses it. Counting before the
    /// password is checked (and uncounting on success) means concurrent
    /// guesses cannot all slip past the limit while their hashes run.
    pub(crate) fn begin_attempt(
        &self,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        // The map stays consistent whatever panicked while holding the
        // lock (each step is one map call), so poisoning is ignored.
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= MAX_TRACKED && !windows.contains_key(email.as_str()) {
            windows.retain(|_, window| now < window.started + self.window);
            let mut fewest = 1;
            while windows.len() >= MAX_TRACKED && fewest < self.max_attempts {
                windows.retain(|_, window| window.attempts > fewest);
                fewest += 1;
            }
            if windows.len() >= MAX_TRACKED {
                tracing::warn!(
                    "sign-in throttle full of throttled addresses; not tracking a new one"
                );
                return Ok(());
            }
        }
        let window = windows.entry(email.as_str().to_owned()).or_insert(Window {
            started: now,
            attempts: 0,
        });
        let ends = window.started + self.window;
        if now >= ends {
            *window = Window {
                started: now,
                attempts: 0,
            };
        } else if window.attempts >= self.max_attempts {
            let wait = StdDuration::try_from(ends - now).unwrap_or(StdDuration::ZERO);
            return Err(AuthError::TooManyAttempts {
                // Round up: a client that waits exactly this long is let in.
                retry_after: StdDuration::from_secs(wait.as_secs() + 1),
            });
        }
        window.attempts += 1;
        Ok(())
    }

    /// A successful sign-in clears the address's count.
    pub(crate) fn succeeded(&self, email: &Email) {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows.remove(email.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(secs)
    }

    #[test]
    fn refuses_after_the_limit_until_the_window_ends() {
        let throttle = Throttle::new(3, Duration::seconds(60));
        let email = Email::parse("ada@example.com").unwrap();
        for second in 0..3 {
            throttle.begin_attempt(&email, at(second)).unwrap();
        }
        let refused = throttle.begin_attempt(&email, at(10)).unwrap_err();
        assert!(
            matches!(refused, AuthError::TooManyAttempts { retry_after } if retry_after == StdDuration::from_secs(51)),
            "{refused:?}"
        );
        let other = Email::parse("grace@example.com").unwrap();
        throttle.begin_attempt(&other, at(10)).unwrap();
        throttle.begin_attempt(&email, at(60)).unwrap();
    }

    #[test]
    fn flooding_with_new_addresses_never_resets_a_guessed_one() {
        let throttle = Throttle::new(10, Duration::seconds(900));
        let throttled = Email::parse("throttled@example.com").unwrap();
        let nearly = Email::parse("nearly@example.com").unwrap();
        for _ in 0..10 {
            throttle.begin_attempt(&throttled, at(0)).unwrap();
        }
        for _ in 0..9 {
            throttle.begin_attempt(&nearly, at(0)).unwrap();
        }
        for n in 0..MAX_TRACKED + 10 {
            let other = Email::parse(&format!("flood{n}@example.com")).unwrap();
            throttle.begin_attempt(&other, at(1)).unwrap();
        }
        assert!(throttle.begin_attempt(&throttled, at(2)).is_err());
        // One attempt left, not ten.
        throttle.begin_attempt(&nearly, at(2)).unwrap();
        assert!(throttle.begin_attempt(&nearly, at(2)).is_err());
    }

    #[test]
    fn success_clears_the_count() {
        let throttle = Throttle::new(2, Duration::seconds(60));
        let email = Email::parse("ada@example.com").unwrap();
        throttle.begin_attempt(&email, at(0)).unwrap();
        throttle.begin_attempt(&email, at(1)).unwrap();
        throttle.succeeded(&email);
        throttle.begin_attempt(&email, at(2)).unwrap();
        throttle.begin_attempt(&email, at(3)).unwrap();
        assert!(throttle.begin_attempt(&email, at(4)).is_err());
    }
}
