//! The one error type of this crate, and the table that maps it to HTTP.

use std::time::Duration;

/// A boxed error from a store, hasher or other backend, kept as the
/// [`source`](std::error::Error::source) of [`AuthError::Unavailable`] and
/// [`AuthError::Internal`] so it can be logged, but never shown to clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The `Retry-After` of a 503 ([`AuthError::Unavailable`]), in seconds: a
/// restarting or failing-over database is usually back within a few, and
/// a client that retries at once only queues for the pool again.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// Everything that can go wrong in sign-up, sign-in, refresh, sign-out and
/// authentication, for clients and for stores alike.
///
/// Each variant has a stable machine-readable [`code`](Self::code) and the
/// HTTP [`status`](Self::status) an adapter answers with, so every framework
/// adapter renders errors from this one table. The [`Display`](std::fmt::Display)
/// text is safe to show to a client: it never contains a secret, a database
/// error, or whether an email address is registered (the one deliberate
/// exception is [`AuthError::EmailTaken`] on sign-up).
///
/// | variant | status | code |
/// |---|---|---|
/// | [`InvalidCredentials`](Self::InvalidCredentials) | 401 | `invalid_credentials` |
/// | [`MissingToken`](Self::MissingToken) | 401 | `missing_token` |
/// | [`InvalidToken`](Self::InvalidToken) | 401 | `invalid_token` |
/// | [`TokenExpired`](Self::TokenExpired) | 401 | `token_expired` |
/// | [`SessionRevoked`](Self::SessionRevoked) | 401 | `session_revoked` |
/// | [`SessionExpired`](Self::SessionExpired) | 401 | `session_expired` |
/// | [`InvalidRefreshToken`](Self::InvalidRefreshToken) | 401 | `invalid_refresh_token` |
/// | [`RefreshTokenReused`](Self::RefreshTokenReused) | 401 | `refresh_token_reused` |
/// | [`UserNotFound`](Self::UserNotFound) | 401 | `user_not_found` |
/// | [`InvalidCode`](Self::InvalidCode) | 401 | `invalid_code` |
/// | [`InvalidOneTimeToken`](Self::InvalidOneTimeToken) | 400 | `invalid_token` |
/// | [`Forbidden`](Self::Forbidden) | 403 | `forbidden` |
/// | [`WrongPassword`](Self::WrongPassword) | 403 | `wrong_password` |
/// | [`EmailNotVerified`](Self::EmailNotVerified) | 403 | `email_not_verified` |
/// | [`NotFound`](Self::NotFound) | 404 | `not_found` |
/// | [`EmailTaken`](Self::EmailTaken) | 409 | `email_taken` |
/// | [`InvalidEmail`](Self::InvalidEmail) | 422 | `invalid_email` |
/// | [`PasswordTooShort`](Self::PasswordTooShort) | 422 | `password_too_short` |
/// | [`PasswordTooLong`](Self::PasswordTooLong) | 422 | `password_too_long` |
/// | [`PasswordTooCommon`](Self::PasswordTooCommon) | 422 | `password_too_common` |
/// | [`InvalidName`](Self::InvalidName) | 422 | `invalid_name` |
/// | [`TooManyAttempts`](Self::TooManyAttempts) | 429 | `too_many_attempts` |
/// | [`InvalidConfig`](Self::InvalidConfig) | 500 | `internal_error` |
/// | [`Internal`](Self::Internal) | 500 | `internal_error` |
/// | [`Unavailable`](Self::Unavailable) | 503 | `service_unavailable` |
///
/// ```
/// use auth_core::AuthError;
///
/// let err = AuthError::TokenExpired;
/// assert_eq!(err.status(), 401);
/// assert_eq!(err.code(), "token_expired");
/// assert_eq!(err.www_authenticate(), Some(r#"Bearer error="invalid_token""#));
/// assert_eq!(err.to_string(), "the access token has expired");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Sign-in with an unknown email or a wrong password: deliberately one
    /// error for both.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// A route needs an access token and the request carried none.
    #[error("an access token is required")]
    MissingToken,
    /// The access token is malformed, badly signed, of a wrong algorithm,
    /// issuer or audience, not yet valid, or lacks a required claim.
    #[error("the access token is invalid")]
    InvalidToken,
    /// The access token's `exp` has passed (beyond the configured leeway).
    #[error("the access token has expired")]
    TokenExpired,
    /// The session behind the token was signed out or revoked.
    #[error("the session has been revoked")]
    SessionRevoked,
    /// The session's absolute lifetime is over; sign in again.
    #[error("the session has expired")]
    SessionExpired,
    /// The refresh token is malformed or unknown, or lost a race against a
    /// concurrent refresh with the same token.
    #[error("the refresh token is invalid")]
    InvalidRefreshToken,
    /// An already-rotated refresh token was presented again: the whole
    /// session has been revoked, since the token may have been stolen.
    #[error("the refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    /// The token is valid but its user no longer exists.
    #[error("the user no longer exists")]
    UserNotFound,
    /// The token is valid but does not grant access to this resource.
    #[error("the access token does not grant access to this resource")]
    Forbidden,
    /// A reset, verification or email-change token that is unknown, used,
    /// expired or meant for another purpose.
    #[error("the link is invalid or has expired; ask for a new one")]
    InvalidOneTimeToken,
    /// An account change that needs the current password got a wrong one.
    #[error("the password is wrong")]
    WrongPassword,
    /// Sign-in with the right password to an account whose address is not
    /// verified yet, while verification is required.
    #[error("the email address must be verified before signing in")]
    EmailNotVerified,
    /// No such resource for this user (a session id of someone else's is
    /// not found either), or a flow this service is not set up for.
    #[error("not found")]
    NotFound,
    /// Sign-up with an email address that is already registered.
    #[error("an account with this email address already exists")]
    EmailTaken,
    /// The email address is not syntactically valid.
    #[error("the email address is not valid")]
    InvalidEmail,
    /// The password has fewer characters than the policy allows.
    #[error("the password must have at least {min} characters")]
    PasswordTooShort {
        /// The policy's minimum, in Unicode scalar values.
        min: usize,
    },
    /// The password has more characters than the policy allows.
    #[error("the password must have at most {max} characters")]
    PasswordTooLong {
        /// The policy's maximum, in Unicode scalar values.
        max: usize,
    },
    /// The password is one of the most common ones, or the user's email
    /// address (see [`PasswordPolicy`](crate::PasswordPolicy)).
    #[error("the password is too common or too easy to guess; choose another")]
    PasswordTooCommon,
    /// The display name is too long or contains control characters.
    #[error("the name must have at most {max} characters and no control characters")]
    InvalidName {
        /// The maximum length, in Unicode scalar values.
        max: usize,
    },
    /// Too many attempts; the client may retry after the given time.
    #[error("too many attempts; retry later")]
    TooManyAttempts {
        /// How long the client should wait (the `Retry-After` header).
        retry_after: Duration,
    },
    /// The service was built with an invalid configuration. Raised by
    /// builders at start-up, never by a request.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A backend (usually the database) cannot be reached right now.
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// An unexpected failure. The source is for logs, not for clients.
    #[error("internal error")]
    Internal(#[source] BoxError),
    /// A second factor's code (a TOTP code, a backup code) is wrong, or
    /// names a method the user has not enabled.
    #[error("the code is wrong")]
    InvalidCode,
}

