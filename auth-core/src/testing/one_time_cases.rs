//! Conformance cases of [`OneTimeTokenStore`](crate::OneTimeTokenStore).
//! Re-exported by [`cases`](super::cases).

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::{
    TestStores,
    cases::{base_time, create_user, fresh_hash},
};
use crate::{AuthError, Email, NewOneTimeToken, OneTimeTokenRecord, TokenPurpose, User, UserId};

/// How many tasks race to consume one token.
pub const CONSUME_RACERS: usize = 16;

/// Stores a token of `purpose` for `user`, expiring at `expires_at`.
async fn issue(
    stores: &TestStores,
    user: &User,
    purpose: TokenPurpose,
    expires_at: OffsetDateTime,
) -> Result<NewOneTimeToken, AuthError> {
    let token = NewOneTimeToken {
        hash: fresh_hash()?,
        purpose,
        user_id: user.id.clone(),
        email: user.email.clone(),
        created_at: base_time(),
        expires_at,
    };
    stores
        .one_time_tokens
        .replace_one_time_token(token.clone())
        .await?;
    Ok(token)
}

async fn consume(
    stores: &TestStores,
    token: &NewOneTimeToken,
    purpose: &TokenPurpose,
    now: OffsetDateTime,
) -> Result<Option<OneTimeTokenRecord>, AuthError> {
    stores
        .one_time_tokens
        .consume_one_time_token(&token.hash, purpose, now)
        .await
}

fn in_an_hour() -> OffsetDateTime {
    base_time() + Duration::hours(1)
}

/// A stored token is consumed once, giving back what it was issued with.
pub async fn one_time_tokens_are_consumed_once(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "once@example.com").await?;
    let token = NewOneTimeToken {
        hash: fresh_hash()?,
        purpose: TokenPurpose::EMAIL_CHANGE,
        user_id: user.id.clone(),
        // Another address than the account's, as for an email change.
        email: Email::parse("elsewhere@example.com")?,
        created_at: base_time() + Duration::seconds(7),
        expires_at: in_an_hour(),
    };
    stores
        .one_time_tokens
        .replace_one_time_token(token.clone())
        .await?;
    let now = base_time() + Duration::minutes(1);
    let used = consume(&stores, &token, &TokenPurpose::EMAIL_CHANGE, now).await?;
    assert_eq!(used, Some(OneTimeTokenRecord::from(token.clone())));
    let again = consume(&stores, &token, &TokenPurpose::EMAIL_CHANGE, now).await?;
    assert_eq!(again, None, "a token must work once");
    let unknown = stores
        .one_time_tokens
        .consume_one_time_token(&fresh_hash()?, &TokenPurpose::EMAIL_CHANGE, now)
        .await?;
    assert_eq!(unknown, None);
    Ok(())
}

/// A token presented for another purpose is `None` and stays usable for
/// its own.
pub async fn one_time_tokens_work_for_their_purpose_only(
    stores: TestStores,
) -> Result<(), AuthError> {
    let user = create_user(&stores, "purpose@example.com").await?;
    let token = issue(&stores, &user, TokenPurpose::PASSWORD_RESET, in_an_hour()).await?;
    let now = base_time() + Duration::minutes(1);
    for wrong in [
        TokenPurpose::EMAIL_VERIFICATION,
        TokenPurpose::new("magic_link"),
    ] {
        let result = consume(&stores, &token, &wrong, now).await?;
        assert_eq!(result, None, "a reset token must not work for {wrong}");
    }
    let right = consume(&stores, &token, &TokenPurpose::PASSWORD_RESET, now).await?;
    assert!(right.is_some(), "a wrong purpose must not use the token up");
    Ok(())
}

/// A token works strictly before `expires_at`; a late attempt does not use
/// it up.
pub async fn expired_one_time_tokens_are_refused(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "late@example.com").await?;
    let purpose = TokenPurpose::EMAIL_VERIFICATION;
    let token = issue(&stores, &user, purpose.clone(), in_an_hour()).await?;
    for late in [token.expires_at, token.expires_at + Duration::days(1)] {
        assert_eq!(consume(&stores, &token, &purpose, late).await?, None);
    }
    let just_before = token.expires_at - Duration::seconds(1);
    assert!(
        consume(&stores, &token, &purpose, just_before)
            .await?
            .is_some()
    );
    Ok(())
}

/// A newer token voids the user's older ones of the same purpose only;
/// other purposes and other users keep theirs.
pub async fn a_newer_one_time_token_voids_the_older(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-link@example.com").await?;
    let bob = create_user(&stores, "bob-link@example.com").await?;
    let reset = TokenPurpose::PASSWORD_RESET;
    let magic = TokenPurpose::new("magic_link");
    let older = issue(&stores, &ada, reset.clone(), in_an_hour()).await?;
    let adas_magic = issue(&stores, &ada, magic.clone(), in_an_hour()).await?;
    let bobs = issue(&stores, &bob, reset.clone(), in_an_hour()).await?;
    let newer = issue(&stores, &ada, reset.clone(), in_an_hour()).await?;

    let now = base_time() + Duration::minutes(1);
    assert_eq!(
        consume(&stores, &older, &reset, now).await?,
        None,
        "the older link must be void"
    );
    assert!(consume(&stores, &newer, &reset, now).await?.is_some());
    assert!(consume(&stores, &adas_magic, &magic, now).await?.is_some());
    assert!(consume(&stores, &bobs, &reset, now).await?.is_some());
    Ok(())
}

