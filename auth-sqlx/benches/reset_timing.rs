//! Whether `request_password_reset` shows, by its timing, if an address is
//! registered: the call for a known address against one for an unknown
//! address, on a SQLite file with the outbox mailer and the mail queue in
//! the same file, as the example servers run (the call queues one job for
//! either; the worker looks the address up, makes the token and the
//! message, so both calls should cost the same). The ratio of the two means is the figure; it is
//! measured here and not asserted in a test, where timing is noise. Each
//! is timed paced (20 ms between calls) and back to back (bursts of 100
//! calls, where the background work of the earlier calls competes with
//! the next), alternating with untimed calls for the other address so
//! that both see the same background work.
//!
//! ```sh
//! cargo bench -p auth-sqlx --all-features --bench reset_timing
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod shared;

use auth_core::{AccountFlows, AuthService, OutboxMailer, Password, SignUpRequest};
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
        let auth = AuthService::builder(store.clone(), store.clone())
            .token_codec(shared::codec())
            .password_hasher(shared::cheap_hasher())
            .client_rate_limit(None)
            .account_flows(
                AccountFlows::new(
                    store.clone(),
                    OutboxMailer::new(dir.path().join("outbox"), "bench@example.com"),
                    "http://127.0.0.1:8080",
                )
                .mail_queue(store)
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
    // Waits until the worker has sent or dropped every queued job.
    let settle = || {
        runtime.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(60);
            while auth.mail_queue_status().await.unwrap().queued > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    };
    let mut group = c.benchmark_group("request_password_reset");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    for (name, timed_address, other_address) in
        [("known", KNOWN, UNKNOWN), ("unknown", UNKNOWN, KNOWN)]
    {
        for paced in [true, false] {
            let name = if paced {
                name.to_owned()
            } else {
                format!("{name}_back_to_back")
            };
            group.bench_function(name, |b| {
                // Only the calls for one address are timed, but each is
                // followed by an untimed call for the other: both variants
                // give the worker the same work, so neither is timed
                // against a heavier backlog than the other. Paced, the
                // background work is let finish between calls, as the
                // per-address limit (off here) would space real requests.
                // Back to back, calls come in bursts of BURST pairs with
                // no pause: each meets the backlog the earlier ones of its
                // burst left. After a burst the queue is let drain
                // (untimed), so that every burst starts alike.
                b.iter_custom(|iterations| {
                    let mut timed = Duration::ZERO;
                    for call in 1..=iterations {
                        runtime.block_on(async {
                            let start = Instant::now();
                            auth.request_password_reset(timed_address).await.unwrap();
                            timed += start.elapsed();
                            auth.request_password_reset(other_address).await.unwrap();
                            if paced {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        });
                        if !paced && call % BURST == 0 {
                            settle();
                        }
                    }
                    timed
                })
            });
            settle();
        }
    }
    group.finish();
}

const KNOWN: &str = "known@example.com";
const UNKNOWN: &str = "unknown@example.com";

/// Pairs of calls per burst in the back-to-back variants.
const BURST: u64 = 100;

criterion_group!(benches, bench);
criterion_main!(benches);