impl AuthError {
    /// Wraps an unexpected backend error; its text stays out of
    /// [`Display`](std::fmt::Display).
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self::Internal(source.into())
    }

    /// Wraps a "backend unreachable" error (an adapter answers 503).
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable(source.into())
    }

    /// The stable, machine-readable snake_case code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::SessionRevoked => "session_revoked",
            Self::SessionExpired => "session_expired",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::UserNotFound => "user_not_found",
            Self::Forbidden => "forbidden",
            Self::InvalidOneTimeToken => "invalid_token",
            Self::WrongPassword => "wrong_password",
            Self::EmailNotVerified => "email_not_verified",
            Self::NotFound => "not_found",
            Self::EmailTaken => "email_taken",
            Self::InvalidEmail => "invalid_email",
            Self::PasswordTooShort { .. } => "password_too_short",
            Self::PasswordTooLong { .. } => "password_too_long",
            Self::PasswordTooCommon => "password_too_common",
            Self::InvalidName { .. } => "invalid_name",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::InvalidConfig(_) | Self::Internal(_) => "internal_error",
            Self::Unavailable(_) => "service_unavailable",
            Self::InvalidCode => "invalid_code",
        }
    }

    /// The HTTP status code an adapter answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidCredentials
            | Self::MissingToken
            | Self::InvalidToken
            | Self::TokenExpired
            | Self::SessionRevoked
            | Self::SessionExpired
            | Self::InvalidRefreshToken
            | Self::RefreshTokenReused
            | Self::UserNotFound
            | Self::InvalidCode => 401,
            Self::InvalidOneTimeToken => 400,
            Self::Forbidden | Self::WrongPassword | Self::EmailNotVerified => 403,
            Self::NotFound => 404,
            Self::EmailTaken => 409,
            Self::InvalidEmail
            | Self::PasswordTooShort { .. }
            | Self::PasswordTooLong { .. }
            | Self::PasswordTooCommon
            | Self::InvalidName { .. } => 422,
            Self::TooManyAttempts { .. } => 429,
            Self::InvalidConfig(_) | Self::Internal(_) => 500,
            Self::Unavailable(_) => 503,
        }
    }

    /// The `WWW-Authenticate` header value for a 401, per RFC 6750 §3:
    /// `Bearer` when no access token was presented, and
    /// `Bearer error="invalid_token"` when one was presented and refused.
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            Self::InvalidToken
            | Self::TokenExpired
            | Self::SessionRevoked
            | Self::SessionExpired
            | Self::UserNotFound => Some(r#"Bearer error="invalid_token""#),
            Self::MissingToken
            | Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::RefreshTokenReused
            | Self::InvalidCode => Some("Bearer"),
            _ => None,
        }
    }

    /// The `Retry-After` delay, in whole seconds: for a 429, the throttle's
    /// (at least 1); for a 503, [`UNAVAILABLE_RETRY_AFTER_SECS`].
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::TooManyAttempts { retry_after } => Some(retry_after.as_secs().max(1)),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant, checked to be complete.
    fn every_variant() -> Vec<AuthError> {
        let all = vec![
            AuthError::InvalidCredentials,
            AuthError::MissingToken,
            AuthError::InvalidToken,
            AuthError::TokenExpired,
            AuthError::SessionRevoked,
            AuthError::SessionExpired,
            AuthError::InvalidRefreshToken,
            AuthError::RefreshTokenReused,
            AuthError::UserNotFound,
            AuthError::Forbidden,
            AuthError::EmailTaken,
            AuthError::InvalidEmail,
            AuthError::PasswordTooShort { min: 8 },
            AuthError::PasswordTooLong { max: 128 },
            AuthError::PasswordTooCommon,
            AuthError::InvalidOneTimeToken,
            AuthError::WrongPassword,
            AuthError::EmailNotVerified,
            AuthError::NotFound,
            AuthError::InvalidName { max: 100 },
            AuthError::TooManyAttempts {
                retry_after: Duration::from_millis(10),
            },
            AuthError::InvalidConfig("x".into()),
            AuthError::internal("SELECT secret FROM users"),
            AuthError::unavailable("connection refused to 10.0.0.1"),
            AuthError::InvalidCode,
        ];
        // Each arm numbers its variant; no wildcard, so a new variant must
        // get an arm (and a number) before this compiles, and then must be
        // in the list above for the count to match.
        let number = |err: &AuthError| match err {
            AuthError::InvalidCredentials => 0,
            AuthError::MissingToken => 1,
            AuthError::InvalidToken => 2,
            AuthError::TokenExpired => 3,
            AuthError::SessionRevoked => 4,
            AuthError::SessionExpired => 5,
            AuthError::InvalidRefreshToken => 6,
            AuthError::RefreshTokenReused => 7,
            AuthError::UserNotFound => 8,
            AuthError::Forbidden => 9,
            AuthError::EmailTaken => 10,
            AuthError::InvalidEmail => 11,
            AuthError::PasswordTooShort { .. } => 12,
            AuthError::PasswordTooLong { .. } => 13,
            AuthError::InvalidName { .. } => 14,
            AuthError::TooManyAttempts { .. } => 15,
            AuthError::InvalidConfig(_) => 16,
            AuthError::Unavailable(_) => 17,
            AuthError::Internal(_) => 18,
            AuthError::PasswordTooCommon => 19,
            AuthError::InvalidOneTimeToken => 20,
            AuthError::WrongPassword => 21,
            AuthError::EmailNotVerified => 22,
            AuthError::NotFound => 23,
            AuthError::InvalidCode => 24,
        };
        let numbers: std::collections::BTreeSet<i32> = all.iter().map(number).collect();
        assert_eq!(numbers, (0..=24).collect(), "every variant, once");
        all
    }

    #[test]
    fn codes_are_snake_case_and_every_401_has_a_challenge() {
        for err in every_variant() {
            let code = err.code();
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
            assert_eq!(
                err.status() == 401,
                err.www_authenticate().is_some(),
                "{err:?}"
            );
        }
    }

    #[test]
    fn backend_details_never_reach_the_client_message() {
        let internal = AuthError::internal("SELECT secret FROM users");
        assert_eq!(internal.to_string(), "internal error");
        assert!(std::error::Error::source(&internal).is_some());
        let down = AuthError::unavailable("connection refused to 10.0.0.1");
        assert_eq!(down.to_string(), "the service is temporarily unavailable");
        assert_eq!(down.status(), 503);
    }

    #[test]
    fn retry_after_is_rounded_up_to_one_second() {
        let err = AuthError::TooManyAttempts {
            retry_after: Duration::from_millis(10),
        };
        assert_eq!(err.retry_after_secs(), Some(1));
        assert_eq!(err.status(), 429);
        assert_eq!(AuthError::InvalidToken.retry_after_secs(), None);
        assert_eq!(
            AuthError::unavailable("down").retry_after_secs(),
            Some(UNAVAILABLE_RETRY_AFTER_SECS)
        );
    }
}
