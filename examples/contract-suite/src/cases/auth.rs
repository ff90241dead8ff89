//! Sign-up, sign-in, refresh, sign-out and `/me`.

use reqwest::Method;

use crate::{
    Account, Target,
    client::{expect_user, fresh_email, fresh_password},
    server::random_string,
};

/// Sign-up is 201 with a complete `AuthResponse` (see
/// [`Reply::expect_auth_response`](crate::Reply::expect_auth_response)) that
/// never echoes the password, and its access token works on `/me`.
pub async fn sign_up_returns_auth_response(target: &Target) {
    let api = target.api();
    let email = fresh_email();
    let password = fresh_password();
    let reply = api
        .sign_up_as(&email, &password, Some("Ada Lovelace"))
        .await;
    let body = reply.expect_auth_response(201, target, &email);
    reply.check(
        body["user"]["name"] == "Ada Lovelace",
        "expected `user.name` \"Ada Lovelace\"",
    );
    reply.check(
        !reply.text().contains(&password),
        "the response must not contain the password",
    );

    let account = Account::from_auth_response(&reply, &email, &password);
    let me = api.me(&account.access_token).await;
    let me_body = me.expect_json(200);
    for field in ["id", "email", "name"] {
        me.check(
            me_body["user"][field] == body["user"][field],
            &format!("/me must show the signed-up user's `{field}`"),
        );
    }
}

/// The email is trimmed and lower-cased: the response shows the normalised
/// form, any spelling signs in, and any spelling is taken afterwards.
pub async fn sign_up_normalises_email(target: &Target) {
    let api = target.api();
    let local = format!("Mixed.Case{}", random_string(8));
    let messy = format!("  {local}@Example.COM  ");
    let normalised = messy.trim().to_lowercase();
    let password = fresh_password();
    let reply = api.sign_up_as(&messy, &password, None).await;
    let body = reply.expect_auth_response(201, target, &normalised);

    for spelling in [
        normalised.to_uppercase(),
        format!(" {normalised} "),
        messy.clone(),
    ] {
        let signed_in = api.sign_in(&spelling, &password).await;
        let other = signed_in
            .clone()
            .noted(format!("sign in as {spelling:?}"))
            .expect_auth_response(200, target, &normalised);
        signed_in.check(
            other["user"]["id"] == body["user"]["id"],
            "the same account",
        );
    }
    for spelling in [normalised.clone(), normalised.to_uppercase()] {
        api.sign_up_as(&spelling, &fresh_password(), None)
            .await
            .noted(format!("sign up again as {spelling:?}"))
            .expect_problem(409, "email_taken");
    }
}

/// `name` is optional (then null), and a given name comes back as sent.
pub async fn sign_up_name_is_optional(target: &Target) {
    let api = target.api();
    let email = fresh_email();
    let reply = api.sign_up_as(&email, &fresh_password(), None).await;
    let body = reply.expect_auth_response(201, target, &email);
    reply.check(
        body["user"]["name"].is_null(),
        "without a name, `user.name` must be null or absent",
    );

    let email = fresh_email();
    let name = "Zoë Ωmega 🚀";
    let reply = api.sign_up_as(&email, &fresh_password(), Some(name)).await;
    let body = reply.expect_auth_response(201, target, &email);
    reply.check(
        body["user"]["name"] == name,
        &format!("`user.name` must be {name:?}"),
    );
}

/// Signing up with a registered email is 409 `email_taken`, and leaves the
/// account as it was (its password unchanged).
pub async fn sign_up_taken_email_is_409(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let other_password = fresh_password();
    api.sign_up_as(&account.email, &other_password, Some("Impostor"))
        .await
        .expect_problem(409, "email_taken");
    api.sign_in(&account.email, &account.password)
        .await
        .expect_auth_response(200, target, &account.email);
    api.sign_in(&account.email, &other_password)
        .await
        .expect_unauthorized_without_token("invalid_credentials");
}

