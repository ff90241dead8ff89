//! Configuring an [`AuthService`]: defaults, limits and checks.

use std::{fmt, sync::Arc, time::Duration as StdDuration};

use time::Duration;
use tokio::sync::OnceCell;

use super::{AccountFlows, AuthService, CustomClaims, Inner};
use crate::{
    AccountHooks, Argon2Hasher, AuthError, ClientRateLimit, Clock, CredentialStore,
    MemoryRateLimiter, PasswordHasher, PasswordPolicy, RateLimiter, SessionStore, SignInThrottle,
    SystemClock, TokenCodec, UserStore,
    client_ip::TrustedProxies,
    hooks::NoHooks,
    session_cache::SessionCache,
    sign_in::SecondFactor,
    throttle::{MAX_LOCKOUT_FAILURES, Throttle},
};

/// The default access-token lifetime: 15 minutes.
pub const DEFAULT_ACCESS_TOKEN_TTL: StdDuration = StdDuration::from_secs(15 * 60);
/// The default absolute session (refresh-token) lifetime: 30 days.
pub const DEFAULT_SESSION_TTL: StdDuration = StdDuration::from_secs(30 * DAY_SECS);
/// The default maximum display-name length, in characters.
pub const DEFAULT_MAX_NAME_CHARS: usize = 100;
/// The default refresh-token reuse interval: 10 s. A rotated refresh token
/// presented again this soon after its rotation (a second browser tab, a
/// retried request) gets a new pair of the same session instead of
/// revoking it; see [`AuthServiceBuilder::refresh_reuse_interval`].
pub const DEFAULT_REFRESH_REUSE_INTERVAL: StdDuration = StdDuration::from_secs(10);
/// The longest access-token lifetime the builder accepts: one day.
pub const MAX_ACCESS_TOKEN_TTL: StdDuration = StdDuration::from_secs(DAY_SECS);
/// The longest session lifetime the builder accepts: 400 days.
pub const MAX_SESSION_TTL: StdDuration = StdDuration::from_secs(400 * DAY_SECS);
/// The longest refresh-token reuse interval the builder accepts: one minute.
pub const MAX_REFRESH_REUSE_INTERVAL: StdDuration = StdDuration::from_secs(60);
/// How many times one rotated refresh token may be presented again within
/// the [reuse interval](AuthServiceBuilder::refresh_reuse_interval), each
/// time for a new pair; the next presentation revokes the session. Ten
/// tabs or retries within seconds is plausible; more is not.
pub const MAX_REFRESH_REUSES: u32 = 10;
/// The longest session-cache lifetime the builder accepts: one minute.
pub const MAX_SESSION_CACHE_TTL: StdDuration = StdDuration::from_secs(60);

const DAY_SECS: u64 = 24 * 3600;
const ONE_SECOND: StdDuration = StdDuration::from_secs(1);

/// Builds an [`AuthService`]; [`build`](Self::build) checks the configuration.
///
/// Only the stores and a token codec are required; everything else has a
/// secure default.
pub struct AuthServiceBuilder {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    hasher: Option<Arc<dyn PasswordHasher>>,
    tokens: Option<Arc<dyn TokenCodec>>,
    clock: Arc<dyn Clock>,
    custom_claims: Option<Arc<dyn CustomClaims>>,
    password_policy: PasswordPolicy,
    access_token_ttl: StdDuration,
    session_ttl: StdDuration,
    refresh_reuse_interval: StdDuration,
    max_name_chars: usize,
    check_sessions: bool,
    session_client_info: bool,
    session_cache_ttl: StdDuration,
    sign_in_throttle: Option<SignInThrottle>,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
    client_rate_limit: Option<ClientRateLimit>,
    trusted_proxies: TrustedProxies,
    account_flows: Option<AccountFlows>,
    credentials: Option<Arc<dyn CredentialStore>>,
    second_factors: Vec<Box<dyn SecondFactor>>,
    hooks: Option<Arc<dyn AccountHooks>>,
    #[cfg(feature = "oauth")]
    oauth: Option<super::oauth::OAuth>,
    #[cfg(feature = "two-factor")]
    two_factor: Option<super::two_factor::TwoFactor>,
    #[cfg(feature = "passkeys")]
    passkeys: Option<super::passkeys::Passkeys>,
    #[cfg(feature = "api-keys")]
    api_keys: Option<super::api_keys::ApiKeys>,
}

