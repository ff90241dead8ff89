//! API keys: long-lived bearer credentials that a signed-in user makes
//! for scripts and services. See [`ApiKeys`]; the in-process memory of
//! keys found good is in `cache`, the routes in `routes`.
//!
//! Each key is an `api_key` row of the [`CredentialStore`], found by the
//! key's id part (its `lookup`), with the SHA-256 of the whole key, its
//! name and its displayable prefix in `data`.

use std::{sync::Arc, time::Duration as StdDuration};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::{AuthService, Principal};
use crate::{
    AccessClaims, AuthError, CredentialId, CredentialKind, CredentialStore, MessageKind,
    NewCredential, TokenHash, UserId, id::constant_time_eq, store::Credential,
};

mod cache;
mod key;
mod lookups;
pub(crate) mod routes;
#[cfg(test)]
mod tests;

use cache::{Cached, KeyCache, LastUsed};
pub use key::ApiKeySecret;
use lookups::Lookups;
pub use routes::{ApiKeyInfo, CreateApiKeyRequest, CreatedApiKey};

/// The prefix of keys when [`ApiKeys::prefix`] sets none: `ak_`.
pub const DEFAULT_API_KEY_PREFIX: &str = "ak_";

/// The most API keys one user may have when [`ApiKeys::max_per_user`]
/// sets no other number.
pub const DEFAULT_MAX_API_KEYS: usize = 50;

/// The longest lifetime a key may be given, in days, when
/// [`ApiKeys::max_expires_in_days`] sets no other.
pub const DEFAULT_MAX_EXPIRES_IN_DAYS: u32 = 365;

/// The longest API key name, in characters.
pub const MAX_API_KEY_NAME_CHARS: usize = 64;

/// How often, at most, a key's `last_used_at` is written: once a minute.
pub const LAST_USED_INTERVAL: StdDuration = StdDuration::from_secs(60);

/// [`LAST_USED_INTERVAL`] as a time span.
const INTERVAL: Duration = Duration::seconds(60);

/// The longest prefix [`ApiKeys::prefix`] takes, in bytes.
const MAX_PREFIX_LEN: usize = 16;

/// The most keys per user [`ApiKeys::max_per_user`] takes.
const MAX_MAX_PER_USER: usize = 1000;

/// The longest lifetime [`ApiKeys::max_expires_in_days`] takes: ten years.
const MAX_MAX_DAYS: u32 = 3650;

pub(crate) const API_KEY: CredentialKind = CredentialKind::new("api_key");

/// API keys for scripts and services: a signed-in user makes one (`POST
/// /api-keys`), sees it once, and sends it as `Authorization: Bearer
/// <key>`. Register it with
/// [`AuthServiceBuilder::api_keys`](crate::AuthServiceBuilder::api_keys);
/// it needs a [credentials store](crate::AuthServiceBuilder::credentials).
///
/// A key is `<prefix><id part><secret part>`: the prefix (default
/// [`DEFAULT_API_KEY_PREFIX`]), 22 characters naming the key and 43
/// characters of secret, both base64url, the secret 256 bits from the OS's
/// random number generator. Only a SHA-256 hash of the whole key is kept.
/// A fast hash is the right one here, unlike for passwords: with 256
/// random bits there is nothing to guess, so a slow hash would protect
/// nothing and cost every request that sends a key.
///
/// What a key can do:
/// - [`Verifier::authenticate`](crate::Verifier::authenticate), and so
///   the adapters' `Authenticated` extractor, accepts it as its user: the
///   application's own routes work with it, and the
///   [`Principal`] says which key it was ([`Principal::api_key_id`]).
///   `GET /me` takes it too.
/// - [`AuthService::authenticate`] (the session's check) refuses it with
///   [`AuthError::ApiKeyNotAllowed`], and so does every other auth route
///   (403 `api_key_not_allowed`): a key cannot manage the account, its
///   keys, sessions or factors. Any bearer with a key's shape gets that
///   answer, a good key or not, with no store lookup: it tells nothing
///   about the key.
///
/// A key works until it is deleted, until it expires (if it was given a
/// lifetime), or until its user is deleted. It outlives sign-out,
/// sign-out everywhere, a password change and a password reset: keys
/// are for unattended scripts, which must not stop when their owner signs
/// out of a browser; and a reset proves only that someone reads the
/// mailbox, while the user sees every key (name, prefix, last use) in
/// the account and deletes the ones they do not know.
///
/// With the [session cache](crate::AuthServiceBuilder::session_cache_ttl)
/// on, a key found good is trusted for as long as a session would be,
/// without asking the store again; the key's expiry is still checked on
/// every use, and deleting the key (or its user) through this service
/// forgets it at once. Another process learns of a deletion within the
/// cache's lifetime, as of a sign-out. A key's `last_used_at` is written
/// at most once a [minute](LAST_USED_INTERVAL) per key and process,
/// never per request.
///
/// ```
/// use auth_core::{AuthService, JwtCodec, MemoryStore, Password, SignUpRequest};
/// use auth_core::service::ApiKeys;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::AuthError> {
/// let auth = AuthService::with_store(MemoryStore::new())
///     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
///     .api_keys(ApiKeys::new().prefix("todo_"))
///     .build()?;
/// let session = auth
///     .sign_up(SignUpRequest {
///         email: "ada@example.com".into(),
///         password: Password::new("correct horse battery staple"),
///         name: None,
///     })
///     .await?
///     .signed_in()?;
/// let principal = auth.authenticate(session.access_token.expose_secret()).await?;
/// let created = auth.create_api_key(&principal, "nightly backup", Some(90)).await?;
/// assert!(created.key.expose_secret().starts_with("todo_"));
///
/// // The key signs its user in wherever a `Verifier` checks the bearer…
/// let by_key = auth.verifier().authenticate(created.key.expose_secret()).await?;
/// assert_eq!(by_key.user_id(), &session.user.id);
/// assert_eq!(by_key.api_key_id().map(|id| id.as_str()), Some(created.id.as_str()));
/// // …and nowhere a session is needed.
/// let refused = auth.authenticate(created.key.expose_secret()).await;
/// assert!(matches!(refused, Err(auth_core::AuthError::ApiKeyNotAllowed)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ApiKeys {
    prefix: String,
    max_per_user: usize,
    max_expires_in_days: u32,
}

