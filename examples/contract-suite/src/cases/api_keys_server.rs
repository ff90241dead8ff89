//! API keys on servers of their own: the logs, keys switched off, and on
//! PostgreSQL the stored rows (hashed, aged past their expiry).

use std::{path::Path, time::Duration};

use reqwest::Method;
use serde_json::json;
use sqlx::{Connection as _, Row as _, postgres::PgConnection};

use crate::{Backend, Server};

use super::api_keys::{
    API_KEYS, create_with, delete, expect_refused, expect_works, make, tampered,
};

/// A key, made, used, altered and deleted, appears in no log line, nor
/// does its secret part.
pub async fn api_key_logs_hold_no_key(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("RUST_LOG", "debug")]).await;
    let api = server.target().api();
    let account = api.sign_up().await;
    let made = make(&api, &account, "script", None).await;
    expect_works(&api, &account, &made.key, "the key").await;
    let altered = tampered(&made.key, made.key.len() - 1);
    expect_refused(&api, &account, &altered, "altered").await;
    api.get(API_KEYS, Some(&made.key))
        .await
        .expect_problem(403, "api_key_not_allowed");
    super::account::expect_no_content(&delete(&api, &account.access_token, &made.id).await);
    expect_refused(&api, &account, &made.key, "deleted").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = server.logs();
    let secret = &made.key[made.prefix.len()..];
    for (what, text) in [
        ("the key", made.key.as_str()),
        ("its secret's end", &secret[secret.len() - 24..]),
        ("the altered key", altered.as_str()),
    ] {
        assert!(!logs.contains(text), "{what} is in the logs:\n{logs}");
    }
}

/// With `API_KEYS=false` the key routes answer 404 and the rest works.
pub async fn api_keys_can_be_off(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("API_KEYS", "false")]).await;
    let api = server.target().api();
    let account = api.sign_up().await;
    create_with(&api, &account.access_token, &json!({ "name": "script" }))
        .await
        .expect_problem(404, "not_found");
    api.get(API_KEYS, Some(&account.access_token))
        .await
        .expect_problem(404, "not_found");
    api.me(&account.access_token).await.expect_json(200);
    api.create_task(&account, "still here", None).await;
}

/// On PostgreSQL, read and moved on directly: the row of a key holds its
/// id part as the lookup and a hash, never the key or its secret; its
/// expiry is its lifetime from its creation; and once the expiry has
/// passed (aged in SQL: a day cannot be waited out), the key is refused
/// on the task routes and `GET /me`, while another key works on.
pub async fn api_keys_are_hashed_and_expire(binary: &Path, backend: Backend) {
    assert!(
        matches!(backend, Backend::Postgres),
        "api_keys_are_hashed_and_expire runs on PostgreSQL only"
    );
    let server = Server::start(binary, backend, &[]).await;
    let api = server.target().api();
    let mut db = PgConnection::connect(server.database_url())
        .await
        .expect("the server's database");
    let account = api.sign_up().await;
    let daily = make(&api, &account, "a day", Some(1)).await;
    let lasting = make(&api, &account, "lasting", None).await;
    expect_works(&api, &account, &daily.key, "before its expiry").await;

    let row = sqlx::query(
        "SELECT lookup, data, extract(epoch FROM expires_at - created_at)::float8 AS lifetime \
         FROM auth_credentials WHERE id = $1",
    )
    .bind(&daily.id)
    .fetch_one(&mut db)
    .await
    .expect("the key's row");
    let lookup: String = row.get("lookup");
    let data: Vec<u8> = row.get("data");
    let lifetime: f64 = row.get("lifetime");
    let data = String::from_utf8_lossy(&data);
    let secret = &daily.key[daily.prefix.len()..];
    assert!(
        daily.key.contains(&lookup) && lookup.len() < secret.len(),
        "the lookup is a part of the key, not all of it: {lookup}"
    );
    let secret_end = &secret[secret.len() - 24..];
    for text in [daily.key.as_str(), secret_end] {
        assert!(!data.contains(text), "the row holds the key: {data}");
    }
    assert!(
        !lookup.contains(secret_end),
        "the lookup holds the secret: {lookup}"
    );
    assert!(
        (86_399.0..=86_401.0).contains(&lifetime),
        "a key of one day lives 86 400 s, this one {lifetime} s"
    );

    let aged = sqlx::query(
        "UPDATE auth_credentials SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(&daily.id)
    .execute(&mut db)
    .await
    .expect("aging the key")
    .rows_affected();
    assert_eq!(aged, 1);
    expect_refused(&api, &account, &daily.key, "an expired key").await;
    expect_works(&api, &account, &lasting.key, "a key without expiry").await;
    api.call(Method::GET, API_KEYS, Some(&account.access_token))
        .await
        .expect_json(200);
}
