//! Isolated databases for the tests: a fresh in-memory SQLite database, a
//! fresh SQLite file, or a fresh PostgreSQL schema per call, so that tests
//! run in parallel without seeing each other's rows.
#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::{
    io::Write as _,
    path::PathBuf,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

#[cfg(feature = "sqlite")]
use auth_sqlx::SqliteStore;
#[cfg(feature = "postgres")]
use auth_sqlx::sqlx;

/// The environment variable with the PostgreSQL URL the tests use; `.ci/run`
/// sets it. Unset: the PostgreSQL tests are skipped, saying so.
pub const POSTGRES_URL_VAR: &str = "AUTH_TEST_POSTGRES_URL";

/// Leftovers of runs older than this (killed test processes) are removed.
const STALE_AFTER: Duration = Duration::from_secs(3600);

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A name no other test of any concurrent run uses: the process start time,
/// the pid and a counter.
fn unique_suffix() -> String {
    let started = process_start_secs();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{started}_{}_{n}", std::process::id())
}

fn process_start_secs() -> u64 {
    static STARTED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *STARTED.get_or_init(now_secs)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Says something on the terminal even though the test harness captures
/// the output of passing tests (it captures `print!`/`eprint!` only).
pub fn tell(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// A user to store directly, without the service: whole-second times,
/// a fixed (fake) PHC hash.
pub fn new_user(email: &str) -> auth_core::store::NewUser {
    auth_core::store::NewUser {
        email: auth_core::Email::parse(email).unwrap(),
        email_verified: false,
        name: None,
        password_hash: auth_core::password::PasswordHash::from_phc(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
        )
        .unwrap(),
        created_at: time::OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap(),
    }
}

/// Says that `test` did not run.
pub fn skipped(test: &str) {
    tell(&format!("skipped: {test}"));
}

#[cfg(feature = "sqlite")]
/// A store on a fresh private in-memory SQLite database, migrated.
pub async fn sqlite_memory() -> SqliteStore {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    store
}

#[cfg(feature = "sqlite")]
/// A fresh SQLite file path under cargo's scratch directory for tests.
pub fn sqlite_path() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("auth-sqlx-tests");
    std::fs::create_dir_all(&dir).unwrap();
    sweep_stale_files(&dir);
    dir.join(format!("auth_{}.db", unique_suffix()))
}

#[cfg(feature = "sqlite")]
fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

#[cfg(feature = "sqlite")]
/// A store on a fresh SQLite file, migrated.
pub async fn sqlite_file() -> SqliteStore {
    sqlite_file_at(&sqlite_path()).await
}

#[cfg(feature = "sqlite")]
/// A store on the SQLite file at `path` (created if missing), migrated.
pub async fn sqlite_file_at(path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::connect(&sqlite_url(path)).await.unwrap();
    store.migrate().await.unwrap();
    store
}

#[cfg(feature = "sqlite")]
fn sweep_stale_files(dir: &std::path::Path) {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > STALE_AFTER);
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    });
}

#[cfg(feature = "postgres")]
#[allow(unused_imports)] // not every test binary uses PostgreSQL
pub use self::postgres::*;

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use auth_sqlx::{
        PostgresStore,
        sqlx::{
            Connection as _, PgConnection,
            postgres::{PgConnectOptions, PgPoolOptions},
        },
    };

    const SCHEMA_PREFIX: &str = "auth_sqlx_test_";

    /// The PostgreSQL URL, or `None` after saying (once per test binary)
    /// that the PostgreSQL tests are skipped. A test that then returns early
    /// names itself with [`skipped`]; the conformance suite does that itself.
    pub fn postgres_url() -> Option<String> {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                static TOLD: std::sync::Once = std::sync::Once::new();
                TOLD.call_once(|| {
                    tell(&format!(
                        "skipped: no PostgreSQL ({POSTGRES_URL_VAR} is not set): \
                         the PostgreSQL tests of this binary pass without running"
                    ));
                });
                None
            }
        }
    }

    /// A fresh, empty schema; returns its name.
    pub async fn create_schema(url: &str) -> String {
        let mut admin = PgConnection::connect(url).await.unwrap_or_else(|error| {
            panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is not reachable: {error}")
        });
        sweep_stale_schemas(&mut admin).await;
        let schema = format!("{SCHEMA_PREFIX}{}", unique_suffix());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        schema
    }

    /// Connect options for `url` whose connections work in `schema`.
    pub fn options_in_schema(url: &str, schema: &str) -> PgConnectOptions {
        url.parse::<PgConnectOptions>()
            .unwrap()
            .options([("search_path", schema)])
    }

    /// A store in a fresh schema of the test database, migrated; `None` when
    /// no PostgreSQL is configured.
    pub async fn postgres_store() -> Option<PostgresStore> {
        let url = postgres_url()?;
        let schema = create_schema(&url).await;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options_in_schema(&url, &schema))
            .await
            .unwrap();
        let store = PostgresStore::new(pool);
        store.migrate().await.unwrap();
        Some(store)
    }

    /// Drops the schemas of runs that started over an hour ago.
    async fn sweep_stale_schemas(admin: &mut PgConnection) {
        let schemas: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)",
        )
        .bind(SCHEMA_PREFIX)
        .fetch_all(&mut *admin)
        .await
        .unwrap();
        let cutoff = now_secs().saturating_sub(STALE_AFTER.as_secs());
        for schema in schemas {
            let started = schema
                .trim_start_matches(SCHEMA_PREFIX)
                .split('_')
                .next()
                .and_then(|secs| secs.parse::<u64>().ok());
            if started.is_some_and(|started| started < cutoff) {
                // Another sweeper may have dropped it already.
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&mut *admin)
                .await;
            }
        }
    }
}
