//! The default password hasher: Argon2id, off the async executor, bounded
//! in time and in memory.

mod phc;
mod pool;

use std::{fmt, sync::Arc};

use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use tokio::sync::Semaphore;
use zeroize::Zeroize;

use self::{phc::Stored, pool::BlockPool};
use crate::{AuthError, Password, PasswordHash, PasswordHasher, PasswordPolicy, Verification};

/// Argon2id cost parameters.
///
/// The default is OWASP's recommendation: 19 MiB of memory (19 456 KiB),
/// 2 iterations, 1 lane.
///
/// ```
/// use auth_core::Argon2Params;
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
///   not Argon2id v19 or uses weaker parameters than this hasher's.
///
/// ```
/// use auth_core::{Argon2Hasher, Password, PasswordHasher, Verification};
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

    /// Runs `work` on the blocking pool once a concurrency permit is free.
    /// The permit moves into the closure, so it is held until the hash is
    /// really done, even if the caller's future is dropped mid-way.
    async fn run_limited<T, F>(&self, work: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = Arc::clone(&self.limiter)
            .acquire_owned()
            .await
            .map_err(AuthError::internal)?;
        let job = move || {
            let result = work();
            drop(permit);
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
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            &salt,
            &mut output,
            pool.take()?,
        )
        .map_err(AuthError::internal)?;
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
            .run_limited(move || hash_blocking(&password, &params, &pool))
            .await??;
        PasswordHash::from_phc(phc)
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, AuthError> {
        refuse_overlong(password)?;
        // Parsed and checked against the limits before waiting for a permit.
        let stored = Stored::parse(hash.as_phc(), &self.params)?;
        let needs_rehash = stored.needs_rehash(&self.params);
        let password = password.clone();
        let pool = Arc::clone(&self.pool);
        let matched = self
            .run_limited(move || verify_blocking(&password, &stored, &pool))
            .await??;
        Ok(match (matched, needs_rehash) {
            (false, _) => Verification::Mismatch,
            (true, false) => Verification::Match,
            (true, true) => Verification::MatchNeedsRehash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters keep the unit tests fast; the defaults are covered
    /// by the doc-test and the service tests.
    fn cheap(memory_kib: u32, iterations: u32) -> Argon2Hasher {
        Argon2Hasher::new(
            Argon2Params {
                memory_kib,
                iterations,
                parallelism: 1,
            },
            2,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_are_salted_and_verify() {
        let hasher = cheap(64, 1);
        let password = Password::new("pässwörd-🦀-long-enough");
        let a = hasher.hash(&password).await.unwrap();
        let b = hasher.hash(&password).await.unwrap();
        assert_ne!(a, b, "two hashes of one password share a salt");
        assert!(a.as_phc().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_eq!(
            hasher.verify(&password, &a).await.unwrap(),
            Verification::Match
        );
        assert_eq!(
            hasher
                .verify(&Password::new("pässwörd-🦀-long-enougH"), &b)
                .await
                .unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn weaker_hashes_ask_for_a_rehash() {
        let old = cheap(64, 1);
        let new = cheap(128, 2);
        let password = Password::new("correct horse");
        let weak = old.hash(&password).await.unwrap();
        assert_eq!(
            new.verify(&password, &weak).await.unwrap(),
            Verification::MatchNeedsRehash
        );
        let strong = new.hash(&password).await.unwrap();
        // A stronger stored hash is fine as it is.
        assert_eq!(
            old.verify(&password, &strong).await.unwrap(),
            Verification::Match
        );
        assert_eq!(
            new.verify(&Password::new("wrong horse"), &weak)
                .await
                .unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn argon2i_hashes_verify_and_ask_for_argon2id() {
        use argon2::PasswordHasher as _;
        let legacy = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse")
        .unwrap()
        .to_string();
        let hash = PasswordHash::from_phc(legacy).unwrap();
        assert_eq!(
            cheap(64, 1)
                .verify(&Password::new("correct horse"), &hash)
                .await
                .unwrap(),
            Verification::MatchNeedsRehash
        );
    }

    #[tokio::test]
    async fn corrupt_hashes_are_internal_errors_not_mismatches() {
        let hasher = cheap(64, 1);
        for corrupt in [
            "$argon2id$garbage",
            // No salt and output: nothing a password could match.
            "$argon2id$v=19$m=64,t=1,p=1",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0",
            "$argon2id$v=7$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo",
            "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo",
        ] {
            let hash = PasswordHash::from_phc(corrupt).unwrap();
            let err = hasher
                .verify(&Password::new("whatever1"), &hash)
                .await
                .unwrap_err();
            assert_eq!(err.status(), 500, "{corrupt}");
        }
    }

    #[tokio::test]
    async fn stored_hashes_over_the_cost_limits_are_refused_unread() {
        let hasher = cheap(64, 1);
        // 4 GiB of memory; 64 KiB but 10^8 passes (hours of CPU if run).
        for absurd in ["m=4194304,t=1,p=1", "m=64,t=100000000,p=1"] {
            let phc = format!("$argon2id$v=19${absurd}$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA");
            let hash = PasswordHash::from_phc(phc).unwrap();
            let err = hasher
                .verify(&Password::new("whatever1"), &hash)
                .await
                .unwrap_err();
            assert_eq!(err.status(), 500, "{absurd}");
            assert!(
                format!("{:?}", std::error::Error::source(&err)).contains("over the limit"),
                "{absurd}: {err:?}"
            );
        }
        // A hasher whose own settings are above the limits accepts them.
        let heavy = "$argon2id$v=19$m=64,t=20000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
        assert!(Stored::parse(heavy, &hasher.params).is_err());
        let own = Params::new(64, 20_000, 1, None).unwrap();
        assert!(Stored::parse(heavy, &own).is_ok());
    }

    /// Both directions against `argon2`'s own PHC hashing and verifying,
    /// including a non-default output length and Argon2d.
    #[tokio::test]
    async fn phc_strings_agree_with_the_argon2_crate() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = cheap(64, 1);
        let password = Password::new("correct horse");
        let ours = hasher.hash(&password).await.unwrap();
        let parsed = argon2::PasswordHash::new(ours.as_phc()).unwrap();
        assert_eq!(parsed.salt.unwrap().len(), 16);
        assert_eq!(parsed.hash.unwrap().len(), 32);
        Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .unwrap();
        for (algorithm, output_len, expected) in [
            (Algorithm::Argon2id, None, Verification::Match),
            (Algorithm::Argon2id, Some(64), Verification::Match),
            (Algorithm::Argon2d, None, Verification::MatchNeedsRehash),
        ] {
            let theirs = Argon2::new(
                algorithm,
                Version::V0x13,
                Params::new(64, 1, 1, output_len).unwrap(),
            )
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
            let theirs = PasswordHash::from_phc(theirs).unwrap();
            assert_eq!(hasher.verify(&password, &theirs).await.unwrap(), expected);
            assert_eq!(
                hasher
                    .verify(&Password::new("correct horsE"), &theirs)
                    .await
                    .unwrap(),
                Verification::Mismatch
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_buffers_are_reused_one_per_permit() {
        let hasher = Arc::new(cheap(64, 1));
        let password = Password::new("correct horse");
        let hash = hasher.hash(&password).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (hasher, password, hash) = (hasher.clone(), password.clone(), hash.clone());
            tasks.push(tokio::spawn(async move {
                hasher.hash(&password).await.unwrap();
                hasher.verify(&password, &hash).await.unwrap()
            }));
        }
        for task in tasks {
            assert!(task.await.unwrap().is_match());
        }
        let buffers = hasher.pool.free_buffers();
        assert!(
            (1..=2).contains(&buffers),
            "{buffers} buffers for 2 permits"
        );
        // A stronger stored hash verifies in a buffer of its own, which
        // does not join the pool.
        let strong = cheap(256, 1).hash(&password).await.unwrap();
        assert!(hasher.verify(&password, &strong).await.unwrap().is_match());
        assert_eq!(hasher.pool.free_buffers(), buffers);
    }

    #[tokio::test]
    async fn overlong_input_is_refused_before_hashing() {
        let err = cheap(64, 1)
            .hash(&Password::new("a".repeat(PasswordPolicy::LIMIT + 1)))
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::PasswordTooLong { .. }));
    }

    /// Polls once with a no-op waker. A hash that ran on the polling
    /// thread would be finished by the time the poll returns.
    fn first_poll_is_pending<F: std::future::Future>(future: F) -> bool {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        future.as_mut().poll(&mut cx).is_pending()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hash_and_verify_leave_the_async_worker_thread() {
        // Default (OWASP) cost: milliseconds of work, against the
        // microseconds a poll that only hands the job over takes.
        let hasher = Argon2Hasher::default();
        let password = Password::new("correct horse battery staple");
        assert!(
            first_poll_is_pending(hasher.hash(&password)),
            "hash() ran on the thread that polled it"
        );
        let hash = hasher.hash(&password).await.unwrap();
        assert!(
            first_poll_is_pending(hasher.verify(&password, &hash)),
            "verify() ran on the thread that polled it"
        );
    }

    #[test]
    fn without_tokio_hashing_gets_a_thread_of_its_own() {
        let hasher = cheap(64, 1);
        let caller = std::thread::current().id();
        let worker = futures_block_on(hasher.run_limited(|| std::thread::current().id())).unwrap();
        assert_ne!(worker, caller, "hashing ran on the caller's thread");
        let password = Password::new("no runtime here");
        let hash = futures_block_on(hasher.hash(&password)).unwrap();
        assert!(
            futures_block_on(hasher.verify(&password, &hash))
                .unwrap()
                .is_match()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrency_is_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hasher = Arc::new(cheap(64, 1));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (hasher, running, peak) = (hasher.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                hasher
                    .run_limited(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                    .unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            peak.load(Ordering::SeqCst),
            2,
            "limit is 2 concurrent hashes"
        );
    }

    #[test]
    fn refuses_bad_parameters() {
        assert!(Argon2Hasher::new(Argon2Params::default(), 0).is_err());
        assert!(Argon2Hasher::new(Argon2Params::default(), usize::MAX).is_err());
        let too_little = Argon2Params {
            memory_kib: 1,
            ..Argon2Params::default()
        };
        assert!(Argon2Hasher::new(too_little, 1).is_err());
    }

    /// Polls a future to completion on this thread, with no runtime at all.
    fn futures_block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }
}
