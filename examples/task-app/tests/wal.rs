//! The task store's writes let SQLite checkpoint its write-ahead log, so
//! the `-wal` file stays near SQLite's auto-checkpoint size (1000 pages,
//! about 4 MB) however many tasks are written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use auth_core::UserId;
use task_app::tasks::{NewTask, TaskStore, TaskUpdate};

/// Creates (about four pages of log each), then updates and toggles of
/// some of them (one page each): 5,000 writes in all.
const CREATES: usize = 2_000;
const UPDATES: usize = 1_500;
const TOGGLES: usize = 1_500;
/// SQLite checkpoints when a commit takes the log past 1000 pages, and the
/// next write starts it again from the top: a log longer than that and
/// one write's pages was never checkpointed.
const FRAME_BOUND: i64 = 1_100;
/// Well above the auto-checkpoint size (1000 pages of 4 KiB), far below
/// the 75 MB that 5,000 writes leave without checkpoints.
const FILE_BOUND: u64 = 8 * 1024 * 1024;

fn wal_file_size(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |meta| meta.len())
}

/// The pages now in the log. The checkpoint this runs (PASSIVE, as SQLite's
/// own) copies them back, so that the next kind of write starts from an
/// empty log and is measured on its own.
async fn frames_in_log(tasks: &TaskStore) -> i64 {
    let TaskStore::Sqlite { pool, .. } = tasks else {
        panic!("a SQLite store")
    };
    let (busy, log, _checkpointed): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(busy, 0, "nothing else uses the database");
    log
}

async fn assert_checkpointed(tasks: &TaskStore, writes: usize, what: &str) {
    let frames = frames_in_log(tasks).await;
    assert!(
        frames < FRAME_BOUND,
        "after {writes} {what} the WAL holds {frames} pages (bound {FRAME_BOUND}): \
         these writes never let SQLite checkpoint"
    );
}

async fn start(db: &Path) -> (TaskStore, UserId) {
    common::tasks_and_user(db, "wal@example.com").await
}

#[tokio::test]
async fn task_writes_keep_the_wal_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tasks.db");
    let (tasks, user) = start(&db).await;

    let mut ids = Vec::with_capacity(CREATES);
    for n in 0..CREATES {
        let new = NewTask {
            title: format!("task {n}"),
            description: Some("x".repeat(100)),
        };
        ids.push(tasks.create(&user, new).await.unwrap().id);
    }
    assert_checkpointed(&tasks, CREATES, "creates (POST)").await;

    for (n, id) in ids.iter().take(UPDATES).enumerate() {
        let update = TaskUpdate {
            title: format!("renamed {n}"),
            description: None,
            completed: Some(true),
        };
        tasks.update(&user, *id, update).await.unwrap();
    }
    assert_checkpointed(&tasks, UPDATES, "updates (PUT)").await;

    for id in ids.iter().rev().take(TOGGLES) {
        tasks.toggle_completed(&user, *id).await.unwrap();
    }
    assert_checkpointed(&tasks, TOGGLES, "toggles (PATCH)").await;

    let size = wal_file_size(&db);
    assert!(
        size < FILE_BOUND,
        "the WAL file is {size} bytes (bound {FILE_BOUND})"
    );
}
