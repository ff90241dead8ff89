//! The account flows' mail queue in the SQL stores: a request leaves one
//! row (a job, no token), the worker sends it and deletes the row, and a
//! row left by a process that died is sent by the next one. On SQLite
//! (memory and file) and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use auth_core::{
    AccountFlows, AuthError, AuthService, JwtCodec, Password, SignUpRequest,
    api::ResetPasswordRequest,
    async_trait,
    mail::{Mailer, Message},
    password::{Argon2Hasher, Argon2Params},
    store::{CredentialStore, MailQueue, OneTimeTokenStore, SessionStore, UserStore},
};

/// Keeps what it is sent.
#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<Message>>>);

#[async_trait]
impl Mailer for Inbox {
    async fn send(&self, message: &Message) -> Result<(), AuthError> {
        self.0.lock().unwrap().push(message.clone());
        Ok(())
    }
}

impl Inbox {
    fn tokens(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|message| message.link.as_ref())
            .map(|link| {
                link.expose_secret()
                    .split("#token=")
                    .nth(1)
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

fn service<S>(store: &S, inbox: &Inbox, worker: bool) -> AuthService
where
    S: UserStore + SessionStore + OneTimeTokenStore + CredentialStore + MailQueue + Clone,
{
    let hasher = Argon2Hasher::new(
        Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        4,
    )
    .unwrap();
    AuthService::with_store(store.clone())
        .token_codec(JwtCodec::hs256(b"mail-queue-test-secret-of-32-byte", "iss", "aud").unwrap())
        .password_hasher(hasher)
        .account_flows(
            AccountFlows::new(store.clone(), inbox.clone(), "https://app.example.com")
                .mail_queue(store.clone())
                .mail_worker(worker),
        )
        .build()
        .unwrap()
}

async fn sign_up(auth: &AuthService, email: &str) {
    auth.sign_up(SignUpRequest {
        email: email.into(),
        password: Password::new("correct horse battery staple"),
        name: None,
    })
    .await
    .unwrap();
}

fn reset(token: &str) -> ResetPasswordRequest {
    ResetPasswordRequest {
        token: token.to_owned(),
        new_password: Password::new("a brand new passphrase"),
    }
}

/// A reset and an unknown address: one row each, holding the job and no
/// token; delivered, the known one's token works and the rows are gone.
async fn a_request_is_one_row_until_sent<S>(store: S)
where
    S: UserStore + SessionStore + OneTimeTokenStore + CredentialStore + MailQueue + Clone,
{
    let inbox = Inbox::default();
    let auth = service(&store, &inbox, false);
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    auth.request_password_reset("nobody@example.com")
        .await
        .unwrap();
    let status = store.queue_status().await.unwrap();
    assert_eq!(status.queued, 2);
    // What a row holds: look at it as a claim would, then let it go.
    let now = time::OffsetDateTime::now_utc();
    let rows = store
        .claim_due(now, now + time::Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].payload,
        r#"{"job":"password_reset","email":"ada@example.com"}"#
    );
    for row in &rows {
        assert!(store.retry_later(row, now).await.unwrap());
    }

    assert_eq!(auth.deliver_queued_mail().await.unwrap(), 2);
    assert_eq!(store.queue_status().await.unwrap().queued, 0);
    let tokens = inbox.tokens();
    assert_eq!(tokens.len(), 1, "only the known address gets a message");
    auth.reset_password(reset(&tokens[0])).await.unwrap();
}

/// The first process dies with a request's job queued; the next one sends
/// it when it starts, without a new request.
async fn a_row_left_behind_is_sent_by_the_next_process<S>(
    first: S,
    restarted: impl AsyncFnOnce() -> S,
) where
    S: UserStore + SessionStore + OneTimeTokenStore + CredentialStore + MailQueue + Clone,
{
    let inbox = Inbox::default();
    let auth = service(&first, &inbox, false);
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    drop(auth);
    drop(first);

    let store = restarted().await;
    assert_eq!(store.queue_status().await.unwrap().queued, 1);
    let auth = service(&store, &inbox, true);
    for _ in 0..100 {
        if store.queue_status().await.unwrap().queued == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tokens = inbox.tokens();
    assert_eq!(tokens.len(), 1);
    auth.reset_password(reset(&tokens[0])).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_memory_a_request_is_one_row_until_sent() {
    a_request_is_one_row_until_sent(common::sqlite_memory().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_a_request_is_one_row_until_sent() {
    a_request_is_one_row_until_sent(common::sqlite_file().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_a_row_left_behind_is_sent_by_the_next_process() {
    let path = common::sqlite_path();
    let first = common::sqlite_file_at(&path).await;
    a_row_left_behind_is_sent_by_the_next_process(first.clone(), async || {
        first.pool().close().await;
        common::sqlite_file_at(&path).await
    })
    .await;
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_request_is_one_row_until_sent() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_a_request_is_one_row_until_sent");
        };
        a_request_is_one_row_until_sent(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_row_left_behind_is_sent_by_the_next_process() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_a_row_left_behind_is_sent_by_the_next_process");
        };
        let pool = store.pool().clone();
        a_row_left_behind_is_sent_by_the_next_process(store, async || {
            auth_sqlx::PostgresStore::new(pool)
        })
        .await;
    }
}
