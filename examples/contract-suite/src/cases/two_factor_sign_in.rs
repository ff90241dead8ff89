//! Signing in with a second factor: every first factor of a user with
//! two-factor on ends in a challenge, which `two-factor/verify` finishes
//! with a TOTP or a backup code. Codes are single use, also under
//! concurrent requests; a challenge takes 5 wrong codes, is single use and
//! bound to its user.

use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::{
    Reply, Target,
    client::{Api, fresh_password},
};

use super::{
    account::{
        REVOKED, expect_accepted, expect_no_content, expect_session_alive, expect_session_gone,
    },
    account_tokens::{reset_password, reset_token},
    cookie::{cookie_request, expect_cookie_tokens},
    email_sign_in,
    two_factor::{
        challenge, enrolled, expect_challenge, expect_me_two_factor, expect_signed_in, verify,
    },
};

/// Sends `bodies` to `two-factor/verify` all at once; the replies.
async fn verify_at_once(api: &Api, bodies: Vec<Value>) -> Vec<Reply> {
    let mut requests = JoinSet::new();
    for body in bodies {
        let api = api.clone();
        requests.spawn(async move {
            let what = format!("one of several at once: {body}");
            api.json(Method::POST, super::two_factor::VERIFY, None, &body)
                .await
                .noted(what)
        });
    }
    let mut replies = Vec::new();
    while let Some(reply) = requests.join_next().await {
        replies.push(reply.expect("a concurrent verify"));
    }
    replies
}

/// Panics unless exactly one of `replies` is a 200 `AuthResponse` for
/// `email` and every other one a 401 whose code is in `codes`.
fn expect_one_winner(replies: &[Reply], target: &Target, email: &str, codes: &[&str]) {
    let winners: Vec<&Reply> = replies.iter().filter(|reply| reply.code() == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {} requests with one code signs in; got {}:\n{}",
        replies.len(),
        winners.len(),
        replies
            .iter()
            .map(Reply::describe)
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    expect_signed_in(winners[0], target, email);
    for reply in replies.iter().filter(|reply| reply.code() != 200) {
        reply.expect_problem_in(401, codes);
    }
}

/// A password sign-in of a user with two-factor is a challenge with no
/// tokens; `verify` with a TOTP or a backup code opens a session whose
/// user shows `two_factor_enabled: true`. A used, unknown or foreign
/// token is 401 `invalid_token`; a wrong password stays 401
/// `invalid_credentials`; sign-up with the address is 409.
pub async fn two_factor_password_sign_in_asks_for_a_code(target: &Target) {
    let api = target.api();
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();

    let challenge_token = challenge(&api, &account).await;
    let (_, code) = enrolled.totp.next_code().await;
    let reply = verify(&api, &challenge_token, "code", &code).await;
    let body = expect_signed_in(&reply, target, &account.email);
    let session = account.with_session(&reply);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the same user",
    );
    expect_me_two_factor(&api, &session.access_token, true).await;
    api.refresh(&session.refresh_token)
        .await
        .noted("the new session's refresh token")
        .expect_json(200);

    let unused = enrolled.backup_code();
    verify(&api, &challenge_token, "backup_code", &unused)
        .await
        .noted("a used challenge")
        .expect_problem(401, "invalid_token");
    for token in [
        "an-unknown-challenge-token-of-the-right-length-000",
        "",
        &account.refresh_token,
        &account.access_token,
    ] {
        verify(&api, token, "backup_code", &unused)
            .await
            .noted(format!("challenge_token {token:?}"))
            .expect_problem(401, "invalid_token");
    }

    api.sign_in(&account.email, "a-wrong-password-1")
        .await
        .noted("a wrong password, with two-factor on")
        .expect_unauthorized_without_token("invalid_credentials");
    api.sign_up_as(&account.email.to_uppercase(), &fresh_password(), None)
        .await
        .noted("sign-up with the address of a user with two-factor")
        .expect_problem(409, "email_taken");

    // The backup code that the dead challenges were shown still works.
    let challenge_token = challenge(&api, &account).await;
    let reply = verify(&api, &challenge_token, "backup_code", &unused).await;
    expect_signed_in(&reply, target, &account.email);
}

