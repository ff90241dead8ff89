//! The PostgreSQL store.

use std::sync::{Arc, LazyLock};

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
use sqlx::{PgPool, migrate::Migrator, postgres::PgConnectOptions};
use time::OffsetDateTime;

use crate::{
    MIGRATIONS_TABLE,
    credential_impl::sql_credential_impl,
    error::{is_email_conflict, is_foreign_key_violation, map_sqlx_error},
    mail_queue_impl::sql_mail_queue_impl,
    one_time_impl::sql_one_time_token_impl,
    rows::{ClientColumns, DbTime, OneTimeTokenRow, SessionRow, UserRecordRow, UserRow},
    session_checks::SessionChecks,
    sql,
    store_impl::{sql_store_impls, storable},
};

static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("migrations/postgres");
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
});

/// Stored as `TIMESTAMPTZ` (microsecond precision, like auth-core's times).
impl DbTime for OffsetDateTime {
    fn into_datetime(self) -> Result<OffsetDateTime, AuthError> {
        Ok(self)
    }
}

/// Whether the user exists, locking its row until the transaction ends so
/// that replacements of one user's tokens run one after the other. `NO KEY`:
/// inserts that reference the user (sessions) need not wait for it.
const LOCK_USER: &str = "SELECT id FROM auth_users WHERE id = $1 FOR NO KEY UPDATE";

/// auth-core's [`UserStore`], [`SessionStore`], [`OneTimeTokenStore`],
/// [`CredentialStore`](auth_core::store::CredentialStore) and
/// [`MailQueue`](auth_core::store::MailQueue)
/// on PostgreSQL.
///
/// A cheap handle around a [`PgPool`]: clone it, or share the application's
/// own pool with [`PostgresStore::new`]. Run [`migrate`](Self::migrate) at
/// start-up. The tables go into the first schema of the connections'
/// `search_path` (see the [crate docs](crate#tables-in-their-own-schema)).
///
/// ```no_run
/// use auth_core::{AuthError, AuthService, JwtCodec};
/// use auth_sqlx::PostgresStore;
///
/// # async fn run() -> Result<(), AuthError> {
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/app").await?;
/// store.migrate().await?;
/// let auth = AuthService::builder(store.clone(), store)
///     .token_codec(JwtCodec::hs256(
///         b"load me from the environment, 32+ bytes",
///         "https://api.example.com",
///         "todo-app",
///     )?)
///     .build()?;
/// # let _ = auth;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    session_checks: Arc<SessionChecks>,
}

