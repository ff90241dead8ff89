//! auth-axum in-process: the extractors and the routes through a real
//! axum `Router` (no socket; the example server's contract suite covers
//! HTTP end to end).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_axum::{
    Authenticated,
    auth_core::{AuthService, JwtCodec, MemoryStore},
};
use axum::{
    Router,
    body::{Body, to_bytes},
    extract::State,
    http::{Request, StatusCode, header},
    middleware::{from_extractor_with_state, map_response},
    routing::get,
};
use serde_json::{Value, json};
use tower::ServiceExt;

fn app() -> Router {
    let store = MemoryStore::new();
    // Strict rotation: a replayed refresh cookie is reuse at once (the
    // reuse interval is auth-core's, tested there).
    let auth = AuthService::builder(store.clone(), store)
        .token_codec(JwtCodec::hs256(b"router-test-secret-of-32-bytes!!", "api", "app").unwrap())
        .refresh_reuse_interval(std::time::Duration::ZERO)
        .build()
        .unwrap();
    Router::new()
        .route(
            "/whoami",
            get(|Authenticated(principal): Authenticated| async move {
                principal.user_id().to_string()
            }),
        )
        .route(
            "/greeting",
            get(|user: Option<Authenticated>| async move {
                if user.is_some() {
                    "welcome back"
                } else {
                    "hello"
                }
            }),
        )
        // No leading slash: forgiven rather than a panic.
        .merge(auth_axum::routes("auth/", &auth))
        .fallback(auth_axum::not_found)
        .layer(map_response(auth_axum::problem_for_bare_errors))
        .with_state(auth)
}

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (parts.status, parts.headers, body)
}

fn get_with(path: &str, authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    request.body(Body::empty()).unwrap()
}

async fn sign_up(app: &Router) -> Value {
    let request = Request::post("/auth/sign-up")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"email": "ada@example.com", "password": "correct horse battery"}).to_string(),
        ))
        .unwrap();
    let (status, headers, body) = call(app, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    body
}

#[tokio::test]
async fn the_extractor_admits_a_valid_token_and_refuses_the_rest() {
    let app = app();
    let signed_up = sign_up(&app).await;
    let token = signed_up["access_token"].as_str().unwrap();
    let (status, _, body) = call(&app, get_with("/whoami", Some(&format!("bearer {token}")))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, signed_up["user"]["id"]);

    let (status, headers, body) = call(&app, get_with("/whoami", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "missing_token");

    let (status, headers, body) = call(&app, get_with("/whoami", Some("Bearer not.a.jwt"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        r#"Bearer error="invalid_token""#
    );
    assert_eq!(body["code"], "invalid_token");
}

#[tokio::test]
async fn the_optional_extractor_is_none_without_a_bearer_token_only() {
    let app = app();
    let signed_up = sign_up(&app).await;
    let token = signed_up["access_token"].as_str().unwrap();
    for (authorization, expected) in [
        (None, "hello"),
        (Some("Basic dXNlcjpwdw==".to_owned()), "hello"),
        (Some(format!("Bearer {token}")), "welcome back"),
    ] {
        let (status, _, body) = call(&app, get_with("/greeting", authorization.as_deref())).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, Some(expected)));
    }
    let (status, _, body) = call(&app, get_with("/greeting", Some("Bearer forged"))).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::UNAUTHORIZED, &json!("invalid_token"))
    );
}

