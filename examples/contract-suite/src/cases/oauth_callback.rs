//! OAuth callbacks and the exchange: the state cookie, what a provider
//! refuses or garbles, ID tokens that must not be believed, a provider that
//! is down or slow, and the single-use exchange code. See `oauth.rs` for
//! the setup.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use reqwest::{Method, Url};
use serde_json::json;

use crate::{
    Backend,
    oidc::{self, Identity, expect_no_tokens_in, state_cookies},
    server::free_port,
};

use super::oauth::{OAuthServer, accounts, tokens_of};

/// How long a callback or authorize may take when the provider fails (the
/// server cuts its work with the provider at about 4 s).
const PROVIDER_DEADLINE: Duration = Duration::from_secs(5);

/// `url` with its `state` parameter replaced by `state`.
fn with_state(url: &str, state: &str) -> String {
    let mut url = Url::parse(url).expect("a callback URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(key, value)| {
            let value = if key == "state" {
                state.to_owned()
            } else {
                value.into_owned()
            };
            (key.into_owned(), value)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

/// The callback finds its pending sign-in through the cookie: without one,
/// or with one the server never set, it ends at `PUBLIC_URL#error=
/// invalid_state`; with a `state` other than the cookie's (another sign-in's
/// cookie, or a changed `state`) at that sign-in's `redirect_to` with
/// `invalid_state`, and that sign-in is used up. A callback that succeeded
/// does not succeed again. Every callback clears the cookie.
pub async fn oauth_callback_checks_state(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(binary, backend, "oauth_callback_checks_state", &[]).await
    else {
        return;
    };
    let client = &s.client;
    let public = s.public();
    let (to_a, to_b) = (s.at("/a"), s.at("/b"));
    let identity = Identity::fresh();

    let a = client.start("mock", Some(&to_a)).await;
    let b = client.start("mock", Some(&to_b)).await;
    let callback_a = client.at_provider(&a, &identity).await;
    let callback_b = client.at_provider(&b, &identity).await;

    client
        .callback("mock", &callback_a, None)
        .await
        .expect_error("invalid_state", public);
    let forged = format!("{}={}", oidc::STATE_COOKIE, "A".repeat(43));
    client
        .callback("mock", &callback_a, Some(&forged))
        .await
        .expect_error("invalid_state", public);
    // A's callback with B's cookie: B's sign-in, whose state differs.
    client
        .callback("mock", &callback_a, Some(&b.cookie.pair()))
        .await
        .expect_error("invalid_state", &to_b);
    // B was used up by that: even its own callback fails now.
    client
        .callback("mock", &callback_b, Some(&b.cookie.pair()))
        .await
        .expect_error("invalid_state", public);

    // A was untouched: its own callback succeeds, once.
    let landing = client
        .callback("mock", &callback_a, Some(&a.cookie.pair()))
        .await;
    let code = landing.expect_code();
    landing
        .reply
        .check(landing.url.as_str() == to_a, "at A's redirect_to");
    client
        .callback("mock", &callback_a, Some(&a.cookie.pair()))
        .await
        .expect_error("invalid_state", public);
    client
        .exchange(&code)
        .await
        .expect_auth_response(200, s.api().target(), &identity.email);

    // A changed state, with the right cookie; then the right one is too late.
    let c = client.start("mock", Some(&to_a)).await;
    let callback_c = client.at_provider(&c, &Identity::fresh()).await;
    let state = c.param("state").unwrap_or_default();
    client
        .callback(
            "mock",
            &with_state(&callback_c, &format!("{state}x")),
            Some(&c.cookie.pair()),
        )
        .await
        .expect_error("invalid_state", &to_a);
    client
        .callback("mock", &callback_c, Some(&c.cookie.pair()))
        .await
        .expect_error("invalid_state", public);
}

/// What the provider refuses or garbles ends at `redirect_to` with
/// `provider_error`: the user denied access, an `iss` that is not the
/// issuer's (RFC 9207), a token endpoint's 400, a token response that is
/// not JSON. Nobody is signed in (no code; the address is still free).
pub async fn oauth_provider_errors_sign_nobody_in(binary: &Path, backend: Backend) {
    let Some(s) =
        OAuthServer::start(binary, backend, "oauth_provider_errors_sign_nobody_in", &[]).await
    else {
        return;
    };
    faults_end_with(
        &s,
        &[
            "access_denied",
            "wrong_iss_param",
            "token_400",
            "garbage_token",
        ],
        "provider_error",
    )
    .await;
}

/// ID tokens that must not be believed end with `invalid_id_token`: wrong
/// audience, issuer or nonce, expired, a bad signature, `alg: none`, a key
/// the JWKS does not list, and no ID token at all. Nobody is signed in.
pub async fn oauth_bad_id_tokens_are_refused(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(binary, backend, "oauth_bad_id_tokens_are_refused", &[]).await
    else {
        return;
    };
    let faults = [
        "wrong_aud",
        "wrong_iss",
        "wrong_nonce",
        "expired",
        "bad_signature",
        "alg_none",
        "unknown_kid",
        "no_id_token",
    ];
    faults_end_with(&s, &faults, "invalid_id_token").await;
}

/// One round trip of one identity per fault, each ending at `redirect_to`
/// with `#error=<error>`; then the identity's address is still free.
async fn faults_end_with(s: &OAuthServer, faults: &[&'static str], error: &str) {
    let redirect_to = s.at("/signed-in");
    let identity = Identity::fresh();
    for fault in faults {
        let landing = s
            .client
            .round_trip("mock", Some(&redirect_to), &identity.clone().fault(fault))
            .await;
        landing.noted(fault).expect_error(error, &redirect_to);
    }
    // Then the same identity without a fault signs in a NEW user: nothing
    // above made or linked an account.
    let body = s.client.sign_in("mock", &identity, &identity.email).await;
    let (access, _) = tokens_of(&body);
    let (reply, linked) = accounts(s.api(), &access).await;
    reply.check(linked.len() == 1, "one identity, linked just now");
}

/// A token endpoint that fails (500) or does not answer in time, and an
/// issuer that is down or never answers discovery, end with
/// `provider_unavailable` within 5 s; when discovery fails, authorize sets
/// no cookie.
pub async fn oauth_unavailable_provider_is_reported(binary: &Path, backend: Backend) {
    // A port nobody listens on, and one that accepts and never answers.
    let closed = free_port();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let silent_port = silent.local_addr().expect("its address").port();
    let extra = [
        ("OAUTH_PROVIDERS", "mock,github,down,silent".to_owned()),
        ("OAUTH_DOWN_ISSUER", format!("http://127.0.0.1:{closed}")),
        ("OAUTH_DOWN_CLIENT_ID", "test-client".to_owned()),
        ("OAUTH_DOWN_CLIENT_SECRET", "test-secret".to_owned()),
        (
            "OAUTH_SILENT_ISSUER",
            format!("http://127.0.0.1:{silent_port}"),
        ),
        ("OAUTH_SILENT_CLIENT_ID", "test-client".to_owned()),
        ("OAUTH_SILENT_CLIENT_SECRET", "test-secret".to_owned()),
    ];
    let Some(s) = OAuthServer::start(
        binary,
        backend,
        "oauth_unavailable_provider_is_reported",
        &extra,
    )
    .await
    else {
        return;
    };
    let redirect_to = s.at("/signed-in");
    for fault in ["token_500", "slow_token"] {
        let started = s.client.start("mock", Some(&redirect_to)).await;
        let identity = Identity::fresh().fault(fault);
        let callback = s.client.at_provider(&started, &identity).await;
        // The callback is where the server talks to the token endpoint.
        let clock = Instant::now();
        let landing = s
            .client
            .callback("mock", &callback, Some(&started.cookie.pair()))
            .await
            .noted(fault);
        let took = clock.elapsed();
        landing.expect_error("provider_unavailable", &redirect_to);
        landing.reply.check(
            took < PROVIDER_DEADLINE,
            &format!("{fault}: the callback took {took:?}, over {PROVIDER_DEADLINE:?}"),
        );
    }
    for provider in ["down", "silent"] {
        let started = Instant::now();
        let reply = s
            .client
            .authorize(provider, Some(&redirect_to))
            .await
            .noted(format!("authorize with the {provider} issuer"));
        reply.expect_status(302);
        reply.check(
            reply.header("location").as_deref()
                == Some(format!("{redirect_to}#error=provider_unavailable").as_str()),
            "redirect_to#error=provider_unavailable",
        );
        reply.check(state_cookies(&reply).is_empty(), "no state cookie");
        reply.check(
            started.elapsed() < PROVIDER_DEADLINE,
            &format!("took {:?}, over {PROVIDER_DEADLINE:?}", started.elapsed()),
        );
    }
    drop(silent);
}

/// The exchange: malformed bodies are 400 `malformed_body` and wrong
/// content types 415 (the code is not used up by them); the code signs in
/// once, then it is 400 `invalid_token`, as an unknown code is.
pub async fn oauth_exchange_code_is_single_use(binary: &Path, backend: Backend) {
    let Some(s) =
        OAuthServer::start(binary, backend, "oauth_exchange_code_is_single_use", &[]).await
    else {
        return;
    };
    let api = s.api();
    let identity = Identity::fresh();
    let landing = s.client.round_trip("mock", None, &identity).await;
    let code = landing.expect_code();
    let path = "/api/auth/oauth/exchange";
    let json_type = Some("application/json");
    for (what, body) in [
        ("truncated JSON", format!(r#"{{"code": "{code}""#)),
        ("no code", "{}".to_owned()),
        ("a number", r#"{"code": 5}"#.to_owned()),
        ("null", r#"{"code": null}"#.to_owned()),
        ("an array", format!(r#"["{code}"]"#)),
        ("NaN", r#"{"code": NaN}"#.to_owned()),
    ] {
        api.raw(Method::POST, path, None, json_type, body)
            .await
            .noted(format!("exchange with {what}"))
            .expect_problem(400, "malformed_body");
    }
    let body = json!({ "code": code }).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        api.raw(Method::POST, path, None, content_type, body.clone())
            .await
            .noted(format!("exchange with Content-Type {content_type:?}"))
            .expect_problem(415, "unsupported_media_type");
    }
    let reply = s.client.exchange(&code).await;
    let signed_in = reply.expect_auth_response(200, api.target(), &identity.email);
    let (access, refresh) = tokens_of(&signed_in);
    api.me(&access).await.expect_json(200);
    s.client
        .exchange(&code)
        .await
        .noted("the same code again")
        .expect_problem(400, "invalid_token");
    s.client
        .exchange(&format!("{code}x"))
        .await
        .noted("an unknown code")
        .expect_problem(400, "invalid_token");
    s.client
        .exchange("not-a-code")
        .await
        .noted("an unknown code")
        .expect_problem(400, "invalid_token");
    expect_no_tokens_in(&s.client.visited(), &[&access, &refresh]);
}

/// Behind a load balancer the callback may reach another instance than
/// the one that sent the user to the provider, and one that has never
/// discovered the provider (it just started): the pending sign-in is in
/// the shared database, discovery happens then, the provider's `iss` is
/// checked against it, and the code works on either instance.
pub async fn oauth_callback_on_another_instance(binary: &Path, backend: Backend) {
    let secret = crate::server::random_string(48);
    let extra = [("JWT_SECRET", secret.clone())];
    let Some(one) = OAuthServer::start(
        binary,
        backend,
        "oauth_callback_on_another_instance",
        &extra,
    )
    .await
    else {
        return;
    };
    let mut env: Vec<(String, Option<String>)> = vec![
        ("JWT_SECRET".into(), Some(secret)),
        ("PUBLIC_URL".into(), Some(one.public().to_owned())),
        (
            "DATABASE_URL".into(),
            Some(one.server.database_url().to_owned()),
        ),
    ];
    for (name, value) in one.provider.server_env() {
        env.push((name.to_owned(), Some(value)));
    }
    let two = crate::Server::start_with(
        binary,
        Backend::PostgresIn(one.server.database_url().to_owned()),
        env,
    )
    .await;
    let other = oidc::OAuthClient::new(two.target().api());

    let identity = Identity::fresh();
    let started = one.client.start("mock", None).await;
    let callback = one.client.at_provider(&started, &identity).await;
    let on_two = callback.replacen(one.public(), two.base_url(), 1);
    assert_ne!(
        on_two, callback,
        "the callback is on PUBLIC_URL: {callback}"
    );
    let landing = other
        .callback("mock", &on_two, Some(&started.cookie.pair()))
        .await;
    let code = landing.expect_code();
    let reply = one.client.exchange(&code).await;
    reply.expect_auth_response(200, one.api().target(), &identity.email);
}

/// A front end may start a sign-in with an S256 `code_challenge`; its
/// exchange code then needs the `code_verifier` (RFC 7636's example pair
/// here), and a code started without one refuses a verifier, so a page
/// that always sends its own cannot be made to exchange a planted
/// `#code=`. A wrong or missing verifier uses the code up. A malformed
/// challenge is 400 `invalid_code_challenge`.
pub async fn oauth_exchange_is_bound_to_its_challenge(binary: &Path, backend: Backend) {
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let Some(s) = OAuthServer::start(
        binary,
        backend,
        "oauth_exchange_is_bound_to_its_challenge",
        &[],
    )
    .await
    else {
        return;
    };
    let api = s.api();
    let authorize = |challenge: &'static str| {
        api.send(
            api.request(Method::GET, "/api/auth/oauth/mock/authorize")
                .query(&[("code_challenge", challenge)]),
        )
    };
    for bad in ["short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c+"] {
        authorize(bad)
            .await
            .noted(format!("code_challenge={bad}"))
            .expect_problem(400, "invalid_code_challenge");
    }
    let identity = Identity::fresh();
    let code_for = |challenge: Option<&'static str>| {
        let (client, identity) = (&s.client, &identity);
        async move {
            let reply = match challenge {
                Some(challenge) => authorize(challenge).await,
                None => client.authorize("mock", None).await,
            };
            reply.expect_status(302);
            let location = reply.header("location").unwrap_or_default();
            let started = client.started("mock", reply, &location);
            client
                .finish("mock", &started, identity)
                .await
                .expect_code()
        }
    };
    let exchange = |code: String, verifier: Option<&'static str>| async move {
        let body = match verifier {
            Some(verifier) => json!({ "code": code, "code_verifier": verifier }),
            None => json!({ "code": code }),
        };
        api.json(Method::POST, "/api/auth/oauth/exchange", None, &body)
            .await
    };
    let code = code_for(Some(CHALLENGE)).await;
    exchange(code.clone(), None)
        .await
        .noted("no verifier for a bound code")
        .expect_problem(400, "invalid_token");
    exchange(code, Some(VERIFIER))
        .await
        .noted("the right verifier, after the code was used up")
        .expect_problem(400, "invalid_token");
    let code = code_for(Some(CHALLENGE)).await;
    exchange(code, Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"))
        .await
        .noted("a wrong verifier")
        .expect_problem(400, "invalid_token");
    let code = code_for(Some(CHALLENGE)).await;
    exchange(code, Some(VERIFIER))
        .await
        .expect_auth_response(200, api.target(), &identity.email);
    let planted = code_for(None).await;
    exchange(planted, Some(VERIFIER))
        .await
        .noted("a code started without a challenge, sent with a verifier")
        .expect_problem(400, "invalid_token");
}
