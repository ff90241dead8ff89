//! Small helpers over reqwest: requests that come back as a [`Reply`] (which
//! panics with the whole exchange when an expectation fails), fresh accounts,
//! and the shapes of the contract's responses.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use reqwest::{
    Method, RequestBuilder, StatusCode,
    header::{self, HeaderMap},
};
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};

use crate::{Target, server::random_string, tokens};

/// How long one request may take. Generous: a debug build of a server hashes
/// passwords slowly, and some cases send twenty sign-ups at once.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The most of a body a failure message shows.
const SHOWN_BODY_CHARS: usize = 4000;

/// A client for one server.
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    target: Target,
}

/// A reqwest client builder, with rustls's provider installed first: the
/// workspace's reqwest has rustls without one (auth-core's `remote-jwks`),
/// and building a client without it panics. The suite speaks plain HTTP.
pub fn http_client() -> reqwest::ClientBuilder {
    // Err only says one is installed already: that one serves.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder().no_proxy()
}

impl Api {
    /// A client for `target` (no proxy, no redirects, 120 s per request).
    pub fn new(target: &Target) -> Self {
        let http = http_client()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("a reqwest client");
        Self {
            http,
            target: target.clone(),
        }
    }

    /// The server this client talks to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The underlying reqwest client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A request to `path` (which starts with `/`), to finish and [`send`](Self::send).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.target.url(path))
    }

    /// Sends `request` and reads the whole response.
    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let request = request.build().expect("a well-formed request");
        let method = request.method().clone();
        let url = request.url().to_string();
        let response = self
            .http
            .execute(request)
            .await
            .unwrap_or_else(|error| panic!("{method} {url}: no response: {error:?}"));
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|error| panic!("{method} {url}: cannot read the body: {error:?}"))
            .to_vec();
        Reply {
            note: String::new(),
            method,
            url,
            status,
            headers,
            body,
        }
    }

    /// A request with `Authorization: Bearer <token>` when `token` is given.
    pub fn authed(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.request(method, path);
        match token {
            Some(token) => request.header(header::AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        }
    }

    /// A request without a body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>) -> Reply {
        self.send(self.authed(method, path, token)).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token).await
    }

    /// A request with `body` as `application/json`.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Reply {
        self.raw(
            method,
            path,
            token,
            Some("application/json"),
            body.to_string(),
        )
        .await
    }

    /// A request with exactly these body bytes and `Content-Type` (none when
    /// `content_type` is `None`).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        let mut request = self.authed(method, path, token).body(body.into());
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        self.send(request).await
    }

    /// `POST /api/auth/sign-up` with these values (`name` left out when `None`).
    pub async fn sign_up_as(&self, email: &str, password: &str, name: Option<&str>) -> Reply {
        let mut body = json!({ "email": email, "password": password });
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        self.json(Method::POST, "/api/auth/sign-up", None, &body)
            .await
    }

    /// Signs up a fresh account (unique email, random password) and checks
    /// the response is a 201 `AuthResponse`.
    pub async fn sign_up(&self) -> Account {
        let email = fresh_email();
        let password = fresh_password();
        let reply = self
            .sign_up_as(&email, &password, Some("Contract Tester"))
            .await;
        reply.expect_auth_response(201, &self.target, &email);
        Account::from_auth_response(&reply, &email, &password)
    }

    /// `POST /api/auth/sign-in`.
    pub async fn sign_in(&self, email: &str, password: &str) -> Reply {
        let body = json!({ "email": email, "password": password });
        self.json(Method::POST, "/api/auth/sign-in", None, &body)
            .await
    }

    /// Signs `account` in again: a new session, checked to be a 200 `AuthResponse`.
    pub async fn new_session(&self, account: &Account) -> Account {
        let reply = self.sign_in(&account.email, &account.password).await;
        reply.expect_auth_response(200, &self.target, &account.email);
        Account::from_auth_response(&reply, &account.email, &account.password)
    }

    /// `POST /api/auth/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        let body = json!({ "refresh_token": refresh_token });
        self.json(Method::POST, "/api/auth/refresh", None, &body)
            .await
    }

    /// `POST /api/auth/sign-out` with body `{}`.
    pub async fn sign_out(&self, access_token: &str) -> Reply {
        self.json(
            Method::POST,
            "/api/auth/sign-out",
            Some(access_token),
            &json!({}),
        )
        .await
    }

    /// `GET /api/auth/me`.
    pub async fn me(&self, access_token: &str) -> Reply {
        self.get("/api/auth/me", Some(access_token)).await
    }

    /// Creates a task for `account`; checks it is a 201 `Task` and returns it.
    pub async fn create_task(
        &self,
        account: &Account,
        title: &str,
        description: Option<&str>,
    ) -> Value {
        let body = json!({ "title": title, "description": description });
        let reply = self
            .json(
                Method::POST,
                &account.tasks_path(),
                Some(&account.access_token),
                &body,
            )
            .await;
        let task = reply.expect_json(201);
        expect_task(&task, &reply, &account.user_id);
        task
    }

    /// `GET /api/{user_id}/tasks` (plus `query`, e.g. `?sort=title`) as
    /// `account`; checks every element is a task of `account`.
    pub async fn list_tasks(&self, account: &Account, query: &str) -> Vec<Value> {
        let path = format!("{}{query}", account.tasks_path());
        let reply = self.get(&path, Some(&account.access_token)).await;
        let list = reply.expect_json(200);
        let Value::Array(tasks) = list else {
            panic!("a task list must be a JSON array\n{}", reply.describe());
        };
        for task in &tasks {
            expect_task(task, &reply, &account.user_id);
        }
        tasks
    }

    /// `GET /api/{user_id}/tasks/{id}` as `account`; checks it is a 200 `Task`.
    pub async fn get_task(&self, account: &Account, id: i64) -> Value {
        let reply = self
            .get(&account.task_path(id), Some(&account.access_token))
            .await;
        let task = reply.expect_json(200);
        expect_task(&task, &reply, &account.user_id);
        task
    }
}

