//! The Redis limiter against the real Redis named by `AUTH_TEST_REDIS_URL`
//! (skipped, saying so, when unset), and against a closed port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::Write as _,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use auth_core::{
    AuthError, AuthService, JwtCodec, MemoryStore, Password, SignInRequest,
    limits::{ClientRateLimit, Decision, RateLimiter},
};
use auth_redis::RedisRateLimiter;

const MINUTE: Duration = Duration::from_secs(60);

/// A limiter with a prefix of its own, so runs and tests never share keys.
fn limiter(test: &str) -> Option<RedisRateLimiter> {
    let Some(url) = std::env::var("AUTH_TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: set AUTH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run it"
        );
        return None;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("auth-test:{}:{nanos}:{test}:", std::process::id());
    Some(RedisRateLimiter::new(&url).unwrap().key_prefix(prefix))
}

#[tokio::test]
async fn counts_to_the_limit_then_refuses_until_the_window_ends() {
    let Some(limiter) = limiter("limit") else {
        return;
    };
    limiter.ping().await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            limiter.hit("a", 3, MINUTE).await.unwrap(),
            Decision::Allowed
        );
    }
    let Decision::Limited { retry_after } = limiter.hit("a", 3, MINUTE).await.unwrap() else {
        panic!("the fourth hit was allowed");
    };
    assert!((1..=60).contains(&retry_after.as_secs()), "{retry_after:?}");
    assert_eq!(
        limiter.hit("b", 3, MINUTE).await.unwrap(),
        Decision::Allowed
    );
    limiter.reset("a").await.unwrap();
    assert_eq!(
        limiter.hit("a", 3, MINUTE).await.unwrap(),
        Decision::Allowed
    );
}

#[tokio::test]
async fn a_window_ends_and_the_count_starts_again() {
    let Some(limiter) = limiter("window") else {
        return;
    };
    let short = Duration::from_millis(300);
    assert_eq!(limiter.hit("a", 1, short).await.unwrap(), Decision::Allowed);
    assert!(matches!(
        limiter.hit("a", 1, short).await.unwrap(),
        Decision::Limited { retry_after } if retry_after == Duration::from_secs(1)
    ));
    // Not a timing assertion: only that the key is gone once Redis has
    // expired it, however long that takes.
    let mut allowed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if limiter.hit("a", 1, short).await.unwrap() == Decision::Allowed {
            allowed = true;
            break;
        }
    }
    assert!(allowed, "the window never ended");
}

/// Two limiters (two connections, as two server instances have) hitting
/// one key at once share one budget: exactly `limit` hits get through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hits_from_two_instances_share_one_budget() {
    let Some(first) = limiter("shared") else {
        return;
    };
    // The same prefix on a connection of its own.
    let url = std::env::var("AUTH_TEST_REDIS_URL").unwrap();
    let prefix = format!("auth-test:{}:shared-twin:", std::process::id());
    let first = first.key_prefix(prefix.clone());
    let second = RedisRateLimiter::new(&url).unwrap().key_prefix(prefix);
    first.reset("burst").await.unwrap();
    let limiters: [Arc<dyn RateLimiter>; 2] = [Arc::new(first), Arc::new(second)];
    let mut tasks = Vec::new();
    for n in 0..60 {
        let limiter = Arc::clone(&limiters[n % 2]);
        tasks.push(tokio::spawn(async move {
            limiter.hit("burst", 10, MINUTE).await.unwrap()
        }));
    }
    let mut allowed = 0;
    for task in tasks {
        if task.await.unwrap() == Decision::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10);
}

fn service(limiter: RedisRateLimiter) -> AuthService {
    let store = MemoryStore::new();
    AuthService::builder(store.clone(), store)
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .rate_limiter(limiter)
        .client_rate_limit(Some(ClientRateLimit::new(5, MINUTE)))
        .build()
        .unwrap()
}

/// Fail closed: with Redis unreachable (a port nobody listens on), the
/// limiter answers `Unavailable` within its timeout, and so do sign-in and
/// the per-client check, instead of letting requests through uncounted.
#[tokio::test]
async fn an_unreachable_redis_refuses_sign_ins_with_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("redis://127.0.0.1:{port}");
    let limiter = RedisRateLimiter::with_timeout(&url, Duration::from_millis(300)).unwrap();
    let refused = limiter.hit("a", 3, MINUTE).await;
    assert!(
        matches!(refused, Err(AuthError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(matches!(
        limiter.ping().await,
        Err(AuthError::Unavailable(_))
    ));

    let auth = service(limiter);
    let signed_in = auth
        .sign_in(SignInRequest {
            email: "ada@example.com".into(),
            password: Password::new("correct horse battery staple"),
        })
        .await;
    assert!(
        matches!(signed_in, Err(AuthError::Unavailable(_))),
        "{signed_in:?}"
    );
    let admitted = auth.admit_client(Some("192.0.2.1".parse().unwrap())).await;
    assert!(
        matches!(admitted, Err(AuthError::Unavailable(_))),
        "{admitted:?}"
    );
}

#[tokio::test]
async fn the_service_counts_clients_in_redis() {
    let Some(limiter) = limiter("service") else {
        return;
    };
    let auth = service(limiter.clone());
    let twin = service(limiter);
    let client = Some("192.0.2.1".parse().unwrap());
    for n in 0..5 {
        let instance = if n % 2 == 0 { &auth } else { &twin };
        instance.admit_client(client).await.unwrap();
    }
    let refused = twin.admit_client(client).await;
    assert!(
        matches!(refused, Err(AuthError::TooManyAttempts { .. })),
        "{refused:?}"
    );
    auth.admit_client(Some("192.0.2.2".parse().unwrap()))
        .await
        .unwrap();
}

#[test]
fn bad_urls_and_missing_runtimes_are_configuration_errors() {
    assert!(matches!(
        RedisRateLimiter::new("http://127.0.0.1:6379"),
        Err(AuthError::InvalidConfig(_))
    ));
    assert!(matches!(
        RedisRateLimiter::new("redis://127.0.0.1:6379"),
        Err(AuthError::InvalidConfig(_))
    ));
}
