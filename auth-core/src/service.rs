//! The auth service: sign-up, sign-in, refresh, sign-out, authenticate.

use std::{
    fmt,
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration as StdDuration,
};

use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};
use tokio::sync::OnceCell;

use crate::{
    AccessClaims, AccessToken, Argon2Hasher, AuthError, AuthResponse, ClientRateLimit, Clock,
    Email, MemoryRateLimiter, NewSession, NewUser, Password, PasswordHash, PasswordHasher,
    PasswordPolicy, RateLimiter, RefreshToken, RefreshTokenMatch, SessionId, SessionStore,
    SignInRequest, SignInThrottle, SignUpRequest, SystemClock, TokenCodec, User, UserId, UserStore,
    Verification,
    client_ip::{TrustedProxies, client_key},
    session_cache::SessionCache,
    throttle::{MAX_LOCKOUT_FAILURES, Throttle},
};

/// The default access-token lifetime: 15 minutes.
pub const DEFAULT_ACCESS_TOKEN_TTL: StdDuration = StdDuration::from_secs(15 * 60);
/// The default absolute session (refresh-token) lifetime: 30 days.
pub const DEFAULT_SESSION_TTL: StdDuration = StdDuration::from_secs(30 * DAY_SECS);
/// The default maximum display-name length, in characters.
pub const DEFAULT_MAX_NAME_CHARS: usize = 100;
/// The default refresh-token reuse grace period: none. Every replay of a
/// rotated refresh token revokes its session, as the HTTP contract says.
pub const DEFAULT_REUSE_GRACE_PERIOD: StdDuration = StdDuration::ZERO;
/// The longest access-token lifetime the builder accepts: one day.
pub const MAX_ACCESS_TOKEN_TTL: StdDuration = StdDuration::from_secs(DAY_SECS);
/// The longest session lifetime the builder accepts: 400 days.
pub const MAX_SESSION_TTL: StdDuration = StdDuration::from_secs(400 * DAY_SECS);
/// The longest reuse grace period the builder accepts: one minute.
pub const MAX_REUSE_GRACE_PERIOD: StdDuration = StdDuration::from_secs(60);
/// The longest session-cache lifetime the builder accepts: one minute.
pub const MAX_SESSION_CACHE_TTL: StdDuration = StdDuration::from_secs(60);

const DAY_SECS: u64 = 24 * 3600;
const ONE_SECOND: StdDuration = StdDuration::from_secs(1);

/// Adds application-defined claims to every access token of a user (a role,
/// a tenant, …). Registered claim names (`sub`, `exp`, …) are ignored.
///
/// Any `Fn(&User) -> Map<String, Value>` is one.
pub trait CustomClaims: Send + Sync + 'static {
    /// The extra claims for `user`.
    fn claims_for(&self, user: &User) -> Map<String, Value>;
}

impl<F> CustomClaims for F
where
    F: Fn(&User) -> Map<String, Value> + Send + Sync + 'static,
{
    fn claims_for(&self, user: &User) -> Map<String, Value> {
        self(user)
    }
}

/// Who made a request: the verified claims of its access token.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    claims: AccessClaims,
}

impl Principal {
    /// The signed-in user's id.
    pub fn user_id(&self) -> &UserId {
        &self.claims.sub
    }

    /// The session the token belongs to.
    pub fn session_id(&self) -> &SessionId {
        &self.claims.sid
    }

    /// All claims, including custom ones.
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }

    /// Checks that a user id named by the request (say the `{user_id}` of
    /// `/api/{user_id}/tasks`) is the principal's own.
    ///
    /// # Errors
    /// [`AuthError::Forbidden`] (403) otherwise.
    pub fn require_user(&self, user_id: &str) -> Result<(), AuthError> {
        if self.claims.sub.as_str() == user_id {
            Ok(())
        } else {
            Err(AuthError::Forbidden)
        }
    }
}

