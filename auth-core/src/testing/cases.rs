//! The conformance cases, one async function each (those of the account
//! methods, of one-time tokens, of credentials and of refresh-token reuses
//! are written in their own files and re-exported here).
//!
//! Each takes fresh [`TestStores`] and fails by returning an error or by
//! a failed assertion. Timestamps are whole seconds so that backends with
//! microsecond precision compare equal.

use time::{Duration, OffsetDateTime};

use super::TestStores;
use crate::{
    AuthError, Email, NewSession, NewUser, PasswordHash, RefreshToken, RefreshTokenHash,
    RefreshTokenMatch, Session, SessionId, User, UserId,
};

pub use super::{
    account_cases::*, api_key_cases::*, credential_cases::*, credential_race_cases::*,
    mail_queue_cases::*, one_time_cases::*, passkey_cases::*, reuse_cases::*,
    reuse_service_cases::*, session_client_cases::*, two_factor_cases::*,
};

/// How many tasks the race cases start at once.
pub const RACERS: usize = 20;

pub(super) fn base_time() -> OffsetDateTime {
    // 2030-03-17T17:46:40Z: fixed, whole seconds, far from any edge.
    OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(super) fn email(address: &str) -> Result<Email, AuthError> {
    Email::parse(address)
}

pub(super) fn phc(tag: &str) -> Result<PasswordHash, AuthError> {
    PasswordHash::from_phc(format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ${tag}"))
}

pub(super) async fn create_user(stores: &TestStores, address: &str) -> Result<User, AuthError> {
    stores
        .users
        .create_user(NewUser {
            email: email(address)?,
            email_verified: false,
            name: Some("Test User".into()),
            password_hash: phc("aGFzaA")?,
            created_at: base_time(),
        })
        .await
}

/// Opens a session for `user` that expires an hour after [`base_time`].
pub(super) async fn open_session(
    stores: &TestStores,
    user: &UserId,
) -> Result<(Session, RefreshToken), AuthError> {
    let token = RefreshToken::generate()?;
    let session = stores
        .sessions
        .create_session(NewSession {
            id: SessionId::generate()?,
            user_id: user.clone(),
            refresh_token_hash: token.hash(),
            created_at: base_time(),
            expires_at: base_time() + Duration::hours(1),
            client: Default::default(),
        })
        .await?;
    Ok((session, token))
}

pub(super) fn fresh_hash() -> Result<RefreshTokenHash, AuthError> {
    Ok(RefreshToken::generate()?.hash())
}

/// A second user with an email already taken is [`AuthError::EmailTaken`].
pub async fn duplicate_email_is_a_conflict(stores: TestStores) -> Result<(), AuthError> {
    create_user(&stores, "ada@example.com").await?;
    let again = create_user(&stores, " ADA@example.COM ").await;
    assert!(
        matches!(again, Err(AuthError::EmailTaken)),
        "a second user with one email must be EmailTaken, got {again:?}"
    );
    Ok(())
}

/// Of [`RACERS`] concurrent creates with one email, exactly one succeeds and
/// every other is [`AuthError::EmailTaken`].
pub async fn racing_creates_with_one_email_make_one_user(
    stores: TestStores,
) -> Result<(), AuthError> {
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let stores = stores.clone();
            tokio::spawn(async move { create_user(&stores, "race@example.com").await })
        })
        .collect();
    let (mut created, mut taken) = (0, 0);
    for racer in racers {
        match racer.await.map_err(AuthError::internal)? {
            Ok(_) => created += 1,
            Err(AuthError::EmailTaken) => taken += 1,
            Err(other) => return Err(other),
        }
    }
    assert_eq!((created, taken), (1, RACERS - 1), "(created, EmailTaken)");
    let found = stores
        .users
        .find_user_by_email(&email("race@example.com")?)
        .await?;
    assert!(found.is_some(), "the winner must be stored");
    Ok(())
}

