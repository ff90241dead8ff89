//! The settings of the flows that send mail (password reset, email
//! verification, email change), and how their messages go out.

use std::{fmt, future::Future, sync::Arc, time::Duration as StdDuration};

use time::Duration;

use super::{builder::bounded, mail_worker::MailRuntime};
use crate::{
    AuthError, ClientRateLimit, Email, Mailer, MemoryStore, Message, MessageKind, MessageLink,
    OneTimeTokenStore, store::MailQueue,
};

/// The default lifetime of a password-reset link: 30 minutes.
pub const DEFAULT_PASSWORD_RESET_TTL: StdDuration = StdDuration::from_secs(30 * 60);
/// The default lifetime of a verification or email-change link: 24 hours.
pub const DEFAULT_EMAIL_VERIFICATION_TTL: StdDuration = StdDuration::from_secs(24 * 3600);
/// How often one address may be sent a reset or verification message by
/// default: 5 times an hour.
pub const DEFAULT_MAIL_RATE_LIMIT: ClientRateLimit =
    ClientRateLimit::new(5, StdDuration::from_secs(3600));
/// How many messages one client (address, or /64 for IPv6) may ask for by
/// default, over all addresses and flows: 30 an hour. Without it, the
/// per-client limit of every route (60 a minute) let one client have
/// 3,600 sign-in links an hour mailed to strangers.
pub const DEFAULT_MAIL_CLIENT_LIMIT: ClientRateLimit =
    ClientRateLimit::new(30, StdDuration::from_secs(3600));

/// How many times a message that is not queued
/// ([`AuthService::send_message`](crate::AuthService::send_message)) is
/// tried before it is given up (and logged).
const SEND_ATTEMPTS: u32 = 3;

/// What the password-reset, verification and email-change flows need: a
/// store for their one-time tokens, a [`Mailer`], and the public URL their
/// links point to; and, for messages that survive a crash, a durable
/// [`mail_queue`](Self::mail_queue) (see the [`mail`](crate::mail)
/// module). Given to
/// [`AuthServiceBuilder::account_flows`](crate::AuthServiceBuilder::account_flows);
/// without it those flows answer [`AuthError::NotFound`].
///
/// Links are `{public_url}/reset-password#token=…` and
/// `{public_url}/verify-email#token=…`: the token is in the fragment, which
/// browsers never send, so it reaches no server log. The page there posts
/// it to `reset-password` or `verify-email`.
///
/// ```
/// use auth_core::{AccountFlows, MemoryStore, OutboxMailer};
///
/// let store = MemoryStore::new();
/// let flows = AccountFlows::new(
///     store,
///     OutboxMailer::new("data/outbox", "noreply@example.com"),
///     "https://app.example.com",
/// )
/// .require_email_verification(true);
/// # let _ = flows;
/// ```
#[derive(Clone)]
pub struct AccountFlows {
    pub(super) tokens: Arc<dyn OneTimeTokenStore>,
    pub(super) mailer: Arc<dyn Mailer>,
    pub(super) public_url: String,
    pub(super) password_reset_ttl: StdDuration,
    pub(super) email_verification_ttl: StdDuration,
    pub(super) require_email_verification: bool,
    pub(super) mail_rate_limit: Option<ClientRateLimit>,
    pub(super) mail_client_limit: Option<ClientRateLimit>,
    pub(super) email_sign_in: Option<super::EmailSignIn>,
    pub(super) mail_queue: Option<Arc<dyn MailQueue>>,
    pub(super) mail_worker: bool,
}

impl fmt::Debug for AccountFlows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountFlows")
            .field("public_url", &self.public_url)
            .field("password_reset_ttl", &self.password_reset_ttl)
            .field("email_verification_ttl", &self.email_verification_ttl)
            .field(
                "require_email_verification",
                &self.require_email_verification,
            )
            .field("mail_rate_limit", &self.mail_rate_limit)
            .field("mail_client_limit", &self.mail_client_limit)
            .field("email_sign_in", &self.email_sign_in)
            .field("durable_mail_queue", &self.mail_queue.is_some())
            .field("mail_worker", &self.mail_worker)
            .finish_non_exhaustive()
    }
}

