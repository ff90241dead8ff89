//! The SQLite store.

use std::{
    str::FromStr,
    sync::LazyLock,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use auth_core::{
    AuthError, Email, SessionId, User, UserId,
    password::PasswordHash,
    store::{
        NewOneTimeToken, NewSession, NewUser, OneTimeTokenRecord, OneTimeTokenStore,
        RefreshTokenHash, RefreshTokenMatch, Session, SessionClient, SessionStore, TokenHash,
        TokenPurpose, UserRecord, UserStore,
    },
};
use sqlx::{SqlitePool, migrate::Migrator, sqlite::SqliteConnectOptions};
use time::OffsetDateTime;

use crate::{
    MIGRATIONS_TABLE,
    credential_impl::sql_credential_impl,
    error::{is_email_conflict, is_foreign_key_violation, map_sqlx_error},
    mail_queue_impl::sql_mail_queue_impl,
    one_time_impl::sql_one_time_token_impl,
    rows::{ClientColumns, DbTime, OneTimeTokenRow, SessionRow, UserRecordRow, UserRow},
    sql,
    store_impl::{sql_store_impls, storable},
};

static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("migrations/sqlite");
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
});

/// Whether the user exists; `BEGIN IMMEDIATE` already holds the database's
/// write lock, so nothing can change it before the transaction ends.
const LOCK_USER: &str = "SELECT id FROM auth_users WHERE id = $1";

/// Times are stored as `INTEGER` microseconds since the Unix epoch.
impl DbTime for i64 {
    fn into_datetime(self) -> Result<OffsetDateTime, AuthError> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self) * 1_000)
            .map_err(|_| AuthError::internal("stored time is out of range"))
    }
}

