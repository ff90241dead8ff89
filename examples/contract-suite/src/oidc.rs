//! Sign-in with OAuth 2.0 / OpenID Connect, driven as a browser would: the
//! test provider ([`Provider`], `tests/oidc/provider.mjs`: oauth2-mock-server
//! and a GitHub stand-in, pinned in `tests/oidc/package-lock.json`) and a
//! client ([`OAuthClient`]) that follows the round trip by hand, one
//! redirect at a time, holding the state cookie as a browser would.
//!
//! The provider is started once per test process and shared by the cases
//! (it keeps no state but the codes of the round trips in flight); it exits
//! when the test process does (its stdin closes).
//!
//! Without `node` or without `tests/oidc/node_modules` (`npm ci --prefix
//! tests/oidc`), the OAuth cases say `skipped: ...` and pass, unless
//! `AUTH_TEST_OIDC=required` (as CI sets it), when they fail.

use std::{
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Mutex, OnceLock, PoisonError, mpsc},
    time::Duration,
};

use reqwest::{Method, Url, header};
use serde_json::{Value, json};

use crate::{
    Api, Reply,
    client::fresh_email,
    server::{random_string, skip_unless_required},
};

/// Set to `required` to make a missing Node.js or oauth2-mock-server a failure.
pub const REQUIRED_VAR: &str = "AUTH_TEST_OIDC";

/// The name of the state cookie the authorize routes set.
pub const STATE_COOKIE: &str = "__Secure-auth_oauth_state";

/// How long the provider may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// `tests/oidc` of the workspace.
fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc")
}

/// Why the provider cannot be run here, if it cannot.
pub fn unavailable() -> Option<String> {
    crate::server::node_package_missing(&provider_dir(), "oauth2-mock-server")
}

/// The running test provider: what its first line said.
#[derive(Debug)]
pub struct Provider {
    /// The OpenID Connect issuer (discovery at `/.well-known/openid-configuration`).
    pub issuer: String,
    /// The GitHub stand-in's authorization endpoint.
    pub github_authorize_url: String,
    /// The GitHub stand-in's token endpoint.
    pub github_token_url: String,
    /// The GitHub stand-in's API base (`/user`, `/user/emails`).
    pub github_api_url: String,
    /// The one client both providers know.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Never killed: the provider exits when its stdin, held here, closes
    /// with the test process.
    _child: Mutex<Child>,
}

impl Provider {
    fn start() -> Result<Self, String> {
        let mut child = Command::new("node")
            .args(["provider.mjs", "--port", "0"])
            .current_dir(provider_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start node provider.mjs: {error}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let started: Value = serde_json::from_str(&line).map_err(|error| {
            let _ = child.kill();
            format!("provider.mjs said {line:?}, not its JSON line: {error}")
        })?;
        let field = |name: &str| started[name].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            issuer: field("issuer"),
            github_authorize_url: field("github_authorize_url"),
            github_token_url: field("github_token_url"),
            github_api_url: field("github_api_url"),
            client_id: field("client_id"),
            client_secret: field("client_secret"),
            _child: Mutex::new(child),
        })
    }

    /// The server configuration for providers `mock` (OpenID Connect, this
    /// provider's issuer, display name `Mock OIDC`) and `github` (the
    /// preset, pointed at the stand-in), in that order.
    pub fn server_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OAUTH_PROVIDERS", "mock,github".into()),
            ("OAUTH_MOCK_ISSUER", self.issuer.clone()),
            ("OAUTH_MOCK_CLIENT_ID", self.client_id.clone()),
            ("OAUTH_MOCK_CLIENT_SECRET", self.client_secret.clone()),
            ("OAUTH_MOCK_DISPLAY_NAME", "Mock OIDC".into()),
            ("OAUTH_GITHUB_CLIENT_ID", self.client_id.clone()),
            ("OAUTH_GITHUB_CLIENT_SECRET", self.client_secret.clone()),
            (
                "OAUTH_GITHUB_AUTHORIZE_URL",
                self.github_authorize_url.clone(),
            ),
            ("OAUTH_GITHUB_TOKEN_URL", self.github_token_url.clone()),
            ("OAUTH_GITHUB_API_URL", self.github_api_url.clone()),
        ]
    }
}

/// The shared test provider, started on first use; `None` after a
/// `skipped: ...` line when it cannot run (a failure when [`REQUIRED_VAR`]
/// is `required`).
pub fn provider(test: &str) -> Option<&'static Provider> {
    static PROVIDER: OnceLock<Result<Provider, String>> = OnceLock::new();
    if skip_unless_required(REQUIRED_VAR, unavailable(), test) {
        return None;
    }
    match PROVIDER.get_or_init(Provider::start) {
        Ok(provider) => Some(provider),
        Err(error) => panic!("{test}: the test provider did not start: {error}"),
    }
}

