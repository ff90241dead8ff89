//! API keys: made, listed and deleted with a session; sent as the bearer
//! to the task routes and `GET /api/auth/me`. The helpers of every API-key
//! case are here, with the cases about the keys themselves (their shape,
//! the list, deleting, what ends them); `api_keys_access.rs` has what a
//! key may and may not reach, `api_keys_server.rs` the cases that start
//! their own servers.
//!
//! The contract names no prefix: a key is checked to start with the
//! `prefix` its answer shows and to carry at least 256 bits (43 base64url
//! characters) beyond it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    Account, Reply, Target,
    client::{Api, expect_utc_timestamp, fresh_password, path_segment},
};

use super::{
    account::{change_password, delete_me, expect_no_content, expect_no_store},
    account_tokens::{reset_password, reset_token},
};

/// `POST` and `GET /api/auth/api-keys`.
pub(super) const API_KEYS: &str = "/api/auth/api-keys";

/// `DELETE /api/auth/api-keys/{id}`'s path.
pub(super) fn api_key_path(id: &str) -> String {
    format!("{API_KEYS}/{}", path_segment(id))
}

/// A key as made: the answer's fields.
#[derive(Clone, Debug)]
pub(super) struct Made {
    /// `id`.
    pub(super) id: String,
    /// `key`.
    pub(super) key: String,
    /// `prefix`.
    pub(super) prefix: String,
    /// The whole answer.
    pub(super) body: Value,
}

/// `POST /api/auth/api-keys` with `body`, as `token`.
pub(super) async fn create_with(api: &Api, token: &str, body: &Value) -> Reply {
    api.json(Method::POST, API_KEYS, Some(token), body).await
}

/// Makes a key named `name` for `account` (expiring in `days`, if given),
/// checked to be the contract's 201.
pub(super) async fn make(api: &Api, account: &Account, name: &str, days: Option<i64>) -> Made {
    let mut body = json!({ "name": name });
    if let Some(days) = days {
        body["expires_in_days"] = json!(days);
    }
    let reply = create_with(api, &account.access_token, &body).await;
    expect_made(&reply, name.trim(), days)
}

/// Panics unless `reply` is a 201 with a new key named `name`, expiring in
/// `days` (or never), never used, sent with `Cache-Control: no-store`.
pub(super) fn expect_made(reply: &Reply, name: &str, days: Option<i64>) -> Made {
    let body = reply.expect_json(201);
    expect_no_store(reply);
    expect_entry(reply, &body, name);
    reply.check(body["last_used_at"].is_null(), "a new key was never used");
    let created = expect_utc_timestamp(&body["created_at"], reply, "created_at");
    match days {
        None => reply.check(body["expires_at"].is_null(), "no lifetime: no expiry"),
        Some(days) => {
            let expires = expect_utc_timestamp(&body["expires_at"], reply, "expires_at");
            reply.check(
                (expires - created - time::Duration::days(days)).abs() < time::Duration::seconds(1),
                &format!("expires_at is created_at plus {days} days"),
            )
        }
    };
    let key = body["key"].as_str().unwrap_or_default().to_owned();
    let prefix = body["prefix"].as_str().unwrap_or_default().to_owned();
    reply.check(
        key.starts_with(&prefix) && !prefix.is_empty(),
        "`key` starts with `prefix`",
    );
    reply.check(
        key.len() >= prefix.len() + 43,
        "a key carries at least 256 bits (43 base64url characters) beyond its prefix",
    );
    reply.check(
        key.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "a key is URL-safe text, fit for a header",
    );
    Made {
        id: body["id"].as_str().unwrap_or_default().to_owned(),
        key,
        prefix,
        body,
    }
}

/// Panics unless `entry` is a key as the list shows it, named `name`:
/// `id`, `name`, `prefix` strings, `created_at` a timestamp, `expires_at`
/// and `last_used_at` timestamps or `null`.
pub(super) fn expect_entry(reply: &Reply, entry: &Value, name: &str) {
    reply.check(
        entry["id"].as_str().is_some_and(|id| !id.is_empty()),
        "`id` is a non-empty string",
    );
    reply.check(entry["name"] == name, &format!("`name` is {name:?}"));
    reply.check(
        entry["prefix"].as_str().is_some_and(|p| !p.is_empty()),
        "`prefix` is a non-empty string",
    );
    expect_utc_timestamp(&entry["created_at"], reply, "created_at");
    for field in ["expires_at", "last_used_at"] {
        if !entry[field].is_null() {
            expect_utc_timestamp(&entry[field], reply, field);
        }
    }
}

/// `GET /api/auth/api-keys` as `token`: the reply and its entries,
/// checked to be an array.
pub(super) async fn list(api: &Api, token: &str) -> (Reply, Vec<Value>) {
    let reply = api.get(API_KEYS, Some(token)).await;
    let body = reply.expect_json(200);
    let Value::Array(entries) = body else {
        panic!("the key list is an array\n{}", reply.describe());
    };
    (reply, entries)
}