/// A created user is found by email (with its hash) and by id.
pub async fn users_are_found_by_email_and_id(stores: TestStores) -> Result<(), AuthError> {
    let created = create_user(&stores, "grace@example.com").await?;
    assert_eq!(created.email.as_str(), "grace@example.com");
    assert_eq!(created.name.as_deref(), Some("Test User"));
    assert_eq!(created.created_at, base_time());
    assert!(
        !created.id.as_str().is_empty(),
        "the store must assign an id"
    );

    let record = stores
        .users
        .find_user_by_email(&email("Grace@Example.com")?)
        .await?;
    let record = record.ok_or_else(|| AuthError::internal("user not found by email"))?;
    assert_eq!(record.user, created);
    assert_eq!(record.password_hash, phc("aGFzaA")?);

    let by_id = stores.users.find_user_by_id(&created.id).await?;
    assert_eq!(by_id.as_ref(), Some(&created));

    let other = create_user(&stores, "hopper@example.com").await?;
    assert_ne!(other.id, created.id, "ids must be unique");
    Ok(())
}

/// Unknown emails and ids of any shape are `Ok(None)`, never an error.
pub async fn unknown_and_foreign_ids_are_not_found(stores: TestStores) -> Result<(), AuthError> {
    create_user(&stores, "someone@example.com").await?;
    for id in [
        "",
        "does-not-exist",
        "6f1c2d7e-0b7a-4d8e-9c39-1a2b3c4d5e6f",
        "Xk9RzQ2bT7mWc4LpV8nH1yFd6sJa3eGu",
        "'; DROP TABLE users; --",
        "ünïcødé",
        "nul\0inside",
    ] {
        let found = stores.users.find_user_by_id(&UserId::new(id)).await?;
        assert!(found.is_none(), "id {id:?} must not be found");
    }
    let nobody = stores
        .users
        .find_user_by_email(&email("nobody@example.com")?)
        .await?;
    assert!(nobody.is_none());
    Ok(())
}

/// A new password hash replaces the old one and moves `updated_at`.
pub async fn password_hash_updates_persist(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "update@example.com").await?;
    let later = base_time() + Duration::minutes(5);
    stores
        .users
        .update_password_hash(&user.id, &phc("bmV3aGFzaA")?, later)
        .await?;
    let record = stores
        .users
        .find_user_by_email(&user.email)
        .await?
        .ok_or_else(|| AuthError::internal("user vanished"))?;
    assert_eq!(record.password_hash, phc("bmV3aGFzaA")?);
    assert_eq!(record.user.updated_at, later);
    assert_eq!(record.user.created_at, base_time());
    Ok(())
}

/// An account without a password ([`PasswordHash::none`]) says so in
/// every read, until a real hash is set.
pub async fn accounts_without_password_say_so(stores: TestStores) -> Result<(), AuthError> {
    let created = stores
        .users
        .create_user(crate::NewUser {
            email: email("nopassword@example.com")?,
            email_verified: true,
            name: None,
            password_hash: PasswordHash::none(),
            created_at: base_time(),
        })
        .await?;
    assert!(!created.has_password);
    let found = stores
        .users
        .find_user_by_id(&created.id)
        .await?
        .ok_or_else(|| AuthError::internal("user vanished"))?;
    assert!(!found.has_password);
    let record = stores
        .users
        .find_user_by_email(&created.email)
        .await?
        .ok_or_else(|| AuthError::internal("user vanished"))?;
    assert!(!record.user.has_password && !record.password_hash.is_set());
    stores
        .users
        .update_password_hash(&created.id, &phc("bmV3aGFzaA")?, base_time())
        .await?;
    let found = stores
        .users
        .find_user_by_id(&created.id)
        .await?
        .ok_or_else(|| AuthError::internal("user vanished"))?;
    assert!(found.has_password);
    let with_password = create_user(&stores, "withpassword@example.com").await?;
    assert!(with_password.has_password);
    Ok(())
}

/// Updating the hash of a user that does not exist is
/// [`AuthError::UserNotFound`].
pub async fn password_hash_update_of_a_missing_user_fails(
    stores: TestStores,
) -> Result<(), AuthError> {
    let result = stores
        .users
        .update_password_hash(&UserId::new("missing"), &phc("eA")?, base_time())
        .await;
    assert!(
        matches!(result, Err(AuthError::UserNotFound)),
        "got {result:?}"
    );
    Ok(())
}

/// A session for a user that does not exist is [`AuthError::UserNotFound`].
pub async fn sessions_need_an_existing_user(stores: TestStores) -> Result<(), AuthError> {
    let result = open_session(&stores, &UserId::new("missing")).await;
    assert!(
        matches!(result, Err(AuthError::UserNotFound)),
        "got {result:?}"
    );
    Ok(())
}

