//! Account endpoints with one-time tokens sent by mail: password reset,
//! email verification and email change. Timing (an unknown address
//! answered "in about the same time") is not asserted here: a benchmark
//! measures it.

use reqwest::Method;
use serde_json::json;

use crate::{
    Account, Reply, Target,
    client::{Api, expect_user, fresh_email, fresh_password},
    outbox::Outbox,
    server::random_string,
};

use super::account::{
    REVOKED, change_password, expect_accepted, expect_no_content, expect_no_store,
    expect_session_alive, expect_session_gone, expect_verified,
};

/// `POST /api/auth/request-password-reset` for `email`.
pub(super) async fn request_reset(api: &Api, email: &str) -> Reply {
    api.json(
        Method::POST,
        "/api/auth/request-password-reset",
        None,
        &json!({ "email": email }),
    )
    .await
}

/// `POST /api/auth/reset-password`.
pub(super) async fn reset_password(api: &Api, token: &str, new_password: &str) -> Reply {
    api.json(
        Method::POST,
        "/api/auth/reset-password",
        None,
        &json!({ "token": token, "new_password": new_password }),
    )
    .await
}

/// `POST /api/auth/send-verification-email` with body `{}`.
pub(super) async fn send_verification(api: &Api, access_token: &str) -> Reply {
    api.json(
        Method::POST,
        "/api/auth/send-verification-email",
        Some(access_token),
        &json!({}),
    )
    .await
}

/// `POST /api/auth/verify-email`.
pub(super) async fn verify_email(api: &Api, token: &str) -> Reply {
    api.json(
        Method::POST,
        "/api/auth/verify-email",
        None,
        &json!({ "token": token }),
    )
    .await
}

/// `POST /api/auth/change-email` as `account`.
pub(super) async fn change_email(
    api: &Api,
    account: &Account,
    new_email: &str,
    password: &str,
) -> Reply {
    api.json(
        Method::POST,
        "/api/auth/change-email",
        Some(&account.access_token),
        &json!({ "new_email": new_email, "password": password }),
    )
    .await
}

/// Requests a reset for `email` (checked 202 `{}`) and returns the token
/// of the `n`-th `password_reset` message to it.
pub(super) async fn reset_token(api: &Api, outbox: &Outbox, email: &str, n: usize) -> String {
    expect_accepted(&request_reset(api, email).await);
    outbox
        .wait_for_nth(email, "password_reset", n)
        .await
        .expect_token()
}

/// Asks for a verification message for `account` (checked 202 `{}`) and
/// returns the token of the `n`-th `email_verification` message to it.
pub(super) async fn verification_token(
    api: &Api,
    outbox: &Outbox,
    account: &Account,
    n: usize,
) -> String {
    expect_accepted(&send_verification(api, &account.access_token).await);
    outbox
        .wait_for_nth(&account.email, "email_verification", n)
        .await
        .expect_token()
}

/// `request-password-reset` for a registered address (in any spelling) is
/// 202 `{}` and mails a `password_reset` message to the stored address,
/// whose link is `{PUBLIC_URL}/reset-password#token=<token>` (DESIGN) with
/// a token of at least 256 bits.
pub async fn password_reset_request_sends_token(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let reply = request_reset(&api, &account.email).await;
    expect_accepted(&reply);
    let mail = outbox.wait_for(&account.email, "password_reset").await;
    let token = mail.expect_token();
    let link = mail.link.clone().unwrap_or_default();
    assert_eq!(
        link,
        format!("{}/reset-password#token={token}", target.public()),
        "the link is PUBLIC_URL/reset-password with the token in the fragment: {mail:#?}"
    );
    assert!(!mail.subject.is_empty(), "a subject: {mail:#?}");
    assert!(
        !mail.text.contains(&account.password),
        "the message must not contain the password: {mail:#?}"
    );

    let spelling = format!("  {}  ", account.email.to_uppercase());
    expect_accepted(
        &request_reset(&api, &spelling)
            .await
            .noted("another spelling"),
    );
    let second = outbox
        .wait_for_nth(&account.email, "password_reset", 2)
        .await;
    assert_ne!(
        second.expect_token(),
        token,
        "every request mints a new token"
    );
}

/// `request-password-reset` for an address nobody registered answers with
/// the same status, `Content-Type` and body bytes as for a registered one,
/// and sends nothing. (About the same time, too: not asserted here.)
pub async fn password_reset_request_unknown_is_identical(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let unknown = fresh_email();
    let known = request_reset(&api, &account.email)
        .await
        .noted("a registered address");
    let nobody = request_reset(&api, &unknown)
        .await
        .noted("an unknown address");
    expect_accepted(&known);
    expect_accepted(&nobody);
    assert_eq!(
        (
            known.code(),
            known.header("content-type"),
            known.header("cache-control")
        ),
        (
            nobody.code(),
            nobody.header("content-type"),
            nobody.header("cache-control")
        ),
        "the same status and headers\n{}\n{}",
        known.describe(),
        nobody.describe()
    );
    assert_eq!(
        known.body,
        nobody.body,
        "byte-identical bodies\n{}\n{}",
        known.describe(),
        nobody.describe()
    );
    outbox.wait_for(&account.email, "password_reset").await;
    assert_eq!(
        outbox.count_for_after_quiet(&unknown).await,
        0,
        "nothing is sent to an unknown address: {:#?}",
        outbox.messages()
    );
}

