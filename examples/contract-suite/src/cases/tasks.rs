//! The task endpoints: CRUD, ordering and filters, field rules, ids, and
//! one user never reaching another's tasks.

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::{Account, Api, Reply, Target};

use super::{expect_same_task, id, ids, timestamp, titles};

/// Every task route of `account` for task `task_id`, with a valid body
/// where one is needed.
fn task_routes(
    account: &Account,
    task_id: impl std::fmt::Display,
) -> Vec<(Method, String, Option<Value>)> {
    let task_path = account.task_path(task_id);
    vec![
        (Method::GET, account.tasks_path(), None),
        (
            Method::POST,
            account.tasks_path(),
            Some(json!({ "title": "injected" })),
        ),
        (Method::GET, task_path.clone(), None),
        (
            Method::PUT,
            task_path.clone(),
            Some(json!({ "title": "hijacked", "description": null, "completed": true })),
        ),
        (Method::DELETE, task_path.clone(), None),
        (Method::PATCH, format!("{task_path}/complete"), None),
    ]
}

/// Sends one of [`task_routes`] with `token`.
async fn send(
    api: &Api,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let reply = match body {
        Some(body) => api.json(method.clone(), path, token, body).await,
        None => api.call(method.clone(), path, token).await,
    };
    reply.noted(format!("{method} {path}"))
}

/// `PUT` a task of `account` with `body`; checks the 200 `Task`.
async fn put(api: &Api, account: &Account, task_id: i64, body: &Value) -> Value {
    let reply = api
        .json(
            Method::PUT,
            &account.task_path(task_id),
            Some(&account.access_token),
            body,
        )
        .await
        .noted(format!("PUT {body}"));
    let task = reply.expect_json(200);
    crate::client::expect_task(&task, &reply, &account.user_id);
    reply.check(task["id"] == task_id, "PUT must answer with the same task");
    task
}

/// `PATCH .../complete` a task of `account`; checks the 200 `Task`.
async fn toggle(api: &Api, account: &Account, task_id: i64) -> Value {
    let reply = api
        .call(
            Method::PATCH,
            &format!("{}/complete", account.task_path(task_id)),
            Some(&account.access_token),
        )
        .await;
    let task = reply.expect_json(200);
    crate::client::expect_task(&task, &reply, &account.user_id);
    reply.check(
        task["id"] == task_id,
        "PATCH must answer with the same task",
    );
    task
}

/// Every task route needs a token: without one 401 `missing_token`, with a
/// garbage one 401 `invalid_token`; nothing changes.
pub async fn task_routes_need_token(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let task = api.create_task(&account, "guarded", None).await;
    for (method, path, body) in task_routes(&account, id(&task)) {
        send(&api, &method, &path, None, body.as_ref())
            .await
            .expect_unauthorized_without_token("missing_token");
        send(&api, &method, &path, Some("garbage"), body.as_ref())
            .await
            .expect_token_rejected(&["invalid_token"]);
    }
    let tasks = api.list_tasks(&account, "").await;
    assert_eq!(
        tasks.len(),
        1,
        "an unauthenticated request changed the list: {tasks:?}"
    );
    let reply = api
        .get(&account.task_path(id(&task)), Some(&account.access_token))
        .await;
    expect_same_task(&reply, &reply.expect_json(200), &task);
}

/// Create is 201 with a `Task`: title trimmed, description null unless
/// given, not completed, the user's id, timestamps of now in UTC; unknown
/// fields are ignored.
pub async fn task_create(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());
    let before = OffsetDateTime::now_utc();

    let reply = api
        .json(
            Method::POST,
            &account.tasks_path(),
            token,
            &json!({ "title": "  Buy milk  ", "priority": "high", "id": 999_999 }),
        )
        .await;
    let task = reply.expect_json(201);
    crate::client::expect_task(&task, &reply, &account.user_id);
    reply.check(task["title"] == "Buy milk", "the title must be trimmed");
    reply.check(task["description"].is_null(), "no description given: null");
    reply.check(task["completed"] == false, "a new task is not completed");
    reply.check(
        task.get("priority").is_none(),
        "unknown fields are ignored, not stored",
    );
    reply.check(
        task["id"] != 999_999,
        "the id is the server's, not the client's",
    );
    for field in ["created_at", "updated_at"] {
        let at = timestamp(&task, field);
        reply.check(
            (at - before).abs() < time::Duration::minutes(2),
            &format!("`{field}` must be now (UTC), not {at}"),
        );
    }

    let described = api
        .create_task(&account, "Write report", Some("Quarterly numbers"))
        .await;
    assert_eq!(described["description"], "Quarterly numbers");
    assert_eq!(described["title"], "Write report");
    assert_ne!(described["id"], task["id"], "each task has its own id");

    for created in [&task, &described] {
        let reply = api.get(&account.task_path(id(created)), token).await;
        expect_same_task(&reply, &reply.expect_json(200), created);
    }
}

