//! Conformance cases of the account methods: names, verified and changed
//! emails, deleting users, and listing and revoking a user's sessions.
//! Re-exported by [`cases`](super::cases).

use time::{Duration, OffsetDateTime};

use super::{
    TestStores,
    cases::{base_time, create_user, email, fresh_hash, open_session, phc},
};
use crate::{
    AuthError, NewOneTimeToken, NewSession, RefreshToken, Session, SessionId, TokenPurpose, UserId,
};

/// Opens a session of `user` with the given times.
async fn open_session_at(
    stores: &TestStores,
    user: &UserId,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<Session, AuthError> {
    stores
        .sessions
        .create_session(NewSession {
            id: SessionId::generate()?,
            user_id: user.clone(),
            refresh_token_hash: fresh_hash()?,
            created_at,
            expires_at,
            client: Default::default(),
        })
        .await
}

/// A name is set, then cleared, each time moving `updated_at` only; an
/// unknown user is [`AuthError::UserNotFound`].
pub async fn names_are_set_and_cleared(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "name@example.com").await?;
    let later = base_time() + Duration::minutes(5);
    let named = stores
        .users
        .update_name(&user.id, Some("Ada Lovelace"), later)
        .await?;
    assert_eq!(named.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(named.updated_at, later);
    assert_eq!(
        (&named.id, &named.email, named.created_at),
        (&user.id, &user.email, user.created_at)
    );
    assert_eq!(
        stores.users.find_user_by_id(&user.id).await?.as_ref(),
        Some(&named)
    );

    let cleared_at = later + Duration::minutes(5);
    let cleared = stores.users.update_name(&user.id, None, cleared_at).await?;
    assert_eq!(cleared.name, None);
    assert_eq!(cleared.updated_at, cleared_at);
    assert_eq!(
        stores.users.find_user_by_id(&user.id).await?.as_ref(),
        Some(&cleared)
    );

    let missing = stores
        .users
        .update_name(&UserId::new("missing"), Some("x"), later)
        .await;
    assert!(
        matches!(missing, Err(AuthError::UserNotFound)),
        "got {missing:?}"
    );
    Ok(())
}

/// Verifying the current address marks it verified and moves `updated_at`.
pub async fn the_current_email_is_verified(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "verify@example.com").await?;
    assert!(!user.email_verified, "a new user is created unverified");
    let later = base_time() + Duration::minutes(1);
    let verified = stores
        .users
        .set_verified_email(&user.id, &user.email, &user.email, later)
        .await?
        .ok_or_else(|| AuthError::internal("the current address must verify"))?;
    assert!(verified.email_verified);
    assert_eq!(verified.email, user.email);
    assert_eq!(verified.updated_at, later);
    assert_eq!(verified.name, user.name);
    assert_eq!(
        stores.users.find_user_by_id(&user.id).await?.as_ref(),
        Some(&verified)
    );
    Ok(())
}

/// A new address replaces the old one, verified: sign-in finds the user by
/// the new one only, and the old one is free again.
pub async fn a_changed_email_replaces_the_old_one(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "old@example.com").await?;
    let new = email("new@example.com")?;
    let later = base_time() + Duration::minutes(1);
    let changed = stores
        .users
        .set_verified_email(&user.id, &user.email, &new, later)
        .await?
        .ok_or_else(|| AuthError::internal("the change must apply"))?;
    assert_eq!(changed.email, new);
    assert!(changed.email_verified);
    assert_eq!(changed.updated_at, later);

    let record = stores
        .users
        .find_user_by_email(&new)
        .await?
        .ok_or_else(|| AuthError::internal("the new address must find the user"))?;
    assert_eq!(record.user, changed);
    assert_eq!(
        record.password_hash,
        phc("aGFzaA")?,
        "the hash stays the same"
    );
    let old = stores.users.find_user_by_email(&user.email).await?;
    assert!(old.is_none(), "the old address must find nobody");
    let reused = create_user(&stores, "old@example.com").await?;
    assert_ne!(reused.id, user.id, "the old address is free again");
    Ok(())
}