/// `reset-password` with a mailed token is 204: every session's access and
/// refresh tokens are 401, the old password stops signing in, the new one
/// works, and a `password_changed` notice is mailed (DESIGN).
pub async fn password_reset_revokes_every_session(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let other = api.new_session(&account).await;
    let token = reset_token(&api, &outbox, &account.email, 1).await;
    let new_password = fresh_password();
    expect_no_content(&reset_password(&api, &token, &new_password).await);
    for (what, session) in [
        ("the sign-up session", &account),
        ("the sign-in session", &other),
    ] {
        expect_session_gone(&api, session, what, REVOKED).await;
    }
    api.sign_in(&account.email, &account.password)
        .await
        .noted("the old password")
        .expect_unauthorized_without_token("invalid_credentials");
    api.sign_in(&account.email, &new_password)
        .await
        .noted("the new password")
        .expect_auth_response(200, target, &account.email);
    let notice = outbox.wait_for(&account.email, "password_changed").await;
    assert!(
        notice.token.is_none(),
        "a notice carries no token: {notice:#?}"
    );
}

/// A reset token works once: used again it is 400 `invalid_token` (and the
/// password stays the first new one); unknown and empty tokens are 400
/// `invalid_token`, a missing one 400 `malformed_body`.
pub async fn reset_token_is_single_use(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let token = reset_token(&api, &outbox, &account.email, 1).await;
    let first = fresh_password();
    expect_no_content(&reset_password(&api, &token, &first).await);
    let second = fresh_password();
    reset_password(&api, &token, &second)
        .await
        .noted("the same token again")
        .expect_problem(400, "invalid_token");
    for (what, token) in [
        ("an unknown token", random_string(43)),
        ("an empty token", String::new()),
        ("a token with a character changed", flip_last(&token)),
    ] {
        reset_password(&api, &token, &fresh_password())
            .await
            .noted(what)
            .expect_problem(400, "invalid_token");
    }
    api.json(
        Method::POST,
        "/api/auth/reset-password",
        None,
        &json!({ "new_password": fresh_password() }),
    )
    .await
    .noted("no token")
    .expect_problem(400, "malformed_body");
    api.sign_in(&account.email, &second)
        .await
        .expect_unauthorized_without_token("invalid_credentials");
    api.sign_in(&account.email, &first)
        .await
        .expect_auth_response(200, target, &account.email);
}

/// A weak new password at `reset-password` is 422 and does not use the
/// token up (DESIGN: checked before the token is consumed).
pub async fn reset_rejects_weak_password_first(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let token = reset_token(&api, &outbox, &account.email, 1).await;
    for (password, code) in [
        ("short12", "password_too_short"),
        ("password1", "password_too_common"),
    ] {
        reset_password(&api, &token, password)
            .await
            .noted(format!("the new password {password:?}"))
            .expect_problem(422, code);
    }
    expect_session_alive(&api, &account, "a refused reset revokes nothing").await;
    let new_password = fresh_password();
    expect_no_content(
        &reset_password(&api, &token, &new_password)
            .await
            .noted("then a good one"),
    );
    api.sign_in(&account.email, &new_password)
        .await
        .expect_auth_response(200, target, &account.email);
}

/// One purpose per token: a verification token at `reset-password` and a
/// reset token at `verify-email` are 400 `invalid_token`, and neither is
/// used up: each still works for its own purpose afterwards (DESIGN).
pub async fn tokens_have_one_purpose(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let verification = verification_token(&api, &outbox, &account, 1).await;
    let reset = reset_token(&api, &outbox, &account.email, 1).await;
    let attempted = fresh_password();
    reset_password(&api, &verification, &attempted)
        .await
        .noted("a verification token at reset-password")
        .expect_problem(400, "invalid_token");
    verify_email(&api, &reset)
        .await
        .noted("a reset token at verify-email")
        .expect_problem(400, "invalid_token");
    api.sign_in(&account.email, &attempted)
        .await
        .expect_unauthorized_without_token("invalid_credentials");
    let me = api.me(&account.access_token).await;
    expect_verified(&me, &me.json()["user"], false);

    let reply = verify_email(&api, &verification)
        .await
        .noted("the verification token");
    let body = reply.expect_json(200);
    expect_verified(&reply, &body["user"], true);
    let new_password = fresh_password();
    expect_no_content(
        &reset_password(&api, &reset, &new_password)
            .await
            .noted("the reset token"),
    );
    api.sign_in(&account.email, &new_password)
        .await
        .expect_auth_response(200, target, &account.email);
}

