//! The cases: one `async fn` per behaviour of the contract. Each panics
//! (with the whole HTTP exchange) when the server breaks the contract.
//!
//! Most take a [`Target`](crate::Target) of a freshly started server with
//! the launcher's default configuration; the ones in the last group take the
//! server binary and a [`Backend`](crate::Backend) and start their own
//! servers. [`contract_tests!`](crate::contract_tests) lists them all.

mod access;
mod account;
mod account_email;
mod account_server;
mod account_tokens;
mod api_keys;
mod api_keys_access;
mod api_keys_server;
mod auth;
mod bodies;
mod connections;
mod cookie;
mod database;
mod email_sign_in;
mod instances;
mod launch;
mod limits;
mod mail_queue;
mod oauth;
mod oauth_accounts;
mod oauth_callback;
mod other;
mod passkeys;
mod passkeys_database;
mod passkeys_manage;
mod passkeys_register;
mod passkeys_server;
mod passkeys_sign_in;
mod reauthentication;
mod refresh_reuse;
mod session_meta;
mod tasks;
mod two_factor;
mod two_factor_database;
mod two_factor_server;
mod two_factor_setup;
mod two_factor_sign_in;
mod verification;

pub use self::{
    access::*, account::*, account_email::*, account_server::*, account_tokens::*, api_keys::*,
    api_keys_access::*, api_keys_server::*, auth::*, bodies::*, connections::*, cookie::*,
    database::*, email_sign_in::*, instances::*, launch::*, limits::*, mail_queue::*, oauth::*,
    oauth_accounts::*, oauth_callback::*, other::*, passkeys_database::*, passkeys_manage::*,
    passkeys_register::*, passkeys_server::*, passkeys_sign_in::*, reauthentication::*,
    refresh_reuse::*, session_meta::*, tasks::*, two_factor_database::*, two_factor_server::*,
    two_factor_setup::*, two_factor_sign_in::*, verification::*,
};

use serde_json::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::Reply;

/// The `id`s of a task list, in order.
fn ids(tasks: &[Value]) -> Vec<i64> {
    tasks
        .iter()
        .map(|task| task["id"].as_i64().unwrap_or_default())
        .collect()
}

/// The `title`s of a task list, in order.
fn titles(tasks: &[Value]) -> Vec<String> {
    tasks
        .iter()
        .map(|task| task["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The `id` of a task.
fn id(task: &Value) -> i64 {
    task["id"].as_i64().expect("a task id")
}

/// A timestamp field of a checked task.
fn timestamp(task: &Value, field: &str) -> OffsetDateTime {
    OffsetDateTime::parse(task[field].as_str().unwrap_or_default(), &Rfc3339)
        .unwrap_or_else(|error| panic!("`{field}` of {task} is not RFC 3339: {error}"))
}

/// Panics unless `actual` is the task `expected`: the same fields, with
/// timestamps equal to the millisecond (a database may store less precision
/// than the response to the request that created the row showed).
fn expect_same_task(reply: &Reply, actual: &Value, expected: &Value) {
    for field in ["id", "user_id", "title", "description", "completed"] {
        reply.check(
            actual[field] == expected[field],
            &format!("`{field}` changed: expected task {expected}, got {actual}"),
        );
    }
    for field in ["created_at", "updated_at"] {
        let difference = (timestamp(actual, field) - timestamp(expected, field)).abs();
        reply.check(
            difference < time::Duration::milliseconds(1),
            &format!("`{field}` changed: expected task {expected}, got {actual}"),
        );
    }
}
