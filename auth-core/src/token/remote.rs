//! [`RemoteJwks`]: a trusted issuer whose keys are fetched from its JWKS URL.

use std::{
    fmt,
    net::IpAddr,
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use reqwest::{StatusCode, Url, header::CACHE_CONTROL};
use time::OffsetDateTime;
use tokio::{sync::Mutex, time::Instant};

use super::{AccessClaims, IssuerKeys, Jwks, MAX_LEEWAY, TrustedIssuer};
use crate::AuthError;

/// The longest a fetched key set is used before it is fetched again.
const MAX_REFRESH: Duration = Duration::from_secs(3600);

/// A [`TrustedIssuer`] whose keys come from its JWKS URL (e.g. Better
/// Auth's `/api/auth/jwks`), cached as an [`IssuerKeys`].
///
/// - A token with an unknown `kid` (or arriving before any keys are
///   loaded) makes it fetch the keys again and retry once. These on-demand
///   fetches happen at most once per
///   [`min_refetch_interval`](RemoteJwksBuilder::min_refetch_interval):
///   concurrent callers share the one in-flight fetch, and callers inside
///   the interval are refused at once, so a flood of made-up `kid`s costs
///   the issuer at most one request per interval.
/// - When built inside a Tokio runtime, a background task refetches every
///   [`refresh_interval`](RemoteJwksBuilder::refresh_interval) (or the
///   response's `Cache-Control: max-age`, clamped to between the minimum
///   refetch interval and 1 h). It stops once every clone is dropped.
/// - A failed fetch (network error, non-200, bad JSON, body over
///   [`max_body_bytes`](RemoteJwksBuilder::max_body_bytes), no usable key)
///   keeps the last good keys and logs a warning.
/// - Keys are loaded lazily; call [`refresh_now`](Self::refresh_now) at
///   start-up to load them (and fail fast) instead.
///
/// Only `https://` URLs are accepted, unless
/// [`allow_http_loopback`](RemoteJwksBuilder::allow_http_loopback) allows
/// `http://` to 127.0.0.0/8, `::1` and `localhost`. Redirects are not
/// followed and no proxy is used. Clones share the cache.
///
/// ```
/// use auth_core::RemoteJwks;
///
/// let remote = RemoteJwks::builder("https://app.example.com/api/auth/jwks")
///     .issuer("https://app.example.com")
///     .audience("https://app.example.com")
///     .build()
///     .unwrap();
/// assert_eq!(remote.fetch_count(), 0);
/// assert!(RemoteJwks::builder("http://app.example.com/jwks").issuer("i").audience("a").build().is_err());
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

struct Inner {
    url: Url,
    client: reqwest::Client,
    issuer: String,
    audience: String,
    leeway: Duration,
    max_body_bytes: usize,
    min_refetch: Duration,
    refresh: Duration,
    keys: RwLock<Option<Arc<IssuerKeys>>>,
    /// When the last on-demand fetch started; held across that fetch so
    /// concurrent callers wait for it instead of fetching too.
    on_demand: Mutex<Option<Instant>>,
    /// The refresh delay the last response asked for (seconds).
    next_refresh_secs: AtomicU64,
    fetches: AtomicU64,
}

impl RemoteJwks {
    /// A builder for the JWKS at `jwks_url`.
    pub fn builder(jwks_url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder {
            url: jwks_url.into(),
            issuer: String::new(),
            audience: String::new(),
            leeway: Duration::from_secs(30),
            allow_http_loopback: false,
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(5),
            max_body_bytes: 256 * 1024,
            min_refetch: Duration::from_secs(10),
            refresh: Duration::from_secs(300),
        }
    }

    /// Fetches the key set now, outside the on-demand rate limit.
    ///
    /// # Errors
    /// [`AuthError::Internal`](crate::AuthError) when the fetch failed;
    /// the last good keys are kept then.
    pub async fn refresh_now(&self) -> Result<(), AuthError> {
        self.inner.fetch().await
    }

    /// How many fetches were attempted (successful or not).
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The `kid`s-known check of the cached keys; `None` before any load.
    fn cached(&self) -> Option<Arc<IssuerKeys>> {
        self.inner.cached()
    }

    /// The keys to check `token` with: the cached set when it knows the
    /// token's `kid`, else the set after one rate-limited refetch.
    pub(crate) async fn keys_for(&self, token: &str) -> Result<Arc<IssuerKeys>, AuthError> {
        if token.len() > super::MAX_TOKEN_BYTES {
            return Err(AuthError::InvalidToken);
        }
        if let Some(keys) = self.cached() {
            let known = match kid_of(token) {
                Some(kid) => keys.has_kid(&kid),
                // No kid: only a one-key set without kids could match;
                // a refetch would not help.
                None => true,
            };
            if known {
                return Ok(keys);
            }
        }
        self.inner.fetch_limited().await;
        self.cached().ok_or(AuthError::InvalidToken)
    }

    fn spawn_refresher(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            loop {
                let delay = match weak.upgrade() {
                    Some(inner) => {
                        Duration::from_secs(inner.next_refresh_secs.load(Ordering::Relaxed))
                    }
                    None => return,
                };
                tokio::time::sleep(delay).await;
                let Some(inner) = weak.upgrade() else { return };
                // Failures are logged inside and the old keys kept.
                let _ = inner.fetch().await;
            }
        });
    }
}