/// Codes are read without spaces and dashes: a TOTP as `123 456` or
/// `123-456`, a backup code with its dashes, without, or with spaces.
pub async fn two_factor_codes_are_normalised(target: &Target) {
    let api = target.api();
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    for spell in [
        |code: &str| format!("{} {}", &code[..3], &code[3..]),
        |code: &str| format!("{}-{}", &code[..3], &code[3..]),
    ] {
        let challenge_token = challenge(&api, &account).await;
        let (_, code) = enrolled.totp.next_code().await;
        let reply = verify(&api, &challenge_token, "code", &spell(&code)).await;
        expect_signed_in(&reply, target, &account.email);
    }
    for spell in [
        |code: &str| code.to_owned(),
        |code: &str| code.replace('-', ""),
        |code: &str| code.replace('-', " "),
    ] {
        let challenge_token = challenge(&api, &account).await;
        let code = spell(&enrolled.backup_code());
        let reply = verify(&api, &challenge_token, "backup_code", &code).await;
        expect_signed_in(&reply, target, &account.email);
    }
}

/// A TOTP step is accepted once, and only after the last accepted one
/// (the enabling code counts): the enabling code, a code of an earlier
/// step within the drift, a code used to sign in, and a code three steps
/// ahead are all 401 `invalid_code`; the next step's code signs in.
pub async fn two_factor_totp_codes_are_single_use(target: &Target) {
    let api = target.api();
    let account = super::two_factor::verified_account(&api).await;
    let mut setup = super::two_factor::setup(&api, &account).await;
    let totp = &mut setup.totp;
    // Enable with the step ahead, so that the current one is unused but
    // earlier; not near the step's end, so that it stays within the drift.
    let (mut now, into) = crate::totp::now();
    if into.as_secs() > 20 {
        tokio::time::sleep(std::time::Duration::from_secs(31) - into).await;
        now += 1;
    }
    let enabled_at = now + 1;
    expect_no_content(&super::two_factor::enable(&api, &account, &totp.at(enabled_at)).await);
    totp.mark_used(enabled_at);

    let first = challenge(&api, &account).await;
    verify(&api, &first, "code", &totp.at(now))
        .await
        .noted("an earlier step than the enabling code's, never used")
        .expect_problem(401, "invalid_code");
    verify(&api, &first, "code", &totp.at(enabled_at))
        .await
        .noted("the enabling code again")
        .expect_problem(401, "invalid_code");
    let (step, code) = totp.next_code().await;
    let reply = verify(&api, &first, "code", &code).await;
    expect_signed_in(&reply, target, &account.email);

    let second = challenge(&api, &account).await;
    verify(&api, &second, "code", &code)
        .await
        .noted("the code that signed in, again")
        .expect_problem(401, "invalid_code");
    verify(&api, &second, "code", &totp.at(step + 3))
        .await
        .noted("a code three steps ahead")
        .expect_problem(401, "invalid_code");
    let (_, code) = totp.next_code().await;
    let reply = verify(&api, &second, "code", &code).await;
    expect_signed_in(&reply, target, &account.email);
}

/// One TOTP code sent at once on four challenges signs in once (the
/// others are 401 `invalid_code`); sent five times at once on one
/// challenge, it signs in once too.
pub async fn two_factor_concurrent_totp_code_one_wins(target: &Target) {
    let api = target.api();
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    let mut challenges = Vec::new();
    for _ in 0..4 {
        challenges.push(challenge(&api, &account).await);
    }
    let (_, code) = enrolled.totp.next_code().await;
    let bodies = challenges
        .iter()
        .map(|token| json!({ "challenge_token": token, "code": code }))
        .collect();
    let replies = verify_at_once(&api, bodies).await;
    expect_one_winner(&replies, target, &account.email, &["invalid_code"]);

    let one = challenge(&api, &account).await;
    let (_, code) = enrolled.totp.next_code().await;
    let bodies = (0..5)
        .map(|_| json!({ "challenge_token": one, "code": code }))
        .collect();
    let replies = verify_at_once(&api, bodies).await;
    expect_one_winner(
        &replies,
        target,
        &account.email,
        &["invalid_code", "invalid_token"],
    );
}

