//! A PostgreSQL outage, without stopping the shared server: the store's
//! pool points at a local TCP relay in front of PostgreSQL, and the test
//! takes the relay down (nothing listens; live connections are cut) and up
//! again. Calls during the outage fail with `Unavailable` (503), and the
//! same pool recovers by itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::http::HttpError;
use std::time::Duration;

use auth_core::{
    AuthError, AuthService, Email, JwtCodec, Password, SignUpRequest, problem::Problem,
    store::UserStore,
};
use auth_sqlx::{PostgresStore, sqlx::postgres::PgPoolOptions};
use tokio::{net::TcpListener, task::JoinSet};

/// A TCP relay from a fixed local port to PostgreSQL, that can be taken
/// down and brought back up on the same port.
struct Relay {
    port: u16,
    upstream: String,
    running: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    /// A port on which nothing listens (yet).
    async fn new(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        Self {
            port,
            upstream,
            running: None,
        }
    }

    async fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let upstream = self.upstream.clone();
        self.running = Some(tokio::spawn(async move {
            // Owning the connections' tasks: aborting this task drops the
            // set, which aborts them all and cuts every live connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    async fn down(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
            let _ = running.await;
        }
    }
}

/// A call's result, or a failure if it hangs: an outage must end in an
/// error soon after the acquire timeout, never in a stuck request.
async fn within<T>(during: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(15), call)
        .await
        .unwrap_or_else(|_| panic!("{during}: the call hung"))
}

fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, AuthError>, during: &str) {
    match result {
        Err(error @ AuthError::Unavailable(_)) => {
            assert_eq!(HttpError::status_for(&error), 503);
            let problem = Problem::from(&error);
            assert_eq!(problem.code, "service_unavailable");
            assert_eq!(problem.detail, "the service is temporarily unavailable");
        }
        other => panic!("{during}: expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_unavailable_and_the_same_pool_recovers() {
    let Some(url) = common::postgres_url() else {
        return common::skipped("postgres_outage_is_unavailable_and_the_same_pool_recovers");
    };
    let schema = common::create_schema(&url).await;
    let direct = common::options_in_schema(&url, &schema);
    let upstream = format!("{}:{}", direct.get_host(), direct.get_port());
    PostgresStore::new(PgPoolOptions::new().connect_lazy_with(direct.clone()))
        .migrate()
        .await
        .unwrap();

    let mut relay = Relay::new(upstream).await;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy_with(direct.host("127.0.0.1").port(relay.port));
    let store = PostgresStore::new(pool);
    let auth = AuthService::builder(store.clone(), store.clone())
        .token_codec(JwtCodec::hs256(b"outage-test-secret-of-32-bytes!!", "iss", "aud").unwrap())
        .build()
        .unwrap();

    // 1. Nothing listens: every call is Unavailable once the acquire timeout
    //    passes, through the store and through the service.
    let during = "find before the database was ever up";
    let email = Email::parse("a@example.com").unwrap();
    assert_unavailable(
        within(during, store.find_user_by_email(&email)).await,
        during,
    );
    let during = "sign-up before the database was ever up";
    let sign_up = auth.sign_up(SignUpRequest {
        email: "a@example.com".into(),
        password: Password::new("correct horse battery staple"),
        name: None,
    });
    assert_unavailable(within(during, sign_up).await, during);

    // 2. The database appears: the same pool connects.
    relay.up().await;
    let ada = store
        .create_user(common::new_user("ada@example.com"))
        .await
        .unwrap();

    // 3. It goes away, cutting the pool's open connections.
    relay.down().await;
    let during = "find with the connections cut";
    assert_unavailable(within(during, store.find_user_by_id(&ada.id)).await, during);
    let during = "create with the connections cut";
    let create = store.create_user(common::new_user("grace@example.com"));
    assert_unavailable(within(during, create).await, during);

    // 4. It is back: the same pool recovers, and nothing was lost.
    relay.up().await;
    assert_eq!(store.find_user_by_id(&ada.id).await.unwrap(), Some(ada));
    store
        .create_user(common::new_user("grace@example.com"))
        .await
        .unwrap();
    relay.down().await;
}
