//! The refresh cookie of a same-origin browser page (`X-Refresh-Cookie: 1`),
//! the library's documented choice beside the contract's JSON transport.

use std::path::Path;

use reqwest::Method;
use serde_json::json;

use crate::{
    Backend, Reply, Server, Target,
    client::{Api, fresh_email, fresh_password},
};

/// The attributes every refresh cookie carries, after its value.
const ATTRIBUTES: &str = "; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=";

/// `path` with `X-Refresh-Cookie: 1`, an optional `Cookie` and
/// `Sec-Fetch-Site`, and a JSON `body` (none when `None`).
pub(super) async fn cookie_request(
    api: &Api,
    method: Method,
    path: &str,
    access_token: Option<&str>,
    cookie: Option<&str>,
    body: Option<serde_json::Value>,
) -> Reply {
    let mut request = api
        .authed(method, path, access_token)
        .header("x-refresh-cookie", "1");
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("__Host-auth_refresh={cookie}"));
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    api.send(request).await
}

/// The refresh token a reply set as a cookie, after checking the body has
/// none and the cookie has every attribute and the default 30-day Max-Age.
pub(super) fn expect_cookie_tokens(reply: &Reply, status: u16) -> (String, String) {
    let body = reply.expect_json(status);
    reply.check(
        body.get("refresh_token").is_none(),
        "in cookie mode the body must not carry refresh_token",
    );
    reply.check(
        reply
            .header("cache-control")
            .is_some_and(|value| value.contains("no-store")),
        "Cache-Control: no-store",
    );
    let access = body["access_token"].as_str().unwrap_or_default().to_owned();
    reply.check(access.split('.').count() == 3, "an access token");
    let cookies: Vec<String> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    reply.check(cookies.len() == 1, "exactly one Set-Cookie");
    let cookie = &cookies[0];
    let token = cookie
        .strip_prefix("__Host-auth_refresh=")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_default()
        .to_owned();
    reply.check(
        token.len() >= 43,
        "a refresh token of 256+ bits in the cookie",
    );
    reply.check(
        *cookie == format!("__Host-auth_refresh={token}{ATTRIBUTES}2592000"),
        "__Host-auth_refresh=<token>; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=2592000",
    );
    (access, token)
}

/// Signs a fresh user up in cookie mode; returns the sign-in body, the
/// access token and the cookie's refresh token.
async fn cookie_sign_up(api: &Api) -> (serde_json::Value, String, String) {
    let body = json!({ "email": fresh_email(), "password": fresh_password() });
    let reply = cookie_request(
        api,
        Method::POST,
        "/api/auth/sign-up",
        None,
        None,
        Some(body.clone()),
    )
    .await;
    let (access, token) = expect_cookie_tokens(&reply, 201);
    (body, access, token)
}

/// Panics unless the reply deletes the cookie.
fn expect_cleared(reply: &Reply) {
    reply.check(
        reply.header("set-cookie").as_deref()
            == Some(&format!("__Host-auth_refresh={ATTRIBUTES}0")),
        "expected the clearing Set-Cookie: __Host-auth_refresh=; ...; Max-Age=0",
    );
}

/// Sign-up and sign-in with the header: the token only in the cookie, with
/// every attribute; the access token works.
pub async fn cookie_mode_sets_http_only_cookie(target: &Target) {
    let api = target.api();
    let (body, access, _) = cookie_sign_up(&api).await;
    api.me(&access).await.expect_status(200);
    let reply = cookie_request(
        &api,
        Method::POST,
        "/api/auth/sign-in",
        None,
        None,
        Some(body),
    )
    .await;
    let (access, _) = expect_cookie_tokens(&reply, 200);
    api.me(&access).await.expect_status(200);
}

/// A cookie refresh rotates the cookie and keeps the session; presenting
/// the old cookie again (with strict rotation,
/// `REFRESH_REUSE_INTERVAL_SECS=0`, so at once) is a 401 that clears it and
/// revokes the session.
pub async fn cookie_refresh_rotates_and_detects_reuse(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("REFRESH_REUSE_INTERVAL_SECS", "0")]).await;
    let api = server.target().api();
    let (_, _, first) = cookie_sign_up(&api).await;
    // No body at all, then `{}` (any JSON body is ignored).
    let reply = cookie_request(
        &api,
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(&first),
        None,
    )
    .await
    .noted("refresh with the cookie, no body");
    let (access, second) = expect_cookie_tokens(&reply, 200);
    reply.check(second != first, "the refresh token must rotate");
    api.me(&access).await.expect_status(200);
    let reply = cookie_request(
        &api,
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(&second),
        Some(json!({ "refresh_token": "ignored" })),
    )
    .await
    .noted("refresh with the cookie and a JSON body");
    let (access, third) = expect_cookie_tokens(&reply, 200);
    let reused = cookie_request(
        &api,
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(&first),
        None,
    )
    .await
    .noted("the first cookie again");
    reused.expect_problem(401, "refresh_token_reused");
    expect_cleared(&reused);
    let revoked = cookie_request(
        &api,
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(&third),
        None,
    )
    .await
    .noted("the newest cookie after the reuse");
    revoked.expect_status(401);
    expect_cleared(&revoked);
    api.me(&access)
        .await
        .noted("/me after the reuse")
        .expect_status(401);
}

