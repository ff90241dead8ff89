//! The default password hasher: Argon2id, off the async executor, bounded
//! in time and in memory.

mod floor;
mod phc;
mod pool;
mod unoptimised;

use std::{fmt, sync::Arc, time::Duration, time::Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use tokio::sync::Semaphore;
use zeroize::Zeroize;

use self::{
    floor::{HashKind, VerifyFloor},
    phc::Stored,
    pool::BlockPool,
};
use crate::{AuthError, Password, PasswordHash, PasswordHasher, PasswordPolicy, Verification};

/// Argon2id cost parameters.
///
/// The default is OWASP's recommendation: 19 MiB of memory (19 456 KiB),
/// 2 iterations, 1 lane.
///
/// ```
/// use auth_core::password::Argon2Params;
///
/// let params = Argon2Params::default();
/// assert_eq!((params.memory_kib, params.iterations, params.parallelism), (19_456, 2, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory cost in KiB (`m`).
    pub memory_kib: u32,
    /// Number of passes (`t`).
    pub iterations: u32,
    /// Degree of parallelism (`p`).
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Argon2id password hashing (PHC strings), run where it cannot stall
/// request handling.
///
/// * Each hash or verification runs on tokio's blocking thread pool
///   ([`spawn_blocking`](tokio::task::spawn_blocking)), never on an async
///   worker thread. Outside a tokio runtime it runs on a thread of its own.
/// * At most `max_concurrent` run at once (default: the number of CPUs);
///   further calls wait their turn.
/// * Each running hash has one Argon2 memory buffer (`memory_kib`), made on
///   first use and reused by the hashes after it, so hashing memory is at
///   most `max_concurrent × memory_kib` however many hashes run and
///   whatever the allocator (a fresh 19 MiB block per hash made glibc's RSS
///   grow with every sign-in). Buffers are zeroed after each use.
/// * A stored hash with a larger memory cost (older, stronger settings)
///   verifies in a temporary buffer. One asking for more than 256 MiB or
///   more than 1 GiB × 1 pass of work (or than this hasher's own
///   parameters, if larger) is refused as an internal error, unread, so a
///   corrupt or planted row cannot exhaust memory or CPU.
/// * Input longer than [`PasswordPolicy::LIMIT`] characters is refused before
///   any hashing (the auth service refuses anything over its own policy
///   first).
/// * [`verify`](PasswordHasher::verify) reports
///   [`MatchNeedsRehash`](Verification::MatchNeedsRehash) when a stored hash is
///   not Argon2id v19 or uses weaker parameters than this hasher's, and
///   always for an imported bcrypt or Better Auth scrypt hash (see
///   [`PasswordHash::from_bcrypt`], [`PasswordHash::from_better_auth_scrypt`]),
///   which it verifies in the same way: on the blocking pool, inside the
///   same concurrency limit. A bcrypt hash never matches a password of more
///   than 72 bytes (bcrypt would read only its first 72).
/// * Every verification takes at least as long as the slowest kind of
///   stored hash verified so far (a moving average per kind; each bcrypt
///   cost is a kind), so an imported or older hash, or the dummy hash of an
///   unknown email, cannot be told apart by timing. The wait is a sleep on
///   the blocking thread after the concurrency permit is released: it costs
///   no CPU and holds up no other hash. See
///   [`verification_floor`](Self::verification_floor).
///
/// ```
/// use auth_core::{Password, password::{Argon2Hasher, PasswordHasher, Verification}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::AuthError> {
/// let hasher = Argon2Hasher::default();
/// let password = Password::new("correct horse battery staple");
/// let hash = hasher.hash(&password).await?;
/// assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
/// assert_eq!(hasher.verify(&password, &hash).await?, Verification::Match);
/// assert_eq!(
///     hasher.verify(&Password::new("wrong"), &hash).await?,
///     Verification::Mismatch
/// );
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    limiter: Arc<Semaphore>,
    /// One buffer per permit of `limiter`; clones share both.
    pool: Arc<BlockPool>,
    max_concurrent: usize,
    floor: Arc<VerifyFloor>,
}

