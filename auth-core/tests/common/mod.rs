//! Shared set-up for the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use auth_core::{
    AuthError, AuthResponse, AuthService, JwtCodec, MemoryStore, Password, SignInRequest,
    SignUpRequest, async_trait,
    clock::ManualClock,
    mail::{Mailer, Message},
    password::{Argon2Hasher, Argon2Params, PasswordHash, PasswordHasher, Verification},
    service::AuthServiceBuilder,
};
use time::macros::datetime;

pub const SECRET: &[u8] = b"integration-test-secret-of-32-bytes!";
pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "todo-test";
pub const PASSWORD: &str = "correct horse battery staple";

/// Argon2id with tiny costs: these tests are about the flow, not the cost.
pub fn cheap_hasher() -> Argon2Hasher {
    Argon2Hasher::new(
        Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        4,
    )
    .unwrap()
}

pub fn codec() -> JwtCodec {
    JwtCodec::hs256(SECRET, ISSUER, AUDIENCE).unwrap()
}

pub fn clock() -> ManualClock {
    ManualClock::new(datetime!(2030-01-01 12:00 UTC))
}

pub fn builder(store: &MemoryStore) -> AuthServiceBuilder {
    AuthService::builder(store.clone(), store.clone())
        .token_codec(codec())
        .password_hasher(cheap_hasher())
}

pub fn service() -> (AuthService, MemoryStore) {
    let store = MemoryStore::new();
    (builder(&store).build().unwrap(), store)
}

pub fn sign_up_request(email: &str, password: &str) -> SignUpRequest {
    SignUpRequest {
        email: email.into(),
        password: Password::new(password),
        name: None,
    }
}

pub fn sign_in_request(email: &str, password: &str) -> SignInRequest {
    SignInRequest {
        email: email.into(),
        password: Password::new(password),
    }
}

pub async fn sign_up(auth: &AuthService, email: &str) -> AuthResponse {
    auth.sign_up(sign_up_request(email, PASSWORD))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap()
}

/// A hasher that records what it hashed and counts verifications, around
/// a real one.
#[derive(Clone)]
pub struct CountingHasher {
    pub inner: Argon2Hasher,
    pub hashed: Arc<Mutex<Vec<String>>>,
    pub verifies: Arc<AtomicUsize>,
}

impl CountingHasher {
    pub fn new(inner: Argon2Hasher) -> Self {
        Self {
            inner,
            hashed: Arc::default(),
            verifies: Arc::default(),
        }
    }

    /// (hashes made, verifications made) so far.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.hashed.lock().unwrap().len(),
            self.verifies.load(Ordering::SeqCst),
        )
    }

    pub fn has_hashed(&self, password: &str) -> bool {
        self.hashed.lock().unwrap().iter().any(|p| p == password)
    }
}

#[async_trait]
impl PasswordHasher for CountingHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        self.hashed
            .lock()
            .unwrap()
            .push(password.expose_secret().to_owned());
        self.inner.hash(password).await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, AuthError> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(password, hash).await
    }
}

/// Keeps every message, for the test to read.
#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Message>>>);

#[async_trait]
impl Mailer for Inbox {
    async fn send(&self, message: &Message) -> Result<(), AuthError> {
        self.0.lock().unwrap().push(message.clone());
        Ok(())
    }
}

impl Inbox {
    /// The link token and code of the `n`-th sign-in message (from 1),
    /// waiting for it: messages go out in the background.
    pub async fn nth(&self, n: usize) -> (String, String) {
        for _ in 0..200 {
            let found = self
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|message| message.kind.as_str() == "email_sign_in")
                .nth(n - 1)
                .cloned();
            if let Some(message) = found {
                let link = message.link.expect("a link");
                let token = link
                    .expose_secret()
                    .split("#token=")
                    .nth(1)
                    .unwrap()
                    .to_owned();
                let code = message
                    .text
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|run| run.len() == 6)
                    .expect("a code")
                    .to_owned();
                return (token, code);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no sign-in message #{n}");
    }
}
