//! The mail queue in the service: the flows queue jobs
//! ([`MailJob`]), and one worker per process sends them.
//!
//! A request that mails something only queues a job (one insert) and
//! wakes the worker. The worker claims due jobs (a lease of
//! [`MAIL_LEASE`]), and for each looks the user up, issues the token
//! (voiding the older ones of its purpose), composes the message, sends
//! it, and deletes the job; a failure is tried again after
//! [`MAIL_RETRY_DELAYS`]. A retry issues a fresh token, so no message
//! ever carries a token that a later attempt voided.

use std::{
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration as StdDuration,
};

use time::Duration;
use tokio::sync::Notify;

use super::{AuthService, Inner, account_flows::compose};
use crate::{
    AuthError, Email, Message, MessageKind, TokenPurpose, UserId,
    mail::{
        MAIL_LEASE, MailQueueStatus, NewQueuedMail, QueuedMail,
        job::{MailJob, email_change_key, password_reset_key},
        queue::retry_delay,
    },
    store::MailQueue,
};

/// How many jobs one claim takes; they are sent concurrently, so one
/// batch takes about as long as its slowest send, well inside the lease.
const BATCH: u32 = 16;

/// How often the worker looks for due jobs without being woken: retries
/// come due, and other instances may have queued jobs.
const POLL: StdDuration = StdDuration::from_secs(2);

/// How long one job may take before it counts as failed: short of the
/// lease, so that nobody else claims a job that is still being sent.
const JOB_TIMEOUT: StdDuration = StdDuration::from_secs(50);

/// How long, from when it was queued, a job this version cannot read (a
/// newer version's, during a rolling deploy) is left in the queue for a
/// process that can; it is put back every [`UNREADABLE_RETRY`] meanwhile,
/// then logged and dropped. Short, since it holds back the later jobs of
/// its key when no such process runs (after a rollback).
const UNREADABLE_GRACE: Duration = Duration::minutes(15);

/// How soon a job this version cannot read is offered again: each offer
/// counts as a try, so few enough (3 in the grace) that a reader still
/// has most of its retries left.
const UNREADABLE_RETRY: Duration = Duration::minutes(5);

/// The queue a service sends through, and its worker's state.
pub(super) struct MailRuntime {
    pub(super) queue: Arc<dyn MailQueue>,
    /// Whether the service runs a worker itself ([`AccountFlows::mail_worker`](crate::AccountFlows::mail_worker)).
    pub(super) start_worker: bool,
    /// Wakes the worker when a job is queued.
    wake: Arc<Notify>,
    /// Whether this process's worker task is alive.
    running: Arc<AtomicBool>,
    /// Taken by the worker's jobs for their store work (not their sends):
    /// one at a time, so that a batch never holds more than one of the
    /// pool's connections, nor more than one writer on SQLite, against
    /// the requests that queue jobs.
    store_turn: tokio::sync::Mutex<()>,
}

impl MailRuntime {
    pub(super) fn new(queue: Arc<dyn MailQueue>, start_worker: bool) -> Self {
        Self {
            queue,
            start_worker,
            wake: Arc::new(Notify::new()),
            running: Arc::new(AtomicBool::new(false)),
            store_turn: tokio::sync::Mutex::new(()),
        }
    }
}

