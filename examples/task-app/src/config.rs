//! The servers' configuration, from environment variables. Every variable
//! is optional: with none set, a server listens on 127.0.0.1:8080 and keeps
//! its data in `data/tasks.db`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use auth_core::{
    client_ip::{ForwardedHeader, TrustedProxies},
    http::DEFAULT_BODY_LIMIT,
};

/// Why the configuration could not be read: the variable and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
#[non_exhaustive]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Where the JWT secret comes from.
#[derive(Clone)]
pub enum SecretSource {
    /// `JWT_SECRET`.
    Given(String),
    /// A file next to the SQLite database, created with a random secret on
    /// first start.
    File(PathBuf),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Given(_) => f.write_str("Given(<redacted>)"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// Everything a server needs to start. `Debug` hides the JWT secret and
/// the database URL's password.
#[derive(Clone)]
pub struct Config {
    /// `BIND_ADDRESS` (default `127.0.0.1:8080`; port 0 picks a free port).
    pub bind_address: SocketAddr,
    /// `DATABASE_URL` (default `sqlite://data/tasks.db`; `postgres://…`
    /// for PostgreSQL).
    pub database_url: String,
    /// `DATABASE_DIRECT_URL`: with PostgreSQL behind a pooler in
    /// transaction mode (Neon's `-pooler` hosts), the direct endpoint, over
    /// which the migrations run (their advisory lock needs one session).
    /// Default: migrate over `DATABASE_URL`.
    pub database_direct_url: Option<String>,
    /// How tokens are signed or trusted. `JWT_ALGORITHM` = `HS256`
    /// (default) with `JWT_SECRET` (at least 32 bytes, or else a generated
    /// secret kept in `<database file>.jwt-secret`); `EdDSA`, `ES256` or
    /// `RS256` with `JWT_SIGNING_KEYS_DIR` (PEM files; the newest signs),
    /// or else a key generated in `<database file>.jwt-<alg>.pem`. With
    /// PostgreSQL the secret or the folder is required. `TRUSTED_JWKS_URL`
    /// instead trusts another issuer's keys (see `examples/README.md`).
    pub tokens: crate::signing::TokenConfig,
    /// `JWT_ISSUER` (default `task-api`; required with `TRUSTED_JWKS_URL`).
    pub issuer: String,
    /// `JWT_AUDIENCE` (default `task-api`; required with `TRUSTED_JWKS_URL`).
    pub audience: String,
    /// `ACCESS_TOKEN_TTL_SECS` (default 900).
    pub access_token_ttl: Duration,
    /// `SESSION_TTL_SECS`, the refresh-token chain's lifetime (default 30 days).
    pub session_ttl: Duration,
    /// `REFRESH_REUSE_INTERVAL_SECS` (default 10, from 0 to 60): how long
    /// after its rotation a refresh token may be presented again (a second
    /// tab, a retry) for a new pair instead of revoking the session; 0 is
    /// strict rotation. See `AuthServiceBuilder::refresh_reuse_interval`.
    pub refresh_reuse_interval: Duration,
    /// `CORS_ORIGINS`, comma-separated exact origins (default
    /// `http://localhost:3000,http://127.0.0.1:3000`; `none`: no CORS).
    /// `*` and wildcards (`https://*.example.com`) are refused: name the
    /// front ends that may call the API.
    pub cors_origins: Vec<String>,
    /// `BODY_LIMIT_BYTES` (default 65536).
    pub body_limit: usize,
    /// `SIGN_IN_MAX_FAILURES` per email per `SIGN_IN_WINDOW_SECS` (defaults
    /// 10 and 900); 0 switches the throttle off.
    pub sign_in_max_failures: u32,
    /// `SIGN_IN_WINDOW_SECS`.
    pub sign_in_window: Duration,
    /// `SESSION_CACHE_SECS`: how long a session found active is trusted
    /// without asking the database again. Default 5 with SQLite (one
    /// server process per database file, where sign-out still takes effect
    /// at once) and 0 with PostgreSQL (usually several processes, which
    /// would each see another's sign-out only after this long). See
    /// `AuthServiceBuilder::session_cache_ttl`.
    pub session_cache_ttl: Duration,
    /// `HEADER_READ_TIMEOUT_SECS` (default 10, at least 1): a connection
    /// must send a complete request head within this long of opening, or
    /// of its previous response, or it is closed. This is also the idle
    /// keep-alive timeout, and what frees the slots slow clients hold.
    pub header_read_timeout: Duration,
    /// `MAX_CONNECTIONS` (at least 1): connections served at once; more
    /// wait in the listen queue until one closes. Default: the soft limit
    /// on open files less 64 (for the database, logs and listener), at
    /// most 10,000; 10,000 where the limit cannot be read.
    pub max_connections: usize,
    /// `WRITE_TIMEOUT_SECS` (default 30, from 1 to 3600): a connection
    /// whose client has taken none of its answer's bytes for this long is
    /// dropped ([`crate::write_timeout`]), so a client that never reads
    /// cannot hold it, and the answers queued for it, for ever.
    pub write_timeout: Duration,
    /// `CLIENT_LIMIT_REQUESTS` per client address per
    /// `CLIENT_LIMIT_WINDOW_SECS` on sign-up, sign-in and refresh together
    /// (defaults 60 and 60); 0 switches the per-client limit off.
    pub client_limit_requests: u32,
    /// `CLIENT_LIMIT_WINDOW_SECS`.
    pub client_limit_window: Duration,
    /// `TRUSTED_PROXIES`: addresses and CIDR blocks of the reverse proxies
    /// whose forwarding header names the client (default none: the peer
    /// address is the client). `TRUSTED_PROXY_HEADER` says which header
    /// they write: `x-forwarded-for` (default) or `forwarded`.
    pub trusted_proxies: TrustedProxies,
    /// `REDIS_URL`: count the sign-in throttle and the per-client limit in
    /// this Redis, shared by every instance, instead of in each process's
    /// memory. Unset: in memory.
    pub redis_url: Option<String>,
    /// Where messages go, and the account flows' settings.
    pub mail: crate::mail::MailConfig,
    /// Sign-in with OAuth providers (`OAUTH_PROVIDERS`; see the `oauth`
    /// module): `None` when unset.
    pub oauth: Option<auth_core::service::OAuth>,
    /// Two-factor (`TWO_FACTOR_KEY`, `TWO_FACTOR_ISSUER`; see the
    /// `two_factor` module): `None` with PostgreSQL and no key.
    pub two_factor: Option<crate::two_factor::TwoFactorConfig>,
    /// Passkeys (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`, else from
    /// `PUBLIC_URL`; see the `passkeys` module): `None` when `PUBLIC_URL`
    /// names a non-loopback IP address and no RP id is given.
    pub passkeys: Option<auth_core::service::Passkeys>,
    /// `API_KEYS` (default `true`): the API-key routes, and keys as the
    /// bearer of the task routes and `GET /api/auth/me`; `false` turns
    /// them off (the routes answer 404, and a key is an ordinary bad
    /// token).
    pub api_keys: bool,
}

/// The default database: a SQLite file under `data/`, created on start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tasks.db";

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable that is malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map
    /// in tests). Empty values count as unset.
    ///
    /// ```
    /// use task_app::config::Config;
    ///
    /// let config = Config::from_lookup(|name| (name == "BIND_ADDRESS").then(|| "0.0.0.0:9000".to_owned())).unwrap();
    /// assert_eq!(config.bind_address.port(), 9000);
    /// assert_eq!(config.database_url, "sqlite://data/tasks.db");
    /// assert!(Config::from_lookup(|name| (name == "BODY_LIMIT_BYTES").then(|| "lots".to_owned())).is_err());
    /// ```
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable that is malformed.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let parsed = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            get(name).map_or(Ok(default), |value| {
                value.trim().parse().map_err(|_| ConfigError {
                    variable: name,
                    problem: "expected a whole number".into(),
                })
            })
        };
        let bind_address = get("BIND_ADDRESS")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|_| ConfigError {
                variable: "BIND_ADDRESS",
                problem: "expected host:port, such as 127.0.0.1:8080".into(),
            })?;
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let public_url = get("PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let tokens = crate::signing::TokenConfig::from_lookup(&get, &database_url)?;
        let api_keys = match get("API_KEYS")
            .map(|value| value.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(_) => {
                return Err(ConfigError {
                    variable: "API_KEYS",
                    problem: "expected true or false".into(),
                });
            }
        };
        let window = parsed("SIGN_IN_WINDOW_SECS", 900)?;
        let at_least_one = |name: &'static str, value: u64| {
            if value == 0 {
                return Err(ConfigError {
                    variable: name,
                    problem: "must be at least 1".into(),
                });
            }
            Ok(value)
        };
        let header_read_timeout = Duration::from_secs(at_least_one(
            "HEADER_READ_TIMEOUT_SECS",
            parsed("HEADER_READ_TIMEOUT_SECS", 10)?,
        )?);
        let max_connections = at_least_one(
            "MAX_CONNECTIONS",
            parsed("MAX_CONNECTIONS", default_max_connections())?,
        )?;
        let write_timeout = parsed("WRITE_TIMEOUT_SECS", 30)?;
        if !(1..=3600).contains(&write_timeout) {
            return Err(ConfigError {
                variable: "WRITE_TIMEOUT_SECS",
                problem: "must be from 1 to 3600 (seconds)".into(),
            });
        }
        let refresh_reuse_interval = parsed("REFRESH_REUSE_INTERVAL_SECS", 10)
            .ok()
            .filter(|secs| *secs <= 60)
            .ok_or_else(|| ConfigError {
                variable: "REFRESH_REUSE_INTERVAL_SECS",
                problem: "expected a whole number of seconds from 0 (strict rotation) to 60".into(),
            })?;
        let header = match get("TRUSTED_PROXY_HEADER")
            .map(|value| value.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("x-forwarded-for") => ForwardedHeader::XForwardedFor,
            Some("forwarded") => ForwardedHeader::Forwarded,
            Some(_) => {
                return Err(ConfigError {
                    variable: "TRUSTED_PROXY_HEADER",
                    problem: "expected x-forwarded-for or forwarded".into(),
                });
            }
        };
        let trusted_proxies = TrustedProxies::parse(&get("TRUSTED_PROXIES").unwrap_or_default())
            .map_err(|error| ConfigError {
                variable: "TRUSTED_PROXIES",
                problem: error.to_string(),
            })?
            .header(header);
        Ok(Self {
            bind_address,
            tokens,
            issuer: get("JWT_ISSUER").unwrap_or_else(|| "task-api".into()),
            audience: get("JWT_AUDIENCE").unwrap_or_else(|| "task-api".into()),
            access_token_ttl: Duration::from_secs(parsed("ACCESS_TOKEN_TTL_SECS", 900)?),
            session_ttl: Duration::from_secs(parsed("SESSION_TTL_SECS", 30 * 24 * 3600)?),
            refresh_reuse_interval: Duration::from_secs(refresh_reuse_interval),
            cors_origins: cors_origins(get("CORS_ORIGINS"))?,
            body_limit: usize::try_from(parsed("BODY_LIMIT_BYTES", DEFAULT_BODY_LIMIT as u64)?)
                .unwrap_or(usize::MAX),
            sign_in_max_failures: u32::try_from(parsed("SIGN_IN_MAX_FAILURES", 10)?).map_err(
                |_| ConfigError {
                    variable: "SIGN_IN_MAX_FAILURES",
                    problem: "too large".into(),
                },
            )?,
            sign_in_window: Duration::from_secs(window),
            database_direct_url: get("DATABASE_DIRECT_URL"),
            client_limit_requests: u32::try_from(parsed("CLIENT_LIMIT_REQUESTS", 60)?).map_err(
                |_| ConfigError {
                    variable: "CLIENT_LIMIT_REQUESTS",
                    problem: "too large".into(),
                },
            )?,
            client_limit_window: Duration::from_secs(parsed("CLIENT_LIMIT_WINDOW_SECS", 60)?),
            trusted_proxies,
            redis_url: get("REDIS_URL"),
            oauth: crate::oauth::from_lookup(&get, &public_url)?,
            passkeys: crate::passkeys::from_lookup(&get, &public_url)?,
            api_keys,
            mail: crate::mail::MailConfig::from_lookup(&get, &parsed)?,
            two_factor: crate::two_factor::from_lookup(&get, &database_url)?,
            session_cache_ttl: Duration::from_secs(parsed(
                "SESSION_CACHE_SECS",
                if database_url.starts_with("postgres") {
                    0
                } else {
                    5
                },
            )?),
            database_url,
            header_read_timeout,
            max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
            write_timeout: Duration::from_secs(write_timeout),
        })
    }
}

