//! What the session list shows of each session's client: the user agent
//! and address of whoever opened or last refreshed it, and when that last
//! refresh was (contract, Account endpoints: `GET /api/auth/sessions`).

use std::path::Path;

use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::{Account, Backend, Reply, Server, Target, client::Api};

use super::account::sessions_of;

/// `POST path` with `body` and, when given, a `User-Agent` and an
/// `X-Forwarded-For`.
async fn post_as(
    api: &Api,
    path: &str,
    body: &Value,
    user_agent: Option<&str>,
    forwarded_for: Option<&str>,
) -> Reply {
    let mut request = api
        .request(Method::POST, path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string());
    if let Some(agent) = user_agent {
        request = request.header(header::USER_AGENT, agent);
    }
    if let Some(client) = forwarded_for {
        request = request.header("x-forwarded-for", client);
    }
    let note = format!("User-Agent: {user_agent:?}, X-Forwarded-For: {forwarded_for:?}");
    api.send(request).await.noted(note)
}

/// A new session of `account`, signed in with these headers.
async fn sign_in_as(
    api: &Api,
    account: &Account,
    user_agent: Option<&str>,
    forwarded_for: Option<&str>,
) -> Account {
    let body = json!({ "email": account.email, "password": account.password });
    let reply = post_as(api, "/api/auth/sign-in", &body, user_agent, forwarded_for).await;
    reply.expect_auth_response(200, api.target(), &account.email);
    Account::from_auth_response(&reply, &account.email, &account.password)
}

/// `session`'s entry in the list that `viewer` sees.
async fn entry_of(api: &Api, viewer: &Account, session: &Account) -> Value {
    let entries = sessions_of(api, &viewer.access_token).await;
    entries
        .into_iter()
        .find(|entry| entry["id"] == session.session_id.as_str())
        .unwrap_or_else(|| panic!("session {} is not listed", session.session_id))
}

/// Sign-in records the `User-Agent` and the client's address (127.0.0.1,
/// the suite's), with `last_active_at` equal to `created_at`; requests
/// with the access token (`GET /me`, the task routes) do not move it; a
/// refresh with another `User-Agent` records that one and moves
/// `last_active_at` on. A 1000-character user agent is kept as its first
/// 256 characters, and none is `null`.
pub async fn sessions_show_their_client(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let first = sign_in_as(&api, &account, Some("contract-suite/1.0 (first)"), None).await;
    api.me(&first.access_token).await.expect_json(200);
    api.create_task(&first, "a task that is not activity", None)
        .await;
    api.list_tasks(&first, "").await;
    let entry = entry_of(&api, &first, &first).await;
    assert_eq!(entry["user_agent"], "contract-suite/1.0 (first)", "{entry}");
    assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
    assert_eq!(
        entry["last_active_at"], entry["created_at"],
        "opened and not refreshed, whatever the access token did since: {entry}"
    );

    let body = json!({ "refresh_token": first.refresh_token });
    let reply = post_as(&api, "/api/auth/refresh", &body, Some("second/2.0"), None).await;
    reply.expect_json(200);
    let refreshed = first.with_session(&reply);
    let entry = entry_of(&api, &refreshed, &first).await;
    assert_eq!(entry["user_agent"], "second/2.0", "{entry}");
    assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
    let when = |field: &str| {
        let text = entry[field].as_str().unwrap_or_default();
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| panic!("`{field}` is RFC 3339: {entry}"))
    };
    assert!(
        when("last_active_at") > when("created_at"),
        "a refresh moves last_active_at on: {entry}"
    );
    api.me(&refreshed.access_token).await.expect_json(200);
    let after_me = entry_of(&api, &refreshed, &first).await;
    assert_eq!(
        after_me["last_active_at"], entry["last_active_at"],
        "GET /me is not activity"
    );

    let long: String = ('a'..='z').cycle().take(1000).collect();
    let verbose = sign_in_as(&api, &account, Some(&long), None).await;
    let entry = entry_of(&api, &verbose, &verbose).await;
    assert_eq!(entry["user_agent"], long[..256], "{entry}");

    let silent = sign_in_as(&api, &account, None, None).await;
    let entry = entry_of(&api, &silent, &silent).await;
    assert_eq!(entry["user_agent"], Value::Null, "{entry}");
    assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
}

/// Behind a trusted proxy (`TRUSTED_PROXIES=127.0.0.1`), the address a
/// session shows is the client that `X-Forwarded-For` names, as the
/// per-client limit sees it, at sign-in and again at a refresh.
pub async fn sessions_show_the_forwarded_client(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let target = server.target();
    let api = target.api();
    let account = api.sign_up().await;
    let session = sign_in_as(&api, &account, Some("proxied/1"), Some("198.51.100.7")).await;
    let entry = entry_of(&api, &session, &session).await;
    assert_eq!(entry["ip"], "198.51.100.7", "{entry}");

    let body = json!({ "refresh_token": session.refresh_token });
    let reply = post_as(&api, "/api/auth/refresh", &body, None, Some("2001:db8::8")).await;
    reply.expect_json(200);
    let refreshed = session.with_session(&reply);
    let entry = entry_of(&api, &refreshed, &session).await;
    assert_eq!(entry["ip"], "2001:db8::8", "{entry}");
    assert_eq!(entry["user_agent"], Value::Null, "{entry}");
}

/// The OpenAPI document's session list item has `last_active_at` (a
/// date-time), `user_agent` (a string of at most 256 characters, or null)
/// and `ip` (a string or null), all required as the contract's shape.
pub async fn openapi_sessions_list_client_fields(target: &Target) {
    let api = target.api();
    let reply = api.get("/api/openapi.json", None).await;
    let doc = reply.expect_json(200);
    let item = &doc["paths"]["/api/auth/sessions"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["items"];
    let name = item["$ref"]
        .as_str()
        .and_then(|reference| reference.rsplit('/').next())
        .unwrap_or_else(|| panic!("the list's items are a named schema: {item}"));
    let schema = &doc["components"]["schemas"][name];
    let property = |field: &str| schema["properties"][field].clone();
    let types = |value: &Value| -> Vec<String> {
        match &value["type"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let last = property("last_active_at");
    assert_eq!(types(&last), ["string"], "{schema}");
    assert_eq!(last["format"], "date-time", "{schema}");
    let agent = property("user_agent");
    assert_eq!(types(&agent), ["string", "null"], "{schema}");
    assert_eq!(agent["maxLength"], 256, "{schema}");
    assert_eq!(types(&property("ip")), ["string", "null"], "{schema}");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|fields| fields.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for field in ["last_active_at", "user_agent", "ip"] {
        assert!(required.contains(&field), "{field} required: {schema}");
    }
}