/// The `id`s of a key list, in order.
pub(super) fn entry_ids(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| entry["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `DELETE /api/auth/api-keys/{id}` as `token`.
pub(super) async fn delete(api: &Api, token: &str, id: &str) -> Reply {
    api.call(Method::DELETE, &api_key_path(id), Some(token))
        .await
}

/// `GET /api/{user_id}/tasks` of `account` with `key` as the bearer.
pub(super) async fn tasks_with(api: &Api, account: &Account, key: &str) -> Reply {
    api.get(&account.tasks_path(), Some(key)).await
}

/// Panics unless `key` works: the task list of `account` and `GET /me`
/// answer 200 for the account's user.
pub(super) async fn expect_works(api: &Api, account: &Account, key: &str, what: &str) {
    tasks_with(api, account, key)
        .await
        .noted(format!("{what}: the task list"))
        .expect_json(200);
    let reply = api.me(key).await.noted(format!("{what}: GET /me"));
    let body = reply.expect_json(200);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "GET /me with a key is its user",
    );
}

/// Panics unless `key` is refused (401 `invalid_token`) on the task list
/// and `GET /me`.
pub(super) async fn expect_refused(api: &Api, account: &Account, key: &str, what: &str) {
    tasks_with(api, account, key)
        .await
        .noted(format!("{what}: the task list"))
        .expect_token_rejected(&["invalid_token"]);
    api.me(key)
        .await
        .noted(format!("{what}: GET /me"))
        .expect_token_rejected(&["invalid_token"]);
}

/// `key` with the character at `at` changed.
pub(super) fn tampered(key: &str, at: usize) -> String {
    let mut bytes = key.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ASCII")
}

/// Making a key: 201 with the contract's fields and `Cache-Control:
/// no-store`, the name trimmed, the lifetime as asked; each key is new.
pub async fn api_key_create_shape(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let first = make(&api, &account, "  nightly backup\t", None).await;
    let second = make(&api, &account, "ci", Some(30)).await;
    let third = make(&api, &account, "ci", Some(1)).await;
    for field in [
        "id",
        "name",
        "key",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
    ] {
        let present = first
            .body
            .as_object()
            .is_some_and(|o| o.contains_key(field));
        assert!(present, "the answer has `{field}`: {}", first.body);
    }
    assert_ne!(first.key, second.key);
    assert_ne!(second.key, third.key);
    assert_ne!(first.id, second.id);
    assert!(
        !first.key.contains(&first.id) && first.key != first.prefix,
        "the id and the prefix are not the key"
    );
    expect_works(&api, &account, &first.key, "a new key").await;
    expect_works(&api, &account, &third.key, "a key of one day").await;
    // The owner is told of each key, in case it was not them; the mail
    // holds no key.
    let notice = target
        .outbox()
        .wait_for_nth(&account.email, "api_key_created", 3)
        .await;
    assert!(
        !notice.text.contains(&first.key) && !notice.text.contains(&third.key),
        "the notice holds no key: {}",
        notice.text
    );
}

/// The list: every key of the user with its fields, oldest first, never
/// the key or anything of its secret; another user sees none of them.
pub async fn api_key_list_holds_no_secrets(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let first = make(&api, &account, "first", None).await;
    let second = make(&api, &account, "second", Some(7)).await;
    let (reply, entries) = list(&api, &account.access_token).await;
    reply.check(
        entry_ids(&entries) == [first.id.clone(), second.id.clone()],
        "both keys, oldest first",
    );
    expect_entry(&reply, &entries[0], "first");
    expect_entry(&reply, &entries[1], "second");
    reply.check(entries[0]["prefix"] == first.prefix.as_str(), "the prefix");
    reply.check(
        entries[1]["expires_at"] == second.body["expires_at"],
        "expiry",
    );
    let text = reply.text();
    for made in [&first, &second] {
        let secret = &made.key[made.prefix.len()..];
        reply.check(!text.contains(&made.key), "no key in the list");
        reply.check(
            !text.contains(&secret[secret.len() - 20..]),
            "nothing of the secret in the list",
        );
    }
    for entry in &entries {
        reply.check(entry.get("key").is_none(), "no `key` field in the list");
    }
    reply.check(
        !text.to_ascii_lowercase().contains("hash"),
        "no hash in the list",
    );
    let other = api.sign_up().await;
    let (reply, entries) = list(&api, &other.access_token).await;
    reply.check(entries.is_empty(), "another user's list is empty");
}

/// Deleting: 204, the key is refused at once (401, also right after it was
/// used, whatever a server caches), it leaves the list, and deleting it
/// again is 404. Another key of the user keeps working.
pub async fn api_key_delete_stops_it_at_once(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let gone = make(&api, &account, "gone", None).await;
    let kept = make(&api, &account, "kept", None).await;
    expect_works(&api, &account, &gone.key, "before").await;
    expect_works(&api, &account, &gone.key, "before, again").await;
    expect_no_content(&delete(&api, &account.access_token, &gone.id).await);
    expect_refused(&api, &account, &gone.key, "a deleted key").await;
    delete(&api, &account.access_token, &gone.id)
        .await
        .noted("deleted twice")
        .expect_problem(404, "not_found");
    let (reply, entries) = list(&api, &account.access_token).await;
    reply.check(
        entry_ids(&entries) == [kept.id.clone()],
        "only the other key",
    );
    expect_works(&api, &account, &kept.key, "the other key").await;
}

/// Another user's key id, unknown ids and ids of other shapes are 404
/// `not_found` and delete nothing.
pub async fn api_key_delete_is_per_user(target: &Target) {
    let api = target.api();
    let owner = api.sign_up().await;
    let other = api.sign_up().await;
    let made = make(&api, &owner, "mine", None).await;
    delete(&api, &other.access_token, &made.id)
        .await
        .noted("another user's key")
        .expect_problem(404, "not_found");
    let long = "A".repeat(1000);
    for unknown in [
        "0",
        "-1",
        "00000000-0000-0000-0000-000000000000",
        "AAAAAAAAAAAAAAAAAAAAAA",
        "no such key",
        "%00",
        made.prefix.as_str(),
        long.as_str(),
    ] {
        delete(&api, &owner.access_token, unknown)
            .await
            .noted(format!("an unknown id {unknown:?}"))
            .expect_problem(404, "not_found");
    }
    let (reply, entries) = list(&api, &owner.access_token).await;
    reply.check(entry_ids(&entries) == [made.id.clone()], "the key stays");
    expect_works(&api, &owner, &made.key, "after the refused deletes").await;
}

/// A key outlives sign-out, `DELETE /sessions`, a password change and a
/// password reset.
pub async fn api_key_outlives_sessions(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let made = make(&api, &account, "script", None).await;
    api.sign_out(&account.access_token).await.expect_status(204);
    expect_works(&api, &account, &made.key, "after sign-out").await;
    let session = api.new_session(&account).await;
    expect_no_content(
        &api.call(
            Method::DELETE,
            "/api/auth/sessions",
            Some(&session.access_token),
        )
        .await,
    );
    expect_works(&api, &account, &made.key, "after DELETE /sessions").await;
    let session = api.new_session(&account).await;
    let new_password = fresh_password();
    expect_no_content(&change_password(&api, &session, &account.password, &new_password).await);
    expect_works(&api, &account, &made.key, "after a password change").await;
    let token = reset_token(&api, &target.outbox(), &account.email, 1).await;
    expect_no_content(&reset_password(&api, &token, &fresh_password()).await);
    expect_works(&api, &account, &made.key, "after a password reset").await;
}

/// Deleting the account ends its keys.
pub async fn api_key_goes_with_the_account(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let made = make(&api, &account, "script", None).await;
    expect_works(&api, &account, &made.key, "before").await;
    expect_no_content(&delete_me(&api, &account.access_token, &account.password).await);
    api.me(&made.key)
        .await
        .noted("the key of a deleted account")
        .expect_problem(401, "invalid_token");
}

/// One character changed anywhere past the prefix, one added or one taken
/// away: 401 `invalid_token`; the key itself still works.
pub async fn api_key_tampered_is_401(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let made = make(&api, &account, "script", None).await;
    expect_works(&api, &account, &made.key, "the key").await;
    let key = &made.key;
    let start = made.prefix.len();
    let mut wrong: Vec<String> = [start, start + 10, key.len() - 20, key.len() - 1]
        .iter()
        .map(|at| tampered(key, *at))
        .collect();
    wrong.push(format!("{key}A"));
    wrong.push(key[..key.len() - 1].to_owned());
    for wrong in &wrong {
        expect_refused(&api, &account, wrong, &format!("the key altered: {wrong}")).await;
    }
    expect_works(&api, &account, &made.key, "the key, after").await;
}

/// `last_used_at` is `null` until the key is used, then a time no earlier
/// than its creation.
pub async fn api_key_last_used_at_is_set(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let made = make(&api, &account, "script", None).await;
    let (_, entries) = list(&api, &account.access_token).await;
    assert!(entries[0]["last_used_at"].is_null(), "unused: {entries:?}");
    expect_works(&api, &account, &made.key, "used").await;
    let (reply, entries) = list(&api, &account.access_token).await;
    let used = expect_utc_timestamp(&entries[0]["last_used_at"], &reply, "last_used_at");
    let created = expect_utc_timestamp(&entries[0]["created_at"], &reply, "created_at");
    reply.check(used >= created, "used after it was made");
}

/// At the cap (50 keys) the next is 409 `too_many_api_keys`; deleting one
/// makes room.
pub async fn api_key_cap_is_409(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let mut last = None;
    for n in 0..50 {
        last = Some(make(&api, &account, &format!("key {n}"), None).await);
    }
    create_with(&api, &account.access_token, &json!({ "name": "one more" }))
        .await
        .expect_problem(409, "too_many_api_keys");
    let last = last.expect("50 keys");
    expect_no_content(&delete(&api, &account.access_token, &last.id).await);
    make(&api, &account, "one more", None).await;
}
