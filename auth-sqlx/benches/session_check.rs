//! The per-request cost a SQL store adds: `AuthService::authenticate`
//! (HS256 verification plus the "is this session active" lookup) on each
//! store, against `authenticate_stateless` (no lookup) as the floor.
//!
//! ```sh
//! cargo bench -p auth-sqlx --all-features --bench session_check
//! # PostgreSQL too:
//! AUTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p auth-sqlx --all-features --bench session_check
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "common/mod.rs"]
mod shared;

use shared::{service, signed_up};

use auth_core::{AuthService, MemoryStore};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

fn bench_store(c: &mut Criterion, runtime: &Runtime, name: &str, auth: AuthService, token: String) {
    c.bench_function(&format!("authenticate/{name}"), |b| {
        b.to_async(runtime)
            .iter(|| async { auth.authenticate(&token).await.unwrap() })
    });
}

fn session_check(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let memory = service(MemoryStore::new());
    let token = signed_up(&runtime, &memory)
        .access_token
        .expose_secret()
        .to_owned();
    c.bench_function("authenticate_stateless (floor)", |b| {
        b.iter(|| memory.authenticate_stateless(&token).unwrap())
    });
    bench_store(c, &runtime, "memory", memory, token);

    // The tests' helpers: fresh, migrated databases.
    for (name, store) in [
        ("sqlite-memory", runtime.block_on(common::sqlite_memory())),
        ("sqlite-file", runtime.block_on(common::sqlite_file())),
    ] {
        let auth = service(store);
        let token = signed_up(&runtime, &auth)
            .access_token
            .expose_secret()
            .to_owned();
        bench_store(c, &runtime, name, auth, token);
    }

    // Says "skipped: no PostgreSQL" itself when the variable is not set.
    #[cfg(feature = "postgres")]
    if let Some(store) = runtime.block_on(common::postgres_store()) {
        let auth = service(store);
        let token = signed_up(&runtime, &auth)
            .access_token
            .expose_secret()
            .to_owned();
        bench_store(c, &runtime, "postgres", auth, token);
    }
}

criterion_group!(benches, session_check);
criterion_main!(benches);
