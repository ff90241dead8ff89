//! Rows as read back from either backend, and their conversion to
//! auth-core's types. The backends differ only in how a time is stored
//! ([`DbTime`]).

use auth_core::{
    AuthError, Email, PasswordHash, RefreshTokenHash, RefreshTokenMatch, Session, SessionId, User,
    UserId, UserRecord,
};
use time::OffsetDateTime;

/// A time as a backend stores it.
pub(crate) trait DbTime: Sized {
    fn into_datetime(self) -> Result<OffsetDateTime, AuthError>;
}

/// The columns of `auth_users` that clients may see.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow<T> {
    id: String,
    email: String,
    name: Option<String>,
    created_at: T,
    updated_at: T,
}

impl<T: DbTime> UserRow<T> {
    pub(crate) fn into_user(self) -> Result<User, AuthError> {
        Ok(User {
            id: UserId::new(self.id),
            // Written by this crate from an `Email`, so already normalised.
            email: Email::from_stored(self.email),
            name: self.name,
            created_at: self.created_at.into_datetime()?,
            updated_at: self.updated_at.into_datetime()?,
        })
    }
}

/// A user with its password hash, for sign-in.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRecordRow<T> {
    #[sqlx(flatten)]
    user: UserRow<T>,
    password_hash: String,
}

impl<T: DbTime> UserRecordRow<T> {
    pub(crate) fn into_record(self) -> Result<UserRecord, AuthError> {
        Ok(UserRecord {
            user: self.user.into_user()?,
            password_hash: PasswordHash::from_phc(self.password_hash)?,
        })
    }
}

/// A session, and when the looked-up hash was rotated away if it was.
#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow<T> {
    id: String,
    user_id: String,
    refresh_token_hash: Vec<u8>,
    created_at: T,
    expires_at: T,
    revoked_at: Option<T>,
    rotated_at: Option<T>,
}

impl<T: DbTime> SessionRow<T> {
    pub(crate) fn into_match(self) -> Result<RefreshTokenMatch, AuthError> {
        let hash: [u8; 32] = self
            .refresh_token_hash
            .try_into()
            .map_err(|_| AuthError::internal("stored refresh-token hash is not 32 bytes"))?;
        let session = Session {
            id: SessionId::new(self.id),
            user_id: UserId::new(self.user_id),
            refresh_token_hash: RefreshTokenHash::from_bytes(hash),
            created_at: self.created_at.into_datetime()?,
            expires_at: self.expires_at.into_datetime()?,
            revoked_at: self.revoked_at.map(DbTime::into_datetime).transpose()?,
        };
        Ok(match self.rotated_at {
            None => RefreshTokenMatch::Current(session),
            Some(rotated_at) => RefreshTokenMatch::Rotated {
                session,
                rotated_at: rotated_at.into_datetime()?,
            },
        })
    }
}

/// The session columns of [`SessionRow`], for `SELECT … FROM auth_sessions s`.
macro_rules! session_columns {
    () => {
        "s.id, s.user_id, s.refresh_token_hash, s.created_at, s.expires_at, s.revoked_at"
    };
}

/// SQL both backends run unchanged (sqlx binds `$n` on SQLite too).
pub(crate) mod sql {
    pub(crate) const FIND_USER_BY_EMAIL: &str = "SELECT id, email, name, password_hash, created_at, updated_at \
         FROM auth_users WHERE email = $1";

    pub(crate) const FIND_USER_BY_ID: &str =
        "SELECT id, email, name, created_at, updated_at FROM auth_users WHERE id = $1";

    pub(crate) const UPDATE_PASSWORD_HASH: &str =
        "UPDATE auth_users SET password_hash = $2, updated_at = $3 WHERE id = $1";

    pub(crate) const INSERT_USER: &str = "INSERT INTO auth_users \
         (id, email, name, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";

    pub(crate) const INSERT_SESSION: &str = "INSERT INTO auth_sessions \
         (id, user_id, refresh_token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";

    /// One round trip: the session whose current hash this is, else the one
    /// that rotated it away (with `rotated_at`).
    pub(crate) const FIND_SESSION_BY_REFRESH_TOKEN: &str = concat!(
        "SELECT ",
        session_columns!(),
        ", NULL AS rotated_at FROM auth_sessions s WHERE s.refresh_token_hash = $1 \
         UNION ALL SELECT ",
        session_columns!(),
        ", r.rotated_at FROM auth_rotated_refresh_tokens r \
         JOIN auth_sessions s ON s.id = r.session_id WHERE r.refresh_token_hash = $1 \
         LIMIT 1"
    );

    /// Keeps the first revocation time.
    pub(crate) const REVOKE_SESSION: &str =
        "UPDATE auth_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

    pub(crate) const REVOKE_USER_SESSIONS: &str = "UPDATE auth_sessions SET revoked_at = $2 \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2";

    /// A primary-key lookup.
    pub(crate) const ACTIVE_SESSION_OWNER: &str = "SELECT user_id FROM auth_sessions \
         WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2";

    /// One batch of ended sessions; their rotated hashes go with them
    /// (`ON DELETE CASCADE`).
    pub(crate) const DELETE_ENDED_SESSIONS: &str = "DELETE FROM auth_sessions WHERE id IN \
         (SELECT id FROM auth_sessions WHERE expires_at < $1 OR revoked_at < $1 LIMIT $2)";

    /// Sessions deleted per statement by `delete_ended_sessions`.
    pub(crate) const DELETE_BATCH: i64 = 1000;
}
