//! Cases that start their own servers: logs, shutdown, restart, rate limit.

use std::{path::Path, sync::Arc, time::Duration};

use reqwest::Method;
use serde_json::json;

use crate::{
    Backend, Server,
    client::{fresh_email, fresh_password},
    tokens::{self, Alg},
};

/// A sign-up, sign-in, failed sign-in, refresh, reuse, task and sign-out
/// flow, plus a forged token and a token in a query string, leaves no
/// password, token or JWT secret in the server's output, which does log the
/// requests. (Strict rotation, `REFRESH_REUSE_INTERVAL_SECS=0`, so that the
/// replay is reuse at once.)
pub async fn logs_hold_no_secrets(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("REFRESH_REUSE_INTERVAL_SECS", "0")]).await;
    let target = server.target();
    let api = target.api();

    let account = api.sign_up().await;
    let second = api.new_session(&account).await;
    let wrong_password = fresh_password();
    api.sign_in(&account.email, &wrong_password)
        .await
        .expect_unauthorized_without_token("invalid_credentials");
    let reply = api.refresh(&second.refresh_token).await;
    reply.expect_auth_response(200, &target, &account.email);
    let rotated = second.with_session(&reply);
    api.refresh(&second.refresh_token)
        .await
        .expect_problem(401, "refresh_token_reused");
    let task = api.create_task(&account, "log me not", None).await;
    api.list_tasks(&account, "").await;
    api.json(
        Method::PUT,
        &account.task_path(&task["id"]),
        Some(&account.access_token),
        &json!({ "title": "still not" }),
    )
    .await
    .expect_json(200);
    let forged = tokens::sign(
        Alg::Hs256,
        b"a secret the server does not have, 48 bytes long",
        &tokens::claims(&target, &account.user_id, &account.session_id),
    );
    api.me(&forged)
        .await
        .expect_token_rejected(&["invalid_token"]);
    // A client that puts its token in the query string gets a 401; a
    // request log that shows query strings would still leak the token.
    api.get(
        &format!("/api/auth/me?access_token={}", rotated.access_token),
        None,
    )
    .await
    .expect_unauthorized_without_token("missing_token");
    api.sign_out(&account.access_token).await.expect_status(204);
    // Let the server's last lines arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let logs = server.logs();
    let mut secrets = vec![
        ("the password", account.password.clone()),
        ("a wrong password", wrong_password),
        ("the JWT secret", target.secret().to_owned()),
        ("a forged token", forged),
    ];
    for (which, session) in [
        ("sign-up", &account),
        ("sign-in", &second),
        ("refresh", &rotated),
    ] {
        secrets.push((which, session.access_token.clone()));
        secrets.push((which, session.refresh_token.clone()));
        // A log that shows part of a token (say, without its header) leaks it too.
        let signature = session.access_token.rsplit('.').next().unwrap_or_default();
        secrets.push((which, signature.to_owned()));
    }
    for (which, secret) in &secrets {
        assert!(!secret.is_empty(), "{which}: nothing to look for");
        assert!(
            !logs.contains(secret.as_str()),
            "the server's output contains a secret ({which}: {secret})\n---- output ----\n{logs}"
        );
    }
    assert!(
        logs.contains("/api/auth/sign-in"),
        "the server must log requests (a line with the path /api/auth/sign-in), \
         or this case proves nothing\n---- output ----\n{logs}"
    );
}

/// SIGTERM makes the server exit successfully within 10 s, after which it
/// no longer answers.
pub async fn graceful_shutdown(binary: &Path, backend: Backend) {
    let mut server = Server::start(binary, backend, &[]).await;
    let target = server.target();
    let api = target.api();
    api.get("/healthz", None).await.expect_json(200);
    api.sign_up().await;

    let status = server.stop_gracefully().await;
    assert!(
        status.success(),
        "after SIGTERM the server must exit successfully, it exited with {status}\n\
         ---- output ----\n{}",
        server.logs()
    );
    let after = api.http().get(target.url("/healthz")).send().await;
    assert!(
        after.is_err(),
        "the server still answers after exiting: {after:?}"
    );
}