/// With a `current` address the user no longer has (a link sent before an
/// email change), or for an unknown user, nothing changes and the answer
/// is `None`.
pub async fn a_stale_email_is_not_verified(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "stale-email@example.com").await?;
    let later = base_time() + Duration::minutes(1);
    let stale = email("before@example.com")?;
    for verified in [&stale, &user.email, &email("after@example.com")?] {
        let result = stores
            .users
            .set_verified_email(&user.id, &stale, verified, later)
            .await?;
        assert_eq!(
            result, None,
            "current {stale} is stale, verified {verified}"
        );
    }
    assert_eq!(
        stores.users.find_user_by_id(&user.id).await?.as_ref(),
        Some(&user),
        "a stale compare-and-set must change nothing"
    );
    let missing = stores
        .users
        .set_verified_email(&UserId::new("missing"), &user.email, &user.email, later)
        .await?;
    assert_eq!(missing, None);
    Ok(())
}

/// An address another user holds is [`AuthError::EmailTaken`], and neither
/// user changes.
pub async fn a_taken_email_is_a_conflict(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-change@example.com").await?;
    let bob = create_user(&stores, "bob-change@example.com").await?;
    let result = stores
        .users
        .set_verified_email(
            &ada.id,
            &ada.email,
            &bob.email,
            base_time() + Duration::minutes(1),
        )
        .await;
    assert!(
        matches!(result, Err(AuthError::EmailTaken)),
        "got {result:?}"
    );
    for user in [&ada, &bob] {
        assert_eq!(
            stores.users.find_user_by_id(&user.id).await?.as_ref(),
            Some(user)
        );
        let record = stores.users.find_user_by_email(&user.email).await?;
        assert_eq!(record.map(|r| r.user).as_ref(), Some(user));
    }
    Ok(())
}

/// Deleting a user takes its sessions (with rotated hashes) and one-time
/// tokens along, leaves other users alone, and frees the address; a second
/// delete is `false`.
pub async fn deleting_a_user_deletes_everything_of_theirs(
    stores: TestStores,
) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-delete@example.com").await?;
    let bob = create_user(&stores, "bob-delete@example.com").await?;
    let (ada_session, first) = open_session(&stores, &ada.id).await?;
    let second = fresh_hash()?;
    assert!(
        stores
            .sessions
            .rotate_refresh_token(&ada_session.id, &first.hash(), &second, base_time(), None)
            .await?
    );
    let (bob_session, bob_token) = open_session(&stores, &bob.id).await?;
    let mut links = Vec::new();
    for user in [&ada, &bob] {
        let hash = RefreshToken::generate()?.hash();
        stores
            .one_time_tokens
            .replace_one_time_token(NewOneTimeToken {
                hash,
                purpose: TokenPurpose::PASSWORD_RESET,
                user_id: user.id.clone(),
                email: user.email.clone(),
                created_at: base_time(),
                expires_at: base_time() + Duration::hours(1),
            })
            .await?;
        links.push(hash);
    }

    assert!(stores.users.delete_user(&ada.id).await?);
    let now = base_time() + Duration::minutes(1);
    assert_eq!(stores.users.find_user_by_id(&ada.id).await?, None);
    assert!(stores.users.find_user_by_email(&ada.email).await?.is_none());
    assert_eq!(
        stores
            .sessions
            .active_session_owner(&ada_session.id, now)
            .await?,
        None
    );
    for hash in [first.hash(), second] {
        let found = stores.sessions.find_session_by_refresh_token(&hash).await?;
        assert_eq!(found, None, "a deleted user's session hashes must be gone");
    }
    assert!(
        stores
            .sessions
            .list_active_sessions(&ada.id, now)
            .await?
            .is_empty()
    );
    let reset = TokenPurpose::PASSWORD_RESET;
    let ada_link = stores
        .one_time_tokens
        .consume_one_time_token(&links[0], &reset, now)
        .await?;
    assert_eq!(ada_link, None, "a deleted user's tokens must be gone");

    assert_eq!(
        stores.users.find_user_by_id(&bob.id).await?.as_ref(),
        Some(&bob)
    );
    assert_eq!(
        stores
            .sessions
            .active_session_owner(&bob_session.id, now)
            .await?,
        Some(bob.id.clone())
    );
    assert!(
        stores
            .sessions
            .find_session_by_refresh_token(&bob_token.hash())
            .await?
            .is_some()
    );
    let bob_link = stores
        .one_time_tokens
        .consume_one_time_token(&links[1], &reset, now)
        .await?;
    assert!(bob_link.is_some(), "other users' tokens stay");

    assert!(
        !stores.users.delete_user(&ada.id).await?,
        "a second delete finds nobody"
    );
    assert!(!stores.users.delete_user(&UserId::new("missing")).await?);
    create_user(&stores, "ada-delete@example.com").await?;
    Ok(())
}