/// A session is found, unchanged, by its current refresh-token hash.
pub async fn current_refresh_token_finds_its_session(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "session@example.com").await?;
    let (session, token) = open_session(&stores, &user.id).await?;
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.revoked_at, None);
    let found = stores
        .sessions
        .find_session_by_refresh_token(&token.hash())
        .await?;
    assert_eq!(found, Some(RefreshTokenMatch::Current(session.clone())));
    // The owner, so that the service can refuse a token whose `sub` is
    // someone else (a session vouches for its own user only).
    let owner = stores
        .sessions
        .active_session_owner(&session.id, base_time())
        .await?;
    assert_eq!(owner, Some(user.id));
    Ok(())
}

/// A hash no session ever had finds nothing.
pub async fn unknown_refresh_token_finds_nothing(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "unknown-token@example.com").await?;
    open_session(&stores, &user.id).await?;
    let found = stores
        .sessions
        .find_session_by_refresh_token(&fresh_hash()?)
        .await?;
    assert_eq!(found, None);
    Ok(())
}

/// Rotation makes the new hash current and the old one rotated, keeping the
/// session's id and expiry.
pub async fn rotation_swaps_the_current_hash(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "rotate@example.com").await?;
    let (session, old) = open_session(&stores, &user.id).await?;
    let next = fresh_hash()?;
    let now = base_time() + Duration::minutes(1);
    let swapped = stores
        .sessions
        .rotate_refresh_token(&session.id, &old.hash(), &next, now, None)
        .await?;
    assert!(swapped, "rotation with the current hash must succeed");

    let Some(RefreshTokenMatch::Current(current)) =
        stores.sessions.find_session_by_refresh_token(&next).await?
    else {
        return Err(AuthError::internal("the new hash must be current"));
    };
    assert_eq!(current.id, session.id);
    assert_eq!(
        current.expires_at, session.expires_at,
        "rotation must not extend the session"
    );
    assert_eq!(current.refresh_token_hash, next);

    let Some(RefreshTokenMatch::Rotated {
        session: rotated,
        rotated_at,
    }) = stores
        .sessions
        .find_session_by_refresh_token(&old.hash())
        .await?
    else {
        return Err(AuthError::internal("the old hash must be found as rotated"));
    };
    assert_eq!(rotated.id, session.id);
    assert_eq!(
        rotated_at, now,
        "a rotated hash must remember when it was rotated"
    );
    Ok(())
}

/// Rotation with a hash that is not the current one changes nothing.
pub async fn rotation_with_a_stale_hash_fails(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "stale@example.com").await?;
    let (session, token) = open_session(&stores, &user.id).await?;
    let swapped = stores
        .sessions
        .rotate_refresh_token(
            &session.id,
            &fresh_hash()?,
            &fresh_hash()?,
            base_time(),
            None,
        )
        .await?;
    assert!(!swapped, "rotation with a wrong hash must fail");
    let other = stores
        .sessions
        .rotate_refresh_token(
            &SessionId::new("missing"),
            &token.hash(),
            &fresh_hash()?,
            base_time(),
            None,
        )
        .await?;
    assert!(!other, "rotation of another session id must fail");
    let found = stores
        .sessions
        .find_session_by_refresh_token(&token.hash())
        .await?;
    assert_eq!(found, Some(RefreshTokenMatch::Current(session)));
    Ok(())
}

/// After several rotations, every earlier hash is still recognised as
/// rotated (so replaying any old token is caught).
pub async fn every_rotated_hash_is_remembered(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "history@example.com").await?;
    let (session, first) = open_session(&stores, &user.id).await?;
    let mut hashes = vec![first.hash()];
    for _ in 0..3 {
        let next = fresh_hash()?;
        let current = hashes.last().copied().unwrap_or(next);
        assert!(
            stores
                .sessions
                .rotate_refresh_token(&session.id, &current, &next, base_time(), None)
                .await?
        );
        hashes.push(next);
    }
    let (latest, earlier) = hashes
        .split_last()
        .ok_or_else(|| AuthError::internal("no hashes"))?;
    for hash in earlier {
        let found = stores.sessions.find_session_by_refresh_token(hash).await?;
        assert!(
            matches!(&found, Some(RefreshTokenMatch::Rotated { session: s, .. }) if s.id == session.id),
            "an earlier hash must be Rotated, got {found:?}"
        );
    }
    let found = stores
        .sessions
        .find_session_by_refresh_token(latest)
        .await?;
    assert!(matches!(found, Some(RefreshTokenMatch::Current(_))));
    Ok(())
}