/// Clears the "worker alive" flag when the worker task ends, also when
/// its runtime drops it, so that a later job starts a new one.
struct ClearOnDrop(Arc<AtomicBool>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl AuthService {
    /// Sends the queued messages that are due now, in this task, and
    /// returns how many jobs it finished (sent, found to need no message,
    /// or given up); a job that failed and waits for a retry is not
    /// counted. The worker a service starts by itself does this whenever
    /// a job is queued and every 2 s; call it yourself when that worker is
    /// off ([`AccountFlows::mail_worker`](crate::AccountFlows::mail_worker)),
    /// from a separate process or a timer, say.
    ///
    /// # Errors
    /// The queue's, when it cannot be reached; [`AuthError::NotFound`]
    /// without [account flows](crate::AuthServiceBuilder::account_flows).
    pub async fn deliver_queued_mail(&self) -> Result<usize, AuthError> {
        self.settings()?;
        let mut finished = 0;
        loop {
            let (claimed, done) = self.deliver_batch().await?;
            finished += done;
            if claimed == 0 {
                return Ok(finished);
            }
        }
    }

    /// How many messages wait in the queue, and since when: for a health
    /// check.
    ///
    /// # Errors
    /// The queue's; [`AuthError::NotFound`] without account flows.
    pub async fn mail_queue_status(&self) -> Result<MailQueueStatus, AuthError> {
        self.settings()?.mail.queue.queue_status().await
    }

    /// Queues `job` under `key` and wakes the worker.
    ///
    /// # Errors
    /// The queue's (the request then fails: nothing was queued).
    pub(super) async fn queue_mail(&self, key: &str, job: MailJob) -> Result<(), AuthError> {
        let mail = &self.settings()?.mail;
        let now = self.inner.now();
        mail.queue
            .enqueue(NewQueuedMail {
                key: key.to_owned(),
                payload: job.to_payload()?,
                created_at: now,
                not_before: now,
            })
            .await?;
        mail.wake.notify_one();
        if mail.start_worker && !self.start_mail_worker() {
            // No tokio runtime to run a worker on: send it here and now.
            if let Err(error) = self.deliver_queued_mail().await {
                tracing::warn!(%error, "could not deliver queued mail");
            }
        }
        Ok(())
    }

    /// Like [`queue_mail`](Self::queue_mail) for what follows a change
    /// already made (a notice, the first verification link): if the queue
    /// cannot take the job, it is sent from memory instead, in the
    /// background, as before there was a queue. A no-op without account
    /// flows.
    pub(super) async fn queue_mail_or_send(&self, key: &str, job: MailJob) {
        if self.inner.accounts.is_none() {
            return;
        }
        let Err(error) = self.queue_mail(key, job.clone()).await else {
            return;
        };
        tracing::warn!(job = job.name(), %error, "could not queue a message; sending it unqueued");
        let service = self.clone();
        super::account_flows::in_background(async move {
            for attempt in 1..=3u32 {
                match service.run_job(&job).await {
                    Ok(()) => return,
                    Err(error) if attempt < 3 => {
                        tracing::warn!(job = job.name(), attempt, %error, "could not send a message; retrying");
                        tokio::time::sleep(StdDuration::from_secs(u64::from(attempt * attempt)))
                            .await;
                    }
                    Err(error) => {
                        tracing::error!(job = job.name(), error = ?error, "could not send a message; giving up");
                    }
                }
            }
        })
        .await;
    }

    /// Queues a notice of `kind` (no token) to `to`.
    pub(super) async fn notify(&self, kind: MessageKind, to: &Email) {
        self.queue_mail_or_send(to.as_str(), MailJob::notice(kind, to))
            .await;
    }

    /// Cancels the user's queued jobs of a link of `purpose` (an email
    /// change, a reset): whatever voids such links must also stop those
    /// not sent yet. A no-op for other purposes.
    pub(super) async fn cancel_queued_links(
        &self,
        user_id: &UserId,
        purpose: &TokenPurpose,
    ) -> Result<(), AuthError> {
        let Some(settings) = &self.inner.accounts else {
            return Ok(());
        };
        let key = if *purpose == TokenPurpose::EMAIL_CHANGE {
            email_change_key(user_id)
        } else if *purpose == TokenPurpose::PASSWORD_RESET {
            match self.inner.users.find_user_by_id(user_id).await? {
                Some(user) => password_reset_key(&user.email),
                None => return Ok(()),
            }
        } else {
            return Ok(());
        };
        settings.mail.queue.cancel(&key).await?;
        Ok(())
    }

    /// Starts this process's worker if it should run and is not running;
    /// whether one runs now. Needs a tokio runtime.
    pub(super) fn start_mail_worker(&self) -> bool {
        let Some(mail) = self.inner.accounts.as_ref().map(|settings| &settings.mail) else {
            return false;
        };
        if !mail.start_worker {
            return false;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if mail
            .running
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return true;
        }
        let running = ClearOnDrop(Arc::clone(&mail.running));
        let wake = Arc::clone(&mail.wake);
        let service = Arc::downgrade(&self.inner);
        runtime.spawn(work(service, wake, running));
        true
    }

    /// Claims one batch and handles it; (claimed, finished).
    async fn deliver_batch(&self) -> Result<(usize, usize), AuthError> {
        let queue = &self.settings()?.mail.queue;
        let now = self.inner.now();
        let until = now
            .checked_add(Duration::try_from(MAIL_LEASE).map_err(AuthError::internal)?)
            .ok_or_else(|| AuthError::internal("lease out of range"))?;
        let claimed = queue.claim_due(now, until, BATCH).await?;
        let count = claimed.len();
        let mut finished = 0;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            // One job per key at most, so they may all go at once.
            let mut tasks = tokio::task::JoinSet::new();
            for mail in claimed {
                let service = self.clone();
                tasks.spawn_on(async move { service.handle(mail).await }, &runtime);
            }
            while let Some(done) = tasks.join_next().await {
                finished += usize::from(done.unwrap_or(false));
            }
        } else {
            for mail in claimed {
                finished += usize::from(self.handle(mail).await);
            }
        }
        Ok((count, finished))
    }

    /// Runs one claimed job; whether it is finished (not to be retried).
    async fn handle(&self, mail: QueuedMail) -> bool {
        let Ok(settings) = self.settings() else {
            return false;
        };
        let turn = &settings.mail.store_turn;
        let queue = &settings.mail.queue;
        let Some(job) = MailJob::parse(&mail.payload) else {
            let _turn = turn.lock().await;
            return self.unreadable(queue.as_ref(), &mail).await;
        };
        let attempt = async {
            let message = {
                let _turn = turn.lock().await;
                self.prepare(&job).await?
            };
            match message {
                Some(message) => settings.flows.mailer.send(&message).await.map(|()| true),
                None => Ok(false),
            }
        };
        let result = if tokio::runtime::Handle::try_current().is_ok() {
            tokio::time::timeout(JOB_TIMEOUT, attempt)
                .await
                .unwrap_or_else(|_| Err(AuthError::unavailable("sending a message timed out")))
        } else {
            attempt.await
        };
        let _turn = turn.lock().await;
        match result {
            Ok(sent) => {
                let still_queued = self.complete(queue.as_ref(), mail.id).await;
                if sent && !still_queued {
                    // Cancelled while it was being sent: whatever voided the
                    // link may have run before its token was issued, so
                    // void it now.
                    self.void_cancelled_link(&job).await;
                }
                true
            }
            Err(error) => match retry_delay(mail.attempts) {
                Some(delay) => {
                    tracing::warn!(job = job.name(), attempts = mail.attempts, %error, "could not send a message; will retry");
                    let not_before = Duration::try_from(delay)
                        .ok()
                        .and_then(|delay| self.inner.now().checked_add(delay))
                        .unwrap_or(mail.not_before);
                    if let Err(error) = queue.retry_later(&mail, not_before).await {
                        // The claim ends by itself; the job is tried then.
                        tracing::warn!(%error, "could not reschedule a queued message");
                    }
                    false
                }
                None => {
                    tracing::error!(job = job.name(), attempts = mail.attempts, error = ?error, "could not send a message; giving up");
                    self.complete(queue.as_ref(), mail.id).await;
                    true
                }
            },
        }
    }

    /// Puts back a job this version cannot read, for a newer process to
    /// send, until it is [`UNREADABLE_GRACE`] old; then drops it. Whether
    /// it is finished.
    async fn unreadable(&self, queue: &dyn MailQueue, mail: &QueuedMail) -> bool {
        let now = self.inner.now();
        if now - mail.created_at < UNREADABLE_GRACE {
            tracing::warn!(
                id = mail.id,
                "a queued message this version cannot read; left for a newer version"
            );
            let not_before = now.checked_add(UNREADABLE_RETRY).unwrap_or(mail.not_before);
            if let Err(error) = queue.retry_later(mail, not_before).await {
                tracing::warn!(%error, "could not reschedule a queued message");
            }
            return false;
        }
        tracing::error!(
            id = mail.id,
            "dropped a queued message no process could read for 15 minutes"
        );
        self.complete(queue, mail.id).await;
        true
    }

    /// Voids the token a cancelled job's link carried (an email change, a
    /// reset); logged if that fails.
    async fn void_cancelled_link(&self, job: &MailJob) {
        let Ok(settings) = self.settings() else {
            return;
        };
        let (user_id, purpose) = match job {
            MailJob::EmailChange { user_id, .. } => {
                (UserId::new(user_id.clone()), TokenPurpose::EMAIL_CHANGE)
            }
            MailJob::PasswordReset { email } => {
                let found = match Email::parse(email) {
                    Ok(email) => self.inner.users.find_user_by_email(&email).await,
                    Err(_) => return,
                };
                match found {
                    Ok(Some(record)) => (record.user.id, TokenPurpose::PASSWORD_RESET),
                    Ok(None) => return,
                    Err(error) => {
                        tracing::error!(%error, "could not void a cancelled reset link");
                        return;
                    }
                }
            }
            _ => return,
        };
        let voided = settings
            .flows
            .tokens
            .void_one_time_tokens(&user_id, &purpose)
            .await;
        if let Err(error) = voided {
            tracing::error!(%user_id, %error, "could not void a cancelled link");
        }
    }

    /// Deletes a finished job; whether it was still there. A failure is
    /// logged: the claim then ends and the job is sent again (delivery is
    /// at least once).
    async fn complete(&self, queue: &dyn MailQueue, id: i64) -> bool {
        match queue.complete(id).await {
            Ok(there) => there,
            Err(error) => {
                tracing::warn!(id, %error, "could not delete a sent message from the queue");
                true
            }
        }
    }

    /// Does what `job` asks, unqueued: prepares and sends its message.
    async fn run_job(&self, job: &MailJob) -> Result<(), AuthError> {
        if let Some(message) = self.prepare(job).await? {
            self.settings()?.flows.mailer.send(&message).await?;
        }
        Ok(())
    }

    /// The store's part of `job`: looks the user up, issues the token
    /// (voiding the older ones) and composes the message; `None` when
    /// there is nothing to send (an unknown address, a verified one, …).
    async fn prepare(&self, job: &MailJob) -> Result<Option<Message>, AuthError> {
        let settings = self.settings()?;
        let users = &self.inner.users;
        let parse = |email: &str| Email::parse(email).ok();
        match job {
            MailJob::PasswordReset { email } => {
                let Some(email) = parse(email) else {
                    return Ok(None);
                };
                let Some(record) = users.find_user_by_email(&email).await? else {
                    tracing::debug!("password reset asked for an unknown address");
                    return Ok(None);
                };
                let user = record.user;
                self.link_message(
                    &user.id,
                    &user.email,
                    TokenPurpose::PASSWORD_RESET,
                    settings.password_reset_ttl,
                )
                .await
                .map(Some)
            }
            MailJob::Verification { user_id, email } => {
                let user = match (user_id, email) {
                    (Some(id), _) => users.find_user_by_id(&UserId::new(id.clone())).await?,
                    (None, Some(email)) => match parse(email) {
                        Some(email) => users
                            .find_user_by_email(&email)
                            .await?
                            .map(|record| record.user),
                        None => None,
                    },
                    (None, None) => None,
                };
                let Some(user) = user.filter(|user| !user.email_verified) else {
                    tracing::debug!("verification asked for an unknown or verified address");
                    return Ok(None);
                };
                self.link_message(
                    &user.id,
                    &user.email,
                    TokenPurpose::EMAIL_VERIFICATION,
                    settings.email_verification_ttl,
                )
                .await
                .map(Some)
            }
            MailJob::EmailChange { user_id, new_email } => {
                let user = users.find_user_by_id(&UserId::new(user_id.clone())).await?;
                let (Some(user), Some(new_email)) = (user, parse(new_email)) else {
                    return Ok(None);
                };
                if user.email == new_email {
                    return Ok(None);
                }
                if users.find_user_by_email(&new_email).await?.is_some() {
                    return Ok(Some(compose(MessageKind::EmailInUse, &new_email, None)));
                }
                self.link_message(
                    &user.id,
                    &new_email,
                    TokenPurpose::EMAIL_CHANGE,
                    settings.email_verification_ttl,
                )
                .await
                .map(Some)
            }
            MailJob::EmailSignIn { email } => match parse(email) {
                Some(email) => self.sign_in_message(email).await,
                None => Ok(None),
            },
            MailJob::Notice { kind, to } => {
                // `MailJob::parse` has checked the kind.
                let (Some(kind), Some(to)) = (MessageKind::notice_named(kind), parse(to)) else {
                    return Ok(None);
                };
                Ok(Some(compose(kind, &to, None)))
            }
        }
    }

    /// Issues a token of `purpose` for `user_id` and composes the message
    /// that mails its link to `email`.
    async fn link_message(
        &self,
        user_id: &UserId,
        email: &Email,
        purpose: TokenPurpose,
        ttl: Duration,
    ) -> Result<Message, AuthError> {
        let (page, kind) = if purpose == TokenPurpose::PASSWORD_RESET {
            ("reset-password", MessageKind::PasswordReset)
        } else if purpose == TokenPurpose::EMAIL_CHANGE {
            ("verify-email", MessageKind::EmailChange)
        } else {
            ("verify-email", MessageKind::EmailVerification)
        };
        let token = self.issue_token(user_id, email, purpose, ttl).await?;
        let link = self.settings()?.link(page, token.expose_secret());
        Ok(compose(kind, email, Some(link)))
    }
}

/// The worker: a batch whenever woken or every [`POLL`], for as long as
/// the service exists.
async fn work(service: Weak<Inner>, wake: Arc<Notify>, running: ClearOnDrop) {
    let _running = running;
    loop {
        let delivered = match service.upgrade() {
            Some(inner) => AuthService { inner }.deliver_batch().await,
            None => return,
        };
        match delivered {
            // More may be due (a key's next job, a full batch).
            Ok((claimed, _)) if claimed > 0 => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not read the mail queue"),
        }
        let _woken = tokio::time::timeout(POLL, wake.notified()).await;
    }
}
