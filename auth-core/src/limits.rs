//! Limits on how often: the per-client request limit, the per-address
//! sign-in throttle, and the [`RateLimiter`] that counts for both (this
//! process's memory, or a shared store such as `auth-redis`).

pub use crate::rate_limit::{
    ClientRateLimit, DEFAULT_MAX_TRACKED_KEYS, Decision, MemoryRateLimiter, RateLimiter,
};
pub use crate::throttle::{DEFAULT_LOCKOUT, MAX_LOCKOUT_FAILURES, SignInThrottle};
