//! What a route needs set up on the service before it does anything.

/// The part of an [`AuthService`](crate::AuthService) a route needs. Every
/// route is mounted, whatever the service has; one whose part is not set
/// up answers 404 `not_found` (`GET /oauth/providers` answers an empty
/// list instead), so an application that wants a route must set up its
/// part. The [route table](crate::endpoint#routes) gives each route's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setup {
    /// Nothing beyond what every service has (stores and a token codec).
    None,
    /// A token codec with asymmetric keys (EdDSA, ES256, RS256), whose
    /// public halves `GET /jwks` publishes; with a shared HS256 secret
    /// there is nothing to publish.
    AsymmetricKeys,
    /// The flows that send mail (password reset, email verification and
    /// change): [`AuthServiceBuilder::account_flows`](crate::AuthServiceBuilder::account_flows).
    AccountFlows,
    /// Sign-in by a mailed link and code: account flows with [`AccountFlows::email_sign_in`](crate::AccountFlows::email_sign_in), and a credentials store.
    EmailSignIn,
    /// Sign-in with OAuth / OpenID Connect providers: `AuthServiceBuilder::oauth` (feature `oauth`).
    OAuth,
    /// TOTP and backup codes: `AuthServiceBuilder::two_factor` (feature `two-factor`).
    TwoFactor,
    /// Passkeys: `AuthServiceBuilder::passkeys` (feature `passkeys`).
    Passkeys,
    /// API keys: `AuthServiceBuilder::api_keys` (feature `api-keys`).
    ApiKeys,
}

impl Setup {
    /// The cargo feature of auth-core that compiles this part (and its
    /// routes) in, if it takes one.
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Self::None | Self::AsymmetricKeys | Self::AccountFlows | Self::EmailSignIn => None,
            Self::OAuth => Some("oauth"),
            Self::TwoFactor => Some("two-factor"),
            Self::Passkeys => Some("passkeys"),
            Self::ApiKeys => Some("api-keys"),
        }
    }
}
