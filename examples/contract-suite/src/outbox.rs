//! The development mailer's outbox as the cases see it: one file per
//! message in the server's `MAIL_OUTBOX_DIR` (headers, a blank line, the
//! text), polled, since a server sends its messages in the background.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// How long [`Outbox::wait_for`] waits for a message to arrive.
pub const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`Outbox::count_for_after_quiet`] waits before counting, so
/// that a message sent in the background by mistake has time to show up.
pub const QUIET_PERIOD: Duration = Duration::from_secs(1);

/// How often the folder is read while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The length of a one-time token in a link: 256 bits in unpadded base64url.
pub const TOKEN_CHARS: usize = 43;

/// One message from the outbox.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The file it was read from.
    pub file: PathBuf,
    /// The recipient's address (from `To:`, without a display name or
    /// angle brackets).
    pub to: String,
    /// `Subject:`.
    pub subject: String,
    /// `X-Auth-Message:`, e.g. `password_reset`.
    pub kind: String,
    /// The body after the blank line.
    pub text: String,
    /// The link that carries the token (`…#token=…`), if there is one.
    pub link: Option<String>,
    /// The token of `link`: the characters of `[A-Za-z0-9_-]` after `#token=`.
    pub token: Option<String>,
}

impl Mail {
    /// Parses the content of an outbox file; `None` when it has no
    /// header block (no blank line).
    pub fn parse(file: &Path, content: &str) -> Option<Self> {
        let content = content.replace("\r\n", "\n");
        let (head, text) = content.split_once("\n\n")?;
        let header = |name: &str| {
            head.lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
                .map(|(_, value)| value.trim().to_owned())
                .unwrap_or_default()
        };
        let link = text
            .split_whitespace()
            .find(|word| word.contains("#token="))
            .map(|word| {
                word.trim_matches(|c| {
                    matches!(c, '<' | '>' | '"' | '\'' | '(' | ')' | '.' | ',' | ';')
                })
            })
            .map(str::to_owned);
        let token = link.as_deref().and_then(|link| {
            let after = &link[link.find("#token=")? + "#token=".len()..];
            let token: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
                .collect();
            (!token.is_empty()).then_some(token)
        });
        Some(Self {
            file: file.to_owned(),
            to: address(&header("To")),
            subject: header("Subject"),
            kind: header("X-Auth-Message"),
            text: text.to_owned(),
            link,
            token,
        })
    }

    /// The token; panics (showing the message) when there is none.
    pub fn expect_token(&self) -> String {
        let token = self
            .token
            .clone()
            .unwrap_or_else(|| panic!("expected a `#token=` link in the message\n{self:#?}"));
        assert!(
            token.len() >= TOKEN_CHARS,
            "a one-time token has at least 256 bits ({TOKEN_CHARS}+ characters), got {token:?}\n{self:#?}"
        );
        token
    }
}

/// `Ada <ada@example.com>` → `ada@example.com`, lower-cased.
fn address(to: &str) -> String {
    let inner = match (to.rfind('<'), to.rfind('>')) {
        (Some(open), Some(close)) if open < close => &to[open + 1..close],
        _ => to,
    };
    inner.trim().to_ascii_lowercase()
}

/// A server's outbox folder.
#[derive(Clone, Debug)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    /// The outbox in `dir` (which the server creates on first use).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every complete message in the folder, oldest first (file names start
    /// with the time they were written). Files whose name starts with `.`
    /// or does not end in `.eml` are skipped: a writer's temporary files.
    pub fn messages(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| !name.starts_with('.') && name.ends_with(".eml"))
            })
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|file| {
                let content = std::fs::read_to_string(file).ok()?;
                Mail::parse(file, &content)
            })
            .collect()
    }

    /// The messages to `to` (compared case-insensitively), oldest first.
    pub fn messages_for(&self, to: &str) -> Vec<Mail> {
        let to = to.trim().to_ascii_lowercase();
        self.messages()
            .into_iter()
            .filter(|mail| mail.to == to)
            .collect()
    }

    /// The first message of `kind` (`X-Auth-Message`) to `to`, waiting up to
    /// 10 s for it; panics (listing the folder) if none arrives.
    pub async fn wait_for(&self, to: &str, kind: &str) -> Mail {
        self.wait_for_nth(to, kind, 1).await
    }

    /// The `n`-th (from 1, oldest first) message of `kind` to `to`, waiting
    /// up to 10 s for it; panics (listing the folder) if it does not arrive.
    pub async fn wait_for_nth(&self, to: &str, kind: &str, n: usize) -> Mail {
        let deadline = Instant::now() + ARRIVAL_TIMEOUT;
        loop {
            let mut matching: Vec<Mail> = self
                .messages_for(to)
                .into_iter()
                .filter(|mail| mail.kind == kind)
                .collect();
            if matching.len() >= n {
                return matching.swap_remove(n - 1);
            }
            if Instant::now() >= deadline {
                panic!(
                    "no message #{n} of kind {kind:?} to {to} arrived in {} within {} s; \
                     the folder holds:\n{:#?}",
                    self.dir.display(),
                    ARRIVAL_TIMEOUT.as_secs(),
                    self.messages()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// How many messages to `to` the folder holds now.
    pub fn count_for(&self, to: &str) -> usize {
        self.messages_for(to).len()
    }

    /// How many messages to `to` the folder holds after a quiet second: for
    /// "nothing was sent", since sending happens after the answer.
    pub async fn count_for_after_quiet(&self, to: &str) -> usize {
        tokio::time::sleep(QUIET_PERIOD).await;
        self.count_for(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_outbox_format() {
        let content = "From: Tasks <no-reply@example.com>\r\n\
                       To: Ada@Example.com\r\n\
                       Subject: Reset your password\r\n\
                       Date: Wed, 02 Dec 2026 08:00:00 +0000\r\n\
                       X-Auth-Message: password_reset\r\n\
                       Content-Type: text/plain; charset=utf-8\r\n\
                       \r\n\
                       Open http://suite.invalid/reset-password#token=abcdefghijABCDEFGHIJ0123456789_-abcdefghijk\n\
                       to choose a new password.\n";
        let mail = Mail::parse(Path::new("x.eml"), content).unwrap();
        assert_eq!(mail.to, "ada@example.com");
        assert_eq!(mail.subject, "Reset your password");
        assert_eq!(mail.kind, "password_reset");
        assert!(mail.text.starts_with("Open http://"));
        assert_eq!(
            mail.link.as_deref(),
            Some(
                "http://suite.invalid/reset-password#token=abcdefghijABCDEFGHIJ0123456789_-abcdefghijk"
            )
        );
        assert_eq!(mail.expect_token().len(), TOKEN_CHARS);
    }

    #[test]
    fn a_notice_has_no_token() {
        let content = "To: <bob@example.com>\nX-Auth-Message: email_in_use\n\nSomeone tried.\n";
        let mail = Mail::parse(Path::new("y.eml"), content).unwrap();
        assert_eq!(mail.to, "bob@example.com");
        assert_eq!(mail.kind, "email_in_use");
        assert!(mail.token.is_none() && mail.link.is_none());
        assert!(Mail::parse(Path::new("z.eml"), "no header block").is_none());
    }
}