/// Who the provider says the user is, and what it does wrong: the `test_*`
/// parameters added to the authorization URL.
#[derive(Clone, Debug)]
pub struct Identity {
    /// `test_sub`: the subject (numeric for GitHub).
    pub sub: String,
    /// `test_email`.
    pub email: String,
    /// `test_email_verified`.
    pub email_verified: bool,
    /// `test_fault`, if any.
    pub fault: Option<&'static str>,
}

impl Identity {
    /// A fresh OpenID Connect identity: random subject, fresh verified address.
    pub fn fresh() -> Self {
        Self {
            sub: format!("sub-{}", random_string(16)),
            email: fresh_email(),
            email_verified: true,
            fault: None,
        }
    }

    /// A fresh GitHub identity: a numeric id, a fresh verified primary address.
    pub fn github() -> Self {
        let digits: String = random_string(24)
            .bytes()
            .map(|byte| char::from(b'0' + byte % 10))
            .take(9)
            .collect();
        Self {
            sub: format!("1{digits}"),
            ..Self::fresh()
        }
    }

    /// The same identity with address `email`.
    pub fn email(mut self, email: &str) -> Self {
        email.clone_into(&mut self.email);
        self
    }

    /// The same identity, with the provider saying its address is not verified.
    pub fn unverified(mut self) -> Self {
        self.email_verified = false;
        self
    }

    /// The same identity, with `fault` (see `tests/oidc/provider.mjs`).
    pub fn fault(mut self, fault: &'static str) -> Self {
        self.fault = Some(fault);
        self
    }
}

/// One attribute-checked `Set-Cookie`.
#[derive(Clone, Debug)]
pub struct SetCookie {
    /// The whole header value.
    pub raw: String,
    /// The cookie's name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// The attributes, names lower-cased, values as sent (`""` for flags).
    pub attributes: Vec<(String, String)>,
}

impl SetCookie {
    fn parse(raw: &str) -> Self {
        let mut parts = raw.split(';');
        let (name, value) = parts
            .next()
            .unwrap_or_default()
            .split_once('=')
            .unwrap_or_default();
        let attributes = parts
            .map(|part| {
                let (name, value) = part.split_once('=').unwrap_or((part, ""));
                (name.trim().to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        Self {
            raw: raw.to_owned(),
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            attributes,
        }
    }

    /// The value of attribute `name` (lower case), if present.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(attribute, _)| attribute == name)
            .map(|(_, value)| value.as_str())
    }

    /// `name=value`, for a `Cookie` header.
    pub fn pair(&self) -> String {
        format!("{}={}", self.name, self.value)
    }
}

/// The state cookies a reply sets.
pub fn state_cookies(reply: &Reply) -> Vec<SetCookie> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| SetCookie::parse(&String::from_utf8_lossy(value.as_bytes())))
        .filter(|cookie| cookie.name == STATE_COOKIE)
        .collect()
}

/// The path of `provider`'s callback.
pub fn callback_path(provider: &str) -> String {
    format!("/api/auth/oauth/{provider}/callback")
}

/// A sign-in started: the provider URL to go to and the state cookie.
#[derive(Clone, Debug)]
pub struct Started {
    /// The authorize (302) or link (200) reply.
    pub reply: Reply,
    /// The provider's authorization URL (`Location`, or `authorize_url`).
    pub url: Url,
    /// The state cookie, checked (see [`OAuthClient::start`]).
    pub cookie: SetCookie,
}

