//! The sign-in throttle and the session cache, through the service.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use auth_core::{AuthError, limits::SignInThrottle, store::SessionStore};
use common::*;

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_email_known_or_not() {
    let store = auth_core::MemoryStore::new();
    let clock = clock();
    let auth = builder(&store)
        .clock(clock.clone())
        .sign_in_throttle(Some(SignInThrottle::new(3, Duration::from_secs(60))))
        .build()
        .unwrap();
    sign_up(&auth, "ada@example.com").await;

    for email in ["ada@example.com", "nobody@example.com"] {
        for _ in 0..3 {
            let wrong = auth.sign_in(sign_in_request(email, "wrong password")).await;
            assert!(
                matches!(wrong, Err(AuthError::InvalidCredentials)),
                "{wrong:?}"
            );
        }
        let throttled = auth.sign_in(sign_in_request(email, PASSWORD)).await;
        let Err(AuthError::TooManyAttempts { retry_after }) = throttled else {
            panic!("{email}: {throttled:?}");
        };
        assert!((1..=61).contains(&retry_after.as_secs()), "{retry_after:?}");
    }
    // Another address is not affected, and the window ends.
    sign_up(&auth, "grace@example.com").await;
    auth.sign_in(sign_in_request("grace@example.com", PASSWORD))
        .await
        .unwrap();
    clock.advance(time::Duration::seconds(61));
    auth.sign_in(sign_in_request("ADA@example.com", PASSWORD))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_count() {
    let store = auth_core::MemoryStore::new();
    let auth = builder(&store)
        .sign_in_throttle(Some(SignInThrottle::new(2, Duration::from_secs(60))))
        .build()
        .unwrap();
    sign_up(&auth, "ada@example.com").await;
    for _ in 0..5 {
        let wrong = auth
            .sign_in(sign_in_request("ada@example.com", "wrong password"))
            .await;
        assert!(matches!(wrong, Err(AuthError::InvalidCredentials)));
        auth.sign_in(sign_in_request("ada@example.com", PASSWORD))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn throttle_settings_are_checked() {
    let store = auth_core::MemoryStore::new();
    for bad in [
        SignInThrottle::new(0, Duration::from_secs(60)),
        SignInThrottle::new(3, Duration::ZERO),
        SignInThrottle::new(3, Duration::from_secs(2 * 24 * 3600)),
    ] {
        let built = builder(&store).sign_in_throttle(Some(bad)).build();
        assert!(matches!(built, Err(AuthError::InvalidConfig(_))), "{bad:?}");
    }
    let built = builder(&store)
        .session_cache_ttl(Duration::from_secs(61))
        .build();
    assert!(matches!(built, Err(AuthError::InvalidConfig(_))));
}

#[tokio::test]
async fn the_cache_trusts_a_session_for_its_ttl_and_forgets_it_on_sign_out() {
    let store = auth_core::MemoryStore::new();
    let clock = clock();
    // Strict rotation, so that a replay revokes at once, while the cache
    // entry is fresh.
    let auth = builder(&store)
        .clock(clock.clone())
        .session_cache_ttl(Duration::from_secs(5))
        .refresh_reuse_interval(Duration::ZERO)
        .build()
        .unwrap();
    let first = sign_up(&auth, "ada@example.com").await;
    let token = first.access_token.expose_secret();
    let principal = auth.authenticate(token).await.unwrap();

    // Revoked behind the service's back (another process, an admin's SQL):
    // trusted until the cache entry is 5 s old, then refused.
    store
        .revoke_session(
            principal.session_id().expect("own tokens have a session"),
            auth_core::clock::Clock::now(&clock),
        )
        .await
        .unwrap();
    auth.authenticate(token).await.unwrap();
    clock.advance(time::Duration::seconds(5));
    let stale = auth.authenticate(token).await;
    assert!(matches!(stale, Err(AuthError::SessionRevoked)), "{stale:?}");

    // Signed out through the service: refused at once, cache or not.
    let second = sign_up(&auth, "grace@example.com").await;
    let token = second.access_token.expose_secret();
    let principal = auth.authenticate(token).await.unwrap();
    auth.sign_out(&principal).await.unwrap();
    let gone = auth.authenticate(token).await;
    assert!(matches!(gone, Err(AuthError::SessionRevoked)), "{gone:?}");

    // Reuse detection through the service: also at once.
    let third = sign_up(&auth, "alan@example.com").await;
    auth.authenticate(third.access_token.expose_secret())
        .await
        .unwrap();
    let refreshed = auth
        .refresh(third.refresh_token.expose_secret())
        .await
        .unwrap();
    auth.authenticate(refreshed.access_token.expose_secret())
        .await
        .unwrap();
    let replay = auth.refresh(third.refresh_token.expose_secret()).await;
    assert!(matches!(replay, Err(AuthError::RefreshTokenReused)));
    let after = auth
        .authenticate(refreshed.access_token.expose_secret())
        .await;
    assert!(matches!(after, Err(AuthError::SessionRevoked)), "{after:?}");

    // Sign-out everywhere: every cached session of the user goes.
    let fourth = sign_up(&auth, "edsger@example.com").await;
    let principal = auth
        .authenticate(fourth.access_token.expose_secret())
        .await
        .unwrap();
    auth.sign_out_everywhere(principal.user_id()).await.unwrap();
    let everywhere = auth.authenticate(fourth.access_token.expose_secret()).await;
    assert!(matches!(everywhere, Err(AuthError::SessionRevoked)));
}

#[tokio::test]
async fn without_a_cache_a_revocation_elsewhere_counts_at_once() {
    let store = auth_core::MemoryStore::new();
    let clock = clock();
    let auth = builder(&store).clock(clock.clone()).build().unwrap();
    let signed_up = sign_up(&auth, "ada@example.com").await;
    let token = signed_up.access_token.expose_secret();
    let principal = auth.authenticate(token).await.unwrap();
    store
        .revoke_session(
            principal.session_id().expect("own tokens have a session"),
            auth_core::clock::Clock::now(&clock),
        )
        .await
        .unwrap();
    assert!(matches!(
        auth.authenticate(token).await,
        Err(AuthError::SessionRevoked)
    ));
}

/// NIST SP 800-63B: at most 100 consecutive failures. The short window
/// alone (10 per 15 minutes) would let a patient guesser go on for ever.
#[tokio::test]
async fn a_hundred_failures_lock_the_account_for_longer() {
    let store = auth_core::MemoryStore::new();
    let clock = clock();
    let auth = builder(&store).clock(clock.clone()).build().unwrap();
    sign_up(&auth, "ada@example.com").await;
    for _ in 0..10 {
        for _ in 0..10 {
            let wrong = auth
                .sign_in(sign_in_request("ada@example.com", "wrong password"))
                .await;
            assert!(
                matches!(wrong, Err(AuthError::InvalidCredentials)),
                "{wrong:?}"
            );
        }
        clock.advance(time::Duration::minutes(15));
    }
    // A fresh short window, but the hundred are used up: even the right
    // password waits, for most of a day.
    let locked = auth
        .sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await;
    let Err(AuthError::TooManyAttempts { retry_after }) = locked else {
        panic!("the 101st attempt was not refused: {locked:?}");
    };
    assert!(
        retry_after > Duration::from_secs(20 * 3600),
        "{retry_after:?}"
    );
    // An administrator can lift it.
    auth.unlock_sign_in("ada@example.com").await.unwrap();
    auth.sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await
        .unwrap();
    // And the lock ends by itself a day after the first failure.
    for _ in 0..10 {
        for _ in 0..10 {
            let _ = auth
                .sign_in(sign_in_request("ada@example.com", "wrong password"))
                .await;
        }
        clock.advance(time::Duration::minutes(15));
    }
    clock.advance(time::Duration::hours(24));
    auth.sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await
        .unwrap();
}

/// Concurrent attempts count from the moment they start: with 3 allowed,
/// 8 wrong guesses at once get at most 3 password checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_in_flight_count() {
    let store = auth_core::MemoryStore::new();
    let auth = builder(&store)
        .sign_in_throttle(Some(SignInThrottle::new(3, Duration::from_secs(60))))
        .build()
        .unwrap();
    sign_up(&auth, "ada@example.com").await;
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move {
                auth.sign_in(sign_in_request("ada@example.com", "wrong password"))
                    .await
            })
        })
        .collect();
    let mut checked = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Err(AuthError::InvalidCredentials) => checked += 1,
            Err(AuthError::TooManyAttempts { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(checked, 3);
}

#[tokio::test]
async fn lockout_and_client_limit_settings_are_checked() {
    let store = auth_core::MemoryStore::new();
    let minute = Duration::from_secs(60);
    for bad in [
        SignInThrottle::default().with_lockout(101, minute),
        SignInThrottle::default().with_lockout(0, minute),
        SignInThrottle::default().with_lockout(100, Duration::ZERO),
    ] {
        let built = builder(&store).sign_in_throttle(Some(bad)).build();
        assert!(matches!(built, Err(AuthError::InvalidConfig(_))), "{bad:?}");
    }
    for bad in [
        auth_core::limits::ClientRateLimit::new(0, minute),
        auth_core::limits::ClientRateLimit::new(5, Duration::ZERO),
    ] {
        let built = builder(&store).client_rate_limit(Some(bad)).build();
        assert!(matches!(built, Err(AuthError::InvalidConfig(_))), "{bad:?}");
    }
}
