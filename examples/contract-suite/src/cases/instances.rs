//! Cases for the per-client limit and for several instances sharing one
//! database and one Redis.

use std::path::Path;

use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::{
    Backend, Reply, Server,
    client::{Api, fresh_email},
    server::{random_string, say},
};

/// The environment variable with the Redis URL the multi-instance case uses.
pub const REDIS_URL_VAR: &str = "AUTH_TEST_REDIS_URL";

/// `POST path` with `body`, from the client that `X-Forwarded-For` names.
/// A POST of `body` as JSON, forwarded for `forwarded_for` (believed only
/// behind `TRUSTED_PROXIES=127.0.0.1`).
pub(super) async fn post_from(api: &Api, path: &str, forwarded_for: &str, body: &Value) -> Reply {
    let request = api
        .request(Method::POST, path)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", forwarded_for)
        .body(body.to_string());
    api.send(request)
        .await
        .noted(format!("from X-Forwarded-For: {forwarded_for}"))
}

fn expect_limited(reply: &Reply) {
    reply.expect_problem(429, "too_many_attempts");
    let retry_after = reply.header("retry-after").unwrap_or_default();
    reply.check(
        retry_after
            .trim()
            .parse::<u64>()
            .is_ok_and(|secs| secs >= 1),
        "Retry-After must be a whole number of seconds, at least 1",
    );
}

/// With `CLIENT_LIMIT_REQUESTS=4`: sign-up, sign-in and refresh share one
/// budget per client address; the fifth is 429 `too_many_attempts` with
/// `Retry-After`, whatever `X-Forwarded-For` says, since no proxy is
/// trusted; `/me` is not limited. Behind a trusted proxy
/// (`TRUSTED_PROXIES=127.0.0.1`), each forwarded client has its own budget,
/// and what a client writes to the left of the proxy's hop changes nothing.
pub async fn client_rate_limit(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend.clone(), &[("CLIENT_LIMIT_REQUESTS", "4")]).await;
    let target = server.target();
    let api = target.api();
    let account = api.sign_up().await;
    let second = api.new_session(&account).await;
    api.refresh(&second.refresh_token).await.expect_json(200);
    let body = json!({ "email": account.email, "password": account.password });
    post_from(&api, "/api/auth/sign-in", "198.51.100.1", &body)
        .await
        .expect_json(200);
    expect_limited(&post_from(&api, "/api/auth/sign-in", "198.51.100.2", &body).await);
    expect_limited(
        &api.sign_up_as(&fresh_email(), "a-long-enough-password", None)
            .await
            .noted("sign-up shares the budget"),
    );
    api.me(&account.access_token)
        .await
        .noted("/me is not limited")
        .expect_status(200);
    drop(server);

    let proxied = Server::start(
        binary,
        backend,
        &[
            ("CLIENT_LIMIT_REQUESTS", "2"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let target = proxied.target();
    let api = target.api();
    let account = api.sign_up().await; // the proxy's own budget
    let body = json!({ "email": account.email, "password": account.password });
    for _ in 0..2 {
        post_from(&api, "/api/auth/sign-in", "198.51.100.1", &body)
            .await
            .expect_json(200);
    }
    expect_limited(&post_from(&api, "/api/auth/sign-in", "198.51.100.1", &body).await);
    // A client's own entry to the left is not believed.
    expect_limited(
        &post_from(
            &api,
            "/api/auth/sign-in",
            "203.0.113.9, 198.51.100.1",
            &body,
        )
        .await,
    );
    post_from(&api, "/api/auth/sign-in", "198.51.100.2", &body)
        .await
        .noted("another forwarded client")
        .expect_json(200);
}

/// Two instances on one PostgreSQL database and one Redis
/// (`AUTH_TEST_REDIS_URL`): the sign-in throttle's budget is shared, a
/// sign-out on one is refused on the other at once (no session cache), and
/// a refresh-token replay on one revokes the session on both.
pub async fn instances_share_limits_and_revocations(binary: &Path, backend: Backend) {
    assert!(
        matches!(backend, Backend::Postgres),
        "instances_share_limits_and_revocations runs on PostgreSQL only"
    );
    let Some(redis_url) = std::env::var(REDIS_URL_VAR)
        .ok()
        .filter(|url| !url.is_empty())
    else {
        say(&format!(
            "skipped: no Redis ({REDIS_URL_VAR} is not set): instances_share_limits_and_revocations"
        ));
        return;
    };
    let secret = random_string(48);
    let env = |extra: Option<&str>| {
        let mut env = vec![
            ("JWT_SECRET".to_owned(), Some(secret.clone())),
            ("REDIS_URL".to_owned(), Some(redis_url.clone())),
            ("SESSION_CACHE_SECS".to_owned(), Some("0".to_owned())),
            ("SIGN_IN_MAX_FAILURES".to_owned(), Some("4".to_owned())),
            // Strict rotation: the replay below is reuse at once.
            (
                "REFRESH_REUSE_INTERVAL_SECS".to_owned(),
                Some("0".to_owned()),
            ),
        ];
        if let Some(database_url) = extra {
            env.push(("DATABASE_URL".to_owned(), Some(database_url.to_owned())));
        }
        env
    };
    let one = Server::start_with(binary, Backend::Postgres, env(None)).await;
    let two = Server::start_with(
        binary,
        Backend::PostgresIn(one.database_url().to_owned()),
        env(Some(one.database_url())),
    )
    .await;
    let (target_one, target_two) = (one.target(), two.target());
    let (a, b) = (target_one.api(), target_two.api());

    // One budget: two failures on each instance use up four.
    let account = a.sign_up().await;
    for (api, which) in [(&a, "one"), (&b, "two"), (&a, "one"), (&b, "two")] {
        api.sign_in(&account.email, "wrong-password-123")
            .await
            .noted(format!("a failed sign-in on instance {which}"))
            .expect_unauthorized_without_token("invalid_credentials");
    }
    expect_limited(
        &a.sign_in(&account.email, &account.password)
            .await
            .noted("instance one, after four failures across both"),
    );
    expect_limited(
        &b.sign_in(&account.email, &account.password)
            .await
            .noted("instance two, after four failures across both"),
    );

    // Sign-out on one is refused on the other at once.
    let other = b.sign_up().await;
    b.me(&other.access_token)
        .await
        .noted("instance two, before sign-out")
        .expect_status(200);
    a.sign_out(&other.access_token).await.expect_status(204);
    b.me(&other.access_token)
        .await
        .noted("instance two, right after sign-out on instance one")
        .expect_token_rejected(&["session_revoked"]);

    // A replay on one revokes the session on both.
    let third = a.sign_up().await;
    let reply = a.refresh(&third.refresh_token).await;
    reply.expect_json(200);
    let rotated = third.with_session(&reply);
    b.refresh(&third.refresh_token)
        .await
        .noted("the old refresh token replayed on instance two")
        .expect_problem(401, "refresh_token_reused");
    for (api, which) in [(&a, "one"), (&b, "two")] {
        api.me(&rotated.access_token)
            .await
            .noted(format!("the rotated access token on instance {which}"))
            .expect_token_rejected(&["session_revoked"]);
    }
    a.refresh(&rotated.refresh_token)
        .await
        .noted("the rotated refresh token on instance one")
        .expect_problem_in(401, &["session_revoked", "invalid_refresh_token"]);
}
