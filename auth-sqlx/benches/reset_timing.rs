//! Whether `request_password_reset` shows, by its timing, if an address is
//! registered: the call for a known address against one for an unknown
//! address, on a SQLite file with the outbox mailer (the token, its
//! storage and the message are made in the background, so both calls
//! should cost the same). The ratio of the two means is the figure; it is
//! measured here and not asserted in a test, where timing is noise. Each
//! is timed paced (20 ms between calls) and back to back (a burst, where
//! the background work of earlier calls competes with the next call).
//!
//! ```sh
//! cargo bench -p auth-sqlx --all-features --bench reset_timing
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use auth_core::{
    AccountFlows, AuthService, JwtCodec, OutboxMailer, Password, SignUpRequest,
    password::{Argon2Hasher, Argon2Params},
};
use auth_sqlx::SqliteStore;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

fn bench(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let auth = runtime.block_on(async {
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let cheap = Argon2Hasher::new(
            Argon2Params {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            1,
        )
        .unwrap();
        let auth = AuthService::builder(store.clone(), store.clone())
            .token_codec(
                JwtCodec::hs256(b"bench-secret-of-at-least-32-bytes", "iss", "aud").unwrap(),
            )
            .password_hasher(cheap)
            .client_rate_limit(None)
            .account_flows(
                AccountFlows::new(
                    store,
                    OutboxMailer::new(dir.path().join("outbox"), "bench@example.com"),
                    "http://127.0.0.1:8080",
                )
                .mail_rate_limit(None),
            )
            .build()
            .unwrap();
        auth.sign_up(SignUpRequest {
            email: "known@example.com".into(),
            password: Password::new("correct horse battery staple"),
            name: None,
        })
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
        auth
    });
    let mut group = c.benchmark_group("request_password_reset");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    for (name, address) in [
        ("known", "known@example.com"),
        ("unknown", "unknown@example.com"),
    ] {
        for paced in [true, false] {
            let name = if paced {
                name.to_owned()
            } else {
                format!("{name}_back_to_back")
            };
            group.bench_function(name, |b| {
                // Only the call is timed. Paced, the background work a
                // known address starts is let finish between calls, as the
                // per-address limit (off here) would space real requests.
                // Back to back, each call meets the backlog the earlier
                // ones left: what a burst of requests sees.
                b.iter_custom(|iterations| {
                    runtime.block_on(async {
                        let mut timed = Duration::ZERO;
                        for _ in 0..iterations {
                            let start = Instant::now();
                            auth.request_password_reset(address).await.unwrap();
                            timed += start.elapsed();
                            if paced {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                        timed
                    })
                })
            });
            // Let the backlog of one variant drain before the next starts.
            runtime.block_on(async { tokio::time::sleep(Duration::from_secs(2)).await });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
