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

use std::sync::{Arc, Mutex};

use auth_core::{
    AuthService, JwtCodec, Password, SignUpRequest,
    password::{Argon2Hasher, Argon2Params},
    store::{SessionStore, UserStore},
};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

fn service<S: UserStore + SessionStore + Clone>(store: S) -> AuthService {
    let cheap = Argon2Hasher::new(
        Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        1,
    )
    .unwrap();
    AuthService::builder(store.clone(), store)
        .token_codec(JwtCodec::hs256(b"bench-secret-of-at-least-32-bytes", "iss", "aud").unwrap())
        .password_hasher(cheap)
        .build()
        .unwrap()
}

/// A signed-up user's refresh token.
fn refresh_token(runtime: &Runtime, auth: &AuthService) -> String {
    runtime.block_on(async {
        auth.sign_up(SignUpRequest {
            email: "bench@example.com".into(),
            password: Password::new("correct horse battery staple"),
            name: None,
        })
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap()
        .refresh_token
        .expose_secret()
        .to_owned()
    })
}

fn bench_store(c: &mut Criterion, runtime: &Runtime, name: &str, auth: AuthService) {
    let current = Arc::new(Mutex::new(refresh_token(runtime, &auth)));
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
