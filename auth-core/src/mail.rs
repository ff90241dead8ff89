//! PLACEHOLDER (replaced by the wt-mail branch): the mailer interface.

use std::fmt;

use async_trait::async_trait;

use crate::{AuthError, Email};

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// A password-reset link.
    PasswordReset,
    /// A link verifying the account's address.
    EmailVerification,
    /// A link to the new address of an email change.
    EmailChange,
    /// To a new address another account holds: no link.
    EmailInUse,
    /// To the old address, after an email change took effect.
    EmailChanged,
    /// After a password change or reset.
    PasswordChanged,
}

impl MessageKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::EmailChange => "email_change",
            Self::EmailInUse => "email_in_use",
            Self::EmailChanged => "email_changed",
            Self::PasswordChanged => "password_changed",
        }
    }
}

/// A link with a token in it.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageLink(String);

impl MessageLink {
    /// Wraps a link.
    pub fn new(link: impl Into<String>) -> Self {
        Self(link.into())
    }
    /// The link.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MessageLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageLink(<redacted>)")
    }
}

/// A message.
#[derive(Clone)]
pub struct Message {
    /// What it is about.
    pub kind: MessageKind,
    /// The recipient.
    pub to: Email,
    /// The subject line.
    pub subject: String,
    /// The plain text, with the link in it.
    pub text: String,
    /// The link, if any.
    pub link: Option<MessageLink>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Sends messages.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message.
    async fn send(&self, message: &Message) -> Result<(), AuthError>;
}
