//! auth-core's `AuthService` on the SQL stores: the whole flow, the races
//! through the service, cleanup, and data surviving a restart. Each
//! scenario runs on SQLite in memory, on a SQLite file and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use auth_core::{
    AuthError, AuthResponse, AuthService, Email, JwtCodec, Password, SignInRequest, SignUpRequest,
    clock::ManualClock,
    password::{Argon2Hasher, Argon2Params, PasswordHash},
    service::MAX_REFRESH_REUSES,
    service::{DEFAULT_REFRESH_REUSE_INTERVAL, ImportedUser},
    store::{SessionStore, UserStore},
    testing::cases::RACERS,
};
use time::macros::datetime;

const PASSWORD: &str = "correct horse battery staple";

/// The service on `store`, with cheap hashing (these tests are about the
/// stores), a clock the test moves and the default refresh-token reuse
/// interval.
fn service<S: UserStore + SessionStore + Clone>(store: S) -> (AuthService, ManualClock) {
    service_with_interval(store, DEFAULT_REFRESH_REUSE_INTERVAL)
}

/// [`service`], with strict rotation: every replay revokes.
fn strict_service<S: UserStore + SessionStore + Clone>(store: S) -> (AuthService, ManualClock) {
    service_with_interval(store, Duration::ZERO)
}

/// [`service`], with the given refresh-token reuse interval.
fn service_with_interval<S: UserStore + SessionStore + Clone>(
    store: S,
    interval: Duration,
) -> (AuthService, ManualClock) {
    let clock = ManualClock::new(datetime!(2030-01-01 12:00 UTC));
    let hasher = Argon2Hasher::new(
        Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        8,
    )
    .unwrap();
    let auth = AuthService::builder(store.clone(), store)
        .token_codec(JwtCodec::hs256(b"service-test-secret-of-32-bytes!", "iss", "aud").unwrap())
        .password_hasher(hasher)
        .clock(clock.clone())
        .refresh_reuse_interval(interval)
        .build()
        .unwrap();
    (auth, clock)
}

fn sign_up_request(email: &str) -> SignUpRequest {
    SignUpRequest {
        email: email.into(),
        password: Password::new(PASSWORD),
        name: Some("Ada".into()),
    }
}

async fn sign_in(
    auth: &AuthService,
    email: &str,
    password: &str,
) -> Result<AuthResponse, AuthError> {
    auth.sign_in(SignInRequest {
        email: email.into(),
        password: Password::new(password),
    })
    .await
    .and_then(auth_core::sign_in::SignIn::signed_in)
}