/// A cookie refresh without a cookie, with an empty or an unknown one: 401,
/// and the answer clears the cookie.
pub async fn cookie_refresh_without_cookie_is_401(target: &Target) {
    let api = target.api();
    let unknown = "A".repeat(43);
    for cookie in [None, Some(""), Some(unknown.as_str())] {
        let reply = cookie_request(&api, Method::POST, "/api/auth/refresh", None, cookie, None)
            .await
            .noted(format!("cookie {cookie:?}"));
        reply.expect_problem(401, "invalid_refresh_token");
        expect_cleared(&reply);
    }
}

/// Sign-out and `DELETE /sessions` with the header clear the cookie, and
/// the cookie's token no longer refreshes.
pub async fn cookie_sign_out_clears(target: &Target) {
    let api = target.api();
    for (method, path) in [
        (Method::POST, "/api/auth/sign-out"),
        (Method::DELETE, "/api/auth/sessions"),
    ] {
        let (_, access, token) = cookie_sign_up(&api).await;
        let reply = cookie_request(&api, method, path, Some(&access), None, None)
            .await
            .noted(path);
        reply.expect_status(204);
        expect_cleared(&reply);
        cookie_request(
            &api,
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(&token),
            None,
        )
        .await
        .noted(format!("refresh after {path}"))
        .expect_status(401);
    }
}

/// With the header, `Sec-Fetch-Site: cross-site` (or `same-site`) is 403
/// `cross_site_request`; `same-origin` and `none` pass; without the
/// header, `Sec-Fetch-Site` changes nothing.
pub async fn cookie_mode_refuses_cross_site(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let sign_in = json!({ "email": account.email, "password": account.password });
    let send = |site: &'static str, opt_in: bool| {
        let mut request = api
            .request(Method::POST, "/api/auth/sign-in")
            .header("content-type", "application/json")
            .header("sec-fetch-site", site)
            .body(sign_in.to_string());
        if opt_in {
            request = request.header("x-refresh-cookie", "1");
        }
        api.send(request)
    };
    for site in ["cross-site", "same-site"] {
        let reply = send(site, true)
            .await
            .noted(format!("Sec-Fetch-Site: {site}"));
        reply.expect_problem(403, "cross_site_request");
        reply.check(reply.header("set-cookie").is_none(), "no cookie on a 403");
    }
    for site in ["same-origin", "none"] {
        let reply = send(site, true)
            .await
            .noted(format!("Sec-Fetch-Site: {site}"));
        expect_cookie_tokens(&reply, 200);
    }
    let reply = send("cross-site", false)
        .await
        .noted("cross-site without the header");
    reply.expect_auth_response(200, target, &account.email);
    reply.check(
        reply.header("set-cookie").is_none(),
        "no cookie without the header",
    );
    let refresh = api
        .request(Method::POST, "/api/auth/refresh")
        .header("x-refresh-cookie", "1")
        .header("sec-fetch-site", "cross-site")
        .header(
            "cookie",
            format!("__Host-auth_refresh={}", account.refresh_token),
        );
    api.send(refresh)
        .await
        .noted("cross-site cookie refresh")
        .expect_problem(403, "cross_site_request");
    // The refused refresh did not use the token up.
    api.refresh(&account.refresh_token)
        .await
        .expect_auth_response(200, target, &account.email);
}

/// Cookie tossing: a refresh that carries the refresh cookie twice (one
/// planted by another origin, say) is 400 `duplicate_cookie`, clears
/// nothing and uses no token up; a cookie without the `__Host-` prefix is
/// never read.
pub async fn cookie_sent_twice_is_refused(target: &Target) {
    let api = target.api();
    let (mine, _, token) = cookie_sign_up(&api).await;
    let theirs = cookie_sign_up(&api).await.2;
    for header in [
        format!("__Host-auth_refresh={theirs}; __Host-auth_refresh={token}"),
        format!("__Host-auth_refresh=junk; theme=dark; __Host-auth_refresh={token}"),
        format!("__Host-auth_refresh={token}; __Host-auth_refresh="),
    ] {
        let request = api
            .request(Method::POST, "/api/auth/refresh")
            .header("x-refresh-cookie", "1")
            .header("cookie", header.clone());
        let reply = api.send(request).await.noted(header);
        reply.expect_problem(400, "duplicate_cookie");
        reply.check(
            reply.header("set-cookie").is_none(),
            "a refused duplicate clears nothing",
        );
    }
    let request = api
        .request(Method::POST, "/api/auth/refresh")
        .header("x-refresh-cookie", "1")
        .header(
            "cookie",
            format!("auth_refresh={theirs}; __Host-auth_refresh={token}"),
        );
    let reply = api
        .send(request)
        .await
        .noted("an unprefixed auth_refresh beside the real cookie");
    let (access, _) = expect_cookie_tokens(&reply, 200);
    let me = api.me(&access).await;
    me.check(
        me.expect_json(200)["user"]["email"] == mine["email"],
        "the user's own session was refreshed",
    );
}