/// Twenty simultaneous sign-ups with one email: exactly one 201, nineteen
/// 409 `email_taken`, and the winner's password is the account's.
pub async fn concurrent_sign_ups_one_wins(target: &Target) {
    let api = target.api();
    let email = fresh_email();
    let mut handles = Vec::new();
    for i in 0..20 {
        let api = api.clone();
        let email = email.clone();
        handles.push(tokio::spawn(async move {
            let password = format!("{}-{i}", fresh_password());
            let reply = api.sign_up_as(&email, &password, None).await;
            (password, reply)
        }));
    }
    let mut winners = Vec::new();
    for handle in handles {
        let (password, reply) = handle.await.expect("a sign-up task");
        if reply.code() == 201 {
            reply.expect_auth_response(201, target, &email);
            winners.push(password);
        } else {
            reply.expect_problem(409, "email_taken");
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of 20 concurrent sign-ups must win"
    );
    api.sign_in(&email, &winners[0])
        .await
        .expect_auth_response(200, target, &email);
}

/// Sign-up refuses malformed email addresses with 422 `invalid_email`.
pub async fn sign_up_rejects_invalid_email(target: &Target) {
    let api = target.api();
    for email in [
        "not-an-email",
        "@example.com",
        "user@",
        "user@@example.com",
        "user name@example.com",
        "",
        "   ",
    ] {
        api.sign_up_as(email, &fresh_password(), None)
            .await
            .noted(format!("sign up as {email:?}"))
            .expect_problem(422, "invalid_email");
    }
}

/// A common password (case-insensitively), or the user's own email address
/// or its local part, is 422 `password_too_common`, and creates no account.
pub async fn common_passwords_are_refused(target: &Target) {
    let api = target.api();
    let email = fresh_email();
    let local_part = email.split('@').next().unwrap_or_default().to_owned();
    for password in [
        "password1".to_owned(),
        "PassWord1".to_owned(),
        "iloveyou".to_owned(),
        "QWERTYUIOP".to_owned(),
        email.clone(),
        email.to_uppercase(),
        local_part,
    ] {
        api.sign_up_as(&email, &password, None)
            .await
            .noted(format!("the password {password:?}"))
            .expect_problem(422, "password_too_common");
    }
    // Nothing was created: the address is still free.
    api.sign_up_as(&email, "violet kettle drum", None)
        .await
        .expect_json(201);
}

/// Passwords are 8 to 128 Unicode scalar values: 7 is 422
/// `password_too_short`, 129 is 422 `password_too_long`, the bounds are
/// fine, and emoji count as one each (not as bytes or UTF-16 units). A
/// refused sign-up creates no account.
pub async fn password_length_rules(target: &Target) {
    let api = target.api();
    let refused = [
        ("a".repeat(7), "password_too_short"),
        ("🔑".repeat(7), "password_too_short"),
        ("a".repeat(129), "password_too_long"),
        ("🔑".repeat(129), "password_too_long"),
    ];
    let email = fresh_email();
    for (password, code) in refused {
        api.sign_up_as(&email, &password, None)
            .await
            .noted(format!(
                "a password of {} characters",
                password.chars().count()
            ))
            .expect_problem(422, code);
    }
    for password in [
        "a".repeat(8),
        "a".repeat(128),
        "🔑".repeat(8),
        "🔑".repeat(128),
    ] {
        // The first one also shows the refused attempts created no account.
        let email = if password == "a".repeat(8) {
            email.clone()
        } else {
            fresh_email()
        };
        let reply = api.sign_up_as(&email, &password, None).await.noted(format!(
            "a password of {} characters",
            password.chars().count()
        ));
        reply.expect_auth_response(201, target, &email);
        api.sign_in(&email, &password)
            .await
            .expect_auth_response(200, target, &email);
    }
}

/// A name has at most 100 Unicode scalar values and no control characters;
/// otherwise 422 `invalid_name`.
pub async fn name_rules(target: &Target) {
    let api = target.api();
    for name in [
        "a".repeat(101),
        "é".repeat(101),
        "Ada\u{7}Lovelace".to_owned(),
        "Ada\nLovelace".to_owned(),
        "Ada\u{0}".to_owned(),
    ] {
        api.sign_up_as(&fresh_email(), &fresh_password(), Some(&name))
            .await
            .noted(format!("sign up with name {name:?}"))
            .expect_problem(422, "invalid_name");
    }
    for name in ["a".repeat(100), "é".repeat(100)] {
        let email = fresh_email();
        let reply = api.sign_up_as(&email, &fresh_password(), Some(&name)).await;
        let body = reply
            .clone()
            .noted(format!(
                "sign up with a name of {} characters",
                name.chars().count()
            ))
            .expect_auth_response(201, target, &email);
        reply.check(
            body["user"]["name"] == name.as_str(),
            "the name must come back as sent",
        );
    }
}

/// Sign-in is 200 with an `AuthResponse` for a new session (another `sid`
/// and refresh token); both sessions work.
pub async fn sign_in_returns_new_session(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let reply = api.sign_in(&account.email, &account.password).await;
    let body = reply.expect_auth_response(200, target, &account.email);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the same user",
    );
    let second = account.with_session(&reply);
    reply.check(
        second.session_id != account.session_id,
        "sign-in must start a new session (`sid`)",
    );
    reply.check(
        second.refresh_token != account.refresh_token,
        "a new refresh token",
    );
    api.me(&account.access_token).await.expect_json(200);
    api.me(&second.access_token).await.expect_json(200);
}

