//! Request bodies: malformed JSON (400), content types (415), size (413).

use reqwest::Method;
use serde_json::json;

use crate::{
    Target,
    client::{fresh_email, fresh_password},
};

use super::{expect_same_task, id};

const JSON: Option<&str> = Some("application/json");

/// Bodies that are not acceptable JSON for a route whose fields are `a`
/// (a string) and `b` (a string), with `a` and `b` given valid values
/// `va` and `vb` where a value is needed.
fn malformed(a: &str, va: &str, b: &str, vb: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mut invalid_utf8 = format!(r#"{{"{a}": "{va}", "{b}": "x"#).into_bytes();
    invalid_utf8.extend_from_slice(b"\xff\xfe");
    invalid_utf8.extend_from_slice(br#""}"#);
    vec![
        (
            "truncated JSON",
            format!(r#"{{"{a}": "{va}", "{b}": "#).into_bytes(),
        ),
        ("not JSON at all", format!("{a}={va}&{b}={vb}").into_bytes()),
        ("empty body", Vec::new()),
        (
            "NaN",
            format!(r#"{{"{a}": "{va}", "{b}": NaN}}"#).into_bytes(),
        ),
        (
            "a lone surrogate",
            format!(r#"{{"{a}": "{va}", "{b}": "\ud800{vb}"}}"#).into_bytes(),
        ),
        ("invalid UTF-8", invalid_utf8),
        (
            "trailing garbage",
            format!(r#"{{"{a}": "{va}", "{b}": "{vb}"}} x"#).into_bytes(),
        ),
        (
            "a required field missing",
            format!(r#"{{"{a}": "{va}"}}"#).into_bytes(),
        ),
        (
            "a number for a string",
            format!(r#"{{"{a}": "{va}", "{b}": 12345678}}"#).into_bytes(),
        ),
        (
            "null for a string",
            format!(r#"{{"{a}": "{va}", "{b}": null}}"#).into_bytes(),
        ),
        (
            "a duplicate field",
            format!(r#"{{"{a}": "{va}", "{b}": "{vb}", "{b}": "{vb}x"}}"#).into_bytes(),
        ),
        ("an array", b"[]".to_vec()),
        (
            "the values as an array (serde would read it by position)",
            format!(r#"["{va}", "{vb}"]"#).into_bytes(),
        ),
        ("null", b"null".to_vec()),
        ("a string", b"\"text\"".to_vec()),
    ]
}

/// Sign-up, sign-in and refresh answer 400 `malformed_body` to bodies that
/// are not valid JSON (RFC 8259: no NaN, no lone surrogates, UTF-8) or miss
/// a field or have one of the wrong type; the same routes accept the same
/// fields when well-formed.
pub async fn malformed_auth_bodies_are_400(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let email = fresh_email();
    let password = fresh_password();

    let routes = [
        (
            "/api/auth/sign-up",
            malformed("email", &email, "password", &password),
        ),
        (
            "/api/auth/sign-in",
            malformed("email", &account.email, "password", &account.password),
        ),
    ];
    for (path, bodies) in routes {
        for (what, body) in bodies {
            api.raw(Method::POST, path, None, JSON, body)
                .await
                .noted(format!("POST {path} with {what}"))
                .expect_problem(400, "malformed_body");
        }
    }
    // Refresh has one field.
    let refresh = &account.refresh_token;
    for (what, body) in [
        (
            "truncated JSON",
            format!(r#"{{"refresh_token": "{refresh}""#),
        ),
        ("NaN", r#"{"refresh_token": NaN}"#.to_owned()),
        (
            "a lone surrogate",
            format!(r#"{{"refresh_token": "\ud800{refresh}"}}"#),
        ),
        ("the field missing", "{}".to_owned()),
        (
            "a number for a string",
            r#"{"refresh_token": 5}"#.to_owned(),
        ),
        (
            "a duplicate field",
            format!(r#"{{"refresh_token": "{refresh}", "refresh_token": "{refresh}"}}"#),
        ),
        ("an array", "[]".to_owned()),
    ] {
        api.raw(Method::POST, "/api/auth/refresh", None, JSON, body)
            .await
            .noted(format!("POST /api/auth/refresh with {what}"))
            .expect_problem(400, "malformed_body");
    }

    // Nothing above signed anyone up or used the refresh token; well-formed
    // bodies with the same values work.
    api.sign_up_as(&email, &password, None)
        .await
        .expect_auth_response(201, target, &email);
    api.sign_in(&account.email, &account.password)
        .await
        .expect_auth_response(200, target, &account.email);
    api.refresh(&account.refresh_token)
        .await
        .expect_auth_response(200, target, &account.email);
}

/// Task create and update answer 400 `malformed_body` to malformed JSON,
/// a missing title, or fields of the wrong type; nothing is created or
/// changed.
pub async fn malformed_task_bodies_are_400(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let task = api.create_task(&account, "keep me", Some("as I am")).await;
    let token = Some(account.access_token.as_str());
    let mut invalid_utf8 = br#"{"title": "x"#.to_vec();
    invalid_utf8.extend_from_slice(b"\xff");
    invalid_utf8.extend_from_slice(br#""}"#);

    let both: Vec<(&str, Vec<u8>)> = vec![
        ("truncated JSON", br#"{"title": "x"#.to_vec()),
        ("empty body", Vec::new()),
        ("NaN", br#"{"title": "x", "description": NaN}"#.to_vec()),
        ("a lone surrogate", br#"{"title": "\ud800x"}"#.to_vec()),
        ("invalid UTF-8", invalid_utf8),
        ("a number for the title", br#"{"title": 5}"#.to_vec()),
        ("null for the title", br#"{"title": null}"#.to_vec()),
        (
            "a number for the description",
            br#"{"title": "x", "description": 5}"#.to_vec(),
        ),
        (
            "a duplicate field",
            br#"{"title": "x", "title": "y"}"#.to_vec(),
        ),
        ("an array", b"[]".to_vec()),
        (
            "the values as an array (serde would read it by position)",
            br#"["from an array", "description"]"#.to_vec(),
        ),
        ("null", b"null".to_vec()),
    ];
    let routes = [
        (Method::POST, account.tasks_path(), "create"),
        (Method::PUT, account.task_path(id(&task)), "update"),
    ];
    for (what, body) in &both {
        for (method, path, action) in &routes {
            api.raw(method.clone(), path, token, JSON, body.clone())
                .await
                .noted(format!("{action} a task with {what}"))
                .expect_problem(400, "malformed_body");
        }
    }
    api.raw(
        Method::POST,
        &account.tasks_path(),
        token,
        JSON,
        r#"{"description": "no title"}"#,
    )
    .await
    .noted("create a task without a title")
    .expect_problem(400, "malformed_body");
    api.raw(
        Method::PUT,
        &account.task_path(id(&task)),
        token,
        JSON,
        r#"{"title": "x", "completed": "yes"}"#,
    )
    .await
    .noted("update a task with a string for `completed`")
    .expect_problem(400, "malformed_body");

    let tasks = api.list_tasks(&account, "").await;
    assert_eq!(tasks.len(), 1, "a malformed body created a task: {tasks:?}");
    let reply = api.get(&account.task_path(id(&task)), token).await;
    expect_same_task(&reply, &reply.expect_json(200), &task);
}

/// A body without `Content-Type`, or with one that is not
/// `application/json`, is 415 `unsupported_media_type` on the auth and task
/// routes (and is not acted on); `application/json; charset=utf-8` is fine.
pub async fn missing_or_wrong_content_type_is_415(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());
    let email = fresh_email();
    let password = fresh_password();
    let sign_up = json!({ "email": email, "password": password }).to_string();
    let sign_in = json!({ "email": account.email, "password": account.password }).to_string();
    let refresh = json!({ "refresh_token": account.refresh_token }).to_string();
    let task = json!({ "title": "typed" }).to_string();

    let wrong_types = [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ];
    for content_type in wrong_types {
        let what = format!("Content-Type {content_type:?}");
        for (path, body, token) in [
            ("/api/auth/sign-up".to_owned(), &sign_up, None),
            ("/api/auth/sign-in".to_owned(), &sign_in, None),
            ("/api/auth/refresh".to_owned(), &refresh, None),
            (account.tasks_path(), &task, token),
        ] {
            api.raw(Method::POST, &path, token, content_type, body.clone())
                .await
                .noted(format!("POST {path} with {what}"))
                .expect_problem(415, "unsupported_media_type");
        }
    }

    // None of them was acted on: the email is free, the refresh token
    // unused, no task created. And a charset parameter is fine.
    let utf8 = Some("application/json; charset=utf-8");
    api.raw(Method::POST, "/api/auth/sign-up", None, utf8, sign_up)
        .await
        .expect_auth_response(201, target, &email);
    api.raw(Method::POST, "/api/auth/sign-in", None, utf8, sign_in)
        .await
        .expect_auth_response(200, target, &account.email);
    api.raw(Method::POST, "/api/auth/refresh", None, utf8, refresh)
        .await
        .expect_auth_response(200, target, &account.email);
    assert!(
        api.list_tasks(&account, "").await.is_empty(),
        "a request refused with 415 created a task"
    );
    let created = api
        .raw(Method::POST, &account.tasks_path(), token, utf8, task)
        .await;
    let created = created.expect_json(201);
    assert_eq!(created["title"], "typed");

    let update = json!({ "title": "changed" }).to_string();
    for content_type in wrong_types {
        api.raw(
            Method::PUT,
            &account.task_path(id(&created)),
            token,
            content_type,
            update.clone(),
        )
        .await
        .noted(format!("PUT a task with Content-Type {content_type:?}"))
        .expect_problem(415, "unsupported_media_type");
    }
    let after = api.get_task(&account, id(&created)).await;
    assert_eq!(
        after["title"], "typed",
        "a PUT refused with 415 changed the task"
    );
}

/// Bodies over 64 KiB are 413 `payload_too_large` on auth and task routes,
/// while bodies just under the limit are read (and judged on their values).
pub async fn oversized_bodies_are_413(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());
    let task = api.create_task(&account, "small", None).await;
    let huge = "x".repeat(70_000);
    let large = "x".repeat(60_000);

    let too_big = [
        (
            Method::POST,
            "/api/auth/sign-up".to_owned(),
            None,
            json!({ "email": fresh_email(), "password": fresh_password(), "name": huge }),
        ),
        (
            Method::POST,
            "/api/auth/sign-in".to_owned(),
            None,
            json!({ "email": account.email, "password": huge }),
        ),
        (
            Method::POST,
            "/api/auth/refresh".to_owned(),
            None,
            json!({ "refresh_token": huge }),
        ),
        (
            Method::POST,
            account.tasks_path(),
            token,
            json!({ "title": "big", "description": huge }),
        ),
        (
            Method::PUT,
            account.task_path(id(&task)),
            token,
            json!({ "title": "big", "description": huge }),
        ),
    ];
    for (method, path, token, body) in too_big {
        api.json(method.clone(), &path, token, &body)
            .await
            .noted(format!("{method} {path} with a 70 000-byte body"))
            .expect_problem(413, "payload_too_large");
    }

    // Just under the limit: read, then refused for the value.
    api.json(
        Method::POST,
        "/api/auth/sign-up",
        None,
        &json!({ "email": fresh_email(), "password": fresh_password(), "name": large }),
    )
    .await
    .noted("sign-up with a 60 000-character name (under the body limit)")
    .expect_problem(422, "invalid_name");
    api.json(
        Method::POST,
        &account.tasks_path(),
        token,
        &json!({ "title": "big", "description": large }),
    )
    .await
    .noted("a task with a 60 000-character description (under the body limit)")
    .expect_problem(422, "validation_failed");

    let tasks = api.list_tasks(&account, "").await;
    assert_eq!(
        tasks.len(),
        1,
        "an oversized request created a task: {tasks:?}"
    );
    let reply = api.get(&account.task_path(id(&task)), token).await;
    expect_same_task(&reply, &reply.expect_json(200), &task);
}

/// A body sent in chunks, with no `Content-Length` to refuse it by, is cut
/// off at the limit all the same: 413 problem+json, not a read to the end.
pub async fn chunked_oversized_body_is_413(target: &Target) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let address = target
        .base_url
        .strip_prefix("http://")
        .expect("an http:// base URL");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/auth/sign-up HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{{\"name\": \"{}", "x".repeat(9_990));
    let mut sent = 0;
    // 70 000 bytes in 10 000-byte chunks; the server may answer (and close)
    // before the last one, so write errors end the sending.
    for _ in 0..7 {
        let piece = format!("{:x}\r\n{}\r\n", chunk.len(), chunk);
        if stream.write_all(piece.as_bytes()).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "a chunked body of {sent}+ bytes got: {answer}"
    );
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("application/problem+json")
            && answer.contains("payload_too_large"),
        "{answer}"
    );
}