/// Sign-up, sign-in, authenticate, refresh, reuse detection, sign-out.
async fn whole_flow(auth: AuthService, clock: ManualClock) {
    let signed_up = auth
        .sign_up(sign_up_request("Ada@Example.com"))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    assert_eq!(signed_up.user.email.as_str(), "ada@example.com");
    let again = auth
        .sign_up(sign_up_request("ada@example.COM"))
        .await
        .and_then(auth_core::SignUp::signed_in);
    assert!(matches!(again, Err(AuthError::EmailTaken)), "{again:?}");

    let wrong = sign_in(&auth, "ada@example.com", "wrong password").await;
    assert!(
        matches!(wrong, Err(AuthError::InvalidCredentials)),
        "{wrong:?}"
    );
    let unknown = sign_in(&auth, "nobody@example.com", PASSWORD).await;
    assert!(
        matches!(unknown, Err(AuthError::InvalidCredentials)),
        "{unknown:?}"
    );
    let session = sign_in(&auth, "ADA@example.com", PASSWORD).await.unwrap();
    assert_eq!(session.user, signed_up.user);

    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(principal.user_id(), &signed_up.user.id);
    assert_eq!(auth.current_user(&principal).await.unwrap(), signed_up.user);

    // Refresh keeps the session and rotates the token.
    let refreshed = auth
        .refresh(session.refresh_token.expose_secret())
        .await
        .unwrap();
    let after = auth
        .authenticate(refreshed.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(after.session_id(), principal.session_id());

    // Replaying the rotated token after the reuse interval revokes the
    // whole session.
    clock.advance(time::Duration::seconds(11));
    let replay = auth.refresh(session.refresh_token.expose_secret()).await;
    assert!(
        matches!(replay, Err(AuthError::RefreshTokenReused)),
        "{replay:?}"
    );
    let revoked = auth
        .authenticate(refreshed.access_token.expose_secret())
        .await;
    assert!(
        matches!(revoked, Err(AuthError::SessionRevoked)),
        "{revoked:?}"
    );
    let newest = auth.refresh(refreshed.refresh_token.expose_secret()).await;
    assert!(
        newest.is_err(),
        "a revoked session's newest refresh token must fail"
    );

    // Sign-out revokes the sign-up session, leaving nothing else active.
    let first = auth
        .authenticate(signed_up.access_token.expose_secret())
        .await
        .unwrap();
    auth.sign_out(&first).await.unwrap();
    let gone = auth
        .authenticate(signed_up.access_token.expose_secret())
        .await;
    assert!(matches!(gone, Err(AuthError::SessionRevoked)), "{gone:?}");
    let gone = auth.refresh(signed_up.refresh_token.expose_secret()).await;
    assert!(
        gone.is_err(),
        "a signed-out session's refresh token must fail"
    );
}

/// [`RACERS`] concurrent sign-ups with one email (in different cases):
/// exactly one account.
async fn racing_sign_ups(auth: AuthService) {
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let auth = auth.clone();
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com"
            };
            tokio::spawn(async move {
                auth.sign_up(sign_up_request(email))
                    .await
                    .and_then(auth_core::SignUp::signed_in)
            })
        })
        .collect();
    let (mut created, mut taken) = (0, 0);
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => created += 1,
            Err(AuthError::EmailTaken) => taken += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, taken), (1, RACERS - 1), "(created, EmailTaken)");
    sign_in(&auth, "race@example.com", PASSWORD).await.unwrap();
}

/// Starts [`RACERS`] refreshes with one token at once; their results.
async fn race_refreshes(auth: &AuthService, token: &str) -> Vec<Result<AuthResponse, AuthError>> {
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.to_owned());
            tokio::spawn(async move { auth.refresh(&token).await })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }
    results
}

/// Strict rotation: [`RACERS`] concurrent refreshes with one token:
/// exactly one new token.
/// A loser that reached the store before the winner's rotation lost the
/// compare-and-swap (`InvalidRefreshToken`, session kept); one that looked
/// the token up after it found a rotated token, which strict reuse
/// detection cannot tell from a replay (`RefreshTokenReused`, session
/// revoked). Either way no loser gets tokens.
async fn racing_refreshes(auth: AuthService) {
    let signed_up = auth
        .sign_up(sign_up_request("refresh@example.com"))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    let token = signed_up.refresh_token.expose_secret().to_owned();
    let (mut winners, mut lost_the_swap, mut saw_reuse) = (Vec::new(), 0, 0);
    for result in race_refreshes(&auth, &token).await {
        match result {
            Ok(response) => winners.push(response),
            Err(AuthError::InvalidRefreshToken) => lost_the_swap += 1,
            Err(AuthError::RefreshTokenReused) => saw_reuse += 1,
            Err(other) => panic!("a losing refresh must be a 401, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent refresh may win");
    assert_eq!(lost_the_swap + saw_reuse, RACERS - 1);
    let winner = auth
        .authenticate(winners[0].access_token.expose_secret())
        .await;
    if saw_reuse == 0 {
        // Only lost races: that is not reuse, the winner's session lives on.
        winner.unwrap();
        auth.refresh(winners[0].refresh_token.expose_secret())
            .await
            .unwrap();
    } else {
        assert!(
            matches!(winner, Err(AuthError::SessionRevoked)),
            "{winner:?}"
        );
    }
}

/// Within the reuse interval, racing refreshes never revoke the session:
/// [`MAX_REFRESH_REUSES`] + 1 of them with one token (one rotation, the
/// rest reuses) each get a pair whose refresh token works. (Strict
/// rotation: [`racing_refreshes`].) A replay after the interval is reuse
/// again and revokes the session.
async fn racing_refreshes_within_the_interval(auth: AuthService, clock: ManualClock) {
    let signed_up = auth
        .sign_up(sign_up_request("tabs@example.com"))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    let token = signed_up.refresh_token.expose_secret().to_owned();
    let racers: Vec<_> = (0..MAX_REFRESH_REUSES + 1)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { auth.refresh(&token).await })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        winners.push(racer.await.unwrap().unwrap());
    }
    let mut nexts = Vec::new();
    for winner in &winners {
        nexts.push(
            auth.refresh(winner.refresh_token.expose_secret())
                .await
                .unwrap(),
        );
    }
    let next = nexts.pop().unwrap();
    auth.authenticate(next.access_token.expose_secret())
        .await
        .unwrap();
    clock.advance(time::Duration::seconds(11));
    let replay = auth.refresh(&token).await;
    assert!(
        matches!(replay, Err(AuthError::RefreshTokenReused)),
        "{replay:?}"
    );
    let after = auth.authenticate(next.access_token.expose_secret()).await;
    assert!(matches!(after, Err(AuthError::SessionRevoked)), "{after:?}");
}

