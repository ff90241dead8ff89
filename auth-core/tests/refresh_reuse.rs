//! Refresh-token rotation under replays and races: the reuse interval
//! (a rotated token presented again soon gets a pair of the same session),
//! its bound, and strict rotation with a zero interval. On the in-memory
//! stores, with a clock the tests move.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use auth_core::{
    AuthError, AuthResponse, AuthService, MemoryStore, SessionId,
    clock::ManualClock,
    service::{DEFAULT_REFRESH_REUSE_INTERVAL, MAX_REFRESH_REUSES},
    store::{RefreshToken, RefreshTokenHash, SessionStore},
};
use common::*;

/// The service with `interval` (`None`: the default) and its clock.
fn with_interval(interval: Option<Duration>) -> (AuthService, ManualClock) {
    let store = MemoryStore::new();
    let clock = clock();
    let builder = builder(&store).clock(clock.clone());
    let builder = match interval {
        Some(interval) => builder.refresh_reuse_interval(interval),
        None => builder,
    };
    (builder.build().unwrap(), clock)
}

async fn session_of(auth: &AuthService, pair: &AuthResponse) -> Result<SessionId, AuthError> {
    let principal = auth.authenticate(pair.access_token.expose_secret()).await?;
    Ok(principal.session_id().cloned().expect("a session token"))
}

fn secs(secs: i64) -> time::Duration {
    time::Duration::seconds(secs)
}

#[test]
fn the_default_interval_is_ten_seconds_for_ten_reuses() {
    assert_eq!(DEFAULT_REFRESH_REUSE_INTERVAL, Duration::from_secs(10));
    assert_eq!(MAX_REFRESH_REUSES, 10);
}

