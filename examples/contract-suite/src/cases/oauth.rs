//! Sign-in with OAuth 2.0 / OpenID Connect: the setup, the round trip and
//! the authorize route. The callback's checks and the exchange are in
//! `oauth_callback.rs`; the account rules, linking and the GitHub preset in
//! `oauth_accounts.rs`.
//!
//! Every case starts its own server with `PUBLIC_URL` set to its own base
//! URL and providers `mock` (OpenID Connect, the test provider of
//! [`crate::oidc`]) and `github` (the preset, pointed at the provider's
//! GitHub stand-in), and drives the round trip with
//! [`OAuthClient`](crate::oidc::OAuthClient). The exchange code's 60 s
//! lifetime is not waited out here.

use std::path::Path;

use reqwest::Url;
use serde_json::{Value, json};

use crate::{
    Account, Api, Backend, Reply, Server,
    client::{expect_utc_timestamp, fresh_email},
    oidc::{self, Identity, OAuthClient, Provider, expect_no_tokens_in, state_cookies},
    server::free_port,
};

/// A server configured with the test provider, and a browser for it.
pub(super) struct OAuthServer {
    pub(super) server: Server,
    pub(super) client: OAuthClient,
    pub(super) provider: &'static Provider,
}

impl OAuthServer {
    /// Starts a server with `PUBLIC_URL` = its own base URL, providers
    /// `mock` and `github`, and `extra` (which may override them); `None`
    /// after a skip line when the provider cannot run.
    pub(super) async fn start(
        binary: &Path,
        backend: Backend,
        test: &str,
        extra: &[(&str, String)],
    ) -> Option<Self> {
        let provider = oidc::provider(&format!("oauth::{test}"))?;
        let port = free_port();
        let public = format!("http://127.0.0.1:{port}");
        let mut env: Vec<(String, Option<String>)> = vec![
            ("BIND_ADDRESS".into(), Some(format!("127.0.0.1:{port}"))),
            ("PUBLIC_URL".into(), Some(public.clone())),
        ];
        for (name, value) in provider
            .server_env()
            .into_iter()
            .chain(extra.iter().cloned())
        {
            env.push((name.to_owned(), Some(value)));
        }
        let server = Server::start_with(binary, backend, env).await;
        assert_eq!(server.base_url(), public, "the server's address");
        let client = OAuthClient::new(server.target().api());
        Some(Self {
            server,
            client,
            provider,
        })
    }

    pub(super) fn api(&self) -> &Api {
        &self.client.api
    }

    /// `PUBLIC_URL`.
    pub(super) fn public(&self) -> &str {
        &self.client.public
    }

    /// `PUBLIC_URL` + `path`.
    pub(super) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.public())
    }
}

/// `GET /api/auth/accounts` with `token`, checked to be a 200 list.
pub(super) async fn accounts(api: &Api, token: &str) -> (Reply, Vec<Value>) {
    let reply = api.get("/api/auth/accounts", Some(token)).await;
    let list = reply.expect_json(200);
    reply.check(list.is_array(), "a JSON array");
    let list = list.as_array().cloned().unwrap_or_default();
    (reply, list)
}

/// Panics unless `entry` of `reply` is the identity (`provider`, `sub`)
/// with `email` (compared case-insensitively) and a UTC `linked_at`.
pub(super) fn expect_linked(reply: &Reply, entry: &Value, provider: &str, sub: &str, email: &str) {
    reply.check(
        entry["provider"] == provider && entry["subject"] == sub,
        &format!("expected the {provider} identity {sub:?}, got {entry}"),
    );
    reply.check(
        entry["email"]
            .as_str()
            .is_some_and(|shown| shown.eq_ignore_ascii_case(email)),
        &format!("expected email {email:?} in {entry}"),
    );
    expect_utc_timestamp(&entry["linked_at"], reply, "linked_at");
}

/// Panics unless `user` (of `reply`) has `has_password` = `expected`.
pub(super) fn expect_has_password(reply: &Reply, user: &Value, expected: bool) {
    reply.check(
        user["has_password"] == expected,
        &format!("expected `user.has_password`: {expected} (a boolean)"),
    );
}

