//! `OutboxMailer`: the file format, permissions and atomic writes.
// Test code: a panic is a test failure, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{fs, path::PathBuf};

use auth_core::{
    AuthError, Email, OutboxMailer,
    mail::{Mailer, Message, MessageKind, MessageLink},
};

fn verification(to: &str) -> Message {
    let link = MessageLink::new(
        "http://localhost:3000/verify-email#token=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde",
    );
    Message {
        kind: MessageKind::EmailVerification,
        to: Email::parse(to).unwrap(),
        subject: "Confirm your email address".into(),
        text: format!("Open this link to confirm it:\n{}\n", link.expose_secret()),
        link: Some(link),
    }
}

fn files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn a_message_is_one_whole_file_in_the_documented_format() {
    let root = tempfile::tempdir().unwrap();
    // Missing, two levels deep: made on the first send.
    let dir = root.path().join("data/outbox");
    let mailer = OutboxMailer::new(&dir, "Tasks <auth@example.com>");
    let message = verification("ada@example.com");
    mailer.send(&message).await.unwrap();

    let files = files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap();
    let (micros, rest) = name.split_once('-').unwrap();
    assert!(
        micros.len() >= 16 && micros.bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    let hex = rest
        .strip_prefix("email_verification-")
        .and_then(|rest| rest.strip_suffix(".eml"))
        .unwrap_or_else(|| panic!("{name}"));
    assert!(
        hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );

    let content = fs::read_to_string(&files[0]).unwrap();
    let (head, body) = content.split_once("\n\n").unwrap();
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines.len(), 6, "{head}");
    assert_eq!(lines[0], "From: Tasks <auth@example.com>");
    assert_eq!(lines[1], "To: ada@example.com");
    assert_eq!(lines[2], "Subject: Confirm your email address");
    let date = lines[3].strip_prefix("Date: ").unwrap();
    time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc2822).unwrap();
    assert_eq!(lines[4], "X-Auth-Message: email_verification");
    assert_eq!(lines[5], "Content-Type: text/plain; charset=utf-8");
    assert_eq!(body, message.text);
    assert!(body.contains(message.link.as_ref().unwrap().expose_secret()));
}

#[cfg(unix)]
#[tokio::test]
async fn the_folder_and_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("outbox");
    let mailer = OutboxMailer::new(&dir, "auth@example.com");
    mailer.send(&verification("ada@example.com")).await.unwrap();
    let mode = |path: &std::path::Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for file in files(&dir) {
        assert_eq!(mode(&file), 0o600, "{file:?}");
    }
}

#[tokio::test]
async fn two_messages_are_two_files_and_no_temporary_file_is_left() {
    let root = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(root.path(), "auth@example.com");
    let (ada, grace) = (
        verification("ada@example.com"),
        verification("grace@example.com"),
    );
    // At once: the same microsecond and kind must still give two names.
    let (first, second) = tokio::join!(mailer.send(&ada), mailer.send(&grace));
    first.unwrap();
    second.unwrap();
    let files = files(root.path());
    assert_eq!(files.len(), 2, "{files:?}");
    let mut recipients: Vec<String> = files
        .iter()
        .map(|file| {
            assert_eq!(file.extension().unwrap(), "eml", "{file:?}");
            let content = fs::read_to_string(file).unwrap();
            content.lines().nth(1).unwrap().to_owned()
        })
        .collect();
    recipients.sort();
    assert_eq!(recipients, ["To: ada@example.com", "To: grace@example.com"]);
}

#[tokio::test]
async fn a_subject_cannot_add_headers() {
    let root = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(root.path(), "auth@example.com\nBcc: eve@example.com");
    let mut message = verification("ada@example.com");
    message.subject = "Hello\r\nBcc: eve@example.com".into();
    mailer.send(&message).await.unwrap();
    let content = fs::read_to_string(&files(root.path())[0]).unwrap();
    let head = content.split_once("\n\n").unwrap().0;
    assert_eq!(head.lines().count(), 6, "{head}");
    assert!(!head.lines().any(|line| line.starts_with("Bcc:")), "{head}");
}

#[test]
fn works_outside_a_tokio_runtime() {
    let root = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(root.path(), "auth@example.com");
    let message = verification("ada@example.com");
    let sent = block_on(mailer.send(&message));
    sent.unwrap();
    assert_eq!(files(root.path()).len(), 1);
}

#[tokio::test]
async fn an_unwritable_outbox_is_an_internal_error() {
    let root = tempfile::tempdir().unwrap();
    // A file where the folder should be.
    let blocked = root.path().join("outbox");
    fs::write(&blocked, "").unwrap();
    let mailer = OutboxMailer::new(&blocked, "auth@example.com");
    let err = mailer
        .send(&verification("ada@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Internal(_)), "{err:?}");
    let shown = format!("{err:?}");
    assert!(!shown.contains("token="), "{shown}");
}

/// A minimal executor that is not tokio, to show the outbox does not
/// need tokio's runtime (it runs its I/O on a thread of its own).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::{
        sync::Arc,
        task::{Context, Poll, Wake, Waker},
        thread::Thread,
    };

    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