#[tokio::test]
async fn a_replay_within_the_interval_gets_a_pair_of_the_same_session() {
    let (auth, clock) = with_interval(None);
    let signed_up = sign_up(&auth, "tabs@example.com").await;
    let sid = session_of(&auth, &signed_up).await.unwrap();
    let first = auth
        .refresh(signed_up.refresh_token.expose_secret())
        .await
        .unwrap();
    clock.advance(secs(5));
    let second = auth
        .refresh(signed_up.refresh_token.expose_secret())
        .await
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(session_of(&auth, &second).await.unwrap(), sid);
    // The first pair stays valid, and both chains go on.
    assert_eq!(session_of(&auth, &first).await.unwrap(), sid);
    clock.advance(secs(60));
    for pair in [&first, &second] {
        let next = auth
            .refresh(pair.refresh_token.expose_secret())
            .await
            .unwrap();
        assert_eq!(session_of(&auth, &next).await.unwrap(), sid);
    }
    auth.authenticate(signed_up.access_token.expose_secret())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_replay_after_the_interval_revokes_the_session() {
    let (auth, clock) = with_interval(None);
    let signed_up = sign_up(&auth, "late@example.com").await;
    let token = signed_up.refresh_token.expose_secret();
    let first = auth.refresh(token).await.unwrap();
    // The interval's last moment is still within it.
    clock.advance(secs(10));
    let last = auth.refresh(token).await.unwrap();
    clock.advance(time::Duration::microseconds(1));
    let late = auth.refresh(token).await.unwrap_err();
    assert!(matches!(late, AuthError::RefreshTokenReused), "{late:?}");
    for pair in [&signed_up, &first, &last] {
        let after = auth.authenticate(pair.access_token.expose_secret()).await;
        assert!(matches!(after, Err(AuthError::SessionRevoked)), "{after:?}");
    }
    for pair in [&first, &last] {
        let after = auth.refresh(pair.refresh_token.expose_secret()).await;
        assert!(matches!(after, Err(AuthError::SessionRevoked)), "{after:?}");
    }
}

#[tokio::test]
async fn the_eleventh_replay_within_the_interval_revokes_the_session() {
    let (auth, clock) = with_interval(None);
    let signed_up = sign_up(&auth, "eleven@example.com").await;
    let token = signed_up.refresh_token.expose_secret();
    let mut pairs = vec![auth.refresh(token).await.unwrap()];
    for _ in 0..MAX_REFRESH_REUSES {
        clock.advance(time::Duration::milliseconds(100));
        pairs.push(auth.refresh(token).await.unwrap());
    }
    let eleventh = auth.refresh(token).await.unwrap_err();
    assert!(
        matches!(eleventh, AuthError::RefreshTokenReused),
        "{eleventh:?}"
    );
    for pair in &pairs {
        let after = auth.authenticate(pair.access_token.expose_secret()).await;
        assert!(matches!(after, Err(AuthError::SessionRevoked)), "{after:?}");
    }
}

#[tokio::test]
async fn a_reuse_keeps_to_the_sessions_absolute_expiry_and_state() {
    let (auth, clock) = with_interval(None);
    let signed_up = sign_up(&auth, "ends@example.com").await;
    let token = signed_up.refresh_token.expose_secret();
    let first = auth.refresh(token).await.unwrap();
    // Signed out: the replay is no reuse to answer with a pair.
    let principal = auth
        .authenticate(first.access_token.expose_secret())
        .await
        .unwrap();
    auth.sign_out(&principal).await.unwrap();
    clock.advance(secs(1));
    let after = auth.refresh(token).await.unwrap_err();
    assert!(matches!(after, AuthError::SessionRevoked), "{after:?}");

    // At the absolute expiry, a replay within the interval is expired.
    let signed_up = sign_up(&auth, "expires@example.com").await;
    clock.advance(time::Duration::days(30) - secs(5));
    let token = signed_up.refresh_token.expose_secret();
    auth.refresh(token).await.unwrap();
    clock.advance(secs(5));
    let expired = auth.refresh(token).await.unwrap_err();
    assert!(matches!(expired, AuthError::SessionExpired), "{expired:?}");
}

#[tokio::test]
async fn a_zero_interval_is_strict_rotation() {
    let (auth, _) = with_interval(Some(Duration::ZERO));
    let signed_up = sign_up(&auth, "strict@example.com").await;
    let first = auth
        .refresh(signed_up.refresh_token.expose_secret())
        .await
        .unwrap();
    let replay = auth
        .refresh(signed_up.refresh_token.expose_secret())
        .await
        .unwrap_err();
    assert!(
        matches!(replay, AuthError::RefreshTokenReused),
        "{replay:?}"
    );
    let after = auth.authenticate(first.access_token.expose_secret()).await;
    assert!(matches!(after, Err(AuthError::SessionRevoked)), "{after:?}");
}

#[tokio::test]
async fn the_interval_is_configurable() {
    let (auth, clock) = with_interval(Some(Duration::from_secs(3)));
    let signed_up = sign_up(&auth, "three@example.com").await;
    let token = signed_up.refresh_token.expose_secret();
    let first = auth.refresh(token).await.unwrap();
    clock.advance(secs(2));
    auth.refresh(token).await.unwrap();
    clock.advance(secs(2));
    let beyond = auth.refresh(token).await.unwrap_err();
    assert!(
        matches!(beyond, AuthError::RefreshTokenReused),
        "{beyond:?}"
    );
    let after = auth.authenticate(first.access_token.expose_secret()).await;
    assert!(matches!(after, Err(AuthError::SessionRevoked)), "{after:?}");
}

/// A rotation stamped in the future (another node's clock runs ahead)
/// counts as within the interval, unless the interval is zero.
#[tokio::test]
async fn a_rotation_in_the_future_is_within_only_a_nonzero_interval() {
    for (interval, within) in [(None, true), (Some(Duration::ZERO), false)] {
        let (auth, clock) = with_interval(interval);
        let signed_up = sign_up(&auth, "skew@example.com").await;
        let token = signed_up.refresh_token.expose_secret();
        auth.refresh(token).await.unwrap();
        clock.advance(secs(-30));
        let replay = auth.refresh(token).await;
        assert_eq!(replay.is_ok(), within, "{interval:?}: {replay:?}");
        if !within {
            assert!(matches!(replay, Err(AuthError::RefreshTokenReused)));
        }
    }
}

/// Starts 20 refreshes with one token at once; returns the successes and
/// the errors.
async fn race_refreshes(auth: &AuthService, token: &str) -> (Vec<AuthResponse>, Vec<AuthError>) {
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.to_owned());
            tokio::spawn(async move { auth.refresh(&token).await })
        })
        .collect();
    let (mut won, mut lost) = (Vec::new(), Vec::new());
    for racer in racers {
        match racer.await.unwrap() {
            Ok(response) => won.push(response),
            Err(error) => lost.push(error),
        }
    }
    (won, lost)
}

/// Strict: of concurrent refreshes with one token exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strict_concurrent_refreshes_with_one_token_have_one_winner() {
    let (auth, _) = with_interval(Some(Duration::ZERO));
    let session = sign_up(&auth, "race@example.com").await;
    let (mut won, lost) = race_refreshes(&auth, session.refresh_token.expose_secret()).await;
    assert_eq!(won.len(), 1, "exactly one concurrent refresh may win");
    // A loser either lost the compare-and-swap (refused, session kept) or
    // arrived after the rotation: a replay, which revokes the session.
    let mut replays = 0;
    for error in &lost {
        match error {
            AuthError::InvalidRefreshToken => {}
            AuthError::RefreshTokenReused => replays += 1,
            other => panic!("unexpected error: {other:?}"),
        }
    }
    let winner = won.pop().unwrap();
    let alive = auth
        .authenticate(winner.access_token.expose_secret())
        .await
        .is_ok();
    assert_eq!(
        alive,
        replays == 0,
        "the session survives exactly when nobody replayed"
    );
}

