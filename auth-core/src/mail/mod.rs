//! Outgoing mail: the messages the account flows send (password reset,
//! email verification and change, notices), the queue they wait in, and
//! where they go.
//!
//! A [`Message`] is plain text, already rendered; a [`Mailer`] delivers
//! it. Two mailers come with the crate:
//!
//! | mailer | where messages go |
//! |---|---|
//! | [`OutboxMailer`] | one `.eml` file per message in a folder (development, tests) |
//! | `SmtpMailer` (feature `smtp`) | an SMTP server, over TLS or STARTTLS |
//!
//! # The mail queue
//!
//! The flows do not send while they answer. A request that mails something
//! (`request_password_reset`, `send_verification_email`, `change_email`,
//! `request_email_sign_in`, and the notices after a change) queues a *job*
//! in a [`MailQueue`](crate::store::MailQueue) and answers; a worker sends
//! it afterwards. Give the flows the database's store
//! ([`AccountFlows::mail_queue`](crate::AccountFlows::mail_queue)) and the
//! queue survives the process: a message asked for just before a crash, a
//! `kill -9` or a deploy goes out when a process runs again. The default
//! queue is in memory, which such an event empties.
//!
//! * **Jobs, not messages.** A job says what to send and to whom
//!   (`{"job":"password_reset","email":"ada@example.com"}`, `verification`,
//!   `email_change`, `email_sign_in`, `notice`), never a token: the worker
//!   looks the user up, issues the token (which voids the older ones of its
//!   purpose, as a newer request does) and composes the message when it
//!   sends. No live token is kept in the queue, and a retry issues a fresh
//!   token, voiding the one of the failed try: no message goes out with a
//!   token that a later attempt voided. A job this version cannot read (a
//!   newer version's, during a rolling deploy) is put back for a process
//!   that can, every 5 minutes until it is 15 minutes old, then logged and
//!   dropped.
//! * **The same work for every address.** A request queues its job without
//!   looking the address up (one insert, whether or not an account has
//!   it); the worker drops the job of an unknown address unsent (email
//!   sign-in with sign-up on sends to it, as before).
//! * **One worker per process**, started by
//!   [`build`](crate::AuthServiceBuilder::build) inside a tokio runtime (so
//!   jobs left by an earlier run go out at start-up, with no new request),
//!   woken by each new job and every 2 s. It claims due jobs for
//!   [`MAIL_LEASE`] (60 s): another process sharing the database never
//!   takes a claimed job, and one whose worker died is claimed again when
//!   the lease ends. Jobs of one address go out one at a time, in the order
//!   they were queued, also across processes, so the last message sent
//!   carries the only live token. With
//!   [`mail_worker(false)`](crate::AccountFlows::mail_worker), delivery is
//!   left to [`AuthService::deliver_queued_mail`](crate::AuthService::deliver_queued_mail).
//! * **Retries.** A failed send is tried again after [`MAIL_RETRY_DELAYS`]
//!   (1 s, 4 s, 15 s, 1 min, 5 min, 15 min, 1 h, 3 h, 6 h): the 10th failure,
//!   about 10 hours after the first try, gives the message up, logged
//!   without its text.
//! * **At least once.** A job is deleted after its message was sent. If
//!   the process dies after the mail server accepted the message and before
//!   the job is deleted, the message is sent again once the lease ends,
//!   with a fresh token that voids the first: the user may get two, of
//!   which the newer works. Exactly once is not possible without the mail
//!   server's help.
//! * **Voided before it went out.** Whatever voids a pending email change
//!   (a password change or reset, signing out everywhere) also cancels its
//!   queued job, and a password change or reset cancels the queued reset
//!   requests of the address, so a link delayed by a mail outage cannot
//!   revive what was voided.
//! * Messages an application composes itself
//!   ([`AuthService::send_message`](crate::AuthService::send_message)) may
//!   carry a token it issued, so they are **not** queued: they are sent in
//!   the background from memory, tried three times, as before.
//!
//! [`AuthService::mail_queue_status`](crate::AuthService::mail_queue_status)
//! says how many jobs wait and since when, for a health check.
//!
//! Messages that carry a one-time token keep it in [`Message::text`] and
//! [`Message::link`]; both are redacted in `Debug`, so a logged message
//! does not leak the token.
//!
//! ```
//! use auth_core::{Email, mail::{Message, MessageKind, MessageLink}};
//!
//! let link = MessageLink::new("https://app.example.com/reset-password#token=abc");
//! let message = Message {
//!     kind: MessageKind::PasswordReset,
//!     to: Email::parse("ada@example.com")?,
//!     subject: "Reset your password".into(),
//!     text: format!("Open this link to choose a new password:\n{}\n", link.expose_secret()),
//!     link: Some(link),
//! };
//! assert!(!format!("{message:?}").contains("token=abc"));
//! assert_eq!(message.kind.as_str(), "password_reset");
//! # Ok::<(), auth_core::AuthError>(())
//! ```

