//! Sign-in throttling: after too many attempts for one email address that
//! did not end in a successful sign-in, further attempts are refused with
//! [`AuthError::TooManyAttempts`] until the window has passed; after
//! [`MAX_LOCKOUT_FAILURES`] such attempts at most, the account is locked
//! for a longer time.

use std::{fmt::Write as _, sync::Arc, time::Duration as StdDuration};

use sha2::{Digest, Sha256};

use crate::{AuthError, Email, RateLimiter};

/// The most consecutive failed sign-ins the builder lets an account have
/// before its longer lock: 100, NIST SP 800-63B's cap (§5.2.2).
pub const MAX_LOCKOUT_FAILURES: u32 = 100;

/// The default longer lock: 24 hours.
pub const DEFAULT_LOCKOUT: StdDuration = StdDuration::from_secs(24 * 3600);

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
///   window, for as long as they keep at it. Where that matters, lean on
///   the per-client limit ([`ClientRateLimit`](crate::ClientRateLimit))
///   and raise this limit, or switch it off with `sign_in_throttle(None)`.
/// * An attempt counts from the moment it starts, before its password is
///   checked (a success then clears the count), so a burst of concurrent
///   guesses cannot all slip through while their hashes run; by the same
///   rule, more than 10 sign-ins in flight at once for one account are
///   refused.
/// * Counts live in the service's [`RateLimiter`](crate::RateLimiter):
///   by default this process's memory, so with several server processes
///   each counts its own attempts unless they share a limiter (such as
///   `auth-redis`'s).
/// * Besides the short window, attempts without a success are also
///   counted over a longer one ([`lockout`](Self::lockout), default
///   [`MAX_LOCKOUT_FAILURES`] per 24 h, counted from the first; a success
///   resets it): once they are used up the account is locked, even for
///   the right password, until that window ends or an administrator calls
///   [`AuthService::unlock_sign_in`](crate::AuthService::unlock_sign_in).
///   The short window alone would let a patient guesser try 960 passwords
///   a day; NIST SP 800-63B caps consecutive failures at 100.
/// * The owner's way out of either is a password reset
///   ([`AuthService::reset_password`](crate::AuthService::reset_password)):
///   following the link proves they read the address's mail, and it clears
///   both counts. Tell your users so wherever a 429 from sign-in is shown.
///
/// ```
/// use std::time::Duration;
/// use auth_core::limits::SignInThrottle;
///
/// let strict = SignInThrottle::new(5, Duration::from_secs(30 * 60));
/// assert_eq!(strict.max_failures(), 5);
/// assert_eq!(SignInThrottle::default().max_failures(), 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInThrottle {
    max_failures: u32,
    window: StdDuration,
    lockout_failures: u32,
    lockout: StdDuration,
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
            lockout_failures: MAX_LOCKOUT_FAILURES,
            lockout: DEFAULT_LOCKOUT,
        }
    }

    /// After `failures` attempts without a success (counted over
    /// `lockout`, from the first), the account is locked until `lockout`
    /// has passed since that first one. Checked by the builder: 1 to
    /// [`MAX_LOCKOUT_FAILURES`] failures, a lock of 1 s to 30 days.
    pub const fn with_lockout(mut self, failures: u32, lockout: StdDuration) -> Self {
        self.lockout_failures = failures;
        self.lockout = lockout;
        self
    }

    /// The failures that lock the account (default 100).
    pub const fn lockout_failures(&self) -> u32 {
        self.lockout_failures
    }

    /// The longer lock's window (default 24 h).
    pub const fn lockout(&self) -> StdDuration {
        self.lockout
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

/// A [`SignInThrottle`] at work, on the service's [`RateLimiter`].
pub(crate) struct Throttle {
    settings: SignInThrottle,
    limiter: Arc<dyn RateLimiter>,
}

impl Throttle {
    pub(crate) fn new(settings: SignInThrottle, limiter: Arc<dyn RateLimiter>) -> Self {
        Self { settings, limiter }
    }

    /// Counts an attempt for `email`, or refuses it. Counting before the
    /// password is checked (and forgetting on success) means concurrent
    /// guesses cannot all slip past the limit while their hashes run.
    pub(crate) async fn begin_attempt(&self, email: &Email) -> Result<(), AuthError> {
        let [short, long] = keys(email);
        let settings = &self.settings;
        self.limiter
            .hit(&short, settings.max_failures, settings.window)
            .await?
            .into_result()?;
        // Only attempts the short window let through count towards the
        // lock, so a client hammering a throttled account does not lock it
        // any sooner than one that waits.
        self.limiter
            .hit(&long, settings.lockout_failures, settings.lockout)
            .await?
            .into_result()
    }

    /// A successful sign-in (or an administrator) clears both counts.
    pub(crate) async fn clear(&self, email: &Email) -> Result<(), AuthError> {
        for key in keys(email) {
            self.limiter.reset(&key).await?;
        }
        Ok(())
    }
}

/// The limiter keys for `email`: a hash rather than the address, so that a
/// shared limiter's keys do not show addresses at a glance (an unsalted
/// hash is no protection against someone holding a list of addresses).
fn keys(email: &Email) -> [String; 2] {
    let hex = address_digest(email);
    [format!("sign-in:{hex}"), format!("sign-in-lock:{hex}")]
}

/// Half of the SHA-256 of an address, in hex: a limiter key that does not
/// show the address.
pub(crate) fn address_digest(email: &Email) -> String {
    let digest = Sha256::digest(email.as_str().as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in &digest[..16] {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_address_and_hide_it() {
        let ada = keys(&Email::parse("ada@example.com").unwrap());
        let grace = keys(&Email::parse("grace@example.com").unwrap());
        assert_ne!(ada, grace);
        assert_ne!(ada[0], ada[1]);
        assert!(!ada[0].contains("ada"), "{ada:?}");
        assert_eq!(ada, keys(&Email::parse("ADA@example.com").unwrap()));
    }
}
