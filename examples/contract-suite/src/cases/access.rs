//! Access tokens: how they are sent, and every way one can be bad.

use reqwest::{Method, header::AUTHORIZATION};
use serde_json::{Value, json};

use crate::{
    Account, Api, Target,
    tokens::{self, Alg, b64, claims, mint, sign, sign_raw},
};

/// The routes a token is checked on: `/me` and the user's task list.
fn protected(account: &Account) -> [String; 2] {
    ["/api/auth/me".to_owned(), account.tasks_path()]
}

async fn get_with(api: &Api, path: &str, authorization: &str) -> crate::Reply {
    api.send(
        api.request(Method::GET, path)
            .header(AUTHORIZATION, authorization),
    )
    .await
}

/// Without a Bearer token in the `Authorization` header — no header, another
/// scheme, the token in the query string or in a form body — a protected
/// route is 401 `missing_token` with `WWW-Authenticate: Bearer` exactly.
pub async fn missing_token_variants(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = &account.access_token;
    let mut routes: Vec<(Method, String)> = protected(&account)
        .into_iter()
        .map(|path| (Method::GET, path))
        .collect();
    routes.push((Method::POST, "/api/auth/sign-out".to_owned()));

    for (method, path) in &routes {
        api.call(method.clone(), path, None)
            .await
            .noted("no Authorization header")
            .expect_unauthorized_without_token("missing_token");
        api.send(
            api.request(method.clone(), path)
                .header(AUTHORIZATION, "Basic dXNlcjpwYXNzd29yZA=="),
        )
        .await
        .noted("a Basic Authorization header")
        .expect_unauthorized_without_token("missing_token");
        let separator = if path.contains('?') { '&' } else { '?' };
        api.call(
            method.clone(),
            &format!("{path}{separator}access_token={token}"),
            None,
        )
        .await
        .noted("the token in the query string")
        .expect_unauthorized_without_token("missing_token");
    }
    api.raw(
        Method::POST,
        "/api/auth/sign-out",
        None,
        Some("application/x-www-form-urlencoded"),
        format!("access_token={token}"),
    )
    .await
    .noted("the token in a form body")
    .expect_unauthorized_without_token("missing_token");

    // The token itself is good, and none of the above signed it out.
    for path in protected(&account) {
        api.get(&path, Some(token)).await.expect_json(200);
    }
}

/// The `Authorization` scheme is matched case-insensitively.
pub async fn bearer_scheme_is_case_insensitive(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        for path in protected(&account) {
            get_with(&api, &path, &format!("{scheme} {}", account.access_token))
                .await
                .noted(format!("scheme {scheme:?}"))
                .expect_json(200);
        }
    }
}

/// A token the suite signs with the server's secret, issuer and audience
/// (for a real session) is accepted: the control for the cases that send
/// bad tokens, and a check that the server uses `JWT_SECRET`, `JWT_ISSUER`
/// and `JWT_AUDIENCE` as configured.
pub async fn suite_minted_token_is_accepted(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = mint(
        target,
        &claims(target, &account.user_id, &account.session_id),
    );
    let reply = api.me(&token).await;
    let body = reply.expect_json(200);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the token's user",
    );
    api.list_tasks(&account, "").await;
    api.get(&account.tasks_path(), Some(&token))
        .await
        .expect_json(200);
}

