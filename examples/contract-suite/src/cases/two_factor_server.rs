//! Two-factor cases that start their own servers: the OAuth first factor
//! and a user without a password, bad input, the sign-in throttle and the
//! per-client limit on `two-factor/verify`, and logs.

use std::{path::Path, time::Duration};

use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::{
    Backend, Reply, Server,
    client::{Api, fresh_password},
    oidc::Identity,
};

use super::{
    account::expect_no_content,
    account_tokens::{reset_password, reset_token},
    oauth::OAuthServer,
    two_factor::{
        BACKUP_CODES, DISABLE, ENABLE, SETUP, VERIFY, challenge, enable, enrolled,
        expect_backup_codes, expect_challenge, expect_setup, expect_signed_in, expect_two_factor,
        post, verified_account, verify,
    },
};

/// Panics unless `reply` is a problem+json 4xx (never a 5xx, never a success).
fn expect_client_error(reply: &Reply) {
    reply.check(
        reply.status.is_client_error(),
        "bad input must be a 4xx, never a success or a 5xx",
    );
    let content_type = reply.header("content-type").unwrap_or_default();
    reply.check(
        crate::client::media_type(&content_type) == "application/problem+json",
        "expected Content-Type application/problem+json",
    );
}

/// A user without a password (made by the OAuth test provider, which
/// vouches for the address) sets two-factor up, gets new backup codes and
/// disables it with `{}` (their session's sign-in is fresh); while it is
/// on, the OAuth exchange ends in a challenge, which a code finishes. A
/// user the provider made with an address it does not vouch for gets 403
/// `email_not_verified` from setup and enable.
pub async fn two_factor_oauth_sign_in_asks_for_a_code(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(
        binary,
        backend,
        "two_factor_oauth_sign_in_asks_for_a_code",
        &[],
    )
    .await
    else {
        return;
    };
    let (api, client) = (s.api(), &s.client);
    let target = api.target().clone();
    let identity = Identity::fresh();
    let email = identity.email.clone();
    let first = client.sign_in("mock", &identity, &email).await;
    let access = first["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let me = api.me(&access).await;
    let shown = me.expect_json(200);
    super::oauth::expect_has_password(&me, &shown["user"], false);
    expect_two_factor(&me, &shown["user"], false);

    let reply = post(api, SETUP, Some(&access), &json!({})).await;
    let mut setup = expect_setup(&reply, &email);
    let (_, code) = setup.totp.next_code().await;
    let reply = post(api, ENABLE, Some(&access), &json!({ "code": code })).await;
    expect_no_content(&reply);
    let reply = post(api, BACKUP_CODES, Some(&access), &json!({})).await;
    let body = reply.expect_json(200);
    let backup_codes = expect_backup_codes(&reply, &body["backup_codes"]);

    let landing = client.round_trip("mock", None, &identity).await;
    let reply = client
        .exchange(&landing.expect_code())
        .await
        .noted("the OAuth exchange of a user with two-factor");
    let challenge_token = expect_challenge(&reply);
    let reply = verify(api, &challenge_token, "backup_code", &backup_codes[0]).await;
    expect_signed_in(&reply, &target, &email);

    let reply = post(api, DISABLE, Some(&access), &json!({})).await;
    expect_no_content(&reply);
    let again = client.sign_in("mock", &identity, &email).await;
    assert_eq!(
        again["user"]["two_factor_enabled"], false,
        "after disable, the exchange signs in at once"
    );

    let unvouched = Identity::fresh().unverified();
    let made = client.sign_in("mock", &unvouched, &unvouched.email).await;
    assert_eq!(
        made["user"]["email_verified"], false,
        "as the provider says"
    );
    let access = made["access_token"].as_str().unwrap_or_default();
    post(api, SETUP, Some(access), &json!({}))
        .await
        .noted("setup, the provider not vouching for the address")
        .expect_problem(403, "email_not_verified");
    post(api, ENABLE, Some(access), &json!({ "code": "123456" }))
        .await
        .noted("enable, the provider not vouching for the address")
        .expect_problem(403, "email_not_verified");
}

/// Bad input to the two-factor routes is a 4xx problem, never a 5xx: broken
/// JSON, wrong types, missing fields, a wrong content type (415), a body
/// over the limit (413), and codes that are not 6 or 16 ASCII digits. A
/// password user's `{}` (no password) sets nothing up. None of it breaks a
/// challenge: a backup code still signs in after each batch.
pub async fn two_factor_bad_input_is_4xx(binary: &Path, backend: Backend) {
    // The bad codes below are many more than the throttle's default allows.
    let server = Server::start(binary, backend, &[("SIGN_IN_MAX_FAILURES", "1000")]).await;
    let target = server.target();
    let api = target.api();
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    let token = Some(account.access_token.as_str());
    let json = Some("application/json");
    let huge = "x".repeat(70_000);

    let fresh = api.sign_up().await;
    let reply = post(&api, SETUP, Some(&fresh.access_token), &json!({}))
        .await
        .noted("setup without a password, for a user who has one");
    // The contract leaves the answer open: a field is missing (400), or
    // the password given (none) is wrong (403).
    match reply.code() {
        400 => reply.expect_problem(400, "malformed_body"),
        _ => reply.expect_problem(403, "wrong_password"),
    };

    for (path, field) in [
        (SETUP, "password"),
        (ENABLE, "code"),
        (DISABLE, "password"),
        (BACKUP_CODES, "password"),
    ] {
        for (what, body) in [
            ("truncated JSON", format!(r#"{{"{field}": "#)),
            ("an array", "[]".to_owned()),
            ("a number", format!(r#"{{"{field}": 12345678}}"#)),
            ("an object", format!(r#"{{"{field}": {{}}}}"#)),
        ] {
            api.raw(Method::POST, path, token, json, body)
                .await
                .noted(format!("POST {path} with {what}"))
                .expect_problem(400, "malformed_body");
        }
        let body = json!({ field: account.password }).to_string();
        api.raw(Method::POST, path, token, Some("text/plain"), body)
            .await
            .noted(format!("POST {path} as text/plain"))
            .expect_problem(415, "unsupported_media_type");
        post(&api, path, token, &json!({ field: huge }))
            .await
            .noted(format!("POST {path} with a 70 000-byte body"))
            .expect_problem(413, "payload_too_large");
    }

    let challenge_token = challenge(&api, &account).await;
    for (what, body) in [
        ("truncated JSON", r#"{"challenge_token": "#.to_owned()),
        ("an array", "[]".to_owned()),
        ("no challenge token", r#"{"code": "123456"}"#.to_owned()),
        (
            "a number for the token",
            r#"{"challenge_token": 5, "code": "123456"}"#.to_owned(),
        ),
        (
            "a number for the code",
            format!(r#"{{"challenge_token": "{challenge_token}", "code": 123456}}"#),
        ),
        (
            "an object for the backup code",
            format!(r#"{{"challenge_token": "{challenge_token}", "backup_code": {{}}}}"#),
        ),
    ] {
        api.raw(Method::POST, VERIFY, None, json, body)
            .await
            .noted(format!("verify with {what}"))
            .expect_problem(400, "malformed_body");
    }
    for (what, body) in [
        ("no code", json!({ "challenge_token": challenge_token })),
        (
            "both kinds of code",
            json!({ "challenge_token": challenge_token, "code": "123456",
                    "backup_code": "1234-5678-9012-3456" }),
        ),
        (
            "a null code",
            json!({ "challenge_token": challenge_token, "code": null }),
        ),
    ] {
        expect_client_error(&post(&api, VERIFY, None, &body).await.noted(what));
    }
    let long_token = json!({ "challenge_token": "x".repeat(10_000), "code": "123456" });
    let reply = post(&api, VERIFY, None, &long_token)
        .await
        .noted("a 10 000-character challenge token");
    match reply.code() {
        400 => reply.expect_problem(400, "malformed_body"),
        _ => reply.expect_problem(401, "invalid_token"),
    };
    let body = json!({ "challenge_token": challenge_token, "code": "123456" }).to_string();
    api.raw(Method::POST, VERIFY, None, Some("text/plain"), body)
        .await
        .expect_problem(415, "unsupported_media_type");
    post(
        &api,
        VERIFY,
        None,
        &json!({ "challenge_token": challenge_token, "code": huge }),
    )
    .await
    .expect_problem(413, "payload_too_large");

    let long = "1".repeat(10_000);
    let bad: Vec<(&str, &str)> = vec![
        ("code", ""),
        ("code", " "),
        ("code", "12345"),
        ("code", "1234567"),
        ("code", "abcdef"),
        ("code", "12345a"),
        ("code", "１２３４５６"),
        ("code", "٣٤٥٦٧٨"),
        ("code", "123\u{0}456"),
        ("code", "+123456"),
        ("code", "0x1E240"),
        ("code", "123456789012345678901234567890"),
        ("code", &long),
        ("backup_code", ""),
        ("backup_code", "1234-5678-9012-345"),
        ("backup_code", "1234-5678-9012-34567"),
        ("backup_code", "abcd-efgh-ijkl-mnop"),
        ("backup_code", "１２３４-５６７８-９０１２-３４５６"),
        ("backup_code", "123456"),
        ("backup_code", &long),
    ];
    // Four bad codes a challenge, then a right one: a challenge takes five tries.
    let mut challenge_token = challenge_token;
    for batch in bad.chunks(4) {
        for (field, code) in batch {
            let reply = verify(&api, &challenge_token, field, code).await;
            expect_client_error(&reply);
            reply.expect_problem_in(reply.code(), &["invalid_code", "malformed_body"]);
        }
        let reply = verify(
            &api,
            &challenge_token,
            "backup_code",
            &enrolled.backup_code(),
        )
        .await
        .noted("a right backup code after bad ones");
        expect_signed_in(&reply, &target, &account.email);
        challenge_token = challenge(&api, &account).await;
    }
}

/// With `SIGN_IN_MAX_FAILURES=3`, a sign-in that asks for a code and each
/// code tried count toward the address's throttle until a code is right:
/// after the sign-in and two wrong codes, the right code and the right
/// password are 429 `too_many_attempts` with `Retry-After`; another user
/// is not. Once the window (`SIGN_IN_WINDOW_SECS=10`) has passed, the
/// challenge, which those refusals did not count, takes the right code.
pub async fn two_factor_verify_counts_toward_sign_in_throttle(binary: &Path, backend: Backend) {
    const WINDOW: Duration = Duration::from_secs(10);
    let env = [("SIGN_IN_MAX_FAILURES", "3"), ("SIGN_IN_WINDOW_SECS", "10")];
    let server = Server::start(binary, backend, &env).await;
    let target = server.target();
    let api = target.api();
    let bystander = enrolled(&api).await.account;
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();

    // A right code clears the count: sign-in, a wrong code, the right one.
    let first = challenge(&api, &account).await;
    verify(&api, &first, "code", &enrolled.totp.wrong_code())
        .await
        .expect_problem(401, "invalid_code");
    let reply = verify(&api, &first, "backup_code", &enrolled.backup_code()).await;
    expect_signed_in(&reply, &target, &account.email);

    let second = challenge(&api, &account).await;
    for attempt in 1..=2 {
        verify(&api, &second, "code", &enrolled.totp.wrong_code())
            .await
            .noted(format!("wrong code #{attempt}"))
            .expect_problem(401, "invalid_code");
    }
    let backup = enrolled.backup_code();
    let reply = verify(&api, &second, "backup_code", &backup)
        .await
        .noted("the right code, past the throttle");
    expect_limited(&reply);
    let reply = api
        .sign_in(&account.email, &account.password)
        .await
        .noted("the right password, past the throttle");
    expect_limited(&reply);
    let reply = api
        .sign_in(&bystander.email, &bystander.password)
        .await
        .noted("another user");
    expect_challenge(&reply);

    tokio::time::sleep(WINDOW + Duration::from_secs(1)).await;
    let reply = verify(&api, &second, "backup_code", &backup)
        .await
        .noted("the right code, after the window");
    expect_signed_in(&reply, &target, &account.email);
}

/// With `SIGN_IN_MAX_FAILURES=3` (and the default 15-minute window), a
/// password reset clears the address's sign-in throttle for a user without
/// two-factor, but not for one with it (the mailbox alone must not buy new
/// code guesses): after three wrong passwords and a 429, the new password
/// signs the first in and is still 429 `too_many_attempts` for the second.
pub async fn two_factor_reset_keeps_the_sign_in_throttle(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("SIGN_IN_MAX_FAILURES", "3")]).await;
    let target = server.target();
    let api = target.api();
    let outbox = server.outbox();
    let without = verified_account(&api).await;
    let with = enrolled(&api).await.account;
    let mut new_passwords = Vec::new();
    for account in [&without, &with] {
        for attempt in 1..=3 {
            api.sign_in(&account.email, "a-wrong-password-1")
                .await
                .noted(format!("wrong password #{attempt}"))
                .expect_unauthorized_without_token("invalid_credentials");
        }
        let reply = api
            .sign_in(&account.email, &account.password)
            .await
            .noted("the right password, past the throttle");
        expect_limited(&reply);
        let token = reset_token(&api, &outbox, &account.email, 1).await;
        let new_password = fresh_password();
        expect_no_content(&reset_password(&api, &token, &new_password).await);
        new_passwords.push(new_password);
    }
    let reply = api
        .sign_in(&without.email, &new_passwords[0])
        .await
        .noted("after the reset, a user without two-factor");
    let body = reply.expect_auth_response(200, &target, &without.email);
    expect_two_factor(&reply, &body["user"], false);
    let reply = api
        .sign_in(&with.email, &new_passwords[1])
        .await
        .noted("after the reset, a user with two-factor");
    expect_limited(&reply);
}

/// Panics unless `reply` is 429 `too_many_attempts` with a `Retry-After`
/// of whole seconds, at least 1.
fn expect_limited(reply: &Reply) {
    reply.expect_problem(429, "too_many_attempts");
    let retry_after = reply.header("retry-after").unwrap_or_default();
    reply.check(
        retry_after
            .trim()
            .parse::<u64>()
            .is_ok_and(|secs| secs >= 1),
        "Retry-After must be a whole number of seconds, at least 1",
    );
}

/// `POST path` with `body` from the client that `X-Forwarded-For` names.
async fn post_from(api: &Api, path: &str, client: &str, body: &Value) -> Reply {
    let request = api
        .request(Method::POST, path)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", client)
        .body(body.to_string());
    api.send(request)
        .await
        .noted(format!("from X-Forwarded-For: {client}"))
}

/// Behind a trusted proxy with `CLIENT_LIMIT_REQUESTS=5`, a client's
/// sign-in and its tries on `two-factor/verify` share one budget: after
/// the sign-in and four wrong codes, the sixth request is 429
/// `too_many_attempts`, the right code included, and is not counted on
/// the challenge (as a fifth wrong code it would void it), which another
/// client then finishes.
pub async fn two_factor_verify_is_limited_per_client(binary: &Path, backend: Backend) {
    let env = [
        ("CLIENT_LIMIT_REQUESTS", "5"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let server = Server::start(binary, backend, &env).await;
    let target = server.target();
    let api = target.api();
    // The proxy's own budget: sign-up, send-verification-email,
    // verify-email, setup and enable.
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    let (guesser, other) = ("198.51.100.1", "198.51.100.2");
    let sign_in = json!({ "email": account.email, "password": account.password });
    let reply = post_from(&api, "/api/auth/sign-in", guesser, &sign_in).await;
    let challenge_token = expect_challenge(&reply);
    for attempt in 1..=4 {
        let body =
            json!({ "challenge_token": challenge_token, "code": enrolled.totp.wrong_code() });
        post_from(&api, VERIFY, guesser, &body)
            .await
            .noted(format!("wrong code #{attempt}"))
            .expect_problem(401, "invalid_code");
    }
    let backup = enrolled.backup_code();
    let body = json!({ "challenge_token": challenge_token, "backup_code": backup });
    expect_limited(
        &post_from(&api, VERIFY, guesser, &body)
            .await
            .noted("the client's sixth request"),
    );
    let reply = post_from(&api, VERIFY, other, &body)
        .await
        .noted("another client, with the same right code");
    expect_signed_in(&reply, &target, &account.email);
}

/// Setup, enable, a sign-in with each kind of code, new backup codes and
/// disable leave no secret, backup code or challenge token in the
/// server's output, which does log the requests.
pub async fn two_factor_logs_hold_no_secrets(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[]).await;
    let target = server.target();
    let api = target.api();
    let account = verified_account(&api).await;
    let token = Some(account.access_token.as_str());
    let mut setup = super::two_factor::setup(&api, &account).await;
    let (_, code) = setup.totp.next_code().await;
    expect_no_content(&enable(&api, &account, &code).await);
    let mut secrets = vec![setup.secret.clone(), setup.secret.to_ascii_lowercase()];
    let first = challenge(&api, &account).await;
    let (_, code) = setup.totp.next_code().await;
    expect_signed_in(
        &verify(&api, &first, "code", &code).await,
        &target,
        &account.email,
    );
    let second = challenge(&api, &account).await;
    let reply = verify(&api, &second, "backup_code", &setup.backup_codes[0]).await;
    expect_signed_in(&reply, &target, &account.email);
    let reply = post(
        &api,
        BACKUP_CODES,
        token,
        &json!({ "password": account.password }),
    )
    .await;
    let body = reply.expect_json(200);
    let new_codes = expect_backup_codes(&reply, &body["backup_codes"]);
    expect_no_content(
        &post(
            &api,
            DISABLE,
            token,
            &json!({ "password": account.password }),
        )
        .await,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    secrets.extend([first, second]);
    for code in setup.backup_codes.iter().chain(&new_codes) {
        secrets.push(code.clone());
        secrets.push(code.replace('-', ""));
    }
    let logs = server.logs();
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "the server's output contains a two-factor secret ({secret})\n---- output ----\n{logs}"
        );
    }
    assert!(
        logs.contains(VERIFY),
        "the server must log requests, or this case proves nothing\n---- output ----\n{logs}"
    );
}
