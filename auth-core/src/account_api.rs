//! The request and response bodies of the account endpoints (the HTTP
//! contract's "Account endpoints"), shared by every framework adapter.

use std::{fmt, net::IpAddr};

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Password, SessionId};

/// A field that must be present but may be `null`: serde treats a missing
/// `Option` as `None` unless it has its own deserializer.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(deserializer)
}

/// `PATCH /api/auth/me` body: `{"name": "Ada"}`, or `{"name": null}` to
/// clear it. The field is required.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct UpdateNameRequest {
    /// The new display name (trimmed; blank or `null` clears it).
    #[serde(deserialize_with = "present")]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, schema_with = crate::openapi::fields::new_name)
    )]
    pub name: Option<String>,
}

/// `POST /api/auth/change-password` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct ChangePasswordRequest {
    /// The password the account has now.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub current_password: Password,
    /// The new password, checked against the sign-up policy.
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::openapi::fields::new_password)
    )]
    pub new_password: Password,
}

/// `POST /api/auth/request-password-reset` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct PasswordResetRequest {
    /// The account's address.
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::openapi::fields::account_email)
    )]
    pub email: String,
}

/// `POST /api/auth/send-verification-email` body without a token: the
/// address to verify.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct SendVerificationRequest {
    /// The account's address.
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::openapi::fields::account_email)
    )]
    pub email: String,
}

/// `POST /api/auth/reset-password` body. The token is redacted in `Debug`
/// and zeroed on drop.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ResetPasswordRequest {
    /// The token from the reset link.
    pub token: String,
    /// The new password, checked against the sign-up policy.
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::openapi::fields::new_password)
    )]
    #[zeroize(skip)]
    pub new_password: Password,
}

impl fmt::Debug for ResetPasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetPasswordRequest { token: <redacted>, new_password: <redacted> }")
    }
}

/// `POST /api/auth/verify-email` body. The token is redacted in `Debug`
/// and zeroed on drop.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct VerifyEmailRequest {
    /// The token from the verification or email-change link.
    pub token: String,
}

impl fmt::Debug for VerifyEmailRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifyEmailRequest { token: <redacted> }")
    }
}

/// `POST /api/auth/change-email` body: `{"new_email", "password"}`, or
/// `{"new_email"}` for an account without a password (which must have
/// signed in within the last 10 minutes). An account with a password that
/// sends none gets 403 `wrong_password`, as for a wrong one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct ChangeEmailRequest {
    /// The address to move the account to.
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::openapi::fields::new_email)
    )]
    pub new_email: String,
    /// The account's current password; left out by an account without
    /// one, which must have signed in within the last 10 minutes instead.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub password: Option<Password>,
}

/// `DELETE /api/auth/me` body: `{"password"}`, or `{}` for an account
/// without a password (which must have signed in within the last 10
/// minutes). An account with a password that sends none gets 403
/// `wrong_password`, as for a wrong one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeleteAccountRequest {
    /// The account's current password; left out by an account without
    /// one.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub password: Option<Password>,
}

/// One entry of `GET /api/auth/sessions`: an active session of the user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session id (what `DELETE /api/auth/sessions/{id}` takes).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: SessionId,
    /// When it was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it ends at the latest (refreshing does not move it).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When it was last refreshed (when it was opened, before that).
    #[serde(with = "time::serde::rfc3339")]
    pub last_active_at: OffsetDateTime,
    /// The client's `User-Agent` when it was opened or last refreshed, at
    /// most 256 characters; `null` when unknown.
    #[cfg_attr(feature = "openapi", schema(required = true, max_length = 256))]
    pub user_agent: Option<String>,
    /// The client's address then, as the per-client limit sees it; `null`
    /// when unknown.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = Option<String>))]
    pub ip: Option<IpAddr>,
    /// Whether it is the session of the request's own access token.
    pub current: bool,
}
