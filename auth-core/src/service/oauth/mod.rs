//! Sign-in with an OAuth 2.0 / OpenID Connect provider: its settings
//! ([`OAuth`], [`OAuthProvider`]), its flow on the [`AuthService`], what it
//! keeps in the [`CredentialStore`], and its routes in the
//! [endpoint list](crate::endpoint).
//!
//! The flow is the authorization code flow with PKCE (`S256`), `state` and,
//! for OpenID Connect, `nonce`:
//!
//! 1. `authorize` keeps a pending sign-in for 10 minutes, found through an
//!    `HttpOnly` cookie (never through `state` alone), and sends the
//!    browser to the provider. The cookie's secret derives the `state`,
//!    the PKCE verifier and the nonce, so the store holds none of them.
//! 2. `callback` uses the pending sign-in up, exchanges the code, checks
//!    the ID token (or reads GitHub's user) and applies the account rules.
//!    It ends at the pending `redirect_to` with `#code=` (an exchange code,
//!    single use, 60 s) or `#error=`: tokens never travel in a URL.
//! 3. `exchange` turns the code into a session, or a second-factor
//!    challenge.
//!
//! Built on `reqwest` (rustls) and this crate's own JWKS verifier rather
//! than the `openidconnect` crate, which would bring a second generation
//! of the RustCrypto crates (RSA among them) and about 40 crates more.

use std::{fmt, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AuthService, Principal, second_factor::FirstFactor};
use crate::{
    AuthError, Credential, CredentialId, CredentialKind, CredentialStore, Email, NewCredential,
    NewUser, PasswordHash, UserId,
    id::{constant_time_eq, random_token},
    sign_in::SignIn,
};

mod provider;
mod routes;
mod sealed;

use crate::EncryptionKey;
pub(crate) use routes::ENDPOINTS;
pub use routes::{ExchangeRequest, LinkedAccount, ProviderInfo};
pub use sealed::ProviderTokens;

use provider::{Identity, Live};

/// How long a pending sign-in (and its cookie) lives: 10 minutes.
pub const STATE_TTL: Duration = Duration::from_secs(600);

/// How long an exchange code lives: 60 s.
pub const EXCHANGE_CODE_TTL: Duration = Duration::from_secs(60);

/// The default limit on a callback's work with the provider.
pub const DEFAULT_PROVIDER_TIMEOUT: Duration = Duration::from_secs(4);

/// The state cookie's name: `__Secure-` so that only a secure origin sets it.
pub const STATE_COOKIE: &str = "__Secure-auth_oauth_state";

const PENDING: CredentialKind = super::sign_in_methods::OAUTH_STATE;
const EXCHANGE: CredentialKind = CredentialKind::new("oauth_exchange");
const IDENTITY: CredentialKind = super::sign_in_methods::OAUTH_IDENTITY;

/// The most a `redirect_to` may be, in bytes.
const MAX_REDIRECT_BYTES: usize = 2048;

/// A client secret: redacted in `Debug`.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

#[derive(Debug, Clone)]
enum ProviderKind {
    OpenId {
        issuer: String,
    },
    GitHub {
        authorize: String,
        token: String,
        api: String,
    },
}

/// One provider: an OpenID Connect issuer (found by discovery) or the
/// GitHub preset.
///
/// ```
/// use auth_core::service::{ClientSecret, OAuthProvider};
///
/// let google = OAuthProvider::openid("google", "https://accounts.google.com", "id", ClientSecret::new("secret"))
///     .name("Google");
/// let github = OAuthProvider::github("id", ClientSecret::new("secret"));
/// # let _ = (google, github);
/// ```
#[derive(Debug, Clone)]
pub struct OAuthProvider {
    id: String,
    name: String,
    client_id: String,
    client_secret: ClientSecret,
    scopes: Vec<String>,
    kind: ProviderKind,
}

