//! `REQUIRE_EMAIL_VERIFICATION=true`: no session is opened or kept for an
//! unverified address, and `send-verification-email` works without a token.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    Backend, Reply, Server,
    client::{Api, fresh_email, fresh_password},
};

use super::account::{expect_accepted, expect_no_store, expect_verified};
use super::account_tokens::verify_email;

const REQUIRED: &[(&str, &str)] = &[("REQUIRE_EMAIL_VERIFICATION", "true")];

/// `POST /api/auth/send-verification-email` without a token.
async fn send_verification_to(api: &Api, email: &str) -> Reply {
    api.json(
        Method::POST,
        "/api/auth/send-verification-email",
        None,
        &json!({ "email": email }),
    )
    .await
}

/// Panics unless `reply` is sign-up's 201 for an address still to verify:
/// `{"user", "email_verification_required": true}`, no token anywhere.
fn expect_verification_required(reply: &Reply, email: &str) -> Value {
    let body = reply.expect_json(201);
    expect_no_store(reply);
    reply.check(
        body["email_verification_required"] == json!(true),
        "email_verification_required: true",
    );
    reply.check(body["user"]["email"] == email, "the new user");
    expect_verified(reply, &body["user"], false);
    for field in ["access_token", "refresh_token", "token_type", "expires_in"] {
        reply.check(body.get(field).is_none(), &format!("no `{field}`"));
    }
    reply.check(reply.header("set-cookie").is_none(), "no cookie");
    body
}

/// Sign-up answers 201 `{"user", "email_verification_required": true}`
/// with no tokens (in cookie mode no cookie either) and mails the link;
/// sign-in with the right password is 403 `email_not_verified`, with a
/// wrong one or an unknown email the usual 401. `send-verification-email`
/// without a token mails the link again for `{"email"}`, answers an
/// unknown or verified address alike and sends it nothing, and refuses a
/// body without an address. After `verify-email`, sign-in is 200.
pub async fn sign_up_requires_verified_email(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, REQUIRED).await;
    let target = server.target();
    let api = target.api();
    let outbox = server.outbox();
    let (email, password) = (fresh_email(), fresh_password());
    let reply = api.sign_up_as(&email, &password, None).await;
    expect_verification_required(&reply, &email);
    let first = outbox.wait_for(&email, "email_verification").await;
    let cookie_mode = api
        .request(Method::POST, "/api/auth/sign-up")
        .header("content-type", "application/json")
        .header("x-refresh-cookie", "1")
        .body(json!({ "email": fresh_email(), "password": fresh_password() }).to_string());
    let cookie_reply = api.send(cookie_mode).await.noted("cookie mode");
    let cookie_body = cookie_reply.expect_json(201);
    expect_verification_required(
        &cookie_reply,
        cookie_body["user"]["email"].as_str().unwrap_or_default(),
    );

    api.sign_in(&email, &password)
        .await
        .noted("unverified, the right password")
        .expect_problem(403, "email_not_verified");
    api.sign_in(&email, "wrong-password-123")
        .await
        .noted("unverified, a wrong password")
        .expect_unauthorized_without_token("invalid_credentials");
    api.sign_in(&fresh_email(), "wrong-password-123")
        .await
        .noted("an unknown email")
        .expect_unauthorized_without_token("invalid_credentials");

    expect_accepted(&send_verification_to(&api, &email.to_uppercase()).await);
    let again = outbox.wait_for_nth(&email, "email_verification", 2).await;
    assert_ne!(again.expect_token(), first.expect_token(), "a new link");
    let unknown = fresh_email();
    let reply = send_verification_to(&api, &unknown).await;
    expect_accepted(&reply);
    api.json(
        Method::POST,
        "/api/auth/send-verification-email",
        None,
        &json!({}),
    )
    .await
    .noted("no token and no address")
    .expect_problem(400, "malformed_body");
    send_verification_to(&api, "not-an-email")
        .await
        .expect_problem(422, "invalid_email");

    // The newer link voided the first.
    verify_email(&api, &first.expect_token())
        .await
        .noted("the first link, after a second was sent")
        .expect_problem(400, "invalid_token");
    let reply = verify_email(&api, &again.expect_token()).await;
    expect_verified(&reply, &reply.expect_json(200)["user"], true);
    let reply = api.sign_in(&email, &password).await.noted("verified");
    let body = reply.expect_auth_response(200, &target, &email);
    expect_verified(&reply, &body["user"], true);
    expect_accepted(&send_verification_to(&api, &email).await.noted("verified"));
    assert_eq!(
        outbox.count_for_after_quiet(&unknown).await,
        0,
        "nothing is sent to an unknown address"
    );
    assert_eq!(
        outbox.count_for_after_quiet(&email).await,
        2,
        "nothing more is sent to a verified address"
    );
}

/// A session opened before verification was required does not outlive
/// the requirement: its refresh is 403 `email_not_verified`, and the
/// session is revoked (its refresh token is then a 401).
pub async fn unverified_sessions_are_not_kept(binary: &Path, backend: Backend) {
    let before = Server::start(binary, backend, &[]).await;
    let account = before.target().api().sign_up().await;
    let same_data = match before.sqlite_dir() {
        Some(dir) => Backend::SqliteIn(dir),
        None => Backend::PostgresIn(before.database_url().to_owned()),
    };
    let after = Server::start(binary, same_data, REQUIRED).await;
    let api = after.target().api();
    api.refresh(&account.refresh_token)
        .await
        .noted("a session opened before verification was required")
        .expect_problem(403, "email_not_verified");
    api.refresh(&account.refresh_token)
        .await
        .noted("the same refresh token again")
        .expect_problem(401, "session_revoked");
}
