//! Conformance cases of the refresh-token reuse interval: a rotated hash
//! presented again makes a sibling current hash of its session
//! ([`SessionStore::reuse_refresh_token`](crate::SessionStore::reuse_refresh_token)),
//! a bounded number of times, also under races. Re-exported by
//! [`cases`](super::cases).

use std::{future::Future, sync::Arc};

use time::Duration;

use super::{
    TestStores,
    cases::{RACERS, base_time, create_user, fresh_hash, open_session},
};
use crate::{
    AuthError, RefreshTokenHash, RefreshTokenMatch, Session, SessionId, service::MAX_REFRESH_REUSES,
};

/// Opens a session for a new user and rotates its first hash away a minute
/// after [`base_time`]: the session, the rotated hash, the current one.
async fn rotated_once(
    stores: &TestStores,
    address: &str,
) -> Result<(Session, RefreshTokenHash, RefreshTokenHash), AuthError> {
    let user = create_user(stores, address).await?;
    let (session, token) = open_session(stores, &user.id).await?;
    let next = fresh_hash()?;
    let rotated = stores
        .sessions
        .rotate_refresh_token(&session.id, &token.hash(), &next, rotated_at(), None)
        .await?;
    assert!(rotated, "the first rotation must succeed");
    Ok((session, token.hash(), next))
}

/// When [`rotated_once`] rotates.
fn rotated_at() -> time::OffsetDateTime {
    base_time() + Duration::minutes(1)
}

/// A reuse of `rotated` for session `id`, rotated at most 10 s before a
/// moment 2 s after [`rotated_at`], bounded by `max`; the new hash, if it
/// was made.
async fn reuse(
    stores: &TestStores,
    id: &SessionId,
    rotated: &RefreshTokenHash,
    max: u32,
) -> Result<Option<RefreshTokenHash>, AuthError> {
    let next = fresh_hash()?;
    let now = rotated_at() + Duration::seconds(2);
    let reused = stores
        .sessions
        .reuse_refresh_token(
            id,
            rotated,
            &next,
            now - Duration::seconds(10),
            max,
            now,
            None,
        )
        .await?;
    Ok(reused.then_some(next))
}

/// The session `hash` is current for, or an error saying what it was.
async fn current(stores: &TestStores, hash: &RefreshTokenHash) -> Result<Session, AuthError> {
    match stores.sessions.find_session_by_refresh_token(hash).await? {
        Some(RefreshTokenMatch::Current(session)) => Ok(session),
        other => Err(AuthError::internal(format!(
            "the hash must be current, found {other:?}"
        ))),
    }
}

/// A reuse makes a sibling hash that is found as current (the session's
/// main hash unchanged), rotates like the main one (once: a
/// compare-and-swap), and whose rotated hash can be reused in turn.
pub async fn a_reused_token_gets_a_sibling_that_rotates(
    stores: TestStores,
) -> Result<(), AuthError> {
    let (session, first, main) = rotated_once(&stores, "sibling@example.com").await?;
    let sibling = reuse(&stores, &session.id, &first, MAX_REFRESH_REUSES)
        .await?
        .ok_or_else(|| AuthError::internal("a reuse within the interval must succeed"))?;
    let found = current(&stores, &sibling).await?;
    assert_eq!(found.id, session.id);
    assert_eq!(found.expires_at, session.expires_at);
    assert_eq!(
        found.refresh_token_hash, main,
        "a reuse must not replace the session's main hash"
    );
    assert_eq!(current(&stores, &main).await?.id, session.id);
    let first_again = stores
        .sessions
        .find_session_by_refresh_token(&first)
        .await?;
    assert!(
        matches!(&first_again, Some(RefreshTokenMatch::Rotated { rotated_at: at, .. }) if *at == rotated_at()),
        "the reused hash must stay rotated, got {first_again:?}"
    );

    // The sibling rotates: once, its successor a sibling too.
    let later = rotated_at() + Duration::seconds(5);
    let successor = fresh_hash()?;
    assert!(
        stores
            .sessions
            .rotate_refresh_token(&session.id, &sibling, &successor, later, None)
            .await?,
        "a sibling must rotate"
    );
    assert!(
        !stores
            .sessions
            .rotate_refresh_token(&session.id, &sibling, &fresh_hash()?, later, None)
            .await?,
        "a rotated sibling must not rotate again"
    );
    let found = current(&stores, &successor).await?;
    assert_eq!(found.id, session.id);
    assert_eq!(found.refresh_token_hash, main, "the main hash stays");
    let sibling_now = stores
        .sessions
        .find_session_by_refresh_token(&sibling)
        .await?;
    assert!(
        matches!(&sibling_now, Some(RefreshTokenMatch::Rotated { session: s, rotated_at: at }) if s.id == session.id && *at == later),
        "a rotated sibling must be remembered as rotated, got {sibling_now:?}"
    );
    // The main hash still rotates on its own.
    let main_next = fresh_hash()?;
    assert!(
        stores
            .sessions
            .rotate_refresh_token(&session.id, &main, &main_next, later, None)
            .await?
    );
    assert_eq!(
        current(&stores, &main_next).await?.refresh_token_hash,
        main_next
    );
    assert_eq!(current(&stores, &successor).await?.id, session.id);
    // A rotated sibling is reused like any rotated hash.
    let now = later + Duration::seconds(1);
    let again = fresh_hash()?;
    assert!(
        stores
            .sessions
            .reuse_refresh_token(&session.id, &sibling, &again, later, 1, now, None)
            .await?
    );
    assert_eq!(current(&stores, &again).await?.id, session.id);
    Ok(())
}

