//! `Argon2Hasher`'s memory is bounded by construction: once warmed up,
//! hashing and verifying allocate next to nothing, however many times they
//! run (issue 11: a fresh 19 MiB block per hash, kept by glibc after it was
//! freed, made a sign-in flood an out-of-memory attack).
//!
//! A test binary of its own, because the counting allocator is global: it
//! sees every allocation of the process.
#![allow(missing_docs, clippy::unwrap_used)]

use std::alloc::System;

use auth_core::{
    Password,
    password::{Argon2Hasher, Argon2Params, PasswordHasher},
};
use cap::Cap;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const PERMITS: usize = 2;
const ROUNDS: usize = 8;
const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashing_reuses_its_memory() {
    // 4 MiB, 1 pass: a smaller block than the default 19 MiB keeps this
    // debug-build test quick; what is counted does not depend on its size.
    let params = Argon2Params {
        memory_kib: 4096,
        iterations: 1,
        parallelism: 1,
    };
    let block = params.memory_kib as usize * 1024;
    let hasher = Argon2Hasher::new(params, PERMITS).unwrap();
    let password = Password::new("correct horse battery staple");

    // Warm-up: both permits busy at once, so that both buffers exist. On a
    // loaded machine one of a pair may finish before the other starts and
    // leave a single buffer, hence several pairs (and one block of slack
    // below, for the unlucky case where no pair overlapped).
    let mut hash = None;
    for _ in 0..ROUNDS {
        let (first, second) = tokio::join!(hasher.hash(&password), hasher.hash(&password));
        second.unwrap();
        hash = Some(first.unwrap());
    }
    let hash = hash.unwrap();
    assert!(hasher.verify(&password, &hash).await.unwrap().is_match());

    let before = ALLOCATOR.total_allocated();
    for _ in 0..ROUNDS {
        let (new, verified) = tokio::join!(hasher.hash(&password), hasher.verify(&password, &hash));
        new.unwrap();
        assert!(verified.unwrap().is_match());
    }
    let allocated = ALLOCATOR.total_allocated() - before;
    let peak = ALLOCATOR.max_allocated();
    eprintln!("after warm-up: {allocated} bytes allocated; peak in use: {peak} bytes");
    // The defect this guards against allocated a block per hash: 16 blocks
    // here. At most one late second buffer is allowed.
    assert!(
        allocated < block + MIB,
        "{allocated} bytes allocated by {ROUNDS} hashes and {ROUNDS} verifications after \
         warm-up (one Argon2 block is {block} bytes)"
    );
    // The peak, warm-up included: one buffer per permit and a little more.
    assert!(
        peak < PERMITS * block + 4 * MIB,
        "peak {peak} bytes for {PERMITS} permits of {block} bytes"
    );
}
