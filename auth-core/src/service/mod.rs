//! The auth service and what configures it: [`AuthService`] (sign-up,
//! sign-in, refresh, sign-out, authenticate, the account flows), its
//! [`AuthServiceBuilder`] and limits (`DEFAULT_*`, `MAX_*`),
//! [`AccountFlows`] and [`EmailSignIn`], and [`Verifier`], the per-request
//! token check for a backend of either kind.

use std::{
    fmt,
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration as StdDuration,
};

use time::{Duration, OffsetDateTime};
use tokio::sync::OnceCell;

use crate::{
    AccountHooks, AuthError, ClientRateLimit, Clock, CredentialStore, Email, PasswordHash,
    PasswordHasher, PasswordPolicy, RateLimiter, SessionId, SessionStore, TokenCodec, User, UserId,
    UserStore,
    client_ip::{TrustedProxies, client_key},
    session_cache::SessionCache,
    throttle::Throttle,
};

mod account;
mod account_flows;
#[cfg(feature = "api-keys")]
pub(crate) mod api_keys;
mod builder;
pub(crate) mod email_sign_in;
mod import;
mod issue;
mod mail_worker;
pub(crate) mod name;
#[cfg(feature = "oauth")]
pub(crate) mod oauth;
mod one_time;
#[cfg(feature = "passkeys")]
pub(crate) mod passkeys;
mod principal;
mod recovery;
mod refresh;
pub(crate) mod second_factor;
mod sign_in;
mod sign_in_methods;
mod sign_out;
mod sign_up;
#[cfg(test)]
mod test_support;
#[cfg(feature = "two-factor")]
pub(crate) mod two_factor;
mod verification;
mod verifier;

pub use account_flows::{
    AccountFlows, DEFAULT_EMAIL_VERIFICATION_TTL, DEFAULT_MAIL_CLIENT_LIMIT,
    DEFAULT_MAIL_RATE_LIMIT, DEFAULT_PASSWORD_RESET_TTL,
};
#[cfg(feature = "api-keys")]
#[cfg_attr(docsrs, doc(cfg(feature = "api-keys")))]
pub use api_keys::{
    ApiKeyInfo, ApiKeySecret, ApiKeys, CreateApiKeyRequest, CreatedApiKey, DEFAULT_API_KEY_PREFIX,
    DEFAULT_MAX_API_KEYS, DEFAULT_MAX_EXPIRES_IN_DAYS,
    LAST_USED_INTERVAL as API_KEY_LAST_USED_INTERVAL, MAX_API_KEY_NAME_CHARS,
};
pub use builder::*;
pub use email_sign_in::{
    DEFAULT_EMAIL_SIGN_IN_TTL, EmailSignIn, EmailSignInRequest, EmailSignInVerifyRequest,
    MAX_WRONG_EMAIL_CODES,
};
pub use import::ImportedUser;
#[cfg(feature = "oauth")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
pub use oauth::{
    ClientSecret, DEFAULT_PROVIDER_TIMEOUT, EXCHANGE_CODE_TTL, ExchangeRequest, LinkedAccount,
    OAuth, OAuthProvider, ProviderInfo, ProviderTokens, STATE_COOKIE, STATE_TTL,
};
#[cfg(feature = "passkeys")]
#[cfg_attr(docsrs, doc(cfg(feature = "passkeys")))]
pub use passkeys::{
    AssertionResponse, AttestationResponse, AuthenticationResponse, Base64Url,
    CHALLENGE_TTL as PASSKEY_CHALLENGE_TTL, DEFAULT_PASSKEY_NAME, MAX_PASSKEY_NAME_CHARS,
    MAX_PASSKEYS, PasskeyCreationOptions, PasskeyInfo, PasskeyRequestOptions, PasskeySignInRequest,
    Passkeys, RegisterPasskeyRequest, RegistrationResponse,
};
pub use principal::{CustomClaims, Principal};
pub use sign_in_methods::REAUTHENTICATION_WINDOW;
#[cfg(feature = "two-factor")]
#[cfg_attr(docsrs, doc(cfg(feature = "two-factor")))]
pub use two_factor::{
    BACKUP_CODE_COUNT, BackupCodes, EnableTwoFactorRequest, PasswordConfirmation, SETUP_TTL, Shown,
    TwoFactor, TwoFactorSetup, TwoFactorVerifyRequest,
};
pub use verifier::Verifier;