impl OAuthProvider {
    /// An OpenID Connect provider by its issuer URL (`https://`, or
    /// `http://` to a loopback host), with the scopes `openid email
    /// profile`. `id` names it in paths: 1 to 32 of `a-z`, `0-9`, `-`, `_`.
    pub fn openid(
        id: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> Self {
        let id = id.into();
        Self {
            name: id.clone(),
            id,
            client_id: client_id.into(),
            client_secret,
            scopes: ["openid", "email", "profile"].map(String::from).into(),
            kind: ProviderKind::OpenId {
                issuer: issuer.into(),
            },
        }
    }

    /// GitHub (plain OAuth 2.0), as `github`: the user's verified primary
    /// address is read from its user and emails endpoints.
    pub fn github(client_id: impl Into<String>, client_secret: ClientSecret) -> Self {
        Self {
            id: "github".into(),
            name: "GitHub".into(),
            client_id: client_id.into(),
            client_secret,
            scopes: ["read:user", "user:email"].map(String::from).into(),
            kind: ProviderKind::GitHub {
                authorize: "https://github.com/login/oauth/authorize".into(),
                token: "https://github.com/login/oauth/access_token".into(),
                api: "https://api.github.com".into(),
            },
        }
    }

    /// GitHub's endpoints elsewhere (GitHub Enterprise, or a stand-in in
    /// tests); ignored for an OpenID Connect provider.
    #[must_use]
    pub fn github_endpoints(
        mut self,
        authorize: impl Into<String>,
        token: impl Into<String>,
        api: impl Into<String>,
    ) -> Self {
        if let ProviderKind::GitHub { .. } = self.kind {
            self.kind = ProviderKind::GitHub {
                authorize: authorize.into(),
                token: token.into(),
                api: api.into(),
            };
        }
        self
    }

    /// The name shown on buttons (default: the id, or `GitHub`).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The scopes asked for, instead of the default ones.
    #[must_use]
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The id, as in paths.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// OAuth sign-in's settings, given to
/// [`AuthServiceBuilder::oauth`](crate::service::AuthServiceBuilder::oauth).
/// Its state lives in the service's
/// [`credentials`](crate::service::AuthServiceBuilder::credentials) store.
///
/// ```
/// use auth_core::service::{ClientSecret, OAuth, OAuthProvider};
///
/// let oauth = OAuth::new("https://tasks.example.com")
///     .provider(OAuthProvider::github("id", ClientSecret::new("secret")))
///     .redirect_origins(["https://tasks.example.com", "https://app.example.com"]);
/// # let _ = oauth;
/// ```
#[derive(Debug, Clone)]
pub struct OAuth {
    public_url: String,
    prefix: String,
    providers: Vec<OAuthProvider>,
    redirect_origins: Vec<String>,
    timeout: Duration,
    keep_tokens: Option<EncryptionKey>,
}

impl OAuth {
    /// The site's public URL (its origin, maybe with a path), where the
    /// auth routes are mounted under `/api/auth`: callbacks are
    /// `{public_url}/api/auth/oauth/{id}/callback`.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            prefix: "/api/auth".into(),
            providers: Vec::new(),
            redirect_origins: Vec::new(),
            timeout: DEFAULT_PROVIDER_TIMEOUT,
            keep_tokens: None,
        }
    }

    /// Keep each user's provider tokens from their last sign-in through
    /// it, encrypted with `key` (XChaCha20-Poly1305), for
    /// [`AuthService::provider_tokens`]. Off by default: nothing of the
    /// provider's is kept but the identity.
    #[must_use]
    pub fn keep_provider_tokens(mut self, key: EncryptionKey) -> Self {
        self.keep_tokens = Some(key);
        self
    }

    /// Adds a provider.
    #[must_use]
    pub fn provider(mut self, provider: OAuthProvider) -> Self {
        self.providers.push(provider);
        self
    }

