//! `change-email`: the token goes to the new address, the email changes
//! when it is verified, and a taken address is never revealed or taken.

use reqwest::Method;
use serde_json::json;

use crate::{
    Account, Target,
    client::{expect_user, fresh_email, fresh_password},
};

use super::account::{change_password, expect_accepted, expect_no_content, expect_verified};
use super::account_tokens::{
    change_email, reset_password, reset_token, verification_token, verify_email,
};

/// `change-email` is 202 `{}` and mails an `email_change` token to the NEW
/// address; the email stays the old one until that token is verified.
/// Then the user has the new email, verified; sign-in works with the new
/// address and not the old; the old address gets an `email_changed`
/// notice without a token.
pub async fn change_email_takes_effect_when_verified(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let new_email = fresh_email();
    expect_accepted(&change_email(&api, &account, &new_email, &account.password).await);
    let mail = outbox.wait_for(&new_email, "email_change").await;
    let token = mail.expect_token();
    assert_eq!(
        mail.link.as_deref().unwrap_or_default(),
        format!("{}/verify-email#token={token}", target.public()),
        "email-change links go to verify-email (DESIGN): {mail:#?}"
    );
    let me = api.me(&account.access_token).await;
    let body = me.expect_json(200);
    me.check(
        body["user"]["email"] == account.email.as_str(),
        "not changed before verification",
    );
    api.sign_in(&new_email, &account.password)
        .await
        .noted("the new address before verification")
        .expect_unauthorized_without_token("invalid_credentials");

    let reply = verify_email(&api, &token).await;
    let body = reply.expect_json(200);
    expect_user(&body["user"], &reply, &new_email);
    expect_verified(&reply, &body["user"], true);
    let me = api.me(&account.access_token).await;
    let body = me.expect_json(200);
    expect_user(&body["user"], &me, &new_email);
    expect_verified(&me, &body["user"], true);
    api.sign_in(&new_email, &account.password)
        .await
        .noted("the new address")
        .expect_auth_response(200, target, &new_email);
    api.sign_in(&account.email, &account.password)
        .await
        .noted("the old address")
        .expect_unauthorized_without_token("invalid_credentials");
    let notice = outbox.wait_for(&account.email, "email_changed").await;
    assert!(
        notice.token.is_none(),
        "a notice carries no token: {notice:#?}"
    );
}

/// `change-email` with a wrong password is 403 `wrong_password` and sends
/// nothing to the new address.
pub async fn change_email_wrong_password_is_403(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let new_email = fresh_email();
    change_email(&api, &account, &new_email, "not-the-password-123")
        .await
        .expect_problem(403, "wrong_password");
    assert_eq!(
        outbox.count_for_after_quiet(&new_email).await,
        0,
        "nothing sent"
    );
}

/// `change-email` to a malformed address, or to the current one, is 422
/// `invalid_email` (DESIGN); no `new_email` is 400 `malformed_body`, no
/// `password` (for an account that has one) 403 `wrong_password`.
pub async fn change_email_value_rules(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    for email in [
        "not-an-email",
        "user@@example.com",
        "",
        account.email.as_str(),
    ] {
        change_email(&api, &account, email, &account.password)
            .await
            .noted(format!("new_email {email:?}"))
            .expect_problem(422, "invalid_email");
    }
    api.json(
        Method::POST,
        "/api/auth/change-email",
        Some(&account.access_token),
        &json!({ "new_email": fresh_email() }),
    )
    .await
    .noted("no password")
    .expect_problem(403, "wrong_password");
    api.json(
        Method::POST,
        "/api/auth/change-email",
        Some(&account.access_token),
        &json!({ "password": account.password }),
    )
    .await
    .noted("no new_email")
    .expect_problem(400, "malformed_body");
}

/// `change-email` to an address another account holds: the same 202 `{}`
/// as for a free address (no enumeration); that address gets an
/// `email_in_use` message without a token, and no `email_change` one;
/// nobody's email changes.
pub async fn change_email_to_taken_address(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let holder = api.sign_up().await;
    let free = change_email(&api, &account, &fresh_email(), &account.password)
        .await
        .noted("a free address");
    let taken = change_email(&api, &account, &holder.email, &account.password)
        .await
        .noted("an address another account holds");
    expect_accepted(&taken);
    assert_eq!(
        (free.code(), &free.body),
        (taken.code(), &taken.body),
        "the same answer\n{}\n{}",
        free.describe(),
        taken.describe()
    );
    let mail = outbox.wait_for(&holder.email, "email_in_use").await;
    assert!(
        mail.token.is_none() && mail.link.is_none(),
        "no token: {mail:#?}"
    );
    assert!(
        outbox
            .messages_for(&holder.email)
            .iter()
            .all(|mail| mail.kind != "email_change"),
        "no email_change token to a taken address: {:#?}",
        outbox.messages_for(&holder.email)
    );
    for (who, session) in [("the requester", &account), ("the holder", &holder)] {
        let me = api.me(&session.access_token).await.noted(who);
        me.check(
            me.expect_json(200)["user"]["email"] == session.email.as_str(),
            "unchanged",
        );
    }
}

