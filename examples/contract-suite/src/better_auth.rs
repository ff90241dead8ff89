//! Trusted issuer mode against the real thing: a real Better Auth (the npm
//! package, pinned in `tests/better-auth/package-lock.json`) signs the tokens
//! and serves its JWKS; the server under test verifies them.
//!
//! [`trusted_issuer`] starts, for each of EdDSA, ES256, ES512, RS256 and
//! PS256, one `tests/better-auth/issuer.mjs` and one server with
//! `TRUSTED_JWKS_URL`, `JWT_ISSUER` and `JWT_AUDIENCE` pointing at it (the
//! five run at once), and checks:
//!
//! - a Better Auth token reads and writes its user's tasks; another user's
//!   path is 403;
//! - expired, tampered (payload or signature), wrong `aud`, wrong `iss`, and
//!   a `kid` no listed key has (a second Better Auth with the same base URL)
//!   are 401;
//! - after Better Auth rotates its key, a token of the new key verifies
//!   (the server fetches the JWKS again: the unknown-`kid` refetch may wait
//!   out the contract's 10 s limit, so it is retried for up to 25 s), and a
//!   token of the retired key, still in its grace period, still verifies;
//! - the password routes and `GET /api/auth/jwks` are 404.
//!
//! Without `node` or without `tests/better-auth/node_modules` (`npm ci
//! --prefix tests/better-auth`), the test says `skipped: ...` and passes,
//! unless `AUTH_TEST_BETTER_AUTH=required` (as CI sets it), when it fails.

use std::{
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{Api, Backend, Reply, Server};

/// Set to `required` to make a missing Node.js or Better Auth a failure.
pub const REQUIRED_VAR: &str = "AUTH_TEST_BETTER_AUTH";

/// The algorithms Better Auth is run with.
pub const ALGORITHMS: [&str; 5] = ["EdDSA", "ES256", "ES512", "RS256", "PS256"];

/// How long a token of a freshly rotated key may take to verify: the
/// server's unknown-`kid` refetch is limited to once per 10 s.
const ROTATION_WAIT: Duration = Duration::from_secs(25);

/// `tests/better-auth` of the workspace.
fn issuer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/better-auth")
}

/// Why Better Auth cannot be run here, if it cannot.
fn unavailable() -> Option<String> {
    crate::server::node_package_missing(&issuer_dir(), "better-auth")
}

/// A running `issuer.mjs` (killed when dropped).
struct Issuer {
    child: Child,
    base_url: String,
    jwks_url: String,
    http: reqwest::Client,
}

