//! A Redis-backed [`RateLimiter`] for `auth-core`, so that several server
//! instances count sign-in attempts and per-client requests in one shared
//! budget instead of each in its own memory.
//!
//! ```no_run
//! # async fn example() -> Result<(), auth_core::AuthError> {
//! use auth_core::{AuthService, JwtCodec, MemoryStore};
//! use auth_redis::RedisRateLimiter;
//!
//! let limiter = RedisRateLimiter::new("redis://127.0.0.1:6379")?;
//! limiter.ping().await?; // fail at start rather than on the first sign-in
//! let store = MemoryStore::new();
//! let auth = AuthService::builder(store.clone(), store)
//!     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
//!     .rate_limiter(limiter)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! # Counting
//!
//! Each hit is one Lua script, run atomically by Redis in one round trip:
//! `INCR` the key, and give it its window with `PEXPIRE` if it has none,
//! returning the count and the time left. Concurrent hits from any number
//! of instances therefore never share a count. Keys are
//! `<prefix><auth-core's key>` (prefix `auth:rl:` by default) and expire
//! with their window, so Redis holds nothing after the windows end.
//!
//! # When Redis cannot be reached: fail closed
//!
//! Every call is bounded ([`DEFAULT_TIMEOUT`], 500 ms, connecting
//! included), and a Redis that cannot be reached in that time makes the
//! call fail with [`AuthError::Unavailable`]: the sign-in, sign-up or
//! refresh is refused with 503 rather than let through uncounted. A
//! limiter that fails open turns "take Redis down" into "guess passwords
//! without limit", and these routes already depend on the database being
//! up. Routes that only check an access token never consult the limiter
//! and keep working. The connection is re-established in the background,
//! and the routes recover by themselves when Redis is back.
//! (Clearing the count after a successful sign-in is the exception: the
//! sign-in still succeeds, with a warning logged.)
//!
//! # Why `redis` rather than `fred`
//!
//! `redis` (redis-rs) is the most used and maintained Redis client; with
//! its default features off it brings a tokio connection manager that
//! reconnects by itself and script support (`EVALSHA` with a fallback to
//! `EVAL`), and little else. `fred` is as capable but larger, and its
//! pooling and cluster support are more than one script call needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::time::Duration;

use async_trait::async_trait;
use auth_core::{
    AuthError,
    limits::{Decision, RateLimiter},
};
use redis::{
    Client, RedisError, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

/// The longest a call to Redis may take, connecting included: 500 ms.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "auth:rl:";

/// One hit: count, give a fresh key its window, return count and ms left.
const HIT: &str = r"
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
";

/// A [`RateLimiter`] on Redis; see the [crate documentation](crate).
///
/// Cheap to clone: clones share one multiplexed connection.
#[derive(Clone)]
pub struct RedisRateLimiter {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    hit: Script,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A limiter on the Redis at `url` (`redis://[:password@]host:port[/db]`)
    /// with [`DEFAULT_TIMEOUT`]. Nothing is sent yet: it connects on the
    /// first call (see [`ping`](Self::ping)).
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] for a malformed URL, or when called
    /// outside a tokio runtime (the connection lives on it).
    pub fn new(url: &str) -> Result<Self, AuthError> {
        Self::with_timeout(url, DEFAULT_TIMEOUT)
    }

    /// Like [`new`](Self::new), with every call bounded by `timeout`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_timeout(url: &str, timeout: Duration) -> Result<Self, AuthError> {
        let client = Client::open(url).map_err(|error| {
            AuthError::InvalidConfig(format!("REDIS_URL is not a Redis URL: {error}"))
        })?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(AuthError::InvalidConfig(
                "the Redis rate limiter must be created inside a tokio runtime".into(),
            ));
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(timeout);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|error| AuthError::InvalidConfig(format!("Redis: {error}")))?;
        Ok(Self {
            connection,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout,
            hit: Script::new(HIT),
        })
    }

    /// Puts `prefix` before every key (default `auth:rl:`), for example to
    /// keep two applications on one Redis apart.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Checks that Redis answers, so that a server can refuse to start
    /// with a wrong `REDIS_URL` instead of answering 503 later.
    ///
    /// # Errors
    /// [`AuthError::Unavailable`] when it does not answer in time.
    pub async fn ping(&self) -> Result<(), AuthError> {
        let mut connection = self.connection.clone();
        let ping = redis::cmd("PING");
        self.bounded(ping.query_async::<String>(&mut connection))
            .await
            .map(drop)
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, AuthError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(classify(error)),
            Err(_) => Err(AuthError::unavailable(format!(
                "Redis did not answer within {:?}",
                self.timeout
            ))),
        }
    }
}

/// A Redis that cannot be reached is [`AuthError::Unavailable`] (503);
/// anything else (a script error, a wrong reply) is internal.
fn classify(error: RedisError) -> AuthError {
    use redis::{ErrorKind, ServerErrorKind as Server};
    // A failover or a restart heals by itself, like a dropped connection.
    let transient_server_state = matches!(
        error.kind(),
        ErrorKind::Server(
            Server::BusyLoading
                | Server::TryAgain
                | Server::ClusterDown
                | Server::MasterDown
                | Server::ReadOnly
        )
    );
    if transient_server_state
        || error.is_io_error()
        || error.is_timeout()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
    {
        AuthError::unavailable(error)
    } else {
        AuthError::internal(error)
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, AuthError> {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut connection = self.connection.clone();
        let mut invocation = self.hit.key(format!("{}{key}", self.prefix));
        invocation.arg(window_ms);
        let (count, left_ms): (u64, i64) = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        if count <= u64::from(limit) {
            return Ok(Decision::Allowed);
        }
        let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
        // Whole seconds, rounded up, at least 1 (a `Retry-After` value).
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Ok(Decision::Limited {
            retry_after: Duration::from_secs(secs.max(1)),
        })
    }

    async fn reset(&self, key: &str) -> Result<(), AuthError> {
        let mut connection = self.connection.clone();
        let mut del = redis::cmd("DEL");
        del.arg(format!("{}{key}", self.prefix));
        self.bounded(del.query_async::<u64>(&mut connection))
            .await
            .map(drop)
    }
}

// The README shown on crates.io: its example is compiled as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
