//! One warning when Argon2 runs unoptimised: a debug build of an
//! application whose `Cargo.toml` lacks the profile lines of the
//! [crate docs](crate#debug-builds-and-password-hashing). Cargo applies
//! only the top-level package's profiles, so this workspace's
//! `opt-level = 3` for argon2 and blake2 does not reach a dependent app.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use argon2::Params;

/// The time of one hash at the default cost (19 MiB, 2 passes) above which
/// a debug build is taken to run Argon2 unoptimised.
///
/// Measured with the README's app in a debug build (`scripts/own-app-check.sh`)
/// on the project's machine, 2 cores shared with other builds: sign-in
/// took 44–50 ms with the profile lines and 1.4–1.5 s without (the first
/// hash 2.9 s); issue 30 reports 23–37 ms against 430–550 ms on a quiet
/// machine. 150 ms is three times the slowest optimised figure, so a busy
/// machine does not set it off, and a third of the fastest unoptimised
/// one, so an unoptimised build does.
const THRESHOLD: Duration = Duration::from_millis(150);

/// The cost in KiB × passes of the default parameters, the unit
/// [`THRESHOLD`] is measured in.
const DEFAULT_WORK: u64 = 19_456 * 2;

/// Whether a hash that took `elapsed` (at the default cost) in a build of
/// this kind (`debug_build`: auth-core built with debug assertions) means
/// Argon2 runs unoptimised. A release build never warns.
pub(super) fn looks_unoptimised(elapsed: Duration, debug_build: bool) -> bool {
    debug_build && elapsed > THRESHOLD
}

/// `elapsed` scaled to the default cost; `None` for a hash under a
/// quarter of it (tests use 8 KiB), too short to time apart from its fixed
/// costs.
fn at_default_cost(elapsed: Duration, params: &Params) -> Option<Duration> {
    let work = u64::from(params.m_cost()) * u64::from(params.t_cost());
    if work < DEFAULT_WORK / 4 {
        return None;
    }
    let nanos = elapsed.as_nanos() * u128::from(DEFAULT_WORK) / u128::from(work);
    Some(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

/// Whether this process has said it already.
static WARNED: AtomicBool = AtomicBool::new(false);

/// Judges one Argon2 hash (or verification) of `params` that took
/// `elapsed`, and warns the first time one looks unoptimised.
pub(super) fn check(elapsed: Duration, params: &Params) {
    if let Some(scaled) = at_default_cost(elapsed, params)
        && looks_unoptimised(scaled, cfg!(debug_assertions))
    {
        warn_once(&WARNED, elapsed);
    }
}

/// Warns unless `warned` says it was done; true when it warned.
fn warn_once(warned: &AtomicBool, elapsed: Duration) -> bool {
    if warned.swap(true, Ordering::Relaxed) {
        return false;
    }
    tracing::warn!(
        "Argon2 runs unoptimised in this debug build: a password hash took {} ms, 10 to 30 \
         times its optimised time, so sign-up and sign-in are slow. Add these lines to your \
         application's Cargo.toml (a dependency's profile settings do not apply to it), \
         then rebuild; said once per process.\n\n\
         [profile.dev.package.argon2]\nopt-level = 3\n\n\
         [profile.dev.package.blake2]\nopt-level = 3\n",
        elapsed.as_millis()
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_slow_hash_in_a_debug_build_counts() {
        let slow = Duration::from_millis(450);
        let fast = Duration::from_millis(30);
        assert!(looks_unoptimised(slow, true));
        assert!(!looks_unoptimised(slow, false));
        assert!(!looks_unoptimised(fast, true));
        assert!(!looks_unoptimised(fast, false));
        assert!(!looks_unoptimised(THRESHOLD, true));
    }

    #[test]
    fn times_are_judged_at_the_default_cost() {
        let default = Params::DEFAULT;
        let elapsed = Duration::from_millis(100);
        assert_eq!(at_default_cost(elapsed, &default), Some(elapsed));
        // Twice the work in the same time is a faster hasher.
        let double = Params::new(19_456, 4, 1, None).unwrap();
        assert_eq!(at_default_cost(elapsed, &double), Some(elapsed / 2));
        let tiny = Params::new(8, 1, 1, None).unwrap();
        assert_eq!(at_default_cost(Duration::from_secs(1), &tiny), None);
    }

    #[test]
    fn it_warns_once() {
        let warned = AtomicBool::new(false);
        assert!(warn_once(&warned, Duration::from_millis(450)));
        assert!(!warn_once(&warned, Duration::from_millis(450)));
        assert!(!warn_once(&warned, Duration::from_millis(900)));
    }
}
