//! Issue 28: what a passkey sign-in costs the server, beside a password.
//!
//! On `MemoryStore`, one user with one passkey (the software
//! authenticator of `auth_core::testing`, ES256):
//!
//! - `sign-in`: [`AuthService::sign_in_with_passkey`] with a genuine
//!   assertion, made beforehand and not timed: the challenge used up, the
//!   passkey looked up, the client data and authenticator data checked,
//!   the ES256 signature verified, the counter moved by compare-and-swap,
//!   the second factors asked and a session opened (access and refresh
//!   token);
//! - `options`: [`AuthService::passkey_sign_in_options`] alone, a
//!   challenge drawn and kept;
//! - for scale, `password hash`: one Argon2id verification with the
//!   default parameters, what every password sign-in costs.
//!
//! Run with `cargo bench -p auth-core --bench passkeys --features testing`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use auth_core::{
    AuthService, JwtCodec, MemoryStore, Password, SignIn, SignUpRequest, password::PasswordHasher,
    service::Passkeys, testing::SoftAuthenticator,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = MemoryStore::new();
    let auth = AuthService::builder(store.clone(), store.clone())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .credentials(store)
        .sign_in_throttle(None)
        .client_rate_limit(None)
        .passkeys(Passkeys::new("example.com", ["https://example.com"]))
        .build()
        .unwrap();
    let password = Password::new("correct horse battery");
    let mut authenticator = SoftAuthenticator::new("example.com", "https://example.com");
    runtime.block_on(async {
        let session = auth
            .sign_up(SignUpRequest {
                email: "ada@example.com".into(),
                password: password.clone(),
                name: None,
            })
            .await
            .unwrap()
            .signed_in()
            .unwrap();
        auth.mark_email_verified(&session.user.id, &session.user.email)
            .await
            .unwrap();
        let principal = auth
            .authenticate(session.access_token.expose_secret())
            .await
            .unwrap();
        let options = auth.passkey_registration_options(&principal).await.unwrap();
        let created = authenticator.create(&options.options);
        auth.register_passkey(
            &principal,
            &options.challenge_id,
            &serde_json::from_value(created).unwrap(),
            None,
        )
        .await
        .unwrap();
    });

    let mut group = c.benchmark_group("passkeys");
    group.bench_function("sign-in", |b| {
        b.iter_batched(
            || {
                let options = runtime.block_on(auth.passkey_sign_in_options()).unwrap();
                let assertion = authenticator.get(&options.options);
                (
                    options.challenge_id,
                    serde_json::from_value(assertion).unwrap(),
                )
            },
            |(challenge_id, assertion)| {
                let signed_in = runtime
                    .block_on(auth.sign_in_with_passkey(&challenge_id, &assertion))
                    .unwrap();
                assert!(matches!(signed_in, SignIn::Complete(_)));
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("options", |b| {
        b.iter(|| {
            runtime
                .block_on(black_box(auth.passkey_sign_in_options()))
                .unwrap()
        });
    });
    let hasher = auth_core::password::Argon2Hasher::default();
    let hash = runtime.block_on(hasher.hash(&password)).unwrap();
    group.sample_size(10);
    group.bench_function("password hash", |b| {
        b.iter(|| runtime.block_on(hasher.verify(&password, &hash)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
