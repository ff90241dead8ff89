//! The task list on SQLite, read on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own: a query is
//! sent there and its rows sent back, and waking those threads costs more
//! than the query (on this project's machine, a third of the server's CPU
//! time under load went to those wake-ups; see BENCHMARKS.md). A read in
//! WAL mode does not wait for writers, so the list is read here instead,
//! on a read-only connection, within the async worker's turn. Its cost is
//! bounded: with the busy timeout at 0 it never waits for a lock, and it
//! stops after [`INLINE_ROWS`] rows. A longer list, a busy database or any
//! other error gives `None`, and the caller asks sqlx as before, which
//! also reports the error properly.

use std::{
    path::PathBuf,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use rusqlite::{Connection, OpenFlags};

/// The most rows read on the calling thread: about 20 µs of SQLite's time
/// for rows the size of the contract's limits allow. A longer list is read
/// again through sqlx, on its connection's thread.
pub const INLINE_ROWS: usize = 200;

/// Connections kept open between requests; more are opened (and closed
/// again) while more requests than this read at once.
const IDLE_CONNECTIONS: usize = 16;

/// Read-only connections to one SQLite file.
#[derive(Debug)]
pub struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// A row as the list query returns it: the columns of
/// `crate::tasks::TaskRow`, in that order.
pub(crate) type Row = (i64, String, String, Option<String>, bool, i64, i64);

impl InlineReads {
    /// Reads of the file at `path`; `None` for an in-memory database, whose
    /// other connections this one could not see.
    pub fn new(options: &sqlx::sqlite::SqliteConnectOptions) -> Option<Self> {
        let path = options.get_filename();
        if !path.is_file() {
            return None;
        }
        Some(Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The rows of `sql` (one `$1` parameter, `user`), or `None` when there
    /// are more than [`INLINE_ROWS`] or SQLite could not answer at once.
    pub(crate) fn list(&self, sql: &str, user: &str) -> Option<Vec<Row>> {
        let connection = self.take()?;
        let rows = read(&connection, sql, user);
        if rows.is_ok() {
            self.give_back(connection);
        }
        match rows {
            Ok(rows) => rows,
            Err(error) => {
                tracing::debug!(%error, "inline SQLite read failed; asking sqlx");
                None
            }
        }
    }

    fn take(&self) -> Option<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if idle.is_some() {
            return idle;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // rusqlite waits up to 5 s for a lock by default; this must never wait.
        let opened = Connection::open_with_flags(&self.path, flags)
            .and_then(|connection| connection.busy_timeout(Duration::ZERO).map(|()| connection));
        match opened {
            Ok(connection) => Some(connection),
            Err(error) => {
                tracing::debug!(%error, "cannot open an inline SQLite reader");
                None
            }
        }
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(connection);
        }
    }
}

/// `Ok(None)` when the list is longer than [`INLINE_ROWS`].
fn read(connection: &Connection, sql: &str, user: &str) -> rusqlite::Result<Option<Vec<Row>>> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query([user])?;
    let mut list = Vec::new();
    while let Some(row) = rows.next()? {
        if list.len() == INLINE_ROWS {
            return Ok(None);
        }
        list.push((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
        ));
    }
    Ok(Some(list))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::{path::Path, time::Instant};

    use sqlx::sqlite::SqliteConnectOptions;

    use super::*;

    const LIST: &str = "SELECT id, user_id, title, description, completed, created_at, updated_at \
                        FROM tasks WHERE user_id = $1 ORDER BY id";

    fn database(path: &Path, rows: usize) -> Connection {
        let db = Connection::open(path).unwrap();
        db.execute_batch(
            "CREATE TABLE tasks (id INTEGER PRIMARY KEY, user_id TEXT, title TEXT, \
             description TEXT, completed BOOLEAN, created_at INTEGER, updated_at INTEGER)",
        )
        .unwrap();
        for n in 0..rows {
            let description = (n % 2 == 0).then(|| format!("about {n}"));
            db.execute(
                "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at) \
                 VALUES ('u', ?1, ?2, ?3, 7, 8)",
                rusqlite::params![format!("task {n}"), description, n % 3 == 0],
            )
            .unwrap();
        }
        db
    }

    fn reads(path: &Path) -> InlineReads {
        InlineReads::new(&SqliteConnectOptions::new().filename(path)).unwrap()
    }

    #[test]
    fn reads_the_users_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let _db = database(&path, 3);
        let rows = reads(&path).list(LIST, "u").unwrap();
        assert_eq!(
            rows,
            [
                (
                    1,
                    "u".into(),
                    "task 0".into(),
                    Some("about 0".into()),
                    true,
                    7,
                    8
                ),
                (2, "u".into(), "task 1".into(), None, false, 7, 8),
                (
                    3,
                    "u".into(),
                    "task 2".into(),
                    Some("about 2".into()),
                    false,
                    7,
                    8
                ),
            ]
        );
        assert_eq!(reads(&path).list(LIST, "someone else"), Some(vec![]));
    }

    #[test]
    fn a_list_longer_than_the_bound_is_left_to_sqlx() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = database(&path, INLINE_ROWS);
        let reads = reads(&path);
        assert_eq!(
            reads.list(LIST, "u").map(|rows| rows.len()),
            Some(INLINE_ROWS)
        );
        db.execute(
            "INSERT INTO tasks (user_id, title) VALUES ('u', 'one more')",
            [],
        )
        .unwrap();
        assert_eq!(reads.list(LIST, "u"), None);
    }

    #[test]
    fn a_locked_database_is_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        // The rollback journal (not WAL), where a writer's exclusive lock
        // keeps readers out.
        let db = database(&path, 1);
        db.execute_batch("BEGIN EXCLUSIVE; UPDATE tasks SET title = 'x'")
            .unwrap();
        let started = Instant::now();
        assert_eq!(reads(&path).list(LIST, "u"), None);
        // Far below any busy timeout anyone would set; no timing claim.
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn an_in_memory_database_has_no_inline_reads() {
        let options: SqliteConnectOptions = "sqlite::memory:".parse().unwrap();
        assert!(InlineReads::new(&options).is_none());
    }
}