/// The list is newest first by default (and with `sort=created`),
/// `sort=title` is ascending, and `status` filters by completion.
pub async fn task_list_order_and_filters(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    assert!(
        api.list_tasks(&account, "").await.is_empty(),
        "a new user has no tasks"
    );

    // Created in this order: neither newest-first nor by-title order is
    // the creation order.
    let apple = id(&api.create_task(&account, "apple", None).await);
    let cherry = id(&api.create_task(&account, "cherry", None).await);
    let banana = id(&api.create_task(&account, "banana", None).await);

    let newest_first = vec![banana, cherry, apple];
    for query in [
        "",
        "?sort=created",
        "?status=all",
        "?status=all&sort=created",
    ] {
        let tasks = api.list_tasks(&account, query).await;
        assert_eq!(
            ids(&tasks),
            newest_first,
            "GET tasks{query}: newest first; got {tasks:?}"
        );
        let created: Vec<OffsetDateTime> =
            tasks.iter().map(|t| timestamp(t, "created_at")).collect();
        assert!(
            created.windows(2).all(|pair| pair[0] >= pair[1]),
            "GET tasks{query}: `created_at` must not increase down the list: {tasks:?}"
        );
    }
    let by_title = api.list_tasks(&account, "?sort=title").await;
    assert_eq!(
        titles(&by_title),
        ["apple", "banana", "cherry"],
        "sort=title: {by_title:?}"
    );

    toggle(&api, &account, cherry).await;
    let completed = api.list_tasks(&account, "?status=completed").await;
    assert_eq!(ids(&completed), [cherry], "status=completed: {completed:?}");
    let pending = api.list_tasks(&account, "?status=pending").await;
    assert_eq!(
        ids(&pending),
        [banana, apple],
        "status=pending: {pending:?}"
    );
    let pending_by_title = api.list_tasks(&account, "?status=pending&sort=title").await;
    assert_eq!(
        ids(&pending_by_title),
        [apple, banana],
        "status=pending&sort=title: {pending_by_title:?}"
    );
    let all = api.list_tasks(&account, "?status=all&sort=title").await;
    assert_eq!(
        ids(&all),
        [apple, banana, cherry],
        "status=all&sort=title: {all:?}"
    );
}

/// A `status` or `sort` value outside the contract is 422 `validation_failed`.
pub async fn task_list_query_validation(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    api.create_task(&account, "one", None).await;
    for query in [
        "?status=done",
        "?sort=nope",
        "?status=pending&sort=nope",
        "?status=",
    ] {
        api.get(
            &format!("{}{query}", account.tasks_path()),
            Some(&account.access_token),
        )
        .await
        .noted(format!("GET tasks{query}"))
        .expect_problem(422, "validation_failed");
    }
}

/// `GET` one task is 200 with the task as created; an id never used is 404.
pub async fn task_get_one(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let first = api.create_task(&account, "first", Some("one")).await;
    let second = api.create_task(&account, "second", None).await;
    for task in [&first, &second] {
        let reply = api
            .get(&account.task_path(id(task)), Some(&account.access_token))
            .await;
        expect_same_task(&reply, &reply.expect_json(200), task);
    }
    let unused = id(&first).max(id(&second)) + 1000;
    api.get(&account.task_path(unused), Some(&account.access_token))
        .await
        .expect_problem(404, "not_found");
}