/// Malformed, tampered, wrongly signed, wrongly addressed and incomplete
/// tokens are 401 `invalid_token` with `error="invalid_token"`.
pub async fn invalid_tokens_are_rejected(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let secret = target.secret().as_bytes();
    let good = claims(target, &account.user_id, &account.session_id);
    let with = |name: &str, value: Value| {
        let mut claims = good.clone();
        claims.insert(name.to_owned(), value);
        claims
    };
    let now = tokens::now();

    // The control: the same claims, correctly signed, are accepted.
    api.me(&mint(target, &good))
        .await
        .noted("a correctly minted token (control)")
        .expect_json(200);

    let real = &account.access_token;
    let mut parts = real.split('.');
    let (real_header, _, real_signature) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut tampered_claims = tokens::payload(real);
    tampered_claims["exp"] = json!(now + 86_400);
    let tampered = format!(
        "{real_header}.{}.{real_signature}",
        b64(tampered_claims.to_string())
    );
    let mut bad: Vec<(String, String)> = vec![
        ("not a JWT".into(), "not-a-jwt".into()),
        ("three garbage parts".into(), "abc.def.ghi".into()),
        (
            "no signature part".into(),
            format!(
                "{}.{}",
                b64(Alg::Hs256.header()),
                b64(Value::Object(good.clone()).to_string())
            ),
        ),
        (
            "an empty signature".into(),
            sign_raw(
                Alg::None,
                secret,
                &Alg::Hs256.header(),
                &Value::Object(good.clone()).to_string(),
            ),
        ),
        ("a payload changed after signing".into(), tampered),
        (
            "signed with another secret".into(),
            sign(
                Alg::Hs256,
                b"not the server's secret, but just as long!!!!!!!",
                &good,
            ),
        ),
        ("alg none".into(), sign(Alg::None, secret, &good)),
        (
            "alg none with a valid HS256 signature".into(),
            sign_raw(
                Alg::Hs256,
                secret,
                &Alg::None.header(),
                &Value::Object(good.clone()).to_string(),
            ),
        ),
        (
            "HS512 with the right secret".into(),
            sign(Alg::Hs512, secret, &good),
        ),
        (
            "a wrong issuer".into(),
            mint(target, &with("iss", json!("someone-else"))),
        ),
        (
            "a wrong audience".into(),
            mint(target, &with("aud", json!("someone-else"))),
        ),
        (
            "an audience list without ours".into(),
            mint(target, &with("aud", json!(["someone-else"]))),
        ),
        (
            "a string exp".into(),
            mint(target, &with("exp", json!("tomorrow"))),
        ),
        (
            "nbf an hour ahead".into(),
            mint(target, &with("nbf", json!(now + 3600))),
        ),
    ];
    for (what, header) in [
        ("typ JWT", json!({"alg": "HS256", "typ": "JWT"})),
        ("no typ", json!({"alg": "HS256"})),
        ("typ id+jwt", json!({"alg": "HS256", "typ": "id+jwt"})),
    ] {
        let payload = Value::Object(good.clone()).to_string();
        bad.push((
            format!("an access token with {what}"),
            sign_raw(Alg::Hs256, secret, &header.to_string(), &payload),
        ));
    }
    for claim in ["sub", "sid", "jti", "iat", "exp", "iss", "aud"] {
        let mut claims = good.clone();
        claims.remove(claim);
        bad.push((format!("no `{claim}` claim"), mint(target, &claims)));
    }

    for (what, token) in &bad {
        for path in protected(&account) {
            api.get(&path, Some(token))
                .await
                .noted(what.clone())
                .expect_token_rejected(&["invalid_token"]);
        }
    }
}

/// A correctly signed token whose `sid` names a live session of another
/// user, or of no user, is 401 `invalid_token`: a session vouches for its
/// own user only. On the task routes that 401 wins over the 403 another
/// user's path would get.
pub async fn session_vouches_only_for_its_user(target: &Target) {
    let api = target.api();
    let alice = api.sign_up().await;
    let bob = api.sign_up().await;
    // Alice's own token first, so that a session cache holds her session.
    api.list_tasks(&alice, "").await;
    for (what, sub, path) in [
        (
            "bob's sub on alice's session",
            &bob.user_id,
            bob.tasks_path(),
        ),
        (
            "bob's sub on alice's session, alice's path",
            &bob.user_id,
            alice.tasks_path(),
        ),
        (
            "an unknown sub on alice's session",
            &"no-such-user".to_owned(),
            alice.tasks_path(),
        ),
    ] {
        let forged = mint(target, &claims(target, sub, &alice.session_id));
        for path in [path.as_str(), "/api/auth/me"] {
            api.get(path, Some(&forged))
                .await
                .noted(what)
                .expect_token_rejected(&["invalid_token"]);
        }
    }
    // Bob's data is untouched and alice's session still works.
    api.list_tasks(&alice, "").await;
    api.list_tasks(&bob, "").await;
}

