//! Conformance case of API keys on a store: [`RACERS`] requests with one
//! key at once, through two service instances (two server processes) on
//! the same store: the key's `last_used_at` is written once, by one
//! compare-and-swap, and each instance tries at most once a minute.
//! Re-exported by [`cases`](super::cases).

use std::{
    any::Any,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration as StdDuration,
};

use async_trait::async_trait;
use time::Duration;

use super::{
    Hook, Hooked, TestStores,
    cases::{RACERS, base_time},
};
use crate::{
    AuthError, AuthService, Clock as _, CredentialId, JwtCodec, Password, SignUpRequest,
    clock::ManualClock, service::ApiKeys, store::Credential,
};

/// Counts a credentials store's reads by id and the updates asked of it,
/// and the updates made.
#[derive(Default)]
struct Counting {
    gets: AtomicUsize,
    asked: AtomicUsize,
    made: AtomicUsize,
}

#[async_trait]
impl Hook for Counting {
    async fn before(&self, method: &'static str) -> Result<(), AuthError> {
        match method {
            "get" => self.gets.fetch_add(1, Ordering::SeqCst),
            "update" => self.asked.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
        Ok(())
    }

    async fn after(&self, method: &'static str, outcome: &(dyn Any + Send + Sync)) {
        let made = outcome.downcast_ref::<Result<bool, AuthError>>();
        if method == "update" && matches!(made, Some(Ok(true))) {
            self.made.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// [`RACERS`] requests with one key, half through each of two instances
/// on one store, at once and then again later: the key's `last_used_at`
/// is written exactly once per minute (one compare-and-swap wins), each
/// instance asks the store at most once a minute, and an instance that
/// finds a recent `last_used_at` (written by the other) writes nothing.
pub async fn racing_api_key_uses_write_last_used_once(stores: TestStores) -> Result<(), AuthError> {
    let counting = Arc::new(Hooked::new(stores.credentials.clone(), Counting::default()));
    let clock = ManualClock::new(base_time());
    let instance = || {
        AuthService::builder_from_arcs(stores.users.clone(), stores.sessions.clone())
            .credentials_arc(counting.clone())
            .token_codec(JwtCodec::hs256(
                b"a conformance secret of 32 bytes",
                "conformance",
                "conformance",
            )?)
            .clock(clock.clone())
            // Keys found good are trusted for 45 s: the requests after the
            // first ones ask the store nothing, unless a write is due.
            .session_cache_ttl(StdDuration::from_secs(45))
            .sign_in_throttle(None)
            .client_rate_limit(None)
            .api_keys(ApiKeys::new())
            .build()
    };
    let (first, second) = (instance()?, instance()?);
    let session = first
        .sign_up(SignUpRequest {
            email: "ada-api-key-race@example.com".into(),
            password: Password::new("a conformance passphrase"),
            name: None,
        })
        .await?
        .signed_in()?;
    let principal = first
        .authenticate(session.access_token.expose_secret())
        .await?;
    let created = first.create_api_key(&principal, "race", None).await?;
    let key = created.key.expose_secret().to_owned();
    let id = CredentialId::new(&created.id);

    let race = async || -> Result<(), AuthError> {
        let start = Arc::new(tokio::sync::Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|i| {
                let auth = if i % 2 == 0 { &first } else { &second }.clone();
                let (start, key) = (start.clone(), key.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    auth.verifier().authenticate(&key).await
                })
            })
            .collect();
        for racer in racers {
            let principal = racer.await.map_err(AuthError::internal)??;
            assert_eq!(principal.user_id(), &session.user.id);
        }
        Ok(())
    };
    let stored = async || -> Result<Credential, AuthError> {
        stores
            .credentials
            .get(&id)
            .await?
            .ok_or_else(|| AuthError::internal("the key's row is gone"))
    };
    let counts = || {
        (
            counting.hook().asked.load(Ordering::SeqCst),
            counting.hook().made.load(Ordering::SeqCst),
        )
    };
    let gets = || counting.hook().gets.load(Ordering::SeqCst);

    race().await?;
    let row = stored().await?;
    assert_eq!(
        (row.version, row.last_used_at),
        (2, Some(clock.now())),
        "one write of last_used_at"
    );
    let (asked, made) = counts();
    assert_eq!(made, 1, "one compare-and-swap wins");
    assert!(asked <= 2, "one try per instance, not {asked}");

    // A third instance finds the other's write recent: nothing to do.
    instance()?.verifier().authenticate(&key).await?;
    assert_eq!(stored().await?.version, 2, "a recent last use stays");

    // Cached, and no write due: the store is not asked at all.
    clock.advance(Duration::seconds(30));
    let read = gets();
    race().await?;
    assert_eq!(counts(), (asked, made), "no try within the minute");
    assert_eq!(gets(), read, "no read either");

    // Past the cache's 45 s, within the minute: read again (and cached
    // again), still nothing written.
    clock.advance(Duration::seconds(16));
    race().await?;
    assert_eq!(counts(), (asked, made), "still within the minute");

    // Cached, and a write due: one read and one try per instance.
    clock.advance(Duration::seconds(15));
    let read = gets();
    race().await?;
    let row = stored().await?;
    assert_eq!((row.version, row.last_used_at), (3, Some(clock.now())));
    let (asked_again, made_again) = counts();
    assert_eq!(made_again, 2);
    assert!(asked_again - asked <= 2, "{asked} then {asked_again}");
    assert!(gets() - read <= 2, "{read} then {} reads", gets());
    Ok(())
}