enum Revoked<'a> {
    Session(&'a SessionId),
    User(&'a UserId),
}

struct ForgetOnDrop<'a> {
    cache: Option<&'a SessionCache>,
    revoked: Revoked<'a>,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        match (self.cache, &self.revoked) {
            (Some(cache), Revoked::Session(session_id)) => cache.forget(session_id),
            (Some(cache), Revoked::User(user_id)) => cache.forget_user(user_id),
            (None, _) => {}
        }
    }
}

struct Inner {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenCodec>,
    clock: Arc<dyn Clock>,
    custom_claims: Option<Arc<dyn CustomClaims>>,
    password_policy: PasswordPolicy,
    access_token_ttl: Duration,
    session_ttl: Duration,
    reuse_grace_period: Duration,
    max_name_chars: usize,
    check_sessions: bool,
    session_cache: Option<SessionCache>,
    throttle: Option<Throttle>,
    limiter: Arc<dyn RateLimiter>,
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
            .field("issuer", &inner.tokens.issuer())
            .field("audience", &inner.tokens.audience())
            .field("access_token_ttl", &inner.access_token_ttl)
            .field("session_ttl", &inner.session_ttl)
            .field("password_policy", &inner.password_policy)
            .field("check_sessions", &inner.check_sessions)
            .finish_non_exhaustive()
    }
}

impl AuthService {
    /// Starts building a service over the given stores (often one value
    /// implementing both, passed twice).
    pub fn builder(users: impl UserStore, sessions: impl SessionStore) -> AuthServiceBuilder {
        AuthServiceBuilder::new(Arc::new(users), Arc::new(sessions))
    }

    /// Like [`builder`](Self::builder), for stores already behind `Arc<dyn …>`.
    pub fn builder_from_arcs(
        users: Arc<dyn UserStore>,
        sessions: Arc<dyn SessionStore>,
    ) -> AuthServiceBuilder {
        AuthServiceBuilder::new(users, sessions)
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

    /// Creates an account and signs it in.
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`], [`AuthError::PasswordTooShort`],
    /// [`AuthError::PasswordTooLong`], [`AuthError::PasswordTooCommon`] or
    /// [`AuthError::InvalidName`] for bad
    /// input (checked before any hashing); [`AuthError::EmailTaken`] if the
    /// email is registered, also when two sign-ups race.
    pub async fn sign_up(&self, request: SignUpRequest) -> Result<AuthResponse, AuthError> {
        let inner = &self.inner;
        let email = Email::parse(&request.email)?;
        inner.password_policy.check_for(&request.password, &email)?;
        let name = normalise_name(request.name, inner.max_name_chars)?;
        // Saves a hash's worth of CPU on an obvious duplicate. The store's
        // unique index remains the real guard against races.
        if inner.users.find_user_by_email(&email).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let password_hash = inner.hasher.hash(&request.password).await?;
        let user = inner
            .users
            .create_user(NewUser {
                email,
                name,
                password_hash,
                created_at: inner.now(),
            })
            .await?;
        self.open_session(user).await
    }

    /// Signs in with email and password.
    ///
    /// An unknown email and a wrong password give the same error after about
    /// the same time (a dummy hash is verified for unknown emails). Values
    /// that sign-up would refuse are not judged here: they just cannot match.
    /// A password over the policy's maximum is refused before any hashing.
    /// When the stored hash uses weaker parameters than the hasher's, the
    /// password is re-hashed and the new hash stored. (Until then such an
    /// account verifies faster than the dummy hash: a timing difference
    /// that shows only which accounts predate a parameter change.)
    ///
    /// Unless switched off, a [`SignInThrottle`] refuses further attempts
    /// for an address after too many that did not succeed.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`]; [`AuthError::TooManyAttempts`]
    /// from the throttle; [`AuthError::Unavailable`] when its
    /// [`RateLimiter`] cannot be reached (refused rather than unthrottled).
    pub async fn sign_in(&self, request: SignInRequest) -> Result<AuthResponse, AuthError> {
        let inner = &self.inner;
        if inner.password_policy.is_overlong(&request.password) {
            return Err(AuthError::InvalidCredentials);
        }
        let Ok(email) = Email::parse(&request.email) else {
            return Err(AuthError::InvalidCredentials);
        };
        if let Some(throttle) = &inner.throttle {
            throttle.begin_attempt(&email).await?;
        }
        let Some(record) = inner.users.find_user_by_email(&email).await? else {
            let dummy = self.dummy_hash().await?;
            inner.hasher.verify(&request.password, dummy).await?;
            return Err(AuthError::InvalidCredentials);
        };
        match inner
            .hasher
            .verify(&request.password, &record.password_hash)
            .await?
        {
            Verification::Match => {}
            Verification::MatchNeedsRehash => {
                self.upgrade_hash(&record.user.id, &request.password).await;
            }
            _ => return Err(AuthError::InvalidCredentials),
        }
        if let Some(throttle) = &inner.throttle
            && let Err(error) = throttle.clear(&email).await
        {
            // The password was right: refusing now would punish the owner
            // for the limiter's outage. The count stays until its window ends.
            tracing::warn!(%error, "could not clear the sign-in throttle after a success");
        }
        self.open_session(record.user).await
    }