impl Argon2Hasher {
    /// A hasher with the given parameters and at most `max_concurrent`
    /// hashes running at once.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] when Argon2 refuses the parameters (for
    /// example memory below 8 KiB per lane) or `max_concurrent` is 0.
    pub fn new(params: Argon2Params, max_concurrent: usize) -> Result<Self, AuthError> {
        if max_concurrent == 0 || max_concurrent > Semaphore::MAX_PERMITS {
            return Err(AuthError::InvalidConfig(format!(
                "argon2 max_concurrent is {max_concurrent}; it must be between 1 and {}",
                Semaphore::MAX_PERMITS
            )));
        }
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| AuthError::InvalidConfig(format!("argon2 parameters: {e}")))?;
        Ok(Self::with(params, max_concurrent))
    }

    fn with(params: Params, max_concurrent: usize) -> Self {
        Self {
            pool: Arc::new(BlockPool::new(params.block_count())),
            params,
            limiter: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            floor: Arc::new(VerifyFloor::default()),
        }
    }

    /// The parameters new hashes use.
    pub fn params(&self) -> Argon2Params {
        Argon2Params {
            memory_kib: self.params.m_cost(),
            iterations: self.params.t_cost(),
            parallelism: self.params.p_cost(),
        }
    }

    /// How many hashes may run at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// The least time a verification takes now: the moving average of the
    /// slowest kind of stored hash verified since this hasher was made
    /// (clones share it), at most 2 s. Zero until the first verification.
    ///
    /// The first check of a kind sets its estimate, so that one check is
    /// not padded to its own time: an application with imported hashes can
    /// verify one at start-up (a wrong password against an imported row) to
    /// close that gap too.
    pub fn verification_floor(&self) -> Duration {
        self.floor.current()
    }

    /// Verifies on the blocking pool, then waits out the floor.
    async fn verify_padded<F>(&self, kind: HashKind, work: F) -> Result<bool, AuthError>
    where
        F: FnOnce() -> Result<bool, AuthError> + Send + 'static,
    {
        let floor = Arc::clone(&self.floor);
        self.run_limited(move || {
            let started = Instant::now();
            let matched = work();
            (matched, floor.record(kind, started.elapsed()))
        })
        .await?
    }

    /// Runs `work` on the blocking pool once a concurrency permit is free.
    /// The permit moves into the closure, so it is held until the hash is
    /// really done, even if the caller's future is dropped mid-way. `work`
    /// also says how long to wait afterwards: that wait, after the permit
    /// is released, is a sleep on the same thread (not tokio's timer, which
    /// a runtime may have switched off).
    async fn run_limited<T, F>(&self, work: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce() -> (T, Duration) + Send + 'static,
    {
        let permit = Arc::clone(&self.limiter)
            .acquire_owned()
            .await
            .map_err(AuthError::internal)?;
        let job = move || {
            let (result, wait) = work();
            drop(permit);
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            result
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn_blocking(job)
                .await
                .map_err(AuthError::internal),
            Err(_) => {
                // Not on tokio: a thread of its own, so that whatever
                // executor polls this future is not blocked either.
                let (done, result) = tokio::sync::oneshot::channel();
                std::thread::Builder::new()
                    .name("auth-core-argon2".into())
                    .spawn(move || {
                        let _receiver_gone = done.send(job());
                    })
                    .map_err(AuthError::internal)?;
                result.await.map_err(AuthError::internal)
            }
        }
    }
}

impl Default for Argon2Hasher {
    /// OWASP parameters, at most one hash per CPU at once.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with(Params::DEFAULT, cpus)
    }
}

impl fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", &self.params())
            .field("max_concurrent", &self.max_concurrent)
            .finish()
    }
}

fn refuse_overlong(password: &Password) -> Result<(), AuthError> {
    if password.exceeds_chars(PasswordPolicy::LIMIT) {
        return Err(AuthError::PasswordTooLong {
            max: PasswordPolicy::LIMIT,
        });
    }
    Ok(())
}