/// Without `JWT_SECRET`, a SQLite server keeps a generated secret in a file
/// next to the database (`*jwt-secret*`, mode 0600): after a restart on the
/// same directory, tokens issued before still work.
pub async fn restart_keeps_tokens(binary: &Path, backend: Backend) {
    assert!(
        matches!(backend, Backend::Sqlite),
        "restart_keeps_tokens runs on SQLite only"
    );
    let dir = Arc::new(
        tempfile::Builder::new()
            .prefix("contract-suite-restart-")
            .tempdir()
            .expect("a temporary directory"),
    );
    let env = vec![("JWT_SECRET".to_owned(), None)];

    let mut first =
        Server::start_with(binary, Backend::SqliteIn(Arc::clone(&dir)), env.clone()).await;
    let api = first.target().api();
    let account = api.sign_up().await;
    let task = api.create_task(&account, "survives restarts", None).await;
    let status = first.stop_gracefully().await;
    assert!(
        status.success(),
        "the first server exited with {status}\n{}",
        first.logs()
    );
    let first_logs = first.logs();
    drop(first);

    let second = Server::start_with(binary, Backend::SqliteIn(Arc::clone(&dir)), env).await;
    let target = second.target();
    let api = target.api();
    let reply = api
        .me(&account.access_token)
        .await
        .noted("an access token from before the restart");
    let body = reply.expect_json(200);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the same user",
    );
    let after = api
        .get_task(&account, task["id"].as_i64().unwrap_or_default())
        .await;
    assert_eq!(after["title"], "survives restarts");
    api.refresh(&account.refresh_token)
        .await
        .noted("a refresh token from before the restart")
        .expect_auth_response(200, &target, &account.email);

    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the database directory")
        .flatten()
        .collect();
    let names: Vec<String> = files
        .iter()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let secret_file = files
        .iter()
        .find(|entry| entry.file_name().to_string_lossy().contains("jwt-secret"))
        .unwrap_or_else(|| {
            panic!("no file named *jwt-secret* next to the database; the directory has {names:?}")
        });
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = secret_file
            .metadata()
            .expect("the secret file's metadata")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the secret file must be private (0600), it is {:o}",
            mode & 0o777
        );
    }
    let secret = std::fs::read_to_string(secret_file.path()).unwrap_or_default();
    let secret = secret.trim();
    if secret.len() >= 16 {
        for logs in [&first_logs, &second.logs()] {
            assert!(
                !logs.contains(secret),
                "the server's output contains the generated JWT secret\n---- output ----\n{logs}"
            );
        }
    }
}

/// With `SIGN_IN_MAX_FAILURES=3`: after three failed sign-ins for one email
/// (registered or not) the next is 429 `too_many_attempts` with
/// `Retry-After` (whole seconds, at least 1), even with the right password;
/// another email is unaffected.
pub async fn sign_in_rate_limit(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("SIGN_IN_MAX_FAILURES", "3")]).await;
    let target = server.target();
    let api = target.api();
    let victim = api.sign_up().await;
    let bystander = api.sign_up().await;
    let unknown = fresh_email();

    let mut limited = Vec::new();
    for (email, right_password) in [
        (victim.email.as_str(), victim.password.as_str()),
        (unknown.as_str(), "any-password-123"),
    ] {
        for attempt in 1..=3 {
            api.sign_in(email, "wrong-password-123")
                .await
                .noted(format!("failed sign-in #{attempt} for {email}"))
                .expect_unauthorized_without_token("invalid_credentials");
        }
        for password in [right_password, "wrong-password-123"] {
            let reply = api
                .sign_in(email, password)
                .await
                .noted(format!("sign-in for {email} after three failures"));
            let body = reply.expect_problem(429, "too_many_attempts");
            let retry_after = reply.header("retry-after").unwrap_or_default();
            reply.check(
                retry_after
                    .trim()
                    .parse::<u64>()
                    .is_ok_and(|secs| secs >= 1),
                "Retry-After must be a whole number of seconds, at least 1",
            );
            limited.push(body);
        }
    }
    for body in &limited[1..] {
        assert_eq!(
            (&body["status"], &body["code"], &body["title"]),
            (
                &limited[0]["status"],
                &limited[0]["code"],
                &limited[0]["title"]
            ),
            "registered and unknown emails must be limited alike"
        );
    }

    api.sign_in(&bystander.email, &bystander.password)
        .await
        .noted("another email")
        .expect_auth_response(200, &target, &bystander.email);
    api.sign_in(&fresh_email(), "wrong-password-123")
        .await
        .noted("another unknown email")
        .expect_unauthorized_without_token("invalid_credentials");
}

/// A session ends at its absolute lifetime (`SESSION_TTL_SECS`): refresh
/// works until then and is a 401 afterwards, and tokens never outlive it
/// (`expires_in` is capped by the session).
pub async fn sessions_end_at_their_lifetime(binary: &Path, backend: Backend) {
    let server = Server::start(
        binary,
        backend,
        &[("SESSION_TTL_SECS", "3"), ("ACCESS_TOKEN_TTL_SECS", "2")],
    )
    .await;
    let target = server.target();
    let api = target.api();
    // Not `api.sign_up()`: it insists on the default 900 s lifetime.
    let signed_up = api
        .sign_up_as(&fresh_email(), &fresh_password(), None)
        .await
        .expect_json(201);
    let first_refresh_token = signed_up["refresh_token"].as_str().unwrap();
    let reply = api.refresh(first_refresh_token).await;
    let refreshed = reply.expect_json(200);
    assert!(
        refreshed["expires_in"]
            .as_u64()
            .is_some_and(|secs| secs <= 2),
        "expires_in: {}",
        refreshed["expires_in"]
    );
    let refresh_token = refreshed["refresh_token"].as_str().unwrap().to_owned();
    let access_token = refreshed["access_token"].as_str().unwrap().to_owned();
    // Used once while the session lives (a server may remember that)...
    api.me(&access_token)
        .await
        .noted("/me while the session lives")
        .expect_status(200);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    // ...and refused after its end, although the token is still within
    // the clock leeway of its own `exp`.
    api.me(&access_token)
        .await
        .noted("/me after the session's lifetime")
        .expect_token_rejected(&["session_revoked", "session_expired", "token_expired"]);
    api.refresh(&refresh_token)
        .await
        .noted("refresh after the session's lifetime")
        .expect_problem_in(401, &["session_expired", "invalid_refresh_token"]);
}
