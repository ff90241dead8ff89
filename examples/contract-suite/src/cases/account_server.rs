//! Account cases across routes (401 precedence, the OpenAPI document, the
//! outbox's files) and the ones that start their own servers: token
//! lifetimes, required verification, the mail limits, logs, and the rows a
//! deleted account leaves (none).

use std::{path::Path, time::Duration};

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::{Connection as _, postgres::PgConnection};

use crate::{
    Backend, Reply, Server, Target,
    client::{fresh_email, fresh_password},
};

use super::account::{REVOKED, delete_me, expect_accepted, expect_no_content, expect_verified};
use super::account_tokens::{
    change_email, request_reset, reset_password, reset_token, send_verification,
    verification_token, verify_email,
};
use super::instances::post_from;

/// Panics unless the reply is 429 `too_many_attempts` with a `Retry-After`
/// of whole seconds, at least 1.
fn expect_too_many(reply: &Reply) -> Value {
    let body = reply.expect_problem(429, "too_many_attempts");
    let retry_after = reply.header("retry-after").unwrap_or_default();
    reply.check(
        retry_after
            .trim()
            .parse::<u64>()
            .is_ok_and(|secs| secs >= 1),
        "Retry-After must be a whole number of seconds, at least 1",
    );
    body
}

/// On every account route that needs a token, a missing token (401
/// `missing_token`, bare `Bearer` challenge; send-verification-email has
/// a route without one), a garbage token (401
/// `invalid_token`) and a revoked session's token (401 `session_revoked`)
/// win over body errors: broken JSON, a wrong `Content-Type`, and values
/// that would be 422.
pub async fn account_routes_need_token(target: &Target) {
    let api = target.api();
    let signed_out = api.sign_up().await;
    api.sign_out(&signed_out.access_token)
        .await
        .expect_status(204);
    let json = Some("application/json");
    let with_body: [(Method, &str, &str); 5] = [
        (
            Method::PATCH,
            "/api/auth/me",
            r#"{"name": "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789x"}"#,
        ),
        (
            Method::POST,
            "/api/auth/change-password",
            r#"{"current_password": "whatever-123", "new_password": "short"}"#,
        ),
        (Method::POST, "/api/auth/send-verification-email", "{}"),
        (
            Method::POST,
            "/api/auth/change-email",
            r#"{"new_email": "not-an-email", "password": "whatever-123"}"#,
        ),
        (
            Method::DELETE,
            "/api/auth/me",
            r#"{"password": "whatever-123"}"#,
        ),
    ];
    let mut requests: Vec<(Method, String, Option<&str>, String)> = Vec::new();
    for (method, path, valued) in with_body {
        for (content_type, body) in [
            (json, "{".to_owned()),
            (Some("text/plain"), valued.to_owned()),
            (json, valued.to_owned()),
        ] {
            requests.push((method.clone(), path.to_owned(), content_type, body));
        }
    }
    for (method, path) in [
        (Method::GET, "/api/auth/sessions"),
        (Method::DELETE, "/api/auth/sessions"),
        (Method::DELETE, "/api/auth/sessions/some-session-id"),
    ] {
        requests.push((method, path.to_owned(), None, String::new()));
    }
    for (method, path, content_type, body) in requests {
        let what = format!("{method} {path} with {content_type:?} {body:?}");
        // Without a token, send-verification-email is the `{"email"}`
        // route (`verification_without_a_token`); a token it is sent counts.
        if !path.ends_with("/send-verification-email") {
            api.raw(method.clone(), &path, None, content_type, body.clone())
                .await
                .noted(format!("no token: {what}"))
                .expect_unauthorized_without_token("missing_token");
        }
        api.raw(
            method.clone(),
            &path,
            Some("garbage"),
            content_type,
            body.clone(),
        )
        .await
        .noted(format!("a garbage token: {what}"))
        .expect_token_rejected(&["invalid_token"]);
        api.raw(
            method,
            &path,
            Some(&signed_out.access_token),
            content_type,
            body,
        )
        .await
        .noted(format!("a signed-out session's token: {what}"))
        .expect_token_rejected(REVOKED);
    }
}

