//! Conformance cases of what a session keeps about its client: the user
//! agent and address of whoever opened or last refreshed it, and when that
//! was. Re-exported by [`cases`](super::cases).

use time::{Duration, OffsetDateTime};

use super::{
    TestStores,
    cases::{base_time, create_user, fresh_hash},
};
use crate::{
    AuthError, NewSession, RefreshToken, RefreshTokenHash, RefreshTokenMatch, Session,
    SessionClient, SessionId, UserId, session::MAX_USER_AGENT_CHARS,
};

/// A client with this user agent and address (`None` for an empty text).
fn client(user_agent: &str, ip: &str) -> SessionClient {
    SessionClient::new(Some(user_agent.as_bytes()), ip.parse().ok())
}

/// Opens a session of `user` created at [`base_time`] by `client`.
async fn open_by(
    stores: &TestStores,
    user: &UserId,
    client: SessionClient,
) -> Result<(Session, RefreshTokenHash), AuthError> {
    let hash = RefreshToken::generate()?.hash();
    let session = stores
        .sessions
        .create_session(NewSession {
            id: SessionId::generate()?,
            user_id: user.clone(),
            refresh_token_hash: hash,
            created_at: base_time(),
            expires_at: base_time() + Duration::hours(1),
            client,
        })
        .await?;
    Ok((session, hash))
}

/// The session as the store reads it back, through a current hash.
async fn read_back(stores: &TestStores, hash: &RefreshTokenHash) -> Result<Session, AuthError> {
    match stores.sessions.find_session_by_refresh_token(hash).await? {
        Some(RefreshTokenMatch::Current(session)) => Ok(session),
        other => Err(AuthError::internal(format!(
            "expected a current session, found {other:?}"
        ))),
    }
}

/// Asserts what `session` says about its client and last activity.
fn assert_client(session: &Session, expected: &SessionClient, active: OffsetDateTime) {
    assert_eq!(session.user_agent.as_deref(), expected.user_agent());
    assert_eq!(session.ip, expected.ip());
    assert_eq!(session.last_active_at, active);
}

/// The client of a new session comes back from `create_session`, from a
/// lookup by refresh token and from the list, IPv4, IPv6 or unknown; its
/// last activity is its creation.
pub async fn session_clients_round_trip(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada@example.com").await?;
    let clients = [
        client(
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
            "203.0.113.9",
        ),
        client("curl/8.5.0", "2001:db8::7"),
        SessionClient::default(),
    ];
    for expected in &clients {
        let (created, hash) = open_by(&stores, &ada.id, expected.clone()).await?;
        assert_client(&created, expected, base_time());
        assert_client(&read_back(&stores, &hash).await?, expected, base_time());
    }
    let listed = stores
        .sessions
        .list_active_sessions(&ada.id, base_time())
        .await?;
    assert_eq!(listed.len(), clients.len());
    for expected in &clients {
        let found = listed.iter().any(|session| {
            session.user_agent.as_deref() == expected.user_agent()
                && session.ip == expected.ip()
                && session.last_active_at == base_time()
        });
        assert!(found, "{expected:?} is not in the list {listed:?}");
    }
    Ok(())
}

/// A rotation records when and by whom: `Some` client replaces both
/// fields (its `None`s too), `None` moves only the time.
pub async fn rotations_record_activity_and_client(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada@example.com").await?;
    let first = client("first/1.0", "192.0.2.1");
    let (session, mut hash) = open_by(&stores, &ada.id, first.clone()).await?;
    let steps = [
        (
            Some(client("second/2.0", "2001:db8::2")),
            client("second/2.0", "2001:db8::2"),
        ),
        (None, client("second/2.0", "2001:db8::2")),
        (Some(SessionClient::default()), SessionClient::default()),
        (Some(first.clone()), first),
    ];
    for (minutes, (given, expected)) in (1..).zip(steps) {
        let at = base_time() + Duration::minutes(minutes);
        let next = fresh_hash()?;
        let rotated = stores
            .sessions
            .rotate_refresh_token(&session.id, &hash, &next, at, given.as_ref())
            .await?;
        assert!(rotated, "rotation {minutes} must succeed");
        hash = next;
        assert_client(&read_back(&stores, &hash).await?, &expected, at);
    }
    Ok(())
}