/// Strict rotation: refreshes with one token, each after the previous
/// answered: the first wins, the second is reuse and revokes the session.
async fn sequential_replay_is_reuse(auth: AuthService) {
    let signed_up = auth
        .sign_up(sign_up_request("replay@example.com"))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    let token = signed_up.refresh_token.expose_secret();
    let first = auth.refresh(token).await.unwrap();
    let second = auth.refresh(token).await;
    assert!(
        matches!(second, Err(AuthError::RefreshTokenReused)),
        "{second:?}"
    );
    let revoked = auth.authenticate(first.access_token.expose_secret()).await;
    assert!(
        matches!(revoked, Err(AuthError::SessionRevoked)),
        "{revoked:?}"
    );
}

/// Ended sessions are deleted after the given age, active ones never.
async fn cleanup_of_ended_sessions(auth: AuthService, clock: ManualClock) {
    let kept = auth
        .sign_up(sign_up_request("kept@example.com"))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    let ended = auth
        .sign_up(sign_up_request("ended@example.com"))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    let principal = auth
        .authenticate(ended.access_token.expose_secret())
        .await
        .unwrap();
    auth.sign_out(&principal).await.unwrap();

    let week = Duration::from_secs(7 * 24 * 3600);
    assert_eq!(
        auth.delete_ended_sessions(week).await.unwrap(),
        0,
        "too recent"
    );
    clock.advance(time::Duration::days(7) + time::Duration::seconds(1));
    assert_eq!(auth.delete_ended_sessions(week).await.unwrap(), 1);
    // The deleted session's refresh token is now simply unknown.
    let unknown = auth.refresh(ended.refresh_token.expose_secret()).await;
    assert!(
        matches!(unknown, Err(AuthError::InvalidRefreshToken)),
        "{unknown:?}"
    );
    auth.refresh(kept.refresh_token.expose_secret())
        .await
        .unwrap();
}

