//! The mail queue across a crash: a message asked for just before a
//! `kill -9` is sent by the restarted server, exactly once, and its link
//! works. Against a real SMTP server ([`SmtpCapture`]).

use std::{path::Path, sync::Arc, time::Duration};

use sqlx::{Connection as _, Row as _};

use crate::{
    Backend, Server,
    client::fresh_password,
    server::{free_port, skip_unless_required},
    smtp::{SMTP_VAR, SmtpCapture},
};

use super::{
    account::{expect_accepted, expect_no_content},
    account_tokens::{request_reset, reset_password},
};

/// How long the restarted server may take to send the message: at once
/// normally, but if the first server died holding the job (in the few
/// milliseconds of a send), its 60 s claim must end first.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(90);

/// How long to watch for a duplicate after the message arrived.
const DUPLICATE_WATCH: Duration = Duration::from_secs(3);

/// One row of the queue table, as the case reads it.
#[derive(Debug)]
struct Row {
    payload: String,
    attempts: i64,
    claimed: bool,
}

/// The rows of `auth_mail_outbox` in the server's database, read directly.
async fn queue_rows(server: &Server) -> Vec<Row> {
    let url = server.database_url();
    let query = "SELECT payload, attempts, claimed_until IS NOT NULL AS claimed \
                 FROM auth_mail_outbox ORDER BY id";
    if url.starts_with("postgres") {
        let mut db = sqlx::PgConnection::connect(url)
            .await
            .expect("the server's PostgreSQL database");
        let rows = sqlx::query(query).fetch_all(&mut db).await.expect(query);
        rows.iter()
            .map(|row| Row {
                payload: row.get("payload"),
                attempts: i64::from(row.get::<i32, _>("attempts")),
                claimed: row.get("claimed"),
            })
            .collect()
    } else {
        let mut db = sqlx::SqliteConnection::connect(url)
            .await
            .expect("the server's SQLite database");
        let rows = sqlx::query(query).fetch_all(&mut db).await.expect(query);
        let rows = rows
            .iter()
            .map(|row| Row {
                payload: row.get("payload"),
                attempts: row.get("attempts"),
                claimed: row.get("claimed"),
            })
            .collect();
        let _ = db.close().await;
        rows
    }
}

/// `SMTP_URL` points at a loopback port where nothing listens, so the
/// first server's sends fail and the reset it accepted (202) stays queued:
/// one row holding the job (`{"job":"password_reset","email":…}`, no
/// token), tried at least once. The server is killed with SIGKILL; an SMTP
/// server starts on that port; a second server on the same database sends
/// the message with no new request: exactly one arrives (and no second
/// one within a few seconds), the queue is empty, and its link's token
/// resets the password. Skipped without `AUTH_TEST_SMTP` (a failure when
/// it is `required` and aiosmtpd cannot run).
pub async fn queued_mail_survives_kill_9(binary: &Path, backend: Backend) {
    let test = "queued_mail_survives_kill_9";
    if skip_unless_required(SMTP_VAR, SmtpCapture::unavailable(), test) {
        return;
    }
    let port = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let env = [("SMTP_URL", smtp_url.as_str())];
    let (backend, again) = match backend {
        Backend::Sqlite | Backend::SqliteIn(_) => {
            let dir = Arc::new(
                tempfile::Builder::new()
                    .prefix("contract-suite-kill-")
                    .tempdir()
                    .expect("a temporary directory"),
            );
            (
                Backend::SqliteIn(Arc::clone(&dir)),
                Some(Backend::SqliteIn(dir)),
            )
        }
        other => (other, None),
    };
    let mut first = Server::start(binary, backend, &env).await;
    let again = again.unwrap_or_else(|| Backend::PostgresIn(first.database_url().to_owned()));
    let api = first.target().api();
    let account = api.sign_up().await;
    expect_accepted(&request_reset(&api, &account.email).await);

    // Wait until the first server has tried (and failed) to send, and has
    // let go of the job for its retry.
    let expected = format!(r#"{{"job":"password_reset","email":"{}"}}"#, account.email);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = queue_rows(&first).await;
        assert_eq!(rows.len(), 1, "one queued job: {rows:?}");
        assert_eq!(rows[0].payload, expected, "the job, and no token");
        if rows[0].attempts >= 1 && !rows[0].claimed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first server never tried the job: {rows:?}\n{}",
            first.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    assert_eq!(
        queue_rows(&first).await.len(),
        1,
        "the job outlives the crash"
    );

    let smtp = SmtpCapture::start_on(port);
    let second = Server::start(binary, again, &env).await;
    let arrived = smtp.wait_for(1, DELIVERY_TIMEOUT).await;
    tokio::time::sleep(DUPLICATE_WATCH).await;
    let messages = smtp.messages();
    assert_eq!(
        messages.len(),
        1,
        "exactly one message: {messages:#?}\n{}",
        second.logs()
    );
    let mail = &arrived[0];
    assert_eq!(mail.to, account.email);
    assert_eq!(mail.kind, "password_reset");
    let rows = queue_rows(&second).await;
    assert!(rows.is_empty(), "the queue is empty once sent: {rows:?}");

    let api = second.target().api();
    let password = fresh_password();
    expect_no_content(&reset_password(&api, &mail.expect_token(), &password).await);
    api.sign_in(&account.email, &password)
        .await
        .noted("the password the link set")
        .expect_auth_response(200, &second.target(), &account.email);
    drop(smtp);
    drop(first);
}