/// A signed-in account: its credentials and one session's tokens.
#[derive(Clone, Debug)]
pub struct Account {
    /// The email as signed up with (already normalised by [`fresh_email`]).
    pub email: String,
    /// The password.
    pub password: String,
    /// `user.id`.
    pub user_id: String,
    /// The session's access token.
    pub access_token: String,
    /// The session's refresh token.
    pub refresh_token: String,
    /// The `sid` claim of the access token.
    pub session_id: String,
}

impl Account {
    /// The account in an `AuthResponse` (already checked).
    pub fn from_auth_response(reply: &Reply, email: &str, password: &str) -> Self {
        let body = reply.json();
        let access_token = body["access_token"].as_str().unwrap_or_default().to_owned();
        let session_id = tokens::payload(&access_token)["sid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Self {
            email: email.to_owned(),
            password: password.to_owned(),
            user_id: body["user"]["id"].as_str().unwrap_or_default().to_owned(),
            access_token,
            refresh_token: body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            session_id,
        }
    }

    /// `/api/{user_id}/tasks`.
    pub fn tasks_path(&self) -> String {
        format!("/api/{}/tasks", path_segment(&self.user_id))
    }

    /// `/api/{user_id}/tasks/{id}`.
    pub fn task_path(&self, id: impl std::fmt::Display) -> String {
        format!("{}/{id}", self.tasks_path())
    }

    /// The same account with another session's tokens (from an `AuthResponse`).
    pub fn with_session(&self, reply: &Reply) -> Self {
        Self::from_auth_response(reply, &self.email, &self.password)
    }
}

