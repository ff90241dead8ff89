//! Health, OpenAPI, the demo page, unknown routes, wrong methods, CORS.

use reqwest::Method;
use serde_json::json;

use crate::{Target, server::ALLOWED_ORIGIN};

/// `GET /healthz` is 200 `{"status":"ok"}`.
pub async fn healthz_ok(target: &Target) {
    let api = target.api();
    let reply = api.get("/healthz", None).await;
    let body = reply.expect_json(200);
    reply.check(
        body == json!({ "status": "ok" }),
        "expected exactly {\"status\":\"ok\"}",
    );
}

/// `GET /` serves the demo page (also at the paths the outbox links open),
/// its script and style, each with a strict `Content-Security-Policy`.
pub async fn demo_page_is_served(target: &Target) {
    let api = target.api();
    for (path, media_type) in [
        ("/", "text/html"),
        ("/reset-password", "text/html"),
        ("/verify-email", "text/html"),
        ("/email-sign-in", "text/html"),
        ("/app.js", "text/javascript"),
        ("/messages.js", "text/javascript"),
        ("/session.js", "text/javascript"),
        ("/tasks.js", "text/javascript"),
        ("/account.js", "text/javascript"),
        ("/two-factor.js", "text/javascript"),
        ("/oauth.js", "text/javascript"),
        ("/passkeys.js", "text/javascript"),
        ("/api-keys.js", "text/javascript"),
        ("/app.css", "text/css"),
        ("/icon.svg", "image/svg+xml"),
    ] {
        let reply = api.get(path, None).await;
        reply.expect_status(200);
        let content_type = reply.header("content-type").unwrap_or_default();
        reply.check(
            crate::client::media_type(&content_type) == media_type,
            &format!("{path} is {media_type}"),
        );
        let csp = reply.header("content-security-policy").unwrap_or_default();
        reply.check(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            &format!("{path} has a strict Content-Security-Policy"),
        );
        reply.check(
            reply.header("x-content-type-options").as_deref() == Some("nosniff"),
            &format!("{path} has X-Content-Type-Options: nosniff"),
        );
    }
    let page = api.get("/", None).await.text();
    assert!(page.contains(r#"src="/app.js""#), "the page loads /app.js");
    api.call(Method::POST, "/", None)
        .await
        .expect_problem(405, "method_not_allowed");
    api.get("/index.html", None)
        .await
        .expect_problem(404, "not_found");
}

/// `GET /api/openapi.json` is an OpenAPI 3.1 document with every path of
/// the contract.
pub async fn openapi_document(target: &Target) {
    let api = target.api();
    let reply = api.get("/api/openapi.json", None).await;
    let doc = reply.expect_json(200);
    reply.check(
        doc["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3.1")),
        "expected \"openapi\": \"3.1.x\"",
    );
    let paths = doc["paths"].as_object();
    reply.check(paths.is_some(), "expected a \"paths\" object");
    let paths = paths.unwrap();
    for path in [
        "/api/auth/sign-up",
        "/api/auth/sign-in",
        "/api/auth/refresh",
        "/api/auth/sign-out",
        "/api/auth/me",
        "/api/{user_id}/tasks",
        "/api/{user_id}/tasks/{id}",
        "/api/{user_id}/tasks/{id}/complete",
        "/healthz",
    ] {
        reply.check(
            paths.contains_key(path),
            &format!(
                "the document must describe {path}; it has {:?}",
                paths.keys().collect::<Vec<_>>()
            ),
        );
    }
}

/// Unknown routes are 404 problem+json `not_found`, with or without a token.
pub async fn unknown_routes_are_404(target: &Target) {
    let api = target.api();
    for path in [
        "/no-such-route",
        "/api",
        "/api/no-such-route",
        "/api/auth/no-such-route",
        "/healthz/more",
    ] {
        api.get(path, None).await.expect_problem(404, "not_found");
    }
    api.json(Method::POST, "/api/auth/no-such-route", None, &json!({}))
        .await
        .expect_problem(404, "not_found");

    let account = api.sign_up().await;
    let task = api.create_task(&account, "a task", None).await;
    let token = Some(account.access_token.as_str());
    for path in [
        format!("{}/complete/more", account.task_path(&task["id"])),
        format!(
            "{}/no-such-route",
            account.tasks_path().trim_end_matches("/tasks")
        ),
    ] {
        api.get(&path, token).await.expect_problem(404, "not_found");
    }
}

/// Percent-escapes in the path (the contract is silent; both servers
/// choose this, so that they route alike): an escape of a character that
/// never needs one (`%65` for `e`) is a 404 wherever it is; a segment that
/// does not decode to UTF-8 names nobody (403 as `{user_id}`) and no task
/// (404 as `{id}`); a needed escape (`%2F`) is part of the segment.
pub async fn escaped_paths_are_read_alike(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());
    let own = account.tasks_path();
    let first = account.user_id.chars().next().unwrap_or('a');
    let escaped_user = format!(
        "/api/%{:02X}{}/tasks",
        u32::from(first),
        &account.user_id[first.len_utf8()..]
    );
    for path in [
        "/api/auth/m%65".to_owned(),
        "/%61pi/auth/me".to_owned(),
        own.replace("/tasks", "/tas%6Bs"),
        escaped_user,
    ] {
        api.get(&path, token)
            .await
            .noted(format!("needless escape: {path}"))
            .expect_problem(404, "not_found");
    }
    api.get(&format!("{own}/%FF"), token)
        .await
        .noted("own path, undecodable task id")
        .expect_problem(404, "not_found");
    for path in ["/api/%FF/tasks", "/api/a%2Fb/tasks"] {
        api.get(path, token)
            .await
            .noted(format!("another user's path: {path}"))
            .expect_problem(403, "forbidden");
    }
}