/// Hashes `password` with a new random salt into pooled memory; returns
/// the PHC string. Runs on the blocking pool, with a permit held.
fn hash_blocking(
    password: &Password,
    params: &Params,
    pool: &Arc<BlockPool>,
) -> Result<String, AuthError> {
    let mut salt = [0u8; phc::SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| AuthError::internal(e.to_string()))?;
    let mut output = [0u8; phc::OUTPUT_LEN];
    let started = Instant::now();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            &salt,
            &mut output,
            pool.take()?,
        )
        .map_err(AuthError::internal)?;
    unoptimised::check(started.elapsed(), params);
    let phc = phc::encode(params, &salt, &output);
    output.zeroize();
    phc
}

/// Recomputes `stored` for `password`, in pooled memory when it fits (else
/// in a temporary buffer, within the limits `Stored::parse` checked), and
/// compares in constant time. Runs on the blocking pool, with a permit held.
fn verify_blocking(
    password: &Password,
    stored: &Stored,
    pool: &Arc<BlockPool>,
) -> Result<bool, AuthError> {
    // The hash's own algorithm, version and parameters are used, so hashes
    // made with older settings still verify.
    let argon2 = Argon2::new(stored.algorithm, stored.version, stored.params.clone());
    let mut output = [0u8; argon2::password_hash::phc::Output::MAX_LENGTH];
    let output = output
        .get_mut(..stored.output_len())
        .ok_or_else(|| AuthError::internal("stored password hash output too long"))?;
    let password = password.expose_secret().as_bytes();
    let needed = stored.params.block_count();
    let started = Instant::now();
    let computed = if needed <= pool.blocks() {
        argon2.hash_password_into_with_memory(password, &stored.salt, output, pool.take()?)
    } else {
        let mut temporary = pool::allocate(needed)?;
        let computed =
            argon2.hash_password_into_with_memory(password, &stored.salt, output, &mut temporary);
        pool::wipe(&mut temporary);
        computed
    };
    computed.map_err(AuthError::internal)?;
    unoptimised::check(started.elapsed(), &stored.params);
    let matched = stored.matches(output);
    output.zeroize();
    Ok(matched)
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        refuse_overlong(password)?;
        let password = password.clone();
        let params = self.params.clone();
        let pool = Arc::clone(&self.pool);
        let phc = self
            .run_limited(move || (hash_blocking(&password, &params, &pool), Duration::ZERO))
            .await??;
        PasswordHash::from_phc(phc)
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, AuthError> {
        refuse_overlong(password)?;
        if let Some(legacy) = crate::legacy::parse_stored(hash.as_phc()) {
            // An imported bcrypt or Better Auth hash: verified in the same
            // permit limit, and always replaced by Argon2id on a match.
            let legacy = legacy?;
            let kind = match &legacy {
                crate::legacy::Legacy::Bcrypt { cost, .. } => HashKind::Bcrypt(*cost),
                crate::legacy::Legacy::BetterAuthScrypt { .. } => HashKind::BetterAuthScrypt,
            };
            let password = password.clone();
            let matched = self
                .verify_padded(kind, move || {
                    crate::legacy::verify_blocking(&password, &legacy)
                })
                .await?;
            return Ok(if matched {
                Verification::MatchNeedsRehash
            } else {
                Verification::Mismatch
            });
        }
        // Parsed and checked against the limits before waiting for a permit.
        let stored = Stored::parse(hash.as_phc(), &self.params)?;
        let needs_rehash = stored.needs_rehash(&self.params);
        let password = password.clone();
        let pool = Arc::clone(&self.pool);
        let matched = self
            .verify_padded(HashKind::Argon2, move || {
                verify_blocking(&password, &stored, &pool)
            })
            .await?;
        Ok(match (matched, needs_rehash) {
            (false, _) => Verification::Mismatch,
            (true, false) => Verification::Match,
            (true, true) => Verification::MatchNeedsRehash,
        })
    }
}

#[cfg(test)]
mod tests;