/// What `MAX_CONNECTIONS` defaults to: below the soft limit on open files,
/// so that accepting never fails for lack of descriptors (which would lock
/// every client out, `/healthz` included, for as long as idle clients stay).
fn default_max_connections() -> u64 {
    const CEILING: u64 = 10_000;
    // Descriptors kept for everything but client connections.
    const RESERVED: u64 = 64;
    #[cfg(unix)]
    if let Some(soft) = rustix::process::getrlimit(rustix::process::Resource::Nofile).current {
        return soft
            .saturating_sub(RESERVED)
            .max(soft / 2)
            .clamp(1, CEILING);
    }
    CEILING
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind_address", &self.bind_address)
            .field("database_url", &redact_password(&self.database_url))
            .field(
                "database_direct_url",
                &self.database_direct_url.as_deref().map(redact_password),
            )
            .field("tokens", &self.tokens)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("refresh_reuse_interval", &self.refresh_reuse_interval)
            .field("cors_origins", &self.cors_origins)
            .field("body_limit", &self.body_limit)
            .field("sign_in_max_failures", &self.sign_in_max_failures)
            .field("sign_in_window", &self.sign_in_window)
            .field("session_cache_ttl", &self.session_cache_ttl)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("write_timeout", &self.write_timeout)
            .field("client_limit_requests", &self.client_limit_requests)
            .field("client_limit_window", &self.client_limit_window)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("redis_url", &self.redis_url.as_deref().map(redact_password))
            .field("mail", &self.mail)
            .field("oauth", &self.oauth)
            .field("two_factor", &self.two_factor)
            .field("passkeys", &self.passkeys)
            .field("api_keys", &self.api_keys)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:<redacted>@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) if credentials.contains(':') => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:<redacted>@{host}")
        }
        _ => url.to_owned(),
    }
}

