//! Argon2id hash and verify with the default (OWASP) parameters:
//! m = 19 456 KiB, t = 2, p = 1.
//!
//! Run with `cargo bench -p auth-core --bench hashing`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::{hint::black_box, time::Duration};

use auth_core::{Argon2Hasher, Password, PasswordHasher};
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
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