/// A reuse needs a hash the session rotated away from at or after
/// `rotated_since`: an older rotation, an unknown hash, another session's
/// rotated hash or a current hash is `false`, and leaves no trace.
pub async fn only_recent_rotated_hashes_of_the_session_are_reused(
    stores: TestStores,
) -> Result<(), AuthError> {
    let (session, first, main) = rotated_once(&stores, "reuse-rules@example.com").await?;
    let (other, others_first, _) = rotated_once(&stores, "reuse-other@example.com").await?;
    let now = rotated_at() + Duration::seconds(2);
    let just_after = rotated_at() + Duration::microseconds(1);
    let refused = [
        (
            "rotated before rotated_since",
            session.id.clone(),
            first,
            just_after,
        ),
        (
            "an unknown hash",
            session.id.clone(),
            fresh_hash()?,
            rotated_at(),
        ),
        (
            "another session's rotated hash",
            session.id.clone(),
            others_first,
            rotated_at(),
        ),
        (
            "a rotated hash named with another session",
            other.id.clone(),
            first,
            rotated_at(),
        ),
        ("a current hash", session.id.clone(), main, rotated_at()),
        (
            "an unknown session",
            SessionId::new("missing"),
            first,
            rotated_at(),
        ),
        (
            "a session id that cannot be stored",
            SessionId::new("nul\0inside"),
            first,
            rotated_at(),
        ),
    ];
    for (what, id, rotated, since) in refused {
        let next = fresh_hash()?;
        let reused = stores
            .sessions
            .reuse_refresh_token(&id, &rotated, &next, since, MAX_REFRESH_REUSES, now, None)
            .await?;
        assert!(!reused, "{what}: the reuse must be refused");
        let found = stores.sessions.find_session_by_refresh_token(&next).await?;
        assert_eq!(found, None, "{what}: a refused reuse must leave no trace");
    }
    // Exactly at `rotated_since` is still within.
    let next = fresh_hash()?;
    assert!(
        stores
            .sessions
            .reuse_refresh_token(&session.id, &first, &next, rotated_at(), 1, now, None)
            .await?,
        "a hash rotated exactly at rotated_since must be reused"
    );
    Ok(())
}

/// A revoked or expired session makes no siblings; a revoked session's
/// siblings are still found (as current, revoked) but do not rotate.
pub async fn reuses_need_an_active_session(stores: TestStores) -> Result<(), AuthError> {
    let (expiring, expiring_first, _) = rotated_once(&stores, "reuse-expired@example.com").await?;
    let reused = stores
        .sessions
        .reuse_refresh_token(
            &expiring.id,
            &expiring_first,
            &fresh_hash()?,
            rotated_at(),
            MAX_REFRESH_REUSES,
            expiring.expires_at,
            None,
        )
        .await?;
    assert!(!reused, "an expired session must make no sibling");

    let (session, first, _) = rotated_once(&stores, "reuse-revoked@example.com").await?;
    let sibling = reuse(&stores, &session.id, &first, MAX_REFRESH_REUSES)
        .await?
        .ok_or_else(|| AuthError::internal("a reuse within the interval must succeed"))?;
    let revoked_at = rotated_at() + Duration::seconds(3);
    stores
        .sessions
        .revoke_session(&session.id, revoked_at)
        .await?;
    assert_eq!(
        reuse(&stores, &session.id, &first, MAX_REFRESH_REUSES).await?,
        None
    );
    let found = current(&stores, &sibling).await?;
    assert_eq!(found.revoked_at, Some(revoked_at));
    let rotated = stores
        .sessions
        .rotate_refresh_token(&session.id, &sibling, &fresh_hash()?, revoked_at, None)
        .await?;
    assert!(!rotated, "a revoked session's sibling must not rotate");
    Ok(())
}