    /// Exchanges a refresh token for new tokens, rotating the refresh token:
    /// the presented one is used up, the response carries its successor, and
    /// the session (its `sid` and absolute expiry) stays the same.
    ///
    /// Reuse detection: presenting a refresh token that was already rotated
    /// away revokes the whole session, since a copy of it may be in other
    /// hands (unless an opt-in
    /// [grace period](AuthServiceBuilder::reuse_grace_period) is set). Two
    /// refreshes that present one token at the very same moment are a race,
    /// not a reuse: the store's compare-and-swap lets exactly one win and the
    /// other gets [`AuthError::InvalidRefreshToken`], session untouched.
    /// Clients should still make one refresh at a time (for example share
    /// one in-flight refresh between browser tabs): a second tab presenting
    /// the old token after the first tab's refresh has completed is, to the
    /// server, indistinguishable from a thief's replay.
    ///
    /// # Errors
    /// * [`AuthError::InvalidRefreshToken`]: malformed or unknown, or lost a
    ///   simultaneous race, or replayed within the grace period.
    /// * [`AuthError::RefreshTokenReused`]: the token was already rotated
    ///   away; the whole session is now revoked.
    /// * [`AuthError::SessionRevoked`], [`AuthError::SessionExpired`].
    pub async fn refresh(&self, refresh_token: &str) -> Result<AuthResponse, AuthError> {
        let inner = &self.inner;
        let presented = RefreshToken::parse(refresh_token).ok_or(AuthError::InvalidRefreshToken)?;
        let presented_hash = presented.hash();
        let now = inner.now();
        let session = match inner
            .sessions
            .find_session_by_refresh_token(&presented_hash)
            .await?
        {
            None => return Err(AuthError::InvalidRefreshToken),
            Some(RefreshTokenMatch::Rotated {
                session,
                rotated_at,
            }) => {
                // With no grace period configured, even a rotation stamped
                // in the future (clock skew between nodes) is no excuse.
                let grace = inner.reuse_grace_period;
                if grace > Duration::ZERO && now - rotated_at < grace {
                    tracing::warn!(
                        session_id = %session.id,
                        user_id = %session.user_id,
                        "rotated refresh token replayed within the grace period; refused, session kept"
                    );
                    return Err(AuthError::InvalidRefreshToken);
                }
                let _forget = self.forget_when_done(Revoked::Session(&session.id));
                inner.sessions.revoke_session(&session.id, now).await?;
                tracing::warn!(
                    session_id = %session.id,
                    user_id = %session.user_id,
                    "rotated refresh token replayed; session revoked"
                );
                return Err(AuthError::RefreshTokenReused);
            }
            Some(RefreshTokenMatch::Current(session)) => session,
        };
        if session.revoked_at.is_some() {
            return Err(AuthError::SessionRevoked);
        }
        if now >= session.expires_at {
            return Err(AuthError::SessionExpired);
        }
        let Some(user) = inner.users.find_user_by_id(&session.user_id).await? else {
            let _forget = self.forget_when_done(Revoked::Session(&session.id));
            inner.sessions.revoke_session(&session.id, now).await?;
            return Err(AuthError::UserNotFound);
        };
        let next = RefreshToken::generate()?;
        let rotated = inner
            .sessions
            .rotate_refresh_token(&session.id, &presented_hash, &next.hash(), now)
            .await?;
        if !rotated {
            return Err(AuthError::InvalidRefreshToken);
        }
        self.respond(user, &session.id, session.expires_at, next, now)
    }

