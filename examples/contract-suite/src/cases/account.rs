//! Account endpoints without one-time tokens: the name (`PATCH /me`),
//! change-password, the session list and its revocations, and deleting the
//! account. The shared helpers of the account cases live here too.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    Account, Reply, Target,
    client::{Api, expect_user, expect_utc_timestamp, fresh_password},
    server::random_string,
};

use super::ids;

/// Codes of a 401 for an access token whose session was revoked.
pub(super) const REVOKED: &[&str] = &["session_revoked"];

/// Codes of a 401 for a refresh token whose session is gone.
pub(super) const REFRESH_GONE: &[&str] = &[
    "session_revoked",
    "invalid_refresh_token",
    "refresh_token_reused",
];

/// `PATCH /api/auth/me` with `body`.
pub(super) async fn patch_me(api: &Api, token: Option<&str>, body: &Value) -> Reply {
    api.json(Method::PATCH, "/api/auth/me", token, body).await
}

/// `POST /api/auth/change-password` as `account`.
pub(super) async fn change_password(
    api: &Api,
    account: &Account,
    current: &str,
    new: &str,
) -> Reply {
    let body = json!({ "current_password": current, "new_password": new });
    api.json(
        Method::POST,
        "/api/auth/change-password",
        Some(&account.access_token),
        &body,
    )
    .await
}

/// `GET /api/auth/sessions` with `token`.
pub(super) async fn list_sessions(api: &Api, token: &str) -> Reply {
    api.get("/api/auth/sessions", Some(token)).await
}

/// `DELETE /api/auth/me` with body `{"password"}`.
pub(super) async fn delete_me(api: &Api, token: &str, password: &str) -> Reply {
    api.json(
        Method::DELETE,
        "/api/auth/me",
        Some(token),
        &json!({ "password": password }),
    )
    .await
}

/// Panics unless the reply is a 204 without a body.
pub(super) fn expect_no_content(reply: &Reply) {
    reply.expect_status(204);
    reply.check(reply.body.is_empty(), "a 204 has no body");
}

/// Panics unless the reply is a 202 `application/json` `{}`.
pub(super) fn expect_accepted(reply: &Reply) {
    let body = reply.expect_json(202);
    reply.check(body == json!({}), "expected exactly {}");
}

/// Panics unless the reply carries `Cache-Control: no-store` (DESIGN:
/// every account response with tokens or personal data).
pub(super) fn expect_no_store(reply: &Reply) {
    let cache_control = reply.header("cache-control").unwrap_or_default();
    reply.check(
        cache_control
            .split(',')
            .any(|directive| directive.trim().eq_ignore_ascii_case("no-store")),
        "an account response with personal data must carry Cache-Control: no-store",
    );
}

/// Panics unless `user` has a boolean `email_verified` equal to `verified`.
pub(super) fn expect_verified(reply: &Reply, user: &Value, verified: bool) {
    reply.check(
        user["email_verified"] == verified,
        &format!("expected `user.email_verified`: {verified} (a boolean)"),
    );
}

/// Panics unless both of `session`'s tokens are refused: the access token
/// with a 401 whose code is in `access_codes`, the refresh token with a 401.
pub(super) async fn expect_session_gone(
    api: &Api,
    session: &Account,
    what: &str,
    access_codes: &[&str],
) {
    api.me(&session.access_token)
        .await
        .noted(format!("{what}: its access token"))
        .expect_token_rejected(access_codes);
    api.refresh(&session.refresh_token)
        .await
        .noted(format!("{what}: its refresh token"))
        .expect_problem_in(401, REFRESH_GONE);
}

/// Panics unless `session` still works (`/me` is 200).
pub(super) async fn expect_session_alive(api: &Api, session: &Account, what: &str) {
    api.me(&session.access_token)
        .await
        .noted(what.to_owned())
        .expect_json(200);
}