/// Microseconds since the Unix epoch. auth-core's times are already whole
/// microseconds; any years-long overflow saturates (it cannot happen for
/// times between 290 000 BC and AD 290 000).
fn micros(time: OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// auth-core's [`UserStore`], [`SessionStore`], [`OneTimeTokenStore`],
/// [`CredentialStore`](auth_core::store::CredentialStore) and
/// [`MailQueue`](auth_core::store::MailQueue)
/// on SQLite: the embedded choice, no server needed.
///
/// A cheap handle around a [`SqlitePool`]: clone it, or share the
/// application's own pool with [`SqliteStore::new`]. Such a pool's
/// connections must have foreign keys on (sqlx's default;
/// [`migrate`](Self::migrate) checks), and a file database should be in WAL
/// mode, or every write blocks every read. WAL mode is a property of the
/// file that stays once set: open the file once with
/// [`SqliteStore::connect`], which sets it (retrying while another process
/// holds a lock), rather than with `SqliteConnectOptions::journal_mode`,
/// whose switch fails at once when several processes open a new file
/// together. Run [`migrate`](Self::migrate) at start-up.
///
/// On a shared pool, run your own `INSERT/UPDATE … RETURNING` with
/// `fetch_all`, not `fetch_one`/`fetch_optional`: those stop the statement
/// after its first row, and a write that never reaches `SQLITE_DONE` never
/// runs SQLite's WAL auto-checkpoint, so the `-wal` file grows without
/// bound. The store's own writes all run to completion.
///
/// ```
/// use auth_core::{AuthError, AuthService, JwtCodec, Password, SignUpRequest};
/// use auth_sqlx::SqliteStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), AuthError> {
/// # let dir = tempfile::tempdir().map_err(AuthError::internal)?;
/// # let url = format!("sqlite://{}", dir.path().join("auth.db").display());
/// // A file, created on first use: "sqlite://auth.db", or "sqlite::memory:".
/// let store = SqliteStore::connect(&url).await?;
/// store.migrate().await?;
/// let auth = AuthService::builder(store.clone(), store)
///     .token_codec(JwtCodec::hs256(
///         b"load me from the environment, 32+ bytes",
///         "https://api.example.com",
///         "todo-app",
///     )?)
///     .build()?;
///
/// let signed_up = auth
///     .sign_up(SignUpRequest {
///         email: "ada@example.com".into(),
///         password: Password::new("correct horse battery staple"),
///         name: None,
///     })
///     .await?.signed_in()?;
/// let principal = auth.authenticate(signed_up.access_token.expose_secret()).await?;
/// assert_eq!(principal.user_id(), &signed_up.user.id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    fn with_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    async fn session_owner(
        &self,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, AuthError> {
        let owner: Option<String> = sqlx::query_scalar(sql::ACTIVE_SESSION_OWNER)
            .bind(id.as_str())
            .bind(micros(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(owner.map(UserId::new))
    }

    /// Opens a pool on `url` and checks that the database answers.
    ///
    /// * `sqlite://path/to/auth.db` (or `sqlite:auth.db`): a file, created if
    ///   missing, in WAL mode so that readers do not wait for a writer
    ///   (where the file system cannot do WAL, a warning is logged and the
    ///   file stays in its journal mode).
    /// * `sqlite::memory:`: a private in-memory database, shared by the
    ///   pool's connections and kept until the pool is dropped.
    ///
    /// Foreign keys are on, and a writer waits up to 5 s for another
    /// (sqlx's defaults); the pool's acquire timeout is 5 s.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] for a malformed URL;
    /// [`AuthError::Unavailable`] or [`AuthError::Internal`] if the file
    /// cannot be opened or created.
    pub async fn connect(url: &str) -> Result<Self, AuthError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| AuthError::InvalidConfig("malformed SQLite URL".into()))?
            .create_if_missing(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // An in-memory database lives as long as one of its connections:
        // keep one open for the pool's whole life.
        let pool = crate::pool_options()
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(map_sqlx_error)?;
        if !in_memory {
            switch_to_wal(&pool).await?;
        }
        Ok(Self::new(pool))
    }

    /// Creates or updates the tables by applying the embedded migrations
    /// not applied yet; a no-op when all have been, so call it at every
    /// start-up. Safe from several processes at once: it runs in one
    /// `BEGIN IMMEDIATE` transaction, so a second caller waits (up to the
    /// busy timeout) and then finds nothing left to do. Applied migrations
    /// are recorded in [`MIGRATIONS_TABLE`](crate::MIGRATIONS_TABLE).
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] if the pool's connections have foreign
    /// keys off; [`AuthError::Unavailable`] if another process holds the
    /// write lock past the busy timeout; [`AuthError::Internal`] if a
    /// migration fails or one already applied differs from the embedded one.
    pub async fn migrate(&self) -> Result<(), AuthError> {
        // Without foreign keys, deleting a user would leave its sessions
        // behind and sessions of unknown users would be accepted.
        let foreign_keys: bool = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        if !foreign_keys {
            return Err(AuthError::InvalidConfig(
                "the SQLite pool has foreign keys off; auth-sqlx needs them on \
                 (SqliteConnectOptions::foreign_keys(true), sqlx's default)"
                    .into(),
            ));
        }
        // sqlx's SQLite migrator takes no lock of its own.
        let mut transaction = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_sqlx_error)?;
        // `run_direct` is `run` on a connection we already hold; `run` itself
        // would make this future `!Send` (rust-lang/rust#102211 through
        // sqlx's `Acquire`), and `migrate` must be spawnable.
        MIGRATOR
            .run_direct(None, &mut *transaction, false)
            .await
            .map_err(crate::map_migrate_error)?;
        transaction.commit().await.map_err(map_sqlx_error)
    }

    /// The embedded migrations, for applications that run migrations with
    /// their own tooling; [`migrate`](Self::migrate) runs them.
    pub fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// SQLite cannot run an `UPDATE` inside a `WITH`, so the compare-and-swap
    /// (of the main hash, else of a sibling) and the inserts of the
    /// rotated-away hash and a sibling's successor share one transaction.
    /// `BEGIN IMMEDIATE` takes the write lock up front: of two concurrent
    /// rotations the second waits (busy timeout), then finds the hash
    /// already replaced and changes nothing.
    async fn rotate(
        &self,
        id: &SessionId,
        current: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: i64,
        client: ClientColumns,
    ) -> Result<bool, sqlx::Error> {
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let swap = |sql: &'static str| {
            sqlx::query(sql)
                .bind(id.as_str())
                .bind(current.as_bytes().as_slice())
                .bind(next.as_bytes().as_slice())
                .bind(now)
        };
        let main = swap(sql::ROTATE_MAIN_HASH)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
            == 1;
        let sibling = !main
            && swap(sql::TAKE_SIBLING_HASH)
                .execute(&mut *transaction)
                .await?
                .rows_affected()
                == 1;
        if sibling {
            insert_sibling(&mut transaction, id, next, now).await?;
        }
        if main || sibling {
            sqlx::query(sql::INSERT_ROTATED_HASH)
                .bind(current.as_bytes().as_slice())
                .bind(id.as_str())
                .bind(now)
                .execute(&mut *transaction)
                .await?;
            touch(&mut transaction, id, now, client).await?;
        }
        transaction.commit().await?;
        Ok(main || sibling)
    }

    /// The counted reuse and the sibling's insert, in one `BEGIN IMMEDIATE`
    /// transaction: concurrent reuses run one after the other, each seeing
    /// the count the previous one left.
    #[allow(clippy::too_many_arguments)]
    async fn reuse(
        &self,
        id: &SessionId,
        rotated: &RefreshTokenHash,
        next: &RefreshTokenHash,
        rotated_since: i64,
        max_reuses: i64,
        now: i64,
        client: ClientColumns,
    ) -> Result<bool, sqlx::Error> {
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let counted = sqlx::query(sql::COUNT_REUSE)
            .bind(id.as_str())
            .bind(rotated.as_bytes().as_slice())
            .bind(next.as_bytes().as_slice())
            .bind(rotated_since)
            .bind(max_reuses)
            .bind(now)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
            == 1;
        if counted {
            insert_sibling(&mut transaction, id, next, now).await?;
            touch(&mut transaction, id, now, client).await?;
        }
        transaction.commit().await?;
        Ok(counted)
    }
}