/// One rotated hash is reused at most `max_reuses` times; each reuse made
/// its own sibling.
pub async fn reuses_of_one_hash_are_bounded(stores: TestStores) -> Result<(), AuthError> {
    let (session, first, _) = rotated_once(&stores, "reuse-bound@example.com").await?;
    let mut siblings = Vec::new();
    for _ in 0..3 {
        let sibling = reuse(&stores, &session.id, &first, 3)
            .await?
            .ok_or_else(|| AuthError::internal("a reuse within the bound must succeed"))?;
        siblings.push(sibling);
    }
    assert_eq!(
        reuse(&stores, &session.id, &first, 3).await?,
        None,
        "a fourth reuse with max_reuses 3 must be refused"
    );
    for sibling in &siblings {
        assert_eq!(current(&stores, sibling).await?.id, session.id);
    }
    // The bound is per hash: the main hash, once rotated, has its own.
    let main = current(&stores, &siblings[0]).await?.refresh_token_hash;
    let later = rotated_at() + Duration::seconds(1);
    assert!(
        stores
            .sessions
            .rotate_refresh_token(&session.id, &main, &fresh_hash()?, later, None)
            .await?
    );
    assert!(reuse(&stores, &session.id, &main, 3).await?.is_some());
    Ok(())
}

/// Of [`RACERS`] concurrent reuses of one rotated hash with a bound of
/// [`MAX_REFRESH_REUSES`], exactly that many succeed, and exactly their
/// hashes are current.
pub async fn racing_reuses_are_bounded(stores: TestStores) -> Result<(), AuthError> {
    let (session, first, _) = rotated_once(&stores, "reuse-race@example.com").await?;
    let id = session.id.clone();
    let outcomes = race(RACERS, |_| {
        let (stores, id) = (stores.clone(), id.clone());
        async move {
            let next = fresh_hash()?;
            let now = rotated_at() + Duration::seconds(2);
            let won = stores
                .sessions
                .reuse_refresh_token(
                    &id,
                    &first,
                    &next,
                    rotated_at(),
                    MAX_REFRESH_REUSES,
                    now,
                    None,
                )
                .await?;
            Ok((won, next))
        }
    })
    .await?;
    let mut winners = 0;
    for (won, next) in outcomes {
        let found = stores.sessions.find_session_by_refresh_token(&next).await?;
        if won {
            winners += 1;
            assert!(
                matches!(&found, Some(RefreshTokenMatch::Current(s)) if s.id == session.id),
                "a winner's hash must be current, got {found:?}"
            );
        } else {
            assert_eq!(found, None, "a refused reuse must leave no trace");
        }
    }
    assert_eq!(
        winners, MAX_REFRESH_REUSES as usize,
        "exactly max_reuses of {RACERS} concurrent reuses may succeed"
    );
    Ok(())
}

/// Siblings go with their session: deleting ended sessions and deleting
/// the user leave none behind.
pub async fn siblings_are_deleted_with_their_session(stores: TestStores) -> Result<(), AuthError> {
    let (ended, ended_first, _) = rotated_once(&stores, "sibling-ended@example.com").await?;
    let ended_sibling = reuse(&stores, &ended.id, &ended_first, MAX_REFRESH_REUSES)
        .await?
        .ok_or_else(|| AuthError::internal("a reuse within the interval must succeed"))?;
    stores
        .sessions
        .revoke_session(&ended.id, rotated_at())
        .await?;
    let cutoff = rotated_at() + Duration::minutes(1);
    assert_eq!(stores.sessions.delete_ended_sessions(cutoff).await?, 1);
    for hash in [ended_first, ended_sibling] {
        let found = stores.sessions.find_session_by_refresh_token(&hash).await?;
        assert_eq!(found, None, "a deleted session's hashes must be gone");
    }

    let (session, first, _) = rotated_once(&stores, "sibling-deleted@example.com").await?;
    let sibling = reuse(&stores, &session.id, &first, MAX_REFRESH_REUSES)
        .await?
        .ok_or_else(|| AuthError::internal("a reuse within the interval must succeed"))?;
    assert!(stores.users.delete_user(&session.user_id).await?);
    let found = stores
        .sessions
        .find_session_by_refresh_token(&sibling)
        .await?;
    assert_eq!(found, None, "a deleted user's siblings must be gone");
    Ok(())
}

/// Runs `racer(i)` for `i` in `0..n` at once (started together at a
/// barrier, each a task of the multi-threaded runtime); their outcomes, in
/// order of `i`.
pub(super) async fn race<Racer, RacerFut, T>(n: usize, racer: Racer) -> Result<Vec<T>, AuthError>
where
    Racer: Fn(usize) -> RacerFut,
    RacerFut: Future<Output = Result<T, AuthError>> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let racers: Vec<_> = (0..n)
        .map(|i| {
            let (run, start) = (racer(i), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                run.await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(n);
    for racer in racers {
        outcomes.push(racer.await.map_err(AuthError::internal)??);
    }
    Ok(outcomes)
}