/// Verifying never takes an address another account verified: A asks to
/// move to a free address, B then signs up with it and verifies it; A's
/// change token is then refused (4xx) and both emails stay as they are.
pub async fn change_email_never_takes_a_verified_address(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let mover = api.sign_up().await;
    let contested = fresh_email();
    expect_accepted(&change_email(&api, &mover, &contested, &mover.password).await);
    let change_token = outbox
        .wait_for(&contested, "email_change")
        .await
        .expect_token();

    let password = fresh_password();
    let reply = api.sign_up_as(&contested, &password, None).await;
    reply.expect_auth_response(201, target, &contested);
    let owner = Account::from_auth_response(&reply, &contested, &password);
    let owner_token = verification_token(&api, &outbox, &owner, 1).await;
    verify_email(&api, &owner_token).await.expect_json(200);

    let reply = verify_email(&api, &change_token)
        .await
        .noted("the change token for an address another account verified");
    reply.check(
        reply.status.is_client_error(),
        "verifying must not take an address another account holds",
    );
    let me = api.me(&mover.access_token).await;
    me.check(
        me.expect_json(200)["user"]["email"] == mover.email.as_str(),
        "the mover keeps the old address",
    );
    let me = api.me(&owner.access_token).await;
    let body = me.expect_json(200);
    expect_user(&body["user"], &me, &contested);
    expect_verified(&me, &body["user"], true);
    api.sign_in(&contested, &password)
        .await
        .expect_auth_response(200, target, &contested);
}

/// A newer `change-email` voids the older change token (DESIGN): the first
/// token is 400 `invalid_token`, the second moves the account to its
/// address.
pub async fn newer_change_email_voids_older(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let (first, second) = (fresh_email(), fresh_email());
    for email in [&first, &second] {
        expect_accepted(&change_email(&api, &account, email, &account.password).await);
    }
    let older = outbox.wait_for(&first, "email_change").await.expect_token();
    let newer = outbox
        .wait_for(&second, "email_change")
        .await
        .expect_token();
    verify_email(&api, &older)
        .await
        .noted("the older change token")
        .expect_problem(400, "invalid_token");
    let reply = verify_email(&api, &newer)
        .await
        .noted("the newer change token");
    let body = reply.expect_json(200);
    expect_user(&body["user"], &reply, &second);
}

/// `change-email` tells the current address at once, with no token
/// (`email_change_requested`). Someone who briefly had the password
/// cannot take the account later: a password reset, a password change
/// and `DELETE /sessions` each void the pending change, whose token is
/// then 400 `invalid_token`, and the address stays the owner's.
pub async fn pending_email_change_ends_with_the_password(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    for ending in ["reset-password", "change-password", "DELETE /sessions"] {
        let account = api.sign_up().await;
        let theirs = fresh_email();
        expect_accepted(&change_email(&api, &account, &theirs, &account.password).await);
        let pending = outbox
            .wait_for(&theirs, "email_change")
            .await
            .expect_token();
        let notice = outbox
            .wait_for(&account.email, "email_change_requested")
            .await;
        assert!(
            notice.token.is_none() && notice.link.is_none(),
            "the notice carries no token: {notice:#?}"
        );
        let password = match ending {
            "reset-password" => {
                let token = reset_token(&api, &outbox, &account.email, 1).await;
                let password = fresh_password();
                expect_no_content(&reset_password(&api, &token, &password).await);
                password
            }
            "change-password" => {
                let password = fresh_password();
                let reply = change_password(&api, &account, &account.password, &password).await;
                expect_no_content(&reply);
                password
            }
            _ => {
                let reply = api
                    .json(
                        Method::DELETE,
                        "/api/auth/sessions",
                        Some(&account.access_token),
                        &json!({}),
                    )
                    .await;
                expect_no_content(&reply);
                account.password.clone()
            }
        };
        verify_email(&api, &pending)
            .await
            .noted(format!("the pending change's token after {ending}"))
            .expect_problem(400, "invalid_token");
        api.sign_in(&account.email, &password)
            .await
            .noted(format!("the owner's address after {ending}"))
            .expect_auth_response(200, target, &account.email);
    }
}
