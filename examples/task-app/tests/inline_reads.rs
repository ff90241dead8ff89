//! The SQLite task list read on the calling thread (`task_app::inline_reads`)
//! answers exactly what sqlx's read of the same query does, for every filter
//! and order, and for a list too long to be read inline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::UserId;
use task_app::{
    inline_reads::INLINE_ROWS,
    tasks::{ListQuery, NewTask, TaskStore},
};

async fn start(db: &std::path::Path) -> (TaskStore, UserId) {
    common::tasks_and_user(db, "inline@example.com").await
}

/// The same store without inline reads: every list goes through sqlx.
fn through_sqlx(tasks: &TaskStore) -> TaskStore {
    let TaskStore::Sqlite { pool, reads } = tasks else {
        panic!("a SQLite store")
    };
    assert!(reads.is_some(), "a file database gets inline reads");
    TaskStore::Sqlite {
        pool: pool.clone(),
        reads: None,
    }
}

async fn assert_same_lists(tasks: &TaskStore, user: &UserId, expected_len: usize) {
    let sqlx_only = through_sqlx(tasks);
    for status in ["", "pending", "completed"] {
        for sort in ["created", "title"] {
            let raw = format!("status={status}&sort={sort}").replace("status=&", "");
            let query = || ListQuery::parse(Some(&raw)).unwrap();
            let inline = tasks.list(user, query()).await.unwrap();
            let reference = sqlx_only.list(user, query()).await.unwrap();
            assert_eq!(inline, reference, "{raw}");
            if status.is_empty() {
                assert_eq!(inline.len(), expected_len, "{raw}");
            }
        }
    }
}

#[tokio::test]
async fn inline_lists_match_sqlx_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (tasks, user) = start(&dir.path().join("tasks.db")).await;
    for n in 0..5 {
        let new = NewTask {
            title: format!("task {}", 5 - n),
            description: (n % 2 == 0).then(|| format!("about {n}")),
        };
        let id = tasks.create(&user, new).await.unwrap().id;
        if n % 2 == 1 {
            tasks.toggle_completed(&user, id).await.unwrap();
        }
    }
    assert_same_lists(&tasks, &user, 5).await;
}

#[tokio::test]
async fn a_list_too_long_to_read_inline_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let (tasks, user) = start(&dir.path().join("tasks.db")).await;
    for n in 0..=INLINE_ROWS {
        let new = NewTask {
            title: format!("task {n}"),
            description: None,
        };
        tasks.create(&user, new).await.unwrap();
    }
    assert_same_lists(&tasks, &user, INLINE_ROWS + 1).await;
}