use std::{fmt, sync::Arc};

use async_trait::async_trait;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{AuthError, Email};

pub(crate) mod job;
mod outbox;
pub(crate) mod queue;
#[cfg(feature = "smtp")]
mod smtp;

pub use outbox::OutboxMailer;
pub use queue::{
    MAIL_LEASE, MAIL_RETRY_DELAYS, MAX_MAIL_KEY_BYTES, MailQueueStatus, NewQueuedMail, QueuedMail,
};
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use smtp::{DEFAULT_SMTP_TIMEOUT, SmtpMailer};

/// Delivers [`Message`]s. Object safe: an application can hold an
/// `Arc<dyn Mailer>`.
///
/// An implementation should not retry on its own: the caller decides
/// (the mail queue tries again with back-off). Errors:
/// [`AuthError::Unavailable`] when the mail server cannot be reached or
/// asks to try later, [`AuthError::Internal`] for anything else.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message.
    async fn send(&self, message: &Message) -> Result<(), AuthError>;
}

#[async_trait]
impl<T: Mailer + ?Sized> Mailer for Arc<T> {
    async fn send(&self, message: &Message) -> Result<(), AuthError> {
        (**self).send(message).await
    }
}

/// What a [`Message`] is for; also its `X-Auth-Message` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// A link to choose a new password.
    PasswordReset,
    /// A link to confirm the account's address.
    EmailVerification,
    /// A link, sent to the new address, to confirm an email change.
    EmailChange,
    /// Sent instead of [`EmailChange`](Self::EmailChange) when another
    /// account holds the new address: no token.
    EmailInUse,
    /// A notice to the current address that a change to another address
    /// was asked for: no token, so that the owner can act in time.
    EmailChangeRequested,
    /// A notice to the old address after an email change took effect.
    EmailChanged,
    /// A notice after the password was changed or reset.
    PasswordChanged,
    /// A notice after two-factor authentication was turned on.
    TwoFactorEnabled,
    /// A notice after two-factor authentication was turned off.
    TwoFactorDisabled,
    /// A notice after a passkey was added to the account.
    PasskeyAdded,
    /// A notice after an API key was made for the account.
    ApiKeyCreated,
    /// A message of an application's own flow (a magic link, say), named
    /// by a short snake_case word.
    Custom(&'static str),
}

impl MessageKind {
    /// The stable snake_case name (`password_reset`, `email_verification`,
    /// `email_change`, `email_in_use`, `email_change_requested`,
    /// `email_changed`, `password_changed`, `two_factor_enabled`,
    /// `two_factor_disabled`, `passkey_added`, `api_key_created`, or
    /// a [`Custom`](Self::Custom) name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::EmailChange => "email_change",
            Self::EmailInUse => "email_in_use",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::PasswordChanged => "password_changed",
            Self::TwoFactorEnabled => "two_factor_enabled",
            Self::TwoFactorDisabled => "two_factor_disabled",
            Self::PasskeyAdded => "passkey_added",
            Self::ApiKeyCreated => "api_key_created",
            Self::Custom(name) => name,
        }
    }
}