/// The checked entries of a `GET /api/auth/sessions` answer: `id` a
/// non-empty string, `created_at`, `last_active_at` and `expires_at` RFC
/// 3339 UTC in that order, `user_agent` and `ip` a string or `null`,
/// `current` a boolean, newest first (DESIGN).
pub(super) async fn sessions_of(api: &Api, token: &str) -> Vec<Value> {
    let reply = list_sessions(api, token).await;
    let body = reply.expect_json(200);
    expect_no_store(&reply);
    let Value::Array(entries) = body else {
        panic!(
            "the session list must be a JSON array\n{}",
            reply.describe()
        );
    };
    let mut previous = None;
    for entry in &entries {
        reply.check(
            entry["id"].as_str().is_some_and(|id| !id.is_empty()),
            &format!("a session's `id` must be a non-empty string: {entry}"),
        );
        let created = expect_utc_timestamp(&entry["created_at"], &reply, "created_at");
        let expires = expect_utc_timestamp(&entry["expires_at"], &reply, "expires_at");
        reply.check(expires > created, "a session expires after it was created");
        let active = expect_utc_timestamp(&entry["last_active_at"], &reply, "last_active_at");
        reply.check(
            created <= active && active < expires,
            "a session is active between its creation and its expiry",
        );
        for field in ["user_agent", "ip"] {
            reply.check(
                entry[field].is_string() || entry[field].is_null(),
                &format!("a session's `{field}` must be a string or null: {entry}"),
            );
        }
        reply.check(
            entry["current"].is_boolean(),
            &format!("a session's `current` must be a boolean: {entry}"),
        );
        if let Some(previous) = previous {
            reply.check(created <= previous, "sessions are listed newest first");
        }
        previous = Some(created);
    }
    entries
}

/// The `id` of the one entry with `current: true`; panics unless there is
/// exactly one.
pub(super) fn current_id(entries: &[Value]) -> String {
    let current: Vec<&Value> = entries.iter().filter(|e| e["current"] == true).collect();
    assert_eq!(
        current.len(),
        1,
        "exactly one session is `current`: {entries:?}"
    );
    current[0]["id"].as_str().unwrap_or_default().to_owned()
}

/// `PATCH /api/auth/me` sets the name (200 `{"user"}`, shown by `/me`
/// afterwards), `null` clears it, and a blank name clears it too (DESIGN).
pub async fn update_name_sets_and_clears(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());

    let reply = patch_me(&api, token, &json!({ "name": "Grace Hopper" })).await;
    let body = reply.expect_json(200);
    expect_user(&body["user"], &reply, &account.email);
    expect_no_store(&reply);
    reply.check(body["user"]["name"] == "Grace Hopper", "the new name");
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the same user",
    );
    let me = api.me(&account.access_token).await;
    let shown = me.expect_json(200);
    me.check(
        shown["user"]["name"] == "Grace Hopper",
        "/me shows the new name",
    );

    for (what, name) in [("null", json!(null)), ("a blank name", json!("   "))] {
        let reply = patch_me(&api, token, &json!({ "name": name }))
            .await
            .noted(format!("clear the name with {what}"));
        let body = reply.expect_json(200);
        reply.check(body["user"]["name"].is_null(), "the name is cleared");
        let me = api
            .me(&account.access_token)
            .await
            .noted(format!("after {what}"));
        let shown = me.expect_json(200);
        me.check(shown["user"]["name"].is_null(), "/me shows no name");
        patch_me(&api, token, &json!({ "name": "Ada" }))
            .await
            .expect_json(200);
    }
}

/// `PATCH /api/auth/me`: a missing or mistyped `name` is 400, a name that
/// breaks sign-up's rules is 422 `invalid_name`, no token is 401; none of
/// them changes the name.
pub async fn update_name_rules(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());
    for (what, body) in [
        ("no `name`", json!({})),
        ("a number", json!({ "name": 5 })),
        ("an array", json!(["Ada"])),
    ] {
        patch_me(&api, token, &body)
            .await
            .noted(what)
            .expect_problem(400, "malformed_body");
    }
    for name in [
        "a".repeat(101),
        "Ada\nLovelace".to_owned(),
        "Ada\u{0}".to_owned(),
    ] {
        patch_me(&api, token, &json!({ "name": name }))
            .await
            .noted(format!("the name {name:?}"))
            .expect_problem(422, "invalid_name");
    }
    patch_me(&api, None, &json!({ "name": "Nobody" }))
        .await
        .expect_unauthorized_without_token("missing_token");
    let me = api.me(&account.access_token).await;
    let body = me.expect_json(200);
    me.check(
        body["user"]["name"] == "Contract Tester",
        "refused updates leave the name as it was",
    );
}