/// A newer reset token voids the older one: the first is 400
/// `invalid_token`, the second works.
pub async fn newer_reset_token_voids_older(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let older = reset_token(&api, &outbox, &account.email, 1).await;
    let newer = reset_token(&api, &outbox, &account.email, 2).await;
    assert_ne!(older, newer, "two requests, two tokens");
    reset_password(&api, &older, &fresh_password())
        .await
        .noted("the older token")
        .expect_problem(400, "invalid_token");
    expect_no_content(
        &reset_password(&api, &newer, &fresh_password())
            .await
            .noted("the newer token"),
    );
}

/// A password change voids a reset token sent before it.
pub async fn password_change_voids_reset_token(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let token = reset_token(&api, &outbox, &account.email, 1).await;
    let changed = fresh_password();
    expect_no_content(&change_password(&api, &account, &account.password, &changed).await);
    reset_password(&api, &token, &fresh_password())
        .await
        .noted("a reset token from before the password change")
        .expect_problem(400, "invalid_token");
    api.sign_in(&account.email, &changed)
        .await
        .expect_auth_response(200, target, &account.email);
}

/// Eight simultaneous `reset-password` requests with one token: exactly one
/// is 204, seven are 400 `invalid_token`, and the winner's password is the
/// account's.
pub async fn concurrent_resets_one_wins(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let token = reset_token(&api, &outbox, &account.email, 1).await;
    let mut handles = Vec::new();
    for i in 0..8 {
        let api = api.clone();
        let token = token.clone();
        handles.push(tokio::spawn(async move {
            let password = format!("{}-{i}", fresh_password());
            let reply = reset_password(&api, &token, &password).await;
            (password, reply)
        }));
    }
    let mut winners = Vec::new();
    for handle in handles {
        let (password, reply) = handle.await.expect("a reset task");
        if reply.code() == 204 {
            winners.push(password);
        } else {
            reply.expect_problem(400, "invalid_token");
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of 8 concurrent resets must win"
    );
    api.sign_in(&account.email, &winners[0])
        .await
        .expect_auth_response(200, target, &account.email);
}

/// `send-verification-email` is 202 `{}` and mails an `email_verification`
/// message (link `{PUBLIC_URL}/verify-email#token=…`, DESIGN);
/// `verify-email` with its token is 200 `{"user"}` with `email_verified:
/// true`, which `/me` shows too. Asked again once verified (with an empty
/// body this time), it is 202 `{}` and sends nothing.
pub async fn verify_email_marks_user_verified(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let token = verification_token(&api, &outbox, &account, 1).await;
    let mail = outbox.wait_for(&account.email, "email_verification").await;
    assert_eq!(
        mail.link.as_deref().unwrap_or_default(),
        format!("{}/verify-email#token={token}", target.public()),
        "the link is PUBLIC_URL/verify-email with the token in the fragment: {mail:#?}"
    );

    let reply = verify_email(&api, &token).await;
    let body = reply.expect_json(200);
    expect_user(&body["user"], &reply, &account.email);
    expect_verified(&reply, &body["user"], true);
    expect_no_store(&reply);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the same user",
    );
    let me = api.me(&account.access_token).await;
    expect_verified(&me, &me.expect_json(200)["user"], true);

    let before = outbox.count_for(&account.email);
    let again = api
        .call(
            Method::POST,
            "/api/auth/send-verification-email",
            Some(&account.access_token),
        )
        .await
        .noted("already verified, no body");
    expect_accepted(&again);
    assert_eq!(
        outbox.count_for_after_quiet(&account.email).await,
        before,
        "nothing is sent to a verified address: {:#?}",
        outbox.messages_for(&account.email)
    );
}

/// A verification token works once: again it is 400 `invalid_token`, as
/// are unknown and empty tokens; a missing one is 400 `malformed_body`.
pub async fn verification_token_is_single_use(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let token = verification_token(&api, &outbox, &account, 1).await;
    verify_email(&api, &token).await.expect_json(200);
    for (what, token) in [
        ("the same token again", token.clone()),
        ("an unknown token", random_string(43)),
        ("an empty token", String::new()),
    ] {
        verify_email(&api, &token)
            .await
            .noted(what)
            .expect_problem(400, "invalid_token");
    }
    api.json(Method::POST, "/api/auth/verify-email", None, &json!({}))
        .await
        .noted("no token")
        .expect_problem(400, "malformed_body");
}

/// `token` with its last character replaced by another of the alphabet.
fn flip_last(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}