impl Inner {
    fn cached(&self) -> Option<Arc<IssuerKeys>> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// One fetch; on success the cache is replaced.
    async fn fetch(&self) -> Result<(), AuthError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch_keys().await {
            Ok((keys, max_age)) => {
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(keys));
                let refresh = max_age
                    .unwrap_or(self.refresh)
                    .clamp(self.min_refetch.min(MAX_REFRESH), MAX_REFRESH);
                self.next_refresh_secs
                    .store(refresh.as_secs().max(1), Ordering::Relaxed);
                Ok(())
            }
            Err(why) => {
                tracing::warn!(url = %self.url, "fetching the issuer's JWKS failed, keeping the last keys: {why}");
                Err(AuthError::internal(why))
            }
        }
    }

    async fn fetch_keys(&self) -> Result<(IssuerKeys, Option<Duration>), String> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if response.status() != StatusCode::OK {
            return Err(format!("status {}", response.status()));
        }
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age);
        let body = read_limited(&mut response, self.max_body_bytes).await?;
        let jwks: Jwks =
            serde_json::from_slice(&body).map_err(|_| "the body is not a JWKS".to_owned())?;
        let keys = IssuerKeys::new(&jwks, self.issuer.clone(), self.audience.clone())
            .and_then(|keys| keys.with_leeway(self.leeway))
            .map_err(|e| e.to_string())?;
        Ok((keys, max_age))
    }

    /// An on-demand fetch, unless one started within the minimum interval.
    async fn fetch_limited(&self) {
        let mut last = self.on_demand.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return;
        }
        *last = Some(Instant::now());
        let _ = self.fetch().await;
    }
}

/// The body of `response`, refused once it passes `max` bytes (announced
/// or read).
pub(crate) async fn read_limited(
    response: &mut reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, String> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err("the body is over the size limit".into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the body failed: {e}"))?
    {
        if body.len() + chunk.len() > max {
            return Err("the body is over the size limit".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `max-age=N` of a `Cache-Control` value.
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').find_map(|directive| {
        let (name, secs) = directive.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        secs.trim()
            .trim_matches('"')
            .parse()
            .ok()
            .map(Duration::from_secs)
    })
}

/// The token's `kid` header, if it can be read (for the cache-miss check
/// only; [`IssuerKeys::verify`] checks the header for real).
///
/// Read by hand: jsonwebtoken's header type refuses `alg: ES512`, which
/// would hide an ES512 token's unknown `kid` and skip the refetch.
fn kid_of(token: &str) -> Option<String> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    #[derive(serde::Deserialize)]
    struct Header {
        kid: Option<String>,
    }
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    serde_json::from_slice::<Header>(&header).ok()?.kid
}

#[async_trait]
impl TrustedIssuer for RemoteJwks {
    fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    fn audience(&self) -> &str {
        &self.inner.audience
    }

    async fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, AuthError> {
        self.keys_for(token).await?.verify(token, now)
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.inner.url.as_str())
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("keys", &self.cached().map(|keys| keys.len()))
            .field("fetches", &self.fetch_count())
            .finish()
    }
}