/// A response, read whole, with the request it answers.
#[derive(Clone, Debug)]
pub struct Reply {
    /// What the request was about, shown first when an expectation fails
    /// (see [`noted`](Self::noted)).
    pub note: String,
    /// The request's method.
    pub method: Method,
    /// The request's URL.
    pub url: String,
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The same reply, labelled with what the request was about (shown
    /// first in failure messages).
    pub fn noted(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// The exchange, for a failure message: request line, status, headers, body.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if !self.note.is_empty() {
            let _ = writeln!(out, "[{}]", self.note);
        }
        let _ = writeln!(out, "{} {} -> {}", self.method, self.url, self.status);
        for (name, value) in &self.headers {
            let _ = writeln!(out, "{name}: {}", String::from_utf8_lossy(value.as_bytes()));
        }
        let body = String::from_utf8_lossy(&self.body);
        if body.chars().count() > SHOWN_BODY_CHARS {
            let shown: String = body.chars().take(SHOWN_BODY_CHARS).collect();
            let _ = write!(out, "\n{shown}... ({} bytes in all)", self.body.len());
        } else {
            let _ = write!(out, "\n{body}");
        }
        out
    }

    /// The status as a number.
    pub fn code(&self) -> u16 {
        self.status.as_u16()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("the body is not JSON ({error})\n{}", self.describe()))
    }

    /// The value of header `name` (the first one), if present and text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    }

    /// Every value of header `name`, split at commas, trimmed.
    pub fn header_list(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .flat_map(|value| {
                String::from_utf8_lossy(value.as_bytes())
                    .split(',')
                    .map(|item| item.trim().to_owned())
                    .filter(|item| !item.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Panics (showing the exchange) unless `ok`.
    pub fn check(&self, ok: bool, what: &str) -> &Self {
        assert!(ok, "{what}\n{}", self.describe());
        self
    }

    /// Panics unless the status is `status`.
    pub fn expect_status(&self, status: u16) -> &Self {
        self.check(
            self.code() == status,
            &format!("expected status {status}, got {}", self.code()),
        )
    }

    /// Panics unless the status is `status`, the content type is
    /// `application/json` and the body is JSON; returns the body.
    pub fn expect_json(&self, status: u16) -> Value {
        self.expect_status(status);
        let content_type = self.header("content-type").unwrap_or_default();
        self.check(
            media_type(&content_type) == "application/json",
            "expected Content-Type application/json",
        );
        self.json()
    }

    /// Panics unless this is a problem+json error with `status` and `code`
    /// (see [`expect_problem_in`](Self::expect_problem_in)); returns the body.
    pub fn expect_problem(&self, status: u16, code: &str) -> Value {
        self.expect_problem_in(status, &[code])
    }

    /// Panics unless this is an RFC 9457 problem with `status`: Content-Type
    /// `application/problem+json`, `type` `about:blank`, a non-empty `title`,
    /// `status` equal to the HTTP status, a string `detail`, and a `code` that
    /// is one of `codes`; a 401 must carry a `Bearer` challenge, a 405 an
    /// `Allow` header and a 429 a `Retry-After`. Returns the body.
    pub fn expect_problem_in(&self, status: u16, codes: &[&str]) -> Value {
        self.expect_status(status);
        let content_type = self.header("content-type").unwrap_or_default();
        self.check(
            media_type(&content_type) == "application/problem+json",
            "expected Content-Type application/problem+json",
        );
        let body = self.json();
        self.check(
            body["type"] == "about:blank",
            "expected \"type\": \"about:blank\"",
        );
        self.check(
            body["title"]
                .as_str()
                .is_some_and(|title| !title.trim().is_empty()),
            "expected a non-empty string \"title\"",
        );
        self.check(
            body["status"].as_u64() == Some(u64::from(status)),
            &format!("expected \"status\": {status} (a number)"),
        );
        self.check(body["detail"].is_string(), "expected a string \"detail\"");
        let code = body["code"].as_str().unwrap_or_default();
        self.check(
            codes.contains(&code),
            &format!("expected \"code\" to be one of {codes:?}"),
        );
        match status {
            401 => {
                self.check(
                    self.header("www-authenticate")
                        .is_some_and(|challenge| scheme_is_bearer(&challenge)),
                    "a 401 must carry a WWW-Authenticate: Bearer challenge",
                );
            }
            405 => {
                self.check(
                    !self.header_list("allow").is_empty(),
                    "a 405 must carry Allow",
                );
            }
            429 => {
                self.check(
                    self.header("retry-after").is_some(),
                    "a 429 must carry Retry-After",
                );
            }
            _ => {}
        }
        body
    }

    /// Panics unless this is a 401 `code` for a request WITHOUT a token:
    /// `WWW-Authenticate` is exactly `Bearer` (no `error` parameter).
    pub fn expect_unauthorized_without_token(&self, code: &str) -> Value {
        let body = self.expect_problem(401, code);
        let challenge = self.header("www-authenticate").unwrap_or_default();
        self.check(
            challenge.trim().eq_ignore_ascii_case("bearer"),
            "without a token, WWW-Authenticate must be exactly `Bearer` (RFC 6750 §3)",
        );
        body
    }

    /// Panics unless this is a 401 with a code in `codes` for a request that
    /// sent a token: `WWW-Authenticate: Bearer ... error="invalid_token"`.
    pub fn expect_token_rejected(&self, codes: &[&str]) -> Value {
        let body = self.expect_problem_in(401, codes);
        let challenge = self.header("www-authenticate").unwrap_or_default();
        self.check(
            challenge
                .to_ascii_lowercase()
                .replace(' ', "")
                .contains("error=\"invalid_token\""),
            "when a token was sent, WWW-Authenticate must carry error=\"invalid_token\"",
        );
        body
    }

    /// Panics unless this is a `status` `AuthResponse` for `email` with
    /// `Cache-Control: no-store`, token type `Bearer`, `expires_in` 900, a
    /// refresh token of at least 43 characters (256 bits) and an HS256 access
    /// token whose claims match the user and `target`. Returns the body.
    pub fn expect_auth_response(&self, status: u16, target: &Target, email: &str) -> Value {
        let body = self.expect_json(status);
        let cache_control = self.header("cache-control").unwrap_or_default();
        self.check(
            cache_control
                .split(',')
                .any(|directive| directive.trim().eq_ignore_ascii_case("no-store")),
            "a response with tokens must carry Cache-Control: no-store",
        );
        self.check(
            body["token_type"] == "Bearer",
            "expected \"token_type\": \"Bearer\"",
        );
        self.check(
            body["expires_in"] == 900,
            "expected \"expires_in\": 900 (the default)",
        );
        let user = &body["user"];
        expect_user(user, self, email);

        let refresh = body["refresh_token"].as_str().unwrap_or_default();
        self.check(
            refresh.chars().count() >= 43,
            "a refresh token has at least 256 bits of randomness (43+ characters)",
        );
        let access = body["access_token"].as_str().unwrap_or_default();
        self.check(access != refresh, "access and refresh tokens must differ");
        self.check(
            access.split('.').count() == 3,
            "the access token must be a JWT",
        );
        let header = tokens::header(access);
        self.check(header["alg"] == "HS256", "the access token must be HS256");
        let claims = tokens::payload(access);
        let shown = format!("claims {claims}");
        self.check(
            claims["sub"] == user["id"],
            &format!("`sub` must be user.id; {shown}"),
        );
        self.check(
            claims["sid"].as_str().is_some_and(|sid| !sid.is_empty()),
            &format!("`sid` must be a non-empty string; {shown}"),
        );
        self.check(
            claims["iss"] == target.iss(),
            &format!("`iss` must be JWT_ISSUER; {shown}"),
        );
        self.check(
            tokens::audience_contains(&claims["aud"], target.aud()),
            &format!("`aud` must be JWT_AUDIENCE; {shown}"),
        );
        let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
        self.check(
            iat.is_some_and(|iat| (iat - tokens::now()).abs() <= 60),
            &format!("`iat` must be now (seconds since the epoch); {shown}"),
        );
        self.check(
            iat.zip(exp)
                .is_some_and(|(iat, exp)| (899..=901).contains(&(exp - iat))),
            &format!("`exp` must be `iat` + 900 (15 min); {shown}"),
        );
        body
    }
}

/// Panics unless `user` is a user object for `email`: a non-empty string
/// `id`, the email, `created_at` in RFC 3339 UTC, a boolean `has_password`,
/// and no password or hash.
pub fn expect_user(user: &Value, reply: &Reply, email: &str) {
    reply.check(user.is_object(), "expected a `user` object");
    reply.check(
        user["id"].as_str().is_some_and(|id| !id.is_empty()),
        "`user.id` must be a non-empty string",
    );
    reply.check(
        user["email"] == email,
        &format!("`user.email` must be {email:?}"),
    );
    reply.check(
        user["name"].is_null() || user["name"].is_string(),
        "`user.name` must be a string or null",
    );
    expect_utc_timestamp(&user["created_at"], reply, "user.created_at");
    reply.check(
        user["has_password"].is_boolean(),
        "`user.has_password` must be a boolean",
    );
    // `has_password` says whether there is one; nothing else names it.
    let keys: Vec<&String> = user
        .as_object()
        .map(|o| o.keys().filter(|key| *key != "has_password").collect())
        .unwrap_or_default();
    reply.check(
        !keys.iter().any(|key| {
            let key = key.to_ascii_lowercase();
            key.contains("password") || key.contains("hash")
        }),
        "the user object must not contain the password or its hash",
    );
}

/// Panics unless `task` is a `Task` of `user_id`: integer `id` > 0, the
/// user's id, a string title, null-or-string description, a boolean
/// `completed`, and RFC 3339 UTC timestamps with `updated_at` ≥ `created_at`.
pub fn expect_task(task: &Value, reply: &Reply, user_id: &str) {
    let shown = format!("task {task}");
    reply.check(
        task["id"].as_i64().is_some_and(|id| id > 0) && task["id"].is_i64(),
        &format!("`id` must be a positive integer; {shown}"),
    );
    reply.check(
        task["user_id"] == user_id,
        &format!("`user_id` must be {user_id:?}; {shown}"),
    );
    reply.check(
        task["title"].is_string(),
        &format!("`title` must be a string; {shown}"),
    );
    reply.check(
        task["description"].is_null() || task["description"].is_string(),
        &format!("`description` must be null or a string; {shown}"),
    );
    reply.check(
        task["completed"].is_boolean(),
        &format!("`completed` must be a boolean; {shown}"),
    );
    let created = expect_utc_timestamp(&task["created_at"], reply, "created_at");
    let updated = expect_utc_timestamp(&task["updated_at"], reply, "updated_at");
    reply.check(
        updated >= created,
        &format!("`updated_at` must not precede `created_at`; {shown}"),
    );
}

/// Parses `value` as an RFC 3339 timestamp in UTC; panics if it is not one.
pub fn expect_utc_timestamp(value: &Value, reply: &Reply, what: &str) -> OffsetDateTime {
    let text = value.as_str().unwrap_or_default();
    let parsed = OffsetDateTime::parse(text, &Rfc3339);
    reply.check(
        parsed.is_ok(),
        &format!("`{what}` must be RFC 3339, got {value}"),
    );
    let parsed = parsed.unwrap();
    reply.check(
        parsed.offset() == UtcOffset::UTC,
        &format!("`{what}` must be in UTC, got {value}"),
    );
    parsed
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a `WWW-Authenticate` value's scheme is `Bearer`.
fn scheme_is_bearer(challenge: &str) -> bool {
    challenge
        .split_whitespace()
        .next()
        .is_some_and(|scheme| scheme.trim_end_matches(',').eq_ignore_ascii_case("bearer"))
}

/// A fresh, already normalised (lower-case) email address.
pub fn fresh_email() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "user{n}-{}@example.com",
        random_string(10).to_ascii_lowercase()
    )
}

/// A fresh random password (24 characters, easy to spot in logs).
pub fn fresh_password() -> String {
    format!("pw-{}", random_string(21))
}

/// `segment` percent-encoded for a URL path (unreserved characters kept).
pub fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}
