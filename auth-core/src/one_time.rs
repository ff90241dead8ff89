//! One-time tokens: the secret in a password-reset, verification or
//! email-change link, and in any link flow an application adds.
//!
//! One mechanism for all of them: 256 random bits, stored as a SHA-256
//! hash with a [`TokenPurpose`], the user and the address it was sent to,
//! expiring, and used up atomically by
//! [`OneTimeTokenStore::consume_one_time_token`](crate::OneTimeTokenStore::consume_one_time_token).

use std::{borrow::Cow, fmt};

use time::OffsetDateTime;

use crate::{AuthError, Email, RefreshToken, TokenHash, UserId};

/// What a one-time token is good for. A token is only ever accepted for
/// the purpose it was issued with, so a verification link can never reset
/// a password.
///
/// Applications name their own with [`TokenPurpose::new`]:
///
/// ```
/// use auth_core::store::TokenPurpose;
///
/// const MAGIC_LINK: TokenPurpose = TokenPurpose::new("magic_link");
/// assert_eq!(MAGIC_LINK.as_str(), "magic_link");
/// assert_ne!(MAGIC_LINK, TokenPurpose::PASSWORD_RESET);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenPurpose(Cow<'static, str>);

impl TokenPurpose {
    /// A password-reset link.
    pub const PASSWORD_RESET: Self = Self::new("password_reset");
    /// A link that verifies the account's current address.
    pub const EMAIL_VERIFICATION: Self = Self::new("email_verification");
    /// A link sent to a new address; following it makes it the account's.
    pub const EMAIL_CHANGE: Self = Self::new("email_change");

    /// A purpose of the application's own: a short snake_case name (at most
    /// 64 bytes, which SQL stores keep).
    pub const fn new(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// A purpose read back from storage.
    pub fn from_stored(name: String) -> Self {
        Self(Cow::Owned(name))
    }

    /// The stored name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret of a one-time link: 256 bits from the OS CSPRNG as 43
/// base64url characters, redacted in `Debug`, zeroed on drop. Only its
/// [`hash`](Self::hash) is stored.
///
/// ```
/// use auth_core::store::OneTimeToken;
///
/// let token = OneTimeToken::generate()?;
/// assert_eq!(token.expose_secret().len(), 43);
/// assert_eq!(format!("{token:?}"), "OneTimeToken(<redacted>)");
/// let presented = OneTimeToken::parse(token.expose_secret()).unwrap();
/// assert_eq!(presented.hash(), token.hash());
/// # Ok::<(), auth_core::AuthError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeToken(RefreshToken);

impl OneTimeToken {
    /// A fresh random token.
    ///
    /// # Errors
    /// [`AuthError::Internal`] if the OS random source fails.
    pub fn generate() -> Result<Self, AuthError> {
        RefreshToken::generate().map(Self)
    }

    /// Accepts a presented token if it has the shape of one this crate
    /// makes; anything else cannot be valid and costs no store lookup.
    pub fn parse(token: &str) -> Option<Self> {
        RefreshToken::parse(token).map(Self)
    }

    /// The token, to put in the link.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Its SHA-256, which is all a store keeps (256 random bits leave
    /// nothing to brute-force, so a fast hash is right).
    pub fn hash(&self) -> TokenHash {
        self.0.hash()
    }
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeToken(<redacted>)")
    }
}

/// What a [`OneTimeTokenStore`](crate::OneTimeTokenStore) stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOneTimeToken {
    /// The token's hash.
    pub hash: TokenHash,
    /// What it is good for.
    pub purpose: TokenPurpose,
    /// Whose it is.
    pub user_id: UserId,
    /// The address the link went to (for an email change, the new one).
    pub email: Email,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// A one-time token as it was when used up: what the link was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeTokenRecord {
    /// What it was good for.
    pub purpose: TokenPurpose,
    /// Whose it was.
    pub user_id: UserId,
    /// The address the link went to.
    pub email: Email,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it would have expired.
    pub expires_at: OffsetDateTime,
}

impl From<NewOneTimeToken> for OneTimeTokenRecord {
    fn from(token: NewOneTimeToken) -> Self {
        Self {
            purpose: token.purpose,
            user_id: token.user_id,
            email: token.email,
            created_at: token.created_at,
            expires_at: token.expires_at,
        }
    }
}