/// The first hash and its password from one of auth-core's legacy
/// fixtures (made by Python's `bcrypt` and by Better Auth).
fn legacy_fixture(file: &str) -> (String, String) {
    let path = format!(
        "{}/../auth-core/tests/fixtures/legacy/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let first = &json["hashes"][0];
    (
        first["password"].as_str().unwrap().to_owned(),
        first["hash"].as_str().unwrap().to_owned(),
    )
}

/// Imported bcrypt and Better Auth hashes are stored and read back as they
/// were imported, and replaced by Argon2id on the first sign-in.
async fn imported_hashes_round_trip_and_upgrade<S: UserStore + SessionStore + Clone>(store: S) {
    let (auth, _) = service(store.clone());
    for (email, file) in [
        ("bcrypt@example.com", "bcrypt.json"),
        ("scrypt@example.com", "better-auth.json"),
    ] {
        let (password, hash) = legacy_fixture(file);
        let imported = PasswordHash::import(&hash).unwrap();
        auth.import_user(ImportedUser {
            email: email.into(),
            name: None,
            password_hash: imported.clone(),
            email_verified: true,
        })
        .await
        .unwrap();
        let email_parsed = Email::parse(email).unwrap();
        let stored = store
            .find_user_by_email(&email_parsed)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.password_hash, imported);
        assert!(stored.user.email_verified);
        assert!(matches!(
            sign_in(&auth, email, "wrong password").await,
            Err(AuthError::InvalidCredentials)
        ));
        sign_in(&auth, email, &password).await.unwrap();
        let upgraded = store
            .find_user_by_email(&email_parsed)
            .await
            .unwrap()
            .unwrap();
        assert!(upgraded.password_hash.as_phc().starts_with("$argon2id$"));
        sign_in(&auth, email, &password).await.unwrap();
    }
}

/// One `#[tokio::test]` per scenario for a backend; `$store` is an async
/// expression giving `Option<store>` (`None`: skipped).
macro_rules! scenarios {
    ($backend:ident, $store:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn whole_flow() {
                let Some(store) = $store else {
                    return common::skipped(concat!(stringify!($backend), "::whole_flow"));
                };
                let (auth, clock) = service(store);
                super::whole_flow(auth, clock).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn racing_sign_ups() {
                let Some(store) = $store else {
                    return common::skipped(concat!(stringify!($backend), "::racing_sign_ups"));
                };
                super::racing_sign_ups(service(store).0).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn racing_refreshes() {
                let Some(store) = $store else {
                    return common::skipped(concat!(stringify!($backend), "::racing_refreshes"));
                };
                super::racing_refreshes(strict_service(store).0).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn racing_refreshes_within_the_interval() {
                let Some(store) = $store else {
                    return common::skipped(concat!(
                        stringify!($backend),
                        "::racing_refreshes_within_the_interval"
                    ));
                };
                let (auth, clock) = service(store);
                super::racing_refreshes_within_the_interval(auth, clock).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sequential_replay_is_reuse() {
                let Some(store) = $store else {
                    return common::skipped(concat!(
                        stringify!($backend),
                        "::sequential_replay_is_reuse"
                    ));
                };
                super::sequential_replay_is_reuse(strict_service(store).0).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn cleanup_of_ended_sessions() {
                let Some(store) = $store else {
                    return common::skipped(concat!(
                        stringify!($backend),
                        "::cleanup_of_ended_sessions"
                    ));
                };
                let (auth, clock) = service(store);
                super::cleanup_of_ended_sessions(auth, clock).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn imported_hashes_round_trip_and_upgrade() {
                let Some(store) = $store else {
                    return common::skipped(concat!(
                        stringify!($backend),
                        "::imported_hashes_round_trip_and_upgrade"
                    ));
                };
                super::imported_hashes_round_trip_and_upgrade(store).await;
            }
        }
    };
}

scenarios!(sqlite_memory, Some(common::sqlite_memory().await));
scenarios!(sqlite_file, Some(common::sqlite_file().await));
#[cfg(feature = "postgres")]
scenarios!(postgres, common::postgres_store().await);

/// A SQLite file outlives its pool: users and sessions survive a restart.
#[tokio::test]
async fn sqlite_file_keeps_users_and_sessions_across_a_restart() {
    let path = common::sqlite_path();
    let store = common::sqlite_file_at(&path).await;
    let (auth, _) = service(store.clone());
    let signed_up = auth
        .sign_up(sign_up_request("ada@example.com"))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    drop(auth);
    store.pool().close().await;

    let (auth, _) = service(common::sqlite_file_at(&path).await);
    sign_in(&auth, "ada@example.com", PASSWORD).await.unwrap();
    auth.authenticate(signed_up.access_token.expose_secret())
        .await
        .unwrap();
    auth.refresh(signed_up.refresh_token.expose_secret())
        .await
        .unwrap();
}