/// Voiding deletes the user's tokens of one purpose and counts them.
pub async fn one_time_tokens_are_voided(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-void@example.com").await?;
    let bob = create_user(&stores, "bob-void@example.com").await?;
    let reset = TokenPurpose::PASSWORD_RESET;
    let verify = TokenPurpose::EMAIL_VERIFICATION;
    let adas_reset = issue(&stores, &ada, reset.clone(), in_an_hour()).await?;
    let adas_verify = issue(&stores, &ada, verify.clone(), in_an_hour()).await?;
    let bobs_reset = issue(&stores, &bob, reset.clone(), in_an_hour()).await?;

    let tokens = &stores.one_time_tokens;
    assert_eq!(tokens.void_one_time_tokens(&ada.id, &reset).await?, 1);
    assert_eq!(tokens.void_one_time_tokens(&ada.id, &reset).await?, 0);
    let missing = UserId::new("missing");
    assert_eq!(tokens.void_one_time_tokens(&missing, &reset).await?, 0);
    let now = base_time() + Duration::minutes(1);
    assert_eq!(consume(&stores, &adas_reset, &reset, now).await?, None);
    assert!(
        consume(&stores, &adas_verify, &verify, now)
            .await?
            .is_some()
    );
    assert!(consume(&stores, &bobs_reset, &reset, now).await?.is_some());
    Ok(())
}

/// Cleanup deletes the tokens that expired before the cutoff and keeps
/// the rest.
pub async fn expired_one_time_tokens_are_deleted(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "expired-links@example.com").await?;
    let minutes = |n| base_time() + Duration::minutes(n);
    let reset = TokenPurpose::PASSWORD_RESET;
    let verify = TokenPurpose::EMAIL_VERIFICATION;
    let change = TokenPurpose::EMAIL_CHANGE;
    let first = issue(&stores, &user, reset.clone(), minutes(1)).await?;
    let second = issue(&stores, &user, verify.clone(), minutes(2)).await?;
    let kept = issue(&stores, &user, change.clone(), minutes(60)).await?;

    let tokens = &stores.one_time_tokens;
    assert_eq!(
        tokens.delete_expired_one_time_tokens(minutes(1)).await?,
        0,
        "a token expiring at the cutoff stays"
    );
    assert_eq!(tokens.delete_expired_one_time_tokens(minutes(3)).await?, 2);
    assert_eq!(tokens.delete_expired_one_time_tokens(minutes(3)).await?, 0);
    // Deleted: not even a clock set back finds them.
    assert_eq!(consume(&stores, &first, &reset, base_time()).await?, None);
    assert_eq!(consume(&stores, &second, &verify, base_time()).await?, None);
    assert!(
        consume(&stores, &kept, &change, minutes(3))
            .await?
            .is_some()
    );
    Ok(())
}

/// A token for a user that does not exist is [`AuthError::UserNotFound`].
pub async fn one_time_tokens_need_an_existing_user(stores: TestStores) -> Result<(), AuthError> {
    let result = stores
        .one_time_tokens
        .replace_one_time_token(NewOneTimeToken {
            hash: fresh_hash()?,
            purpose: TokenPurpose::PASSWORD_RESET,
            user_id: UserId::new("missing"),
            email: Email::parse("missing@example.com")?,
            created_at: base_time(),
            expires_at: in_an_hour(),
        })
        .await;
    assert!(
        matches!(result, Err(AuthError::UserNotFound)),
        "got {result:?}"
    );
    Ok(())
}

/// Of [`CONSUME_RACERS`] concurrent consumptions of one token, started
/// together, exactly one gets it.
pub async fn racing_consumptions_have_one_winner(stores: TestStores) -> Result<(), AuthError> {
    let user = create_user(&stores, "race-link@example.com").await?;
    let purpose = TokenPurpose::PASSWORD_RESET;
    let token = issue(&stores, &user, purpose.clone(), in_an_hour()).await?;
    let start = Arc::new(tokio::sync::Barrier::new(CONSUME_RACERS));
    let racers: Vec<_> = (0..CONSUME_RACERS)
        .map(|_| {
            let (stores, purpose, start) = (stores.clone(), purpose.clone(), start.clone());
            let hash = token.hash;
            tokio::spawn(async move {
                start.wait().await;
                let now = base_time() + Duration::minutes(1);
                stores
                    .one_time_tokens
                    .consume_one_time_token(&hash, &purpose, now)
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        if let Some(record) = racer.await.map_err(AuthError::internal)?? {
            winners.push(record);
        }
    }
    assert_eq!(
        winners,
        vec![OneTimeTokenRecord::from(token)],
        "exactly one concurrent consumption may win"
    );
    Ok(())
}
