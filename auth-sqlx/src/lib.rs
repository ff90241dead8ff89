//! PostgreSQL and SQLite stores for [`auth_core`], on [`sqlx`] 0.9.
//!
//! `SqliteStore` and `PostgresStore` each implement auth-core's
//! [`UserStore`](auth_core::store::UserStore),
//! [`SessionStore`](auth_core::store::SessionStore),
//! [`OneTimeTokenStore`](auth_core::store::OneTimeTokenStore),
//! [`CredentialStore`](auth_core::store::CredentialStore) and
//! [`MailQueue`](auth_core::store::MailQueue), with the schema as
//! embedded migrations that one call applies. Both pass auth-core's store
//! conformance suite, races included.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sqlite` | yes | `SqliteStore`, with SQLite compiled in (no system library) |
//! | `postgres` | no | `PostgresStore` |
//! | `postgres-tls` | no | `postgres`, plus TLS to the server: rustls on aws-lc-rs, Mozilla's root certificates built in (see [TLS](#tls-and-hosted-postgresql)) |
//! | `rust-crypto` | yes | auth-core's pure-Rust JWT backend |
//! | `aws-lc-rs` | no | auth-core's aws-lc-rs JWT backend |
//!
//! One of the two JWT backends must be on; with `default-features = false`,
//! name one, e.g. `features = ["postgres", "rust-crypto"]`.
//! [`sqlx`] and [`auth_core`] are re-exported, so versions always match.
//!
//! Without `postgres-tls`, sqlx is built without TLS: fine for a database
//! on the same host, but a URL asking for TLS then fails to connect with an
//! [`AuthError::InvalidConfig`](auth_core::AuthError::InvalidConfig) that
//! names the feature.
//!
//! # SQLite: nothing to set up
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! use auth_core::{AuthError, AuthService, JwtCodec};
//! # #[cfg(feature = "sqlite")]
//! use auth_sqlx::SqliteStore;
//!
//! # #[cfg(not(feature = "sqlite"))] fn main() {}
//! # #[cfg(feature = "sqlite")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), AuthError> {
//! let store = SqliteStore::connect("sqlite::memory:").await?; // or "sqlite://auth.db"
//! store.migrate().await?;
//! let auth = AuthService::builder(store.clone(), store)
//!     .token_codec(JwtCodec::hs256(
//!         b"load me from the environment, 32+ bytes",
//!         "https://api.example.com",
//!         "todo-app",
//!     )?)
//!     .build()?;
//! # let _ = auth;
//! # Ok(()) }
//! ```
//!
//! # PostgreSQL, sharing the application's pool
//!
//! The stores are handles around a pool. Give them the pool your
//! application already has, so that auth and application queries share its
//! connections (and its `max_connections` budget):
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # mod example {
//! use auth_core::{AuthError, AuthService, JwtCodec};
//! use auth_sqlx::{PostgresStore, map_sqlx_error, sqlx::postgres::PgPoolOptions};
//!
//! async fn start(database_url: &str, jwt_secret: &[u8]) -> Result<AuthService, AuthError> {
//!     let pool = PgPoolOptions::new()
//!         .max_connections(20)
//!         .connect(database_url)
//!         .await
//!         .map_err(map_sqlx_error)?;
//!     let store = PostgresStore::new(pool.clone()); // `pool` stays yours
//!     store.migrate().await?;
//!     AuthService::builder(store.clone(), store)
//!         .token_codec(JwtCodec::hs256(jwt_secret, "https://api.example.com", "todo-app")?)
//!         .build()
//! }
//! # }
//! ```
//!
//! # TLS and hosted PostgreSQL
//!
//! With the `postgres-tls` feature, the URL chooses TLS as libpq does:
//!
//! | `sslmode=` | encrypted | certificate checked against | host name checked |
//! |---|---|---|---|
//! | `disable` | no | | |
//! | `prefer` (sqlx's default), `allow` | if the server offers it; **else silently plain text** | | |
//! | `require` | yes | nothing (even with `sslrootcert`, unlike libpq): a man in the middle is not detected | no |
//! | `verify-ca` | yes | the trusted roots | no |
//! | `verify-full` | yes | the trusted roots | yes |
//!
//! The trusted roots are Mozilla's (webpki-roots, compiled in: no system
//! store needed), plus the PEM file named by `sslrootcert=/path/ca.pem`
//! (or `PGSSLROOTCERT`). Hosted services with publicly trusted
//! certificates (Neon's are from Let's Encrypt) pass `verify-full` without
//! `sslrootcert`; a private CA or a self-signed server needs it. Use
//! `verify-full` over any network you do not control.
//!
//! A TLS failure is [`AuthError::InvalidConfig`](auth_core::AuthError::InvalidConfig),
//! not `Unavailable`: a certificate the client does not trust, a host name
//! the certificate does not list, an unreadable `sslrootcert` file will
//! not heal by waiting. The text says what to change, for the start-up log.
//!
//! **Pooled endpoints.** A pooler in transaction mode (PgBouncer, Neon's
//! `-pooler` hosts) hands each transaction to any server connection.
//! sqlx 0.9 prepares every query as a *named* statement (`sqlx_s_1`, ...),
//! also with its statement cache off (`statement-cache-capacity=0` only
//! stops it reusing and closing them), so it needs a pooler that tracks
//! prepared statements: PgBouncer 1.21+ with `max_prepared_statements` > 0,
//! which Neon's pooler runs. Keep sqlx's cache on there (the default):
//! with it off, every query leaves one more statement for the pooler to
//! track. With an older PgBouncer in transaction mode, queries fail with
//! `prepared statement "sqlx_s_1" already exists` once a server connection
//! has served another client, cache or not (seen with PgBouncer 1.18): use
//! its session mode, or connect directly.
//! Migrations hold a session-level advisory lock, which transaction
//! pooling cannot keep on one server connection: run
//! `PostgresStore::migrate` through the direct (unpooled) URL.
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # async fn run() -> Result<(), auth_core::AuthError> {
//! let store = auth_sqlx::PostgresStore::connect(
//!     "postgres://app:secret@ep-name-123-pooler.eu-central-1.aws.neon.tech/app?sslmode=verify-full",
//! )
//! .await?;
//! # let _ = store; Ok(()) }
//! ```
//!
//! # Migrations
//!
//! `SqliteStore::migrate` / `PostgresStore::migrate` apply what has not
//! been applied yet and do nothing otherwise: call it at every start-up.
//! They record their versions in a table of their own,
//! `_auth_sqlx_migrations`, so an application that uses sqlx migrations
//! too keeps its `_sqlx_migrations` to itself. Applications with their own
//! migration tooling can copy the SQL instead (the files are in the crate's
//! `migrations/` folder) and never call `migrate`; the tables must then be
//! as below, because the stores' queries name them. When a later version of
//! this crate adds a migration, its changelog says so; apply the new file
//! the same way.
//!
//! | version | file | what it does |
//! |---|---|---|
//! | 1 | `0001_create_auth_tables.sql` | `auth_users`, `auth_sessions`, `auth_rotated_refresh_tokens` |
//! | 2 | `0002_account_lifecycle.sql` | adds `auth_users.email_verified` (existing users: `false`) and `auth_one_time_tokens`; applied in place over version 1, keeping the data |
//! | 3 | `0003_credentials.sql` | adds `auth_credentials`; applied in place over version 2, changing no existing table |
//! | 4 | `0004_refresh_token_reuse.sql` | adds `auth_rotated_refresh_tokens.reuses` (existing rows: 0) and `auth_refresh_token_siblings`, for the refresh-token reuse interval; applied in place over version 3, keeping every session |
//! | 5 | `0005_mail_outbox.sql` | adds `auth_mail_outbox`, the mail queue; applied in place, changing no existing table |
//! | 6 | `0006_session_client.sql` | adds `auth_sessions.last_active_at` (existing rows: their `created_at`), `user_agent` and `ip` (existing rows: null), what a session keeps of its client; applied in place over version 5, keeping every session |
//!
//! # Tables
//!
//! | table | columns | keys, constraints and indexes |
//! |---|---|---|
//! | `auth_users` | `id` text, `email` text, `email_verified` boolean (`INTEGER` 0 or 1 on SQLite), `name` text null, `password_hash` text (PHC), `created_at`, `updated_at` | primary key `id` (`auth_users_pkey` on PostgreSQL); unique `auth_users_email_key (email)`; check `email = lower(trim(email))` |
//! | `auth_sessions` | `id` text, `user_id` text, `refresh_token_hash` 32 bytes, `created_at`, `expires_at`, `revoked_at` null, `last_active_at` (the last refresh), `user_agent` text null, `ip` text null (the client of that refresh, or of the opening; personal data) | primary key `id`; `user_id` → `auth_users` on delete cascade; unique `auth_sessions_refresh_token_hash_key (refresh_token_hash)`; check that the hash has 32 bytes, `user_agent` at most 256 characters, `ip` at most 45 bytes; indexes on `user_id`, `expires_at`, `revoked_at` (partial) |
//! | `auth_rotated_refresh_tokens` | `refresh_token_hash` 32 bytes, `session_id` text, `rotated_at`, `reuses` integer (from 0) | primary key `refresh_token_hash`; `session_id` → `auth_sessions` on delete cascade; check `reuses >= 0`; index on `session_id` |
//! | `auth_refresh_token_siblings` | `refresh_token_hash` 32 bytes, `session_id` text, `created_at` | primary key `refresh_token_hash`; `session_id` → `auth_sessions` on delete cascade; check that the hash has 32 bytes; index on `session_id` |
//! | `auth_one_time_tokens` | `hash` 32 bytes, `purpose` text (1 to 64 bytes), `user_id` text, `email` text, `created_at`, `expires_at` | primary key `hash`; `user_id` → `auth_users` on delete cascade; checks on the lengths; indexes on `(user_id, purpose)` and `expires_at` |
//! | `auth_credentials` | `id` text, `user_id` text null, `kind` text (1 to 64 bytes), `lookup` text (1 to 255 bytes), `data` bytes, `version` integer (from 1), `created_at`, `last_used_at` null, `expires_at` null | primary key `id`; `user_id` → `auth_users` on delete cascade; unique index `auth_credentials_kind_lookup_key (kind, lookup)`; checks on the lengths and the version; indexes on `(user_id, kind)` and `expires_at` (partial) |
//! | `auth_mail_outbox` | `id` 64-bit integer (rising, never reused), `ordering_key` text (1 to 255 bytes), `payload` text (a JSON job, never a token), `created_at`, `not_before`, `attempts` integer (from 0), `claimed_until` null | primary key `id` (identity on PostgreSQL, `AUTOINCREMENT` on SQLite); no foreign key (a job may name an address without an account); indexes on `not_before` and `(ordering_key, id)` |
//!
//! * Ids are the 22-character random strings of
//!   [`UserId::generate`](auth_core::UserId::generate),
//!   [`SessionId::generate`](auth_core::SessionId::generate) and
//!   [`CredentialId::generate`](auth_core::store::CredentialId::generate).
//! * Emails are stored normalised (trimmed, lowercased; auth-core accepts
//!   ASCII addresses only), so the unique constraint is the case-insensitive
//!   uniqueness the contract asks for.
//! * Only SHA-256 hashes of refresh tokens and one-time tokens are stored; the per-request
//!   "is this session active" check is a primary-key lookup on
//!   `auth_sessions` (a `WITHOUT ROWID` table on SQLite, so one B-tree).
//! * Times: `TIMESTAMPTZ` on PostgreSQL; `INTEGER` microseconds since the
//!   Unix epoch (UTC) on SQLite.
//! * A session's current refresh-token hashes are its main one
//!   (`auth_sessions.refresh_token_hash`) and the siblings that reuses
//!   within the reuse interval made (`auth_refresh_token_siblings`).
//! * Deleting a user deletes its sessions, their rotated and sibling hashes, its
//!   one-time tokens and the credentials it owns (not those without an
//!   owner), by `ON DELETE CASCADE` in one statement. An application
//!   table can reference `auth_users (id)` the same way.
//! * All tables but `auth_users` and `auth_mail_outbox` are `WITHOUT ROWID`
//!   on SQLite.
//!
//! ## What is atomic, and how
//!
//! * Rotating a refresh token: one `UPDATE … WHERE refresh_token_hash =
//!   current` of the main hash, or one `DELETE` of the sibling, with the
//!   inserts of the old hash and a sibling's successor (in one `WITH`
//!   statement on PostgreSQL, in one `BEGIN IMMEDIATE` transaction on
//!   SQLite).
//! * Reusing a rotated refresh token: one `UPDATE … SET reuses = reuses
//!   + 1 WHERE … AND reuses < max` with the insert of the sibling (one
//!   `WITH` statement on PostgreSQL, which re-checks the bound against
//!   the row a concurrent reuse committed; one `BEGIN IMMEDIATE`
//!   transaction on SQLite): no more than `max` ever succeed.
//! * Changing or verifying an email: one `UPDATE … WHERE email = current`;
//!   the unique constraint decides between users racing for an address.
//! * Issuing a one-time token: one transaction that checks the user (on
//!   PostgreSQL locking its row, so that two issues for one user run in
//!   turn), deletes the user's tokens of the purpose and inserts the new one.
//! * Using a one-time token up: one `DELETE … RETURNING`; of concurrent
//!   ones, exactly one gets the row.
//! * The mail queue: every method is one statement. A claim is one
//!   `UPDATE … WHERE id IN (SELECT … ORDER BY id LIMIT n) RETURNING` that
//!   takes only the oldest row of each key and only rows nobody holds; on
//!   PostgreSQL the `SELECT` locks what it picks and skips what another
//!   claim holds (`FOR UPDATE SKIP LOCKED`), on SQLite writers run one at
//!   a time, so no row goes to two claims. SQLite first reads whether any
//!   row is due, so that the worker's poll takes the write lock only when
//!   there is work.
//! * Credentials: every method is one statement. An insert is
//!   `INSERT … ON CONFLICT (kind, lookup) DO NOTHING` and a replacement
//!   the same `DO UPDATE` (the whole row, id included), so the unique
//!   index decides between racing writers; an update or a consumption
//!   names the version it read in its `WHERE`, so of concurrent ones
//!   exactly one changes the row.
//!
//! ## Tables in their own schema
//!
//! On PostgreSQL the tables (and `_auth_sqlx_migrations`) are created and
//! queried unqualified, so they live in the first schema of the
//! connection's `search_path`. To keep them apart, create the schema and give
//! the store a pool of its own whose connections search only it (the
//! application's pool keeps the default `search_path`, so its own tables
//! and its `_sqlx_migrations` stay where they were; it reaches the auth
//! tables as `auth.auth_users`):
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # mod example {
//! use auth_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
//!
//! async fn auth_pool() -> Result<auth_sqlx::sqlx::PgPool, auth_sqlx::sqlx::Error> {
//!     // Once, by whoever owns the database: CREATE SCHEMA auth;
//!     let options = "postgres://app@db/app"
//!         .parse::<PgConnectOptions>()?
//!         .options([("search_path", "auth")]);
//!     Ok(PgPoolOptions::new()
//!         .acquire_timeout(std::time::Duration::from_secs(5))
//!         .connect_lazy_with(options))
//! }
//! # }
//! ```
//!
//! SQLite has no schemas to choose; the table names are fixed.
//!
//! # Deleting ended sessions
//!
//! Revoked and expired sessions stay (so that a replayed refresh token is
//! still recognised as reuse) until deleted. Run
//! [`AuthService::delete_ended_sessions`](auth_core::AuthService::delete_ended_sessions)
//! on a timer; it deletes sessions that ended more than the given age ago,
//! with their rotated and sibling hashes:
//!
//! ```
//! use std::time::Duration;
//! use auth_core::AuthService;
//!
//! fn spawn_session_cleanup(auth: AuthService) -> tokio::task::JoinHandle<()> {
//!     tokio::spawn(async move {
//!         let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
//!         loop {
//!             every_hour.tick().await;
//!             // Keep a week of ended sessions: a refresh token replayed
//!             // within it is still reported as reuse.
//!             match auth.delete_ended_sessions(Duration::from_secs(7 * 24 * 3600)).await {
//!                 Ok(deleted) => tracing::info!(deleted, "deleted ended sessions"),
//!                 Err(error) => tracing::warn!(%error, "could not delete ended sessions"),
//!             }
//!         }
//!     })
//! }
//! ```
//!
//! Expired one-time tokens are never accepted, but stay until deleted the
//! same way, with
//! [`OneTimeTokenStore::delete_expired_one_time_tokens`](auth_core::store::OneTimeTokenStore::delete_expired_one_time_tokens)
//! on the store (any cutoff up to now is right: an expired token is of no
//! use to anyone). Expired credentials likewise, with
//! [`CredentialStore::delete_expired`](auth_core::store::CredentialStore::delete_expired).
//! The mail queue needs no cleanup: a row goes once its message is sent or
//! given up (after about 10 hours of failures).
//!
//! # When the database is down
//!
//! Every store call that cannot get a connection fails, once the pool's
//! acquire timeout has passed, with
//! [`AuthError::Unavailable`](auth_core::AuthError::Unavailable), which the
//! framework adapters answer with 503; so do broken connections, a server
//! shutting down and an overloaded SQLite file. Nothing panics, and the
//! same pool reconnects by itself when the database is back. `connect`
//! sets the acquire timeout to 5 s (sqlx's default is 30 s); set your own
//! with `PoolOptions::acquire_timeout` on a pool you build.
//!
//! `connect` also skips sqlx's ping on acquire for a connection idle less
//! than a second: sqlx already pinged it when it was released, and the
//! extra round trip on every query cost a third of an authenticated
//! request's on PostgreSQL. So after a database restart, each connection
//! that was idle for less than that second can fail one query (up to the
//! pool's size in all) with `Unavailable` before the pool drops it. A pool
//! you build keeps sqlx's ping on every acquire unless you set
//! `test_before_acquire(false)` and a `before_acquire` of your own.
//!
//! The acquire timeout bounds the wait for a connection, not a query. On
//! PostgreSQL, `statement_timeout` (e.g.
//! `.options([("statement_timeout", "10s")])` on the connect options) makes
//! the server cancel slow or lock-waiting queries; but a query on a
//! connection the network silently dropped waits for the operating
//! system's TCP timeout, which only a client-side timeout around the
//! request (`tokio::time::timeout`, a tower timeout layer) cuts short.
//! Other database
//! errors are [`AuthError::Internal`](auth_core::AuthError::Internal). In
//! both, the sqlx error is only the error's `source`, for your logs: no
//! database text reaches a client. An email that is already taken is
//! [`AuthError::EmailTaken`](auth_core::AuthError::EmailTaken), also when
//! two sign-ups race.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod credential_impl;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod error;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod mail_queue_impl;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod one_time_impl;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod rows;
#[cfg(feature = "postgres")]
mod session_checks;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod store_impl;