enum Revoked<'a> {
    Session(&'a SessionId),
    User(&'a UserId),
    /// The user is deleted: their sessions and their API keys go.
    Deleted(&'a UserId),
}

struct ForgetOnDrop<'a> {
    auth: &'a Inner,
    revoked: Revoked<'a>,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        let cache = self.auth.session_cache.as_ref();
        match (cache, &self.revoked) {
            (Some(cache), Revoked::Session(session_id)) => cache.forget(session_id),
            (Some(cache), Revoked::User(user_id) | Revoked::Deleted(user_id)) => {
                cache.forget_user(user_id);
            }
            (None, _) => {}
        }
        #[cfg(feature = "api-keys")]
        if let (Some(keys), Revoked::Deleted(user_id)) = (&self.auth.api_keys, &self.revoked) {
            keys.forget_user(user_id);
        }
    }
}

struct Inner {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    hasher: Arc<dyn PasswordHasher>,
    codec: Arc<dyn TokenCodec>,
    clock: Arc<dyn Clock>,
    custom_claims: Option<Arc<dyn CustomClaims>>,
    password_policy: PasswordPolicy,
    access_token_ttl: Duration,
    session_ttl: Duration,
    /// Zero: strict rotation.
    refresh_reuse_interval: Duration,
    max_name_chars: usize,
    check_sessions: bool,
    /// Whether sessions keep their client's user agent and address.
    session_client_info: bool,
    session_cache: Option<SessionCache>,
    throttle: Option<Throttle>,
    limiter: Arc<dyn RateLimiter>,
    /// Counts per address (the mail limit), apart from the per-client keys.
    account_limiter: Arc<dyn RateLimiter>,
    accounts: Option<account_flows::Settings>,
    /// What sign-in methods keep per user or per address.
    credentials: Option<Arc<dyn CredentialStore>>,
    /// The second factors a user may have enabled, in registration order.
    second_factors: Vec<Box<dyn second_factor::SecondFactor>>,
    /// Sign-in with OAuth providers, when set up.
    #[cfg(feature = "oauth")]
    oauth: Option<oauth::Runtime>,
    /// TOTP and backup codes, when set up.
    #[cfg(feature = "two-factor")]
    two_factor: Option<Arc<two_factor::Runtime>>,
    /// Passkeys, when set up.
    #[cfg(feature = "passkeys")]
    passkeys: Option<passkeys::Runtime>,
    /// API keys, when set up.
    #[cfg(feature = "api-keys")]
    api_keys: Option<api_keys::Runtime>,
    hooks: Arc<dyn AccountHooks>,
    client_limit: Option<ClientRateLimit>,
    trusted_proxies: TrustedProxies,
    /// A hash to verify against when the email is unknown, so that sign-in
    /// takes about as long as with a wrong password. Made on first use with
    /// the real hasher, so its cost matches.
    dummy_hash: OnceCell<PasswordHash>,
}

impl Inner {
    /// The clock's time, cut to whole microseconds: what PostgreSQL keeps, so
    /// that what a store hands back equals what the service stored.
    fn now(&self) -> OffsetDateTime {
        let now = self.clock.now();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }
}

/// Sign-up, sign-in, refresh, sign-out and per-request authentication,
/// over any [`UserStore`], [`SessionStore`], [`PasswordHasher`] and
/// [`TokenCodec`].
///
/// Cheap to clone (one `Arc`); share one instance across the application.
/// See the [crate documentation](crate) for the whole flow.
#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
}

impl fmt::Debug for AuthService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("AuthService")
            .field("issuer", &inner.codec.issuer())
            .field("audience", &inner.codec.audience())
            .field("access_token_ttl", &inner.access_token_ttl)
            .field("session_ttl", &inner.session_ttl)
            .field("password_policy", &inner.password_policy)
            .field("check_sessions", &inner.check_sessions)
            .field("session_client_info", &inner.session_client_info)
            .finish_non_exhaustive()
    }
}

impl AuthService {
    /// Starts building a service over the given stores (often one value
    /// implementing both, passed twice).
    pub fn builder(users: impl UserStore, sessions: impl SessionStore) -> AuthServiceBuilder {
        AuthServiceBuilder::new(Arc::new(users), Arc::new(sessions))
    }

    /// Starts building a service over one store that holds everything:
    /// users, sessions and [credentials](AuthServiceBuilder::credentials),
    /// as [`MemoryStore`](crate::MemoryStore) and the SQL stores do.
    ///
    /// ```
    /// use auth_core::{AuthService, JwtCodec, MemoryStore};
    ///
    /// let auth = AuthService::with_store(MemoryStore::new())
    ///     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
    ///     .build()?;
    /// # let _ = auth;
    /// # Ok::<(), auth_core::AuthError>(())
    /// ```
    pub fn with_store<S>(store: S) -> AuthServiceBuilder
    where
        S: UserStore + SessionStore + CredentialStore + Clone,
    {
        AuthServiceBuilder::new(Arc::new(store.clone()), Arc::new(store.clone())).credentials(store)
    }

