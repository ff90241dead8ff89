//! Store behaviour beyond auth-core's conformance suite: cleanup in
//! batches, ids PostgreSQL cannot store, and how SQLite files are opened.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{str::FromStr, time::Duration};

use auth_core::{
    AuthError, Email, SessionId, UserId,
    password::PasswordHash,
    store::{
        NewOneTimeToken, NewSession, OneTimeTokenStore, RefreshToken, SessionStore, TokenPurpose,
        UserStore,
    },
};
use auth_sqlx::{
    SqliteStore,
    sqlx::{
        self, Connection as _, SqliteConnection,
        sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    },
};
use time::OffsetDateTime;

/// More than two batches of `delete_ended_sessions` (1000 each).
const ENDED: u64 = 2 * 1000 + 1;

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_900_000_000 + secs).unwrap()
}

/// Ends [`ENDED`] sessions (revoked, and each with a rotated hash) and keeps
/// one active; cleanup deletes exactly the ended ones, over several batches.
async fn cleanup_deletes_every_ended_session<S: UserStore + SessionStore>(store: S) {
    let user = store
        .create_user(common::new_user("many@example.com"))
        .await
        .unwrap();
    let mut rotated = Vec::new();
    for _ in 0..ENDED {
        let first = RefreshToken::generate().unwrap().hash();
        let session = store
            .create_session(NewSession {
                id: SessionId::generate().unwrap(),
                user_id: user.id.clone(),
                refresh_token_hash: first,
                created_at: at(0),
                expires_at: at(3600),
                client: Default::default(),
            })
            .await
            .unwrap();
        let next = RefreshToken::generate().unwrap().hash();
        assert!(
            store
                .rotate_refresh_token(&session.id, &first, &next, at(1), None)
                .await
                .unwrap()
        );
        rotated.push(first);
    }
    assert_eq!(
        store
            .revoke_user_sessions(&user.id, None, at(2))
            .await
            .unwrap(),
        ENDED
    );
    let active = store
        .create_session(NewSession {
            id: SessionId::generate().unwrap(),
            user_id: user.id.clone(),
            refresh_token_hash: RefreshToken::generate().unwrap().hash(),
            created_at: at(3),
            expires_at: at(7200),
            client: Default::default(),
        })
        .await
        .unwrap();

    assert_eq!(store.delete_ended_sessions(at(10)).await.unwrap(), ENDED);
    assert_eq!(store.delete_ended_sessions(at(10)).await.unwrap(), 0);
    assert!(
        store
            .active_session_owner(&active.id, at(10))
            .await
            .unwrap()
            .is_some()
    );
    for hash in [rotated[0], rotated[999], rotated[1000], rotated[2000]] {
        let found = store.find_session_by_refresh_token(&hash).await.unwrap();
        assert_eq!(found, None, "rotated hashes go with their session");
    }
}

