//! The time floor under password verification: every check takes at least
//! as long as the slowest kind of stored hash seen so far, so that an
//! account with an imported bcrypt or scrypt hash (or older Argon2
//! parameters) cannot be told from an unknown email by timing.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use crate::legacy::{BCRYPT_MAX_COST, BCRYPT_MIN_COST};

/// The longest floor: an estimate never grows past it, so one check slowed
/// by a busy machine (or a bcrypt cost of 15 or more) cannot make every
/// sign-in wait for seconds.
pub(super) const MAX_FLOOR: Duration = Duration::from_secs(2);

/// What a stored hash costs to verify, as far as timing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashKind {
    /// Argon2, whatever its parameters (the dummy hash is one).
    Argon2,
    /// Better Auth's scrypt: fixed parameters.
    BetterAuthScrypt,
    /// bcrypt at this cost (each step doubles the time).
    Bcrypt(u32),
}

const SLOTS: usize = 2 + (BCRYPT_MAX_COST - BCRYPT_MIN_COST + 1) as usize;

impl HashKind {
    fn slot(self) -> usize {
        match self {
            Self::Argon2 => 0,
            Self::BetterAuthScrypt => 1,
            Self::Bcrypt(cost) => {
                let step = cost.clamp(BCRYPT_MIN_COST, BCRYPT_MAX_COST) - BCRYPT_MIN_COST;
                2 + step as usize
            }
        }
    }
}

/// A running estimate (nanoseconds, 0 = not seen yet) per kind of hash.
#[derive(Debug, Default)]
pub(super) struct VerifyFloor {
    estimates: [AtomicU64; SLOTS],
}

impl VerifyFloor {
    /// Records that a check of `kind` took `took`, and returns how much
    /// longer it must wait to reach the floor.
    ///
    /// Each estimate is a moving average (1/8 weight to the new sample),
    /// so jitter moves it little. Two checks racing on one slot may lose
    /// one sample: harmless for an estimate, and no lock on the hot path.
    pub(super) fn record(&self, kind: HashKind, took: Duration) -> Duration {
        let took = took.min(MAX_FLOOR);
        let sample = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        if let Some(slot) = self.estimates.get(kind.slot()) {
            let old = slot.load(Ordering::Relaxed);
            let new = if old == 0 {
                sample.max(1)
            } else {
                old - old / 8 + sample / 8
            };
            slot.store(new, Ordering::Relaxed);
        }
        self.current().saturating_sub(took)
    }

    /// The floor now: the largest estimate.
    pub(super) fn current(&self) -> Duration {
        let slowest = self
            .estimates
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        Duration::from_nanos(slowest).min(MAX_FLOOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn checks_wait_for_the_slowest_kind_seen() {
        let floor = VerifyFloor::default();
        assert_eq!(floor.current(), Duration::ZERO);
        // Alone, a kind is padded to its own average only.
        assert_eq!(floor.record(HashKind::Argon2, 40 * MS), Duration::ZERO);
        assert_eq!(floor.record(HashKind::Argon2, 32 * MS), 7 * MS);
        // A slower kind lifts the floor for every kind, itself included.
        assert_eq!(floor.record(HashKind::Bcrypt(10), 100 * MS), Duration::ZERO);
        assert_eq!(floor.record(HashKind::Argon2, 40 * MS), 60 * MS);
        assert_eq!(floor.current(), 100 * MS);
        // bcrypt costs are kept apart: cost 12 is four times cost 10.
        assert_eq!(floor.record(HashKind::Bcrypt(12), 400 * MS), Duration::ZERO);
        assert_eq!(floor.record(HashKind::Bcrypt(10), 100 * MS), 300 * MS);
    }

    #[test]
    fn an_estimate_moves_by_an_eighth_and_is_capped() {
        let floor = VerifyFloor::default();
        floor.record(HashKind::BetterAuthScrypt, 80 * MS);
        floor.record(HashKind::BetterAuthScrypt, 160 * MS);
        assert_eq!(floor.current(), 90 * MS);
        floor.record(HashKind::Bcrypt(99), Duration::from_secs(60));
        assert_eq!(floor.current(), MAX_FLOOR);
    }
}
