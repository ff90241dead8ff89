//! Two-factor authentication, managed: `two-factor/setup`, `enable`,
//! `disable` and `backup-codes`, the token they need, and the OpenAPI
//! document's account of the five routes.

use reqwest::Method;
use serde_json::json;

use crate::{Target, client::fresh_password};

use super::{
    account::{
        REVOKED, expect_no_content, expect_no_store, expect_session_alive, expect_session_gone,
    },
    two_factor::{
        BACKUP_CODES, DISABLE, ENABLE, SETUP, VERIFY, challenge, enable, enroll, enrolled,
        expect_backup_codes, expect_me_two_factor, expect_signed_in, expect_two_factor, post,
        setup, verified_account, verify, verify_address,
    },
};

/// A new account shows `two_factor_enabled: false`. Setup with a wrong
/// password is 403 `wrong_password`; with the right one it returns the
/// secret, an `otpauth://` URL, a QR code and backup codes, and is not
/// active yet (sign-in asks for nothing). A second setup replaces the
/// first: a code of the first secret does not enable, one of the second
/// does, and `/me` says so.
pub async fn two_factor_setup_returns_secret_and_codes(target: &Target) {
    let api = target.api();
    let email = crate::client::fresh_email();
    let reply = api.sign_up_as(&email, &fresh_password(), None).await;
    let body = reply.expect_json(201);
    expect_two_factor(&reply, &body["user"], false);
    let account = verified_account(&api).await;
    expect_me_two_factor(&api, &account.access_token, false).await;

    post(
        &api,
        SETUP,
        Some(&account.access_token),
        &json!({ "password": "a-wrong-password-1" }),
    )
    .await
    .noted("setup with a wrong password")
    .expect_problem(403, "wrong_password");

    let first = setup(&api, &account).await;
    expect_me_two_factor(&api, &account.access_token, false).await;
    let reply = api
        .sign_in(&account.email, &account.password)
        .await
        .noted("sign-in after setup, before enable");
    let body = reply.expect_auth_response(200, target, &account.email);
    expect_two_factor(&reply, &body["user"], false);

    let mut second = setup(&api, &account).await;
    assert_ne!(first.secret, second.secret, "each setup draws a new secret");
    assert!(
        first
            .backup_codes
            .iter()
            .all(|code| !second.backup_codes.contains(code)),
        "each setup draws new backup codes"
    );
    enable(&api, &account, &first.totp.offset(0))
        .await
        .noted("enable with a code of the replaced setup")
        .expect_problem(400, "invalid_code");
    let (_, code) = second.totp.next_code().await;
    expect_no_content(&enable(&api, &account, &code).await);
    expect_me_two_factor(&api, &account.access_token, true).await;
    challenge(&api, &account).await;
}

/// Two-factor needs a verified address. On an account whose address is
/// not verified, setup checks the password first (a wrong one is 403
/// `wrong_password`), then the address: with the right password it is 403
/// `email_not_verified`, and so is enable; nothing is set up (`/me` shows
/// `two_factor_enabled: false`, new backup codes are 409, sign-in asks
/// for no code). Once the address is verified, as a client does it, setup
/// and enable work.
pub async fn two_factor_needs_a_verified_address(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());
    let password = json!({ "password": account.password });
    post(
        &api,
        SETUP,
        token,
        &json!({ "password": "a-wrong-password-1" }),
    )
    .await
    .noted("setup with a wrong password, the address not verified")
    .expect_problem(403, "wrong_password");
    post(&api, SETUP, token, &password)
        .await
        .noted("setup with the right password, the address not verified")
        .expect_problem(403, "email_not_verified");
    enable(&api, &account, "123456")
        .await
        .noted("enable, the address not verified")
        .expect_problem(403, "email_not_verified");
    expect_me_two_factor(&api, &account.access_token, false).await;
    post(&api, BACKUP_CODES, token, &password)
        .await
        .noted("new backup codes after the refused setup")
        .expect_problem(409, "two_factor_not_enabled");
    let reply = api
        .sign_in(&account.email, &account.password)
        .await
        .noted("sign-in after the refused setup");
    let body = reply.expect_auth_response(200, target, &account.email);
    expect_two_factor(&reply, &body["user"], false);

    verify_address(&api, &account).await;
    let mut setup = setup(&api, &account).await;
    let (_, code) = setup.totp.next_code().await;
    expect_no_content(&enable(&api, &account, &code).await);
    expect_me_two_factor(&api, &account.access_token, true).await;
    challenge(&api, &account).await;
}

