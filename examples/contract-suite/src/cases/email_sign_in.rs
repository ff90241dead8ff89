//! Email sign-in: `POST /api/auth/email-sign-in` mails a link and a
//! 6-digit code; `POST /api/auth/email-sign-in/verify` signs in with
//! either, once.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    Backend, Reply, Server, Target,
    client::{Api, fresh_email, fresh_password},
    outbox::{Mail, Outbox},
};

use super::account::{expect_accepted, expect_no_store, expect_verified};

/// The `X-Auth-Message` of a sign-in message.
const KIND: &str = "email_sign_in";

pub(super) async fn request(api: &Api, email: &str) -> Reply {
    api.json(
        Method::POST,
        "/api/auth/email-sign-in",
        None,
        &json!({ "email": email }),
    )
    .await
}

pub(super) async fn verify(api: &Api, body: &Value) -> Reply {
    api.json(Method::POST, "/api/auth/email-sign-in/verify", None, body)
        .await
}

/// The 6-digit code of a sign-in message: the only run of exactly six
/// digits in its text besides the link (whose random token may hold one).
fn code_of(mail: &Mail) -> String {
    let text = match &mail.link {
        Some(link) => mail.text.replace(link.as_str(), ""),
        None => mail.text.clone(),
    };
    let codes: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 6)
        .collect();
    assert_eq!(codes.len(), 1, "one 6-digit code in the message\n{mail:#?}");
    codes[0].to_owned()
}

/// The link's token and the code of the `n`-th sign-in message to `email`.
pub(super) async fn nth_message(outbox: &Outbox, email: &str, n: usize) -> (String, String) {
    let mail = outbox.wait_for_nth(email, KIND, n).await;
    let link = mail.link.clone().unwrap_or_default();
    assert!(
        link.contains("/email-sign-in#token="),
        "the link opens the front end's email-sign-in page\n{mail:#?}"
    );
    (mail.expect_token(), code_of(&mail))
}

/// Panics unless `reply` is a 200 `AuthResponse` for `email`, verified.
fn expect_signed_in(reply: &Reply, target: &Target, email: &str) -> Value {
    let body = reply.expect_auth_response(200, target, email);
    expect_verified(reply, &body["user"], true);
    body
}

/// The link signs in once; the code of the same message is void after it,
/// and the reverse for the next message. Signing in this way verifies the
/// address, and the session works like a password one; once verified, a
/// later email sign-in leaves the other sessions alone.
pub async fn email_sign_in_by_link_or_code(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let reply = request(&api, &account.email).await;
    expect_accepted(&reply);
    expect_no_store(&reply);
    let (token, code) = nth_message(&outbox, &account.email, 1).await;

    let reply = verify(&api, &json!({ "token": token }))
        .await
        .noted("the link");
    let body = expect_signed_in(&reply, target, &account.email);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the same account",
    );
    let access = body["access_token"].as_str().unwrap_or_default();
    api.me(access).await.expect_json(200);
    verify(&api, &json!({ "token": token }))
        .await
        .noted("the link again")
        .expect_problem(400, "invalid_token");
    verify(&api, &json!({ "email": account.email, "code": code }))
        .await
        .noted("the code after the link")
        .expect_problem(400, "invalid_token");

    expect_accepted(&request(&api, &account.email).await);
    let (token, code) = nth_message(&outbox, &account.email, 2).await;
    let by_code = json!({ "email": account.email.to_uppercase(), "code": code });
    let reply = verify(&api, &by_code).await.noted("the code");
    expect_signed_in(&reply, target, &account.email);
    verify(&api, &by_code)
        .await
        .noted("the code again")
        .expect_problem(400, "invalid_token");
    verify(&api, &json!({ "token": token }))
        .await
        .noted("the link after the code")
        .expect_problem(400, "invalid_token");
    // The address was verified by the first sign-in: the second one ends
    // nothing, the first session still works.
    api.me(access)
        .await
        .noted("the first email session, after the second")
        .expect_json(200);
}