impl PostgresStore {
    /// Opens a pool on `url` (`postgres://user:password@host:port/database`)
    /// and checks that the database answers. The pool has sqlx's defaults
    /// except an acquire timeout of 5 s (see the
    /// [crate docs](crate#when-the-database-is-down)). TLS, the root
    /// certificate and the statement cache are set in the URL (see the
    /// [crate docs](crate#tls-and-hosted-postgresql)).
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] for a malformed URL, and for TLS that
    /// cannot work as configured (no TLS in this build, a certificate file
    /// that cannot be read, a server certificate this client does not
    /// trust), its text naming the cause; [`AuthError::Unavailable`] if no
    /// connection can be made within the acquire timeout;
    /// [`AuthError::Internal`] for other failures (a wrong password, say).
    pub async fn connect(url: &str) -> Result<Self, AuthError> {
        let options = url.parse::<PgConnectOptions>().map_err(|error| {
            // sqlx's parse errors name the setting, never the password; the
            // innermost says it without sqlx's wrappers.
            let mut cause: &dyn std::error::Error = &error;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            AuthError::InvalidConfig(format!("malformed PostgreSQL URL: {cause}"))
        })?;
        let over_tcp = options.get_socket().is_none();
        let pool =
            crate::pool_options()
                .connect_with(options)
                .await
                .map_err(|error| match error {
                    // Over TCP the only files sqlx opens are `sslrootcert`,
                    // `sslcert` and `sslkey`; a missing one would otherwise be
                    // an I/O error, i.e. "unavailable".
                    sqlx::Error::Io(io)
                        if over_tcp
                            && matches!(
                                io.kind(),
                                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                            ) =>
                    {
                        AuthError::InvalidConfig(format!(
                            "TLS to PostgreSQL failed: a certificate or key file named in the URL \
                         (sslrootcert, sslcert, sslkey) cannot be read: {io}"
                        ))
                    }
                    other => map_sqlx_error(other),
                })?;
        Ok(Self::new(pool))
    }

    /// Creates or updates the tables by applying the embedded migrations
    /// not applied yet; a no-op when all have been, so call it at every
    /// start-up. Safe from several processes at once: the migrator holds a
    /// PostgreSQL advisory lock meanwhile. Applied migrations are recorded in
    /// [`MIGRATIONS_TABLE`](crate::MIGRATIONS_TABLE).
    ///
    /// # Errors
    /// [`AuthError::Unavailable`] if the database cannot be reached;
    /// [`AuthError::Internal`] if a migration fails or one already applied
    /// differs from the embedded one.
    pub async fn migrate(&self) -> Result<(), AuthError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(crate::map_migrate_error)
    }

    /// The embedded migrations, for applications that run migrations with
    /// their own tooling; [`migrate`](Self::migrate) runs them.
    pub fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    fn with_pool(pool: PgPool) -> Self {
        Self {
            pool,
            session_checks: Arc::default(),
        }
    }

    /// Batched with concurrent checks ([`crate::session_checks`]).
    async fn session_owner(
        &self,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, AuthError> {
        self.session_checks
            .owner(&self.pool, id.as_str(), now)
            .await
    }

    async fn rotate(
        &self,
        id: &SessionId,
        current: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: OffsetDateTime,
        client: ClientColumns,
    ) -> Result<bool, sqlx::Error> {
        let rotated = sqlx::query(sql::ROTATE)
            .bind(id.as_str())
            .bind(current.as_bytes().as_slice())
            .bind(next.as_bytes().as_slice())
            .bind(now)
            .bind(client.user_agent)
            .bind(client.ip)
            .bind(client.set)
            .execute(&self.pool)
            .await?;
        Ok(rotated.rows_affected() == 1)
    }

    /// One statement ([`sql::REUSE`]): the reuse counted, the sibling
    /// inserted and the session marked, or none of them.
    #[allow(clippy::too_many_arguments)]
    async fn reuse(
        &self,
        id: &SessionId,
        rotated: &RefreshTokenHash,
        next: &RefreshTokenHash,
        rotated_since: OffsetDateTime,
        max_reuses: i64,
        now: OffsetDateTime,
        client: ClientColumns,
    ) -> Result<bool, sqlx::Error> {
        let reused = sqlx::query(sql::REUSE)
            .bind(id.as_str())
            .bind(rotated.as_bytes().as_slice())
            .bind(next.as_bytes().as_slice())
            .bind(rotated_since)
            .bind(max_reuses)
            .bind(now)
            .bind(client.user_agent)
            .bind(client.ip)
            .bind(client.set)
            .execute(&self.pool)
            .await?;
        Ok(reused.rows_affected() == 1)
    }
}

sql_store_impls!(
    PostgresStore,
    pool = PgPool,
    time = OffsetDateTime,
    to_db = std::convert::identity,
    list_active_sessions = sql::LIST_ACTIVE_SESSIONS_POSTGRES
);
sql_one_time_token_impl!(
    PostgresStore,
    time = OffsetDateTime,
    to_db = std::convert::identity,
    begin = "BEGIN",
    lock_user = LOCK_USER
);
sql_credential_impl!(
    PostgresStore,
    time = OffsetDateTime,
    to_db = std::convert::identity,
    list = sql::LIST_CREDENTIALS_POSTGRES
);
sql_mail_queue_impl!(
    PostgresStore,
    time = OffsetDateTime,
    to_db = std::convert::identity,
    claim = sql::CLAIM_MAIL_POSTGRES,
    look_first = false
);
