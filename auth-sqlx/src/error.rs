//! How database errors become [`AuthError`]s.

use auth_core::AuthError;
use sqlx::error::{DatabaseError, ErrorKind};

/// The primary key of `auth_users`, as PostgreSQL names it.
const USERS_PRIMARY_KEY: &str = "auth_users_pkey";
/// SQLite's extended result code for a primary-key violation
/// (`SQLITE_CONSTRAINT_PRIMARYKEY`); a unique index's is 2067.
const SQLITE_PRIMARY_KEY_VIOLATION: &str = "1555";

/// Classifies a sqlx error as [`AuthError::Unavailable`] (the database cannot
/// be reached or is refusing work for now: an adapter answers 503),
/// [`AuthError::InvalidConfig`] (TLS or connection settings that waiting
/// will not fix: a certificate the client does not trust, `sslmode` asking
/// for TLS in a build without it) or [`AuthError::Internal`] (anything
/// else: 500).
///
/// Public so that an application keeping its own data in the same pool can
/// report database outages exactly as the auth stores do. The sqlx error
/// becomes the [`source`](std::error::Error::source) of the result (or, for
/// a configuration error, part of its text), for logs; adapters never show
/// it to clients.
///
/// ```
/// use auth_core::AuthError;
///
/// let error = auth_sqlx::map_sqlx_error(sqlx::Error::PoolTimedOut);
/// assert!(matches!(error, AuthError::Unavailable(_)));
/// assert_eq!(auth_core::http::HttpError::status_for(&error), 503);
///
/// let error = auth_sqlx::map_sqlx_error(sqlx::Error::RowNotFound);
/// assert!(matches!(error, AuthError::Internal(_)));
/// ```
pub fn map_sqlx_error(error: sqlx::Error) -> AuthError {
    if let Some(problem) = configuration_problem(&error) {
        return AuthError::InvalidConfig(problem);
    }
    let unavailable = match &error {
        // No connection could be made or checked out in time, the pool was
        // shut down, or a connection broke mid-query. (TLS failures were
        // taken out above: a bad certificate will not heal by waiting.)
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_transient(db.as_ref()),
        _ => false,
    };
    if unavailable {
        AuthError::unavailable(error)
    } else {
        AuthError::internal(error)
    }
}

/// The text of an [`AuthError::InvalidConfig`] for the errors that come
/// from the connection settings, cause first; `None` for the others.
fn configuration_problem(error: &sqlx::Error) -> Option<String> {
    match error {
        // sqlx raises `Tls` before any byte is sent (no TLS in this build,
        // an unreadable or malformed certificate file) and for rustls's
        // own set-up errors; `Configuration` for settings it refuses.
        sqlx::Error::Tls(source) => Some(tls_problem(&source.to_string(), source.as_ref())),
        sqlx::Error::Configuration(source) => {
            let mut cause: &dyn std::error::Error = source.as_ref();
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            Some(format!("PostgreSQL connection settings: {cause}"))
        }
        // The handshake's failures reach sqlx as I/O errors of kind
        // `InvalidData` wrapping the TLS library's error (a socket that
        // breaks is `ConnectionReset`, `UnexpectedEof`, ..., never this).
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            let inner = io.get_ref()?;
            Some(tls_problem(&io.to_string(), inner))
        }
        _ => None,
    }
}