impl AccountFlows {
    /// The flows over `tokens` and `mailer`, with links under `public_url`
    /// (`http://` or `https://`, checked by the builder).
    pub fn new(
        tokens: impl OneTimeTokenStore,
        mailer: impl Mailer,
        public_url: impl Into<String>,
    ) -> Self {
        Self::from_arcs(Arc::new(tokens), Arc::new(mailer), public_url)
    }

    /// Like [`new`](Self::new), for values already behind `Arc<dyn …>`.
    pub fn from_arcs(
        tokens: Arc<dyn OneTimeTokenStore>,
        mailer: Arc<dyn Mailer>,
        public_url: impl Into<String>,
    ) -> Self {
        Self {
            tokens,
            mailer,
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            password_reset_ttl: DEFAULT_PASSWORD_RESET_TTL,
            email_verification_ttl: DEFAULT_EMAIL_VERIFICATION_TTL,
            require_email_verification: false,
            mail_rate_limit: Some(DEFAULT_MAIL_RATE_LIMIT),
            mail_client_limit: Some(DEFAULT_MAIL_CLIENT_LIMIT),
            email_sign_in: None,
            mail_queue: None,
            mail_worker: true,
        }
    }

    /// Lifetime of a password-reset link (default 30 minutes; 1 s to 1 day).
    pub fn password_reset_ttl(mut self, ttl: StdDuration) -> Self {
        self.password_reset_ttl = ttl;
        self
    }

    /// Lifetime of a verification or email-change link (default 24 hours;
    /// 1 s to 7 days).
    pub fn email_verification_ttl(mut self, ttl: StdDuration) -> Self {
        self.email_verification_ttl = ttl;
        self
    }

    /// Refuse sign-in with [`AuthError::EmailNotVerified`] until the address
    /// is verified (default `false`). Sign-up then also sends the
    /// verification message.
    pub fn require_email_verification(mut self, required: bool) -> Self {
        self.require_email_verification = required;
        self
    }

    /// How often one address may be sent the messages of one flow: resets,
    /// verification links, email-change links and email sign-ins each
    /// have this budget (default [`DEFAULT_MAIL_RATE_LIMIT`]), so that
    /// whoever knows an address and uses up one flow's budget cannot stop
    /// the others. Counted for unknown addresses too, so the limit tells
    /// nothing. `None` switches it off.
    pub fn mail_rate_limit(mut self, limit: Option<ClientRateLimit>) -> Self {
        self.mail_rate_limit = limit;
        self
    }

    /// How many messages one client may ask for, over every address and
    /// flow (default [`DEFAULT_MAIL_CLIENT_LIMIT`]), so that nobody can
    /// have the app mail many strangers. The client is the request's, as
    /// the per-client limit sees it (through trusted proxies); a call
    /// outside the endpoint layer, with no `SessionClient` scope, is not
    /// counted. `None` switches it off.
    pub fn mail_client_limit(mut self, limit: Option<ClientRateLimit>) -> Self {
        self.mail_client_limit = limit;
        self
    }

    /// Offers sign-in by a link and code mailed to the address (the
    /// contract's `email-sign-in` routes); off by default. Needs the
    /// builder's [`credentials`](crate::AuthServiceBuilder::credentials)
    /// store.
    pub fn email_sign_in(mut self, settings: super::EmailSignIn) -> Self {
        self.email_sign_in = Some(settings);
        self
    }