/// `GET /api/openapi.json` describes every account route, each method with
/// its success status and the error statuses that apply to it.
pub async fn openapi_lists_account_routes(target: &Target) {
    let api = target.api();
    let reply = api.get("/api/openapi.json", None).await;
    let doc = reply.expect_json(200);
    let routes: [(&str, &str, &[&str]); 12] = [
        ("/api/auth/me", "get", &["200", "401"]),
        ("/api/auth/me", "patch", &["200", "400", "401", "422"]),
        ("/api/auth/me", "delete", &["204", "400", "401", "403"]),
        (
            "/api/auth/change-password",
            "post",
            &["204", "400", "401", "403", "422"],
        ),
        (
            "/api/auth/request-password-reset",
            "post",
            &["202", "400", "429"],
        ),
        ("/api/auth/reset-password", "post", &["204", "400", "422"]),
        (
            "/api/auth/send-verification-email",
            "post",
            &["202", "400", "401", "422", "429"],
        ),
        ("/api/auth/verify-email", "post", &["200", "400"]),
        (
            "/api/auth/change-email",
            "post",
            &["202", "400", "401", "403", "422"],
        ),
        ("/api/auth/sessions", "get", &["200", "401"]),
        ("/api/auth/sessions", "delete", &["204", "401"]),
        ("/api/auth/sessions/{id}", "delete", &["204", "401", "404"]),
    ];
    for (path, method, statuses) in routes {
        let operation = &doc["paths"][path][method];
        reply.check(
            operation.is_object(),
            &format!(
                "the document must describe {} {path}; its paths are {:?}",
                method.to_uppercase(),
                doc["paths"]
                    .as_object()
                    .map(|paths| paths.keys().collect::<Vec<_>>())
            ),
        );
        for status in statuses {
            reply.check(
                operation["responses"][*status].is_object(),
                &format!(
                    "{} {path} must document a {status} response; it has {:?}",
                    method.to_uppercase(),
                    operation["responses"]
                        .as_object()
                        .map(|r| r.keys().collect::<Vec<_>>())
                ),
            );
        }
    }
}

/// The outbox folder and its message files are the owner's only (0700 and
/// 0600), and a file has the headers of the documented format.
pub async fn outbox_files_are_owner_only(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    expect_accepted(&request_reset(&api, &account.email).await);
    let mail = outbox.wait_for(&account.email, "password_reset").await;
    let content = std::fs::read_to_string(&mail.file).expect("the message file");
    for header in [
        "From:",
        "To:",
        "Subject:",
        "Date:",
        "X-Auth-Message:",
        "Content-Type: text/plain",
    ] {
        assert!(
            content.lines().any(|line| line.starts_with(header)),
            "the message file has no {header:?} header:\n{content}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(
            mode(&mail.file),
            0o600,
            "a message file is 0600: {}",
            mail.file.display()
        );
        assert_eq!(mode(outbox.dir()), 0o700, "the outbox folder is 0700");
    }
}

/// With `PASSWORD_RESET_TTL_SECS=2` and `EMAIL_VERIFICATION_TTL_SECS=2`: a
/// reset token used at once works, and reset and verification tokens used
/// 3.5 s after they were sent are 400 `invalid_token`.
pub async fn one_time_tokens_expire(binary: &Path, backend: Backend) {
    let server = Server::start(
        binary,
        backend,
        &[
            ("PASSWORD_RESET_TTL_SECS", "2"),
            ("EMAIL_VERIFICATION_TTL_SECS", "2"),
        ],
    )
    .await;
    let target = server.target();
    let api = target.api();
    let outbox = server.outbox();
    let account = api.sign_up().await;
    let prompt = reset_token(&api, &outbox, &account.email, 1).await;
    let password = fresh_password();
    expect_no_content(
        &reset_password(&api, &prompt, &password)
            .await
            .noted("a token used at once"),
    );

    let other = api.sign_up().await;
    let late_reset = reset_token(&api, &outbox, &account.email, 2).await;
    let late_verification = verification_token(&api, &outbox, &other, 1).await;
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    reset_password(&api, &late_reset, &fresh_password())
        .await
        .noted("a reset token past its lifetime")
        .expect_problem(400, "invalid_token");
    verify_email(&api, &late_verification)
        .await
        .noted("a verification token past its lifetime")
        .expect_problem(400, "invalid_token");
    api.sign_in(&account.email, &password)
        .await
        .expect_auth_response(200, &target, &account.email);
    let me = api.me(&other.access_token).await;
    expect_verified(&me, &me.expect_json(200)["user"], false);
}