/// Revoking a user's sessions can spare one (the caller's own).
pub async fn revoking_a_users_sessions_can_keep_one(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "keep@example.com").await?;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(open_session(&stores, &user.id).await?.0);
    }
    let now = base_time() + Duration::minutes(1);
    let kept = &sessions[1].id;
    let revoked = stores
        .sessions
        .revoke_user_sessions(&user.id, Some(kept), now)
        .await?;
    assert_eq!(revoked, 2);
    for session in &sessions {
        let owner = stores
            .sessions
            .active_session_owner(&session.id, now)
            .await?;
        assert_eq!(owner.is_some(), session.id == *kept, "{:?}", session.id);
    }
    let again = stores
        .sessions
        .revoke_user_sessions(&user.id, Some(kept), now)
        .await?;
    assert_eq!(again, 0);
    Ok(())
}

/// One session is revoked only for its owner and only while active: another
/// user's session id and an unknown one alike are `false`.
pub async fn revoking_one_session_needs_its_owner(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-one@example.com").await?;
    let bob = create_user(&stores, "bob-one@example.com").await?;
    let (adas, ada_token) = open_session(&stores, &ada.id).await?;
    let (bobs, _) = open_session(&stores, &bob.id).await?;
    let now = base_time() + Duration::minutes(1);

    assert!(
        !stores
            .sessions
            .revoke_user_session(&ada.id, &bobs.id, now)
            .await?,
        "another user's session must not be revoked"
    );
    assert_eq!(
        stores.sessions.active_session_owner(&bobs.id, now).await?,
        Some(bob.id.clone())
    );
    assert!(
        !stores
            .sessions
            .revoke_user_session(&ada.id, &SessionId::new("missing"), now)
            .await?
    );

    assert!(
        stores
            .sessions
            .revoke_user_session(&ada.id, &adas.id, now)
            .await?
    );
    assert_eq!(
        stores.sessions.active_session_owner(&adas.id, now).await?,
        None
    );
    let found = stores
        .sessions
        .find_session_by_refresh_token(&ada_token.hash())
        .await?;
    assert!(
        matches!(&found, Some(crate::RefreshTokenMatch::Current(s)) if s.revoked_at == Some(now)),
        "got {found:?}"
    );
    assert!(
        !stores
            .sessions
            .revoke_user_session(&ada.id, &adas.id, now + Duration::minutes(1))
            .await?,
        "a revoked session is not revoked again"
    );
    let expired = open_session_at(&stores, &ada.id, base_time(), now).await?;
    assert!(
        !stores
            .sessions
            .revoke_user_session(&ada.id, &expired.id, now)
            .await?,
        "an expired session is not active"
    );
    Ok(())
}

/// Only the user's active sessions are listed, newest first (ties by id,
/// descending), as they were stored.
pub async fn active_sessions_are_listed_newest_first(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-list@example.com").await?;
    let bob = create_user(&stores, "bob-list@example.com").await?;
    let minutes = |n| base_time() + Duration::minutes(n);
    let end = minutes(60);
    let mut expected = Vec::new();
    for created in [2, 0, 1] {
        expected.push(open_session_at(&stores, &ada.id, minutes(created), end).await?);
    }
    // Two created at once: the id decides.
    for _ in 0..2 {
        expected.push(open_session_at(&stores, &ada.id, minutes(3), end).await?);
    }
    let revoked = open_session_at(&stores, &ada.id, minutes(4), end).await?;
    stores
        .sessions
        .revoke_session(&revoked.id, minutes(5))
        .await?;
    open_session_at(&stores, &ada.id, minutes(4), minutes(6)).await?;
    open_session_at(&stores, &bob.id, minutes(4), end).await?;

    expected.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let listed = stores
        .sessions
        .list_active_sessions(&ada.id, minutes(10))
        .await?;
    assert_eq!(listed, expected);
    let none = stores
        .sessions
        .list_active_sessions(&UserId::new("missing"), minutes(10))
        .await?;
    assert!(none.is_empty());
    Ok(())
}
