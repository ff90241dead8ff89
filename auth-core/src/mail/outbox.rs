//! A mailer that writes each message to a file, for development and tests.

use std::{
    fmt,
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use async_trait::async_trait;
use time::{OffsetDateTime, format_description::well_known::Rfc2822};

use super::{Mailer, Message, header_value};
use crate::AuthError;

/// Writes each message to a file of its own in a folder, instead of
/// sending it: for development, and for tests that read the link back.
///
/// * The folder is made (mode 0700) if it is missing; each file is
///   owner-only (0600), since it holds a token.
/// * Files are named `<unix-micros>-<kind>-<8 hex>.eml`, so that sorting
///   by name is sorting by time.
/// * Each is written under a temporary name (`.<name>.tmp`) and renamed
///   into place once complete: a reader sees a whole file or none.
/// * The content is an RFC 5322-style message with LF line ends:
///
/// ```text
/// From: <from>
/// To: <recipient>
/// Subject: <subject>
/// Date: <RFC 2822 date>
/// X-Auth-Message: <kind>
/// Content-Type: text/plain; charset=utf-8
///
/// <text>
/// ```
///
/// The file I/O runs on tokio's blocking pool, or on a thread of its own
/// outside a tokio runtime.
///
/// ```
/// use auth_core::{Email, OutboxMailer, mail::{Mailer, Message, MessageKind}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("outbox-doc-{}", std::process::id()));
/// let mailer = OutboxMailer::new(&dir, "Tasks <auth@example.com>");
/// mailer
///     .send(&Message {
///         kind: MessageKind::PasswordChanged,
///         to: Email::parse("ada@example.com")?,
///         subject: "Your password was changed".into(),
///         text: "If this was not you, reset your password.\n".into(),
///         link: None,
///     })
///     .await?;
/// let file = std::fs::read_dir(&dir)?.next().ok_or("no file")??.path();
/// assert!(std::fs::read_to_string(file)?.contains("X-Auth-Message: password_changed\n"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OutboxMailer {
    inner: Arc<Outbox>,
}

struct Outbox {
    dir: PathBuf,
    from: String,
}

impl OutboxMailer {
    /// Writes messages into `dir`, with `from` as their `From` header
    /// (`auth@example.com` or `Name <auth@example.com>`).
    pub fn new(dir: impl Into<PathBuf>, from: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Outbox {
                dir: dir.into(),
                from: header_value(&from.into()),
            }),
        }
    }

    /// The folder the messages go to.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

impl fmt::Debug for OutboxMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMailer")
            .field("dir", &self.inner.dir)
            .field("from", &self.inner.from)
            .finish()
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, message: &Message) -> Result<(), AuthError> {
        let now = OffsetDateTime::now_utc();
        let date = now.format(&Rfc2822).map_err(AuthError::internal)?;
        let mut suffix = [0u8; 4];
        getrandom::fill(&mut suffix).map_err(|e| AuthError::internal(e.to_string()))?;
        let name = format!(
            "{}-{}-{}.eml",
            now.unix_timestamp_nanos() / 1_000,
            // An application's own kind could hold any character; a file
            // name gets only these.
            message
                .kind
                .as_str()
                .replace(|c: char| !(c.is_ascii_alphanumeric() || c == '_'), "_"),
            hex(&suffix)
        );
        let mut text = message.text.clone();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let content = format!(
            "From: {from}\nTo: {to}\nSubject: {subject}\nDate: {date}\n\
             X-Auth-Message: {kind}\nContent-Type: text/plain; charset=utf-8\n\n{text}",
            from = self.inner.from,
            to = message.to,
            subject = header_value(&message.subject),
            kind = message.kind.as_str(),
        );
        zeroize::Zeroize::zeroize(&mut text);
        let outbox = Arc::clone(&self.inner);
        let job = move || outbox.write(&name, content);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn_blocking(job)
                .await
                .map_err(AuthError::internal)?,
            Err(_) => {
                // Not on tokio: a thread of its own, so that whatever
                // executor polls this future is not blocked by file I/O.
                let (done, result) = tokio::sync::oneshot::channel();
                std::thread::Builder::new()
                    .name("auth-core-outbox".into())
                    .spawn(move || {
                        let _receiver_gone = done.send(job());
                    })
                    .map_err(AuthError::internal)?;
                result.await.map_err(AuthError::internal)?
            }
        }
    }
}

impl Outbox {
    fn write(&self, name: &str, content: String) -> Result<(), AuthError> {
        let fail = |what: &str, path: &Path, e: io::Error| {
            AuthError::internal(format!("mail outbox: {what} {}: {e}", path.display()))
        };
        if !self.dir.is_dir() {
            dir_builder()
                .create(&self.dir)
                .map_err(|e| fail("cannot create", &self.dir, e))?;
        }
        let temp = self.dir.join(format!(".{name}.tmp"));
        let path = self.dir.join(name);
        let written = write_new(&temp, content.as_bytes())
            .map_err(|e| fail("cannot write", &temp, e))
            .and_then(|()| fs::rename(&temp, &path).map_err(|e| fail("cannot rename", &temp, e)));
        if written.is_err() {
            // Best effort: a leftover temporary file is only clutter.
            let _ = fs::remove_file(&temp);
        }
        // The content holds the token: do not leave copies in memory.
        zeroize::Zeroize::zeroize(&mut content.into_bytes());
        written
    }
}

fn write_new(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file: File = options.open(path)?;
    file.write_all(content)?;
    // On disk before the rename makes it visible, so a crash cannot leave
    // an empty file under the final name.
    file.sync_all()
}

fn dir_builder() -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