/// "TLS to PostgreSQL failed: <what rustls said>", with what to change.
fn tls_problem(text: &str, source: &(dyn std::error::Error + 'static)) -> String {
    let hint = if text.contains("without TLS support") {
        "; this build has no TLS: turn on auth-sqlx's `postgres-tls` feature"
    } else {
        certificate_hint(source)
    };
    format!("TLS to PostgreSQL failed: {text}{hint}")
}

#[cfg(feature = "postgres-tls")]
fn certificate_hint(source: &(dyn std::error::Error + 'static)) -> &'static str {
    use rustls::{CertificateError, Error as TlsError};
    match source.downcast_ref::<TlsError>() {
        Some(TlsError::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            "; the server's certificate is not signed by a CA this client trusts: \
             name the CA's PEM file with `sslrootcert=` in the URL"
        }
        Some(TlsError::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => {
            "; the server's certificate does not name this host: connect by a name it \
             lists, or use `sslmode=verify-ca` (CA checked, host name not)"
        }
        Some(TlsError::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        )) => "; the server's certificate has expired",
        _ => "",
    }
}

#[cfg(not(feature = "postgres-tls"))]
fn certificate_hint(_: &(dyn std::error::Error + 'static)) -> &'static str {
    ""
}

/// Database errors that mean "not now" rather than "wrong", judged by the
/// backend that raised them (the two backends' codes overlap: PostgreSQL's
/// SQLSTATE 42501 is a number too).
fn is_transient(error: &dyn DatabaseError) -> bool {
    #[cfg(feature = "postgres")]
    if let Some(error) = error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        // Connection exceptions (class 08), too many connections, and the
        // server shutting down or starting up.
        let code = error.code();
        return code.starts_with("08") || matches!(code, "53300" | "57P01" | "57P02" | "57P03");
    }
    #[cfg(feature = "sqlite")]
    if error
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        // SQLITE_BUSY (5) or SQLITE_LOCKED (6), in any extended form, still
        // there after the busy timeout: the database is overloaded.
        return error
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6));
    }
    false
}

/// Whether `error`, raised by inserting a user, is the unique violation of
/// the email. An insert into `auth_users` can violate only the primary key
/// (a random 128-bit id: practically never) or the email, so anything but
/// the primary key is the email, whatever an application named that
/// constraint in its own migrations.
pub(crate) fn is_email_conflict(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    let primary_key = db.constraint() == Some(USERS_PRIMARY_KEY)
        // SQLite names no constraint, but its code tells a primary key apart.
        || db.code().as_deref() == Some(SQLITE_PRIMARY_KEY_VIOLATION);
    db.kind() == ErrorKind::UniqueViolation && !primary_key
}

/// Whether `error` is a foreign-key violation (a session for a user that
/// does not exist).
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.kind() == ErrorKind::ForeignKeyViolation)
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::SqliteStore;

    const INSERT: &str = "INSERT INTO auth_users \
        (id, email, name, password_hash, created_at, updated_at) VALUES ($1, $2, NULL, 'x', 0, 0)";

    async fn insert(store: &SqliteStore, id: &str, email: &str) -> Result<(), sqlx::Error> {
        sqlx::query(INSERT)
            .bind(id)
            .bind(email)
            .execute(store.pool())
            .await
            .map(drop)
    }

    #[tokio::test]
    async fn only_the_email_is_an_email_conflict_on_sqlite() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        insert(&store, "a", "a@example.com").await.unwrap();

        let same_email = insert(&store, "b", "a@example.com").await.unwrap_err();
        assert!(is_email_conflict(&same_email), "{same_email:?}");
        let same_id = insert(&store, "a", "b@example.com").await.unwrap_err();
        assert!(!is_email_conflict(&same_id), "{same_id:?}");
        assert!(!is_email_conflict(&sqlx::Error::RowNotFound));
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn only_the_email_is_an_email_conflict_on_postgresql() {
        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

        let Ok(url) = std::env::var("AUTH_TEST_POSTGRES_URL") else {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: no PostgreSQL (AUTH_TEST_POSTGRES_URL is not set): \
                 only_the_email_is_an_email_conflict_on_postgresql"
            );
            return;
        };
        let schema = format!("auth_sqlx_unit_{}", std::process::id());
        let admin = PgPoolOptions::new().connect(&url).await.unwrap();
        let create = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(create))
            .execute(&admin)
            .await
            .unwrap();
        let options = url
            .parse::<PgConnectOptions>()
            .unwrap()
            .options([("search_path", schema.as_str())]);
        let pool = PgPoolOptions::new().connect_with(options).await.unwrap();
        crate::PostgresStore::new(pool.clone())
            .migrate()
            .await
            .unwrap();
        let insert = |id: &'static str, email: &'static str| {
            sqlx::query(
                "INSERT INTO auth_users (id, email, name, password_hash, created_at, updated_at) \
                 VALUES ($1, $2, NULL, 'x', now(), now())",
            )
            .bind(id)
            .bind(email)
            .execute(&pool)
        };
        insert("a", "a@example.com").await.unwrap();
        let same_email = insert("b", "a@example.com").await.unwrap_err();
        let same_id = insert("a", "b@example.com").await.unwrap_err();
        pool.close().await;
        let drop_schema = format!("DROP SCHEMA {schema} CASCADE");
        sqlx::raw_sql(sqlx::AssertSqlSafe(drop_schema))
            .execute(&admin)
            .await
            .unwrap();
        assert!(is_email_conflict(&same_email), "{same_email:?}");
        assert!(!is_email_conflict(&same_id), "{same_id:?}");
    }
}

#[cfg(test)]
mod classification {
    use super::*;

    #[test]
    fn tls_and_settings_errors_are_configuration_errors() {
        let tls = sqlx::Error::Tls("TLS upgrade required by connect options but SQLx was built without TLS support enabled".into());
        let handshake = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        ));
        let settings = sqlx::Error::Configuration("unknown value \"x\" for `ssl_mode`".into());
        for error in [tls, handshake, settings] {
            let mapped = map_sqlx_error(error);
            assert!(matches!(mapped, AuthError::InvalidConfig(_)), "{mapped:?}");
        }
        let AuthError::InvalidConfig(text) = map_sqlx_error(sqlx::Error::Tls(
            "TLS upgrade required by connect options but SQLx was built without TLS support enabled".into(),
        )) else {
            unreachable!()
        };
        assert!(text.contains("`postgres-tls`"), "{text}");
    }

    #[test]
    fn a_broken_connection_is_still_unavailable() {
        for kind in [
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::UnexpectedEof,
            std::io::ErrorKind::ConnectionRefused,
        ] {
            let mapped = map_sqlx_error(sqlx::Error::Io(kind.into()));
            assert!(matches!(mapped, AuthError::Unavailable(_)), "{kind:?}");
        }
    }
}
