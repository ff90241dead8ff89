//! What one refresh costs on each store: `AuthService::refresh` rotates
//! the session's refresh token (a compare-and-swap on the session row,
//! the old hash kept for the reuse interval, the client and the time of
//! the refresh recorded) and signs a new access token. Each iteration
//! presents the token the previous one got, as a client does.
//!
//! ```sh
//! cargo bench -p auth-sqlx --all-features --bench refresh
//! # PostgreSQL too:
//! AUTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p auth-sqlx --all-features --bench refresh
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "common/mod.rs"]
mod shared;

use shared::{service, signed_up};

use std::sync::{Arc, Mutex};

use auth_core::AuthService;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

fn bench_store(c: &mut Criterion, runtime: &Runtime, name: &str, auth: AuthService) {
    let current = Arc::new(Mutex::new(
        signed_up(runtime, &auth)
            .refresh_token
            .expose_secret()
            .to_owned(),
    ));
    c.bench_function(&format!("refresh/{name}"), |b| {
        b.to_async(runtime).iter(|| async {
            let presented = current.lock().unwrap().clone();
            let fresh = auth.refresh(&presented).await.unwrap();
            *current.lock().unwrap() = fresh.refresh_token.expose_secret().to_owned();
        })
    });
}

fn refresh(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The tests' helpers: fresh, migrated databases.
    for (name, store) in [
        ("sqlite-memory", runtime.block_on(common::sqlite_memory())),
        ("sqlite-file", runtime.block_on(common::sqlite_file())),
    ] {
        bench_store(c, &runtime, name, service(store));
    }
    // Says "skipped: no PostgreSQL" itself when the variable is not set.
    #[cfg(feature = "postgres")]
    if let Some(store) = runtime.block_on(common::postgres_store()) {
        bench_store(c, &runtime, "postgres", service(store));
    }
}

criterion_group!(benches, refresh);
criterion_main!(benches);