/// A failed rotation (a stale hash) records nothing.
pub async fn failed_rotations_record_nothing(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada@example.com").await?;
    let first = client("first/1.0", "192.0.2.1");
    let (session, hash) = open_by(&stores, &ada.id, first.clone()).await?;
    let later = base_time() + Duration::minutes(1);
    let rotated = stores
        .sessions
        .rotate_refresh_token(
            &session.id,
            &fresh_hash()?,
            &fresh_hash()?,
            later,
            Some(&client("thief/1.0", "198.51.100.1")),
        )
        .await?;
    assert!(!rotated);
    assert_client(&read_back(&stores, &hash).await?, &first, base_time());
    Ok(())
}

/// A reuse records when and by whom like a rotation, and so does the
/// rotation of the sibling hash it made.
pub async fn reuses_and_sibling_rotations_record_activity(
    stores: TestStores,
) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada@example.com").await?;
    let (session, first) = open_by(&stores, &ada.id, client("tab/1", "192.0.2.1")).await?;
    let rotated_at = base_time() + Duration::minutes(1);
    let main = fresh_hash()?;
    let tab = client("tab/2", "192.0.2.2");
    assert!(
        stores
            .sessions
            .rotate_refresh_token(&session.id, &first, &main, rotated_at, Some(&tab))
            .await?
    );
    let reused_at = rotated_at + Duration::seconds(2);
    let sibling = fresh_hash()?;
    let other_tab = client("tab/3", "2001:db8::3");
    assert!(
        stores
            .sessions
            .reuse_refresh_token(
                &session.id,
                &first,
                &sibling,
                rotated_at,
                1,
                reused_at,
                Some(&other_tab),
            )
            .await?
    );
    assert_client(&read_back(&stores, &main).await?, &other_tab, reused_at);

    let sibling_rotated_at = reused_at + Duration::minutes(1);
    let successor = fresh_hash()?;
    let last = client("tab/4", "192.0.2.4");
    assert!(
        stores
            .sessions
            .rotate_refresh_token(
                &session.id,
                &sibling,
                &successor,
                sibling_rotated_at,
                Some(&last),
            )
            .await?
    );
    assert_client(
        &read_back(&stores, &successor).await?,
        &last,
        sibling_rotated_at,
    );
    // The main hash is untouched by a sibling's rotation, and still current.
    assert_eq!(read_back(&stores, &main).await?.refresh_token_hash, main);

    // A reuse without a client moves only the time.
    let again_at = sibling_rotated_at + Duration::seconds(1);
    assert!(
        stores
            .sessions
            .reuse_refresh_token(
                &session.id,
                &sibling,
                &fresh_hash()?,
                sibling_rotated_at,
                1,
                again_at,
                None,
            )
            .await?
    );
    assert_client(&read_back(&stores, &main).await?, &last, again_at);
    Ok(())
}

/// A user agent of the full length, in characters of two UTF-8 bytes
/// each, is kept whole: the limit counts characters, not bytes.
pub async fn a_full_length_user_agent_round_trips(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada@example.com").await?;
    let long = "é".repeat(MAX_USER_AGENT_CHARS + 10);
    let full = SessionClient::new(Some(long.as_bytes()), None);
    assert_eq!(
        full.user_agent().map(|agent| agent.chars().count()),
        Some(MAX_USER_AGENT_CHARS)
    );
    let (_, hash) = open_by(&stores, &ada.id, full.clone()).await?;
    assert_client(&read_back(&stores, &hash).await?, &full, base_time());

    let (session, hash) = open_by(&stores, &ada.id, SessionClient::default()).await?;
    let next = fresh_hash()?;
    let at = base_time() + Duration::minutes(1);
    assert!(
        stores
            .sessions
            .rotate_refresh_token(&session.id, &hash, &next, at, Some(&full))
            .await?
    );
    assert_client(&read_back(&stores, &next).await?, &full, at);
    Ok(())
}