/// Every store method given ids with a NUL character (which PostgreSQL
/// cannot even compare) answers "no such thing", never an error.
async fn ids_with_nul_are_unknown<S: UserStore + SessionStore + OneTimeTokenStore>(store: S) {
    let user = UserId::new("nul\0user");
    let session = SessionId::new("nul\0session");
    let hash = RefreshToken::generate().unwrap().hash();
    let phc = PasswordHash::from_phc("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA").unwrap();
    assert_eq!(store.find_user_by_id(&user).await.unwrap(), None);
    let update = store.update_password_hash(&user, &phc, at(0)).await;
    assert!(matches!(update, Err(AuthError::UserNotFound)), "{update:?}");
    let created = store
        .create_session(NewSession {
            id: SessionId::generate().unwrap(),
            user_id: user.clone(),
            refresh_token_hash: hash,
            created_at: at(0),
            expires_at: at(60),
            client: Default::default(),
        })
        .await;
    assert!(
        matches!(created, Err(AuthError::UserNotFound)),
        "{created:?}"
    );
    assert!(
        !store
            .rotate_refresh_token(&session, &hash, &hash, at(0), None)
            .await
            .unwrap()
    );
    store.revoke_session(&session, at(0)).await.unwrap();
    assert_eq!(
        store
            .revoke_user_sessions(&user, None, at(0))
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .active_session_owner(&session, at(0))
            .await
            .unwrap()
            .is_none()
    );

    // The account and one-time token methods too.
    let owner = store
        .create_user(common::new_user("nul-keep@example.com"))
        .await
        .unwrap();
    let email = Email::parse("nul@example.com").unwrap();
    let renamed = store.update_name(&user, Some("x"), at(0)).await;
    assert!(
        matches!(renamed, Err(AuthError::UserNotFound)),
        "{renamed:?}"
    );
    let verified = store.set_verified_email(&user, &email, &email, at(0)).await;
    assert!(matches!(verified, Ok(None)), "{verified:?}");
    assert!(!store.delete_user(&user).await.unwrap());
    assert_eq!(
        store
            .revoke_user_sessions(&owner.id, Some(&session), at(0))
            .await
            .unwrap(),
        0
    );
    assert!(
        !store
            .revoke_user_session(&user, &session, at(0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_user_session(&owner.id, &session, at(0))
            .await
            .unwrap()
    );
    assert!(
        store
            .list_active_sessions(&user, at(0))
            .await
            .unwrap()
            .is_empty()
    );
    let replaced = store
        .replace_one_time_token(NewOneTimeToken {
            hash,
            purpose: TokenPurpose::PASSWORD_RESET,
            user_id: user.clone(),
            email,
            created_at: at(0),
            expires_at: at(60),
        })
        .await;
    assert!(
        matches!(replaced, Err(AuthError::UserNotFound)),
        "{replaced:?}"
    );
    let purpose = TokenPurpose::from_stored("nul\0purpose".into());
    assert_eq!(
        store
            .consume_one_time_token(&hash, &purpose, at(0))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.void_one_time_tokens(&user, &purpose).await.unwrap(),
        0
    );
}

/// Many checks at once (PostgreSQL batches them): each is answered for
/// its own session and its own `now`, also when others are cancelled.
async fn concurrent_session_checks_are_each_answered<S>(store: S)
where
    S: UserStore + SessionStore + Clone + 'static,
{
    let ada = store
        .create_user(common::new_user("ada@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_user(common::new_user("bob@example.com"))
        .await
        .unwrap();
    let session = |user: &auth_core::User, expires: i64| NewSession {
        id: SessionId::generate().unwrap(),
        user_id: user.id.clone(),
        refresh_token_hash: RefreshToken::generate().unwrap().hash(),
        created_at: at(0),
        expires_at: at(expires),
        client: Default::default(),
    };
    let long = store.create_session(session(&ada, 100)).await.unwrap();
    let short = store.create_session(session(&bob, 50)).await.unwrap();
    let revoked = store.create_session(session(&ada, 100)).await.unwrap();
    store.revoke_session(&revoked.id, at(1)).await.unwrap();
    // (session, now, expected owner)
    let cases = [
        (long.id.clone(), at(10), Some(ada.id.clone())),
        (short.id.clone(), at(40), Some(bob.id.clone())),
        (short.id.clone(), at(60), None),
        (revoked.id.clone(), at(10), None),
        (SessionId::new("no-such-session"), at(10), None),
    ];
    let mut checks = tokio::task::JoinSet::new();
    let mut cancelled = Vec::new();
    for round in 0..40 {
        for (case, (id, now, _)) in cases.iter().enumerate() {
            let (store, id, now) = (store.clone(), id.clone(), *now);
            let check = async move { (case, store.active_session_owner(&id, now).await) };
            if round % 4 == 3 {
                cancelled.push(tokio::spawn(check));
            } else {
                checks.spawn(check);
            }
        }
    }
    for check in &cancelled {
        check.abort();
    }
    while let Some(joined) = checks.join_next().await {
        let (case, owner) = joined.unwrap();
        assert_eq!(owner.unwrap(), cases[case].2, "case {case}");
    }
    for (id, now, expected) in &cases {
        assert_eq!(
            &store.active_session_owner(id, *now).await.unwrap(),
            expected
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_session_checks_are_each_answered() {
    concurrent_session_checks_are_each_answered(common::sqlite_file().await).await;
}

#[tokio::test]
async fn sqlite_cleanup_deletes_every_ended_session() {
    cleanup_deletes_every_ended_session(common::sqlite_memory().await).await;
}

#[tokio::test]
async fn sqlite_ids_with_nul_are_unknown() {
    ids_with_nul_are_unknown(common::sqlite_memory().await).await;
}

async fn journal_mode(store: &SqliteStore) -> String {
    sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn sqlite_files_are_opened_in_wal_mode() {
    let store = common::sqlite_file().await;
    assert_eq!(journal_mode(&store).await, "wal");
}

/// The switch to WAL needs a lock SQLite does not wait for; `connect`
/// retries while another process holds one.
#[tokio::test]
async fn sqlite_connect_waits_for_a_lock_before_switching_to_wal() {
    let path = common::sqlite_path();
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true);
    let mut holder = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::query("CREATE TABLE held (x)")
        .execute(&mut holder)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        holder
    });
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    release.await.unwrap();
    assert_eq!(journal_mode(&store).await, "wal");
}

#[tokio::test]
async fn sqlite_migrate_refuses_a_pool_without_foreign_keys() {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")
        .unwrap()
        .foreign_keys(false);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .unwrap();
    let migrated = SqliteStore::new(pool).migrate().await;
    assert!(
        matches!(migrated, Err(AuthError::InvalidConfig(_))),
        "{migrated:?}"
    );
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    #[tokio::test]
    async fn postgres_cleanup_deletes_every_ended_session() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_cleanup_deletes_every_ended_session");
        };
        cleanup_deletes_every_ended_session(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_concurrent_session_checks_are_each_answered() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_concurrent_session_checks_are_each_answered");
        };
        concurrent_session_checks_are_each_answered(store).await;
    }

    /// A session check whose batch worker was spawned on a runtime that
    /// shut down before running it: later checks, on another runtime,
    /// start a new worker instead of waiting forever.
    #[test]
    fn postgres_session_checks_survive_a_runtime_shut_down_under_them() {
        let current_thread = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let first = current_thread();
        let Some(store) = first.block_on(common::postgres_store()) else {
            return common::skipped(
                "postgres_session_checks_survive_a_runtime_shut_down_under_them",
            );
        };
        let id = SessionId::new("no-such-session");
        // One poll queues the check and spawns the worker, which this
        // (single-threaded, busy) runtime has not run when it is dropped.
        let polled_once = first.block_on(async {
            let mut check = std::pin::pin!(store.active_session_owner(&id, at(0)));
            // Exactly one poll: block_on returns without running other tasks.
            std::future::poll_fn(|cx| std::task::Poll::Ready(check.as_mut().poll(cx))).await
        });
        assert!(
            polled_once.is_pending(),
            "the check cannot be answered within one poll"
        );
        drop(first);

        let second = current_thread();
        let answer = second.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                store.active_session_owner(&id, at(0)),
            )
            .await
        });
        assert_eq!(answer.expect("the check hung").unwrap(), None);
    }

    #[tokio::test]
    async fn postgres_ids_with_nul_are_unknown() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_ids_with_nul_are_unknown");
        };
        ids_with_nul_are_unknown(store).await;
    }
}