    /// Like [`builder`](Self::builder), for stores already behind `Arc<dyn …>`.
    pub fn builder_from_arcs(
        users: Arc<dyn UserStore>,
        sessions: Arc<dyn SessionStore>,
    ) -> AuthServiceBuilder {
        AuthServiceBuilder::new(users, sessions)
    }

    /// The public keys of this service's tokens, for `GET /api/auth/jwks`:
    /// `None` with a shared secret (HS256), where there is nothing to
    /// publish.
    pub fn jwks(&self) -> Option<crate::Jwks> {
        let jwks = self.inner.codec.jwks();
        (!jwks.keys.is_empty()).then_some(jwks)
    }

    /// The per-request token check of this service, for an app's state
    /// (see [`Verifier`]).
    pub fn verifier(&self) -> Verifier {
        Verifier::from(self.clone())
    }

    /// The absolute session lifetime (default 30 days): no refresh token
    /// of a session is good for longer, so it is also the `Max-Age` of the
    /// refresh cookie ([`RefreshCookie::set`](crate::http::RefreshCookie::set)).
    pub fn session_ttl(&self) -> std::time::Duration {
        self.inner.session_ttl.unsigned_abs()
    }

    /// The password policy applied on sign-up.
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.inner.password_policy
    }

    /// The proxies whose forwarding headers say who the client is; adapters
    /// resolve the client address with it before [`admit_client`](Self::admit_client).
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.inner.trusted_proxies
    }

    /// Counts one request of `client` against the per-client limit (a no-op
    /// when it is off). The adapters' routes that cost a password hash or a
    /// token (sign-up, sign-in, refresh) call it once the body has parsed
    /// (a malformed body costs nothing and is answered 400 uncounted), so
    /// a new such route needs this one call with the adapter's `ClientIp`.
    ///
    /// `client` is `None` when the server could not tell the peer address
    /// (an axum app served without `ConnectInfo`, a Unix socket): such
    /// requests are not limited per client, and an error is logged once.
    /// Not one shared budget instead: then anyone could lock every user
    /// out of sign-in with a few requests a minute. A missing address is a
    /// deployment mistake, not something a client can cause, and the
    /// per-account throttle still holds.
    ///
    /// # Errors
    /// [`AuthError::TooManyAttempts`] over the limit;
    /// [`AuthError::Unavailable`] when the [`RateLimiter`] cannot be
    /// reached (refused rather than let through unlimited).
    pub async fn admit_client(&self, client: Option<IpAddr>) -> Result<(), AuthError> {
        static WARNED: AtomicBool = AtomicBool::new(false);
        let Some(limit) = self.inner.client_limit else {
            return Ok(());
        };
        let Some(client) = client else {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::error!(
                    "no peer address for a request, so no per-client rate limit: serve the app \
                     with its peer addresses (axum: into_make_service_with_connect_info)"
                );
            }
            return Ok(());
        };
        self.inner
            .limiter
            .hit(&client_key(client), limit.max_requests(), limit.window())
            .await?
            .into_result()
    }

    /// Clears an address's sign-in throttle and lock, for an administrator
    /// who has checked that the account's owner is asking.
    ///
    /// # Errors
    /// [`AuthError::Unavailable`] when the [`RateLimiter`] cannot be reached.
    pub async fn unlock_sign_in(&self, email: &str) -> Result<(), AuthError> {
        match (&self.inner.throttle, Email::parse(email)) {
            (Some(throttle), Ok(email)) => throttle.clear(&email).await,
            _ => Ok(()),
        }
    }

    /// A guard that clears the session cache when the revocation it guards
    /// ends, however it ends: an error after the store committed, or a
    /// cancelled request, must not leave a revoked session cached.
    fn forget_when_done<'a>(&'a self, revoked: Revoked<'a>) -> ForgetOnDrop<'a> {
        ForgetOnDrop {
            auth: &self.inner,
            revoked,
        }
    }

    /// Verifies an access token and, unless session checks are switched off
    /// ([`AuthServiceBuilder::check_sessions`]), that its session is still
    /// active: one primary-key lookup in the session store, skipped while
    /// the [session cache](AuthServiceBuilder::session_cache_ttl) remembers
    /// the session as active.
    ///
    /// This is the check of the routes that need a session: with API
    /// keys (feature `api-keys`) on, a bearer shaped like a key
    /// is refused here ([`AuthError::ApiKeyNotAllowed`]), before any
    /// lookup. [`Verifier::authenticate`] takes both.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`], [`AuthError::InvalidToken`] (also for a
    /// token whose `sub` is not its session's user),
    /// [`AuthError::SessionRevoked`] (signed out, revoked, or past its
    /// absolute lifetime); [`AuthError::ApiKeyNotAllowed`] for an API key.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        #[cfg(feature = "api-keys")]
        if self.is_api_key(access_token) {
            return Err(AuthError::ApiKeyNotAllowed);
        }
        self.authenticate_session(access_token).await
    }

    /// The principal of an access token or, with API keys on, of an API
    /// key: what [`Verifier::authenticate`] and `GET /me` take.
    ///
    /// # Errors
    /// Those of [`authenticate`](Self::authenticate) and of
    /// `authenticate_api_key`.
    pub(crate) async fn authenticate_token_or_key(
        &self,
        token: &str,
    ) -> Result<Principal, AuthError> {
        #[cfg(feature = "api-keys")]
        if self.is_api_key(token) {
            return self.authenticate_api_key(token).await;
        }
        self.authenticate_session(token).await
    }

    /// [`authenticate`](Self::authenticate) for what is not an API key.
    async fn authenticate_session(&self, access_token: &str) -> Result<Principal, AuthError> {
        // One clock read serves both checks: cheaper, and both judge the
        // same instant.
        let now = self.inner.now();
        let principal = Principal {
            claims: self.inner.codec.verify(access_token, now)?,
            api_key: None,
        };
        if !self.inner.check_sessions {
            return Ok(principal);
        }
        // The codec refuses tokens without a `sid`.
        let session_id = principal.session_id().ok_or(AuthError::InvalidToken)?;
        let cache = self.inner.session_cache.as_ref();
        if cache.is_some_and(|cache| cache.is_fresh(session_id, principal.user_id(), now)) {
            return Ok(principal);
        }
        let generation = cache.map(SessionCache::generation);
        let owner = self
            .inner
            .sessions
            .active_session_owner(session_id, now)
            .await?
            .ok_or(AuthError::SessionRevoked)?;
        // A session vouches for its own user only: with several keys or
        // issuers, a token naming someone else's session is a forgery.
        if &owner != principal.user_id() {
            return Err(AuthError::InvalidToken);
        }
        if let (Some(cache), Some(generation)) = (cache, generation) {
            let exp = OffsetDateTime::from_unix_timestamp(principal.claims().exp).unwrap_or(now);
            cache.remember(session_id, principal.user_id(), now, exp, generation);
        }
        Ok(principal)
    }

    /// Verifies an access token's signature and claims only, without asking
    /// the session store: a signed-out session's tokens stay valid until they
    /// expire. Synchronous, a few microseconds.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`], [`AuthError::InvalidToken`].
    pub fn authenticate_stateless(&self, access_token: &str) -> Result<Principal, AuthError> {
        self.verify_at(access_token, self.inner.now())
    }

    fn verify_at(&self, access_token: &str, now: OffsetDateTime) -> Result<Principal, AuthError> {
        let claims = self.inner.codec.verify(access_token, now)?;
        Ok(Principal {
            claims,
            api_key: None,
        })
    }

    /// Deletes sessions that expired or were revoked more than `older_than`
    /// ago (with their rotated refresh-token hashes); returns how many.
    /// Run it on a timer (say daily, with `older_than` of a few days) to keep
    /// the session store small. Active sessions are never deleted.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] if `older_than` is too large to subtract
    /// from now; otherwise the store's errors.
    pub async fn delete_ended_sessions(&self, older_than: StdDuration) -> Result<u64, AuthError> {
        let cutoff = Duration::try_from(older_than)
            .ok()
            .and_then(|age| self.inner.now().checked_sub(age))
            .ok_or_else(|| AuthError::InvalidConfig("older_than is out of range".into()))?;
        self.inner.sessions.delete_ended_sessions(cutoff).await
    }

    /// The principal's user, fresh from the store.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`] if the account is gone.
    pub async fn current_user(&self, principal: &Principal) -> Result<User, AuthError> {
        let user = self.user_by_id(principal.user_id()).await?;
        self.with_second_factors(user).await
    }

    /// The user with this id, or [`AuthError::UserNotFound`].
    /// Without the `oauth` feature there is nothing to unlink.
    #[cfg(not(feature = "oauth"))]
    pub(super) async fn forget_linked_identities(&self, _: &UserId) -> Result<(), AuthError> {
        Ok(())
    }

    pub(super) async fn user_by_id(&self, user_id: &UserId) -> Result<User, AuthError> {
        self.inner
            .users
            .find_user_by_id(user_id)
            .await?
            .ok_or(AuthError::UserNotFound)
    }
}

/// `now + ttl`, for the expiry of a stored credential.
pub(super) fn expiry(now: OffsetDateTime, ttl: StdDuration) -> Result<OffsetDateTime, AuthError> {
    Duration::try_from(ttl)
        .ok()
        .and_then(|ttl| now.checked_add(ttl))
        .ok_or_else(|| AuthError::internal("expiry out of range"))
}
