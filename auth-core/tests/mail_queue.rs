//! The mail queue in the service, on `MemoryStore`: a request queues a job
//! and nothing more; the worker (driven here by `deliver_queued_mail`, on
//! a `ManualClock`) issues the token when it sends, retries with back-off
//! and a fresh token, gives up after the cap, and sends what a crashed
//! process left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration as StdDuration,
};

use auth_core::{
    AccountFlows, AuthError, AuthService, Email, MemoryStore, Password, Principal, User, UserId,
    api::{ChangeEmailRequest, ChangePasswordRequest, ResetPasswordRequest},
    async_trait,
    clock::{Clock, ManualClock},
    mail::{MAIL_RETRY_DELAYS, Mailer, Message, NewQueuedMail},
    password::PasswordHash,
    store::{MailQueue, UserRecord, UserStore},
};
use common::*;
use time::{Duration, OffsetDateTime};

/// A mailer that refuses its first `failures` messages (keeping them, to
/// check their tokens), then keeps what it is sent.
#[derive(Clone, Default)]
struct FlakyMailer {
    failures: Arc<AtomicUsize>,
    refused: Arc<Mutex<Vec<Message>>>,
    sent: Arc<Mutex<Vec<Message>>>,
}

impl FlakyMailer {
    fn failing(times: usize) -> Self {
        let mailer = Self::default();
        mailer.failures.store(times, Ordering::SeqCst);
        mailer
    }

    fn sent(&self) -> Vec<Message> {
        self.sent.lock().unwrap().clone()
    }

    fn refused(&self) -> Vec<Message> {
        self.refused.lock().unwrap().clone()
    }
}

#[async_trait]
impl Mailer for FlakyMailer {
    async fn send(&self, message: &Message) -> Result<(), AuthError> {
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if fail {
            self.refused.lock().unwrap().push(message.clone());
            return Err(AuthError::unavailable("the mail server is down"));
        }
        self.sent.lock().unwrap().push(message.clone());
        Ok(())
    }
}

/// The token in a message's link.
fn token(message: &Message) -> String {
    let link = message.link.as_ref().expect("a link").expose_secret();
    link.split("#token=").nth(1).unwrap().to_owned()
}

/// A service over `store` whose queue is the store, driven by hand.
fn service(store: &MemoryStore, mailer: &FlakyMailer, clock: &ManualClock) -> AuthService {
    service_with(store, mailer, clock, false)
}

fn service_with(
    store: &MemoryStore,
    mailer: &FlakyMailer,
    clock: &ManualClock,
    worker: bool,
) -> AuthService {
    let flows = AccountFlows::new(store.clone(), mailer.clone(), "https://app.example.com")
        .mail_queue(store.clone())
        .mail_worker(worker);
    builder(store)
        .clock(clock.clone())
        .account_flows(flows)
        .build()
        .unwrap()
}

fn reset(token: &str) -> ResetPasswordRequest {
    ResetPasswordRequest {
        token: token.to_owned(),
        new_password: Password::new("a brand new passphrase"),
    }
}

/// Ada, signed up, as her session's principal.
async fn ada_signed_in(auth: &AuthService) -> Principal {
    let ada = sign_up(auth, "ada@example.com").await;
    auth.authenticate(ada.access_token.expose_secret())
        .await
        .unwrap()
}

/// The principal changes the password from `PASSWORD`.
async fn change_password(auth: &AuthService, principal: &Principal) {
    auth.change_password(
        principal,
        ChangePasswordRequest {
            current_password: Password::new(PASSWORD),
            new_password: Password::new("another good passphrase"),
        },
    )
    .await
    .unwrap();
}

async fn queued(store: &MemoryStore) -> u64 {
    store.queue_status().await.unwrap().queued
}

#[tokio::test]
async fn a_reset_is_one_job_and_one_message_whose_token_works() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::default(), clock());
    let auth = service(&store, &mailer, &clock);
    sign_up(&auth, "ada@example.com").await;

    auth.request_password_reset("Ada@Example.com")
        .await
        .unwrap();
    assert_eq!(queued(&store).await, 1, "the request queues a job");
    assert!(mailer.sent().is_empty(), "and sends nothing itself");
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 1);
    assert_eq!(queued(&store).await, 0, "a sent job is deleted");
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 0);
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind.as_str(), "password_reset");
    assert_eq!(sent[0].to.as_str(), "ada@example.com");
    auth.reset_password(reset(&token(&sent[0]))).await.unwrap();
}

#[tokio::test]
async fn a_second_request_voids_the_first_token() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::default(), clock());
    let auth = service(&store, &mailer, &clock);
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    assert_eq!(queued(&store).await, 2);
    // One address's jobs go one at a time, in order.
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 2);
    let sent = mailer.sent();
    assert_eq!(sent.len(), 2);
    let (older, newer) = (token(&sent[0]), token(&sent[1]));
    assert!(matches!(
        auth.reset_password(reset(&older)).await,
        Err(AuthError::InvalidOneTimeToken)
    ));
    auth.reset_password(reset(&newer)).await.unwrap();
}