/// Enable without a pending setup, with a wrong code, a code too far from
/// now, or a malformed one is 400 `invalid_code` and enables nothing; a
/// right code written with a space or a dash enables.
pub async fn two_factor_enable_checks_code(target: &Target) {
    let api = target.api();
    let account = verified_account(&api).await;
    enable(&api, &account, "123456")
        .await
        .noted("enable without setup")
        .expect_problem(400, "invalid_code");
    let mut setup = setup(&api, &account).await;
    let totp = &setup.totp;
    let mut refused = vec![
        totp.wrong_code(),
        totp.offset(3),
        totp.offset(-3),
        String::new(),
        "12345".into(),
        "1234567".into(),
        "abcdef".into(),
        "12345a".into(),
        "１２３４５６".into(),
        "1".repeat(10_000),
    ];
    refused.push(setup.backup_codes[0].clone());
    for code in refused {
        enable(&api, &account, &code)
            .await
            .expect_problem(400, "invalid_code");
    }
    expect_me_two_factor(&api, &account.access_token, false).await;
    // The right code twice at once, with a space and with a dash: the
    // setup is turned on once.
    let (_, code) = setup.totp.next_code().await;
    let mut requests = tokio::task::JoinSet::new();
    for spelled in [
        format!("{} {}", &code[..3], &code[3..]),
        format!("{}-{}", &code[..3], &code[3..]),
    ] {
        let (api, account) = (api.clone(), account.clone());
        requests.spawn(async move { enable(&api, &account, &spelled).await });
    }
    let mut statuses = Vec::new();
    while let Some(reply) = requests.join_next().await {
        let reply = reply.expect("a concurrent enable");
        if reply.code() == 204 {
            expect_no_content(&reply);
        } else {
            reply.expect_problem(400, "invalid_code");
        }
        statuses.push(reply.code());
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [204, 400],
        "one setup, enabled by one of two requests at once"
    );
    expect_me_two_factor(&api, &account.access_token, true).await;
}

/// Enabling ends the user's other sessions (access and refresh tokens),
/// keeps the calling one, and mails a `two_factor_enabled` notice.
pub async fn two_factor_enable_ends_other_sessions(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let caller = verified_account(&api).await;
    let other = api.new_session(&caller).await;
    let enrolled = enroll(&api, caller).await;
    let caller = &enrolled.account;
    expect_session_alive(&api, caller, "the session that enabled two-factor").await;
    expect_session_gone(&api, &other, "another session", REVOKED).await;
    api.refresh(&caller.refresh_token)
        .await
        .noted("the calling session's refresh token")
        .expect_json(200);
    let mail = outbox.wait_for(&caller.email, "two_factor_enabled").await;
    assert!(mail.token.is_none(), "a notice carries no token\n{mail:#?}");
}

/// Disable with a wrong password is 403 `wrong_password` and changes
/// nothing; with the right one it is 204, mails `two_factor_disabled`,
/// voids the pending challenge, and sign-in asks for no code. The old secret and backup codes are gone:
/// enable needs a new setup, and new backup codes are 409.
pub async fn two_factor_disable_checks_password(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let enrolled = enrolled(&api).await;
    let account = &enrolled.account;
    let token = Some(account.access_token.as_str());
    post(
        &api,
        DISABLE,
        token,
        &json!({ "password": "a-wrong-password-1" }),
    )
    .await
    .noted("disable with a wrong password")
    .expect_problem(403, "wrong_password");
    expect_me_two_factor(&api, &account.access_token, true).await;

    let pending = challenge(&api, account).await;
    let reply = post(
        &api,
        DISABLE,
        token,
        &json!({ "password": account.password }),
    )
    .await;
    expect_no_content(&reply);
    outbox.wait_for(&account.email, "two_factor_disabled").await;
    expect_me_two_factor(&api, &account.access_token, false).await;
    verify(&api, &pending, "backup_code", &enrolled.backup_codes[0])
        .await
        .noted("a challenge pending when two-factor was turned off")
        .expect_problem(401, "invalid_token");
    let reply = api.sign_in(&account.email, &account.password).await;
    let body = reply.expect_auth_response(200, target, &account.email);
    expect_two_factor(&reply, &body["user"], false);
    enable(&api, account, &enrolled.totp.offset(1))
        .await
        .noted("enable after disable, without a new setup")
        .expect_problem(400, "invalid_code");
    post(
        &api,
        BACKUP_CODES,
        token,
        &json!({ "password": account.password }),
    )
    .await
    .noted("new backup codes after disable")
    .expect_problem(409, "two_factor_not_enabled");
    let again = setup(&api, account).await;
    let old_key = enrolled.totp.key();
    assert_ne!(again.totp.key(), old_key, "a new setup draws a new secret");
}