/// One backup code sent at once on four challenges, in four spellings,
/// signs in once; the others are 401 `invalid_code`, and so is the code
/// on a later challenge.
pub async fn two_factor_concurrent_backup_code_one_wins(target: &Target) {
    let api = target.api();
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    let mut challenges = Vec::new();
    for _ in 0..4 {
        challenges.push(challenge(&api, &account).await);
    }
    let code = enrolled.backup_code();
    let spellings = [
        code.clone(),
        code.replace('-', ""),
        code.replace('-', " "),
        code.clone(),
    ];
    let bodies = challenges
        .iter()
        .zip(&spellings)
        .map(|(token, code)| json!({ "challenge_token": token, "backup_code": code }))
        .collect();
    let replies = verify_at_once(&api, bodies).await;
    expect_one_winner(&replies, target, &account.email, &["invalid_code"]);

    let later = challenge(&api, &account).await;
    verify(&api, &later, "backup_code", &code)
        .await
        .noted("the backup code after its use")
        .expect_problem(401, "invalid_code");
    let reply = verify(&api, &later, "backup_code", &enrolled.backup_code()).await;
    expect_signed_in(&reply, target, &account.email);
}

/// A challenge takes 4 wrong codes and then the right one; after the 5th
/// wrong one (TOTP and backup codes count alike) it is void: 401
/// `invalid_token`, even with a right TOTP or backup code, and the backup
/// code is not used up by it.
pub async fn two_factor_challenge_allows_five_wrong_codes(target: &Target) {
    let api = target.api();
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    let wrong_backup = "1111-2222-3333-4444";

    let first = challenge(&api, &account).await;
    for attempt in 1..=4 {
        verify(&api, &first, "code", &enrolled.totp.wrong_code())
            .await
            .noted(format!("wrong code #{attempt}"))
            .expect_problem(401, "invalid_code");
    }
    let (_, code) = enrolled.totp.next_code().await;
    let reply = verify(&api, &first, "code", &code)
        .await
        .noted("the right code after 4 wrong ones");
    expect_signed_in(&reply, target, &account.email);

    let second = challenge(&api, &account).await;
    for attempt in 1..=5 {
        let reply = if attempt % 2 == 0 {
            verify(&api, &second, "backup_code", wrong_backup).await
        } else {
            verify(&api, &second, "code", &enrolled.totp.wrong_code()).await
        };
        reply
            .noted(format!("wrong code #{attempt}"))
            .expect_problem(401, "invalid_code");
    }
    let backup = enrolled.backup_code();
    verify(&api, &second, "backup_code", &backup)
        .await
        .noted("a right backup code after 5 wrong codes")
        .expect_problem(401, "invalid_token");
    let (_, code) = enrolled.totp.next_code().await;
    verify(&api, &second, "code", &code)
        .await
        .noted("a right TOTP code after 5 wrong codes")
        .expect_problem(401, "invalid_token");

    let third = challenge(&api, &account).await;
    let reply = verify(&api, &third, "backup_code", &backup)
        .await
        .noted("the backup code a void challenge was shown");
    expect_signed_in(&reply, target, &account.email);
}

/// A challenge is bound to the user who passed the first factor: another
/// user's right TOTP or backup code on it is 401 `invalid_code` (and does
/// not use that code up); its own user's code then signs in as that user.
pub async fn two_factor_challenge_is_bound_to_its_user(target: &Target) {
    let api = target.api();
    let mut ada = enrolled(&api).await;
    let mut bob = enrolled(&api).await;
    let ada_challenge = challenge(&api, &ada.account).await;
    let (_, bobs_code) = bob.totp.next_code().await;
    if bobs_code != ada.totp.offset(0) {
        verify(&api, &ada_challenge, "code", &bobs_code)
            .await
            .noted("another user's TOTP code")
            .expect_problem(401, "invalid_code");
    }
    let bobs_backup = bob.backup_code();
    verify(&api, &ada_challenge, "backup_code", &bobs_backup)
        .await
        .noted("another user's backup code")
        .expect_problem(401, "invalid_code");
    let (_, code) = ada.totp.next_code().await;
    let reply = verify(&api, &ada_challenge, "code", &code).await;
    let body = expect_signed_in(&reply, target, &ada.account.email);
    reply.check(
        body["user"]["id"] == ada.account.user_id.as_str(),
        "the challenge's own user",
    );

    let bob_challenge = challenge(&api, &bob.account).await;
    let reply = verify(&api, &bob_challenge, "backup_code", &bobs_backup)
        .await
        .noted("bob's backup code, after it was tried on ada's challenge");
    let body = expect_signed_in(&reply, target, &bob.account.email);
    reply.check(body["user"]["id"] == bob.account.user_id.as_str(), "bob");
}