#[tokio::test]
async fn an_unknown_address_is_queued_alike_and_sent_nothing() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::default(), clock());
    let users = CountingUsers::new(store.clone());
    let flows = AccountFlows::new(store.clone(), mailer.clone(), "https://app.example.com")
        .mail_queue(store.clone())
        .mail_worker(false);
    let auth = AuthService::builder(users.clone(), store.clone())
        .token_codec(codec())
        .password_hasher(cheap_hasher())
        .clock(clock.clone())
        .account_flows(flows)
        .build()
        .unwrap();
    sign_up(&auth, "ada@example.com").await;
    users.lookups.store(0, Ordering::SeqCst);

    for address in ["ada@example.com", "nobody@example.com"] {
        auth.request_password_reset(address).await.unwrap();
        auth.send_verification_email_to(address).await.unwrap();
    }
    assert_eq!(
        users.lookups.load(Ordering::SeqCst),
        0,
        "the requests look nobody up: known and unknown cost one insert each"
    );
    assert_eq!(queued(&store).await, 4);
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 4);
    assert_eq!(
        queued(&store).await,
        0,
        "the unknown address's jobs are gone"
    );
    let sent = mailer.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|m| m.to.as_str() == "ada@example.com"));
}

#[tokio::test]
async fn a_failed_send_is_retried_with_back_off_and_a_fresh_token() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::failing(3), clock());
    let auth = service(&store, &mailer, &clock);
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();

    for (attempt, delay) in MAIL_RETRY_DELAYS.iter().take(3).enumerate() {
        assert_eq!(
            auth.deliver_queued_mail().await.unwrap(),
            0,
            "attempt {attempt} fails"
        );
        assert_eq!(mailer.refused().len(), attempt + 1);
        assert_eq!(queued(&store).await, 1, "a failed job stays queued");
        let delay = Duration::try_from(*delay).unwrap();
        clock.advance(delay - Duration::milliseconds(1));
        assert_eq!(auth.deliver_queued_mail().await.unwrap(), 0);
        assert_eq!(
            mailer.refused().len(),
            attempt + 1,
            "not before its back-off"
        );
        clock.advance(Duration::milliseconds(1));
    }
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 1);
    assert_eq!(queued(&store).await, 0);
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1, "exactly one message arrives");
    // Every attempt issued its own token, voiding the one before: only the
    // delivered one works.
    let refused: Vec<String> = mailer.refused().iter().map(token).collect();
    assert_eq!(refused.len(), 3);
    let delivered = token(&sent[0]);
    assert!(!refused.contains(&delivered));
    for old in &refused {
        assert!(matches!(
            auth.reset_password(reset(old)).await,
            Err(AuthError::InvalidOneTimeToken)
        ));
    }
    auth.reset_password(reset(&delivered)).await.unwrap();
}

#[tokio::test]
async fn a_message_is_given_up_after_the_last_try() {
    let (store, mailer, clock) = (
        MemoryStore::new(),
        FlakyMailer::failing(usize::MAX),
        clock(),
    );
    let auth = service(&store, &mailer, &clock);
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    for delay in MAIL_RETRY_DELAYS {
        assert_eq!(auth.deliver_queued_mail().await.unwrap(), 0);
        clock.advance(Duration::try_from(delay).unwrap());
    }
    assert_eq!(queued(&store).await, 1);
    assert_eq!(
        auth.deliver_queued_mail().await.unwrap(),
        1,
        "the 10th failure gives up"
    );
    assert_eq!(mailer.refused().len(), MAIL_RETRY_DELAYS.len() + 1);
    assert_eq!(queued(&store).await, 0, "and deletes the job");
    clock.advance(Duration::days(2));
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 0);
    assert_eq!(mailer.refused().len(), MAIL_RETRY_DELAYS.len() + 1);
}

#[tokio::test]
async fn mail_left_by_a_crash_goes_out_after_the_restart() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::default(), clock());
    {
        // The first process: the request is answered, then it "dies".
        let auth = service(&store, &mailer, &clock);
        sign_up(&auth, "ada@example.com").await;
        auth.request_password_reset("ada@example.com")
            .await
            .unwrap();
    }
    assert_eq!(queued(&store).await, 1);
    assert!(mailer.sent().is_empty());
    // The next process starts its worker when built: no request needed.
    let auth = service_with(&store, &mailer, &clock, true);
    for _ in 0..200 {
        if queued(&store).await == 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert_eq!(queued(&store).await, 0, "sent and deleted");
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    auth.reset_password(reset(&token(&sent[0]))).await.unwrap();
}