/// A wrong password and an unknown email give the same 401
/// `invalid_credentials` body, with `WWW-Authenticate: Bearer`.
pub async fn sign_in_failures_are_identical(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let wrong_password = api.sign_in(&account.email, "wrong-password-123").await;
    let wrong_body = wrong_password.expect_unauthorized_without_token("invalid_credentials");
    let unknown = api.sign_in(&fresh_email(), "wrong-password-123").await;
    let unknown_body = unknown.expect_unauthorized_without_token("invalid_credentials");
    assert_eq!(
        wrong_body,
        unknown_body,
        "a wrong password and an unknown email must give the same body\n{}\n---\n{}",
        wrong_password.describe(),
        unknown.describe()
    );
    assert_eq!(
        wrong_password.header("content-type"),
        unknown.header("content-type"),
        "and the same content type"
    );
    wrong_password.check(
        !wrong_password.text().contains(&account.email),
        "the error must not echo the email",
    );
}

/// Sign-in does not apply sign-up's rules: a password of illegal length or
/// a malformed email is the same 401 `invalid_credentials`, not a 422.
pub async fn sign_in_ignores_sign_up_rules(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let reference = api
        .sign_in(&fresh_email(), "wrong-password-123")
        .await
        .expect_unauthorized_without_token("invalid_credentials");
    for (email, password) in [
        (account.email.clone(), "short12".to_owned()),
        (account.email.clone(), "a".repeat(129)),
        ("not-an-email".to_owned(), account.password.clone()),
        (String::new(), String::new()),
    ] {
        let reply = api.sign_in(&email, &password).await.noted(format!(
            "sign in as {email:?} with a password of {} characters",
            password.chars().count()
        ));
        let body = reply.expect_unauthorized_without_token("invalid_credentials");
        reply.check(
            body == reference,
            &format!("expected the same body as {reference}"),
        );
    }
}

/// Refresh is 200 with an `AuthResponse`, a new refresh token and the same
/// session (`sid`); the new tokens work, and the new refresh token can be
/// used in turn.
pub async fn refresh_rotates_and_keeps_session(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let mut current = account.clone();
    for round in 1..=2 {
        let reply = api
            .refresh(&current.refresh_token)
            .await
            .noted(format!("refresh #{round}"));
        let body = reply.expect_auth_response(200, target, &account.email);
        let next = current.with_session(&reply);
        reply.check(
            body["user"]["id"] == account.user_id.as_str(),
            "the same user",
        );
        reply.check(
            next.refresh_token != current.refresh_token,
            "refresh must rotate the refresh token",
        );
        reply.check(
            next.session_id == account.session_id,
            "refresh must keep the session (`sid`)",
        );
        api.me(&next.access_token).await.expect_json(200);
        current = next;
    }
}