fn cors_origins(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let value = value.unwrap_or_else(|| "http://localhost:3000,http://127.0.0.1:3000".into());
    if value.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let origins: Vec<String> = value
        .split(',')
        .map(|origin| origin.trim().trim_end_matches('/').to_owned())
        .filter(|origin| !origin.is_empty())
        .collect();
    for origin in &origins {
        let (scheme, host) = origin.split_once("://").unwrap_or_default();
        // Origins are compared whole, so a pattern would match nothing;
        // refused rather than supported: `*.example.com` would trust every
        // subdomain, including any an attacker gets to host.
        if host.contains('*') {
            return Err(ConfigError {
                variable: "CORS_ORIGINS",
                problem: format!(
                    "{origin:?} has a wildcard, which is not supported: list each origin, such as https://app.example.com"
                ),
            });
        }
        // What a host and port are made of (`[` and `]` for IPv6).
        let host_like = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        if !matches!(scheme, "http" | "https") || host.is_empty() || !host_like {
            return Err(ConfigError {
                variable: "CORS_ORIGINS",
                problem: format!(
                    "{origin:?} is not an origin such as http://localhost:3000 (\"*\" is not accepted; \"none\" turns CORS off)"
                ),
            });
        }
    }
    Ok(origins)
}

/// The file of a SQLite URL (`sqlite://data/tasks.db?mode=rwc` →
/// `data/tasks.db`); `None` for an in-memory database or another backend.
pub fn sqlite_file(database_url: &str) -> Option<&str> {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty() && !path.contains(":memory:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_limits_are_positive() {
        let config = Config::from_lookup(|_| None).unwrap();
        assert_eq!(config.header_read_timeout, Duration::from_secs(10));
        assert!((1..=10_000).contains(&config.max_connections));
        let set = Config::from_lookup(|name| match name {
            "HEADER_READ_TIMEOUT_SECS" => Some("2".into()),
            "MAX_CONNECTIONS" => Some("50".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(set.header_read_timeout, Duration::from_secs(2));
        assert_eq!(set.max_connections, 50);
        for name in [
            "HEADER_READ_TIMEOUT_SECS",
            "MAX_CONNECTIONS",
            "WRITE_TIMEOUT_SECS",
        ] {
            let zero = Config::from_lookup(|asked| (asked == name).then(|| "0".into()));
            assert_eq!(zero.unwrap_err().variable, name);
        }
        assert_eq!(config.write_timeout, Duration::from_secs(30));
        let write = |value: &str| {
            Config::from_lookup(|name| (name == "WRITE_TIMEOUT_SECS").then(|| value.to_owned()))
        };
        assert_eq!(write("2").unwrap().write_timeout, Duration::from_secs(2));
        assert_eq!(write("3601").unwrap_err().variable, "WRITE_TIMEOUT_SECS");
    }

    #[test]
    fn the_refresh_reuse_interval_is_from_0_to_60_seconds() {
        let read = |value: &str| {
            Config::from_lookup(|name| {
                (name == "REFRESH_REUSE_INTERVAL_SECS").then(|| value.to_owned())
            })
        };
        let defaults = Config::from_lookup(|_| None).unwrap();
        assert_eq!(defaults.refresh_reuse_interval, Duration::from_secs(10));
        for (value, secs) in [("0", 0), ("1", 1), (" 60 ", 60)] {
            assert_eq!(
                read(value).unwrap().refresh_reuse_interval,
                Duration::from_secs(secs)
            );
        }
        for bad in ["-1", "61", "abc", "1.5", "99999999999999999999"] {
            let error = read(bad).unwrap_err();
            assert_eq!(error.variable, "REFRESH_REUSE_INTERVAL_SECS", "{bad}");
            assert!(error.problem.contains("from 0"), "{bad}: {error}");
        }
    }

    #[test]
    fn secrets_and_keys_sit_next_to_the_database() {
        use crate::signing::{KeySource, TokenConfig};
        let read = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Config::from_lookup(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        let sqlite = ("DATABASE_URL", "sqlite://data/tasks.db?mode=rwc");
        match read(&[sqlite]).unwrap().tokens {
            TokenConfig::Hs256(SecretSource::File(path)) => {
                assert_eq!(path, PathBuf::from("data/tasks.db.jwt-secret"));
            }
            other => panic!("{other:?}"),
        }
        match read(&[sqlite, ("JWT_ALGORITHM", "ES256")]).unwrap().tokens {
            TokenConfig::Keys {
                source: KeySource::Generated(path),
                ..
            } => assert_eq!(path, PathBuf::from("data/tasks.db.jwt-es256.pem")),
            other => panic!("{other:?}"),
        }
        let postgres = ("DATABASE_URL", "postgres://localhost/app");
        assert_eq!(read(&[postgres]).unwrap_err().variable, "JWT_SECRET");
        let no_dir = read(&[postgres, ("JWT_ALGORITHM", "RS256")]).unwrap_err();
        assert_eq!(no_dir.variable, "JWT_SIGNING_KEYS_DIR");
        assert!(read(&[("DATABASE_URL", "sqlite::memory:")]).is_err());
        for refused in ["ES512", "PS256", "none", "hs256"] {
            let error = read(&[sqlite, ("JWT_ALGORITHM", refused)]).unwrap_err();
            assert_eq!(error.variable, "JWT_ALGORITHM", "{refused}");
        }
        let url = ("TRUSTED_JWKS_URL", "https://front.example/api/auth/jwks");
        assert_eq!(read(&[postgres, url]).unwrap_err().variable, "JWT_ISSUER");
        let trusted = read(&[
            postgres,
            url,
            ("JWT_ISSUER", "https://front.example"),
            ("JWT_AUDIENCE", "https://front.example"),
        ])
        .unwrap();
        assert!(matches!(trusted.tokens, TokenConfig::Trusted { .. }));
    }

    #[test]
    fn origins_are_split_and_trimmed() {
        let config = Config::from_lookup(|name| {
            (name == "CORS_ORIGINS").then(|| " http://a.example/ , ,http://b.example".to_owned())
        })
        .unwrap();
        assert_eq!(
            config.cors_origins,
            ["http://a.example", "http://b.example"]
        );
        let none = Config::from_lookup(|name| (name == "CORS_ORIGINS").then(|| "none".to_owned()));
        assert!(none.unwrap().cors_origins.is_empty());
        for bad in [
            "*",
            "localhost:3000",
            "http://a.example/path",
            "ftp://x",
            "http://user@a.example",
            "http://a.example?x",
        ] {
            let config =
                Config::from_lookup(|name| (name == "CORS_ORIGINS").then(|| bad.to_owned()));
            assert!(config.is_err(), "{bad}");
        }
        let ipv6 = Config::from_lookup(|name| {
            (name == "CORS_ORIGINS").then(|| "http://[::1]:3000".to_owned())
        });
        assert_eq!(ipv6.unwrap().cors_origins, ["http://[::1]:3000"]);
    }

    #[test]
    fn wildcard_origins_are_refused_by_name() {
        for wildcard in ["http://*.example.com", "https://app.example.com,https://*"] {
            let error =
                Config::from_lookup(|name| (name == "CORS_ORIGINS").then(|| wildcard.to_owned()))
                    .unwrap_err();
            assert_eq!(error.variable, "CORS_ORIGINS");
            assert!(
                error.problem.contains("wildcard") && error.problem.contains("://*"),
                "{error}"
            );
        }
    }

    #[test]
    fn limits_and_proxies_are_read_and_checked() {
        let config = Config::from_lookup(|name| match name {
            "TRUSTED_PROXIES" => Some("10.0.0.0/8, ::1".to_owned()),
            "TRUSTED_PROXY_HEADER" => Some("Forwarded".to_owned()),
            "CLIENT_LIMIT_REQUESTS" => Some("5".to_owned()),
            "REDIS_URL" => Some("redis://:hunter2@cache:6379".to_owned()),
            _ => None,
        })
        .unwrap();
        assert!(config.trusted_proxies.trusts("10.1.1.1".parse().unwrap()));
        assert_eq!(
            config.trusted_proxies.forwarded_header(),
            Some(ForwardedHeader::Forwarded)
        );
        assert_eq!(config.client_limit_requests, 5);
        assert_eq!(config.client_limit_window, Duration::from_secs(60));
        assert!(!format!("{config:?}").contains("hunter2"));
        let defaults = Config::from_lookup(|_| None).unwrap();
        assert_eq!(defaults.client_limit_requests, 60);
        assert!(defaults.trusted_proxies.forwarded_header().is_none());
        assert!(defaults.redis_url.is_none());
        for (name, bad) in [
            ("TRUSTED_PROXIES", "proxy.internal"),
            ("TRUSTED_PROXY_HEADER", "x-real-ip"),
            ("CLIENT_LIMIT_REQUESTS", "many"),
        ] {
            let error = Config::from_lookup(|n| (n == name).then(|| bad.to_owned())).unwrap_err();
            assert_eq!(error.variable, name);
        }
    }

    #[test]
    fn debug_hides_the_secret_and_the_database_password() {
        let config = Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some("postgres://app:hunter2@db:5432/tasks".to_owned()),
            "JWT_SECRET" => Some("a-very-secret-value-of-32-bytes!!".to_owned()),
            _ => None,
        })
        .unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("a-very-secret"),
            "{debug}"
        );
        assert!(
            debug.contains("postgres://app:<redacted>@db:5432/tasks"),
            "{debug}"
        );
        assert_eq!(config.session_cache_ttl, Duration::ZERO);
        assert_eq!(config.database_direct_url, None);
    }

    #[test]
    fn the_direct_url_is_read_and_hidden_in_debug() {
        let config = Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some("postgres://app:hunter2@db-pooler:5432/tasks".to_owned()),
            "DATABASE_DIRECT_URL" => Some("postgres://app:hunter3@db:5432/tasks".to_owned()),
            "JWT_SECRET" => Some("a-very-secret-value-of-32-bytes!!".to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            config.database_direct_url.as_deref(),
            Some("postgres://app:hunter3@db:5432/tasks")
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter3"), "{debug}");
    }
}