/// `PUT` replaces the title (trimmed), keeps omitted fields, clears the
/// description on an explicit null, sets `completed`, never moves
/// `updated_at` back; invalid values are 422 and change nothing.
pub async fn task_put(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let task = api
        .create_task(&account, "Original", Some("first description"))
        .await;
    let task_id = id(&task);

    let renamed = put(&api, &account, task_id, &json!({ "title": "  Renamed  " })).await;
    assert_eq!(renamed["title"], "Renamed", "title trimmed: {renamed}");
    assert_eq!(
        renamed["description"], "first description",
        "omitted description kept: {renamed}"
    );
    assert_eq!(
        renamed["completed"], false,
        "omitted completed kept: {renamed}"
    );
    assert!(
        (timestamp(&renamed, "created_at") - timestamp(&task, "created_at")).abs()
            < time::Duration::milliseconds(1),
        "created_at kept: {task} then {renamed}"
    );
    assert!(
        timestamp(&renamed, "updated_at") >= timestamp(&task, "updated_at"),
        "updated_at must not go back: {task} then {renamed}"
    );

    let done = put(
        &api,
        &account,
        task_id,
        &json!({ "title": "Renamed", "completed": true }),
    )
    .await;
    assert_eq!(done["completed"], true, "completed set: {done}");
    assert_eq!(
        done["description"], "first description",
        "omitted description kept: {done}"
    );

    let cleared = put(
        &api,
        &account,
        task_id,
        &json!({ "title": "Renamed", "description": null }),
    )
    .await;
    assert!(
        cleared["description"].is_null(),
        "explicit null clears the description: {cleared}"
    );
    assert_eq!(
        cleared["completed"], true,
        "omitted completed kept: {cleared}"
    );

    let described = put(
        &api,
        &account,
        task_id,
        &json!({ "title": "Final", "description": "second", "completed": false }),
    )
    .await;
    assert_eq!(described["title"], "Final");
    assert_eq!(described["description"], "second");
    assert_eq!(described["completed"], false);
    assert!(timestamp(&described, "updated_at") >= timestamp(&cleared, "updated_at"));

    let reply = api
        .get(&account.task_path(task_id), Some(&account.access_token))
        .await;
    expect_same_task(&reply, &reply.expect_json(200), &described);

    for (what, body) in [
        ("a blank title", json!({ "title": "   " })),
        ("a 201-character title", json!({ "title": "t".repeat(201) })),
        (
            "a 1001-character description",
            json!({ "title": "ok", "description": "d".repeat(1001) }),
        ),
    ] {
        api.json(
            Method::PUT,
            &account.task_path(task_id),
            Some(&account.access_token),
            &body,
        )
        .await
        .noted(format!("PUT with {what}"))
        .expect_problem(422, "validation_failed");
    }
    let reply = api
        .get(&account.task_path(task_id), Some(&account.access_token))
        .await;
    expect_same_task(&reply, &reply.expect_json(200), &described);
}

/// `DELETE` is 204; the task is gone (404 for every route), others stay.
pub async fn task_delete(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());
    let doomed = api.create_task(&account, "doomed", None).await;
    let kept = api.create_task(&account, "kept", None).await;

    let reply = api
        .call(Method::DELETE, &account.task_path(id(&doomed)), token)
        .await;
    reply.expect_status(204);
    reply.check(reply.body.is_empty(), "a 204 has no body");

    for (method, path, body) in task_routes(&account, id(&doomed)).into_iter().skip(2) {
        send(&api, &method, &path, token, body.as_ref())
            .await
            .expect_problem(404, "not_found");
    }
    let tasks = api.list_tasks(&account, "").await;
    assert_eq!(
        ids(&tasks),
        [id(&kept)],
        "only the other task is left: {tasks:?}"
    );
}

/// `PATCH .../complete` toggles `completed` (twice: back) and nothing else.
pub async fn task_toggle_complete(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let task = api
        .create_task(&account, "toggle me", Some("details"))
        .await;
    let task_id = id(&task);

    let done = toggle(&api, &account, task_id).await;
    assert_eq!(done["completed"], true, "first toggle completes: {done}");
    assert_eq!(done["title"], "toggle me");
    assert_eq!(done["description"], "details");
    assert!(timestamp(&done, "updated_at") >= timestamp(&task, "updated_at"));
    assert_eq!(
        api.get_task(&account, task_id).await["completed"],
        true,
        "stored"
    );

    let undone = toggle(&api, &account, task_id).await;
    assert_eq!(
        undone["completed"], false,
        "second toggle reopens: {undone}"
    );
    assert_eq!(
        api.get_task(&account, task_id).await["completed"],
        false,
        "stored"
    );
}