/// Of [`RACERS`] concurrent rotations from one hash, exactly one wins, and
/// only the winner's new hash is current.
pub async fn racing_rotations_have_one_winner(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "race-rotate@example.com").await?;
    let (session, token) = open_session(&stores, &user.id).await?;
    let current = token.hash();
    let mut racers = Vec::new();
    for _ in 0..RACERS {
        let (stores, id, next) = (stores.clone(), session.id.clone(), fresh_hash()?);
        racers.push(tokio::spawn(async move {
            let won = stores
                .sessions
                .rotate_refresh_token(&id, &current, &next, base_time(), None)
                .await?;
            Ok::<_, AuthError>((won, next))
        }));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for racer in racers {
        let (won, next) = racer.await.map_err(AuthError::internal)??;
        if won {
            winners.push(next)
        } else {
            losers.push(next)
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent rotation may win");
    let found = stores
        .sessions
        .find_session_by_refresh_token(&winners[0])
        .await?;
    assert!(matches!(found, Some(RefreshTokenMatch::Current(_))));
    for loser in &losers {
        let found = stores.sessions.find_session_by_refresh_token(loser).await?;
        assert_eq!(found, None, "a losing rotation must leave no trace");
    }
    Ok(())
}

/// A revoked session is inactive, cannot rotate, and is still found (so
/// the service can tell "revoked" from "unknown").
pub async fn revoked_sessions_are_inactive_and_do_not_rotate(
    stores: TestStores,
) -> Result<(), AuthError> {
    let user = create_user(&stores, "revoke@example.com").await?;
    let (session, token) = open_session(&stores, &user.id).await?;
    let at = base_time() + Duration::minutes(2);
    stores.sessions.revoke_session(&session.id, at).await?;
    assert!(
        stores
            .sessions
            .active_session_owner(&session.id, at)
            .await?
            .is_none()
    );
    let swapped = stores
        .sessions
        .rotate_refresh_token(&session.id, &token.hash(), &fresh_hash()?, at, None)
        .await?;
    assert!(!swapped, "a revoked session must not rotate");
    let found = stores
        .sessions
        .find_session_by_refresh_token(&token.hash())
        .await?;
    assert!(
        matches!(&found, Some(RefreshTokenMatch::Current(s)) if s.revoked_at == Some(at)),
        "got {found:?}"
    );
    Ok(())
}

/// A session is active strictly before `expires_at`, and cannot rotate
/// from then on.
pub async fn expired_sessions_are_inactive_and_do_not_rotate(
    stores: TestStores,
) -> Result<(), AuthError> {
    let user = create_user(&stores, "expire@example.com").await?;
    let (session, token) = open_session(&stores, &user.id).await?;
    let just_before = session.expires_at - Duration::seconds(1);
    assert!(
        stores
            .sessions
            .active_session_owner(&session.id, just_before)
            .await?
            .is_some()
    );
    assert!(
        stores
            .sessions
            .active_session_owner(&session.id, session.expires_at)
            .await?
            .is_none()
    );
    let swapped = stores
        .sessions
        .rotate_refresh_token(
            &session.id,
            &token.hash(),
            &fresh_hash()?,
            session.expires_at,
            None,
        )
        .await?;
    assert!(!swapped, "an expired session must not rotate");
    Ok(())
}

/// Revoking twice keeps the first `revoked_at`; revoking an unknown id is
/// not an error.
pub async fn revoking_is_idempotent(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "idempotent@example.com").await?;
    let (session, token) = open_session(&stores, &user.id).await?;
    let first = base_time() + Duration::minutes(1);
    stores.sessions.revoke_session(&session.id, first).await?;
    stores
        .sessions
        .revoke_session(&session.id, first + Duration::minutes(1))
        .await?;
    stores
        .sessions
        .revoke_session(&SessionId::new("missing"), first)
        .await?;
    let found = stores
        .sessions
        .find_session_by_refresh_token(&token.hash())
        .await?;
    assert!(
        matches!(&found, Some(RefreshTokenMatch::Current(s)) if s.revoked_at == Some(first)),
        "got {found:?}"
    );
    Ok(())
}

/// Revoking all of a user's sessions counts and revokes exactly those.
pub async fn revoking_all_of_a_users_sessions_spares_others(
    stores: TestStores,
) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-all@example.com").await?;
    let bob = create_user(&stores, "bob-all@example.com").await?;
    let mut adas = Vec::new();
    for _ in 0..3 {
        adas.push(open_session(&stores, &ada.id).await?.0);
    }
    let (bobs, _) = open_session(&stores, &bob.id).await?;
    let now = base_time() + Duration::minutes(1);
    assert_eq!(
        stores
            .sessions
            .revoke_user_sessions(&ada.id, None, now)
            .await?,
        3
    );
    for session in &adas {
        assert!(
            stores
                .sessions
                .active_session_owner(&session.id, now)
                .await?
                .is_none()
        );
    }
    let owner = stores.sessions.active_session_owner(&bobs.id, now).await?;
    assert_eq!(owner, Some(bob.id));
    assert_eq!(
        stores
            .sessions
            .revoke_user_sessions(&ada.id, None, now)
            .await?,
        0
    );
    Ok(())
}