/// A method not served on an existing path is 405 problem+json
/// `method_not_allowed` whose `Allow` lists the served methods (and not
/// the one asked for).
pub async fn wrong_method_is_405_with_allow(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let task = api.create_task(&account, "a task", None).await;
    let token = Some(account.access_token.as_str());
    let task_path = account.task_path(&task["id"]);
    let complete_path = format!("{task_path}/complete");
    let cases: Vec<(Method, String, Option<&str>, &[&str])> = vec![
        (Method::GET, "/api/auth/sign-up".into(), None, &["POST"]),
        (Method::GET, "/api/auth/sign-in".into(), None, &["POST"]),
        (Method::DELETE, "/api/auth/refresh".into(), None, &["POST"]),
        (Method::GET, "/api/auth/sign-out".into(), token, &["POST"]),
        (Method::POST, "/api/auth/me".into(), token, &["GET"]),
        (Method::PATCH, "/healthz".into(), None, &["GET"]),
        (Method::POST, "/api/openapi.json".into(), None, &["GET"]),
        (
            Method::DELETE,
            account.tasks_path(),
            token,
            &["GET", "POST"],
        ),
        (
            Method::POST,
            task_path.clone(),
            token,
            &["GET", "PUT", "DELETE"],
        ),
        (Method::POST, complete_path.clone(), token, &["PATCH"]),
        (Method::GET, complete_path, token, &["PATCH"]),
    ];
    for (method, path, token, served) in cases {
        let reply = api.call(method.clone(), &path, token).await;
        reply.expect_problem(405, "method_not_allowed");
        let allow: Vec<String> = reply
            .header_list("allow")
            .iter()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        for served in served {
            reply.check(
                allow.iter().any(|m| m == served),
                &format!("`Allow` must list {served}"),
            );
        }
        reply.check(
            !allow.iter().any(|m| m == method.as_str()),
            &format!("`Allow` must not list {method}, which was refused"),
        );
    }
    // The 405s changed nothing.
    let after = api
        .get_task(&account, task["id"].as_i64().unwrap_or_default())
        .await;
    assert_eq!(
        after["completed"], task["completed"],
        "a refused method changed the task"
    );
}