/// Builds a [`RemoteJwks`]; [`build`](Self::build) checks the configuration.
#[derive(Debug, Clone)]
pub struct RemoteJwksBuilder {
    url: String,
    issuer: String,
    audience: String,
    leeway: Duration,
    allow_http_loopback: bool,
    connect_timeout: Duration,
    timeout: Duration,
    max_body_bytes: usize,
    min_refetch: Duration,
    refresh: Duration,
}

impl RemoteJwksBuilder {
    /// The `iss` required on tokens (Better Auth: its base URL). Required.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// The `aud` required on tokens (Better Auth: its base URL). Required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Clock leeway on `exp`, `nbf` and `iat`: at most 60 s, default 30 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Allow `http://` to a loopback host (127.0.0.0/8, `::1`,
    /// `localhost`), for tests and same-host set-ups. Default `false`.
    pub fn allow_http_loopback(mut self, allow: bool) -> Self {
        self.allow_http_loopback = allow;
        self
    }

    /// TCP connect timeout; default 3 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout of a whole fetch; default 5 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest JWKS body read; default 256 KiB.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Least time between two on-demand fetches (unknown `kid`); default 10 s.
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch = interval;
        self
    }

    /// Background refresh period when the response sets no
    /// `Cache-Control: max-age`; default 5 min, at most 1 h.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh = interval;
        self
    }

    /// Checks the configuration and builds the verifier; inside a Tokio
    /// runtime this also starts the background refresh.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] for a URL that is not `https://` (or
    /// allowed loopback `http://`), an empty issuer or audience, a leeway
    /// over 60 s, a zero timeout or body limit, or a refresh interval
    /// outside 1 s ..= 1 h.
    pub fn build(self) -> Result<RemoteJwks, AuthError> {
        let invalid = |why: String| Err(AuthError::InvalidConfig(why));
        let Ok(url) = Url::parse(&self.url) else {
            return invalid("the JWKS URL does not parse".into());
        };
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http_loopback && is_loopback(&url) => {}
            "http" => {
                return invalid(
                    "the JWKS URL must be https:// (http:// only to loopback, when allowed)".into(),
                );
            }
            _ => return invalid("the JWKS URL must be https://".into()),
        }
        if self.issuer.is_empty() || self.audience.is_empty() {
            return invalid("a trusted issuer needs an issuer and an audience".into());
        }
        if self.leeway > MAX_LEEWAY {
            return invalid(format!(
                "the JWT leeway is {:?}; at most 60 s is allowed",
                self.leeway
            ));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() || self.max_body_bytes == 0 {
            return invalid("the JWKS timeouts and body limit must be above zero".into());
        }
        if self.refresh < Duration::from_secs(1) || self.refresh > MAX_REFRESH {
            return invalid("the JWKS refresh interval must be within 1 s ..= 1 h".into());
        }
        let client = client(self.connect_timeout, self.timeout)?;
        let remote = RemoteJwks {
            inner: Arc::new(Inner {
                url,
                client,
                issuer: self.issuer,
                audience: self.audience,
                leeway: self.leeway,
                max_body_bytes: self.max_body_bytes,
                min_refetch: self.min_refetch,
                refresh: self.refresh,
                keys: RwLock::new(None),
                on_demand: Mutex::new(None),
                next_refresh_secs: AtomicU64::new(self.refresh.as_secs()),
                fetches: AtomicU64::new(0),
            }),
        };
        remote.spawn_refresher();
        Ok(remote)
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A reqwest client on rustls with aws-lc-rs and the Mozilla roots; no
/// redirects, no proxy.
pub(crate) fn client(
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<reqwest::Client, AuthError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(AuthError::internal)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .build()
        .map_err(|e| AuthError::InvalidConfig(format!("the HTTP client does not build: {e}")))
}