impl MessageKind {
    /// The notice (a kind without a token) named `name`, as
    /// [`as_str`](Self::as_str) names it; `None` for other names.
    pub(crate) fn notice_named(name: &str) -> Option<Self> {
        [
            Self::EmailInUse,
            Self::EmailChangeRequested,
            Self::EmailChanged,
            Self::PasswordChanged,
            Self::TwoFactorEnabled,
            Self::TwoFactorDisabled,
            Self::PasskeyAdded,
            Self::ApiKeyCreated,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The link in a message, with the one-time token in it: redacted in
/// `Debug`, zeroed in memory on drop.
///
/// ```
/// use auth_core::mail::MessageLink;
///
/// let link = MessageLink::new("https://app.example.com/verify-email#token=abc");
/// assert_eq!(format!("{link:?}"), "MessageLink(<redacted>)");
/// assert!(link.expose_secret().ends_with("#token=abc"));
/// ```
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct MessageLink(String);

impl MessageLink {
    /// Wraps a link.
    pub fn new(link: impl Into<String>) -> Self {
        Self(link.into())
    }

    /// The link. The name is a reminder to keep it out of logs.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MessageLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageLink(<redacted>)")
    }
}

/// One plain-text message to one recipient. The sender (`From`) is the
/// [`Mailer`]'s.
///
/// `Debug` shows the kind, recipient and subject; the text and the link
/// (which hold the token) are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// What the message is for.
    pub kind: MessageKind,
    /// The recipient.
    pub to: Email,
    /// The subject line.
    pub subject: String,
    /// The body, plain text; includes the link when there is one.
    pub text: String,
    /// The link in the text, for mailers that render it on their own
    /// (HTML, a button); `None` for notices.
    pub link: Option<MessageLink>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &format_args!("<redacted>"))
            .field("link", &self.link)
            .finish()
    }
}

/// A header value on one line: a line break in a subject or sender would
/// start a header of its own (header injection).
fn header_value(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        let link = MessageLink::new("https://app.example/verify-email#token=SECRET");
        Message {
            kind: MessageKind::EmailVerification,
            to: Email::parse("ada@example.com").unwrap(),
            subject: "Confirm your address".into(),
            text: format!("Open {}\n", link.expose_secret()),
            link: Some(link),
        }
    }

    #[test]
    fn debug_redacts_text_and_link() {
        let shown = format!("{:?}", message());
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("EmailVerification"), "{shown}");
        assert!(shown.contains("ada@example.com"), "{shown}");
        assert!(shown.contains("Confirm your address"), "{shown}");
        assert!(shown.contains("MessageLink(<redacted>)"), "{shown}");
    }

    #[test]
    fn kinds_have_stable_names() {
        let all = [
            (MessageKind::PasswordReset, "password_reset"),
            (MessageKind::EmailVerification, "email_verification"),
            (MessageKind::EmailChange, "email_change"),
            (MessageKind::EmailInUse, "email_in_use"),
            (MessageKind::EmailChangeRequested, "email_change_requested"),
            (MessageKind::EmailChanged, "email_changed"),
            (MessageKind::PasswordChanged, "password_changed"),
            (MessageKind::PasskeyAdded, "passkey_added"),
            (MessageKind::ApiKeyCreated, "api_key_created"),
        ];
        for (kind, name) in all {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
        }
    }

    #[test]
    fn header_values_stay_on_one_line() {
        assert_eq!(header_value("Hi\r\nBcc: x@y.z"), "Hi  Bcc: x@y.z");
        assert_eq!(header_value("Réinitialiser"), "Réinitialiser");
    }

    #[test]
    fn mailer_is_object_safe() {
        fn takes(_: Arc<dyn Mailer>) {}
        takes(Arc::new(OutboxMailer::new("unused", "auth@example.com")));
    }
}