/// A code allows 4 wrong tries and the right one after them; after the
/// 5th wrong try the code and the link are void, the right code too.
pub async fn email_sign_in_code_allows_five_wrong_tries(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let wrong = |code: &str| {
        let digit = (code.as_bytes()[0] - b'0' + 1) % 10;
        format!("{digit}{}", &code[1..])
    };

    expect_accepted(&request(&api, &account.email).await);
    let (_, code) = nth_message(&outbox, &account.email, 1).await;
    for attempt in 1..=4 {
        verify(
            &api,
            &json!({ "email": account.email, "code": wrong(&code) }),
        )
        .await
        .noted(format!("wrong code #{attempt}"))
        .expect_problem(400, "invalid_token");
    }
    let reply = verify(&api, &json!({ "email": account.email, "code": code }))
        .await
        .noted("the right code after 4 wrong ones");
    expect_signed_in(&reply, target, &account.email);

    expect_accepted(&request(&api, &account.email).await);
    let (token, code) = nth_message(&outbox, &account.email, 2).await;
    for (attempt, guess) in [
        wrong(&code),
        "12345".into(),
        "abcdef".into(),
        wrong(&wrong(&code)),
        wrong(&code),
    ]
    .into_iter()
    .enumerate()
    {
        verify(&api, &json!({ "email": account.email, "code": guess }))
            .await
            .noted(format!("wrong code #{}", attempt + 1))
            .expect_problem(400, "invalid_token");
    }
    verify(&api, &json!({ "email": account.email, "code": code }))
        .await
        .noted("the right code after 5 wrong ones")
        .expect_problem(400, "invalid_token");
    verify(&api, &json!({ "token": token }))
        .await
        .noted("the link of a voided code")
        .expect_problem(400, "invalid_token");
}

/// A newer request voids the older message's link and code.
pub async fn newer_email_sign_in_voids_older(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    expect_accepted(&request(&api, &account.email).await);
    let (old_token, old_code) = nth_message(&outbox, &account.email, 1).await;
    expect_accepted(&request(&api, &account.email).await);
    let (token, code) = nth_message(&outbox, &account.email, 2).await;
    assert_ne!(old_token, token, "every request mints a new link");
    verify(&api, &json!({ "token": old_token }))
        .await
        .noted("the older link")
        .expect_problem(400, "invalid_token");
    // The two codes are equal by chance once in 10^6 requests: then the
    // older one is the newer one, and proves nothing.
    if old_code != code {
        verify(&api, &json!({ "email": account.email, "code": old_code }))
            .await
            .noted("the older code")
            .expect_problem(400, "invalid_token");
    }
    let reply = verify(&api, &json!({ "token": token }))
        .await
        .noted("the newer link");
    expect_signed_in(&reply, target, &account.email);
}

/// An unknown address is answered exactly as a known one; with sign-up on
/// (the default) its message signs in to a new, verified account.
/// Malformed bodies are refused like on every route.
pub async fn email_sign_in_unknown_address(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let unknown = fresh_email();
    let known = request(&api, &account.email).await.noted("a known address");
    let nobody = request(&api, &unknown).await.noted("an unknown address");
    expect_identical(&known, &nobody);
    let (token, _) = nth_message(&outbox, &unknown, 1).await;
    let reply = verify(&api, &json!({ "token": token }))
        .await
        .noted("a new account");
    let body = expect_signed_in(&reply, target, &unknown);
    reply.check(body["user"]["id"] != account.user_id.as_str(), "a new user");
    api.sign_up_as(&unknown, &fresh_password(), None)
        .await
        .noted("sign-up with the address email sign-in took")
        .expect_problem(409, "email_taken");

    request(&api, "not an address")
        .await
        .expect_problem(422, "invalid_email");
    for body in [
        json!({}),
        json!({ "email": unknown }),
        json!({ "token": "x" }),
    ] {
        verify(&api, &body)
            .await
            .noted(format!("body {body}"))
            .expect_problem(400, "invalid_token");
    }
    verify(&api, &json!({ "token": 7 }))
        .await
        .expect_problem(400, "malformed_body");
}