/// With `MAIL_LIMIT_REQUESTS=2`: the third `request-password-reset` for one
/// address is 429 `too_many_attempts` with `Retry-After`, for a registered
/// and an unknown address alike (and only two messages went out); another
/// address, and the limited address's other mail (a verification link),
/// are unaffected; `send-verification-email` is limited the same.
pub async fn mail_requests_are_limited_per_address(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("MAIL_LIMIT_REQUESTS", "2")]).await;
    let target = server.target();
    let api = target.api();
    let outbox = server.outbox();
    let account = api.sign_up().await;
    let unknown = fresh_email();
    let mut limited = Vec::new();
    for email in [account.email.as_str(), unknown.as_str()] {
        for attempt in 1..=2 {
            expect_accepted(
                &request_reset(&api, email)
                    .await
                    .noted(format!("request #{attempt} for {email}")),
            );
        }
        limited.push(expect_too_many(
            &request_reset(&api, email)
                .await
                .noted(format!("request #3 for {email}")),
        ));
    }
    assert_eq!(
        (
            &limited[0]["status"],
            &limited[0]["code"],
            &limited[0]["title"]
        ),
        (
            &limited[1]["status"],
            &limited[1]["code"],
            &limited[1]["title"]
        ),
        "registered and unknown addresses are limited alike"
    );
    expect_accepted(
        &request_reset(&api, &fresh_email())
            .await
            .noted("another address"),
    );
    outbox
        .wait_for_nth(&account.email, "password_reset", 2)
        .await;
    assert_eq!(
        outbox.count_for_after_quiet(&account.email).await,
        2,
        "the limited request sent nothing: {:#?}",
        outbox.messages_for(&account.email)
    );

    expect_accepted(
        &send_verification(&api, &account.access_token)
            .await
            .noted("a verification link to the address whose resets are limited"),
    );
    outbox.wait_for(&account.email, "email_verification").await;

    let other = api.sign_up().await;
    for attempt in 1..=2 {
        expect_accepted(
            &send_verification(&api, &other.access_token)
                .await
                .noted(format!("verification #{attempt}")),
        );
    }
    expect_too_many(
        &send_verification(&api, &other.access_token)
            .await
            .noted("verification #3"),
    );
}

/// With `CLIENT_LIMIT_REQUESTS=3` (and a generous per-address limit):
/// `request-password-reset` from one client for three different addresses
/// is 202, the fourth is 429 `too_many_attempts` with `Retry-After`.
pub async fn mail_requests_are_limited_per_client(binary: &Path, backend: Backend) {
    let server = Server::start(
        binary,
        backend,
        &[
            ("CLIENT_LIMIT_REQUESTS", "3"),
            ("MAIL_LIMIT_REQUESTS", "1000"),
        ],
    )
    .await;
    let api = server.target().api();
    for attempt in 1..=3 {
        expect_accepted(
            &request_reset(&api, &fresh_email())
                .await
                .noted(format!("request #{attempt}")),
        );
    }
    expect_too_many(
        &request_reset(&api, &fresh_email())
            .await
            .noted("request #4 from the same client"),
    );
}