impl fmt::Debug for AuthServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServiceBuilder")
            .field("access_token_ttl", &self.access_token_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("refresh_reuse_interval", &self.refresh_reuse_interval)
            .field("password_policy", &self.password_policy)
            .field("check_sessions", &self.check_sessions)
            .field("session_client_info", &self.session_client_info)
            .field("session_cache_ttl", &self.session_cache_ttl)
            .field("sign_in_throttle", &self.sign_in_throttle)
            .field("client_rate_limit", &self.client_rate_limit)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("account_flows", &self.account_flows)
            .field(
                "second_factors",
                &self
                    .second_factors
                    .iter()
                    .map(|factor| factor.method())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Checks that a configured duration lies in `min..=max` and converts it.
pub(super) fn bounded(
    what: &str,
    value: StdDuration,
    min: StdDuration,
    max: StdDuration,
) -> Result<Duration, AuthError> {
    if (min..=max).contains(&value)
        && let Ok(value) = Duration::try_from(value)
    {
        return Ok(value);
    }
    Err(AuthError::InvalidConfig(format!(
        "{what} is {value:?}; it must be between {min:?} and {max:?}"
    )))
}

impl AuthServiceBuilder {
    pub(super) fn new(users: Arc<dyn UserStore>, sessions: Arc<dyn SessionStore>) -> Self {
        Self {
            users,
            sessions,
            hasher: None,
            tokens: None,
            clock: Arc::new(SystemClock),
            custom_claims: None,
            password_policy: PasswordPolicy::default(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            session_ttl: DEFAULT_SESSION_TTL,
            refresh_reuse_interval: DEFAULT_REFRESH_REUSE_INTERVAL,
            max_name_chars: DEFAULT_MAX_NAME_CHARS,
            check_sessions: true,
            session_client_info: true,
            session_cache_ttl: StdDuration::ZERO,
            sign_in_throttle: Some(SignInThrottle::default()),
            rate_limiter: None,
            client_rate_limit: Some(ClientRateLimit::default()),
            trusted_proxies: TrustedProxies::none(),
            account_flows: None,
            credentials: None,
            second_factors: Vec::new(),
            #[cfg(feature = "oauth")]
            oauth: None,
            #[cfg(feature = "two-factor")]
            two_factor: None,
            #[cfg(feature = "passkeys")]
            passkeys: None,
            #[cfg(feature = "api-keys")]
            api_keys: None,
            hooks: None,
        }
    }

    /// The token codec (required), usually a [`JwtCodec`](crate::JwtCodec).
    pub fn token_codec(mut self, codec: impl TokenCodec) -> Self {
        self.tokens = Some(Arc::new(codec));
        self
    }

    /// The password hasher (default: [`Argon2Hasher::default`]).
    pub fn password_hasher(mut self, hasher: impl PasswordHasher) -> Self {
        self.hasher = Some(Arc::new(hasher));
        self
    }

    /// The clock (default: [`SystemClock`]); a
    /// [`ManualClock`](crate::ManualClock) lets tests move time.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The password policy for sign-up (default: 8 to 128 characters).
    pub fn password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.password_policy = policy;
        self
    }

    /// Access-token lifetime (default 15 minutes; 1 s to 1 day).
    pub fn access_token_ttl(mut self, ttl: StdDuration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Absolute session lifetime, the longest a chain of refresh tokens
    /// lasts (default 30 days; 1 s to 400 days).
    pub fn session_ttl(mut self, ttl: StdDuration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// How long after a rotation a refresh token may be presented again
    /// without revoking the session (default 10 s, at most 60 s; zero is
    /// strict rotation). Auth0 calls this a "reuse interval", Okta a "grace
    /// period for token rotation".
    ///
    /// Within the interval, the old token gets a new pair of the same
    /// session, and the pair of the first rotation stays valid too, up to
    /// [`MAX_REFRESH_REUSES`] times per token: several browser tabs that
    /// refresh at once, a response lost on a flaky network and its retry,
    /// all stay signed in. After the interval, or beyond that count, a
    /// presentation is reuse and revokes the session.
    ///
    /// What it gives up: a thief who replays a stolen refresh token within
    /// the interval also gets a pair, and nothing is revoked. With
    /// `Duration::ZERO` every replay revokes the session at once (refreshes
    /// that race with one token still leave the session alone: the losers
    /// get [`AuthError::InvalidRefreshToken`]); clients must then share one
    /// refresh between tabs.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use auth_core::{AuthService, JwtCodec, MemoryStore};
    /// # let store = MemoryStore::new();
    /// let strict = AuthService::builder(store.clone(), store)
    ///     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
    ///     .refresh_reuse_interval(Duration::ZERO)
    ///     .build()?;
    /// # let _ = strict;
    /// # Ok::<(), auth_core::AuthError>(())
    /// ```
    pub fn refresh_reuse_interval(mut self, interval: StdDuration) -> Self {
        self.refresh_reuse_interval = interval;
        self
    }

    /// Longest display name, in characters (default 100).
    pub fn max_name_chars(mut self, max: usize) -> Self {
        self.max_name_chars = max;
        self
    }

    /// Whether [`AuthService::authenticate`] checks that the token's session
    /// is still active (default `true`). Switched off, verification is
    /// purely stateless: faster, but a signed-out session's access tokens
    /// stay valid until they expire.
    pub fn check_sessions(mut self, check: bool) -> Self {
        self.check_sessions = check;
        self
    }

    /// Whether a session keeps the user agent and address of the client
    /// that opened or last refreshed it (default `true`), which
    /// [`AuthService::list_sessions`] shows so that a user can tell their
    /// sessions apart. Both are personal data: switched off, neither is
    /// recorded, and a refresh clears what a session kept from before;
    /// `last_active_at` is kept either way. The client comes from a
    /// [`SessionClient::scope`](crate::store::SessionClient::scope).
    pub fn session_client_info(mut self, record: bool) -> Self {
        self.session_client_info = record;
        self
    }

    /// How long [`AuthService::authenticate`] may trust that a session it
    /// found active is still active, without asking the store again
    /// (default zero: ask on every request; at most 60 s).
    ///
    /// The cache lives in this process. Sign-out, reuse detection and
    /// sign-out-everywhere through this service take effect at once (a
    /// request whose store lookup raced the revocation is not cached); a
    /// session revoked by *another* process (a second server instance, or
    /// an administrator's SQL) keeps working here for up to `ttl`. An entry
    /// never outlives the token's `exp` (and tokens never outlive their
    /// session), so the session's end is never delayed. With
    /// one server process, a cache therefore changes nothing but speed: it
    /// saves the per-request store lookup (a database round trip with a SQL
    /// store). With several processes, leave it off unless a revocation may
    /// take `ttl` to reach them all.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use auth_core::{AuthService, JwtCodec, MemoryStore};
    /// # let store = MemoryStore::new();
    /// let auth = AuthService::builder(store.clone(), store)
    ///     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
    ///     .session_cache_ttl(Duration::from_secs(5))
    ///     .build()?;
    /// # Ok::<(), auth_core::AuthError>(())
    /// ```
    pub fn session_cache_ttl(mut self, ttl: StdDuration) -> Self {
        self.session_cache_ttl = ttl;
        self
    }

    /// The sign-in throttle (default: [`SignInThrottle::default`], 10
    /// failed attempts per address per 15 minutes); `None` switches it off,
    /// for example when a rate limiter in front of the service does the job.
    pub fn sign_in_throttle(mut self, throttle: Option<SignInThrottle>) -> Self {
        self.sign_in_throttle = throttle;
        self
    }

    /// Where the sign-in throttle and the per-client limit count (default:
    /// a [`MemoryRateLimiter`] on the service's clock, per process). Give
    /// several instances one shared limiter (such as `auth-redis`'s) for
    /// one shared budget.
    pub fn rate_limiter(mut self, limiter: impl RateLimiter) -> Self {
        self.rate_limiter = Some(Arc::new(limiter));
        self
    }

    /// The per-client limit on the auth routes (default:
    /// [`ClientRateLimit::default`], 60 requests per client per minute);
    /// `None` switches it off.
    pub fn client_rate_limit(mut self, limit: Option<ClientRateLimit>) -> Self {
        self.client_rate_limit = limit;
        self
    }

    /// The reverse proxies whose `X-Forwarded-For` (or `Forwarded`) header
    /// says who the client is (default: none, the peer address is the
    /// client). See [`TrustedProxies`].
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Turns on the flows that send mail: password reset, email
    /// verification and email change (default: off; their methods answer
    /// [`AuthError::NotFound`]).
    pub fn account_flows(mut self, flows: AccountFlows) -> Self {
        self.account_flows = Some(flows);
        self
    }

    /// The store for what sign-in methods beyond the password keep (a
    /// pending email sign-in, say); usually the same store as the users'.
    pub fn credentials(mut self, store: impl CredentialStore) -> Self {
        self.credentials = Some(Arc::new(store));
        self
    }

    /// Like [`credentials`](Self::credentials), for a store already behind
    /// an `Arc`.
    pub fn credentials_arc(mut self, store: Arc<dyn CredentialStore>) -> Self {
        self.credentials = Some(store);
        self
    }

    /// Sign-in with OAuth 2.0 / OpenID Connect providers. Pending sign-ins,
    /// exchange codes and linked identities are kept in the
    /// [`credentials`](Self::credentials) store, which
    /// [`build`](Self::build) therefore requires.
    ///
    /// ```
    /// use auth_core::{AuthService, JwtCodec, MemoryStore};
    /// use auth_core::service::{ClientSecret, OAuth, OAuthProvider};
    ///
    /// let auth = AuthService::with_store(MemoryStore::new())
    ///     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
    ///     .oauth(OAuth::new("https://tasks.example.com")
    ///         .provider(OAuthProvider::github("client id", ClientSecret::new("client secret"))))
    ///     .build()?;
    /// assert_eq!(auth.oauth_providers()[0].name, "GitHub");
    /// # Ok::<(), auth_core::AuthError>(())
    /// ```
    #[cfg(feature = "oauth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
    pub fn oauth(mut self, oauth: super::oauth::OAuth) -> Self {
        self.oauth = Some(oauth);
        self
    }

    /// TOTP and backup codes as second factors, with the routes that set
    /// them up ([`TwoFactor`](super::TwoFactor)). Their state, and sign-in
    /// challenges, are kept in the [`credentials`](Self::credentials)
    /// store, which [`build`](Self::build) therefore requires.
    #[cfg(feature = "two-factor")]
    #[cfg_attr(docsrs, doc(cfg(feature = "two-factor")))]
    pub fn two_factor(mut self, two_factor: super::two_factor::TwoFactor) -> Self {
        self.two_factor = Some(two_factor);
        self
    }

    /// Passkeys (WebAuthn) as a sign-in method, with their routes
    /// ([`Passkeys`](super::Passkeys)). Passkeys and their pending
    /// ceremonies are kept in the [`credentials`](Self::credentials)
    /// store, which [`build`](Self::build) therefore requires; `build`
    /// also refuses an RP id that does not cover every origin.
    #[cfg(feature = "passkeys")]
    #[cfg_attr(docsrs, doc(cfg(feature = "passkeys")))]
    pub fn passkeys(mut self, passkeys: super::passkeys::Passkeys) -> Self {
        self.passkeys = Some(passkeys);
        self
    }

    /// API keys for scripts and services, with their routes
    /// ([`ApiKeys`](super::ApiKeys)): a signed-in user makes keys that
    /// [`Verifier::authenticate`](crate::Verifier::authenticate) (the
    /// adapters' extractor) accepts as the user. Keys are kept in the
    /// [`credentials`](Self::credentials) store, which
    /// [`build`](Self::build) therefore requires; keys found good are
    /// trusted for the [session cache](Self::session_cache_ttl)'s lifetime
    /// (not at all when it is off).
    #[cfg(feature = "api-keys")]
    #[cfg_attr(docsrs, doc(cfg(feature = "api-keys")))]
    pub fn api_keys(mut self, api_keys: super::api_keys::ApiKeys) -> Self {
        self.api_keys = Some(api_keys);
        self
    }

    /// Registers a second factor of the application's own (TOTP and backup
    /// codes come with [`two_factor`](Self::two_factor); several may be
    /// registered, each with its own [`method`](SecondFactor::method)).
    /// A user who has one enabled then signs in in two steps: see
    /// [`SignIn::SecondFactorRequired`](crate::sign_in::SignIn::SecondFactorRequired).
    /// Challenges are kept in the [`credentials`](Self::credentials) store,
    /// which [`build`](Self::build) therefore requires.
    pub fn second_factor(mut self, factor: impl SecondFactor) -> Self {
        self.second_factors.push(Box::new(factor));
        self
    }

    /// What the application does when an account changes (default:
    /// nothing); see [`AccountHooks`].
    pub fn account_hooks(mut self, hooks: impl AccountHooks) -> Self {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// Adds application-defined claims to every access token.
    ///
    /// ```
    /// # use auth_core::{AuthService, JwtCodec, MemoryStore, User};
    /// # let store = MemoryStore::new();
    /// let auth = AuthService::builder(store.clone(), store)
    ///     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
    ///     .custom_claims(|user: &User| {
    ///         let mut claims = serde_json::Map::new();
    ///         claims.insert("domain".into(), user.email.as_str().split('@').nth(1).into());
    ///         claims
    ///     })
    ///     .build()?;
    /// # Ok::<(), auth_core::AuthError>(())
    /// ```
    pub fn custom_claims(mut self, claims: impl CustomClaims) -> Self {
        self.custom_claims = Some(Arc::new(claims));
        self
    }

    /// Checks the configuration and builds the service.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] if no token codec was given, a lifetime
    /// or the refresh reuse interval is out of its range, the access token outlives
    /// the session, the name limit is 0, or a
    /// [second factor](Self::second_factor) has no credentials store or
    /// shares its method's name with another. (Secret length, issuer and
    /// audience are checked when the [`JwtCodec`](crate::JwtCodec) is built.)
    ///
    /// Called inside a tokio runtime, `build` also starts the mail queue's
    /// worker (see [`AccountFlows::mail_worker`]) and computes, in the
    /// background, the dummy hash that sign-in verifies for unknown emails,
    /// so that sign-ins for unknown emails arriving after start-up take as
    /// long as real ones (one arriving while it is still being computed
    /// waits for it).
    pub fn build(#[allow(unused_mut)] mut self) -> Result<AuthService, AuthError> {
        let invalid = |reason: &str| Err(AuthError::InvalidConfig(reason.to_owned()));
        let Some(codec) = self.tokens else {
            return invalid(
                "a token codec is required (for example JwtCodec::hs256); to verify another \
                 issuer's tokens instead, use Verifier::trusted",
            );
        };
        let access_token_ttl = bounded(
            "the access-token lifetime",
            self.access_token_ttl,
            ONE_SECOND,
            MAX_ACCESS_TOKEN_TTL,
        )?;
        let session_ttl = bounded(
            "the session lifetime",
            self.session_ttl,
            ONE_SECOND,
            MAX_SESSION_TTL,
        )?;
        let refresh_reuse_interval = bounded(
            "the refresh-token reuse interval",
            self.refresh_reuse_interval,
            StdDuration::ZERO,
            MAX_REFRESH_REUSE_INTERVAL,
        )?;
        if access_token_ttl > session_ttl {
            return invalid("the access-token lifetime must not exceed the session lifetime");
        }
        if self.max_name_chars == 0 {
            return invalid("the maximum name length must be positive");
        }
        if codec.issuer().is_empty() || codec.audience().is_empty() {
            return invalid("the token issuer and audience must not be empty");
        }
        let session_cache_ttl = bounded(
            "the session-cache lifetime",
            self.session_cache_ttl,
            StdDuration::ZERO,
            MAX_SESSION_CACHE_TTL,
        )?;
        let clock = self.clock;
        // In memory, client keys and account keys get a map each: a flood
        // of client keys (cheap with IPv6) must not crowd out, or evict,
        // the accounts' counts, nor the other way round. A shared limiter
        // (Redis) has no such bound, so one serves both.
        let in_memory = || -> Arc<dyn RateLimiter> {
            Arc::new(MemoryRateLimiter::with_clock(Arc::clone(&clock)))
        };
        let (limiter, account_limiter) = match self.rate_limiter {
            Some(shared) => (Arc::clone(&shared), shared),
            None => (in_memory(), in_memory()),
        };
        let throttle = match self.sign_in_throttle {
            None => None,
            Some(throttle) => {
                if throttle.max_failures() == 0 {
                    return invalid("the sign-in throttle must allow at least one attempt");
                }
                bounded(
                    "the sign-in throttle window",
                    throttle.window(),
                    ONE_SECOND,
                    StdDuration::from_secs(DAY_SECS),
                )?;
                if !(1..=MAX_LOCKOUT_FAILURES).contains(&throttle.lockout_failures()) {
                    return invalid(
                        "the sign-in lockout must come after 1 to 100 failures (NIST SP 800-63B)",
                    );
                }
                bounded(
                    "the sign-in lockout",
                    throttle.lockout(),
                    ONE_SECOND,
                    StdDuration::from_secs(30 * DAY_SECS),
                )?;
                Some(Throttle::new(throttle, Arc::clone(&account_limiter)))
            }
        };
        if let Some(limit) = self.client_rate_limit {
            if limit.max_requests() == 0 {
                return invalid("the per-client rate limit must allow at least one request");
            }
            bounded(
                "the per-client rate-limit window",
                limit.window(),
                ONE_SECOND,
                StdDuration::from_secs(DAY_SECS),
            )?;
        }
        let accounts = self.account_flows.map(AccountFlows::checked).transpose()?;
        if self.credentials.is_none()
            && accounts
                .as_ref()
                .is_some_and(|settings| settings.flows.email_sign_in.is_some())
        {
            return invalid("email sign-in needs a credentials store");
        }
        #[cfg(feature = "two-factor")]
        let two_factor = match (self.two_factor, &self.credentials) {
            (None, _) => None,
            (Some(_), None) => return invalid("two-factor needs a credentials store"),
            (Some(settings), Some(store)) => {
                settings.check().map_err(AuthError::InvalidConfig)?;
                let (runtime, factors) = settings.start(Arc::clone(store), Arc::clone(&clock));
                let mut second_factors: Vec<Box<dyn SecondFactor>> = factors.into();
                second_factors.append(&mut self.second_factors);
                self.second_factors = second_factors;
                Some(runtime)
            }
        };
        if self.credentials.is_none() && !self.second_factors.is_empty() {
            return invalid("second factors need a credentials store");
        }
        for (at, factor) in self.second_factors.iter().enumerate() {
            let method = factor.method();
            if method.is_empty() {
                return invalid("a second factor's method must not be empty");
            }
            if self.second_factors[..at]
                .iter()
                .any(|earlier| earlier.method() == method)
            {
                return Err(AuthError::InvalidConfig(format!(
                    "two second factors are named {method:?}"
                )));
            }
        }
        #[cfg(feature = "passkeys")]
        let passkeys = match (self.passkeys, &self.credentials) {
            (None, _) => None,
            (Some(_), None) => return invalid("passkeys need a credentials store"),
            (Some(settings), Some(store)) => {
                let origins = settings.check().map_err(AuthError::InvalidConfig)?;
                Some(settings.start(origins, Arc::clone(store), Arc::clone(&clock)))
            }
        };
        #[cfg(feature = "api-keys")]
        let api_keys = match (self.api_keys, &self.credentials) {
            (None, _) => None,
            (Some(_), None) => return invalid("API keys need a credentials store"),
            (Some(settings), Some(store)) => {
                settings.check().map_err(AuthError::InvalidConfig)?;
                Some(settings.start(Arc::clone(store), session_cache_ttl))
            }
        };
        #[cfg(feature = "oauth")]
        let oauth = match self.oauth {
            Some(_) if self.credentials.is_none() => {
                return invalid("OAuth sign-in needs a credentials store");
            }
            Some(settings) => Some(settings.build()?),
            None => None,
        };
        let service = AuthService {
            inner: Arc::new(Inner {
                users: self.users,
                sessions: self.sessions,
                hasher: self
                    .hasher
                    .unwrap_or_else(|| Arc::new(Argon2Hasher::default())),
                codec,
                clock,
                custom_claims: self.custom_claims,
                password_policy: self.password_policy,
                access_token_ttl,
                session_ttl,
                refresh_reuse_interval,
                max_name_chars: self.max_name_chars,
                check_sessions: self.check_sessions,
                session_client_info: self.session_client_info,
                session_cache: (session_cache_ttl > Duration::ZERO)
                    .then(|| SessionCache::new(session_cache_ttl)),
                throttle,
                limiter,
                account_limiter: Arc::clone(&account_limiter),
                accounts,
                credentials: self.credentials,
                second_factors: self.second_factors,
                #[cfg(feature = "oauth")]
                oauth,
                #[cfg(feature = "two-factor")]
                two_factor,
                #[cfg(feature = "passkeys")]
                passkeys,
                #[cfg(feature = "api-keys")]
                api_keys,
                hooks: self.hooks.unwrap_or_else(|| Arc::new(NoHooks)),
                client_limit: self.client_rate_limit,
                trusted_proxies: self.trusted_proxies,
                dummy_hash: OnceCell::new(),
            }),
        };
        // Mail left in a durable queue by an earlier run goes out now,
        // without waiting for a new request.
        service.start_mail_worker();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let warming = service.clone();
            runtime.spawn(async move {
                if let Err(error) = warming.dummy_hash().await {
                    // Not fatal: sign-in makes it on first use instead.
                    tracing::warn!(?error, "could not prepare the sign-in dummy hash");
                }
            });
        }
        Ok(service)
    }
}
