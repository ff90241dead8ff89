//! Argon2id hash and verify with the default (OWASP) parameters:
//! m = 19 456 KiB, t = 2, p = 1; through `Argon2Hasher` (on tokio's
//! blocking pool, within its permits), and `raw_verify`: the `argon2` crate
//! itself on the calling thread, the reference rate for sign-in throughput;
//! and that on every CPU at once.
//!
//! Run with `cargo bench -p auth-core --bench hashing`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::{hint::black_box, time::Duration};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version};
use auth_core::{
    Password,
    password::{Argon2Hasher, PasswordHasher},
};
use criterion::{Criterion, criterion_group, criterion_main};

fn hashing(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let hasher = Argon2Hasher::default();
    let password = Password::new("correct horse battery staple");
    let hash = runtime.block_on(hasher.hash(&password)).unwrap();

    let mut group = c.benchmark_group("argon2id_owasp");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("hash", |b| {
        b.iter(|| runtime.block_on(hasher.hash(black_box(&password))).unwrap())
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            runtime
                .block_on(hasher.verify(black_box(&password), &hash))
                .unwrap()
        })
    });
    // The argon2 crate alone: no runtime, no permit, no pooled buffer (it
    // allocates its 19 MiB per call), no verification floor.
    let raw = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 2, 1, None).unwrap(),
    );
    let secret = password.expose_secret().as_bytes();
    let raw_hash = raw.hash_password(secret).unwrap().to_string();
    group.bench_function("raw_verify", |b| {
        b.iter(|| {
            raw.verify_password(black_box(secret), raw_hash.as_str())
                .unwrap()
        })
    });
    // As many raw verifies at once as there are CPUs (the default permits):
    // one iteration is all of them, so the rate is CPUs / time. What the
    // hardware gives when every permit is busy, which is less than CPUs
    // times the lone verify's rate where CPUs share caches or cores.
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    group.bench_function(format!("raw_verify_x{cpus}_in_parallel"), |b| {
        b.iter(|| {
            std::thread::scope(|scope| {
                for _ in 0..cpus {
                    scope.spawn(|| raw.verify_password(black_box(secret), raw_hash.as_str()));
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
