//! Rows as read back from either backend, and their conversion to
//! auth-core's types. The backends differ only in how a time is stored
//! ([`DbTime`]).

use auth_core::{
    AuthError, Email, SessionId, User, UserId,
    password::PasswordHash,
    store::{
        Credential, CredentialId, CredentialKind, OneTimeTokenRecord, RefreshTokenHash,
        RefreshTokenMatch, Session, SessionClient, TokenPurpose, UserRecord,
    },
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
    email_verified: bool,
    name: Option<String>,
    has_password: bool,
    created_at: T,
    updated_at: T,
}

impl<T: DbTime> UserRow<T> {
    pub(crate) fn into_user(self) -> Result<User, AuthError> {
        Ok(User {
            id: UserId::new(self.id),
            // Written by this crate from an `Email`, so already normalised.
            email: Email::from_stored(self.email),
            email_verified: self.email_verified,
            name: self.name,
            has_password: self.has_password,
            two_factor_enabled: false,
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
    last_active_at: T,
    user_agent: Option<String>,
    ip: Option<String>,
    /// Absent from queries that read current sessions only.
    #[sqlx(default)]
    rotated_at: Option<T>,
}

impl<T: DbTime> SessionRow<T> {
    pub(crate) fn into_match(mut self) -> Result<RefreshTokenMatch, AuthError> {
        let rotated_at = self.rotated_at.take();
        let session = self.into_session()?;
        Ok(match rotated_at {
            None => RefreshTokenMatch::Current(session),
            Some(rotated_at) => RefreshTokenMatch::Rotated {
                session,
                rotated_at: rotated_at.into_datetime()?,
            },
        })
    }

    /// The session, without `rotated_at`.
    pub(crate) fn into_session(self) -> Result<Session, AuthError> {
        let hash: [u8; 32] = self
            .refresh_token_hash
            .try_into()
            .map_err(|_| AuthError::internal("stored refresh-token hash is not 32 bytes"))?;
        Ok(Session {
            id: SessionId::new(self.id),
            user_id: UserId::new(self.user_id),
            refresh_token_hash: RefreshTokenHash::from_bytes(hash),
            created_at: self.created_at.into_datetime()?,
            expires_at: self.expires_at.into_datetime()?,
            revoked_at: self.revoked_at.map(DbTime::into_datetime).transpose()?,
            last_active_at: self.last_active_at.into_datetime()?,
            user_agent: self.user_agent,
            ip: self
                .ip
                .map(|ip| ip.parse())
                .transpose()
                .map_err(|_| AuthError::internal("stored session ip is not an address"))?,
        })
    }
}

/// A refresh's client as bound to `sql::TOUCH_SESSION` and the like:
/// whether to write it at all (`None` leaves the columns as they are),
/// then its user agent and address.
pub(crate) struct ClientColumns {
    pub(crate) set: bool,
    pub(crate) user_agent: Option<String>,
    pub(crate) ip: Option<String>,
}

impl ClientColumns {
    pub(crate) fn of(client: Option<&SessionClient>) -> Self {
        Self {
            set: client.is_some(),
            user_agent: client.and_then(|c| c.user_agent().map(str::to_owned)),
            ip: client.and_then(SessionClient::ip).map(|ip| ip.to_string()),
        }
    }
}

/// A one-time token as a consuming `DELETE … RETURNING` gives it back.
#[derive(sqlx::FromRow)]
pub(crate) struct OneTimeTokenRow<T> {
    purpose: String,
    user_id: String,
    email: String,
    created_at: T,
    expires_at: T,
}

impl<T: DbTime> OneTimeTokenRow<T> {
    pub(crate) fn into_record(self) -> Result<OneTimeTokenRecord, AuthError> {
        Ok(OneTimeTokenRecord {
            purpose: TokenPurpose::from_stored(self.purpose),
            user_id: UserId::new(self.user_id),
            // Written by this crate from an `Email`, so already normalised.
            email: Email::from_stored(self.email),
            created_at: self.created_at.into_datetime()?,
            expires_at: self.expires_at.into_datetime()?,
        })
    }
}

/// A row of `auth_credentials`.
#[derive(sqlx::FromRow)]
pub(crate) struct CredentialRow<T> {
    id: String,
    kind: String,
    lookup: String,
    user_id: Option<String>,
    data: Vec<u8>,
    version: i64,
    created_at: T,
    last_used_at: Option<T>,
    expires_at: Option<T>,
}

impl<T: DbTime> CredentialRow<T> {
    pub(crate) fn into_credential(self) -> Result<Credential, AuthError> {
        Ok(Credential {
            id: CredentialId::new(self.id),
            kind: CredentialKind::from_stored(self.kind),
            lookup: self.lookup,
            user_id: self.user_id.map(UserId::new),
            data: self.data,
            version: u64::try_from(self.version)
                .map_err(|_| AuthError::internal("stored credential version is negative"))?,
            created_at: self.created_at.into_datetime()?,
            last_used_at: self.last_used_at.map(DbTime::into_datetime).transpose()?,
            expires_at: self.expires_at.map(DbTime::into_datetime).transpose()?,
        })
    }
}

/// A row of the mail queue.
#[derive(sqlx::FromRow)]
pub(crate) struct MailRow<T> {
    id: i64,
    ordering_key: String,
    payload: String,
    created_at: T,
    not_before: T,
    attempts: i32,
    claimed_until: Option<T>,
}

impl<T: DbTime> MailRow<T> {
    pub(crate) fn into_mail(self) -> Result<auth_core::mail::QueuedMail, AuthError> {
        Ok(auth_core::mail::QueuedMail {
            id: self.id,
            key: self.ordering_key,
            payload: self.payload,
            created_at: self.created_at.into_datetime()?,
            not_before: self.not_before.into_datetime()?,
            attempts: u32::try_from(self.attempts)
                .map_err(|_| AuthError::internal("stored attempts are negative"))?,
            claimed_until: self.claimed_until.map(DbTime::into_datetime).transpose()?,
        })
    }
}