/// CORS: a preflight from the configured origin is allowed (with the
/// `Authorization` header); a request from another origin gets no
/// `Access-Control-Allow-Origin`; no answer allows credentials or the
/// refresh cookie's opt-in header.
pub async fn cors_allows_configured_origin_only(target: &Target) {
    let api = target.api();
    let preflight = sign_in_preflight(&api, ALLOWED_ORIGIN).await;
    preflight.check(
        preflight.status.is_success(),
        "a CORS preflight must be answered with 2xx",
    );
    preflight.check(
        preflight.header("access-control-allow-origin").as_deref() == Some(ALLOWED_ORIGIN),
        &format!("expected Access-Control-Allow-Origin: {ALLOWED_ORIGIN}"),
    );
    let headers: Vec<String> = preflight
        .header_list("access-control-allow-headers")
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    // `*` does not cover `Authorization` (Fetch standard), so it must be named.
    preflight.check(
        headers.iter().any(|h| h == "authorization"),
        "Access-Control-Allow-Headers must name authorization",
    );
    preflight.check(
        headers.iter().any(|h| h == "content-type" || h == "*"),
        "Access-Control-Allow-Headers must cover content-type",
    );
    let methods = preflight.header_list("access-control-allow-methods");
    preflight.check(
        methods
            .iter()
            .any(|m| m.eq_ignore_ascii_case("POST") || m == "*"),
        "Access-Control-Allow-Methods must cover POST",
    );

    let allowed = api
        .send(
            api.request(Method::GET, "/healthz")
                .header("Origin", ALLOWED_ORIGIN),
        )
        .await;
    allowed.expect_status(200);
    allowed.check(
        allowed.header("access-control-allow-origin").as_deref() == Some(ALLOWED_ORIGIN),
        &format!("a request from {ALLOWED_ORIGIN} must get Access-Control-Allow-Origin"),
    );

    let evil = "http://evil.example";
    let simple = api
        .send(api.request(Method::GET, "/healthz").header("Origin", evil))
        .await;
    simple.expect_status(200);
    simple.check(
        simple.header("access-control-allow-origin").is_none(),
        "a request from an origin not configured must get no Access-Control-Allow-Origin",
    );
    let evil_preflight = sign_in_preflight(&api, evil).await;
    let origin = evil_preflight.header("access-control-allow-origin");
    evil_preflight.check(
        origin.as_deref() != Some(evil) && origin.as_deref() != Some("*"),
        "a preflight from an origin not configured must not be allowed",
    );

    // The refresh cookie's CSRF defence: no origin, not even a configured
    // one, may send credentials or the cookie opt-in header.
    for reply in [&preflight, &allowed, &simple, &evil_preflight] {
        reply.check(
            reply.header("access-control-allow-credentials").is_none(),
            "CORS must never send Access-Control-Allow-Credentials",
        );
    }
    let cookie_preflight = api
        .send(
            api.request(Method::OPTIONS, "/api/auth/refresh")
                .header("Origin", ALLOWED_ORIGIN)
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "x-refresh-cookie"),
        )
        .await;
    let allowed_headers = cookie_preflight.header_list("access-control-allow-headers");
    cookie_preflight.check(
        !allowed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("x-refresh-cookie") || h == "*"),
        "a cross-origin page must not be allowed the X-Refresh-Cookie header",
    );
    cookie_preflight.check(
        cookie_preflight
            .header("access-control-allow-credentials")
            .is_none(),
        "CORS must never send Access-Control-Allow-Credentials",
    );
}

/// An `OPTIONS` request that is not a CORS preflight (no `Origin`, or no
/// `Access-Control-Request-Method`) is an ordinary request: 404 on an
/// unknown path, 405 with `Allow` on a path that does not serve `OPTIONS`.
pub async fn options_without_preflight_is_ordinary(target: &Target) {
    let api = target.api();
    api.call(Method::OPTIONS, "/no/such/route", None)
        .await
        .noted("OPTIONS on an unknown path")
        .expect_problem(404, "not_found");
    let reply = api
        .call(Method::OPTIONS, "/api/auth/me", None)
        .await
        .noted("OPTIONS on /api/auth/me without Origin");
    reply.expect_problem(405, "method_not_allowed");
    reply.check(
        reply
            .header_list("allow")
            .iter()
            .any(|method| method.eq_ignore_ascii_case("GET")),
        "Allow must list GET",
    );
    let request = api
        .request(Method::OPTIONS, "/no/such/route")
        .header("origin", ALLOWED_ORIGIN);
    api.send(request)
        .await
        .noted("OPTIONS with Origin but no Access-Control-Request-Method")
        .expect_problem(404, "not_found");
}

/// A browser's preflight for a credentialed JSON `POST /api/auth/sign-in`.
async fn sign_in_preflight(api: &crate::client::Api, origin: &str) -> crate::client::Reply {
    api.send(
        api.request(Method::OPTIONS, "/api/auth/sign-in")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,authorization",
            ),
    )
    .await
}
