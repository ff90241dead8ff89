//! `SmtpMailer` against a real SMTP server on loopback: aiosmtpd, through
//! `tests/smtp_capture.py`, which stores what it receives as JSON.
//!
//! Without python3 and aiosmtpd the server tests skip with a message,
//! unless `AUTH_TEST_SMTP=required` (CI), which makes them fail instead.
// Test code: a panic is a test failure, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use auth_core::{
    AuthError, Email,
    mail::{Mailer, Message, MessageKind, MessageLink, SmtpMailer},
};
use serde_json::Value;

const FROM: &str = "Tasks <auth@example.com>";

/// The capture server; killed when dropped.
struct Capture {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Capture {
    /// Starts the server (with required AUTH when `credentials` is given),
    /// or `None` when python3/aiosmtpd are missing and not required.
    fn start(test: &str, credentials: Option<(&str, &str)>) -> Option<Self> {
        let required = std::env::var("AUTH_TEST_SMTP").is_ok_and(|v| v == "required");
        let importable = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !importable {
            assert!(
                !required,
                "AUTH_TEST_SMTP=required but `python3 -c 'import aiosmtpd'` fails"
            );
            // Straight to stderr: the harness captures `eprintln!` of
            // passing tests, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {test} (no python3 with aiosmtpd: python3 -m pip install aiosmtpd; \
                 AUTH_TEST_SMTP=required makes this a failure)"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_capture.py");
        let mut command = Command::new("python3");
        command.arg(script).arg(dir.path());
        if let Some((user, password)) = credentials {
            command.args([user, password]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, port) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = port
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_default();
        let Ok(port) = line.trim().parse() else {
            let _ = child.kill();
            panic!("the capture server did not print its port (got {line:?})");
        };
        Some(Self { child, port, dir })
    }

    fn url(&self, userinfo: &str) -> String {
        format!("smtp://{userinfo}127.0.0.1:{}", self.port)
    }

    /// The messages received so far, oldest first.
    fn received(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
            .collect()
    }
}

fn reset_message() -> Message {
    let link = MessageLink::new(
        "http://localhost:3000/reset-password#token=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde",
    );
    Message {
        kind: MessageKind::PasswordReset,
        to: Email::parse("ada@example.com").unwrap(),
        // Non-ASCII on purpose: the subject and text must survive encoding.
        subject: "Réinitialiser votre mot de passe".into(),
        text: format!(
            "Bonjour,\n\nOpen this link to choose a new password (valid 30 minutes):\n{}\n\n\
             If you did not ask for this, ignore this message. — Tasks\n",
            link.expose_secret()
        ),
        link: Some(link),
    }
}

#[tokio::test]
async fn a_message_arrives_with_its_headers_and_link() {
    let Some(server) = Capture::start("a_message_arrives_with_its_headers_and_link", None) else {
        return;
    };
    let mailer = SmtpMailer::from_url(&server.url(""), FROM).unwrap();
    let message = reset_message();
    mailer.send(&message).await.unwrap();
    mailer.send(&message).await.unwrap();

    let received = server.received();
    assert_eq!(received.len(), 2, "{received:#?}");
    let got = &received[0];
    assert_eq!(got["mail_from"], "auth@example.com");
    assert_eq!(got["rcpt_tos"], serde_json::json!(["ada@example.com"]));
    let headers = &got["headers"];
    assert_eq!(headers["From"], "Tasks <auth@example.com>");
    assert_eq!(headers["To"], "ada@example.com");
    assert_eq!(headers["Subject"], "Réinitialiser votre mot de passe");
    assert_eq!(headers["X-Auth-Message"], "password_reset");
    assert!(
        headers["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(headers["MIME-Version"], "1.0");
    assert!(headers["Date"].is_string());
    let id = headers["Message-ID"].as_str().unwrap();
    assert!(id.ends_with("@example.com>"), "{id}");
    assert_ne!(id, received[1]["headers"]["Message-ID"]);
    // SMTP turns line ends into CRLF and may add one at the end; the text
    // is otherwise intact.
    let text = got["text"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(text.trim_end(), message.text.trim_end());
    let token = text
        .split("#token=")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert_eq!(token.len(), 43);
}

#[tokio::test]
async fn credentials_from_the_url_log_in() {
    // `@` and `:` percent-encoded in the URL, decoded for AUTH.
    let Some(server) = Capture::start(
        "credentials_from_the_url_log_in",
        Some(("auth@example.com", "p@ss:word")),
    ) else {
        return;
    };
    let mailer =
        SmtpMailer::from_url(&server.url("auth%40example.com:p%40ss%3Aword@"), FROM).unwrap();
    mailer.send(&reset_message()).await.unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["login"], "auth@example.com");

    let wrong = SmtpMailer::from_url(&server.url("auth%40example.com:wrong-pass@"), FROM).unwrap();
    let err = wrong.send(&reset_message()).await.unwrap_err();
    // A refused login is configuration, not an outage: retrying will not help.
    assert!(matches!(err, AuthError::Internal(_)), "{err:?}");
    let logged = format!("{err:?} {}", std::error::Error::source(&err).unwrap());
    assert!(!logged.contains("wrong-pass"), "{logged}");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn tls_to_a_server_without_tls_fails() {
    let Some(server) = Capture::start("tls_to_a_server_without_tls_fails", None) else {
        return;
    };
    let url = format!("smtps://127.0.0.1:{}", server.port);
    let mailer = SmtpMailer::from_url(&url, FROM)
        .unwrap()
        .timeout(Duration::from_secs(3));
    let err = mailer.send(&reset_message()).await.unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_closed_port_is_unavailable_at_once() {
    // Bound and dropped: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = SmtpMailer::from_url(&format!("smtp://127.0.0.1:{port}"), FROM).unwrap();
    let started = Instant::now();
    let err = mailer.send(&reset_message()).await.unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    assert_eq!(auth_core::http::HttpError::status_for(&err), 503);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts the connection and never says a word: without a deadline
    // for the whole send, lettre would wait for the greeting forever.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let mailer = SmtpMailer::from_url(&format!("smtp://127.0.0.1:{port}"), FROM)
        .unwrap()
        .timeout(Duration::from_secs(1));
    let started = Instant::now();
    let err = mailer.send(&reset_message()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    hold.abort();
}

#[test]
fn the_default_timeout_is_ten_seconds() {
    assert_eq!(
        auth_core::mail::DEFAULT_SMTP_TIMEOUT,
        Duration::from_secs(10)
    );
}
