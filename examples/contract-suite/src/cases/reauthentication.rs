//! What stands in for the password: deleting the account and changing
//! the address take the password, or for an account without one (OAuth,
//! email sign-in) a sign-in of the last 10 minutes, as two-factor does;
//! linking an OAuth identity takes a sign-in of the last 10 minutes from
//! everyone. The contract is silent on these three routes beyond its
//! two-factor rule; the servers apply that rule to them.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::{
    Account, Backend, Reply, Target,
    client::{Api, expect_user, fresh_email},
    oidc::Identity,
    outbox::Outbox,
};

use super::{
    account::{expect_accepted, expect_no_content, expect_session_alive, expect_session_gone},
    account_tokens::verify_email,
    email_sign_in,
    oauth::{OAuthServer, account_of, expect_has_password},
};

/// `DELETE /api/auth/me` with `body`.
async fn delete_me(api: &Api, account: &Account, body: &Value) -> Reply {
    api.json(
        Method::DELETE,
        "/api/auth/me",
        Some(&account.access_token),
        body,
    )
    .await
}

/// `POST /api/auth/change-email` with `body`.
async fn change_email(api: &Api, account: &Account, body: &Value) -> Reply {
    api.json(
        Method::POST,
        "/api/auth/change-email",
        Some(&account.access_token),
        body,
    )
    .await
}

/// A new account without a password, made and signed in by an email
/// sign-in (which verifies the address); `n` is the sign-in messages to
/// `email` so far, this one included.
async fn signed_in_by_email(
    api: &Api,
    outbox: &Outbox,
    target: &Target,
    email: &str,
    n: usize,
) -> Account {
    expect_accepted(&email_sign_in::request(api, email).await);
    let (link, _) = email_sign_in::nth_message(outbox, email, n).await;
    let reply = email_sign_in::verify(api, &json!({ "token": link })).await;
    let body = reply.expect_auth_response(200, target, email);
    expect_has_password(&reply, &body["user"], false);
    Account::from_auth_response(&reply, email, "")
}

/// A user without a password sends `{}` to `DELETE /me` and
/// `{"new_email"}` to `change-email` within 10 minutes of signing in: the
/// change is 202, its link moves the address; the deletion is 204, after
/// which the session's tokens are 401 and an email sign-in to the address
/// makes a new account. A user with a password who leaves it out gets 403
/// `wrong_password` on both, and keeps the account.
pub async fn passwordless_user_confirms_by_a_fresh_sign_in(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();

    let account = api.sign_up().await;
    delete_me(&api, &account, &json!({}))
        .await
        .noted("a password account, no password")
        .expect_problem(403, "wrong_password");
    let elsewhere = fresh_email();
    change_email(&api, &account, &json!({ "new_email": elsewhere }))
        .await
        .noted("a password account, no password")
        .expect_problem(403, "wrong_password");
    expect_session_alive(&api, &account, "after the refused calls").await;
    assert_eq!(
        outbox.count_for_after_quiet(&elsewhere).await,
        0,
        "nothing is mailed to the new address"
    );

    let email = fresh_email();
    let user = signed_in_by_email(&api, &outbox, target, &email, 1).await;
    let moved = fresh_email();
    expect_accepted(&change_email(&api, &user, &json!({ "new_email": moved })).await);
    let token = outbox.wait_for(&moved, "email_change").await.expect_token();
    let reply = verify_email(&api, &token).await;
    let body = reply.expect_json(200);
    expect_user(&body["user"], &reply, &moved);

    expect_no_content(&delete_me(&api, &user, &json!({})).await);
    let gone = &["session_revoked", "user_not_found", "invalid_token"];
    expect_session_gone(&api, &user, "the deleted account's session", gone).await;
    let reborn = signed_in_by_email(&api, &outbox, target, &moved, 1).await;
    assert_ne!(reborn.user_id, user.user_id, "a new account, not the old");
}

/// Moves the sign-in of every session of `user_id` 11 minutes back, in
/// the server's database (PostgreSQL, or the SQLite file, which keeps
/// microseconds).
async fn age_sessions(server: &crate::Server, user_id: &str) {
    let url = server.database_url();
    let changed = if url.starts_with("postgres") {
        let mut db = sqlx::PgConnection::connect(url)
            .await
            .expect("the server's PostgreSQL database");
        let sql = "UPDATE auth_sessions \
                   SET created_at = created_at - interval '11 minutes' WHERE user_id = $1";
        let done = sqlx::query(sql).bind(user_id).execute(&mut db).await;
        let _ = db.close().await;
        done.expect(sql).rows_affected()
    } else {
        let mut db = sqlx::SqliteConnection::connect(url)
            .await
            .expect("the server's SQLite database");
        let sql = "UPDATE auth_sessions \
                   SET created_at = created_at - 660000000 WHERE user_id = ?1";
        let done = sqlx::query(sql).bind(user_id).execute(&mut db).await;
        let _ = db.close().await;
        done.expect(sql).rows_affected()
    };
    assert!(changed >= 1, "no session of {user_id} to age");
}

