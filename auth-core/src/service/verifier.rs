//! The per-request token check, for either kind of backend.

use std::{fmt, sync::Arc};

use super::{AuthService, Principal};
use crate::{AuthError, Clock, SystemClock, TrustedIssuer, client_ip::TrustedProxies};

/// Checks the access token of each request: what an app's state holds so
/// that its handlers know who is asking.
///
/// A backend is one of two kinds, and each is its own type:
/// - it issues its own tokens: an [`AuthService`], with sign-up, sign-in,
///   sessions and the account flows; its verifier is
///   [`AuthService::verifier`] and checks the session too;
/// - it trusts another issuer (a Better Auth front end, an identity
///   provider): [`Verifier::trusted`]. Then there is no `AuthService`, so no
///   flow that issues tokens or manages accounts can be reached, and the
///   auth routes cannot be mounted.
///
/// Cheap to clone.
///
/// ```
/// use auth_core::{AuthService, JwtCodec, MemoryStore, Verifier};
///
/// let auth = AuthService::with_store(MemoryStore::new())
///     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
///     .build()?;
/// let verifier: Verifier = auth.verifier();
/// assert_eq!(verifier.issuer(), "api");
/// assert!(verifier.service().is_some());
/// # Ok::<(), auth_core::AuthError>(())
/// ```
#[derive(Clone)]
pub struct Verifier(Source);

#[derive(Clone)]
enum Source {
    Own(AuthService),
    Trusted {
        issuer: Arc<dyn TrustedIssuer>,
        clock: Arc<dyn Clock>,
        proxies: TrustedProxies,
    },
}

impl Verifier {
    /// Trusted-issuer (resource-server) mode: access tokens come from
    /// another issuer and are checked by `issuer` (usually a
    /// `RemoteJwks` (feature `remote-jwks`) or [`IssuerKeys`](crate::IssuerKeys)).
    /// Principals then carry no session of ours, so a token stays valid
    /// until its `exp` even after its user signs out at the issuer: keep
    /// the issuer's token lifetime short (Better Auth's is 15 minutes).
    pub fn trusted(issuer: impl TrustedIssuer) -> Self {
        Self::trusted_arc(Arc::new(issuer))
    }

    /// Like [`trusted`](Self::trusted), from a shared handle.
    pub fn trusted_arc(issuer: Arc<dyn TrustedIssuer>) -> Self {
        Self(Source::Trusted {
            issuer,
            clock: Arc::new(SystemClock),
            proxies: TrustedProxies::none(),
        })
    }

    /// The clock that judges a trusted issuer's `exp` and `nbf` (default
    /// [`SystemClock`]). A verifier of an [`AuthService`] keeps its
    /// service's clock.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        if let Source::Trusted { clock: mine, .. } = &mut self.0 {
            *mine = Arc::new(clock);
        }
        self
    }

    /// The proxies whose forwarding headers say who the client is, for a
    /// trusted issuer's verifier (default: none, so the client is the peer
    /// address). A verifier of an [`AuthService`] keeps its service's
    /// ([`AuthServiceBuilder::trusted_proxies`](crate::service::AuthServiceBuilder::trusted_proxies)).
    #[must_use]
    pub fn with_trusted_proxies(mut self, trusted: TrustedProxies) -> Self {
        if let Source::Trusted { proxies, .. } = &mut self.0 {
            *proxies = trusted;
        }
        self
    }

    /// The proxies whose forwarding headers say who the client is: the
    /// adapters' `ClientIp` resolves the client address with them.
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        match &self.0 {
            Source::Own(auth) => auth.trusted_proxies(),
            Source::Trusted { proxies, .. } => proxies,
        }
    }

    /// The signed-in principal of `access_token`: the whole
    /// [`AuthService::authenticate`] check for our own tokens (signature,
    /// claims, and the session), the issuer's for a trusted one. With
    /// API keys (feature `api-keys`) on, an API key
    /// is taken too (`AuthService::authenticate_api_key`; the principal's
    /// [`api_key_id`](Principal::api_key_id) says which): this is the
    /// check of the application's own routes. An access token costs one
    /// prefix comparison more, no allocation.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`], [`AuthError::InvalidToken`] (also for
    /// an unknown, deleted, expired or tampered API key),
    /// [`AuthError::SessionRevoked`]; [`AuthError::Unavailable`] when a
    /// store or the issuer's keys cannot be reached.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        match &self.0 {
            Source::Own(auth) => auth.authenticate_token_or_key(access_token).await,
            Source::Trusted { issuer, clock, .. } => {
                let claims = issuer.verify(access_token, clock.now()).await?;
                Ok(Principal {
                    claims,
                    api_key: None,
                })
            }
        }
    }

    /// The service behind this verifier, when the backend issues its own
    /// tokens; `None` for a trusted issuer.
    pub fn service(&self) -> Option<&AuthService> {
        match &self.0 {
            Source::Own(auth) => Some(auth),
            Source::Trusted { .. } => None,
        }
    }

    /// The `iss` that tokens must carry.
    pub fn issuer(&self) -> &str {
        match &self.0 {
            Source::Own(auth) => auth.inner.codec.issuer(),
            Source::Trusted { issuer, .. } => issuer.issuer(),
        }
    }

    /// The `aud` that tokens must carry.
    pub fn audience(&self) -> &str {
        match &self.0 {
            Source::Own(auth) => auth.inner.codec.audience(),
            Source::Trusted { issuer, .. } => issuer.audience(),
        }
    }
}

impl From<AuthService> for Verifier {
    fn from(auth: AuthService) -> Self {
        Self(Source::Own(auth))
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer())
            .field("audience", &self.audience())
            .field("trusted_issuer", &self.service().is_none())
            .finish()
    }
}
