//! Users, as stores keep them and as clients see them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Email, PasswordHash, UserId};

/// A user as clients may see it: no password, no hash.
///
/// Serialises to the contract's user object (`{"id", "email",
/// "email_verified", "name", "has_password", "two_factor_enabled",
/// "created_at", "updated_at"}`, RFC 3339 UTC).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The store-assigned id.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: UserId,
    /// The normalised (trimmed, lowercased) email address.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub email: Email,
    /// Whether the owner has shown they receive mail at `email` (a
    /// verification or email-change link was followed).
    #[serde(default)]
    pub email_verified: bool,
    /// The optional display name.
    pub name: Option<String>,
    /// Whether the account has a password: `false` for one made by email
    /// sign-in or an OAuth provider, until a password reset sets one.
    #[serde(default = "has_password_default")]
    pub has_password: bool,
    /// Whether a second factor is on, so that sign-in asks for it.
    //  (Stores return `false`; the service fills it in from the registered
    //  second factors before a user reaches a client.)
    #[serde(default)]
    pub two_factor_enabled: bool,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the account was last changed (for example its password hash).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn has_password_default() -> bool {
    true
}

/// A user together with its password hash, as a [`UserStore`](crate::UserStore)
/// returns it for sign-in. Deliberately not `Serialize`: the hash never
/// travels to a client.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// The user.
    pub user: User,
    /// The PHC-format password hash.
    pub password_hash: PasswordHash,
}

/// What a [`UserStore`](crate::UserStore) needs to create a user; the store
/// assigns the id.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The normalised email address (unique across users).
    pub email: Email,
    /// Whether the address is already known to be the user's: `false` on
    /// sign-up; an app creating users from a provider that verified the
    /// address (OAuth, say) may pass `true`.
    pub email_verified: bool,
    /// The optional display name, already trimmed and checked.
    pub name: Option<String>,
    /// The password hash.
    pub password_hash: PasswordHash,
    /// The creation time, from the service's [`Clock`](crate::Clock); also
    /// the initial `updated_at`.
    pub created_at: OffsetDateTime,
}