/// With `MAIL_CLIENT_LIMIT_REQUESTS=3` and `REQUIRE_EMAIL_VERIFICATION`
/// behind a trusted proxy: one client asks for three messages, to three
/// addresses by three flows (a reset, a verification link, an email
/// sign-in), each 202; its fourth, a sign-up whose verification link would
/// go to yet another address, is 429 `too_many_attempts` with
/// `Retry-After`, as is a reset, though no address and no flow is over its
/// own budget. Another client signs up (201) and asks for a reset.
pub async fn mail_requests_are_limited_per_client_over_addresses(binary: &Path, backend: Backend) {
    let server = Server::start(
        binary,
        backend,
        &[
            ("MAIL_CLIENT_LIMIT_REQUESTS", "3"),
            ("REQUIRE_EMAIL_VERIFICATION", "true"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let api = server.target().api();
    let (client, other) = ("198.51.100.7", "198.51.100.8");
    for path in [
        "/api/auth/request-password-reset",
        "/api/auth/send-verification-email",
        "/api/auth/email-sign-in",
    ] {
        let body = json!({ "email": fresh_email() });
        expect_accepted(&post_from(&api, path, client, &body).await);
    }
    let sign_up = json!({ "email": fresh_email(), "password": fresh_password() });
    expect_too_many(
        &post_from(&api, "/api/auth/sign-up", client, &sign_up)
            .await
            .noted("a sign-up that would mail the client's fourth message"),
    );
    let body = json!({ "email": fresh_email() });
    expect_too_many(
        &post_from(&api, "/api/auth/request-password-reset", client, &body)
            .await
            .noted("the client's fourth message"),
    );
    let signed_up = post_from(&api, "/api/auth/sign-up", other, &sign_up)
        .await
        .noted("another client signs up");
    signed_up.expect_json(201);
    expect_accepted(
        &post_from(&api, "/api/auth/request-password-reset", other, &body)
            .await
            .noted("another client"),
    );
}

/// A reset, a verification and an email change leave no one-time token
/// and no new password in the server's output, which does log the
/// requests.
pub async fn account_logs_hold_no_tokens(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[]).await;
    let target = server.target();
    let api = target.api();
    let outbox = server.outbox();
    let account = api.sign_up().await;
    let reset = reset_token(&api, &outbox, &account.email, 1).await;
    let new_password = fresh_password();
    expect_no_content(&reset_password(&api, &reset, &new_password).await);
    let session = api.sign_in(&account.email, &new_password).await;
    session.expect_json(200);
    let account = crate::Account::from_auth_response(&session, &account.email, &new_password);
    let verification = verification_token(&api, &outbox, &account, 1).await;
    verify_email(&api, &verification).await.expect_json(200);
    let new_email = fresh_email();
    expect_accepted(&change_email(&api, &account, &new_email, &new_password).await);
    let change = outbox
        .wait_for(&new_email, "email_change")
        .await
        .expect_token();
    verify_email(&api, &change).await.expect_json(200);
    outbox.wait_for(&account.email, "email_changed").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let logs = server.logs();
    for (which, secret) in [
        ("the reset token", &reset),
        ("the verification token", &verification),
        ("the email-change token", &change),
        ("the new password", &new_password),
    ] {
        assert!(
            !logs.contains(secret.as_str()),
            "the server's output contains {which} ({secret})\n---- output ----\n{logs}"
        );
    }
    assert!(
        logs.contains("/api/auth/reset-password"),
        "the server must log requests, or this case proves nothing\n---- output ----\n{logs}"
    );
}

/// PostgreSQL, looked at directly: after `DELETE /api/auth/me`, no row of
/// the user is left in `auth_users`, `auth_sessions` or `tasks` (counted
/// before, too, so that the queries are known to find them).
pub async fn delete_account_leaves_no_rows(binary: &Path, backend: Backend) {
    assert!(
        matches!(backend, Backend::Postgres),
        "delete_account_leaves_no_rows runs on PostgreSQL only"
    );
    let server = Server::start(binary, backend, &[]).await;
    let api = server.target().api();
    let account = api.sign_up().await;
    api.new_session(&account).await;
    for title in ["one", "two"] {
        api.create_task(&account, title, None).await;
    }
    let bystander = api.sign_up().await;
    api.create_task(&bystander, "stays", None).await;
    let mut db = PgConnection::connect(server.database_url())
        .await
        .expect("the server's database");
    assert_eq!(
        row_counts(&mut db, &account.user_id).await,
        [1, 2, 2],
        "before"
    );
    expect_no_content(&delete_me(&api, &account.access_token, &account.password).await);
    assert_eq!(
        row_counts(&mut db, &account.user_id).await,
        [0, 0, 0],
        "after"
    );
    assert_eq!(
        row_counts(&mut db, &bystander.user_id).await,
        [1, 1, 1],
        "another user's rows"
    );
    let _ = db.close().await;
}

/// The rows of `user_id` in `auth_users`, `auth_sessions` and `tasks`.
async fn row_counts(db: &mut PgConnection, user_id: &str) -> Vec<i64> {
    let mut counts = Vec::new();
    for query in [
        "SELECT count(*) FROM auth_users WHERE id = $1",
        "SELECT count(*) FROM auth_sessions WHERE user_id = $1",
        "SELECT count(*) FROM tasks WHERE user_id = $1",
    ] {
        let count: i64 = sqlx::query_scalar(query)
            .bind(user_id)
            .fetch_one(&mut *db)
            .await
            .unwrap_or_else(|error| panic!("{query}: {error}"));
        counts.push(count);
    }
    counts
}

/// PostgreSQL, looked at directly: no column of any table in the server's
/// schema holds a one-time token (reset, verification, email change), a
/// refresh token or a password, as text or as the token's raw bytes; the
/// contract says they are stored only as hashes.
pub async fn secrets_are_stored_hashed(binary: &Path, backend: Backend) {
    use base64::Engine as _;
    assert!(
        matches!(backend, Backend::Postgres),
        "secrets_are_stored_hashed runs on PostgreSQL only"
    );
    let server = Server::start(binary, backend, &[]).await;
    let api = server.target().api();
    let outbox = server.outbox();
    let account = api.sign_up().await;
    // Pending, unused tokens: the rows that hold them must still exist.
    let reset = reset_token(&api, &outbox, &account.email, 1).await;
    let verification = verification_token(&api, &outbox, &account, 1).await;
    let new_email = fresh_email();
    expect_accepted(&change_email(&api, &account, &new_email, &account.password).await);
    let change = outbox
        .wait_for(&new_email, "email_change")
        .await
        .expect_token();

    let mut db = PgConnection::connect(server.database_url())
        .await
        .expect("the server's database");
    let columns = schema_columns(&mut db).await;
    assert!(
        columns.iter().any(|(table, _, _)| table == "auth_sessions"),
        "the schema has the auth tables: {columns:?}"
    );
    for (which, secret) in [
        ("the reset token", &reset),
        ("the verification token", &verification),
        ("the email-change token", &change),
        ("the refresh token", &account.refresh_token),
        ("the password", &account.password),
    ] {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(secret.as_bytes())
            .ok();
        for (table, column, data_type) in &columns {
            let as_text = format!(
                "SELECT count(*) FROM \"{table}\" WHERE position($1 in \"{column}\"::text) > 0"
            );
            let mut found: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(as_text))
                .bind(secret.as_str())
                .fetch_one(&mut db)
                .await
                .unwrap_or_else(|error| panic!("{table}.{column}: {error}"));
            if let (Some(raw), "bytea") = (&raw, data_type.as_str()) {
                let as_bytes = format!(
                    "SELECT count(*) FROM \"{table}\" WHERE position($1 in \"{column}\") > 0"
                );
                found += sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(as_bytes))
                    .bind(raw.as_slice())
                    .fetch_one(&mut db)
                    .await
                    .unwrap_or_else(|error| panic!("{table}.{column}: {error}"));
            }
            assert_eq!(
                found, 0,
                "{which} is stored in the clear in {table}.{column}"
            );
        }
    }
    let _ = db.close().await;
}

/// Every column of the server's schema: table, column and data type, for
/// the cases that search the stored rows for secrets.
pub(super) async fn schema_columns(db: &mut PgConnection) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text \
         FROM information_schema.columns WHERE table_schema = current_schema()",
    )
    .fetch_all(db)
    .await
    .expect("the schema's columns")
}