impl Default for ApiKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiKeys {
    /// API keys with the defaults: prefix [`DEFAULT_API_KEY_PREFIX`], at
    /// most [`DEFAULT_MAX_API_KEYS`] per user, lifetimes of 1 to
    /// [`DEFAULT_MAX_EXPIRES_IN_DAYS`] days (or none).
    pub fn new() -> Self {
        Self {
            prefix: DEFAULT_API_KEY_PREFIX.to_owned(),
            max_per_user: DEFAULT_MAX_API_KEYS,
            max_expires_in_days: DEFAULT_MAX_EXPIRES_IN_DAYS,
        }
    }

    /// What every key starts with: 1 to 16 bytes of `a-z`, `0-9` and `_`
    /// (`todo_`, `acme_live_`). A recognisable prefix lets secret
    /// scanners find leaked keys and tells keys from access tokens.
    /// Changing it later turns the keys made before into strangers: they
    /// stop working.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most keys one user may have (1 to 1000; default
    /// [`DEFAULT_MAX_API_KEYS`]); past it, creating one is
    /// [`AuthError::TooManyApiKeys`]. Expired keys do not count. The cap
    /// is checked before the insert and again after it: a create that
    /// raced others past the first check and finds the user over the cap
    /// takes its key back.
    #[must_use]
    pub fn max_per_user(mut self, max: usize) -> Self {
        self.max_per_user = max;
        self
    }

    /// The longest lifetime a key may be given, in days (1 to 3650;
    /// default [`DEFAULT_MAX_EXPIRES_IN_DAYS`]). A key given none never
    /// expires.
    #[must_use]
    pub fn max_expires_in_days(mut self, days: u32) -> Self {
        self.max_expires_in_days = days;
        self
    }

    /// The configuration's problem, if it has one.
    pub(super) fn check(&self) -> Result<(), String> {
        let prefix = &self.prefix;
        if !(1..=MAX_PREFIX_LEN).contains(&prefix.len())
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!(
                "the API key prefix {prefix:?} must be 1 to {MAX_PREFIX_LEN} bytes of a-z, 0-9 \
                 and _"
            ));
        }
        if !(1..=MAX_MAX_PER_USER).contains(&self.max_per_user) {
            return Err(format!(
                "the most API keys per user must be 1 to {MAX_MAX_PER_USER}"
            ));
        }
        if !(1..=MAX_MAX_DAYS).contains(&self.max_expires_in_days) {
            return Err(format!(
                "the longest API key lifetime must be 1 to {MAX_MAX_DAYS} days"
            ));
        }
        Ok(())
    }

    /// Its runtime, with a cache of `cache_ttl` (none when zero).
    pub(super) fn start(self, store: Arc<dyn CredentialStore>, cache_ttl: Duration) -> Runtime {
        Runtime {
            prefix: self.prefix,
            max_per_user: self.max_per_user,
            max_expires_in_days: self.max_expires_in_days,
            store,
            cache: (cache_ttl > Duration::ZERO).then(|| KeyCache::new(cache_ttl)),
            last_used: LastUsed::default(),
            lookups: Arc::new(Lookups::default()),
        }
    }
}