/// New backup codes: 409 `two_factor_not_enabled` before two-factor is on
/// (also after setup alone), 403 `wrong_password` with a wrong password,
/// else 200 with 10 new codes; the old ones are void, each new one works
/// once.
pub async fn two_factor_new_backup_codes_void_old(target: &Target) {
    let api = target.api();
    let account = verified_account(&api).await;
    let token = Some(account.access_token.as_str());
    let body = json!({ "password": account.password });
    post(&api, BACKUP_CODES, token, &body)
        .await
        .noted("two-factor never set up")
        .expect_problem(409, "two_factor_not_enabled");
    let mut setup = setup(&api, &account).await;
    post(&api, BACKUP_CODES, token, &body)
        .await
        .noted("set up, not enabled")
        .expect_problem(409, "two_factor_not_enabled");
    let (_, code) = setup.totp.next_code().await;
    expect_no_content(&enable(&api, &account, &code).await);

    post(
        &api,
        BACKUP_CODES,
        token,
        &json!({ "password": "a-wrong-password-1" }),
    )
    .await
    .noted("a wrong password")
    .expect_problem(403, "wrong_password");
    let reply = post(&api, BACKUP_CODES, token, &body).await;
    let answer = reply.expect_json(200);
    expect_no_store(&reply);
    let new = expect_backup_codes(&reply, &answer["backup_codes"]);
    reply.check(
        new.iter().all(|code| !setup.backup_codes.contains(code)),
        "new backup codes are new",
    );

    let challenge_token = challenge(&api, &account).await;
    verify(
        &api,
        &challenge_token,
        "backup_code",
        &setup.backup_codes[0],
    )
    .await
    .noted("an old backup code")
    .expect_problem(401, "invalid_code");
    let reply = verify(&api, &challenge_token, "backup_code", &new[0]).await;
    expect_signed_in(&reply, target, &account.email);
    let challenge_token = challenge(&api, &account).await;
    verify(&api, &challenge_token, "backup_code", &new[0])
        .await
        .noted("a new backup code, used again")
        .expect_problem(401, "invalid_code");
    let reply = verify(
        &api,
        &challenge_token,
        "backup_code",
        &new[1].replace('-', ""),
    )
    .await;
    expect_signed_in(&reply, target, &account.email);
}

/// A new phone: setup while two-factor is on changes nothing until its
/// code enables it (the old secret still signs in); then the old secret's
/// codes and the old backup codes are void, the new ones work.
pub async fn two_factor_new_phone_replaces_the_secret(target: &Target) {
    let api = target.api();
    let mut old = enrolled(&api).await;
    let account = old.account.clone();
    let mut new = setup(&api, &account).await;
    let before = challenge(&api, &account).await;
    let (_, code) = old.totp.next_code().await;
    let reply = verify(&api, &before, "code", &code)
        .await
        .noted("the old phone, while the new one is being set up");
    expect_signed_in(&reply, target, &account.email);

    let (_, code) = new.totp.next_code().await;
    expect_no_content(&enable(&api, &account, &code).await);
    let after = challenge(&api, &account).await;
    let (_, old_code) = old.totp.next_code().await;
    if old_code != new.totp.offset(0) {
        verify(&api, &after, "code", &old_code)
            .await
            .noted("the old phone, after the new one is on")
            .expect_problem(401, "invalid_code");
    }
    verify(&api, &after, "backup_code", &old.backup_code())
        .await
        .noted("an old backup code, after the new setup is on")
        .expect_problem(401, "invalid_code");
    let reply = verify(&api, &after, "backup_code", &new.backup_codes[0]).await;
    expect_signed_in(&reply, target, &account.email);
}