/// Sessions signed in more than 10 minutes ago (the database aged by the
/// case), and their refreshed tokens, which are no new sign-in: for a
/// user without a password (made by the OpenID provider), `DELETE /me`
/// with `{}` and `change-email` with `{"new_email"}` are 403
/// `reauthentication_required`, and so is `POST /oauth/{p}/link` for
/// every user, with a password too; a password still confirms the email
/// change. A new sign-in makes each of them work.
pub async fn stale_sign_ins_cannot_delete_change_email_or_link(binary: &Path, backend: Backend) {
    let test = "stale_sign_ins_cannot_delete_change_email_or_link";
    let Some(s) = OAuthServer::start(binary, backend, test, &[]).await else {
        return;
    };
    let (api, client) = (s.api(), &s.client);
    let target = api.target();

    let identity = Identity::fresh();
    let user = account_of(
        &client.sign_in("mock", &identity, &identity.email).await,
        &identity.email,
    );
    let with_password = api.sign_up().await;
    for account in [&user, &with_password] {
        age_sessions(&s.server, &account.user_id).await;
    }
    let reply = api.refresh(&user.refresh_token).await;
    reply.expect_auth_response(200, target, &user.email);
    let refreshed = user.with_session(&reply);
    let reply = api.refresh(&with_password.refresh_token).await;
    reply.expect_auth_response(200, target, &with_password.email);
    let with_password_refreshed = with_password.with_session(&reply);

    for (what, session) in [("aged", &user), ("aged, then refreshed", &refreshed)] {
        delete_me(api, session, &json!({}))
            .await
            .noted(format!("DELETE /me, {what}"))
            .expect_problem(403, "reauthentication_required");
        change_email(api, session, &json!({ "new_email": fresh_email() }))
            .await
            .noted(format!("change-email, {what}"))
            .expect_problem(403, "reauthentication_required");
        client
            .link("github", None, Some(&session.access_token))
            .await
            .noted(format!("link, {what}"))
            .expect_problem(403, "reauthentication_required");
    }
    for (what, session) in [
        ("a password user, aged", &with_password),
        (
            "a password user, aged and refreshed",
            &with_password_refreshed,
        ),
    ] {
        client
            .link("github", None, Some(&session.access_token))
            .await
            .noted(format!("link, {what}"))
            .expect_problem(403, "reauthentication_required");
    }
    let body = json!({ "new_email": fresh_email(), "password": with_password.password });
    expect_accepted(&change_email(api, &with_password, &body).await);

    let reply = api
        .sign_in(&with_password.email, &with_password.password)
        .await;
    reply.expect_auth_response(200, target, &with_password.email);
    let signed_in = with_password.with_session(&reply);
    client
        .start_link("github", None, &signed_in.access_token)
        .await;

    let again = account_of(
        &client.sign_in("mock", &identity, &identity.email).await,
        &identity.email,
    );
    assert_eq!(again.user_id, user.user_id, "the same user");
    client.start_link("github", None, &again.access_token).await;
    expect_accepted(&change_email(api, &again, &json!({ "new_email": fresh_email() })).await);
    expect_no_content(&delete_me(api, &again, &json!({})).await);
    expect_session_gone(
        api,
        &again,
        "the deleted account's session",
        &["session_revoked", "user_not_found", "invalid_token"],
    )
    .await;
}

/// `GET /api/openapi.json` says it: `DELETE /me` and `change-email` take
/// an optional `password` and list 403 with `wrong_password` and
/// `reauthentication_required`; `POST /oauth/{provider}/link` lists 403
/// `reauthentication_required`.
pub async fn openapi_states_what_stands_in_for_the_password(target: &Target) {
    let api = target.api();
    let reply = api.get("/api/openapi.json", None).await;
    let doc = reply.expect_json(200);
    let forbidden = |path: &str, method: &str| {
        doc["paths"][path][method]["responses"]["403"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    for (path, method) in [
        ("/api/auth/me", "delete"),
        ("/api/auth/change-email", "post"),
    ] {
        let described = forbidden(path, method);
        reply.check(
            described.contains("`wrong_password`")
                && described.contains("`reauthentication_required`"),
            &format!("{method} {path}: a 403 with both codes, not {described:?}"),
        );
        let reference = doc["paths"][path][method]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"]
            .as_str()
            .unwrap_or_default();
        let name = reference.rsplit('/').next().unwrap_or_default();
        let schema = &doc["components"]["schemas"][name];
        reply.check(
            schema["properties"]["password"].is_object(),
            &format!("{method} {path}: `password` in {name}: {schema}"),
        );
        reply.check(
            !schema["required"]
                .as_array()
                .is_some_and(|required| required.iter().any(|field| field == "password")),
            &format!("{method} {path}: `password` optional in {name}: {schema}"),
        );
    }
    let described = forbidden("/api/auth/oauth/{provider}/link", "post");
    reply.check(
        described.contains("`reauthentication_required`"),
        &format!("link: a 403 `reauthentication_required`, not {described:?}"),
    );
}