/// A correctly signed token whose `exp` is more than the 60 s leeway past is
/// 401 `token_expired`, with `error="invalid_token"`.
pub async fn expired_token_is_token_expired(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let now = tokens::now();
    let good = claims(target, &account.user_id, &account.session_id);
    api.me(&mint(target, &good))
        .await
        .noted("a correctly minted token (control)")
        .expect_json(200);
    for (iat, exp) in [(now - 1020, now - 120), (now - 90_000, now - 86_400)] {
        let mut expired = good.clone();
        expired.insert("iat".into(), json!(iat));
        expired.insert("exp".into(), json!(exp));
        let token = mint(target, &expired);
        for path in protected(&account) {
            api.get(&path, Some(&token))
                .await
                .noted(format!("a token that expired {} s ago", now - exp))
                .expect_token_rejected(&["token_expired"]);
        }
    }
}

/// A 100 KB bearer token is read (heads up to 128 KiB) and gets an ordinary
/// 401 `invalid_token`, not 431 or 400; the server is fine afterwards.
pub async fn huge_token_is_ordinary_401(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let huge = format!(
        "{}.{}.{}",
        b64(Alg::Hs256.header()),
        "A".repeat(100_000),
        "c2lnbmF0dXJl"
    );
    for path in protected(&account) {
        api.get(&path, Some(&huge))
            .await
            .noted("a 100 KB token")
            .expect_token_rejected(&["invalid_token"]);
    }
    api.get("/healthz", None).await.expect_json(200);
    api.me(&account.access_token).await.expect_json(200);
}

/// Duplicate keys in a token's JSON are rejected or the last one wins,
/// never the first: a good first value followed by a bad one is a 401.
pub async fn duplicate_jwt_keys_never_first_wins(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let secret = target.secret().as_bytes();
    let now = tokens::now();
    let text = |value: &str| Value::from(value).to_string();
    let common = format!(
        r#""sub":{},"sid":{},"jti":"duplicate-keys","iat":{now},"aud":{}"#,
        text(&account.user_id),
        text(&account.session_id),
        text(target.aud()),
    );
    let iss = text(target.iss());
    let exp = now + 900;
    let header = Alg::Hs256.header();
    let hs256 = |header: &str, payload: &str| sign_raw(Alg::Hs256, secret, header, payload);

    // The control: the raw payload, without duplicates, is accepted.
    let control = hs256(&header, &format!(r#"{{{common},"exp":{exp},"iss":{iss}}}"#));
    api.me(&control)
        .await
        .noted("a raw token without duplicate keys (control)")
        .expect_json(200);

    let first_good = [
        (
            "`iss` good, then bad",
            hs256(
                &header,
                &format!(r#"{{{common},"exp":{exp},"iss":{iss},"iss":"someone-else"}}"#),
            ),
            &["invalid_token"][..],
        ),
        (
            "`exp` good, then long past",
            hs256(
                &header,
                &format!(
                    r#"{{{common},"iss":{iss},"exp":{exp},"exp":{}}}"#,
                    now - 86_400
                ),
            ),
            &["invalid_token", "token_expired"][..],
        ),
        (
            "header `alg` HS256, then none",
            hs256(
                r#"{"alg":"HS256","typ":"at+jwt","alg":"none"}"#,
                &format!(r#"{{{common},"exp":{exp},"iss":{iss}}}"#),
            ),
            &["invalid_token"][..],
        ),
    ];
    for (what, token, codes) in first_good {
        api.me(&token)
            .await
            .noted(what)
            .expect_token_rejected(codes);
    }

    // Bad first, good last: either answer is allowed, an error is not.
    let last_good = hs256(
        &header,
        &format!(r#"{{{common},"exp":{exp},"iss":"someone-else","iss":{iss}}}"#),
    );
    let reply = api.me(&last_good).await.noted("`iss` bad, then good");
    if reply.code() == 200 {
        reply.expect_json(200);
    } else {
        reply.expect_token_rejected(&["invalid_token"]);
    }
}