/// Makes `next` a sibling current hash of session `id`
/// ([`sql::INSERT_SIBLING_HASH`]), inside a rotation's or reuse's
/// transaction.
async fn insert_sibling(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: &SessionId,
    next: &RefreshTokenHash,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(sql::INSERT_SIBLING_HASH)
        .bind(next.as_bytes().as_slice())
        .bind(id.as_str())
        .bind(now)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// Marks a refreshed session ([`sql::TOUCH_SESSION`]), inside the
/// rotation's or reuse's transaction.
async fn touch(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: &SessionId,
    now: i64,
    client: ClientColumns,
) -> Result<(), sqlx::Error> {
    sqlx::query(sql::TOUCH_SESSION)
        .bind(id.as_str())
        .bind(now)
        .bind(client.user_agent)
        .bind(client.ip)
        .bind(client.set)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// Puts the database file in WAL mode (it stays so). Switching needs a lock
/// that SQLite does not wait for (the busy timeout does not apply), so when
/// several processes open a new file at once some get `SQLITE_BUSY` at
/// once: retry for as long as a busy writer would be waited for.
async fn switch_to_wal(pool: &SqlitePool) -> Result<(), AuthError> {
    const PATIENCE: Duration = Duration::from_secs(5);
    let started = Instant::now();
    loop {
        // SQLite answers with the mode now in force: the old one if it
        // could not switch (a file system without shared memory, say).
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(pool)
            .await
        {
            Ok(mode) => {
                if !mode.eq_ignore_ascii_case("wal") {
                    tracing::warn!(%mode, "SQLite could not switch the database file to WAL mode");
                }
                return Ok(());
            }
            Err(error) => {
                let error = map_sqlx_error(error);
                if !matches!(error, AuthError::Unavailable(_)) || started.elapsed() > PATIENCE {
                    return Err(error);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

sql_store_impls!(
    SqliteStore,
    pool = SqlitePool,
    time = i64,
    to_db = micros,
    list_active_sessions = sql::LIST_ACTIVE_SESSIONS_SQLITE
);
sql_one_time_token_impl!(
    SqliteStore,
    time = i64,
    to_db = micros,
    begin = "BEGIN IMMEDIATE",
    lock_user = LOCK_USER
);
sql_credential_impl!(
    SqliteStore,
    time = i64,
    to_db = micros,
    list = sql::LIST_CREDENTIALS_SQLITE
);
sql_mail_queue_impl!(
    SqliteStore,
    time = i64,
    to_db = micros,
    claim = sql::CLAIM_MAIL_SQLITE,
    look_first = true
);