/// Someone signs up with another person's address (never verified) and
/// keeps a session; when the owner signs in by email, that session ends
/// and the password the other person chose stops working.
pub async fn email_sign_in_takes_back_an_unverified_account(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let squatter = api.sign_up().await;
    expect_accepted(&request(&api, &squatter.email).await);
    let (token, _) = nth_message(&outbox, &squatter.email, 1).await;
    let reply = verify(&api, &json!({ "token": token }))
        .await
        .noted("the owner");
    let body = expect_signed_in(&reply, target, &squatter.email);
    reply.check(
        body["user"]["id"] == squatter.user_id.as_str(),
        "the same account",
    );
    api.me(&squatter.access_token)
        .await
        .noted("the other person's session")
        .expect_token_rejected(&["session_revoked"]);
    api.refresh(&squatter.refresh_token)
        .await
        .noted("the other person's refresh token")
        .expect_status(401);
    api.sign_in(&squatter.email, &squatter.password)
        .await
        .noted("the other person's password")
        .expect_problem(401, "invalid_credentials");
    let access = body["access_token"].as_str().unwrap_or_default();
    api.me(access).await.expect_json(200);
}

/// Codes tried for one address are limited over every message: past 20 in
/// a day the answer is 429 with `Retry-After`, even for the right code.
pub async fn email_codes_are_limited_per_address(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let account = api.sign_up().await;
    let mut tried = 0;
    for n in 1..=4 {
        expect_accepted(&request(&api, &account.email).await);
        let (_, code) = nth_message(&outbox, &account.email, n).await;
        let wrong = format!("{}{}", (code.as_bytes()[0] - b'0' + 1) % 10, &code[1..]);
        for _ in 0..5 {
            tried += 1;
            verify(&api, &json!({ "email": account.email, "code": wrong }))
                .await
                .noted(format!("wrong code #{tried}"))
                .expect_problem(400, "invalid_token");
        }
    }
    expect_accepted(&request(&api, &account.email).await);
    let (token, code) = nth_message(&outbox, &account.email, 5).await;
    let refused = verify(&api, &json!({ "email": account.email, "code": code }))
        .await
        .noted("the right code, past the address's limit");
    refused.expect_problem(429, "too_many_attempts");
    refused.check(refused.header("retry-after").is_some(), "Retry-After");
    // The link is not a guess: it still works.
    let reply = verify(&api, &json!({ "token": token })).await;
    expect_signed_in(&reply, target, &account.email);
}

/// `EMAIL_SIGN_UP=false`: an unknown address is answered as a known one
/// and sent nothing. With `REQUIRE_EMAIL_VERIFICATION=true` too, an
/// unverified account signs in by email (which proves the address), and
/// the password it was made with stops working.
pub async fn email_sign_up_can_be_off(binary: &Path, backend: Backend) {
    let env = [
        ("EMAIL_SIGN_UP", "false"),
        ("REQUIRE_EMAIL_VERIFICATION", "true"),
    ];
    let server = Server::start(binary, backend, &env).await;
    let target = server.target();
    let api = target.api();
    let outbox = server.outbox();
    let (email, password) = (fresh_email(), fresh_password());
    api.sign_up_as(&email, &password, None)
        .await
        .expect_json(201);
    api.sign_in(&email, &password)
        .await
        .expect_problem(403, "email_not_verified");
    let unknown = fresh_email();
    let known = request(&api, &email).await.noted("a known address");
    let nobody = request(&api, &unknown).await.noted("an unknown address");
    expect_identical(&known, &nobody);
    let (token, _) = nth_message(&outbox, &email, 1).await;
    let reply = verify(&api, &json!({ "token": token })).await;
    expect_signed_in(&reply, &target, &email);
    // Whoever chose that password may not own the address: it is void.
    api.sign_in(&email, &password)
        .await
        .expect_problem(401, "invalid_credentials");
    assert_eq!(
        outbox.count_for_after_quiet(&unknown).await,
        0,
        "nothing is sent to an unknown address with EMAIL_SIGN_UP=false: {:#?}",
        outbox.messages()
    );
}

/// Panics unless the two 202s are the same: status, headers that matter,
/// body bytes.
fn expect_identical(known: &Reply, nobody: &Reply) {
    expect_accepted(known);
    expect_accepted(nobody);
    let parts = |reply: &Reply| {
        (
            reply.code(),
            reply.header("content-type"),
            reply.header("cache-control"),
            reply.body.clone(),
        )
    };
    assert_eq!(
        parts(known),
        parts(nobody),
        "an unknown address is answered exactly as a known one\n{}\n{}",
        known.describe(),
        nobody.describe()
    );
}
