//! The one error type of this crate. Its HTTP form (status, `code`,
//! headers) is not here: that table is [`HttpError`](crate::http::HttpError)'s.

use std::time::Duration;

/// A boxed error from a store, hasher or other backend, kept as the
/// [`source`](std::error::Error::source) of [`AuthError::Unavailable`] and
/// [`AuthError::Internal`] so it can be logged, but never shown to clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in sign-up, sign-in, refresh, sign-out and
/// authentication, for clients and for stores alike.
///
/// The [`Display`](std::fmt::Display) text is safe to show to a client: it
/// never contains a secret, a database error, or whether an email address
/// is registered (the one deliberate exception is
/// [`AuthError::EmailTaken`] on sign-up). How each variant is answered over
/// HTTP (status, stable `code`, `WWW-Authenticate`, `Retry-After`) is the
/// table of [`HttpError`](crate::http::HttpError), which both adapters use.
///
/// ```
/// use auth_core::{AuthError, http::HttpError};
///
/// let err = AuthError::TokenExpired;
/// assert_eq!(err.to_string(), "the access token has expired");
/// let http = HttpError::from(&err);
/// assert_eq!((http.status(), http.problem().code.as_str()), (401, "token_expired"));
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
    /// An already-rotated refresh token was presented again, after the
    /// reuse interval or once too often within it: the whole session has
    /// been revoked, since the token may have been stolen.
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
    #[error("the email address must be verified first")]
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
    /// A `redirect_to` that is not an allowed origin's absolute URL (OAuth).
    #[error("redirect_to must be an absolute URL on an allowed origin")]
    InvalidRedirect,
    /// Removing this would leave the user no way to sign in: no password,
    /// and no other linked identity.
    #[error("this is the account's last way to sign in; set a password or link another first")]
    LastSignInMethod,
    /// The code that should turn two-factor on is wrong or malformed, or
    /// there is no pending setup (`two-factor/enable`: 400, where a wrong
    /// code at sign-in is [`InvalidCode`](Self::InvalidCode)'s 401).
    #[error("the code is wrong, or two-factor was not set up first")]
    InvalidSetupCode,
    /// The account has no password, and its session was not signed in
    /// recently enough to change a second factor: sign in again.
    #[error("sign in again to do this")]
    ReauthenticationRequired,
    /// Two-factor authentication is not on for the account.
    #[error("two-factor authentication is not on")]
    TwoFactorNotEnabled,
    /// A passkey ceremony failed: an unknown, used or expired challenge, a
    /// wrong origin, RP id or signature, a sign counter that went
    /// backwards, or a credential that is not the user's.
    #[error("the passkey could not be verified")]
    InvalidCredential,
    /// The user has as many passkeys as allowed: delete one first.
    #[error("this account has the most passkeys allowed; delete one first")]
    TooManyPasskeys,
    /// An API key was sent where only a signed-in session's access token
    /// will do: a key reaches the application's own routes and the
    /// current user, never the account, its keys, sessions or factors.
    #[error("an API key cannot be used here; sign in instead")]
    ApiKeyNotAllowed,
    /// The user has as many API keys as allowed: delete one first.
    #[error("this account has the most API keys allowed; delete one first")]
    TooManyApiKeys,
    /// An API key's lifetime in days is out of the allowed range.
    #[error("expires_in_days must be a whole number from 1 to {max_days}")]
    InvalidExpiry {
        /// The longest lifetime allowed, in days.
        max_days: u32,
    },
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
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One of each variant, checked to be complete.
    pub(crate) fn every_variant() -> Vec<AuthError> {
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
            AuthError::InvalidRedirect,
            AuthError::LastSignInMethod,
            AuthError::InvalidSetupCode,
            AuthError::ReauthenticationRequired,
            AuthError::TwoFactorNotEnabled,
            AuthError::InvalidCredential,
            AuthError::TooManyPasskeys,
            AuthError::ApiKeyNotAllowed,
            AuthError::TooManyApiKeys,
            AuthError::InvalidExpiry { max_days: 365 },
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
            AuthError::InvalidRedirect => 25,
            AuthError::LastSignInMethod => 26,
            AuthError::InvalidSetupCode => 27,
            AuthError::ReauthenticationRequired => 28,
            AuthError::TwoFactorNotEnabled => 29,
            AuthError::InvalidCredential => 30,
            AuthError::TooManyPasskeys => 31,
            AuthError::ApiKeyNotAllowed => 32,
            AuthError::TooManyApiKeys => 33,
            AuthError::InvalidExpiry { .. } => 34,
        };
        let numbers: std::collections::BTreeSet<i32> = all.iter().map(number).collect();
        assert_eq!(numbers, (0..=34).collect(), "every variant, once");
        all
    }
}
