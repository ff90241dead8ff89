//! How database errors become [`AuthError`]s.

use auth_core::AuthError;
use sqlx::error::{DatabaseError, ErrorKind};

/// The unique constraint on `auth_users.email`, by name (PostgreSQL reports
/// it) and as SQLite's message names the column.
const EMAIL_CONSTRAINT: &str = "auth_users_email_key";
const EMAIL_COLUMN: &str = "auth_users.email";

/// Classifies a sqlx error as [`AuthError::Unavailable`] (the database cannot
/// be reached or is refusing work for now: an adapter answers 503) or
/// [`AuthError::Internal`] (anything else: 500).
///
/// Public so that an application keeping its own data in the same pool can
/// report database outages exactly as the auth stores do. The sqlx error
/// becomes the [`source`](std::error::Error::source) of the result, for
/// logs; adapters never show it to clients.
///
/// ```
/// use auth_core::AuthError;
///
/// let error = auth_sqlx::map_sqlx_error(sqlx::Error::PoolTimedOut);
/// assert!(matches!(error, AuthError::Unavailable(_)));
/// assert_eq!(error.status(), 503);
///
/// let error = auth_sqlx::map_sqlx_error(sqlx::Error::RowNotFound);
/// assert!(matches!(error, AuthError::Internal(_)));
/// ```
pub fn map_sqlx_error(error: sqlx::Error) -> AuthError {
    let unavailable = match &error {
        // No connection could be made or checked out in time, the pool was
        // shut down, or a connection broke or timed out mid-query.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
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

/// Database errors that mean "not now" rather than "wrong".
fn is_transient(error: &dyn DatabaseError) -> bool {
    let Some(code) = error.code() else {
        return false;
    };
    // PostgreSQL SQLSTATEs: connection exceptions (class 08), too many
    // connections, and the server shutting down or starting up.
    if code.starts_with("08") || matches!(&*code, "53300" | "57P01" | "57P02" | "57P03") {
        return true;
    }
    // SQLite (extended) result codes: SQLITE_BUSY (5) and SQLITE_LOCKED (6)
    // still there after the busy timeout, i.e. the database is overloaded.
    code.parse::<i32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

/// Whether `error` is the unique violation of the users' email, on either
/// backend.
pub(crate) fn is_email_conflict(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    db.kind() == ErrorKind::UniqueViolation
        && (db.constraint() == Some(EMAIL_CONSTRAINT) || db.message().contains(EMAIL_COLUMN))
}

/// Whether `error` is a foreign-key violation (a session for a user that
/// does not exist).
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.kind() == ErrorKind::ForeignKeyViolation)
}
