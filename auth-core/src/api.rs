//! The request and response bodies of the auth endpoints, shared by every
//! framework adapter so they parse and answer alike.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Password, RefreshToken, User};

pub use crate::account_api::{
    ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest, PasswordResetRequest,
    ResetPasswordRequest, SendVerificationRequest, SessionInfo, UpdateNameRequest,
    VerifyEmailRequest,
};

/// `POST /api/auth/sign-up` body. Unknown fields are ignored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct SignUpRequest {
    /// The email address (trimmed and lowercased by the service).
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::openapi::fields::sign_up_email)
    )]
    pub email: String,
    /// The password, checked against the service's policy.
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::openapi::fields::sign_up_password)
    )]
    pub password: Password,
    /// An optional display name.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::openapi::fields::sign_up_name)
    )]
    pub name: Option<String>,
}

/// `POST /api/auth/sign-in` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct SignInRequest {
    /// The email address.
    pub email: String,
    /// The password.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub password: Password,
}

/// `POST /api/auth/refresh` body. Zeroed on drop.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct RefreshRequest {
    /// The refresh token from the last [`AuthResponse`].
    pub refresh_token: String,
}

impl fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshRequest { refresh_token: <redacted> }")
    }
}

/// A signed access token (a JWT): redacted in `Debug`, serialised as the
/// plain token because it is meant for its owner.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token as issued by a [`TokenCodec`](crate::TokenCodec).
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token, for the `Authorization: Bearer` header.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// What sign-up, sign-in and refresh return: the contract's `AuthResponse`.
///
/// ```json
/// {"user": {"id": "…", "email": "ada@example.com", "name": "Ada", "created_at": "…", "updated_at": "…"},
///  "access_token": "<JWT>", "token_type": "Bearer", "expires_in": 900,
///  "refresh_token": "<opaque>"}
/// ```
///
/// Responses carrying it should be sent with `Cache-Control: no-store`.
/// `Debug` redacts both tokens.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthResponse {
    /// The signed-in user.
    pub user: User,
    /// The access token.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub access_token: AccessToken,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The refresh token, rotated by its next use (see
    /// [`AuthService::refresh`](crate::AuthService::refresh) for the reuse
    /// interval). Over HTTP it is left out of the body
    /// when the request asked for the refresh cookie
    /// ([`CookieAuthResponse`](crate::http::CookieAuthResponse)), hence
    /// optional in the OpenAPI schema.
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = false))]
    pub refresh_token: RefreshToken,
}

/// What [`AuthService::sign_up`](crate::AuthService::sign_up) ends in.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SignUp {
    /// The account is open and signed in: 201 with the [`AuthResponse`].
    SignedIn(AuthResponse),
    /// The account is open but its address must be verified first
    /// ([`AccountFlows::require_email_verification`](crate::AccountFlows::require_email_verification)):
    /// no session was opened, and the verification link is on its way.
    VerificationRequired(VerificationRequired),
}

impl SignUp {
    /// The new user, either way.
    pub fn user(&self) -> &User {
        match self {
            Self::SignedIn(response) => &response.user,
            Self::VerificationRequired(pending) => &pending.user,
        }
    }

    /// The session, for code that expects sign-up to sign in.
    ///
    /// # Errors
    /// [`AuthError::EmailNotVerified`](crate::AuthError::EmailNotVerified)
    /// when the address must be verified first.
    pub fn signed_in(self) -> Result<AuthResponse, crate::AuthError> {
        match self {
            Self::SignedIn(response) => Ok(response),
            Self::VerificationRequired(_) => Err(crate::AuthError::EmailNotVerified),
        }
    }
}

/// Sign-up's 201 body when the address must be verified before any
/// session: `{"user": {…}, "email_verification_required": true}`, no tokens.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerificationRequired {
    /// The new, unverified user.
    pub user: User,
    /// Always `true`: what tells this body from an [`AuthResponse`].
    pub email_verification_required: bool,
}

/// `GET /api/auth/me` response: `{"user": {…}}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeResponse {
    /// The signed-in user.
    pub user: User,
}