/// The four management routes need a token: none is 401 `missing_token`
/// (bare `Bearer` challenge), garbage 401 `invalid_token`, a signed-out
/// session's 401 `session_revoked`; that wins over a broken body.
pub async fn two_factor_routes_need_token(target: &Target) {
    let api = target.api();
    let signed_out = api.sign_up().await;
    api.sign_out(&signed_out.access_token)
        .await
        .expect_status(204);
    let json = Some("application/json");
    for path in [SETUP, ENABLE, DISABLE, BACKUP_CODES] {
        for body in [r#"{"password": "whatever-123", "code": "123456"}"#, "{"] {
            let what = format!("POST {path} with {body:?}");
            api.raw(Method::POST, path, None, json, body)
                .await
                .noted(format!("no token: {what}"))
                .expect_unauthorized_without_token("missing_token");
            api.raw(Method::POST, path, Some("garbage"), json, body)
                .await
                .noted(format!("a garbage token: {what}"))
                .expect_token_rejected(&["invalid_token"]);
            api.raw(
                Method::POST,
                path,
                Some(&signed_out.access_token),
                json,
                body,
            )
            .await
            .noted(format!("a signed-out session's token: {what}"))
            .expect_token_rejected(REVOKED);
        }
    }
}

/// `GET /api/openapi.json` describes the five two-factor routes with their
/// success and error statuses, a 200 of every first factor that may be
/// `SecondFactorRequired`, and a user with `two_factor_enabled`.
pub async fn openapi_lists_two_factor_routes(target: &Target) {
    let api = target.api();
    let reply = api.get("/api/openapi.json", None).await;
    let doc = reply.expect_json(200);
    let routes: [(&str, &[&str]); 5] = [
        (SETUP, &["200", "400", "401", "403"]),
        (ENABLE, &["204", "400", "401", "403"]),
        (DISABLE, &["204", "400", "401", "403"]),
        (BACKUP_CODES, &["200", "400", "401", "403", "409"]),
        (VERIFY, &["200", "400", "401", "429"]),
    ];
    for (path, statuses) in routes {
        let operation = &doc["paths"][path]["post"];
        reply.check(
            operation.is_object(),
            &format!(
                "the document must describe POST {path}; its paths are {:?}",
                doc["paths"]
                    .as_object()
                    .map(|paths| paths.keys().collect::<Vec<_>>())
            ),
        );
        for status in statuses {
            reply.check(
                operation["responses"][*status].is_object(),
                &format!(
                    "POST {path} must document a {status} response; it has {:?}",
                    operation["responses"]
                        .as_object()
                        .map(|r| r.keys().collect::<Vec<_>>())
                ),
            );
        }
    }
    // Every first factor's 200 may be a challenge: its schema says so.
    let schemas = &doc["components"]["schemas"];
    let schema_of = |path: &str| {
        let schema = &doc["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        let name = schema["$ref"]
            .as_str()
            .and_then(|reference| reference.rsplit('/').next())
            .unwrap_or_default();
        (name.to_owned(), schemas[name].to_string())
    };
    for path in [
        "/api/auth/sign-in",
        "/api/auth/email-sign-in/verify",
        "/api/auth/oauth/exchange",
    ] {
        let (name, schema) = schema_of(path);
        reply.check(
            schema.contains("SecondFactorRequired"),
            &format!("POST {path}'s 200 ({name}) must include SecondFactorRequired: {schema}"),
        );
    }
    let (name, _) = schema_of(VERIFY);
    reply.check(
        name == "AuthResponse",
        &format!("POST {VERIFY}'s 200 is an AuthResponse, not {name:?}"),
    );
    let required = &schemas["SecondFactorRequired"]["properties"];
    for field in [
        "two_factor_required",
        "challenge_token",
        "methods",
        "expires_in",
    ] {
        reply.check(
            required[field].is_object(),
            &format!("SecondFactorRequired describes `{field}`: {required}"),
        );
    }
    reply.check(
        schemas["User"]["properties"]["two_factor_enabled"]["type"] == "boolean",
        "the User schema has a boolean `two_factor_enabled`",
    );
}
