//! The jobs the account flows queue: what to send, never the message or
//! its token. The worker reads the job when it sends, looks the user up,
//! issues the token and composes the text then.

use serde::{Deserialize, Serialize};

use super::MessageKind;

/// One queued job, stored as JSON tagged by `job`:
///
/// ```json
/// {"job":"password_reset","email":"ada@example.com"}
/// {"job":"verification","user_id":"…"}            (or "email")
/// {"job":"email_change","user_id":"…","new_email":"…"}
/// {"job":"email_sign_in","email":"…"}
/// {"job":"notice","kind":"password_changed","to":"…"}
/// ```
///
/// Reading is tolerant: unknown fields are ignored, and a payload that is
/// no job this version knows (a newer version's, during a rolling deploy)
/// is `None`: the worker leaves it for a while to a process that can read
/// it, then logs and drops it (see `UNREADABLE_GRACE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub(crate) enum MailJob {
    /// A password-reset link to the account of `email`, if it has one.
    PasswordReset {
        /// The address asked for (normalised).
        email: String,
    },
    /// A verification link to the account `user_id`, or to the account of
    /// `email`, if it is not verified yet.
    Verification {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// An email-change link to `new_email` for the account `user_id`, or
    /// the "that address is taken" notice when another account holds it.
    EmailChange { user_id: String, new_email: String },
    /// An email sign-in link and code to `email`.
    EmailSignIn { email: String },
    /// A notice without a token ([`MessageKind::as_str`] names it).
    Notice { kind: String, to: String },
}

impl MailJob {
    /// The job as stored.
    pub(crate) fn to_payload(&self) -> Result<String, crate::AuthError> {
        serde_json::to_string(self).map_err(crate::AuthError::internal)
    }

    /// A stored job; `None` for a payload this version does not know,
    /// a notice of an unknown kind included.
    pub(crate) fn parse(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok().filter(|job| match job {
            Self::Notice { kind, .. } => MessageKind::notice_named(kind).is_some(),
            _ => true,
        })
    }

    /// The job's name, for logs (which never show addresses or tokens).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::PasswordReset { .. } => "password_reset",
            Self::Verification { .. } => "verification",
            Self::EmailChange { .. } => "email_change",
            Self::EmailSignIn { .. } => "email_sign_in",
            Self::Notice { .. } => "notice",
        }
    }

    /// A notice of `kind` to `to`.
    pub(crate) fn notice(kind: MessageKind, to: &crate::Email) -> Self {
        Self::Notice {
            kind: kind.as_str().to_owned(),
            to: to.as_str().to_owned(),
        }
    }
}

/// The queue key of a user's email-change jobs: cancelled together when
/// something voids the user's pending change (see `void_tokens`).
pub(crate) fn email_change_key(user_id: &crate::UserId) -> String {
    format!("email_change:{}", user_id.as_str())
}

/// The queue key of the reset jobs of an address: cancelled together when
/// a password change or reset voids the older reset links, so that a
/// request made before it (its mail delayed by an outage) sends none.
pub(crate) fn password_reset_key(email: &crate::Email) -> String {
    // A digest, as the longest address (254 bytes) and a prefix would not
    // fit in a key.
    format!("password_reset:{}", crate::throttle::address_digest(email))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_as_documented() {
        let reset = MailJob::PasswordReset {
            email: "ada@example.com".into(),
        };
        assert_eq!(
            reset.to_payload().unwrap(),
            r#"{"job":"password_reset","email":"ada@example.com"}"#
        );
        let verification = MailJob::Verification {
            user_id: Some("u1".into()),
            email: None,
        };
        assert_eq!(
            verification.to_payload().unwrap(),
            r#"{"job":"verification","user_id":"u1"}"#
        );
        for job in [
            reset,
            verification,
            MailJob::EmailChange {
                user_id: "u1".into(),
                new_email: "new@example.com".into(),
            },
            MailJob::EmailSignIn {
                email: "ada@example.com".into(),
            },
            MailJob::notice(
                MessageKind::PasswordChanged,
                &crate::Email::parse("ada@example.com").unwrap(),
            ),
        ] {
            assert_eq!(MailJob::parse(&job.to_payload().unwrap()), Some(job));
        }
    }

    #[test]
    fn unknown_jobs_are_none_and_extra_fields_are_ignored() {
        assert_eq!(MailJob::parse(r#"{"job":"carrier_pigeon","to":"x"}"#), None);
        assert_eq!(MailJob::parse("not json"), None);
        assert_eq!(MailJob::parse(r#"{"job":"password_reset"}"#), None);
        assert_eq!(
            MailJob::parse(r#"{"job":"notice","kind":"odd","to":"a@b.co"}"#),
            None,
            "a notice this version cannot compose"
        );
        assert_eq!(
            MailJob::parse(r#"{"job":"email_sign_in","email":"a@b.c","v":2,"extra":[1]}"#),
            Some(MailJob::EmailSignIn {
                email: "a@b.c".into()
            })
        );
    }
}