/// [`ApiKeys`] ready to use.
pub(crate) struct Runtime {
    prefix: String,
    max_per_user: usize,
    max_expires_in_days: u32,
    store: Arc<dyn CredentialStore>,
    cache: Option<KeyCache>,
    last_used: LastUsed,
    /// Store lookups shared by concurrent requests with one key.
    lookups: Arc<Lookups>,
}

impl Runtime {
    /// The id part of `token` if it has the shape of a key of this
    /// service: the prefix first (one comparison, so that an access token
    /// costs nothing more), then the length and the alphabet.
    fn id_part<'a>(&self, token: &'a str) -> Option<&'a str> {
        key::id_part(&self.prefix, token)
    }

    /// Forgets the user's keys in the cache (the user is gone).
    pub(super) fn forget_user(&self, user_id: &UserId) {
        if let Some(cache) = &self.cache {
            cache.forget_user(user_id);
        }
    }
}

/// A key as kept.
#[derive(Serialize, Deserialize)]
struct Stored {
    name: String,
    /// The displayable start of the key.
    prefix: String,
    /// The SHA-256 of the whole key, hex.
    hash: String,
}

impl Stored {
    fn parse(row: &Credential) -> Result<Self, AuthError> {
        serde_json::from_slice(&row.data).map_err(AuthError::internal)
    }

    fn hash(&self) -> Result<TokenHash, AuthError> {
        TokenHash::from_hex(&self.hash)
            .ok_or_else(|| AuthError::internal("an API key's stored hash is not 64 hex digits"))
    }

