//! What an API key reaches: every task route and `GET /api/auth/me` as its
//! user, and no other auth route (403 `api_key_not_allowed`, before the
//! body is looked at); what the key routes take as bodies; the OpenAPI
//! document's account of them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Target, client::expect_task};

use super::api_keys::{
    API_KEYS, api_key_path, create_with, delete, expect_made, expect_refused, expect_works, make,
    tampered,
};

/// Every task route works with a key as the bearer, for the key's user;
/// another user's path is 403, as with an access token.
pub async fn api_key_works_on_task_routes(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let other = api.sign_up().await;
    let key = make(&api, &account, "tasks", None).await.key;
    let tasks = account.tasks_path();
    let reply = api
        .json(
            Method::POST,
            &tasks,
            Some(&key),
            &json!({ "title": "made by a script" }),
        )
        .await;
    let task = reply.expect_json(201);
    expect_task(&task, &reply, &account.user_id);
    let path = account.task_path(&task["id"]);
    let listed = api.get(&tasks, Some(&key)).await.expect_json(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    api.get(&path, Some(&key)).await.expect_json(200);
    api.json(
        Method::PUT,
        &path,
        Some(&key),
        &json!({ "title": "renamed by a script" }),
    )
    .await
    .expect_json(200);
    let toggled = api
        .call(Method::PATCH, &format!("{path}/complete"), Some(&key))
        .await
        .expect_json(200);
    assert_eq!(toggled["completed"], true, "{toggled}");
    // The same task through the session: one user either way.
    let seen = api
        .get_task(&account, toggled["id"].as_i64().unwrap_or_default())
        .await;
    assert_eq!(seen["title"], "renamed by a script");
    api.call(Method::DELETE, &path, Some(&key))
        .await
        .expect_status(204);
    api.get(&other.tasks_path(), Some(&key))
        .await
        .noted("another user's path with a key")
        .expect_problem(403, "forbidden");
    expect_works(&api, &account, &key, "after the task routes").await;
}

/// The routes that need a session, taken from the OpenAPI document (every
/// `/api/auth/…` operation with bearer security but `GET /api/auth/me`):
/// `(method, path)` with path parameters filled in.
async fn session_routes(target: &Target) -> Vec<(Method, String)> {
    let api = target.api();
    let doc = api.get("/api/openapi.json", None).await.expect_json(200);
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        if !path.starts_with("/api/auth/") {
            continue;
        }
        for (method, operation) in item.as_object().into_iter().flatten() {
            let bearer = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|requirement| requirement.get("bearer").is_some());
            if !bearer || (path == "/api/auth/me" && method == "get") {
                continue;
            }
            let method =
                Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("an HTTP method");
            let path = path
                .replace("{id}", "AAAAAAAAAAAAAAAAAAAAAA")
                .replace("{provider}", "github");
            routes.push((method, path));
        }
    }
    routes
}

/// Every auth route that needs a session answers a key with 403
/// `api_key_not_allowed`, also with a body that is not JSON and no
/// `Content-Type` (the key is refused first), and so does a deleted key:
/// a key cannot manage the account, its keys, sessions or factors.
pub async fn api_key_refused_on_session_routes(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let made = make(&api, &account, "script", None).await;
    let deleted = make(&api, &account, "deleted", None).await;
    super::account::expect_no_content(&delete(&api, &account.access_token, &deleted.id).await);
    let routes = session_routes(target).await;
    for (method, path) in [
        (Method::PATCH, "/api/auth/me"),
        (Method::DELETE, "/api/auth/me"),
        (Method::POST, "/api/auth/change-password"),
        (Method::POST, "/api/auth/sign-out"),
        (Method::GET, "/api/auth/sessions"),
        (Method::DELETE, "/api/auth/sessions"),
        (Method::POST, API_KEYS),
        (Method::GET, API_KEYS),
        (Method::POST, "/api/auth/two-factor/setup"),
        (Method::POST, "/api/auth/passkeys/register/options"),
        (Method::POST, "/api/auth/send-verification-email"),
    ] {
        assert!(
            routes.iter().any(|(m, p)| *m == method && p == path),
            "{method} {path} is among the session routes: {routes:?}"
        );
    }
    for (method, path) in &routes {
        for (key, what) in [(&made.key, "a key"), (&deleted.key, "a deleted key")] {
            api.raw(method.clone(), path, Some(key), None, "{not json")
                .await
                .noted(format!("{method} {path} with {what}"))
                .expect_problem(403, "api_key_not_allowed");
        }
    }
    // Nothing changed: the account, its sessions and its keys are there.
    api.me(&account.access_token).await.expect_json(200);
    expect_works(&api, &account, &made.key, "after the refusals").await;
    // An altered key is no key of this account: refused on the task
    // routes as any bad bearer, and still not let into a session route.
    let altered = tampered(&made.key, made.key.len() - 1);
    expect_refused(&api, &account, &altered, "an altered key").await;
    let reply = api.get(API_KEYS, Some(&altered)).await;
    reply.check(
        matches!(reply.code(), 401 | 403),
        "an altered key on a session route is 401 or 403",
    );
}