/// An id no session has is inactive, whatever its shape.
pub async fn unknown_sessions_are_inactive(stores: TestStores) -> Result<(), AuthError> {
    for id in [
        "",
        "missing",
        "6f1c2d7e-0b7a-4d8e-9c39-1a2b3c4d5e6f",
        "' OR 1=1 --",
        // PostgreSQL cannot even compare text with a NUL in it.
        "nul\0inside",
    ] {
        let active = stores
            .sessions
            .active_session_owner(&SessionId::new(id), base_time())
            .await?;
        assert_eq!(active, None, "{id:?}");
    }
    Ok(())
}

/// Deleting ended sessions removes those expired or revoked before the
/// cutoff, with their rotated hashes, and keeps the rest.
pub async fn ended_sessions_are_deleted_with_their_history(
    stores: TestStores,
) -> Result<(), AuthError> {
    let user = create_user(&stores, "cleanup@example.com").await?;
    // All three sessions expire at base + 1 h.
    let (revoked, revoked_token) = open_session(&stores, &user.id).await?;
    let (rotated, first_token) = open_session(&stores, &user.id).await?;
    let (kept, kept_token) = open_session(&stores, &user.id).await?;
    let second = fresh_hash()?;
    assert!(
        stores
            .sessions
            .rotate_refresh_token(&rotated.id, &first_token.hash(), &second, base_time(), None)
            .await?
    );
    let revoked_at = base_time() + Duration::minutes(1);
    stores
        .sessions
        .revoke_session(&revoked.id, revoked_at)
        .await?;
    stores
        .sessions
        .revoke_session(&rotated.id, revoked_at)
        .await?;

    // Nothing had ended by the revocation time itself.
    let deleted = stores.sessions.delete_ended_sessions(revoked_at).await?;
    assert_eq!(
        deleted, 0,
        "sessions that ended at or after the cutoff must stay"
    );

    let cutoff = base_time() + Duration::minutes(30);
    assert_eq!(stores.sessions.delete_ended_sessions(cutoff).await?, 2);
    for hash in [revoked_token.hash(), first_token.hash(), second] {
        let found = stores.sessions.find_session_by_refresh_token(&hash).await?;
        assert_eq!(found, None, "a deleted session's hashes must be gone");
    }
    let found = stores
        .sessions
        .find_session_by_refresh_token(&kept_token.hash())
        .await?;
    assert_eq!(found, Some(RefreshTokenMatch::Current(kept.clone())));

    // Once past its expiry, the last one goes too.
    let later = kept.expires_at + Duration::seconds(1);
    assert_eq!(stores.sessions.delete_ended_sessions(later).await?, 1);
    let found = stores
        .sessions
        .find_session_by_refresh_token(&kept_token.hash())
        .await?;
    assert_eq!(found, None);
    Ok(())
}