/// Empty, unknown or misplaced tokens are 401 at refresh
/// (`invalid_refresh_token`) and at `/me` (`invalid_token`), and do not
/// disturb the real session.
pub async fn refresh_rejects_unknown_tokens(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    for (what, token) in [
        ("an empty refresh token", String::new()),
        ("an unknown refresh token", random_string(43)),
        (
            "an unknown refresh token of another shape",
            random_string(64),
        ),
        (
            "the access token as refresh token",
            account.access_token.clone(),
        ),
    ] {
        api.refresh(&token)
            .await
            .noted(what)
            .expect_problem(401, "invalid_refresh_token");
    }
    api.me(&account.refresh_token)
        .await
        .noted("the refresh token as access token")
        .expect_token_rejected(&["invalid_token"]);
    api.refresh(&account.refresh_token)
        .await
        .expect_auth_response(200, target, &account.email);
}

/// Sign-out (with body `{}`) is 204 and revokes that session: its access
/// token is 401 `session_revoked`, its refresh token 401; the user's other
/// session keeps working.
pub async fn sign_out_revokes_only_its_session(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let other = api.new_session(&account).await;

    let reply = api.sign_out(&account.access_token).await;
    reply.expect_status(204);
    reply.check(reply.body.is_empty(), "a 204 has no body");

    api.me(&account.access_token)
        .await
        .noted("the signed-out access token")
        .expect_token_rejected(&["session_revoked"]);
    api.get(&account.tasks_path(), Some(&account.access_token))
        .await
        .noted("the signed-out access token")
        .expect_token_rejected(&["session_revoked"]);
    api.refresh(&account.refresh_token)
        .await
        .noted("the signed-out refresh token")
        .expect_problem_in(
            401,
            &[
                "session_revoked",
                "invalid_refresh_token",
                "refresh_token_reused",
            ],
        );
    api.sign_out(&account.access_token)
        .await
        .noted("signing out twice")
        .expect_token_rejected(&["session_revoked"]);

    api.me(&other.access_token)
        .await
        .noted("the other session")
        .expect_json(200);
    api.refresh(&other.refresh_token)
        .await
        .noted("the other session")
        .expect_auth_response(200, target, &account.email);
}

/// Sign-out with no body (and no `Content-Type`) is 204 as well.
pub async fn sign_out_without_body(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let reply = api
        .call(
            Method::POST,
            "/api/auth/sign-out",
            Some(&account.access_token),
        )
        .await;
    reply.expect_status(204);
    api.me(&account.access_token)
        .await
        .noted("after sign-out without a body")
        .expect_token_rejected(&["session_revoked"]);
}

/// Sign-out's body is `{}` or nothing: any other body follows the body
/// rules (415 for a non-JSON type, 400 for broken JSON), and a refused
/// sign-out leaves the session alive.
pub async fn sign_out_body_rules(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = Some(account.access_token.as_str());
    api.raw(
        Method::POST,
        "/api/auth/sign-out",
        token,
        Some("application/x-www-form-urlencoded"),
        "a=1",
    )
    .await
    .noted("sign-out with a form body")
    .expect_problem(415, "unsupported_media_type");
    api.raw(
        Method::POST,
        "/api/auth/sign-out",
        token,
        Some("application/json"),
        "{",
    )
    .await
    .noted("sign-out with broken JSON")
    .expect_problem(400, "malformed_body");
    api.me(&account.access_token)
        .await
        .noted("after refused sign-outs")
        .expect_status(200);
}

/// `/me` is 200 `{"user": {...}}` with the signed-in user.
pub async fn me_returns_user(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let reply = api.me(&account.access_token).await;
    let body = reply.expect_json(200);
    expect_user(&body["user"], &reply, &account.email);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the signed-in user's id",
    );
    reply.check(
        body["user"]["name"] == "Contract Tester",
        "the signed-in user's name",
    );
    reply.check(
        !reply.text().contains(&account.password),
        "never the password",
    );
}