/// `POST /api-keys` with bodies that break the rules: 400 for what is not
/// JSON or of the wrong type, 415 without JSON's content type, 422 for a
/// name or lifetime out of range; never a 5xx, and nothing is made.
pub async fn api_key_bad_bodies_are_4xx(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = account.access_token.as_str();
    let long = "é".repeat(65);
    for (body, status, code) in [
        (json!({}), 400, "malformed_body"),
        (json!({ "name": null }), 400, "malformed_body"),
        (json!({ "name": 7 }), 400, "malformed_body"),
        (json!({ "name": ["x"] }), 400, "malformed_body"),
        (
            json!({ "name": "x", "expires_in_days": 1.5 }),
            400,
            "malformed_body",
        ),
        (
            json!({ "name": "x", "expires_in_days": "30" }),
            400,
            "malformed_body",
        ),
        (
            json!({ "name": "x", "expires_in_days": 1e300 }),
            400,
            "malformed_body",
        ),
        (json!([]), 400, "malformed_body"),
        (json!(null), 400, "malformed_body"),
        (json!({ "name": "" }), 422, "invalid_name"),
        (json!({ "name": " \t\n " }), 422, "invalid_name"),
        (json!({ "name": long }), 422, "invalid_name"),
        (json!({ "name": "line\nbreak" }), 422, "invalid_name"),
        (json!({ "name": "nul\u{0}" }), 422, "invalid_name"),
        (
            json!({ "name": "x", "expires_in_days": 0 }),
            422,
            "invalid_expiry",
        ),
        (
            json!({ "name": "x", "expires_in_days": -1 }),
            422,
            "invalid_expiry",
        ),
        (
            json!({ "name": "x", "expires_in_days": 366 }),
            422,
            "invalid_expiry",
        ),
        (
            json!({ "name": "x", "expires_in_days": 9_007_199_254_740_991_i64 }),
            422,
            "invalid_expiry",
        ),
    ] {
        create_with(&api, token, &body)
            .await
            .noted(format!("the body {body}"))
            .expect_problem(status, code);
    }
    for raw in ["", "{", "{\"name\": \"x\"", "{\"name\": \"\\ud800\"}"] {
        api.raw(
            Method::POST,
            API_KEYS,
            Some(token),
            Some("application/json"),
            raw,
        )
        .await
        .noted(format!("the body {raw:?}"))
        .expect_problem(400, "malformed_body");
    }
    api.raw(
        Method::POST,
        API_KEYS,
        Some(token),
        Some("text/plain"),
        r#"{"name": "x"}"#,
    )
    .await
    .expect_problem(415, "unsupported_media_type");
    api.raw(
        Method::POST,
        API_KEYS,
        Some(token),
        None,
        r#"{"name": "x"}"#,
    )
    .await
    .expect_problem(415, "unsupported_media_type");
    let (reply, entries) = super::api_keys::list(&api, token).await;
    reply.check(entries.is_empty(), "no key was made");
    // The edges that are allowed.
    let edge = "é".repeat(64);
    let reply = create_with(
        &api,
        token,
        &json!({ "name": edge, "expires_in_days": 365 }),
    )
    .await;
    expect_made(&reply, &edge, Some(365));
    let reply = create_with(
        &api,
        token,
        &json!({ "name": "n", "expires_in_days": null }),
    )
    .await;
    expect_made(&reply, "n", None);
}

/// Without a token the three routes are 401 `missing_token`; with a
/// signed-out session's, `session_revoked`.
pub async fn api_key_routes_need_token(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let made = make(&api, &account, "script", None).await;
    api.sign_out(&account.access_token).await.expect_status(204);
    let path = api_key_path(&made.id);
    for (method, path) in [
        (Method::POST, API_KEYS),
        (Method::GET, API_KEYS),
        (Method::DELETE, path.as_str()),
    ] {
        api.raw(method.clone(), path, None, Some("application/json"), "{}")
            .await
            .noted(format!("{method} {path} without a token"))
            .expect_unauthorized_without_token("missing_token");
        api.raw(
            method.clone(),
            path,
            Some(&account.access_token),
            Some("application/json"),
            "{}",
        )
        .await
        .noted(format!("{method} {path} signed out"))
        .expect_token_rejected(&["session_revoked"]);
    }
}

/// `GET /api/openapi.json` describes the three operations with their
/// statuses, and the 403 of the routes that refuse keys.
pub async fn openapi_lists_api_key_routes(target: &Target) {
    let api = target.api();
    let reply = api.get("/api/openapi.json", None).await;
    let doc = reply.expect_json(200);
    let item = format!("{API_KEYS}/{{id}}");
    let operations: [(&str, &str, &[&str]); 3] = [
        (
            API_KEYS,
            "post",
            &["201", "400", "401", "403", "409", "415", "422"],
        ),
        (API_KEYS, "get", &["200", "401", "403"]),
        (item.as_str(), "delete", &["204", "401", "403", "404"]),
    ];
    for (path, method, statuses) in operations {
        let responses = &doc["paths"][path][method]["responses"];
        for status in statuses {
            reply.check(
                responses[*status].is_object(),
                &format!("{method} {path} documents {status}: {responses}"),
            );
        }
    }
    let forbidden =
        doc["paths"]["/api/auth/change-password"]["post"]["responses"]["403"]["description"]
            .as_str()
            .unwrap_or_default();
    reply.check(
        forbidden.contains("api_key_not_allowed"),
        &format!("change-password's 403 names api_key_not_allowed: {forbidden}"),
    );
    let created: &Value = &doc["components"]["schemas"]["CreatedApiKey"];
    reply.check(
        created["properties"]["key"].is_object(),
        &format!("CreatedApiKey has `key`: {created}"),
    );
}
