//! Verifying the access tokens of another issuer (resource-server mode).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::AccessClaims;
use crate::AuthError;

/// Verifies access tokens issued elsewhere, such as a Better Auth front end
/// publishing its keys as a JWKS.
///
/// A [`Verifier::trusted`](crate::Verifier::trusted) checks each request's
/// token with one; there is no [`AuthService`](crate::AuthService) then, so
/// nothing is issued here. Its principals have no
/// session: a token stays valid until its `exp` even after its user signs
/// out at the issuer, so keep the issuer's token lifetime short.
///
/// Async because an unknown `kid` may need the issuer's keys fetched again.
#[async_trait]
pub trait TrustedIssuer: Send + Sync + 'static {
    /// The `iss` required on tokens.
    fn issuer(&self) -> &str;

    /// The `aud` required on tokens.
    fn audience(&self) -> &str;

    /// Checks a token's signature (with the algorithm its key pins), issuer,
    /// audience and times against `now`; returns its claims, with no
    /// `sid` unless the issuer sent one.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`] once `exp` (plus leeway) has passed;
    /// [`AuthError::InvalidToken`] for anything else wrong with the token.
    async fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, AuthError>;
}