impl Issuer {
    async fn start(alg: &str) -> Self {
        let alg = alg.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new("node")
                .arg("issuer.mjs")
                .args(["--port", "0", "--alg", &alg])
                .current_dir(issuer_dir())
                // Kept open in `child`: when this process ends, however it
                // ends, the pipe closes and the issuer exits with it.
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap_or_else(|error| panic!("cannot start node issuer.mjs: {error}"));
            let stdout = child.stdout.take().expect("the issuer's stdout");
            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .expect("the issuer's first line");
            let started: Value = serde_json::from_str(&line).unwrap_or_else(|error| {
                let _ = child.kill();
                panic!("issuer.mjs --alg {alg} said {line:?}, not its JSON line: {error}")
            });
            Self {
                child,
                base_url: started["baseURL"].as_str().expect("baseURL").to_owned(),
                jwks_url: started["jwks"].as_str().expect("jwks").to_owned(),
                http: crate::client::http_client()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .expect("a reqwest client"),
            }
        })
        .await
        .expect("the issuer starter")
    }

    /// `POST /test/<route>` with `body`; the JSON answer.
    async fn test_route(&self, route: &str, body: &Value) -> Value {
        let url = format!("{}/test/{route}", self.base_url);
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|error| panic!("POST {url}: {error}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "POST {url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("POST {url}: {text}: {error}"))
    }

    /// A Better Auth user `email` (signed up or in): `(user id, token)`.
    async fn user_token(&self, route: &str, email: &str) -> (String, String) {
        let answer = self.test_route(route, &json!({ "email": email })).await;
        (string(&answer["user_id"]), string(&answer["token"]))
    }

    /// A token Better Auth's `signJWT` makes with these claims.
    async fn signed(&self, claims: &Value) -> String {
        string(&self.test_route("sign", claims).await["token"])
    }

    async fn jwks_fetches(&self) -> u64 {
        self.test_route("stats", &json!({})).await["jwks_fetches"]
            .as_u64()
            .expect("jwks_fetches")
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn string(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_owned()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The decoded JSON of part `index` (0 header, 1 payload) of a JWT.
fn part(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("a JWT segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url"))
        .expect("a JSON segment")
}

/// `token` with one character of segment `index` changed.
fn tampered(token: &str, index: usize) -> String {
    let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    let segment = &mut segments[index];
    // A middle character: every bit of it is data (the last one of a
    // signature may carry padding bits a decoder ignores).
    let at = segment.len() / 2;
    let old = segment.as_bytes()[at];
    let new = if old == b'A' { 'B' } else { 'A' };
    segment.replace_range(at..=at, &new.to_string());
    segments.join(".")
}

/// The task list path of `user_id`.
fn tasks(user_id: &str) -> String {
    format!("/api/{user_id}/tasks")
}

/// Better Auth running with `alg`, and `binary` trusting it: every check.
async fn one_algorithm(binary: PathBuf, alg: &'static str) {
    let issuer = Issuer::start(alg).await;
    let server = Server::start_with(
        &binary,
        Backend::Sqlite,
        vec![
            ("TRUSTED_JWKS_URL".into(), Some(issuer.jwks_url.clone())),
            ("JWT_ISSUER".into(), Some(issuer.base_url.clone())),
            ("JWT_AUDIENCE".into(), Some(issuer.base_url.clone())),
            // Trusted mode signs nothing itself.
            ("JWT_SECRET".into(), None),
        ],
    )
    .await;
    let api = Api::new(&server.target());
    let what = |check: &str| format!("{alg}: {check}");

    // A real token: the header and claims Better Auth makes.
    let (alice, token) = issuer.user_token("token", "alice@example.com").await;
    let header = part(&token, 0);
    let claims = part(&token, 1);
    assert_eq!(header["alg"], alg, "{}", what("the token's alg"));
    assert!(header["kid"].is_string(), "{}", what("a kid header"));
    assert_eq!(claims["sub"], alice.as_str(), "{}", what("sub"));
    assert_eq!(claims["iss"], issuer.base_url.as_str(), "{}", what("iss"));
    assert_eq!(claims["aud"], issuer.base_url.as_str(), "{}", what("aud"));

    // It reads and writes its user's tasks.
    let created = api
        .json(
            Method::POST,
            &tasks(&alice),
            Some(&token),
            &json!({ "title": format!("from Better Auth ({alg})") }),
        )
        .await
        .expect_json(201);
    assert_eq!(created["user_id"], alice.as_str(), "{}", what("task owner"));
    let listed = api.get(&tasks(&alice), Some(&token)).await.expect_json(200);
    let listed = listed.as_array().expect("a task list");
    assert!(
        listed.iter().any(|task| task["id"] == created["id"]),
        "{}: {listed:?}",
        what("the new task is listed")
    );

    // Another user's path is 403.
    let (bob, bob_token) = issuer.user_token("token", "bob@example.com").await;
    api.get(&tasks(&alice), Some(&bob_token))
        .await
        .expect_problem(403, "forbidden");
    api.get(&tasks(&bob), Some(&bob_token))
        .await
        .expect_json(200);

    // Better Auth's own tokens that must not pass.
    let expired = issuer
        .signed(&json!({ "sub": alice, "iat": now() - 3600, "exp": now() - 1800 }))
        .await;
    api.get(&tasks(&alice), Some(&expired))
        .await
        .expect_token_rejected(&["token_expired"]);
    let wrong_aud = issuer
        .signed(&json!({ "sub": alice, "aud": "https://elsewhere.example" }))
        .await;
    let wrong_iss = issuer
        .signed(&json!({ "sub": alice, "iss": "https://elsewhere.example" }))
        .await;
    for bad in [
        wrong_aud,
        wrong_iss,
        tampered(&token, 1),
        tampered(&token, 2),
    ] {
        api.get(&tasks(&alice), Some(&bad))
            .await
            .expect_token_rejected(&["invalid_token"]);
    }
    // A signJWT token with the right claims passes: the rejections above
    // are for the claim each one changed.
    let good = issuer.signed(&json!({ "sub": alice })).await;
    api.get(&tasks(&alice), Some(&good)).await.expect_json(200);

    // Better Auth rotates its key: the new key's tokens verify once the
    // server has fetched the JWKS again; the retired key's still do.
    let fetches_before = issuer.jwks_fetches().await;
    let rotated = issuer.test_route("rotate", &json!({})).await;
    assert_eq!(
        rotated["retired_kid"],
        header["kid"],
        "{}",
        what("the retired key is the one that signed")
    );
    let (_, new_token) = issuer.user_token("token", "alice@example.com").await;
    assert_eq!(
        part(&new_token, 0)["kid"],
        rotated["new_kid"],
        "{}",
        what("the new key signs")
    );
    let deadline = Instant::now() + ROTATION_WAIT;
    let reply: Reply = loop {
        let reply = api.get(&tasks(&alice), Some(&new_token)).await;
        if reply.code() == 200 || Instant::now() >= deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    reply.check(
        reply.code() == 200,
        &what("a token of the rotated-in key verifies after a JWKS refetch"),
    );
    assert!(
        issuer.jwks_fetches().await > fetches_before,
        "{}",
        what("the server fetched the JWKS again")
    );
    let retired = api.get(&tasks(&alice), Some(&token)).await;
    retired.check(
        retired.code() == 200,
        &what("a token of the retired key, in its grace period, verifies"),
    );

    // A kid that no listed key has (another Better Auth, same iss and aud).
    let (stranger, stranger_token) = issuer
        .user_token("stranger-token", "alice@example.com")
        .await;
    assert_eq!(part(&stranger_token, 1)["iss"], issuer.base_url.as_str());
    api.get(&tasks(&stranger), Some(&stranger_token))
        .await
        .expect_token_rejected(&["invalid_token"]);

    // The issuer owns accounts: the password and account routes and the
    // JWKS are 404, whatever the body (none, `{}`, not JSON) or token.
    for (method, path) in [
        (Method::POST, "/api/auth/sign-in"),
        (Method::POST, "/api/auth/sign-up"),
        (Method::POST, "/api/auth/refresh"),
        (Method::POST, "/api/auth/sign-out"),
        (Method::GET, "/api/auth/me"),
        (Method::PATCH, "/api/auth/me"),
        (Method::POST, "/api/auth/change-password"),
        (Method::POST, "/api/auth/request-password-reset"),
        (Method::POST, "/api/auth/send-verification-email"),
        (Method::POST, "/api/auth/verify-email"),
        (Method::GET, "/api/auth/sessions"),
        (Method::DELETE, "/api/auth/sessions"),
    ] {
        for (content_type, body) in [
            (None, ""),
            (Some("application/json"), "{}"),
            (Some("application/json"), "{"),
            (Some("text/plain"), "hello"),
        ] {
            for bearer in [None, Some(token.as_str())] {
                api.raw(method.clone(), path, bearer, content_type, body.to_owned())
                    .await
                    .noted(format!(
                        "{}: {method} {path} with {content_type:?} {body:?}, token: {}",
                        alg,
                        bearer.is_some()
                    ))
                    .expect_problem(404, "not_found");
            }
        }
    }
    api.json(
        Method::POST,
        "/api/auth/sign-in",
        None,
        &json!({ "email": "alice@example.com", "password": "correct horse battery staple" }),
    )
    .await
    .expect_status(404);
    api.json(
        Method::POST,
        "/api/auth/sign-up",
        None,
        &json!({ "email": "carol@example.com", "password": "correct horse battery staple" }),
    )
    .await
    .expect_status(404);
    api.get("/api/auth/jwks", None).await.expect_status(404);
    // Nor any other method, or a preflight: nothing says the routes exist.
    api.raw(Method::GET, "/api/auth/sign-in", None, None, String::new())
        .await
        .expect_problem(404, "not_found");
    let doc = api.get("/api/openapi.json", None).await;
    let paths = doc.expect_json(200)["paths"].clone();
    doc.check(
        paths.as_object().is_some_and(|paths| {
            paths.contains_key("/api/{user_id}/tasks")
                && !paths.keys().any(|path| path.starts_with("/api/auth/"))
        }),
        "in trusted-issuer mode the document describes the task routes and no auth route",
    );
    drop(server);
}

/// Runs every check against `binary` for each of [`ALGORITHMS`] (at once,
/// a thread and runtime each); says `skipped: ...` without Node.js or Better
/// Auth unless [`REQUIRED_VAR`] is `required`.
pub fn trusted_issuer(binary: &Path) {
    if crate::server::skip_unless_required(
        REQUIRED_VAR,
        unavailable(),
        "better_auth::trusted_issuer",
    ) {
        return;
    }
    let runs: Vec<_> = ALGORITHMS
        .into_iter()
        .map(|alg| {
            let binary = binary.to_path_buf();
            std::thread::spawn(move || crate::__private::block_on(one_algorithm(binary, alg)))
        })
        .collect();
    let mut failed = Vec::new();
    for (alg, run) in ALGORITHMS.into_iter().zip(runs) {
        if run.join().is_err() {
            failed.push(alg);
        }
    }
    assert!(
        failed.is_empty(),
        "trusted issuer mode failed with Better Auth's {failed:?} (see above)"
    );
}