/// Every user object carries a boolean `email_verified`, `false` for a new
/// account: in sign-up's, sign-in's and `/me`'s answers.
pub async fn user_shows_email_verified(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let signed_in = api.sign_in(&account.email, &account.password).await;
    let body = signed_in.expect_json(200);
    expect_verified(&signed_in, &body["user"], false);
    let me = api.me(&account.access_token).await;
    let body = me.expect_json(200);
    expect_verified(&me, &body["user"], false);
    let email = crate::client::fresh_email();
    let signed_up = api.sign_up_as(&email, &fresh_password(), None).await;
    let body = signed_up.expect_json(201);
    expect_verified(&signed_up, &body["user"], false);
    // DESIGN: only with REQUIRE_EMAIL_VERIFICATION=true does sign-up mail.
    assert_eq!(
        target.outbox().count_for_after_quiet(&email).await,
        0,
        "without REQUIRE_EMAIL_VERIFICATION, sign-up sends nothing"
    );
}

/// Change-password is 204: the old password stops signing in, the new one
/// works, the calling session keeps working (access and refresh), every
/// other session's access and refresh tokens are 401, and a
/// `password_changed` notice (without a token) is mailed.
pub async fn change_password_keeps_only_this_session(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let first = api.sign_up().await;
    let caller = api.new_session(&first).await;
    let third = api.new_session(&first).await;
    let new_password = fresh_password();

    let reply = change_password(&api, &caller, &caller.password, &new_password).await;
    expect_no_content(&reply);

    api.sign_in(&first.email, &first.password)
        .await
        .noted("the old password")
        .expect_unauthorized_without_token("invalid_credentials");
    api.sign_in(&first.email, &new_password)
        .await
        .noted("the new password")
        .expect_auth_response(200, target, &first.email);
    expect_session_alive(&api, &caller, "the calling session").await;
    for (what, other) in [("the first session", &first), ("a third session", &third)] {
        expect_session_gone(&api, other, what, REVOKED).await;
    }
    api.refresh(&caller.refresh_token)
        .await
        .noted("the calling session's refresh token")
        .expect_auth_response(200, target, &first.email);

    let notice = outbox.wait_for(&first.email, "password_changed").await;
    assert!(
        notice.token.is_none(),
        "a notice carries no token: {notice:#?}"
    );
    assert!(
        !notice.text.contains(&new_password),
        "the notice must not contain the password: {notice:#?}"
    );
}

/// A wrong `current_password` is 403 `wrong_password` and changes
/// nothing: the old password still signs in, the other sessions live.
pub async fn change_password_wrong_current_is_403(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let other = api.new_session(&account).await;
    let new_password = fresh_password();
    change_password(&api, &account, "not-the-password-123", &new_password)
        .await
        .expect_problem(403, "wrong_password");
    api.json(
        Method::POST,
        "/api/auth/change-password",
        Some(&account.access_token),
        &json!({ "new_password": new_password }),
    )
    .await
    .noted("no current_password")
    .expect_problem(400, "malformed_body");
    api.sign_in(&account.email, &account.password)
        .await
        .expect_auth_response(200, target, &account.email);
    api.sign_in(&account.email, &new_password)
        .await
        .expect_unauthorized_without_token("invalid_credentials");
    expect_session_alive(&api, &other, "the other session").await;
}

/// A new password is checked by sign-up's rules: too short, too long or
/// too common is 422, and the password stays as it was.
pub async fn change_password_checks_new_password(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    for (password, code) in [
        ("short12".to_owned(), "password_too_short"),
        ("x".repeat(129), "password_too_long"),
        ("password1".to_owned(), "password_too_common"),
    ] {
        change_password(&api, &account, &account.password, &password)
            .await
            .noted(format!("the new password {password:?}"))
            .expect_problem(422, code);
    }
    api.sign_in(&account.email, &account.password)
        .await
        .expect_auth_response(200, target, &account.email);
    expect_session_alive(&api, &account, "the calling session").await;
}

