//! Issue 29: what a request with an API key costs the server, beside one
//! with an access token.
//!
//! On `MemoryStore`, one user with one session and one key, through
//! [`Verifier::authenticate`](auth_core::Verifier::authenticate) (the
//! adapters' check of the application's routes):
//!
//! - `jwt, store`: an HS256 access token, its session asked of the store;
//! - `key, store`: the key's SHA-256 and one store lookup by its id part;
//! - `jwt, cached` and `key, cached`: the same with a 60 s cache, so that
//!   neither asks the store.
//!
//! The key's `last_used_at` is written once a minute at most, so not in
//! these loops. Run with
//! `cargo bench -p auth-core --bench api_keys --features api-keys`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{hint::black_box, time::Duration};

use auth_core::{AuthService, JwtCodec, MemoryStore, Password, SignUpRequest, service::ApiKeys};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("api_keys");
    for (cache, label) in [(0, "store"), (60, "cached")] {
        let auth = AuthService::with_store(MemoryStore::new())
            .token_codec(
                JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap(),
            )
            .session_cache_ttl(Duration::from_secs(cache))
            .sign_in_throttle(None)
            .client_rate_limit(None)
            .api_keys(ApiKeys::new())
            .build()
            .unwrap();
        let (token, key) = runtime.block_on(async {
            let session = auth
                .sign_up(SignUpRequest {
                    email: "ada@example.com".into(),
                    password: Password::new("correct horse battery"),
                    name: None,
                })
                .await
                .unwrap()
                .signed_in()
                .unwrap();
            let token = session.access_token.expose_secret().to_owned();
            let principal = auth.authenticate(&token).await.unwrap();
            let made = auth
                .create_api_key(&principal, "bench", None)
                .await
                .unwrap();
            (token, made.key.expose_secret().to_owned())
        });
        let verifier = auth.verifier();
        for (what, bearer) in [("jwt", &token), ("key", &key)] {
            runtime.block_on(verifier.authenticate(bearer)).unwrap();
            group.bench_function(format!("{what}, {label}"), |b| {
                b.iter(|| {
                    runtime
                        .block_on(verifier.authenticate(black_box(bearer)))
                        .unwrap()
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