#[tokio::test]
async fn a_claim_of_a_dead_worker_is_taken_over_when_it_ends() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::default(), clock());
    let auth = service(&store, &mailer, &clock);
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    // Another worker claimed it and died before it could send.
    let now = clock.now();
    let claimed = store
        .claim_due(now, now + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 0);
    clock.advance(Duration::seconds(60));
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 1);
    assert_eq!(mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_job_this_version_cannot_read_is_left_to_others_then_dropped() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::default(), clock());
    let auth = service(&store, &mailer, &clock);
    sign_up(&auth, "ada@example.com").await;
    let now = clock.now();
    for (key, payload) in [
        ("ada@example.com", r#"{"job":"carrier_pigeon"}"#),
        ("bob@example.com", "not json"),
        (
            "cy@example.com",
            r#"{"job":"notice","kind":"odd","to":"cy@example.com"}"#,
        ),
    ] {
        store
            .enqueue(NewQueuedMail {
                key: key.into(),
                payload: payload.into(),
                created_at: now,
                not_before: now,
            })
            .await
            .unwrap();
    }
    // Ada's verification link waits behind the job of a newer version
    // queued for her address, as it would for a process that can read it.
    auth.send_verification_email_to("ada@example.com")
        .await
        .unwrap();
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 0);
    assert_eq!(queued(&store).await, 4, "put back for a newer version");
    // Put back for 5 minutes: a newer process sharing the queue may take it.
    let claimable = store
        .claim_due(clock.now(), clock.now() + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert!(claimable.is_empty(), "not offered again at once");
    for _ in 0..2 {
        clock.advance(Duration::minutes(5));
        assert_eq!(auth.deliver_queued_mail().await.unwrap(), 0);
        assert_eq!(queued(&store).await, 4, "kept for 15 minutes");
    }
    clock.advance(Duration::minutes(5));
    assert_eq!(
        auth.deliver_queued_mail().await.unwrap(),
        4,
        "dropped, then the link"
    );
    assert_eq!(queued(&store).await, 0);
    assert!(mailer.refused().is_empty());
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1, "only the verification link");
    let user = auth.verify_email(&token(&sent[0])).await.unwrap();
    assert!(user.email_verified);
}

#[tokio::test]
async fn a_password_change_cancels_a_queued_email_change() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::default(), clock());
    let auth = service(&store, &mailer, &clock);
    let principal = ada_signed_in(&auth).await;
    auth.change_email(
        &principal,
        ChangeEmailRequest {
            new_email: "thief@example.com".into(),
            password: Some(Password::new(PASSWORD)),
        },
    )
    .await
    .unwrap();
    // The mail server is down, say, so the link has not gone out yet when
    // the owner changes the password.
    change_password(&auth, &principal).await;
    auth.deliver_queued_mail().await.unwrap();
    let kinds: Vec<&str> = mailer.sent().iter().map(|m| m.kind.as_str()).collect();
    assert!(kinds.contains(&"email_change_requested"), "{kinds:?}");
    assert!(kinds.contains(&"password_changed"), "{kinds:?}");
    assert!(
        mailer
            .sent()
            .iter()
            .all(|m| m.to.as_str() != "thief@example.com"),
        "no link to the new address after the password changed: {kinds:?}"
    );
    assert_eq!(queued(&store).await, 0);
}

#[tokio::test]
async fn a_password_change_or_reset_cancels_queued_reset_requests() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::default(), clock());
    let auth = service(&store, &mailer, &clock);
    let principal = ada_signed_in(&auth).await;
    // The mail server is down, say: the request waits in the queue while
    // the owner, who remembered the password, changes it.
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    change_password(&auth, &principal).await;
    auth.deliver_queued_mail().await.unwrap();
    let kinds: Vec<&str> = mailer.sent().iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["password_changed"],
        "no reset link after the change"
    );
    assert_eq!(queued(&store).await, 0);

    // Two requests wait; the link of the first is used: the second sends
    // nothing (a reset voids the older links, queued ones too).
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    auth.deliver_queued_mail().await.unwrap();
    let link = token(mailer.sent().last().unwrap());
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    auth.reset_password(reset(&link)).await.unwrap();
    auth.deliver_queued_mail().await.unwrap();
    let kinds: Vec<&str> = mailer.sent().iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["password_changed", "password_reset", "password_changed"],
        "the request queued before the reset sends no link"
    );
    assert_eq!(queued(&store).await, 0);
}

#[tokio::test]
async fn the_longest_address_gets_its_reset() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::default(), clock());
    let auth = service(&store, &mailer, &clock);
    // 254 bytes: a 63-byte local part and a domain of four 46-byte labels.
    let label = "d".repeat(46);
    let email = format!("{}@{label}.{label}.{label}.{label}.ex", "a".repeat(63));
    assert_eq!(email.len(), 254);
    sign_up(&auth, &email).await;
    auth.request_password_reset(&email).await.unwrap();
    auth.deliver_queued_mail().await.unwrap();
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    auth.reset_password(reset(&token(&sent[0]))).await.unwrap();
}