    /// Where the auth routes are mounted, if not `/api/auth`.
    #[must_use]
    pub fn route_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = format!("/{}", prefix.into().trim_matches('/'));
        self
    }

    /// The origins a `redirect_to` may name (default: the public URL's).
    #[must_use]
    pub fn redirect_origins(
        mut self,
        origins: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.redirect_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// The limit on a callback's work with the provider (0.5 to 30 s,
    /// default 4 s); past it the sign-in ends with `provider_unavailable`.
    #[must_use]
    pub fn provider_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(super) fn build(self) -> Result<Runtime, AuthError> {
        let invalid = |why: String| Err(AuthError::InvalidConfig(why));
        super::builder::bounded(
            "the OAuth provider timeout",
            self.timeout,
            Duration::from_millis(500),
            Duration::from_secs(30),
        )?;
        let public = url::Url::parse(&self.public_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
        let Some(public) = public else {
            return invalid(format!(
                "the public URL {:?} is not an http(s) URL",
                self.public_url
            ));
        };
        // The state cookie is `Secure`: over plain HTTP, browsers keep it
        // for loopback hosts only, and every sign-in would fail.
        if public.scheme() == "http" && !crate::token::remote::is_loopback(&public) {
            return invalid(format!(
                "the public URL {:?} must be https:// for OAuth (http:// only for loopback)",
                self.public_url
            ));
        }
        let public_path = public.path().trim_end_matches('/').to_owned();
        let mut origins = Vec::new();
        let given = if self.redirect_origins.is_empty() {
            vec![public.origin().ascii_serialization()]
        } else {
            self.redirect_origins
        };
        for origin in given {
            match url::Url::parse(&origin) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                    origins.push(url.origin().ascii_serialization());
                }
                _ => return invalid(format!("the redirect origin {origin:?} is not an origin")),
            }
        }
        let mut providers: Vec<Arc<Live>> = Vec::new();
        for provider in self.providers {
            let id = &provider.id;
            let valid = (1..=32).contains(&id.len())
                && id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                return invalid(format!(
                    "the provider id {id:?} must be 1 to 32 of a-z, 0-9, - and _"
                ));
            }
            if providers.iter().any(|known| known.settings.id == *id) {
                return invalid(format!("two providers are named {id:?}"));
            }
            if provider.client_id.is_empty() || provider.client_secret.expose().is_empty() {
                return invalid(format!("the provider {id:?} needs a client id and secret"));
            }
            providers.push(Arc::new(Live::new(provider, self.timeout)?));
        }
        Ok(Runtime {
            public_url: self.public_url,
            public_path,
            prefix: self.prefix,
            providers,
            origins,
            timeout: self.timeout,
            keep_tokens: self.keep_tokens,
        })
    }
}

/// OAuth at run time, in the service.
pub(crate) struct Runtime {
    public_url: String,
    /// The public URL's path, without a trailing `/` (often empty).
    public_path: String,
    prefix: String,
    providers: Vec<Arc<Live>>,
    origins: Vec<String>,
    timeout: Duration,
    keep_tokens: Option<EncryptionKey>,
}

impl Runtime {
    fn provider(&self, id: &str) -> Result<&Arc<Live>, AuthError> {
        self.providers
            .iter()
            .find(|live| live.settings.id == id)
            .ok_or(AuthError::NotFound)
    }

    /// The callback's path as the browser sees it: under the public URL's
    /// own path, if it has one (the state cookie's `Path`).
    fn callback_path(&self, id: &str) -> String {
        format!("{}{}/oauth/{id}/callback", self.public_path, self.prefix)
    }

    fn callback_url(&self, id: &str) -> String {
        format!("{}{}/oauth/{id}/callback", self.public_url, self.prefix)
    }

    /// Where a sign-in ends when no `redirect_to` can be trusted.
    fn landing(&self) -> String {
        format!("{}/", self.public_url)
    }

    /// `redirect_to` if it is an absolute http(s) URL of an allowed origin,
    /// without userinfo or fragment; the default landing when absent.
    fn redirect_to(&self, redirect_to: Option<&str>) -> Result<String, AuthError> {
        let Some(raw) = redirect_to else {
            return Ok(self.landing());
        };
        if raw.len() > MAX_REDIRECT_BYTES {
            return Err(AuthError::InvalidRedirect);
        }
        let url = url::Url::parse(raw).map_err(|_| AuthError::InvalidRedirect)?;
        let allowed = matches!(url.scheme(), "http" | "https")
            && url.username().is_empty()
            && url.password().is_none()
            && url.fragment().is_none()
            && self
                .origins
                .iter()
                .any(|origin| *origin == url.origin().ascii_serialization());
        if allowed {
            Ok(url.into())
        } else {
            Err(AuthError::InvalidRedirect)
        }
    }
}

/// Why a callback did not sign anyone in: the `#error=` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// `invalid_state`.
    State,
    /// `provider_error`.
    Provider,
    /// `provider_unavailable`.
    Unavailable,
    /// `invalid_id_token`.
    IdToken,
    /// `account_exists`.
    AccountExists,
}