/// Titles are trimmed, then 1 to 200 characters; descriptions at most 1000
/// (Unicode scalar values); otherwise 422 `validation_failed` and no task.
pub async fn task_field_rules(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());
    for (what, body) in [
        ("an empty title", json!({ "title": "" })),
        ("a blank title", json!({ "title": " \t " })),
        (
            "a 201-character title",
            json!({ "title": format!(" {} ", "t".repeat(201)) }),
        ),
        ("a 201-emoji title", json!({ "title": "📝".repeat(201) })),
        (
            "a 1001-character description",
            json!({ "title": "ok", "description": "d".repeat(1001) }),
        ),
        (
            "a 1001-emoji description",
            json!({ "title": "ok", "description": "📝".repeat(1001) }),
        ),
        // Valid JSON that no database column should take (PostgreSQL
        // cannot store NUL in text): a 422, never a 500.
        ("a NUL in the title", json!({ "title": "a\u{0}b" })),
        (
            "a NUL in the description",
            json!({ "title": "ok", "description": "d\u{0}" }),
        ),
    ] {
        api.json(Method::POST, &account.tasks_path(), token, &body)
            .await
            .noted(format!("create a task with {what}"))
            .expect_problem(422, "validation_failed");
    }
    assert!(
        api.list_tasks(&account, "").await.is_empty(),
        "a refused task was created"
    );

    let long = api
        .create_task(
            &account,
            &format!("  {}  ", "t".repeat(200)),
            Some(&"d".repeat(1000)),
        )
        .await;
    assert_eq!(
        long["title"],
        "t".repeat(200),
        "a 200-character title (after trimming) is fine"
    );
    assert_eq!(long["description"], "d".repeat(1000));
    let emoji = api
        .create_task(&account, &"📝".repeat(200), Some(&"📝".repeat(1000)))
        .await;
    assert_eq!(
        emoji["title"],
        "📝".repeat(200),
        "200 emoji are 200 characters"
    );
    assert_eq!(
        emoji["description"],
        "📝".repeat(1000),
        "1000 emoji are 1000 characters"
    );
}

/// A task id that is not a positive integer, or not the user's, is 404
/// `not_found` on every task route.
pub async fn task_bad_ids_are_404(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let task = api.create_task(&account, "real", None).await;
    let token = Some(account.access_token.as_str());
    let unused = (id(&task) + 1000).to_string();
    for bad in ["0", "-1", "abc", "1.5", "99999999999999999999", &unused] {
        for (method, path, body) in task_routes(&account, bad).into_iter().skip(2) {
            send(&api, &method, &path, token, body.as_ref())
                .await
                .expect_problem(404, "not_found");
        }
    }
    let reply = api.get(&account.task_path(id(&task)), token).await;
    expect_same_task(&reply, &reply.expect_json(200), &task);
}

/// User B can reach none of user A's tasks: B's token on A's path is 403
/// `forbidden` on every route; A's task id on B's own path is 404; A's task
/// is unchanged and its title never shows.
pub async fn task_idor_is_403_or_404(target: &Target) {
    let api = target.api();
    let a = api.sign_up().await;
    let b = api.sign_up().await;
    let secret_title = "A's private task";
    let task = api.create_task(&a, secret_title, Some("private")).await;
    let b_token = Some(b.access_token.as_str());

    for (method, path, body) in task_routes(&a, id(&task)) {
        let reply = send(&api, &method, &path, b_token, body.as_ref()).await;
        reply.expect_problem(403, "forbidden");
        reply.check(
            !reply.text().contains(secret_title),
            "a 403 must not show the task",
        );
    }
    for (method, path, body) in task_routes(&b, id(&task)).into_iter().skip(2) {
        let reply = send(&api, &method, &path, b_token, body.as_ref()).await;
        reply.expect_problem(404, "not_found");
        reply.check(
            !reply.text().contains(secret_title),
            "a 404 must not show the task",
        );
    }

    let reply = api
        .get(&a.task_path(id(&task)), Some(&a.access_token))
        .await;
    expect_same_task(&reply, &reply.expect_json(200), &task);
    assert_eq!(
        ids(&api.list_tasks(&a, "").await),
        [id(&task)],
        "A's list is A's task only"
    );
    assert!(
        api.list_tasks(&b, "").await.is_empty(),
        "B has no tasks (none injected)"
    );
}