    /// Revokes the principal's session: its refresh token and all its
    /// still-unexpired access tokens stop working (the latter only while
    /// session checks are on, the default).
    pub async fn sign_out(&self, principal: &Principal) -> Result<(), AuthError> {
        let now = self.inner.now();
        let _forget = self.forget_when_done(Revoked::Session(principal.session_id()));
        self.inner
            .sessions
            .revoke_session(principal.session_id(), now)
            .await
    }

    /// A guard that clears the session cache when the revocation it guards
    /// ends, however it ends: an error after the store committed, or a
    /// cancelled request, must not leave a revoked session cached.
    fn forget_when_done<'a>(&'a self, revoked: Revoked<'a>) -> ForgetOnDrop<'a> {
        ForgetOnDrop {
            cache: self.inner.session_cache.as_ref(),
            revoked,
        }
    }

    /// Revokes every active session of a user ("sign out everywhere");
    /// returns how many there were.
    pub async fn sign_out_everywhere(&self, user_id: &UserId) -> Result<u64, AuthError> {
        let now = self.inner.now();
        let _forget = self.forget_when_done(Revoked::User(user_id));
        self.inner.sessions.revoke_user_sessions(user_id, now).await
    }

    /// Verifies an access token and, unless session checks are switched off
    /// ([`AuthServiceBuilder::check_sessions`]), that its session is still
    /// active: one primary-key lookup in the session store, skipped while
    /// the [session cache](AuthServiceBuilder::session_cache_ttl) remembers
    /// the session as active.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`], [`AuthError::InvalidToken`] (also for a
    /// token whose `sub` is not its session's user),
    /// [`AuthError::SessionRevoked`] (signed out, revoked, or past its
    /// absolute lifetime).
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        // One clock read serves both checks: cheaper, and both judge the
        // same instant.
        let now = self.inner.now();
        let principal = self.verify_at(access_token, now)?;
        if !self.inner.check_sessions {
            return Ok(principal);
        }
        let cache = self.inner.session_cache.as_ref();
        if cache
            .is_some_and(|cache| cache.is_fresh(principal.session_id(), principal.user_id(), now))
        {
            return Ok(principal);
        }
        let generation = cache.map(SessionCache::generation);
        let owner = self
            .inner
            .sessions
            .active_session_owner(principal.session_id(), now)
            .await?
            .ok_or(AuthError::SessionRevoked)?;
        // A session vouches for its own user only: with several keys or
        // issuers, a token naming someone else's session is a forgery.
        if &owner != principal.user_id() {
            return Err(AuthError::InvalidToken);
        }
        if let (Some(cache), Some(generation)) = (cache, generation) {
            let exp = OffsetDateTime::from_unix_timestamp(principal.claims().exp).unwrap_or(now);
            cache.remember(
                principal.session_id(),
                principal.user_id(),
                now,
                exp,
                generation,
            );
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
        let claims = self.inner.tokens.verify(access_token, now)?;
        Ok(Principal { claims })
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
        self.inner
            .users
            .find_user_by_id(principal.user_id())
            .await?
            .ok_or(AuthError::UserNotFound)
    }

    async fn open_session(&self, user: User) -> Result<AuthResponse, AuthError> {
        let inner = &self.inner;
        let refresh_token = RefreshToken::generate()?;
        let now = inner.now();
        let session = inner
            .sessions
            .create_session(NewSession {
                id: SessionId::generate()?,
                user_id: user.id.clone(),
                refresh_token_hash: refresh_token.hash(),
                created_at: now,
                expires_at: now
                    .checked_add(inner.session_ttl)
                    .ok_or_else(|| AuthError::internal("session expiry out of range"))?,
            })
            .await?;
        self.respond(user, &session.id, session.expires_at, refresh_token, now)
    }