pub use auth_core;
pub use sqlx;

#[cfg(any(feature = "postgres", feature = "sqlite"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "postgres", feature = "sqlite"))))]
pub use error::map_sqlx_error;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;

/// The table in which `SqliteStore::migrate` and
/// `PostgresStore::migrate` record the migrations they applied.
pub const MIGRATIONS_TABLE: &str = "_auth_sqlx_migrations";

/// The pool settings of the stores' `connect`: sqlx's defaults, but an
/// outage is reported after 5 s rather than 30, and an idle connection is
/// pinged on acquire only when it has been idle for [`PING_IDLE_AFTER`].
///
/// sqlx pings every connection it takes back (always), and by default
/// again on every acquire: two extra round trips per query. The ping on
/// release already proved a connection alive when it went idle, so a
/// second ping moments later tells nothing new; it cost a third of the
/// round trips of an authenticated request (BENCHMARKS.md).
#[cfg(any(feature = "postgres", feature = "sqlite"))]
fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    use sqlx::Connection as _;
    sqlx::pool::PoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|connection: &mut DB::Connection, metadata| {
            Box::pin(async move {
                if metadata.idle_for >= PING_IDLE_AFTER {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
}

/// How long a pooled connection may sit idle before it is pinged on
/// acquire (as HikariCP's 500 ms "alive bypass" window, if coarser).
#[cfg(any(feature = "postgres", feature = "sqlite"))]
const PING_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

#[cfg(any(feature = "postgres", feature = "sqlite"))]
fn map_migrate_error(error: sqlx::migrate::MigrateError) -> auth_core::AuthError {
    match error {
        sqlx::migrate::MigrateError::Execute(error) => map_sqlx_error(error),
        other => auth_core::AuthError::internal(other),
    }
}

// The README shown on crates.io: its example is compiled as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
