//! Session writes (one on every sign-in, one on every refresh) let SQLite
//! checkpoint its write-ahead log: the `-wal` file stays near the
//! auto-checkpoint size however many sessions are written. A write whose
//! statement sqlx stops before SQLITE_DONE (`fetch_one` on a `RETURNING`)
//! commits without ever checkpointing, and the log grows without bound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::{
    SessionId,
    store::{NewSession, RefreshToken, SessionStore, UserStore},
};
use auth_sqlx::{SqliteStore, sqlx};
use time::OffsetDateTime;

/// 5,000 writes: a sign-in's session each, then a refresh of each.
const SESSIONS: usize = 2_500;
/// SQLite checkpoints when a commit takes the log past 1000 pages, and the
/// next write starts it again from the top: a longer log than that and one
/// write's pages was never checkpointed.
const FRAME_BOUND: i64 = 1_100;
/// Well above the auto-checkpoint size (1000 pages of 4 KiB).
const FILE_BOUND: u64 = 8 * 1024 * 1024;

/// The pages now in the log. The checkpoint this runs (PASSIVE, as SQLite's
/// own) copies them back, so that the next kind of write is measured from
/// an empty log.
async fn assert_checkpointed(store: &SqliteStore, what: &str) {
    let (busy, log, _checkpointed): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(busy, 0, "nothing else uses the database");
    assert!(
        log < FRAME_BOUND,
        "after {SESSIONS} {what} the WAL holds {log} pages (bound {FRAME_BOUND}): \
         these writes never let SQLite checkpoint"
    );
}

#[tokio::test]
async fn session_writes_keep_the_wal_bounded() {
    let path = common::sqlite_path();
    let store = common::sqlite_file_at(&path).await;
    let user = store
        .create_user(common::new_user("wal@example.com"))
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();

    let mut sessions = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let first = RefreshToken::generate().unwrap().hash();
        let session = store
            .create_session(NewSession {
                id: SessionId::generate().unwrap(),
                user_id: user.id.clone(),
                refresh_token_hash: first,
                created_at: now,
                expires_at: now + time::Duration::hours(1),
                client: Default::default(),
            })
            .await
            .unwrap();
        sessions.push((session.id, first));
    }
    assert_checkpointed(&store, "sessions created (sign-in)").await;

    for (id, current) in &sessions {
        let next = RefreshToken::generate().unwrap().hash();
        assert!(
            store
                .rotate_refresh_token(id, current, &next, now, None)
                .await
                .unwrap()
        );
    }
    assert_checkpointed(&store, "rotations (refresh)").await;

    let file = |suffix: &str| {
        let mut name = path.clone().into_os_string();
        name.push(suffix);
        name
    };
    let size = std::fs::metadata(file("-wal")).map_or(0, |meta| meta.len());
    assert!(size < FILE_BOUND, "the WAL file is {size} bytes");
    store.pool().close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(file(suffix));
    }
}