    /// Issues an access token for `session_id` and packs the response. The
    /// token never outlives its session.
    fn respond(
        &self,
        user: User,
        session_id: &SessionId,
        session_expires_at: OffsetDateTime,
        refresh_token: RefreshToken,
        now: OffsetDateTime,
    ) -> Result<AuthResponse, AuthError> {
        let inner = &self.inner;
        let expires_at = now
            .checked_add(inner.access_token_ttl)
            .map_or(session_expires_at, |exp| exp.min(session_expires_at));
        let claims = AccessClaims {
            sub: user.id.clone(),
            sid: session_id.clone(),
            jti: crate::id::random_token::<16>()?,
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            nbf: None,
            iss: inner.tokens.issuer().to_owned(),
            aud: inner.tokens.audience().to_owned(),
            custom: inner
                .custom_claims
                .as_ref()
                .map(|custom| custom.claims_for(&user))
                .unwrap_or_default(),
        };
        let access_token = AccessToken::new(inner.tokens.issue(&claims)?);
        Ok(AuthResponse {
            user,
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: u64::try_from(claims.exp - claims.iat).unwrap_or(0),
            refresh_token,
        })
    }

    async fn dummy_hash(&self) -> Result<&PasswordHash, AuthError> {
        let hasher = &self.inner.hasher;
        self.inner
            .dummy_hash
            .get_or_try_init(|| async {
                let filler = crate::id::random_token::<16>()?;
                hasher.hash(&Password::new(filler)).await
            })
            .await
    }