impl Started {
    /// A query parameter of the authorization URL.
    pub fn param(&self, name: &str) -> Option<String> {
        self.url
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

/// Where a callback sent the browser: `redirect_to#code=...` or `#error=...`.
#[derive(Clone, Debug)]
pub struct Landing {
    /// The callback's reply (a 302).
    pub reply: Reply,
    /// Its `Location` without the fragment.
    pub url: Url,
    /// The fragment's `code`, if any.
    pub code: Option<String>,
    /// The fragment's `error`, if any.
    pub error: Option<String>,
}

impl Landing {
    /// The same landing, its reply labelled `test_fault=<fault>`.
    #[must_use]
    pub fn noted(mut self, fault: &str) -> Self {
        self.reply = self.reply.noted(format!("test_fault={fault}"));
        self
    }

    /// The exchange code; panics (showing the reply) when it is an error.
    pub fn expect_code(&self) -> String {
        self.reply.check(
            self.error.is_none() && self.code.as_ref().is_some_and(|code| !code.is_empty()),
            "expected the callback to end at redirect_to#code=<exchange code>",
        );
        self.code.clone().unwrap_or_default()
    }

    /// Panics unless this is `#error=<error>` with no code, at `at` (a URL
    /// compared parsed: `http://h:1` and `http://h:1/` are the same).
    pub fn expect_error(&self, error: &str, at: &str) -> &Self {
        self.reply.check(
            self.error.as_deref() == Some(error) && self.code.is_none(),
            &format!("expected #error={error} and no code"),
        );
        self.reply.check(
            Url::parse(at).is_ok_and(|at| at == self.url),
            &format!("expected the error at {at}"),
        );
        self
    }
}

/// A browser for one server: it follows every redirect by hand and keeps
/// every URL it was sent to (`visited`).
#[derive(Debug)]
pub struct OAuthClient {
    /// The server's client.
    pub api: Api,
    /// The server's `PUBLIC_URL` (its base URL).
    pub public: String,
    visited: Mutex<Vec<String>>,
}

impl OAuthClient {
    /// A client for the server that `api` talks to, whose `PUBLIC_URL` is its base URL.
    pub fn new(api: Api) -> Self {
        let public = api.target().base_url.clone();
        Self {
            api,
            public,
            visited: Mutex::new(Vec::new()),
        }
    }

    /// Every URL a `Location` or an `authorize_url` sent this browser to.
    pub fn visited(&self) -> Vec<String> {
        self.visited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn visit(&self, url: &str) {
        self.visited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(url.to_owned());
    }

    /// `GET /api/auth/oauth/{provider}/authorize[?redirect_to=...]`.
    pub async fn authorize(&self, provider: &str, redirect_to: Option<&str>) -> Reply {
        let mut request = self.api.request(
            Method::GET,
            &format!("/api/auth/oauth/{provider}/authorize"),
        );
        if let Some(redirect_to) = redirect_to {
            request = request.query(&[("redirect_to", redirect_to)]);
        }
        self.api.send(request).await
    }

    /// `POST /api/auth/oauth/{provider}/link[?redirect_to=...]` with no body.
    pub async fn link(
        &self,
        provider: &str,
        redirect_to: Option<&str>,
        bearer: Option<&str>,
    ) -> Reply {
        let path = format!("/api/auth/oauth/{provider}/link");
        let mut request = self.api.authed(Method::POST, &path, bearer);
        if let Some(redirect_to) = redirect_to {
            request = request.query(&[("redirect_to", redirect_to)]);
        }
        self.api.send(request).await
    }

    /// Authorize, checked: a 302 to the provider with `Cache-Control:
    /// no-store` and one state cookie (see [`expect_state_cookie`]).
    pub async fn start(&self, provider: &str, redirect_to: Option<&str>) -> Started {
        let reply = self.authorize(provider, redirect_to).await;
        reply.expect_status(302);
        let cache_control = reply.header("cache-control").unwrap_or_default();
        reply.check(
            cache_control.to_ascii_lowercase().contains("no-store"),
            "Cache-Control: no-store",
        );
        let location = reply.header("location").unwrap_or_default();
        self.started(provider, reply, &location)
    }

    /// Link, checked: 200 `{"authorize_url"}` and one state cookie.
    pub async fn start_link(
        &self,
        provider: &str,
        redirect_to: Option<&str>,
        bearer: &str,
    ) -> Started {
        let reply = self.link(provider, redirect_to, Some(bearer)).await;
        let body = reply.expect_json(200);
        let url = body["authorize_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.started(provider, reply, &url)
    }

    /// The [`Started`] of an authorize or link `reply` that sent the browser to `url`.
    pub fn started(&self, provider: &str, reply: Reply, url: &str) -> Started {
        self.visit(url);
        let parsed = Url::parse(url);
        reply.check(parsed.is_ok(), "an absolute URL to the provider");
        let cookie = expect_state_cookie(&reply, provider);
        Started {
            url: parsed.unwrap(),
            reply,
            cookie,
        }
    }

    /// Goes to the provider as `identity` (the `test_*` parameters added to
    /// its URL): the provider's 302 back to the server's callback URL.
    pub async fn at_provider(&self, started: &Started, identity: &Identity) -> String {
        let mut url = started.url.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("test_sub", &identity.sub)
                .append_pair("test_email", &identity.email)
                .append_pair("test_email_verified", &identity.email_verified.to_string());
            if let Some(fault) = identity.fault {
                query.append_pair("test_fault", fault);
            }
        }
        let reply = self.api.send(self.api.http().get(url)).await;
        reply.expect_status(302);
        let callback = reply.header("location").unwrap_or_default();
        self.visit(&callback);
        callback
    }

    /// `GET` the callback URL with `cookie` (a `name=value`, or none),
    /// checked: a 302 that clears the state cookie. Where it went.
    pub async fn callback(&self, provider: &str, url: &str, cookie: Option<&str>) -> Landing {
        let mut request = self.api.http().get(url);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let reply = self.api.send(request).await;
        reply.expect_status(302);
        expect_state_cleared(&reply, provider);
        let location = reply.header("location").unwrap_or_default();
        self.visit(&location);
        let (base, fragment) = location.split_once('#').unwrap_or((&location, ""));
        let parsed = Url::parse(base);
        reply.check(parsed.is_ok(), "an absolute Location");
        let field = |name: &str| {
            form_pairs(fragment)
                .into_iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
        };
        Landing {
            url: parsed.unwrap(),
            code: field("code"),
            error: field("error"),
            reply,
        }
    }

    /// Authorize, the provider as `identity`, and the callback with the cookie.
    pub async fn round_trip(
        &self,
        provider: &str,
        redirect_to: Option<&str>,
        identity: &Identity,
    ) -> Landing {
        let started = self.start(provider, redirect_to).await;
        self.finish(provider, &started, identity).await
    }

    /// The rest of a round trip [`start`](Self::start)ed (or linked).
    pub async fn finish(&self, provider: &str, started: &Started, identity: &Identity) -> Landing {
        let callback = self.at_provider(started, identity).await;
        self.callback(provider, &callback, Some(&started.cookie.pair()))
            .await
    }

    /// `POST /api/auth/oauth/exchange` `{"code"}`.
    pub async fn exchange(&self, code: &str) -> Reply {
        self.api
            .json(
                Method::POST,
                "/api/auth/oauth/exchange",
                None,
                &json!({ "code": code }),
            )
            .await
    }

    /// A whole sign-in as `identity`: the round trip, then the exchange,
    /// checked to be a 200 `AuthResponse` for `email`. Returns the body.
    pub async fn sign_in(&self, provider: &str, identity: &Identity, email: &str) -> Value {
        let landing = self.round_trip(provider, None, identity).await;
        let reply = self.exchange(&landing.expect_code()).await;
        reply.expect_auth_response(200, self.api.target(), email)
    }
}

/// Panics unless `reply` sets exactly one state cookie with `HttpOnly`,
/// `Secure`, `SameSite=Lax`, the callback's `Path` and a `Max-Age` of 1 to
/// 600 s, and a value of at least 22 characters (128 bits). Returns it.
pub fn expect_state_cookie(reply: &Reply, provider: &str) -> SetCookie {
    let cookies = state_cookies(reply);
    reply.check(cookies.len() == 1, &format!("one {STATE_COOKIE} cookie"));
    let cookie = cookies.into_iter().next().unwrap();
    let shown = format!("Set-Cookie: {}", cookie.raw);
    reply.check(
        cookie.value.len() >= 22,
        &format!("a secret of 128+ bits; {shown}"),
    );
    for flag in ["httponly", "secure"] {
        reply.check(
            cookie.attribute(flag).is_some(),
            &format!("{flag}; {shown}"),
        );
    }
    reply.check(
        cookie
            .attribute("samesite")
            .is_some_and(|value| value.eq_ignore_ascii_case("lax")),
        &format!("SameSite=Lax; {shown}"),
    );
    reply.check(
        cookie.attribute("path") == Some(callback_path(provider).as_str()),
        &format!("Path={}; {shown}", callback_path(provider)),
    );
    reply.check(
        cookie
            .attribute("max-age")
            .and_then(|value| value.parse::<u64>().ok())
            .is_some_and(|secs| (1..=600).contains(&secs)),
        &format!("Max-Age of 1 to 600; {shown}"),
    );
    cookie
}

/// Panics unless `reply` clears the state cookie: `Max-Age=0` on the
/// callback's `Path`.
pub fn expect_state_cleared(reply: &Reply, provider: &str) {
    let cookies = state_cookies(reply);
    reply.check(
        cookies.iter().any(|cookie| {
            cookie.value.is_empty()
                && cookie.attribute("max-age") == Some("0")
                && cookie.attribute("path") == Some(callback_path(provider).as_str())
        }),
        &format!(
            "the callback clears the state cookie: {STATE_COOKIE}=; Max-Age=0; Path={}",
            callback_path(provider)
        ),
    );
}

/// Panics when one of `urls` holds one of `tokens` or names a token
/// parameter (`access_token`, `refresh_token`, `id_token`).
pub fn expect_no_tokens_in(urls: &[String], tokens: &[&str]) {
    for url in urls {
        let lower = url.to_ascii_lowercase();
        for name in ["access_token", "refresh_token", "id_token"] {
            assert!(!lower.contains(name), "a URL names {name}: {url}");
        }
        for token in tokens.iter().filter(|token| !token.is_empty()) {
            assert!(!url.contains(token), "a URL holds a token: {url}");
        }
    }
}

/// The pairs of an `application/x-www-form-urlencoded` string (a
/// fragment such as `code=...`), decoded.
fn form_pairs(text: &str) -> Vec<(String, String)> {
    // `Url` decodes a query: the fragment is read as one.
    Url::parse(&format!("http://fragment.invalid/?{text}"))
        .map(|url| {
            url.query_pairs()
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}