/// The account an `AuthResponse` (`body`) of a provider sign-in opened
/// for `email`: no password.
pub(super) fn account_of(body: &Value, email: &str) -> Account {
    let (access_token, refresh_token) = tokens_of(body);
    Account {
        email: email.to_owned(),
        password: String::new(),
        user_id: body["user"]["id"].as_str().unwrap_or_default().to_owned(),
        session_id: crate::tokens::payload(&access_token)["sid"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        access_token,
        refresh_token,
    }
}

/// The access and refresh tokens of an `AuthResponse`.
pub(super) fn tokens_of(body: &Value) -> (String, String) {
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    (field("access_token"), field("refresh_token"))
}

/// A new user signs in (an `AuthResponse`, verified as the provider says,
/// no password); `/me` works with the token. The same subject signs the
/// same user in again, also once the provider reports another address.
/// `GET /oauth/providers` lists the providers in configured order. No
/// token is ever in a URL the browser was sent to.
pub async fn oauth_sign_in_round_trip(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(binary, backend, "oauth_sign_in_round_trip", &[]).await else {
        return;
    };
    let (api, client) = (s.api(), &s.client);

    let reply = api.get("/api/auth/oauth/providers", None).await;
    let providers = reply.expect_json(200);
    reply.check(
        providers.as_array().is_some_and(|list| {
            list.len() == 2
                && list[0] == json!({ "id": "mock", "name": "Mock OIDC" })
                && list[1]["id"] == "github"
                && list[1]["name"]
                    .as_str()
                    .is_some_and(|name| !name.is_empty())
        }),
        "[{\"id\": \"mock\", \"name\": \"Mock OIDC\"}, {\"id\": \"github\", \"name\": ...}]",
    );

    let identity = Identity::fresh();
    let first = client.sign_in("mock", &identity, &identity.email).await;
    let user = &first["user"];
    let (access, refresh) = tokens_of(&first);
    let me = api.me(&access).await;
    let shown = me.expect_json(200);
    me.check(shown["user"]["id"] == user["id"], "/me is the new user");
    super::account::expect_verified(&me, &shown["user"], true);
    expect_has_password(&me, &shown["user"], false);

    let second = client.sign_in("mock", &identity, &identity.email).await;
    assert_eq!(
        second["user"]["id"], user["id"],
        "the same subject, the same user"
    );
    let (access_2, refresh_2) = tokens_of(&second);
    assert_ne!(access, access_2, "a new session");
    let (reply, linked) = accounts(api, &access_2).await;
    reply.check(linked.len() == 1, "one linked identity");
    expect_linked(&reply, &linked[0], "mock", &identity.sub, &identity.email);

    // A linked identity signs its user in, whatever address it now reports.
    let moved = identity.clone().email(&fresh_email());
    let third = client.sign_in("mock", &moved, &identity.email).await;
    assert_eq!(
        third["user"]["id"], user["id"],
        "a linked subject, its user"
    );
    let (access_3, refresh_3) = tokens_of(&third);

    expect_no_tokens_in(
        &client.visited(),
        &[
            &access, &refresh, &access_2, &refresh_2, &access_3, &refresh_3,
        ],
    );
}

/// Authorize: a 302 to the issuer's authorization endpoint with the code
/// flow's parameters (PKCE S256, state, nonce, the callback), `no-store`,
/// and a state cookie (HttpOnly, Secure, SameSite=Lax, the callback's
/// Path, Max-Age ≤ 600) whose secret is not in the URL; each time new
/// values. The GitHub preset the same on its endpoint. An unknown provider
/// is 404 on authorize and callback.
pub async fn oauth_authorize_redirects_to_provider(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(
        binary,
        backend,
        "oauth_authorize_redirects_to_provider",
        &[],
    )
    .await
    else {
        return;
    };
    let client = &s.client;
    let issuer = Url::parse(&s.provider.issuer).unwrap();
    let first = client.start("mock", None).await;
    let second = client.start("mock", None).await;
    for started in [&first, &second] {
        let reply = &started.reply;
        let url = &started.url;
        reply.check(
            url.origin() == issuer.origin() && url.path() == "/authorize",
            "Location is the issuer's authorization endpoint",
        );
        for (name, value) in [
            ("response_type", "code"),
            ("client_id", s.provider.client_id.as_str()),
            ("redirect_uri", &s.at(&oidc::callback_path("mock"))),
            ("code_challenge_method", "S256"),
        ] {
            reply.check(
                started.param(name).as_deref() == Some(value),
                &format!("Location has {name}={value}"),
            );
        }
        let scope = started.param("scope").unwrap_or_default();
        reply.check(
            scope.split(' ').any(|scope| scope == "openid"),
            "the scope has openid",
        );
        let challenge = started.param("code_challenge").unwrap_or_default();
        reply.check(
            challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "code_challenge is a base64url SHA-256 (43 characters)",
        );
        for name in ["state", "nonce"] {
            let value = started.param(name).unwrap_or_default();
            reply.check(value.len() >= 16, &format!("a random {name}"));
        }
        reply.check(
            !url.as_str().contains(&started.cookie.value),
            "the cookie's secret is not in the URL",
        );
    }
    for name in ["state", "nonce", "code_challenge"] {
        assert_ne!(
            first.param(name),
            second.param(name),
            "a new {name} each time"
        );
    }
    assert_ne!(
        first.cookie.value, second.cookie.value,
        "a new cookie each time"
    );

    let github = client.start("github", None).await;
    let url = &github.url;
    github.reply.check(
        url.as_str()
            .starts_with(&format!("{}?", s.provider.github_authorize_url)),
        "Location is the GitHub authorization endpoint",
    );
    for (name, value) in [
        ("client_id", s.provider.client_id.as_str()),
        ("redirect_uri", &s.at(&oidc::callback_path("github"))),
        ("code_challenge_method", "S256"),
    ] {
        github.reply.check(
            github.param(name).as_deref() == Some(value),
            &format!("Location has {name}={value}"),
        );
    }
    github.reply.check(
        github.param("state").is_some_and(|state| state.len() >= 16)
            && github
                .param("scope")
                .is_some_and(|scope| scope.split([' ', ',']).any(|scope| scope == "user:email")),
        "a state, and the user:email scope",
    );

    let unknown = client.authorize("nope", None).await;
    unknown.expect_problem(404, "not_found");
    unknown.check(state_cookies(&unknown).is_empty(), "no state cookie");
    let callback = s.at("/api/auth/oauth/nope/callback?code=x&state=y");
    let reply = s.api().send(s.api().http().get(callback)).await;
    reply.expect_status(404);
}

/// `redirect_to` must be an absolute http(s) URL of an allowed origin
/// (default: `PUBLIC_URL`'s), without userinfo or fragment; anything else
/// is 400 `invalid_redirect` with no cookie, on authorize and link. An
/// allowed one is where the round trip ends, with its path and query.
pub async fn oauth_redirect_to_is_checked(binary: &Path, backend: Backend) {
    let Some(s) =
        OAuthServer::start(binary, backend.clone(), "oauth_redirect_to_is_checked", &[]).await
    else {
        return;
    };
    let client = &s.client;
    let port = s.public().rsplit(':').next().unwrap_or_default().to_owned();
    let refused = [
        "https://evil.example/".to_owned(),
        "http://localhost:3000/".to_owned(),
        format!("http://127.0.0.1:{}/", free_port()),
        format!("https://127.0.0.1:{port}/"),
        "//evil.example/".to_owned(),
        "/signed-in".to_owned(),
        "javascript:alert(document.cookie)".to_owned(),
        "data:text/html,hello".to_owned(),
        format!("{}@evil.example/", s.public()),
        format!("http://user@127.0.0.1:{port}/"),
        format!("{}/signed-in#fragment", s.public()),
        format!("ftp://127.0.0.1:{port}/"),
    ];
    let account = s.api().sign_up().await;
    for redirect_to in &refused {
        let reply = client
            .authorize("mock", Some(redirect_to))
            .await
            .noted(format!("authorize, redirect_to={redirect_to}"));
        reply.expect_problem(400, "invalid_redirect");
        reply.check(state_cookies(&reply).is_empty(), "no state cookie");
        let reply = client
            .link("mock", Some(redirect_to), Some(&account.access_token))
            .await
            .noted(format!("link, redirect_to={redirect_to}"));
        reply.expect_problem(400, "invalid_redirect");
        reply.check(state_cookies(&reply).is_empty(), "no state cookie");
    }

    let default = client.round_trip("mock", None, &Identity::fresh()).await;
    default.expect_code();
    default.reply.check(
        default.url.as_str() == s.at("/"),
        "without redirect_to, the round trip ends at PUBLIC_URL/",
    );
    let deep = s.at("/signed-in?tab=tasks&x=%2F");
    let landing = client
        .round_trip("mock", Some(&deep), &Identity::fresh())
        .await;
    landing.expect_code();
    landing
        .reply
        .check(landing.url.as_str() == deep, "it ends at redirect_to");

    // OAUTH_REDIRECT_ORIGINS replaces the default: another server that
    // lists the first one's origin and a front end's, not its own.
    let origins = format!("http://localhost:3000,{}", s.public());
    let Some(other) = OAuthServer::start(
        binary,
        backend,
        "oauth_redirect_to_is_checked",
        &[("OAUTH_REDIRECT_ORIGINS", origins)],
    )
    .await
    else {
        return;
    };
    for redirect_to in ["http://localhost:3000/app".to_owned(), s.at("/home")] {
        let landing = other
            .client
            .round_trip("mock", Some(&redirect_to), &Identity::fresh())
            .await;
        landing.expect_code();
        landing.reply.check(
            landing.url.as_str() == redirect_to,
            "it ends at redirect_to",
        );
    }
    for redirect_to in [other.at("/home"), "http://localhost:3001/".to_owned()] {
        other
            .client
            .authorize("mock", Some(&redirect_to))
            .await
            .noted(format!(
                "an origin OAUTH_REDIRECT_ORIGINS does not list: {redirect_to}"
            ))
            .expect_problem(400, "invalid_redirect");
    }
}