/// Each user's list holds their own tasks only, whatever the query.
pub async fn task_lists_are_per_user(target: &Target) {
    let api = target.api();
    let a = api.sign_up().await;
    let b = api.sign_up().await;
    // Titles chosen so that title order and newest-first agree: [a2, a1].
    let a1 = id(&api.create_task(&a, "a2 created first", None).await);
    let b1 = id(&api.create_task(&b, "b one", None).await);
    let a2 = id(&api.create_task(&a, "a1 created second", None).await);
    toggle(&api, &b, b1).await;
    for query in [
        "",
        "?status=all&sort=title",
        "?status=pending",
        "?sort=created",
    ] {
        assert_eq!(
            ids(&api.list_tasks(&a, query).await),
            [a2, a1],
            "A's list{query}"
        );
    }
    assert_eq!(ids(&api.list_tasks(&b, "").await), [b1], "B's list");
    assert_eq!(
        ids(&api.list_tasks(&b, "?status=completed").await),
        [b1],
        "B's completed list"
    );
    assert!(
        api.list_tasks(&a, "?status=completed").await.is_empty(),
        "A has none completed"
    );
}

/// When several errors apply: no token (401) wins over body errors and over
/// another user's path; another user's path (403) wins over body errors and
/// over a task that does not exist (404).
pub async fn error_precedence(target: &Target) {
    let api = target.api();
    let a = api.sign_up().await;
    let b = api.sign_up().await;
    let task = api.create_task(&a, "precedence", None).await;
    let json = Some("application/json");
    let a_tasks = a.tasks_path();
    let a_task = a.task_path(id(&task));
    let b_token = Some(b.access_token.as_str());

    for (what, method, path, content_type, body) in [
        ("invalid JSON", Method::POST, &a_tasks, json, "{"),
        (
            "no Content-Type",
            Method::POST,
            &a_tasks,
            None,
            r#"{"title":"x"}"#,
        ),
        (
            "an empty title",
            Method::POST,
            &a_tasks,
            json,
            r#"{"title":""}"#,
        ),
        ("invalid JSON", Method::PUT, &a_task, json, "{"),
    ] {
        api.raw(method.clone(), path, None, content_type, body)
            .await
            .noted(format!("no token, {what}: {method} {path}"))
            .expect_unauthorized_without_token("missing_token");
        api.raw(method.clone(), path, Some("garbage"), content_type, body)
            .await
            .noted(format!("an invalid token, {what}: {method} {path}"))
            .expect_token_rejected(&["invalid_token"]);
        api.raw(method.clone(), path, b_token, content_type, body)
            .await
            .noted(format!("another user's path, {what}: {method} {path}"))
            .expect_problem(403, "forbidden");
    }
    api.raw(
        Method::POST,
        &a_tasks,
        b_token,
        Some("text/plain"),
        r#"{"title":"x"}"#,
    )
    .await
    .noted("another user's path, text/plain")
    .expect_problem(403, "forbidden");
    api.get(&a_tasks, None)
        .await
        .noted("no token on another user's path")
        .expect_unauthorized_without_token("missing_token");
    for missing in ["abc", "0", &(id(&task) + 1000).to_string()] {
        let path = a.task_path(missing);
        api.get(&path, b_token)
            .await
            .noted(format!("another user's path, task {missing}"))
            .expect_problem(403, "forbidden");
        api.call(Method::PATCH, &format!("{path}/complete"), b_token)
            .await
            .noted(format!("another user's path, task {missing}"))
            .expect_problem(403, "forbidden");
    }

    let tasks = api.list_tasks(&a, "").await;
    assert_eq!(ids(&tasks), [id(&task)], "nothing was created: {tasks:?}");
}