#[tokio::test]
async fn bodies_get_the_contracts_statuses() {
    let app = app();
    let post = |content_type: Option<&str>, body: Body| {
        let mut request = Request::post("/auth/sign-in");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        request.body(body).unwrap()
    };
    let cases = [
        (post(None, Body::from("{}")), 415, "unsupported_media_type"),
        (
            post(Some("text/plain"), Body::from("{}")),
            415,
            "unsupported_media_type",
        ),
        (
            post(Some("application/json"), Body::from("{")),
            400,
            "malformed_body",
        ),
        (
            post(Some("application/json"), Body::from(r#"{"email": 1}"#)),
            400,
            "malformed_body",
        ),
        (
            post(Some("application/json"), Body::from(vec![b' '; 70_000])),
            413,
            "payload_too_large",
        ),
        (
            post(
                Some("application/json"),
                Body::from(r#"{"email": "a@b.co", "password": "x"}"#),
            ),
            401,
            "invalid_credentials",
        ),
    ];
    for (request, status, code) in cases {
        let (got, headers, body) = call(&app, request).await;
        assert_eq!(
            (got.as_u16(), &body["code"]),
            (status, &json!(code)),
            "{body}"
        );
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = app();
    let (status, _, body) = call(&app, get_with("/nowhere", None)).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    let (status, headers, body) = call(&app, get_with("/auth/sign-in", None)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["code"], "method_not_allowed");
    assert_eq!(headers[header::ALLOW], "POST");
}

/// The pattern of examples/README.md: one `route_layer` for a group of
/// routes, and the email through `current_user`.
#[tokio::test]
async fn a_route_layer_protects_a_group_and_current_user_has_the_email() {
    let store = MemoryStore::new();
    let auth = AuthService::builder(store.clone(), store)
        .token_codec(JwtCodec::hs256(b"router-test-secret-of-32-bytes!!", "api", "app").unwrap())
        .build()
        .unwrap();
    let group = Router::new()
        // Takes no `Authenticated`: only the layer keeps strangers out.
        .route("/group/open", get(|| async { "inside" }))
        .route(
            "/group/email",
            get(
                |State(auth): State<AuthService>, Authenticated(principal): Authenticated| async move {
                    auth.current_user(&principal).await.unwrap().email.to_string()
                },
            ),
        )
        .route_layer(from_extractor_with_state::<Authenticated, _>(auth.clone()));
    let app = Router::new()
        .merge(group)
        .merge(auth_axum::routes("/auth", &auth))
        .fallback(auth_axum::not_found)
        .layer(map_response(auth_axum::problem_for_bare_errors))
        .with_state(auth);

    // The auth routes, outside the group, need no token.
    let signed_up = sign_up(&app).await;
    let bearer = format!("Bearer {}", signed_up["access_token"].as_str().unwrap());
    for path in ["/group/open", "/group/email"] {
        let (status, headers, body) = call(&app, get_with(path, None)).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::UNAUTHORIZED, &json!("missing_token"))
        );
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        let (status, _, body) = call(&app, get_with(path, Some("Bearer not.a.jwt"))).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::UNAUTHORIZED, &json!("invalid_token"))
        );
    }
    let (status, _, body) = call(&app, get_with("/group/open", Some(&bearer))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, Some("inside")));
    let (status, _, body) = call(&app, get_with("/group/email", Some(&bearer))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, Some("ada@example.com"))
    );
    // The layer covers matched routes only: elsewhere a 404 stays a 404.
    let (status, _, _) = call(&app, get_with("/group/nowhere", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jwks_lists_the_public_keys_or_is_404_with_a_shared_secret() {
    use auth_axum::auth_core::{JwtAlgorithm, JwtKey};
    let (status, _, body) = call(&app(), get_with("/auth/jwks", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["status"], 404);

    let pem = JwtKey::generate_private_pem(JwtAlgorithm::Es256).unwrap();
    let key = JwtKey::from_private_pem("k1", JwtAlgorithm::Es256, pem.as_bytes()).unwrap();
    let codec = JwtCodec::builder()
        .issuer("api")
        .audience("app")
        .key(key)
        .build()
        .unwrap();
    let store = MemoryStore::new();
    let auth = AuthService::builder(store.clone(), store)
        .token_codec(codec)
        .build()
        .unwrap();
    let app = Router::new()
        .merge(auth_axum::routes("/auth", &auth))
        .with_state(auth);
    let (status, headers, body) = call(&app, get_with("/auth/jwks", None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=300");
    assert_eq!(body["keys"][0]["kid"], "k1");
    assert_eq!(body["keys"][0]["alg"], "ES256");
    assert_eq!(body["keys"][0]["use"], "sig");
    assert!(body["keys"][0].get("d").is_none(), "{body}");
}

/// `X-Refresh-Cookie: 1`: the refresh token moves to a cookie scoped to
/// the routes' mount point, refresh reads it from there, sign-out clears
/// it, and a cross-site request is refused.
#[tokio::test]
async fn the_refresh_cookie_transport() {
    let app = app();
    let post = |path: &str, cookie: Option<&str>, body: Option<Value>| {
        let mut request = Request::post(path).header("x-refresh-cookie", "1");
        if let Some(cookie) = cookie {
            request = request.header(
                header::COOKIE,
                format!("theme=dark; __Host-auth_refresh={cookie}"),
            );
        }
        match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap()
    };
    let credentials = json!({"email": "ada@example.com", "password": "correct horse battery"});
    let (status, headers, body) = call(&app, post("/auth/sign-up", None, Some(credentials))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    let token = set_cookie
        .strip_prefix("__Host-auth_refresh=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    assert_eq!(
        set_cookie,
        format!(
            "__Host-auth_refresh={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=2592000"
        )
    );

    let (status, headers, body) = call(&app, post("/auth/refresh", Some(&token), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let rotated = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(!rotated.contains(&token));
    let access = body["access_token"].as_str().unwrap().to_owned();

    let cleared = "__Host-auth_refresh=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0";
    let (status, headers, body) = call(&app, post("/auth/refresh", Some(&token), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "refresh_token_reused");
    assert_eq!(headers[header::SET_COOKIE], cleared);

    let (status, _, body) = call(&app, post("/auth/refresh", None, Some(json!({})))).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::UNAUTHORIZED, &json!("invalid_refresh_token"))
    );

    let mut sign_out = post("/auth/sign-out", None, None);
    sign_out.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {access}").parse().unwrap(),
    );
    let (status, headers, _) = call(&app, sign_out).await;
    // The session was revoked by the reuse above: the access token too.
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(header::SET_COOKIE).is_none());

    let mut cross_site = post("/auth/refresh", Some(&token), None);
    cross_site
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    let (status, headers, body) = call(&app, cross_site).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::FORBIDDEN, &json!("cross_site_request"))
    );
    assert!(headers.get(header::SET_COOKIE).is_none());

    // A fresh session, signed out with the header: 204 and the cookie cleared.
    let credentials = json!({"email": "ada@example.com", "password": "correct horse battery"});
    let (status, _, body) = call(&app, post("/auth/sign-in", None, Some(credentials))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let mut sign_out = post("/auth/sign-out", None, None);
    sign_out.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {access}").parse().unwrap(),
    );
    let (status, headers, _) = call(&app, sign_out).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers[header::SET_COOKIE], cleared);
}