#[tokio::test]
async fn notices_are_queued_too() {
    let (store, mailer, clock) = (MemoryStore::new(), FlakyMailer::failing(1), clock());
    let auth = service(&store, &mailer, &clock);
    let principal = ada_signed_in(&auth).await;
    change_password(&auth, &principal).await;
    assert_eq!(
        auth.deliver_queued_mail().await.unwrap(),
        0,
        "the first try fails"
    );
    clock.advance(Duration::seconds(1));
    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 1);
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind.as_str(), "password_changed");
    assert!(sent[0].link.is_none());
}

#[tokio::test]
async fn a_queue_that_cannot_take_a_job_fails_the_request_alike() {
    let store = MemoryStore::new();
    let flows = AccountFlows::new(
        store.clone(),
        FlakyMailer::default(),
        "https://app.example.com",
    )
    .mail_queue(DownQueue);
    let auth = builder(&store).account_flows(flows).build().unwrap();
    sign_up(&auth, "ada@example.com").await;
    for address in ["ada@example.com", "nobody@example.com"] {
        let answer = auth.request_password_reset(address).await;
        assert!(
            matches!(answer, Err(AuthError::Unavailable(_))),
            "{answer:?}"
        );
    }
}

/// A queue whose database is down.
struct DownQueue;

#[async_trait]
impl MailQueue for DownQueue {
    async fn enqueue(&self, _: NewQueuedMail) -> Result<i64, AuthError> {
        Err(AuthError::unavailable("down"))
    }
    async fn claim_due(
        &self,
        _: OffsetDateTime,
        _: OffsetDateTime,
        _: u32,
    ) -> Result<Vec<auth_core::mail::QueuedMail>, AuthError> {
        Err(AuthError::unavailable("down"))
    }
    async fn complete(&self, _: i64) -> Result<bool, AuthError> {
        Err(AuthError::unavailable("down"))
    }
    async fn retry_later(
        &self,
        _: &auth_core::mail::QueuedMail,
        _: OffsetDateTime,
    ) -> Result<bool, AuthError> {
        Err(AuthError::unavailable("down"))
    }
    async fn cancel(&self, _: &str) -> Result<u64, AuthError> {
        Err(AuthError::unavailable("down"))
    }
    async fn queue_status(&self) -> Result<auth_core::mail::MailQueueStatus, AuthError> {
        Err(AuthError::unavailable("down"))
    }
}

/// A user store that counts lookups, around `MemoryStore`.
#[derive(Clone)]
struct CountingUsers {
    inner: MemoryStore,
    lookups: Arc<AtomicUsize>,
}

impl CountingUsers {
    fn new(inner: MemoryStore) -> Self {
        Self {
            inner,
            lookups: Arc::default(),
        }
    }
}

#[async_trait]
impl UserStore for CountingUsers {
    async fn create_user(&self, user: auth_core::store::NewUser) -> Result<User, AuthError> {
        self.inner.create_user(user).await
    }
    async fn find_user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, AuthError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.find_user_by_email(email).await
    }
    async fn find_user_by_id(&self, id: &UserId) -> Result<Option<User>, AuthError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.find_user_by_id(id).await
    }
    async fn update_password_hash(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        at: OffsetDateTime,
    ) -> Result<(), AuthError> {
        self.inner.update_password_hash(id, hash, at).await
    }
    async fn update_name(
        &self,
        id: &UserId,
        name: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<User, AuthError> {
        self.inner.update_name(id, name, at).await
    }
    async fn set_verified_email(
        &self,
        id: &UserId,
        current: &Email,
        verified: &Email,
        at: OffsetDateTime,
    ) -> Result<Option<User>, AuthError> {
        self.inner
            .set_verified_email(id, current, verified, at)
            .await
    }
    async fn delete_user(&self, id: &UserId) -> Result<bool, AuthError> {
        self.inner.delete_user(id).await
    }
}

#[tokio::test]
async fn the_worker_retries_by_itself() {
    let (store, mailer) = (MemoryStore::new(), FlakyMailer::failing(1));
    let flows = AccountFlows::new(store.clone(), mailer.clone(), "https://app.example.com")
        .mail_queue(store.clone());
    // The real clock: the worker waits out the 1 s back-off and polls.
    let auth = builder(&store).account_flows(flows).build().unwrap();
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    for _ in 0..100 {
        if !mailer.sent().is_empty() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(mailer.refused().len(), 1);
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1, "sent on the retry, within 5 s");
    auth.reset_password(reset(&token(&sent[0]))).await.unwrap();
}