    /// Where messages wait to be sent: give the database's store
    /// (`SqliteStore`, `PostgresStore`) so that a message asked for is sent
    /// even if the process crashes or restarts before it went out (see the
    /// [`mail`](crate::mail) module). The default is a queue in this
    /// process's memory, which such an event empties.
    ///
    /// ```
    /// use auth_core::{AccountFlows, MemoryStore, OutboxMailer};
    ///
    /// let store = MemoryStore::new(); // a SQL store in a real application
    /// let flows = AccountFlows::new(
    ///     store.clone(),
    ///     OutboxMailer::new("data/outbox", "noreply@example.com"),
    ///     "https://app.example.com",
    /// )
    /// .mail_queue(store);
    /// # let _ = flows;
    /// ```
    pub fn mail_queue(self, queue: impl MailQueue) -> Self {
        self.mail_queue_arc(Arc::new(queue))
    }

    /// Like [`mail_queue`](Self::mail_queue), for a queue already behind
    /// an `Arc`.
    pub fn mail_queue_arc(mut self, queue: Arc<dyn MailQueue>) -> Self {
        self.mail_queue = Some(queue);
        self
    }

    /// Whether the service sends queued mail itself (default `true`): one
    /// worker task per process, started when the service is built inside
    /// a tokio runtime (or at the first message otherwise), woken by each
    /// new message and every 2 s. With `false`, messages only wait in the
    /// queue until [`AuthService::deliver_queued_mail`](crate::AuthService::deliver_queued_mail)
    /// is called: for a separate mail process, or a test that drives
    /// delivery itself.
    pub fn mail_worker(mut self, run: bool) -> Self {
        self.mail_worker = run;
        self
    }

    /// Checks the settings, for the builder.
    pub(super) fn checked(mut self) -> Result<Settings, AuthError> {
        self.email_sign_in = self
            .email_sign_in
            .map(super::EmailSignIn::checked)
            .transpose()?;
        let url = &self.public_url;
        let scheme_ok = ["http://", "https://"]
            .iter()
            .any(|scheme| url.len() > scheme.len() && url.starts_with(scheme));
        if !scheme_ok || url.contains(['#', '?', ' ']) {
            return Err(AuthError::InvalidConfig(
                "the public URL must be an http:// or https:// URL without query or fragment"
                    .into(),
            ));
        }
        let day = StdDuration::from_secs(24 * 3600);
        let one_second = StdDuration::from_secs(1);
        let password_reset_ttl = bounded(
            "the password-reset link lifetime",
            self.password_reset_ttl,
            one_second,
            day,
        )?;
        let email_verification_ttl = bounded(
            "the verification link lifetime",
            self.email_verification_ttl,
            one_second,
            7 * day,
        )?;
        for limit in [self.mail_rate_limit, self.mail_client_limit]
            .into_iter()
            .flatten()
        {
            if limit.max_requests() == 0 {
                return Err(AuthError::InvalidConfig(
                    "a mail rate limit must allow at least one message".into(),
                ));
            }
            bounded("a mail rate-limit window", limit.window(), one_second, day)?;
        }
        let queue = self
            .mail_queue
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryStore::new()));
        Ok(Settings {
            password_reset_ttl,
            email_verification_ttl,
            mail: MailRuntime::new(queue, self.mail_worker),
            flows: self,
        })
    }
}

/// [`AccountFlows`] with their lifetimes checked and converted.
pub(super) struct Settings {
    pub(super) flows: AccountFlows,
    pub(super) password_reset_ttl: Duration,
    pub(super) email_verification_ttl: Duration,
    /// The queue messages wait in, and its worker.
    pub(super) mail: MailRuntime,
}

impl Settings {
    /// The link to a page of the front end, carrying `token`.
    pub(super) fn link(&self, page: &str, token: &str) -> MessageLink {
        MessageLink::new(format!("{}/{page}#token={token}", self.flows.public_url))
    }
}