/// A password reset does not switch two-factor off: sign-in with the new
/// password still asks for a code. The reset voids the challenge pending
/// from before it; so does signing out everywhere.
pub async fn two_factor_survives_password_reset(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    let before = challenge(&api, &account).await;
    let token = reset_token(&api, &outbox, &account.email, 1).await;
    let new_password = fresh_password();
    expect_no_content(&reset_password(&api, &token, &new_password).await);
    verify(&api, &before, "backup_code", &enrolled.backup_code())
        .await
        .noted("a challenge from before the reset")
        .expect_problem(401, "invalid_token");

    let reply = api
        .sign_in(&account.email, &new_password)
        .await
        .noted("sign-in after the reset");
    let after = expect_challenge(&reply);
    let (_, code) = enrolled.totp.next_code().await;
    let reply = verify(&api, &after, "code", &code).await;
    expect_signed_in(&reply, target, &account.email);
    let session = crate::Account::from_auth_response(&reply, &account.email, &new_password);

    let pending = expect_challenge(&api.sign_in(&account.email, &new_password).await);
    expect_no_content(
        &api.call(
            Method::DELETE,
            "/api/auth/sessions",
            Some(&session.access_token),
        )
        .await,
    );
    expect_session_gone(
        &api,
        &session,
        "the session that signed out everywhere",
        REVOKED,
    )
    .await;
    verify(&api, &pending, "backup_code", &enrolled.backup_code())
        .await
        .noted("a challenge from before signing out everywhere")
        .expect_problem(401, "invalid_token");
}

/// The mailbox alone does not get past two-factor (which only a verified
/// address can have): email sign-in of a user with two-factor, by link
/// and by code, ends in a challenge with no session, and takes nothing
/// from the account (the session that enabled two-factor lives, `/me`
/// still shows it on, a password sign-in still asks for a code); a code
/// finishes the challenge.
pub async fn two_factor_email_sign_in_asks_for_a_code(target: &Target) {
    let api = target.api();
    let outbox = target.outbox();
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    let email = account.email.clone();

    expect_accepted(&email_sign_in::request(&api, &email).await);
    let (link, _) = email_sign_in::nth_message(&outbox, &email, 1).await;
    let reply = email_sign_in::verify(&api, &json!({ "token": link }))
        .await
        .noted("the email link of a user with two-factor");
    let by_link = expect_challenge(&reply);
    expect_accepted(&email_sign_in::request(&api, &email).await);
    let (_, code) = email_sign_in::nth_message(&outbox, &email, 2).await;
    let reply = email_sign_in::verify(&api, &json!({ "email": email, "code": code }))
        .await
        .noted("the email code of a user with two-factor");
    let by_code = expect_challenge(&reply);

    expect_session_alive(&api, &account, "the session that enabled two-factor").await;
    expect_me_two_factor(&api, &account.access_token, true).await;
    challenge(&api, &account).await;
    let (_, code) = enrolled.totp.next_code().await;
    let reply = verify(&api, &by_link, "code", &code).await;
    expect_signed_in(&reply, target, &email);
    let reply = verify(&api, &by_code, "backup_code", &enrolled.backup_code()).await;
    expect_signed_in(&reply, target, &email);
}

/// The demo page's cookie mode (`X-Refresh-Cookie: 1`): a sign-in that
/// asks for a code sets no cookie; `verify` in that mode answers as a
/// cookie sign-in does (the refresh token in the cookie only), and the
/// cookie refreshes.
pub async fn two_factor_in_cookie_mode(target: &Target) {
    let api = target.api();
    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    let body = json!({ "email": account.email, "password": account.password });
    let reply = cookie_request(
        &api,
        Method::POST,
        "/api/auth/sign-in",
        None,
        None,
        Some(body),
    )
    .await
    .noted("a cookie-mode sign-in of a user with two-factor");
    let challenge_token = expect_challenge(&reply);
    reply.check(
        reply.headers.get("set-cookie").is_none(),
        "no cookie before the second factor",
    );
    let body = json!({ "challenge_token": challenge_token, "backup_code": enrolled.backup_code() });
    let reply = cookie_request(
        &api,
        Method::POST,
        super::two_factor::VERIFY,
        None,
        None,
        Some(body),
    )
    .await
    .noted("verify in cookie mode");
    let (access, refresh) = expect_cookie_tokens(&reply, 200);
    expect_me_two_factor(&api, &access, true).await;
    let reply = cookie_request(
        &api,
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(&refresh),
        None,
    )
    .await
    .noted("refresh with the cookie that verify set");
    expect_cookie_tokens(&reply, 200);
}