impl Failure {
    fn code(self) -> &'static str {
        match self {
            Self::State => "invalid_state",
            Self::Provider => "provider_error",
            Self::Unavailable => "provider_unavailable",
            Self::IdToken => "invalid_id_token",
            Self::AccountExists => "account_exists",
        }
    }
}

/// A pending sign-in, found by the hash of its cookie's secret.
#[derive(Serialize, Deserialize)]
struct Pending {
    provider: String,
    redirect_to: String,
    /// The signed-in user who asked to link, if any.
    link: Option<UserId>,
    /// The front end's PKCE challenge for the exchange, if it sent one.
    #[serde(default)]
    code_challenge: Option<String>,
}

/// What an exchange code keeps.
#[derive(Serialize, Deserialize)]
struct Exchange {
    provider: String,
    code_challenge: Option<String>,
}

/// How a front end starts a sign-in: where it ends, and the S256
/// challenge of a verifier it keeps for the exchange (optional).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Start<'a> {
    pub(crate) redirect_to: Option<&'a str>,
    pub(crate) code_challenge: Option<&'a str>,
}

/// Whether `value` can be an S256 `code_challenge`: 43 base64url characters.
pub(crate) fn is_code_challenge(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a linked identity keeps.
#[derive(Serialize, Deserialize)]
struct Linked {
    provider: String,
    subject: String,
    email: Option<String>,
    /// The provider's tokens, sealed, when the application keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tokens: Option<String>,
}

impl Linked {
    /// The row's lookup ([`identity_lookup`] made it, so it is valid).
    fn lookup(&self) -> String {
        identity_lookup(&self.provider, &self.subject).unwrap_or_default()
    }
}

/// The values a pending sign-in's cookie secret derives.
struct Derived {
    lookup: String,
    state: String,
    verifier: String,
    nonce: String,
}

fn derive(secret: &str) -> Derived {
    let part = |label: &str| {
        let digest = Sha256::new()
            .chain_update(label)
            .chain_update(b":")
            .chain_update(secret)
            .finalize();
        base64url(&digest)
    };
    Derived {
        lookup: hash_hex(secret),
        state: part("state"),
        verifier: part("pkce"),
        nonce: part("nonce"),
    }
}

fn base64url(bytes: &[u8]) -> String {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The answer of `authorize` and `link`: where to send the browser, and
/// the cookie's secret (`None` when the provider cannot be reached: the
/// URL is then `redirect_to#error=provider_unavailable`).
pub(crate) struct Authorize {
    pub(crate) url: String,
    pub(crate) cookie: Option<String>,
}

/// The parameters of a callback.
#[derive(Debug, Default)]
pub(crate) struct CallbackParams {
    pub(crate) code: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) iss: Option<String>,
}

impl AuthService {
    fn oauth(&self) -> Result<(&Runtime, &dyn CredentialStore), AuthError> {
        match (&self.inner.oauth, &self.inner.credentials) {
            (Some(oauth), Some(store)) => Ok((oauth, store.as_ref())),
            _ => Err(AuthError::NotFound),
        }
    }

    /// The configured providers, for sign-in buttons.
    pub fn oauth_providers(&self) -> Vec<ProviderInfo> {
        self.inner
            .oauth
            .iter()
            .flat_map(|oauth| &oauth.providers)
            .map(|live| ProviderInfo {
                id: live.settings.id.clone(),
                name: live.settings.name.clone(),
            })
            .collect()
    }

    /// Starts a sign-in with `provider` (or a link to `link`'s account);
    /// `start.code_challenge`, when the front end sent one, binds the
    /// exchange code to it. A link needs a session signed in within
    /// [`REAUTHENTICATION_WINDOW`](super::REAUTHENTICATION_WINDOW): an
    /// identity linked is a lasting way in, which a stolen token must
    /// not be able to add.
    pub(crate) async fn oauth_authorize(
        &self,
        provider: &str,
        start: Start<'_>,
        link: Option<&Principal>,
    ) -> Result<Authorize, AuthError> {
        let Start {
            redirect_to,
            code_challenge,
        } = start;
        let (oauth, credentials) = self.oauth()?;
        let live = oauth.provider(provider)?;
        if let Some(principal) = link {
            self.require_recent_sign_in(principal).await?;
        }
        let link = link.map(|principal| principal.user_id().clone());
        let redirect_to = oauth.redirect_to(redirect_to)?;
        let secret = random_token::<32>()?;
        let derived = derive(&secret);
        let challenge = base64url(&Sha256::digest(derived.verifier.as_bytes()));
        let url = match live
            .authorize_url(
                &oauth.callback_url(provider),
                &derived.state,
                &challenge,
                &derived.nonce,
            )
            .await
        {
            Ok(url) => url,
            Err(failure) => {
                return Ok(Authorize {
                    url: fragment(&redirect_to, "error", failure.code()),
                    cookie: None,
                });
            }
        };
        let now = self.inner.now();
        let pending = Pending {
            provider: provider.to_owned(),
            redirect_to,
            link,
            code_challenge: code_challenge.map(str::to_owned),
        };
        credentials
            .insert(NewCredential {
                id: CredentialId::generate()?,
                kind: PENDING,
                lookup: derived.lookup,
                // A link's state goes with its user's sessions: signing
                // out everywhere voids it (`void_ceremonies`).
                user_id: pending.link.clone(),
                data: serde_json::to_vec(&pending).map_err(AuthError::internal)?,
                created_at: now,
                expires_at: Some(super::expiry(now, STATE_TTL)?),
            })
            .await?
            .ok_or_else(|| AuthError::internal("a random state was taken"))?;
        Ok(Authorize {
            url,
            cookie: Some(secret),
        })
    }

    /// Finishes a provider's callback: the URL to send the browser to.
    /// `cookies` are the state cookie's values the request carried.
    pub(crate) async fn oauth_callback(
        &self,
        provider: &str,
        cookies: &[String],
        params: CallbackParams,
    ) -> Result<String, AuthError> {
        let (oauth, _) = self.oauth()?;
        let live = oauth.provider(provider)?;
        let Some((derived, pending)) = self.take_pending(provider, cookies).await? else {
            return Ok(fragment(&oauth.landing(), "error", Failure::State.code()));
        };
        let landing = pending.redirect_to.clone();
        let outcome = self
            .finish_callback(oauth, live, &derived, pending, params)
            .await;
        Ok(match outcome {
            Ok(code) => fragment(&landing, "code", &code),
            Err(Ok(failure)) => fragment(&landing, "error", failure.code()),
            Err(Err(err)) => return Err(err),
        })
    }

    /// The pending sign-in one of `cookies` names, used up.
    async fn take_pending(
        &self,
        provider: &str,
        cookies: &[String],
    ) -> Result<Option<(Derived, Pending)>, AuthError> {
        let (_, credentials) = self.oauth()?;
        let now = self.inner.now();
        for secret in cookies.iter().take(4) {
            if secret.len() != 43 {
                continue;
            }
            let derived = derive(secret);
            let Some(row) = credentials.find(&PENDING, &derived.lookup).await? else {
                continue;
            };
            if row.is_expired_at(now) || !credentials.consume(&row.id, row.version).await? {
                continue;
            }
            let pending: Pending =
                serde_json::from_slice(&row.data).map_err(AuthError::internal)?;
            if pending.provider == provider {
                return Ok(Some((derived, pending)));
            }
        }
        Ok(None)
    }

    /// The callback after its pending sign-in was found: an exchange code,
    /// or why not (`Ok`), or a store's error (`Err`).
    async fn finish_callback(
        &self,
        oauth: &Runtime,
        live: &Live,
        derived: &Derived,
        pending: Pending,
        params: CallbackParams,
    ) -> Result<String, Result<Failure, AuthError>> {
        let state_ok = params
            .state
            .as_deref()
            .is_some_and(|state| constant_time_eq(state.as_bytes(), derived.state.as_bytes()));
        if !state_ok {
            return Err(Ok(Failure::State));
        }
        if params.error.is_some() {
            return Err(Ok(Failure::Provider));
        }
        let Some(code) = params
            .code
            .filter(|code| !code.is_empty() && code.len() <= 2048)
        else {
            return Err(Ok(Failure::Provider));
        };
        let callback_url = oauth.callback_url(&pending.provider);
        // The whole of the provider's part, discovery included, under one limit.
        let work = async {
            live.check_iss(params.iss.as_deref()).await?;
            live.identity(
                &code,
                &callback_url,
                &derived.verifier,
                &derived.nonce,
                self.inner.clock.now(),
            )
            .await
        };
        let identity = match tokio::time::timeout(oauth.timeout, work).await {
            Ok(found) => found.map_err(Ok)?,
            Err(_) => {
                tracing::warn!(provider = %pending.provider, "the provider took too long");
                return Err(Ok(Failure::Unavailable));
            }
        };
        let user = match &pending.link {
            Some(user_id) => {
                self.link_identity(&pending.provider, &identity, user_id)
                    .await
            }
            None => self.user_of(&pending.provider, &identity).await,
        }?;
        if let (Some(key), Some(tokens)) = (&oauth.keep_tokens, &identity.tokens)
            && let Err(error) = self
                .keep_tokens(key, &pending.provider, &identity.subject, tokens)
                .await
        {
            // The sign-in stands; the application finds the older tokens.
            tracing::warn!(%error, provider = %pending.provider, "could not keep the provider's tokens");
        }
        self.exchange_code(&pending, &user).await
    }

    /// The account rules of the contract: the linked account, else the
    /// account with the address when both sides verified it, else a new
    /// account; otherwise `account_exists`.
    async fn user_of(
        &self,
        provider: &str,
        identity: &Identity,
    ) -> Result<UserId, Result<Failure, AuthError>> {
        let (_, credentials) = self.oauth().map_err(Err)?;
        let lookup = identity_lookup(provider, &identity.subject).ok_or(Ok(Failure::Provider))?;
        if let Some(linked) = credentials.find(&IDENTITY, &lookup).await.map_err(Err)?
            && let Some(user_id) = linked.user_id
        {
            return Ok(user_id);
        }
        let email = identity
            .email
            .as_deref()
            .and_then(|email| Email::parse(email).ok())
            .ok_or(Ok(Failure::Provider))?;
        let users = &self.inner.users;
        // Twice at most: a sign-up may take the address in between.
        for _ in 0..2 {
            if let Some(record) = users.find_user_by_email(&email).await.map_err(Err)? {
                if !(identity.email_verified && record.user.email_verified) {
                    return Err(Ok(Failure::AccountExists));
                }
                return self
                    .link_identity(provider, identity, &record.user.id)
                    .await;
            }
            let name =
                super::name::normalise_name(identity.name.clone(), self.inner.max_name_chars)
                    .unwrap_or(None);
            let created = users
                .create_user(NewUser {
                    email: email.clone(),
                    email_verified: identity.email_verified,
                    name,
                    password_hash: PasswordHash::none(),
                    created_at: self.inner.now(),
                })
                .await;
            match created {
                Ok(user) => return self.link_identity(provider, identity, &user.id).await,
                Err(AuthError::EmailTaken) => continue,
                Err(err) => return Err(Err(err)),
            }
        }
        Err(Ok(Failure::AccountExists))
    }

    /// Links the identity to `user_id`: refused when it is another user's,
    /// or the user has another identity of this provider.
    async fn link_identity(
        &self,
        provider: &str,
        identity: &Identity,
        user_id: &UserId,
    ) -> Result<UserId, Result<Failure, AuthError>> {
        let (_, credentials) = self.oauth().map_err(Err)?;
        let lookup = identity_lookup(provider, &identity.subject).ok_or(Ok(Failure::Provider))?;
        let theirs = |row: &Credential| row.user_id.as_ref() == Some(user_id);
        if let Some(linked) = credentials.find(&IDENTITY, &lookup).await.map_err(Err)? {
            return if theirs(&linked) {
                Ok(user_id.clone())
            } else {
                Err(Ok(Failure::AccountExists))
            };
        }
        let held = self.linked(user_id).await.map_err(Err)?;
        if held.iter().any(|(_, linked)| linked.provider == provider) {
            return Err(Ok(Failure::AccountExists));
        }
        let linked = Linked {
            provider: provider.to_owned(),
            subject: identity.subject.clone(),
            email: identity.email.clone(),
            tokens: None,
        };
        let inserted = credentials
            .insert(NewCredential {
                id: CredentialId::generate().map_err(Err)?,
                kind: IDENTITY,
                lookup,
                user_id: Some(user_id.clone()),
                data: serde_json::to_vec(&linked).map_err(|e| Err(AuthError::internal(e)))?,
                created_at: self.inner.now(),
                expires_at: None,
            })
            .await;
        match inserted {
            Ok(Some(_)) => Ok(user_id.clone()),
            // Linked by a racing callback: to this user is fine.
            Ok(None) => match credentials.find(&IDENTITY, &linked.lookup()).await {
                Ok(Some(row)) if theirs(&row) => Ok(user_id.clone()),
                Ok(_) => Err(Ok(Failure::AccountExists)),
                Err(err) => Err(Err(err)),
            },
            Err(AuthError::UserNotFound) => Err(Ok(Failure::State)),
            Err(err) => Err(Err(err)),
        }
    }

    /// Seals `tokens` into the identity's row (compare-and-swap: of two
    /// sign-ins at once, the later write may lose, and the earlier
    /// tokens, as good, stay).
    async fn keep_tokens(
        &self,
        key: &EncryptionKey,
        provider: &str,
        subject: &str,
        tokens: &ProviderTokens,
    ) -> Result<(), AuthError> {
        let (_, credentials) = self.oauth()?;
        let Some(lookup) = identity_lookup(provider, subject) else {
            return Ok(());
        };
        let Some(row) = credentials.find(&IDENTITY, &lookup).await? else {
            return Ok(());
        };
        let mut linked: Linked = serde_json::from_slice(&row.data).map_err(AuthError::internal)?;
        linked.tokens = Some(tokens.seal(key, &lookup)?);
        let data = serde_json::to_vec(&linked).map_err(AuthError::internal)?;
        credentials
            .update(&row.id, row.version, &data, Some(self.inner.now()))
            .await?;
        Ok(())
    }

    /// The provider's tokens from the user's last sign-in through
    /// `provider`, when the application
    /// [keeps them](OAuth::keep_provider_tokens); `None` when not kept, or
    /// sealed with another key.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when OAuth is not set up.
    pub async fn provider_tokens(
        &self,
        user_id: &UserId,
        provider: &str,
    ) -> Result<Option<ProviderTokens>, AuthError> {
        let (oauth, _) = self.oauth()?;
        let Some(key) = &oauth.keep_tokens else {
            return Ok(None);
        };
        Ok(self
            .linked(user_id)
            .await?
            .into_iter()
            .find(|(_, linked)| linked.provider == provider)
            .and_then(|(_, linked)| {
                ProviderTokens::open(key, &linked.lookup(), linked.tokens.as_deref()?)
            }))
    }

    async fn exchange_code(
        &self,
        pending: &Pending,
        user_id: &UserId,
    ) -> Result<String, Result<Failure, AuthError>> {
        let (_, credentials) = self.oauth().map_err(Err)?;
        let code = random_token::<32>().map_err(Err)?;
        let now = self.inner.now();
        let exchange = Exchange {
            provider: pending.provider.clone(),
            code_challenge: pending.code_challenge.clone(),
        };
        let inserted = credentials
            .insert(NewCredential {
                id: CredentialId::generate().map_err(Err)?,
                kind: EXCHANGE,
                lookup: hash_hex(&code),
                user_id: Some(user_id.clone()),
                data: serde_json::to_vec(&exchange).map_err(|e| Err(AuthError::internal(e)))?,
                created_at: now,
                expires_at: Some(super::expiry(now, EXCHANGE_CODE_TTL).map_err(Err)?),
            })
            .await;
        match inserted {
            Ok(Some(_)) => Ok(code),
            Ok(None) => Err(Err(AuthError::internal("a random exchange code was taken"))),
            // Deleted during the callback: nobody to sign in.
            Err(AuthError::UserNotFound) => Err(Ok(Failure::State)),
            Err(err) => Err(Err(err)),
        }
    }

    /// Turns an exchange code from a callback into a session, or a
    /// challenge when the user has a second factor. A code whose sign-in
    /// was started with a `code_challenge` needs its `code_verifier`, and
    /// one started without needs none: a page that always sends its
    /// verifier cannot be made to exchange a code someone else started
    /// (login CSRF by a planted `#code=`).
    ///
    /// # Errors
    /// [`AuthError::InvalidOneTimeToken`] for an unknown, used or expired
    /// code, or a wrong or missing verifier (the code is used up);
    /// [`AuthError::EmailNotVerified`] when verification is required
    /// and the provider did not vouch for the address;
    /// [`AuthError::NotFound`] when OAuth is not set up.
    pub async fn oauth_exchange(&self, request: &ExchangeRequest) -> Result<SignIn, AuthError> {
        let (_, credentials) = self.oauth()?;
        let code = &request.code;
        if code.len() != 43 {
            return Err(AuthError::InvalidOneTimeToken);
        }
        let row = credentials
            .find(&EXCHANGE, &hash_hex(code))
            .await?
            .filter(|row| !row.is_expired_at(self.inner.now()))
            .ok_or(AuthError::InvalidOneTimeToken)?;
        if !credentials.consume(&row.id, row.version).await? {
            return Err(AuthError::InvalidOneTimeToken);
        }
        let exchange: Exchange = serde_json::from_slice(&row.data).map_err(AuthError::internal)?;
        let bound = match (&exchange.code_challenge, &request.code_verifier) {
            (None, None) => true,
            (Some(challenge), Some(verifier)) => constant_time_eq(
                base64url(&Sha256::digest(verifier.as_bytes())).as_bytes(),
                challenge.as_bytes(),
            ),
            _ => false,
        };
        if !bound {
            return Err(AuthError::InvalidOneTimeToken);
        }
        let user_id = row.user_id.ok_or(AuthError::InvalidOneTimeToken)?;
        let user = match self.user_by_id(&user_id).await {
            Err(AuthError::UserNotFound) => return Err(AuthError::InvalidOneTimeToken),
            found => found?,
        };
        if self.must_verify(&user) {
            return Err(AuthError::EmailNotVerified);
        }
        self.finish_first_factor(user, FirstFactor::OAuth).await
    }

    /// Unlinks every identity of the user: the owner of an address took
    /// back an account someone else made unverified under it, perhaps
    /// through a provider that does not verify addresses.
    pub(super) async fn forget_linked_identities(&self, user_id: &UserId) -> Result<(), AuthError> {
        if let Ok((_, credentials)) = self.oauth() {
            credentials.delete_for_user(user_id, &IDENTITY).await?;
        }
        Ok(())
    }

    async fn linked(&self, user_id: &UserId) -> Result<Vec<(Credential, Linked)>, AuthError> {
        let (_, credentials) = self.oauth()?;
        credentials
            .list(user_id, &IDENTITY)
            .await?
            .into_iter()
            .map(|row| {
                let linked = serde_json::from_slice(&row.data).map_err(AuthError::internal)?;
                Ok((row, linked))
            })
            .collect()
    }

    /// The identities linked to the user, oldest first.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when OAuth is not set up.
    pub async fn linked_accounts(&self, user_id: &UserId) -> Result<Vec<LinkedAccount>, AuthError> {
        Ok(self
            .linked(user_id)
            .await?
            .into_iter()
            .map(|(row, linked)| LinkedAccount {
                provider: linked.provider,
                subject: linked.subject,
                email: linked.email,
                linked_at: row.created_at,
            })
            .collect())
    }

    /// Unlinks the user's identity of `provider`.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when none is linked;
    /// [`AuthError::LastSignInMethod`] when the user has no password, no
    /// other identity and no passkey.
    pub async fn unlink_account(&self, user_id: &UserId, provider: &str) -> Result<(), AuthError> {
        let linked = self.linked(user_id).await?;
        let Some((row, _)) = linked
            .into_iter()
            .find(|(_, linked)| linked.provider == provider)
        else {
            return Err(AuthError::NotFound);
        };
        let user = self.user_by_id(user_id).await?;
        self.remove_sign_in_credential(&user, row).await
    }
}

/// `provider:subject`, the identity's lookup; `None` when it cannot be one.
fn identity_lookup(provider: &str, subject: &str) -> Option<String> {
    let lookup = format!("{provider}:{subject}");
    (!subject.is_empty() && NewCredential::is_valid_lookup(&lookup)).then_some(lookup)
}

fn hash_hex(secret: &str) -> String {
    crate::TokenHash::from_bytes(Sha256::digest(secret.as_bytes()).into()).to_hex()
}

/// `url` with `#name=value` (`value` is a code or base64url: nothing to
/// escape).
fn fragment(url: &str, name: &str, value: &str) -> String {
    format!("{url}#{name}={value}")
}

#[cfg(test)]
mod tests;