    /// Best effort: a failed upgrade must not fail the sign-in that
    /// triggered it; the next sign-in tries again.
    async fn upgrade_hash(&self, user_id: &UserId, password: &Password) {
        let inner = &self.inner;
        let upgraded = match inner.hasher.hash(password).await {
            Ok(hash) => {
                inner
                    .users
                    .update_password_hash(user_id, &hash, inner.now())
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(error) = upgraded {
            tracing::warn!(%user_id, ?error, "could not upgrade a password hash");
        }
    }
}

fn normalise_name(name: Option<String>, max_chars: usize) -> Result<Option<String>, AuthError> {
    let Some(name) = name else { return Ok(None) };
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > max_chars || name.chars().any(is_hidden_or_control) {
        return Err(AuthError::InvalidName { max: max_chars });
    }
    Ok(Some(name.to_owned()))
}

/// Characters a display name may not contain: controls (Cc), line and
/// paragraph separators (Zl, Zp), format characters (Cf, such as bidi
/// controls and zero-width joiners) and the other default-ignorable code
/// points, which render as nothing and let one name pass for another.
/// From Unicode 16's DerivedCoreProperties and UnicodeData.
fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{0600}'..='\u{0605}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

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
    reuse_grace_period: StdDuration,
    max_name_chars: usize,
    check_sessions: bool,
    session_cache_ttl: StdDuration,
    sign_in_throttle: Option<SignInThrottle>,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
    client_rate_limit: Option<ClientRateLimit>,
    trusted_proxies: TrustedProxies,
}

impl fmt::Debug for AuthServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServiceBuilder")
            .field("access_token_ttl", &self.access_token_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("reuse_grace_period", &self.reuse_grace_period)
            .field("password_policy", &self.password_policy)
            .field("check_sessions", &self.check_sessions)
            .field("session_cache_ttl", &self.session_cache_ttl)
            .field("sign_in_throttle", &self.sign_in_throttle)
            .field("client_rate_limit", &self.client_rate_limit)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

/// Checks that a configured duration lies in `min..=max` and converts it.
fn bounded(
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
    fn new(users: Arc<dyn UserStore>, sessions: Arc<dyn SessionStore>) -> Self {
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
            reuse_grace_period: DEFAULT_REUSE_GRACE_PERIOD,
            max_name_chars: DEFAULT_MAX_NAME_CHARS,
            check_sessions: true,
            session_cache_ttl: StdDuration::ZERO,
            sign_in_throttle: Some(SignInThrottle::default()),
            rate_limiter: None,
            client_rate_limit: Some(ClientRateLimit::default()),
            trusted_proxies: TrustedProxies::none(),
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

    /// Opt-in tolerance for clients that cannot serialise their refreshes:
    /// for this long after a rotation, a replay of the old refresh token is
    /// only refused ([`AuthError::InvalidRefreshToken`]) instead of revoking
    /// the session. Default zero (every replay revokes, as the HTTP contract
    /// requires); at most 60 s.
    ///
    /// The price: a thief who refreshes with a stolen token shortly before
    /// its owner does is not detected, because the owner's replay lands in
    /// the window, and keeps the session. Prefer fixing the client.
    pub fn reuse_grace_period(mut self, period: StdDuration) -> Self {
        self.reuse_grace_period = period;
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
    /// or the grace period is out of its range, the access token outlives
    /// the session, or the name limit is 0. (Secret length, issuer and
    /// audience are checked when the [`JwtCodec`](crate::JwtCodec) is built.)
    ///
    /// Called inside a tokio runtime, `build` also starts computing, in the
    /// background, the dummy hash that sign-in verifies for unknown emails,
    /// so that sign-ins for unknown emails arriving after start-up take as
    /// long as real ones (one arriving while it is still being computed
    /// waits for it).
    pub fn build(self) -> Result<AuthService, AuthError> {
        let invalid = |reason: &str| Err(AuthError::InvalidConfig(reason.to_owned()));
        let Some(tokens) = self.tokens else {
            return invalid("a token codec is required (for example JwtCodec::hs256)");
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
        let reuse_grace_period = bounded(
            "the reuse grace period",
            self.reuse_grace_period,
            StdDuration::ZERO,
            MAX_REUSE_GRACE_PERIOD,
        )?;
        if access_token_ttl > session_ttl {
            return invalid("the access-token lifetime must not exceed the session lifetime");
        }
        if self.max_name_chars == 0 {
            return invalid("the maximum name length must be positive");
        }
        if tokens.issuer().is_empty() || tokens.audience().is_empty() {
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
                Some(Throttle::new(throttle, account_limiter))
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
        let service = AuthService {
            inner: Arc::new(Inner {
                users: self.users,
                sessions: self.sessions,
                hasher: self
                    .hasher
                    .unwrap_or_else(|| Arc::new(Argon2Hasher::default())),
                tokens,
                clock,
                custom_claims: self.custom_claims,
                password_policy: self.password_policy,
                access_token_ttl,
                session_ttl,
                reuse_grace_period,
                max_name_chars: self.max_name_chars,
                check_sessions: self.check_sessions,
                session_cache: (session_cache_ttl > Duration::ZERO)
                    .then(|| SessionCache::new(session_cache_ttl)),
                throttle,
                limiter,
                client_limit: self.client_rate_limit,
                trusted_proxies: self.trusted_proxies,
                dummy_hash: OnceCell::new(),
            }),
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(normalise_name(None, 5).unwrap(), None);
        assert_eq!(normalise_name(Some("   ".into()), 5).unwrap(), None);
        assert_eq!(
            normalise_name(Some(" Ada ".into()), 5).unwrap(),
            Some("Ada".into())
        );
        assert_eq!(
            normalise_name(Some("Zoë🦀".into()), 4).unwrap(),
            Some("Zoë🦀".into())
        );
        assert!(normalise_name(Some("Adaaaa".into()), 5).is_err());
        assert!(normalise_name(Some("A\u{0}da".into()), 5).is_err());
        assert!(normalise_name(Some("Ada\u{202E}".into()), 5).is_err());
        assert!(normalise_name(Some("A\u{200B}da".into()), 5).is_err());
        for hidden in [
            '\u{061C}',
            '\u{2028}',
            '\u{00AD}',
            '\u{034F}',
            '\u{180E}',
            '\u{E0041}',
            '\u{FFF9}',
            '\u{3164}',
        ] {
            assert!(
                normalise_name(Some(format!("A{hidden}da")), 10).is_err(),
                "{hidden:?}"
            );
        }
        // Visible non-ASCII names are fine.
        assert!(normalise_name(Some("Åsa Ñúñez 李".into()), 20).is_ok());
    }
}