/// With the interval, 20 refreshes at once are more than tabs: one
/// rotation and [`MAX_REFRESH_REUSES`] reuses succeed, the rest revoke
/// the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn more_concurrent_refreshes_than_the_bound_revoke_the_session() {
    let (auth, _) = with_interval(None);
    let session = sign_up(&auth, "crowd@example.com").await;
    let (won, lost) = race_refreshes(&auth, session.refresh_token.expose_secret()).await;
    assert_eq!(won.len(), 1 + MAX_REFRESH_REUSES as usize, "{lost:?}");
    for error in &lost {
        assert!(
            matches!(
                error,
                AuthError::RefreshTokenReused | AuthError::SessionRevoked
            ),
            "{error:?}"
        );
    }
    let after = auth.authenticate(won[0].access_token.expose_secret()).await;
    assert!(matches!(after, Err(AuthError::SessionRevoked)), "{after:?}");
}

/// A session store where another refresh always rotates first, just before
/// the service's own compare-and-swap: the losing side of a race, on demand.
#[derive(Clone)]
struct AlwaysLosesTheRace(MemoryStore);

#[auth_core::async_trait]
impl SessionStore for AlwaysLosesTheRace {
    async fn create_session(
        &self,
        s: auth_core::store::NewSession,
    ) -> Result<auth_core::store::Session, AuthError> {
        self.0.create_session(s).await
    }
    async fn find_session_by_refresh_token(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<auth_core::store::RefreshTokenMatch>, AuthError> {
        self.0.find_session_by_refresh_token(hash).await
    }
    async fn rotate_refresh_token(
        &self,
        id: &SessionId,
        current: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: time::OffsetDateTime,
        client: Option<&auth_core::store::SessionClient>,
    ) -> Result<bool, AuthError> {
        let winner = RefreshToken::generate()?.hash();
        assert!(
            self.0
                .rotate_refresh_token(id, current, &winner, now, client)
                .await?
        );
        self.0
            .rotate_refresh_token(id, current, next, now, client)
            .await
    }
    async fn reuse_refresh_token(
        &self,
        id: &SessionId,
        rotated: &RefreshTokenHash,
        next: &RefreshTokenHash,
        rotated_since: time::OffsetDateTime,
        max_reuses: u32,
        now: time::OffsetDateTime,
        client: Option<&auth_core::store::SessionClient>,
    ) -> Result<bool, AuthError> {
        self.0
            .reuse_refresh_token(id, rotated, next, rotated_since, max_reuses, now, client)
            .await
    }
    async fn revoke_session(
        &self,
        id: &SessionId,
        now: time::OffsetDateTime,
    ) -> Result<(), AuthError> {
        self.0.revoke_session(id, now).await
    }
    async fn revoke_user_sessions(
        &self,
        id: &auth_core::UserId,
        keep: Option<&SessionId>,
        now: time::OffsetDateTime,
    ) -> Result<u64, AuthError> {
        self.0.revoke_user_sessions(id, keep, now).await
    }
    async fn revoke_user_session(
        &self,
        user_id: &auth_core::UserId,
        id: &SessionId,
        now: time::OffsetDateTime,
    ) -> Result<bool, AuthError> {
        self.0.revoke_user_session(user_id, id, now).await
    }
    async fn list_active_sessions(
        &self,
        user_id: &auth_core::UserId,
        now: time::OffsetDateTime,
    ) -> Result<Vec<auth_core::store::Session>, AuthError> {
        self.0.list_active_sessions(user_id, now).await
    }
    async fn active_session_owner(
        &self,
        id: &SessionId,
        now: time::OffsetDateTime,
    ) -> Result<Option<auth_core::UserId>, AuthError> {
        self.0.active_session_owner(id, now).await
    }
    async fn delete_ended_sessions(
        &self,
        ended_before: time::OffsetDateTime,
    ) -> Result<u64, AuthError> {
        self.0.delete_ended_sessions(ended_before).await
    }
}

/// The service on a store whose rotations are always lost to another.
fn losing(interval: Duration) -> AuthService {
    let store = MemoryStore::new();
    AuthService::builder(store.clone(), AlwaysLosesTheRace(store))
        .token_codec(codec())
        .password_hasher(cheap_hasher())
        .refresh_reuse_interval(interval)
        .build()
        .unwrap()
}

/// Strict, the loser of a race is refused and the winner's session lives
/// on.
#[tokio::test]
async fn strict_losing_a_refresh_race_does_not_revoke_the_winners_session() {
    let auth = losing(Duration::ZERO);
    let session = sign_up(&auth, "cas@example.com").await;
    let lost = auth
        .refresh(session.refresh_token.expose_secret())
        .await
        .unwrap_err();
    assert!(matches!(lost, AuthError::InvalidRefreshToken), "{lost:?}");
    auth.authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
}

/// With the interval, the loser of a race gets a pair of the same session,
/// as a second tab would.
#[tokio::test]
async fn losing_a_refresh_race_within_the_interval_gets_a_pair() {
    let auth = losing(DEFAULT_REFRESH_REUSE_INTERVAL);
    let session = sign_up(&auth, "cas-tabs@example.com").await;
    let sid = session_of(&auth, &session).await.unwrap();
    let pair = auth
        .refresh(session.refresh_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(session_of(&auth, &pair).await.unwrap(), sid);
    auth.authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
}
