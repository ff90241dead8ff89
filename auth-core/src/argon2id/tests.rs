//! Unit tests of the hasher; the allocation count is in
//! `tests/hasher_memory.rs` (it needs a global allocator of its own).

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
        assert_eq!(crate::http::HttpError::status_for(&err), 500, "{corrupt}");
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
        assert_eq!(crate::http::HttpError::status_for(&err), 500, "{absurd}");
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
    let worker =
        futures_block_on(hasher.run_limited(|| (std::thread::current().id(), Duration::ZERO)))
            .unwrap();
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
                    ((), Duration::ZERO)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_up_to_the_floor_holds_no_permit() {
    let hasher = Argon2Hasher::new(Argon2Params::default(), 1).unwrap();
    let (worked, done_working) = tokio::sync::oneshot::channel();
    let waiting = {
        let hasher = hasher.clone();
        tokio::spawn(async move {
            hasher
                .run_limited(move || {
                    let _ = worked.send(());
                    ((), Duration::from_secs(1))
                })
                .await
        })
    };
    done_working.await.unwrap();
    // The only permit is free again while the first job waits.
    hasher.run_limited(|| ((), Duration::ZERO)).await.unwrap();
    assert!(!waiting.is_finished(), "the first job did not wait");
    waiting.await.unwrap().unwrap();
}
