//! The rows of the mail queue ([`MailQueue`](crate::store::MailQueue)):
//! what a store keeps for each queued message, and the worker's timings.

use std::time::Duration;

use time::OffsetDateTime;

use crate::AuthError;

/// How long a claim on a queued message lasts: one send (an
/// `SmtpMailer` (feature `smtp`) gives up after 10 s) fits many
/// times over. A worker that dies while it holds a claim (a crash, a
/// `kill -9`) leaves the message to be claimed again once the claim ends.
pub const MAIL_LEASE: Duration = Duration::from_secs(60);

/// How long a message is waited for after each failed try, in order: the
/// 10th failure gives it up (logged, without its text), about 10.4 hours
/// after the first try.
pub const MAIL_RETRY_DELAYS: [Duration; 9] = [
    Duration::from_secs(1),
    Duration::from_secs(4),
    Duration::from_secs(15),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(3 * 3600),
    Duration::from_secs(6 * 3600),
];

/// The longest key [`NewQueuedMail::key`] may have, in bytes.
pub const MAX_MAIL_KEY_BYTES: usize = 255;

/// A message to queue: what [`MailQueue::enqueue`](crate::store::MailQueue::enqueue)
/// stores.
///
/// The payload says what to send, not the message itself: the flows of
/// this crate queue a small JSON job (`{"job":"password_reset","email":…}`,
/// see the [`mail`](crate::mail) module), and the worker makes the token
/// and the text when it sends. So no token is ever stored in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQueuedMail {
    /// What orders and groups the messages: of the messages with one key,
    /// only the oldest is ever claimed, so they go out one at a time in
    /// the order they were queued. The flows use the recipient's address
    /// (or `email_change:<user id>`, `password_reset:<digest of the address>`). 1 to [`MAX_MAIL_KEY_BYTES`] bytes.
    pub key: String,
    /// What to send, opaque to the store (a JSON job, a few hundred bytes).
    pub payload: String,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// Not claimed before this time.
    pub not_before: OffsetDateTime,
}

impl NewQueuedMail {
    /// Whether the row is within the rules every store enforces: a key of
    /// 1 to [`MAX_MAIL_KEY_BYTES`] bytes, and no NUL character in the key
    /// or the payload (PostgreSQL text cannot hold one).
    ///
    /// # Errors
    /// [`AuthError::Internal`] when it is not.
    pub fn check(&self) -> Result<(), AuthError> {
        if self.key.is_empty() || self.key.len() > MAX_MAIL_KEY_BYTES {
            return Err(AuthError::internal("a mail queue key has 1 to 255 bytes"));
        }
        if self.key.contains('\0') || self.payload.contains('\0') {
            return Err(AuthError::internal(
                "a queued message holds a NUL character",
            ));
        }
        Ok(())
    }
}

/// A queued message as a store hands it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Given by the store, rising in the order messages were queued (a SQL
    /// identity column); never reused.
    pub id: i64,
    /// See [`NewQueuedMail::key`].
    pub key: String,
    /// See [`NewQueuedMail::payload`].
    pub payload: String,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// Not claimed before this time.
    pub not_before: OffsetDateTime,
    /// How many times it was claimed, this claim included.
    pub attempts: u32,
    /// Until when the claim that returned it holds; it is also the claim's
    /// proof for [`retry_later`](crate::store::MailQueue::retry_later).
    pub claimed_until: Option<OffsetDateTime>,
}

/// How full the queue is, for a health check: a count that keeps growing,
/// or an old oldest message, says mail is not going out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailQueueStatus {
    /// Messages queued, claimed or not.
    pub queued: u64,
    /// When the oldest of them was queued.
    pub oldest: Option<OffsetDateTime>,
}

/// The wait after the `attempts`-th failed try, or `None` when the message
/// is to be given up.
pub(crate) fn retry_delay(attempts: u32) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    MAIL_RETRY_DELAYS.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_the_tenth_failure_gives_up() {
        assert_eq!(retry_delay(1), Some(Duration::from_secs(1)));
        assert_eq!(retry_delay(2), Some(Duration::from_secs(4)));
        assert_eq!(retry_delay(9), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(retry_delay(10), None);
        assert_eq!(retry_delay(0), None);
        let total: Duration = MAIL_RETRY_DELAYS.iter().sum();
        assert!(total > Duration::from_secs(10 * 3600) && total < Duration::from_secs(11 * 3600));
        assert!(MAIL_RETRY_DELAYS.windows(2).all(|w| w[0] < w[1]));
        // A claim outlasts one SMTP send many times over.
        #[cfg(feature = "smtp")]
        assert!(MAIL_LEASE >= 5 * crate::mail::DEFAULT_SMTP_TIMEOUT);
    }

    #[test]
    fn keys_are_checked() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let new = |key: &str| NewQueuedMail {
            key: key.to_owned(),
            payload: "{}".into(),
            created_at: at,
            not_before: at,
        };
        assert!(new("ada@example.com").check().is_ok());
        assert!(new("").check().is_err());
        assert!(new(&"k".repeat(255)).check().is_ok());
        assert!(new(&"k".repeat(256)).check().is_err());
        assert!(new("a\0b").check().is_err());
        let mut nul = new("k");
        nul.payload = "{\0}".into();
        assert!(nul.check().is_err());
    }
}
