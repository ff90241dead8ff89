//! Start-up: database, migrations, the auth service and the task store.

use std::{sync::Arc, time::Duration};

use auth_core::{
    AccountFlows, AuthError, AuthService, EmailSignIn, JwtCodec, RemoteJwks, Verifier,
    limits::{ClientRateLimit, SignInThrottle},
    service::ApiKeys,
    store::{MailQueue, OneTimeTokenStore},
};
use auth_sqlx::{
    PostgresStore, SqliteStore,
    sqlx::postgres::{PgConnectOptions, PgSslMode},
};

use crate::{
    account_hooks::DeleteTasksOfDeletedUsers,
    config::{Config, SecretSource},
    secret,
    signing::{self, TokenConfig},
    tasks::TaskStore,
};

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A malformed environment variable.
    #[error("configuration")]
    Config(#[from] crate::config::ConfigError),
    /// The JWT secret file (or the database's folder) could not be read or
    /// written.
    #[error("{path}")]
    File {
        /// The file or folder.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The database could not be connected to or migrated: `target` names
    /// it (host, port and database, never the password), the text the cause.
    #[error("{variable}{}: {}", in_parentheses(.target), database_problem(.error))]
    Database {
        /// `DATABASE_URL` or `DATABASE_DIRECT_URL`.
        variable: &'static str,
        /// `host:port/database`, or the SQLite file; empty for a URL that
        /// cannot be read.
        target: String,
        /// What the store said.
        error: AuthError,
    },
    /// The auth configuration failed (the cause is in the error's source
    /// chain).
    #[error("auth configuration")]
    Auth(#[from] AuthError),
    /// `REDIS_URL` is malformed or Redis does not answer.
    #[error("REDIS_URL: Redis cannot be used")]
    Redis(#[source] AuthError),
    /// The signing keys could not be loaded or generated.
    #[error("signing keys")]
    Keys(#[from] signing::KeyError),
    /// The task migrations failed.
    #[error("task migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// What every request handler needs: the token check and the task store.
#[derive(Debug, Clone)]
pub struct App {
    /// Checks each request's access token: ours, or a trusted issuer's.
    pub verifier: Verifier,
    /// The users' tasks.
    pub tasks: TaskStore,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl App {
    /// Connects to `DATABASE_URL` (creating a SQLite file and its folder if
    /// needed), runs the auth and task migrations, and builds the services.
    ///
    /// # Errors
    /// A [`StartError`] saying what failed.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let (builder, tasks, one_time, mail_queue) = if config.database_url.starts_with("postgres")
        {
            warn_if_plain_text("DATABASE_URL", &config.database_url);
            let target = postgres_target(&config.database_url);
            let database = |error| StartError::Database {
                variable: "DATABASE_URL",
                target: target.clone(),
                error,
            };
            let store = PostgresStore::connect(&config.database_url)
                .await
                .map_err(database)?;
            match &config.database_direct_url {
                Some(direct_url) => migrate_postgres_directly(direct_url).await?,
                None => {
                    store.migrate().await.map_err(database)?;
                    POSTGRES_MIGRATIONS.run(store.pool()).await?;
                }
            }
            let tasks = TaskStore::Postgres(store.pool().clone());
            let one_time: Arc<dyn OneTimeTokenStore> = Arc::new(store.clone());
            let mail_queue: Arc<dyn MailQueue> = Arc::new(store.clone());
            (
                AuthService::builder(store.clone(), store.clone()).credentials(store),
                tasks,
                one_time,
                mail_queue,
            )
        } else {
            create_sqlite_dir(&config.database_url)?;
            let target = crate::config::sqlite_file(&config.database_url)
                .unwrap_or(&config.database_url)
                .to_owned();
            let database = |error| StartError::Database {
                variable: "DATABASE_URL",
                target: target.clone(),
                error,
            };
            let store = SqliteStore::connect(&config.database_url)
                .await
                .map_err(database)?;
            store.migrate().await.map_err(database)?;
            SQLITE_MIGRATIONS.run(store.pool()).await?;
            let tasks = TaskStore::sqlite(store.pool().clone());
            let one_time: Arc<dyn OneTimeTokenStore> = Arc::new(store.clone());
            let mail_queue: Arc<dyn MailQueue> = Arc::new(store.clone());
            (
                AuthService::builder(store.clone(), store.clone()).credentials(store),
                tasks,
                one_time,
                mail_queue,
            )
        };
        let throttle = (config.sign_in_max_failures > 0)
            .then(|| SignInThrottle::new(config.sign_in_max_failures, config.sign_in_window));
        let client_limit = (config.client_limit_requests > 0).then(|| {
            ClientRateLimit::new(config.client_limit_requests, config.client_limit_window)
        });
        let mut builder = builder
            .client_rate_limit(client_limit)
            .trusted_proxies(config.trusted_proxies.clone());
        if let Some(url) = &config.redis_url {
            let limiter = auth_redis::RedisRateLimiter::new(url).map_err(StartError::Redis)?;
            // Refuse to start on a wrong URL rather than answer 503 later.
            limiter.ping().await.map_err(StartError::Redis)?;
            builder = builder.rate_limiter(limiter);
        }
        let mail = &config.mail;
        let mail_limit = (mail.limit_requests > 0)
            .then(|| ClientRateLimit::new(mail.limit_requests, mail.limit_window));
        let mail_client_limit = (mail.client_limit_requests > 0)
            .then(|| ClientRateLimit::new(mail.client_limit_requests, mail.limit_window));
        // Messages wait in the database until sent: one asked for just
        // before a crash or a restart goes out when the server is back
        // (the service's worker starts with it).
        let flows = AccountFlows::from_arcs(one_time, mail.mailer()?, mail.public_url.clone())
            .mail_queue_arc(mail_queue)
            .password_reset_ttl(mail.password_reset_ttl)
            .email_verification_ttl(mail.email_verification_ttl)
            .require_email_verification(mail.require_email_verification)
            .mail_rate_limit(mail_limit)
            .mail_client_limit(mail_client_limit)
            .email_sign_in(EmailSignIn::new().sign_up(mail.email_sign_up));
        let builder = match &config.tokens {
            TokenConfig::Hs256(source) => {
                let secret = secret::load_or_create(source).map_err(|error| {
                    let path = match source {
                        SecretSource::File(path) => path.display().to_string(),
                        SecretSource::Given(_) => "JWT_SECRET".to_owned(),
                    };
                    StartError::File {
                        path,
                        source: error,
                    }
                })?;
                let codec = JwtCodec::hs256(secret.as_bytes(), &config.issuer, &config.audience)?;
                builder.token_codec(codec)
            }
            TokenConfig::Keys { algorithm, source } => builder.token_codec(
                signing::codec_for_keys(*algorithm, source, &config.issuer, &config.audience)?,
            ),
            TokenConfig::Trusted { jwks_url } => {
                // Loopback over plain HTTP is allowed for development (a
                // Better Auth front end on localhost); anything else must
                // be HTTPS.
                let issuer = RemoteJwks::builder(jwks_url.clone())
                    .issuer(&config.issuer)
                    .audience(&config.audience)
                    .allow_http_loopback(true)
                    .build()?;
                // No service of our own: nothing to sign in to, and no
                // auth routes.
                return Ok(Self {
                    verifier: Verifier::trusted(issuer)
                        .with_trusted_proxies(config.trusted_proxies.clone()),
                    tasks,
                });
            }
        };
        let builder = match config.oauth.clone() {
            Some(oauth) => builder.oauth(oauth),
            None => builder,
        };
        let builder = match &config.two_factor {
            Some(two_factor) => {
                let settings = two_factor
                    .load()
                    .map_err(|(path, source)| StartError::File { path, source })?;
                builder.two_factor(settings)
            }
            None => {
                tracing::warn!("two-factor is off: set TWO_FACTOR_KEY to turn it on");
                builder
            }
        };
        let builder = match config.passkeys.clone() {
            Some(passkeys) => {
                tracing::info!(rp_id = passkeys.rp_id(), "passkeys are on");
                builder.passkeys(passkeys)
            }
            None => {
                tracing::warn!(
                    "passkeys are off: PUBLIC_URL names an IP address; set WEBAUTHN_RP_ID \
                     and WEBAUTHN_ORIGINS"
                );
                builder
            }
        };
        let builder = if config.api_keys {
            builder.api_keys(ApiKeys::new())
        } else {
            tracing::info!("API keys are off (API_KEYS=false)");
            builder
        };
        let auth = builder
            .account_flows(flows)
            .account_hooks(DeleteTasksOfDeletedUsers(tasks.clone()))
            .access_token_ttl(config.access_token_ttl)
            .session_ttl(config.session_ttl)
            .refresh_reuse_interval(config.refresh_reuse_interval)
            .session_cache_ttl(config.session_cache_ttl)
            .sign_in_throttle(throttle)
            .build()?;
        Ok(Self {
            verifier: auth.verifier(),
            tasks,
        })
    }

    /// The service that issues our tokens (sign-up, sign-in, the account
    /// flows); `None` in trusted-issuer mode.
    pub fn auth(&self) -> Option<&AuthService> {
        self.verifier.service()
    }

    /// Deletes sessions that ended over a week ago, every hour, for as long
    /// as the server runs (in trusted-issuer mode there are none).
    pub fn spawn_session_cleanup(&self) {
        let Some(auth) = self.auth().cloned() else {
            return;
        };
        tokio::spawn(async move {
            let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
            loop {
                every_hour.tick().await;
                match auth
                    .delete_ended_sessions(Duration::from_secs(7 * 24 * 3600))
                    .await
                {
                    Ok(deleted) => tracing::debug!(deleted, "ended sessions deleted"),
                    Err(error) => tracing::warn!(%error, "could not delete ended sessions"),
                }
                match auth
                    .delete_expired_one_time_tokens(Duration::from_secs(24 * 3600))
                    .await
                {
                    Ok(deleted) => tracing::debug!(deleted, "expired one-time tokens deleted"),
                    Err(error) => tracing::warn!(%error, "could not delete expired tokens"),
                }
                match auth
                    .delete_expired_credentials(Duration::from_secs(24 * 3600))
                    .await
                {
                    Ok(deleted) => tracing::debug!(deleted, "expired credentials deleted"),
                    Err(error) => tracing::warn!(%error, "could not delete expired credentials"),
                }
            }
        });
    }
}

/// The auth and task migrations over a pool of their own on
/// `DATABASE_DIRECT_URL`, closed afterwards.
async fn migrate_postgres_directly(direct_url: &str) -> Result<(), StartError> {
    warn_if_plain_text("DATABASE_DIRECT_URL", direct_url);
    let database = |error| StartError::Database {
        variable: "DATABASE_DIRECT_URL",
        target: postgres_target(direct_url),
        error,
    };
    let direct = PostgresStore::connect(direct_url).await.map_err(database)?;
    direct.migrate().await.map_err(database)?;
    POSTGRES_MIGRATIONS.run(direct.pool()).await?;
    direct.pool().close().await;
    Ok(())
}

/// A store's start-up error, cause first: the generic "internal error" or
/// "temporarily unavailable" of a client's answer says nothing to an
/// operator.
fn database_problem(error: &AuthError) -> String {
    match error {
        AuthError::InvalidConfig(text) => text.clone(),
        AuthError::Unavailable(source) => format!(
            "not reachable (is it running, and are host and port right?): {}",
            crate::runtime::describe(source.as_ref())
        ),
        AuthError::Internal(source) => crate::runtime::describe(source.as_ref()),
        other => other.to_string(),
    }
}

/// `host:port/database` of a PostgreSQL URL, for messages.
fn postgres_target(url: &str) -> String {
    match url.parse::<PgConnectOptions>() {
        Ok(options) => format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        ),
        Err(_) => String::new(),
    }
}

fn in_parentheses(target: &str) -> String {
    if target.is_empty() {
        String::new()
    } else {
        format!(" ({target})")
    }
}

/// Logs a warning when the database is on another machine and the
/// connection may be plain text: `prefer` (sqlx's default when the URL
/// has no `sslmode`) and `allow` fall back to it silently, and `disable`
/// never encrypts. Passwords and data would then cross the network in
/// the clear. `variable` names the setting the URL came from.
pub fn warn_if_plain_text(variable: &str, database_url: &str) {
    let Ok(options) = database_url.parse::<PgConnectOptions>() else {
        return; // PostgresStore::connect reports it.
    };
    let mode = match options.get_ssl_mode() {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull => return,
    };
    let host = options.get_host();
    let loopback = options.get_socket().is_some()
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        tracing::warn!(
            "{variable}: the database at {host} is not on this machine, and with sslmode={mode} \
             the connection may be plain text (sqlx's default, prefer, falls back to it silently); \
             add sslmode=verify-full (or at least require) to the URL"
        );
    }
}

/// SQLite creates the file but not its folder.
fn create_sqlite_dir(url: &str) -> Result<(), StartError> {
    let Some(file) = crate::config::sqlite_file(url) else {
        return Ok(());
    };
    secret::create_private_dir_for(std::path::Path::new(file)).map_err(|source| StartError::File {
        path: file.to_owned(),
        source,
    })
}

/// A server ready to serve: what [`prepare`] made.
#[derive(Debug)]
pub struct Ready {
    /// The configuration read from the environment.
    pub config: Config,
    /// The auth service and the task store, migrated.
    pub app: App,
    /// Listening on `config.bind_address`, non-blocking.
    pub listener: std::net::TcpListener,
    /// The OpenAPI document as JSON, for `/api/openapi.json`.
    pub openapi: Vec<u8>,
}

/// What both servers do before serving: read the configuration, start the
/// app (database, migrations, the hourly session cleanup), listen, render
/// the OpenAPI document, and log `listening on http://ADDRESS` (the line
/// scripts and the contract suite wait for; connections made from then on
/// wait in the listen queue until the server accepts them).
///
/// # Errors
/// A [`StartError`], or an I/O error naming the address that could not be
/// listened on.
pub async fn prepare() -> Result<Ready, Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let app = App::start(&config).await?;
    app.spawn_session_cleanup();
    let listener = std::net::TcpListener::bind(config.bind_address).map_err(|error| {
        format!(
            "cannot listen on {}: {error} (BIND_ADDRESS sets another host:port; \
                 set PUBLIC_URL to match)",
            config.bind_address
        )
    })?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    // The default PUBLIC_URL names port 8080: on another port, the mailed
    // links and the passkey origin would point at no server.
    if std::env::var_os("PUBLIC_URL").is_none() && address.port() != 8080 {
        tracing::warn!(
            "PUBLIC_URL is not set: mailed links and passkeys name http://127.0.0.1:8080, \
             not this server (http://{address}); set PUBLIC_URL to the address people open"
        );
    }
    let mut document = crate::openapi::document();
    if app.auth().is_none() {
        // Trusted-issuer mode: the auth routes answer 404, so they are not
        // described.
        document
            .paths
            .paths
            .retain(|path, _| !path.starts_with("/api/auth/"));
    }
    let openapi = serde_json::to_vec(&document)?;
    tracing::info!("listening on http://{address}");
    Ok(Ready {
        config,
        app,
        listener,
        openapi,
    })
}
