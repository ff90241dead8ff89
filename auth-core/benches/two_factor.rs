//! Issue 27: what the second step of a sign-in costs, beside a password.
//!
//! On `MemoryStore`, with a clock the bench moves 30 s per iteration so
//! that every TOTP code is a new step:
//!
//! - `challenge + totp`: [`AuthService::finish_sign_in`] for a user with
//!   two-factor on (the factors' lookups and a stored challenge), then
//!   [`AuthService::verify_second_factor`] with the right code: the
//!   challenge's try counted, the secret opened (XChaCha20-Poly1305), up
//!   to three HMAC-SHA1s, the last step moved by compare-and-swap, the
//!   challenge used up and a session opened (access and refresh token);
//! - `challenge + wrong backup code + totp`: the same with a wrong backup
//!   code first; the difference is one backup-code check (a derived key,
//!   one HMAC-SHA256 and a lookup) and one try counted;
//! - for scale, `password hash`: one Argon2id verification with the
//!   default parameters, what every password sign-in costs.
//!
//! Run with `cargo bench -p auth-core --bench two_factor --features two-factor`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    hint::black_box,
    sync::{Arc, Mutex},
};

use auth_core::{
    AuthService, EncryptionKey, JwtCodec, MemoryStore, Password, SignIn, SignUpRequest,
    clock::Clock, password::PasswordHasher, service::TwoFactor,
};
use criterion::{Criterion, criterion_group, criterion_main};
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Secret};

#[derive(Clone)]
struct SteppingClock(Arc<Mutex<OffsetDateTime>>);

impl Clock for SteppingClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl SteppingClock {
    fn step(&self) -> u64 {
        let mut now = self.0.lock().unwrap();
        *now += time::Duration::seconds(30);
        u64::try_from(now.unix_timestamp()).unwrap()
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clock = SteppingClock(Arc::new(Mutex::new(OffsetDateTime::now_utc())));
    let store = MemoryStore::new();
    let auth = AuthService::builder(store.clone(), store.clone())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .credentials(store)
        .clock(clock.clone())
        .sign_in_throttle(None)
        .client_rate_limit(None)
        .two_factor(TwoFactor::new("Bench", EncryptionKey::generate().unwrap()))
        .build()
        .unwrap();
    let password = Password::new("correct horse battery");
    let (user, totp) = runtime.block_on(async {
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
        let setup = auth
            .setup_two_factor(&principal, Some(&password))
            .await
            .unwrap();
        let secret = Secret::try_from_base32(setup.secret.expose_secret()).unwrap();
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(secret)
            .build()
            .unwrap();
        let now = clock.step();
        auth.enable_two_factor(&principal, &totp.generate(now).to_string())
            .await
            .unwrap();
        (session.user.id, totp)
    });
    let challenge = || async {
        match auth.finish_sign_in(&user).await.unwrap() {
            SignIn::SecondFactorRequired(challenge) => challenge,
            _ => panic!("two-factor is on"),
        }
    };

    // Every iteration ends its challenge with a right code, so that no
    // challenge is left behind to slow the store's scans.
    let sign_in = |wrong_first: bool| {
        let (auth, totp, clock, challenge) = (&auth, &totp, &clock, &challenge);
        async move {
            let code = totp.generate(clock.step()).to_string();
            let challenge = challenge().await;
            let token = challenge.challenge_token.expose_secret();
            if wrong_first {
                let wrong = auth
                    .verify_second_factor(token, "backup_code", "0000-0000-0000-0000")
                    .await;
                assert!(wrong.is_err());
            }
            auth.verify_second_factor(token, "totp", &code)
                .await
                .unwrap()
        }
    };
    let mut group = c.benchmark_group("two-factor");
    group.bench_function("challenge + totp", |b| {
        b.iter(|| runtime.block_on(black_box(sign_in(false))));
    });
    group.bench_function("challenge + wrong backup code + totp", |b| {
        b.iter(|| runtime.block_on(black_box(sign_in(true))));
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