/// `GET /api/auth/sessions` lists the active sessions only (a signed-out
/// one is gone, a refresh adds none), each with `id`, `created_at`,
/// `expires_at` and `current`, exactly one of them current: the caller's.
pub async fn sessions_list_active_only(target: &Target) {
    let api = target.api();
    let first = api.sign_up().await;
    let second = api.new_session(&first).await;
    let signed_out = api.new_session(&first).await;
    api.sign_out(&signed_out.access_token)
        .await
        .expect_status(204);
    let reply = api.refresh(&second.refresh_token).await;
    let second = second.with_session(&reply);

    let seen_by_first = sessions_of(&api, &first.access_token).await;
    assert_eq!(
        seen_by_first.len(),
        2,
        "two active sessions (the signed-out one is not listed): {seen_by_first:?}"
    );
    for entry in &seen_by_first {
        let mut keys: Vec<&String> = entry
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        keys.sort();
        assert_eq!(
            keys,
            [
                "created_at",
                "current",
                "expires_at",
                "id",
                "ip",
                "last_active_at",
                "user_agent"
            ],
            "a session entry has exactly these fields (no token or hash): {entry}"
        );
    }
    let seen_by_second = sessions_of(&api, &second.access_token).await;
    assert_eq!(seen_by_second.len(), 2, "{seen_by_second:?}");
    let (current_first, current_second) = (current_id(&seen_by_first), current_id(&seen_by_second));
    assert_ne!(
        current_first, current_second,
        "`current` marks the caller's own session"
    );
    let mut all: Vec<String> = seen_by_first
        .iter()
        .map(|entry| entry["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    all.sort();
    let mut again: Vec<String> = seen_by_second
        .iter()
        .map(|entry| entry["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    again.sort();
    assert_eq!(all, again, "both sessions see the same list");

    let other = api.sign_up().await;
    let theirs = sessions_of(&api, &other.access_token).await;
    assert_eq!(
        theirs.len(),
        1,
        "another user sees only their own: {theirs:?}"
    );
    api.get("/api/auth/sessions", None)
        .await
        .expect_unauthorized_without_token("missing_token");
}

/// `DELETE /api/auth/sessions/{id}` of the caller's other session is 204:
/// that session's access and refresh tokens are 401, it leaves the list,
/// the caller's session lives, and a second delete is 404. The caller's
/// own current session may be revoked this way too (DESIGN).
pub async fn revoke_one_session(target: &Target) {
    let api = target.api();
    let first = api.sign_up().await;
    let caller = api.new_session(&first).await;
    let entries = sessions_of(&api, &caller.access_token).await;
    let mine = current_id(&entries);
    let other_id = entries
        .iter()
        .map(|entry| entry["id"].as_str().unwrap_or_default().to_owned())
        .find(|id| *id != mine)
        .expect("the other session in the list");
    let path = format!(
        "/api/auth/sessions/{}",
        crate::client::path_segment(&other_id)
    );

    expect_no_content(
        &api.call(Method::DELETE, &path, Some(&caller.access_token))
            .await,
    );
    expect_session_gone(&api, &first, "the revoked session", REVOKED).await;
    expect_session_alive(&api, &caller, "the calling session").await;
    let left = sessions_of(&api, &caller.access_token).await;
    assert_eq!(left.len(), 1, "the revoked session is not listed: {left:?}");
    api.call(Method::DELETE, &path, Some(&caller.access_token))
        .await
        .noted("revoking it again")
        .expect_problem(404, "not_found");

    let own = format!("/api/auth/sessions/{}", crate::client::path_segment(&mine));
    expect_no_content(
        &api.call(Method::DELETE, &own, Some(&caller.access_token))
            .await,
    );
    expect_session_gone(&api, &caller, "the caller's own session", REVOKED).await;
}

/// `DELETE /api/auth/sessions/{id}` with another user's session id, or an
/// id that names no session, is 404 `not_found`, and revokes nothing.
pub async fn revoke_session_of_others_is_404(target: &Target) {
    let api = target.api();
    let alice = api.sign_up().await;
    let bob = api.sign_up().await;
    let bobs = current_id(&sessions_of(&api, &bob.access_token).await);
    for id in [
        bobs.clone(),
        random_string(22),
        "00000000-0000-0000-0000-000000000000".to_owned(),
        "0".to_owned(),
    ] {
        let path = format!("/api/auth/sessions/{}", crate::client::path_segment(&id));
        api.call(Method::DELETE, &path, Some(&alice.access_token))
            .await
            .noted(format!("session id {id:?}"))
            .expect_problem(404, "not_found");
    }
    expect_session_alive(&api, &bob, "bob's session").await;
    expect_session_alive(&api, &alice, "alice's session").await;
    assert_eq!(sessions_of(&api, &bob.access_token).await.len(), 1);
}

/// `DELETE /api/auth/sessions` is 204 and revokes every session of the
/// user, the calling one too; another user's session lives.
pub async fn revoke_all_sessions(target: &Target) {
    let api = target.api();
    let first = api.sign_up().await;
    let second = api.new_session(&first).await;
    let bystander = api.sign_up().await;
    expect_no_content(
        &api.call(
            Method::DELETE,
            "/api/auth/sessions",
            Some(&second.access_token),
        )
        .await,
    );
    for (what, session) in [
        ("the calling session", &second),
        ("the other session", &first),
    ] {
        expect_session_gone(&api, session, what, REVOKED).await;
    }
    expect_session_alive(&api, &bystander, "another user's session").await;
    api.sign_in(&first.email, &first.password)
        .await
        .noted("the password still signs in")
        .expect_auth_response(200, target, &first.email);
}

/// `DELETE /api/auth/me` with a wrong password, or none (`{}`, which only
/// an account without a password may send), is 403 `wrong_password`; a
/// `password` that is no string 400. The account, its session and its
/// tasks remain.
pub async fn delete_account_checks_password(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let task = api.create_task(&account, "keep me", None).await;
    delete_me(&api, &account.access_token, "not-the-password-123")
        .await
        .expect_problem(403, "wrong_password");
    api.json(
        Method::DELETE,
        "/api/auth/me",
        Some(&account.access_token),
        &json!({}),
    )
    .await
    .noted("no password")
    .expect_problem(403, "wrong_password");
    api.json(
        Method::DELETE,
        "/api/auth/me",
        Some(&account.access_token),
        &json!({ "password": 12_345_678 }),
    )
    .await
    .noted("a password that is no string")
    .expect_problem(400, "malformed_body");
    expect_session_alive(&api, &account, "after refused deletes").await;
    assert_eq!(
        ids(&api.list_tasks(&account, "").await),
        [super::id(&task)],
        "the tasks remain"
    );
    api.sign_in(&account.email, &account.password)
        .await
        .expect_auth_response(200, target, &account.email);
}

/// `DELETE /api/auth/me` with the password is 204: every session's access
/// and refresh tokens are 401, sign-in is 401, the address is free again
/// (a new sign-up with it is 201, not 409), and the new account sees none
/// of the old one's tasks; another user's tasks stay.
pub async fn delete_account_removes_everything(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let other_session = api.new_session(&account).await;
    for title in ["one", "two"] {
        api.create_task(&account, title, None).await;
    }
    let bystander = api.sign_up().await;
    let kept = api
        .create_task(&bystander, "not theirs to delete", None)
        .await;

    expect_no_content(&delete_me(&api, &account.access_token, &account.password).await);
    let gone = &["session_revoked", "user_not_found", "invalid_token"];
    for (what, session) in [
        ("the calling session", &account),
        ("the other session", &other_session),
    ] {
        expect_session_gone(&api, session, what, gone).await;
        api.get(&account.tasks_path(), Some(&session.access_token))
            .await
            .noted(format!("{what}: the task list"))
            .expect_token_rejected(gone);
    }
    api.sign_in(&account.email, &account.password)
        .await
        .noted("sign-in after deletion")
        .expect_unauthorized_without_token("invalid_credentials");

    let reply = api
        .sign_up_as(&account.email, &account.password, None)
        .await
        .noted("the deleted account's address");
    reply.expect_auth_response(201, target, &account.email);
    let reborn = Account::from_auth_response(&reply, &account.email, &account.password);
    assert_ne!(reborn.user_id, account.user_id, "a new user");
    assert!(
        api.list_tasks(&reborn, "").await.is_empty(),
        "the new account inherits no tasks"
    );
    assert_eq!(
        ids(&api.list_tasks(&bystander, "").await),
        [super::id(&kept)],
        "another user's tasks stay"
    );
}