/// A message of `kind` to `to`, in plain English; `link` is where the
/// reader should go, if anywhere.
pub(super) fn compose(kind: MessageKind, to: &Email, link: Option<MessageLink>) -> Message {
    let (subject, body) = match kind {
        MessageKind::PasswordReset => (
            "Reset your password",
            "Someone, hopefully you, asked to reset the password of your account. \
             Follow this link to choose a new one; it works once, and not for long:",
        ),
        MessageKind::EmailVerification => (
            "Verify your email address",
            "Follow this link to confirm that this address is yours:",
        ),
        MessageKind::EmailChange => (
            "Confirm your new email address",
            "Someone, hopefully you, asked to make this the address of their account. \
             Follow this link to confirm:",
        ),
        MessageKind::EmailInUse => (
            "Your email address",
            "Someone asked to move another account to this address, but an account \
             already uses it, so nothing was changed. If that was you, sign in to that \
             account instead.",
        ),
        MessageKind::EmailChangeRequested => (
            "An email change was requested",
            "Someone asked to move your account to another address. Nothing changes \
             until that address confirms. If this was not you, reset your password now: \
             that cancels the change and signs out every session.",
        ),
        MessageKind::EmailChanged => (
            "Your email address was changed",
            "The address of your account was changed, so mail goes to the new one \
             from now on. If you did not do this, reset your password and contact us.",
        ),
        MessageKind::PasswordChanged => (
            "Your password was changed",
            "The password of your account was changed, and your other sessions were \
             signed out. If you did not do this, reset your password now.",
        ),
        MessageKind::TwoFactorEnabled => (
            "Two-factor authentication is on",
            "Two-factor authentication was turned on for your account: signing in now \
             also asks for a code from your authenticator app, and your other sessions \
             were signed out. If you did not do this, reset your password and contact us.",
        ),
        MessageKind::TwoFactorDisabled => (
            "Two-factor authentication is off",
            "Two-factor authentication was turned off for your account: signing in no \
             longer asks for a code. If you did not do this, reset your password, turn \
             it on again and contact us.",
        ),
        MessageKind::PasskeyAdded => (
            "A passkey was added",
            "A passkey was added to your account: it signs in without your password. \
             If you did not do this, sign in, delete it in your account's passkeys, \
             reset your password and contact us.",
        ),
        MessageKind::ApiKeyCreated => (
            "An API key was made",
            "An API key was made for your account: scripts that hold it can read and \
             change your data until it is deleted or expires. If you did not do this, \
             sign in, delete it in your account's API keys, reset your password and \
             contact us.",
        ),
        // The core composes only its own kinds; an app writes its own text.
        MessageKind::Custom(_) => ("Your account", "There is news about your account."),
    };
    let text = match &link {
        Some(link) => format!(
            "{body}\n\n{}\n\nIf you did not ask for this, ignore this message.\n",
            link.expose_secret()
        ),
        None => format!("{body}\n"),
    };
    Message {
        kind,
        to: to.clone(),
        subject: subject.to_owned(),
        text,
        link,
    }
}

/// Sends `message` (one an application composed, not queued) through
/// `mailer`, trying up to three times (after 1 s and 4 s); a message that
/// still fails is logged, without its text, and dropped: the request that
/// caused it was answered already.
pub(super) async fn deliver(mailer: &dyn Mailer, message: &Message) {
    for attempt in 1..=SEND_ATTEMPTS {
        match mailer.send(message).await {
            Ok(()) => return,
            Err(error) if attempt < SEND_ATTEMPTS => {
                tracing::warn!(kind = message.kind.as_str(), attempt, %error, "could not send a message; retrying");
                tokio::time::sleep(StdDuration::from_secs(u64::from(attempt * attempt))).await;
            }
            Err(error) => {
                tracing::error!(
                    kind = message.kind.as_str(),
                    error = ?error,
                    "could not send a message; giving up"
                );
            }
        }
    }
}

/// Runs `work` in the background when inside a tokio runtime (so that the
/// request's answer, and its timing, do not depend on it), or else in
/// place.
pub(super) async fn in_background<F>(work: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(work);
        }
        Err(_) => work.await,
    }
}
