//! The default password hasher: Argon2id, off the async executor, bounded.

use std::{fmt, sync::Arc};

use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use tokio::sync::Semaphore;

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
///   further calls wait their turn. A flood of sign-ins therefore costs at
///   most `max_concurrent × memory_kib` of memory, not one 19 MiB block per
///   request.
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
        Ok(Self {
            params,
            limiter: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
        })
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

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Whether a verified hash should be replaced by one with this hasher's
    /// parameters.
    fn needs_rehash(&self, parsed: &argon2::PasswordHash) -> bool {
        if parsed.algorithm.as_str() != argon2::ARGON2ID_IDENT.as_str()
            || parsed.version != Some(Version::V0x13.into())
        {
            return true;
        }
        match Params::try_from(parsed) {
            Ok(stored) => {
                stored.m_cost() < self.params.m_cost()
                    || stored.t_cost() < self.params.t_cost()
                    || stored.p_cost() < self.params.p_cost()
            }
            Err(_) => true,
        }
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
        Self {
            params: Params::DEFAULT,
            limiter: Arc::new(Semaphore::new(cpus)),
            max_concurrent: cpus,
        }
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

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        refuse_overlong(password)?;
        let password = password.clone();
        let params = self.params.clone();
        let phc = self
            .run_limited(move || {
                use argon2::PasswordHasher as _;
                Self::argon2(params)
                    .hash_password(password.expose_secret().as_bytes())
                    .map(|hash| hash.to_string())
            })
            .await?
            .map_err(AuthError::internal)?;
        PasswordHash::from_phc(phc)
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, AuthError> {
        refuse_overlong(password)?;
        let parsed = argon2::PasswordHash::new(hash.as_phc()).map_err(AuthError::internal)?;
        let needs_rehash = self.needs_rehash(&parsed);
        let password = password.clone();
        let matched = self
            .run_limited(move || {
                use argon2::PasswordVerifier as _;
                // The hash's own algorithm, version and parameters are used,
                // so hashes made with older settings still verify.
                match Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                {
                    Ok(()) => Ok(true),
                    Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await?
            .map_err(AuthError::internal)?;
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
        let hash = PasswordHash::from_phc("$argon2id$garbage").unwrap();
        let err = cheap(64, 1)
            .verify(&Password::new("whatever1"), &hash)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 500);
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