    fn info(self, row: &Credential) -> ApiKeyInfo {
        ApiKeyInfo {
            id: row.id.as_str().to_owned(),
            name: self.name,
            prefix: self.prefix,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// The SHA-256 of a whole key.
fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// A checked key name: trimmed, 1 to [`MAX_API_KEY_NAME_CHARS`]
/// characters, none hidden (bidi controls, zero-width…) or a control, so
/// that one name cannot pass for another in the list.
pub(crate) fn api_key_name(name: &str) -> Result<String, AuthError> {
    super::name::required_name(name, MAX_API_KEY_NAME_CHARS)
}

/// The latest time an `exp` claim can name (9999-12-31T23:59:59Z): the
/// `exp` of a principal whose key never expires.
const NEVER: i64 = 253_402_300_799;

/// Rounds of creating a key whose id part is taken: with 128 random bits,
/// a second round is already never needed.
const CREATE_ROUNDS: usize = 3;

impl AuthService {
    /// Makes an API key for the principal's user, named `name` (trimmed,
    /// 1 to [`MAX_API_KEY_NAME_CHARS`] characters, no control
    /// characters), expiring after `expires_in_days` days (1 to the
    /// configured maximum) or never. The answer holds the key itself:
    /// show it once, it is not kept (send it with `Cache-Control:
    /// no-store`).
    ///
    /// # Errors
    /// [`AuthError::ApiKeyNotAllowed`] when the principal is itself an API
    /// key (a key never makes keys); [`AuthError::InvalidName`];
    /// [`AuthError::InvalidExpiry`]; [`AuthError::TooManyApiKeys`] at the
    /// configured maximum of unexpired keys; [`AuthError::NotFound`] when
    /// API keys are not set up.
    pub async fn create_api_key(
        &self,
        principal: &Principal,
        name: &str,
        expires_in_days: Option<i64>,
    ) -> Result<CreatedApiKey, AuthError> {
        let runtime = self.api_key_runtime()?;
        if principal.api_key_id().is_some() {
            return Err(AuthError::ApiKeyNotAllowed);
        }
        // A key outlives sign-out and a reset: a stolen access token must
        // not be able to mint one (as with adding a passkey).
        self.require_recent_sign_in(principal).await?;
        let name = api_key_name(name)?;
        let max_days = runtime.max_expires_in_days;
        let lifetime = match expires_in_days {
            None => None,
            Some(days) if (1..=i64::from(max_days)).contains(&days) => Some(Duration::days(days)),
            Some(_) => return Err(AuthError::InvalidExpiry { max_days }),
        };
        let user_id = principal.user_id();
        let now = self.inner.now();
        if self.unexpired_api_keys(runtime, user_id, now).await? >= runtime.max_per_user {
            return Err(AuthError::TooManyApiKeys);
        }
        let expires_at = match lifetime {
            None => None,
            Some(lifetime) => Some(
                now.checked_add(lifetime)
                    .ok_or_else(|| AuthError::internal("an API key's expiry is out of range"))?,
            ),
        };
        for _ in 0..CREATE_ROUNDS {
            let secret = key::generate(&runtime.prefix)?;
            let stored = Stored {
                name: name.clone(),
                prefix: secret.shown_prefix(&runtime.prefix).to_owned(),
                hash: TokenHash::from_bytes(key_hash(secret.expose_secret())).to_hex(),
            };
            let inserted = runtime
                .store
                .insert(NewCredential {
                    id: CredentialId::generate()?,
                    kind: API_KEY,
                    lookup: secret.id_part(&runtime.prefix).to_owned(),
                    user_id: Some(user_id.clone()),
                    data: serde_json::to_vec(&stored).map_err(AuthError::internal)?,
                    created_at: now,
                    expires_at,
                })
                .await?;
            if let Some(row) = inserted {
                // Creates racing past the count above each count again
                // with their own row in: over the cap, they take it back.
                if self.unexpired_api_keys(runtime, user_id, now).await? > runtime.max_per_user {
                    runtime.store.delete(user_id, &row.id).await?;
                    return Err(AuthError::TooManyApiKeys);
                }
                tracing::info!(user_id = %user_id, api_key = %row.id, "API key created");
                // The owner hears of it, in case it was not them.
                if let Some(user) = self.inner.users.find_user_by_id(user_id).await? {
                    self.notify(MessageKind::ApiKeyCreated, &user.email).await;
                }
                let info = stored.info(&row);
                return Ok(CreatedApiKey {
                    id: info.id,
                    name: info.name,
                    key: secret,
                    prefix: info.prefix,
                    created_at: info.created_at,
                    expires_at: info.expires_at,
                    last_used_at: info.last_used_at,
                });
            }
        }
        Err(AuthError::internal(
            "an API key's id part was drawn taken, thrice",
        ))
    }

    /// How many of the user's keys have not expired at `now`.
    async fn unexpired_api_keys(
        &self,
        runtime: &Runtime,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> Result<usize, AuthError> {
        Ok(runtime
            .store
            .list(user_id, &API_KEY)
            .await?
            .iter()
            .filter(|row| !row.is_expired_at(now))
            .count())
    }

    /// The user's API keys, oldest first, expired ones included until
    /// [`CredentialStore::delete_expired`] removes them. Neither a key nor
    /// its hash is in them.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when API keys are not set up.
    pub async fn api_keys(&self, user_id: &UserId) -> Result<Vec<ApiKeyInfo>, AuthError> {
        let runtime = self.api_key_runtime()?;
        runtime
            .store
            .list(user_id, &API_KEY)
            .await?
            .iter()
            .map(|row| Ok(Stored::parse(row)?.info(row)))
            .collect()
    }

    /// Deletes the user's API key `id` (from [`api_keys`](Self::api_keys)):
    /// it stops working at once in this process, and in others within the
    /// cache's lifetime.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] for an unknown id, another user's, an id
    /// of a shape no key has (before any lookup), or when API keys are
    /// not set up.
    pub async fn delete_api_key(&self, user_id: &UserId, id: &str) -> Result<(), AuthError> {
        let runtime = self.api_key_runtime()?;
        if !key::is_credential_id(id) {
            return Err(AuthError::NotFound);
        }
        let id = CredentialId::new(id);
        let row = runtime
            .store
            .get(&id)
            .await?
            .filter(|row| row.kind == API_KEY && row.user_id.as_ref() == Some(user_id))
            .ok_or(AuthError::NotFound)?;
        // However this ends (an error after the store deleted it, or a
        // cancelled request), the cache must not keep the key.
        let _forget = runtime
            .cache
            .as_ref()
            .map(|cache| cache.forget_when_done(&row.lookup));
        if !runtime.store.delete(user_id, &id).await? {
            return Err(AuthError::NotFound);
        }
        tracing::info!(user_id = %user_id, api_key = %id, "API key deleted");
        Ok(())
    }

    /// The principal of an API key: its user, if the key is one of this
    /// service's, unexpired, and not deleted (nor its user).
    ///
    /// The prefix is compared first, then the shape; then the key's
    /// SHA-256 is compared (in constant time) with the one kept, either
    /// in the cache (with the session cache's lifetime) or in the store
    /// (one lookup by the key's id part, shared by the requests with the
    /// same key that arrive while one is in flight: they wait for the
    /// next, so none gets an answer older than itself). The key's expiry
    /// is checked on every use, cached or not.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for anything but a good key (a
    /// malformed, unknown, deleted, expired or tampered one);
    /// [`AuthError::NotFound`] when API keys are not set up.
    pub async fn authenticate_api_key(&self, key: &str) -> Result<Principal, AuthError> {
        let runtime = self.api_key_runtime()?;
        let id_part = runtime.id_part(key).ok_or(AuthError::InvalidToken)?;
        let now = self.inner.now();
        let hash = key_hash(key);
        let cache = runtime.cache.as_ref();
        if let Some(cached) = cache.and_then(|cache| cache.get(id_part, now)) {
            let Cached {
                id,
                user_id,
                hash: kept,
                expires_at,
            } = cached;
            if !constant_time_eq(&hash, &kept) || expires_at.is_some_and(|at| now >= at) {
                return Err(AuthError::InvalidToken);
            }
            self.touch(runtime, &id, id_part, None, now).await;
            return Ok(self.key_principal(user_id, id, expires_at, now));
        }
        let generation = cache.map(KeyCache::generation);
        let row = runtime
            .lookups
            .find(&runtime.store, id_part)
            .await?
            .filter(|row| row.kind == API_KEY)
            .ok_or(AuthError::InvalidToken)?;
        let kept = Stored::parse(&row)?.hash()?;
        if !constant_time_eq(&hash, kept.as_bytes()) || row.is_expired_at(now) {
            return Err(AuthError::InvalidToken);
        }
        let user_id = row.user_id.clone().ok_or(AuthError::InvalidToken)?;
        if let (Some(cache), Some(generation)) = (cache, generation) {
            cache.remember(
                id_part,
                Cached {
                    id: row.id.clone(),
                    user_id: user_id.clone(),
                    hash,
                    expires_at: row.expires_at,
                },
                now,
                generation,
            );
        }
        self.touch(runtime, &row.id, id_part, Some(&row), now).await;
        Ok(self.key_principal(user_id, row.id, row.expires_at, now))
    }

    /// Whether `token` has the shape of one of this service's API keys
    /// (false when they are not set up).
    pub(crate) fn is_api_key(&self, token: &str) -> bool {
        self.inner
            .api_keys
            .as_ref()
            .is_some_and(|runtime| runtime.id_part(token).is_some())
    }

    /// Writes the key's `last_used_at` if this process has not tried in
    /// the last [`LAST_USED_INTERVAL`] and the stored one is older than
    /// that (compare-and-swap on the row's version, so that of several
    /// processes at most one writes). `row` is the key as just read, if
    /// it was; a key found deleted is forgotten by the cache. Never fails
    /// the request: an error is logged.
    async fn touch(
        &self,
        runtime: &Runtime,
        id: &CredentialId,
        id_part: &str,
        row: Option<&Credential>,
        now: OffsetDateTime,
    ) {
        if !runtime.last_used.due(id, now) {
            return;
        }
        let read;
        let row = match row {
            Some(row) => row,
            None => match runtime.store.get(id).await {
                Ok(Some(row)) if row.kind == API_KEY => {
                    read = row;
                    &read
                }
                Ok(_) => {
                    // Deleted by another process: stop vouching for it here
                    // too, before the cache's lifetime ends.
                    if let Some(cache) = &runtime.cache {
                        cache.forget(id_part);
                    }
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, api_key = %id, "could not read an API key's last use");
                    return;
                }
            },
        };
        if row.last_used_at.is_some_and(|last| now - last < INTERVAL) {
            return;
        }
        if let Err(error) = runtime
            .store
            .update(&row.id, row.version, &row.data, Some(now))
            .await
        {
            tracing::warn!(%error, api_key = %id, "could not write an API key's last use");
        }
    }

    /// The principal of a good key: the user as `sub`, no session, the
    /// key's expiry (or the latest time there is) as `exp`.
    fn key_principal(
        &self,
        user_id: UserId,
        id: CredentialId,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Principal {
        let codec = &self.inner.codec;
        Principal {
            claims: AccessClaims {
                sub: user_id,
                sid: None,
                jti: None,
                iat: now.unix_timestamp(),
                exp: expires_at.map_or(NEVER, OffsetDateTime::unix_timestamp),
                nbf: None,
                iss: codec.issuer().to_owned(),
                aud: codec.audience().to_owned(),
                custom: serde_json::Map::new(),
            },
            api_key: Some(id),
        }
    }

    /// The API keys runtime, or 404 when it is not set up.
    fn api_key_runtime(&self) -> Result<&Runtime, AuthError> {
        self.inner.api_keys.as_ref().ok_or(AuthError::NotFound)
    }
}
