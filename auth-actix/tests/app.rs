//! auth-actix in-process: the extractors, `Json` and the routes through a
//! real actix-web `App` on the SQLite store (so session lookups really
//! wait on the database, as they do in production). The example server's
//! contract suite covers HTTP end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use actix_web::{
    App, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse},
    http::{Method, StatusCode, header},
    middleware::{Next, from_fn},
    test::{self, TestRequest},
    web,
};
use auth_actix::{
    AuthRejection, Authenticated, Json, JsonConfig, MaybeAuthenticated,
    auth_core::{AuthService, JwtCodec},
};
use auth_sqlx::SqliteStore;
use serde_json::{Value, json};

async fn auth_service() -> AuthService {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    // Strict rotation: a replayed refresh cookie is reuse at once (the
    // reuse interval is auth-core's, tested there).
    AuthService::builder(store.clone(), store)
        .token_codec(JwtCodec::hs256(b"actix-test-secret-of-32-bytes!!!", "api", "app").unwrap())
        .refresh_reuse_interval(std::time::Duration::ZERO)
        .build()
        .unwrap()
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Note {
    text: String,
}

async fn app(
    auth: AuthService,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .app_data(web::Data::new(auth.clone()))
            .app_data(JsonConfig::default().limit(64))
            .route(
                "/whoami",
                web::get().to(|Authenticated(principal): Authenticated| async move {
                    principal.user_id().to_string()
                }),
            )
            .route(
                "/greeting",
                web::get().to(|MaybeAuthenticated(user): MaybeAuthenticated| async move {
                    if user.is_some() {
                        "welcome back"
                    } else {
                        "hello"
                    }
                }),
            )
            // The body extractor first: the 401 must still win.
            .route(
                "/notes",
                web::post()
                    .to(|Json(note): Json<Note>, _user: Authenticated| async move { Json(note) }),
            )
            // No leading slash, a trailing one: forgiven.
            .service(auth_actix::scope("auth/", &auth))
            .default_service(web::to(auth_actix::not_found))
            .wrap(from_fn(auth_actix::problem_for_bare_errors)),
    )
    .await
}

async fn call(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    request: TestRequest,
) -> (StatusCode, header::HeaderMap, Value) {
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, body)
}

fn json_post(path: &str, body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(body.to_string())
}

fn bearer(token: &str) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {token}"))
}

/// Signs up and returns the access token.
async fn sign_up(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) -> String {
    let body = json!({"email": "ada@example.com", "password": "correct horse battery"});
    let (status, headers, body) = call(app, json_post("/auth/sign-up", &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    body["access_token"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn extractors_accept_valid_tokens_and_refuse_others() {
    let app = app(auth_service().await).await;
    let token = sign_up(&app).await;

    let (status, headers, body) = call(&app, TestRequest::get().uri("/whoami")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
    assert_eq!(body["code"], "missing_token");

    let request = TestRequest::get()
        .uri("/whoami")
        .insert_header(bearer(&token));
    let (status, _, _) = call(&app, request).await;
    assert_eq!(status, StatusCode::OK);

    // The optional variant: nothing or another scheme is "no user", a bad
    // bearer token is still a 401.
    let (status, _, body) = call(&app, TestRequest::get().uri("/greeting")).await;
    assert_eq!((status, body), (StatusCode::OK, json!("hello")));
    let basic = TestRequest::get()
        .uri("/greeting")
        .insert_header((header::AUTHORIZATION, "Basic dXNlcjpwdw=="));
    assert_eq!(call(&app, basic).await.2, json!("hello"));
    let signed_in = TestRequest::get()
        .uri("/greeting")
        .insert_header(bearer(&token));
    assert_eq!(call(&app, signed_in).await.2, json!("welcome back"));
    let forged = TestRequest::get()
        .uri("/greeting")
        .insert_header(bearer("not.a.jwt"));
    let (status, headers, body) = call(&app, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers.get(header::WWW_AUTHENTICATE).unwrap(),
        r#"Bearer error="invalid_token""#
    );
    assert_eq!(body["code"], "invalid_token");
}

#[actix_web::test]
async fn a_401_wins_over_body_errors_even_when_the_session_lookup_waits() {
    let app = app(auth_service().await).await;
    let token = sign_up(&app).await;
    let sign_out = TestRequest::post()
        .uri("/auth/sign-out")
        .insert_header(bearer(&token));
    assert_eq!(call(&app, sign_out).await.0, StatusCode::NO_CONTENT);

    // A revoked session is only found out by asking the store, while the
    // body's faults are visible at once: `Json` must wait for the 401.
    let bad_bodies = [
        ("text/plain", r#"{"text": "x"}"#.to_owned()),
        ("application/json", "{".to_owned()),
        (
            "application/json",
            format!(r#"{{"text": "{}"}}"#, "x".repeat(100)),
        ),
    ];
    for (content_type, body) in bad_bodies {
        let request = TestRequest::post()
            .uri("/notes")
            .insert_header(bearer(&token))
            .insert_header((header::CONTENT_TYPE, content_type))
            .set_payload(body.clone());
        let (status, _, problem) = call(&app, request).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{content_type} {body}: {problem}"
        );
        assert_eq!(problem["code"], "session_revoked");
    }
}

#[actix_web::test]
async fn json_bodies_get_the_contract_statuses() {
    let app = app(auth_service().await).await;
    let token = sign_up(&app).await;
    let note = |content_type: Option<&str>, body: &str| {
        let mut request = TestRequest::post()
            .uri("/notes")
            .insert_header(bearer(&token))
            .set_payload(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.insert_header((header::CONTENT_TYPE, content_type));
        }
        request
    };
    let json = Some("application/json; charset=utf-8");
    let cases = [
        (note(json, r#"{"text": "hi"}"#), 200, None),
        (
            note(None, r#"{"text": "hi"}"#),
            415,
            Some("unsupported_media_type"),
        ),
        (note(json, "{"), 400, Some("malformed_body")),
        (note(json, r#"{"text": 1}"#), 400, Some("malformed_body")),
        (note(json, r#"["hi"]"#), 400, Some("malformed_body")),
        (
            note(json, &format!(r#"{{"text": "{}"}}"#, "x".repeat(64))),
            413,
            Some("payload_too_large"),
        ),
    ];
    for (request, status, code) in cases {
        let (actual, _, body) = call(&app, request).await;
        assert_eq!(actual.as_u16(), status, "{body}");
        if let Some(code) = code {
            assert_eq!(body["code"], code);
        } else {
            assert_eq!(body, json!({"text": "hi"}));
        }
    }
}

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = app(auth_service().await).await;
    let (status, headers, body) = call(&app, TestRequest::get().uri("/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
    assert_eq!(body["code"], "not_found");

    let wrong = TestRequest::default()
        .method(Method::DELETE)
        .uri("/auth/sign-in");
    let (status, headers, body) = call(&app, wrong).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers.get(header::ALLOW).unwrap(), "POST");
    assert_eq!(body["code"], "method_not_allowed");

    // `GET /me` answers `HEAD` too, as axum's routes do.
    let head = TestRequest::default().method(Method::HEAD).uri("/auth/me");
    assert_eq!(call(&app, head).await.0, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_missing_auth_service_is_a_500_without_internals() {
    let app = test::init_service(App::new().route(
        "/whoami",
        web::get().to(|_: Authenticated| async { HttpResponse::Ok().finish() }),
    ))
    .await;
    let request = TestRequest::get()
        .uri("/whoami")
        .insert_header(bearer("x.y.z"));
    let (status, _, body) = call(&app, request).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["detail"], "internal error");
}

/// A user extractor of the app's own that verifies inside its future
/// (created lazily, listed after the body): `Json` still waits for it.
struct LazyUser;

impl actix_web::FromRequest for LazyUser {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Authenticated::extract(&req).await?;
            Ok(LazyUser)
        })
    }
}

#[actix_web::test]
async fn late_and_optional_verifications_are_waited_for_too() {
    let auth = auth_service().await;
    let app = test::init_service(
        App::new()
            // As is, not in `web::Data`; `JsonConfig` in `web::Data`.
            .app_data(auth.clone())
            .app_data(web::Data::new(JsonConfig::default().limit(64)))
            .route(
                "/lazy",
                web::post().to(|Json(note): Json<Note>, _: LazyUser| async move { Json(note) }),
            )
            .route(
                "/maybe",
                web::post().to(
                    |Json(note): Json<Note>, user: MaybeAuthenticated| async move {
                        Json(json!({"text": note.text, "signed_in": user.0.is_some()}))
                    },
                ),
            )
            // Two verifications in one handler share one result.
            .route(
                "/twice",
                web::get().to(
                    |Authenticated(a): Authenticated, Authenticated(b): Authenticated| async move {
                        assert_eq!(a.session_id(), b.session_id());
                        "same"
                    },
                ),
            )
            .service(auth_actix::scope("/auth", &auth)),
    )
    .await;
    let token = sign_up(&app).await;
    let (status, _, body) = call(
        &app,
        TestRequest::get()
            .uri("/twice")
            .insert_header(bearer(&token)),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!("same")));
    let sign_out = TestRequest::post()
        .uri("/auth/sign-out")
        .insert_header(bearer(&token));
    assert_eq!(call(&app, sign_out).await.0, StatusCode::NO_CONTENT);

    for path in ["/lazy", "/maybe"] {
        let request = TestRequest::post()
            .uri(path)
            .insert_header(bearer(&token))
            .insert_header((header::CONTENT_TYPE, "text/plain"))
            .set_payload("x");
        let (status, _, body) = call(&app, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
    }
    // Without a token the optional extractor is `None`, and the body's
    // rules (here the 64-byte limit from `web::Data<JsonConfig>`) apply.
    let ok = json_post("/maybe", &json!({"text": "hi"}));
    assert_eq!(
        call(&app, ok).await.2,
        json!({"text": "hi", "signed_in": false})
    );
    let big = json_post("/maybe", &json!({"text": "x".repeat(64)}));
    assert_eq!(call(&app, big).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

#[actix_web::test]
async fn an_authenticated_future_nobody_polls_holds_nothing_up() {
    let auth = auth_service().await;
    let app = test::init_service(App::new().app_data(auth).route(
        "/manual",
        web::post().to(
            |req: actix_web::HttpRequest, payload: web::Payload| async move {
                use actix_web::FromRequest;
                let mut payload = payload.into_inner();
                let user = Authenticated::from_request(&req, &mut actix_web::dev::Payload::None);
                // The body first, the user later: must not wait for `user`.
                let Json(note) = Json::<Note>::from_request(&req, &mut payload).await?;
                let outcome = user.await.map(|_| ()).map_err(auth_actix::ApiError::from);
                Ok::<_, auth_actix::ApiError>(Json(
                    json!({"text": note.text, "user": outcome.is_ok()}),
                ))
            },
        ),
    ))
    .await;
    let request = json_post("/manual", &json!({"text": "hi"}));
    let answered =
        tokio::time::timeout(std::time::Duration::from_secs(5), call(&app, request)).await;
    let (status, _, body) = answered.expect("the request hung");
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"text": "hi", "user": false}))
    );
}

/// The pattern of examples/README.md: a scope behind one `from_fn`
/// middleware that takes `Authenticated`, and the email through
/// `current_user`.
#[actix_web::test]
async fn a_middleware_protects_a_scope_and_current_user_has_the_email() {
    async fn signed_in_only(
        user: Result<Authenticated, AuthRejection>,
        req: ServiceRequest,
        next: Next<impl MessageBody>,
    ) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
        match user {
            Ok(_) => Ok(next.call(req).await?.map_into_left_body()),
            Err(rejection) => Ok(req.error_response(rejection).map_into_right_body()),
        }
    }
    async fn email(
        auth: web::Data<AuthService>,
        Authenticated(principal): Authenticated,
    ) -> String {
        auth.current_user(&principal)
            .await
            .unwrap()
            .email
            .to_string()
    }
    let auth = auth_service().await;
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(auth.clone()))
            .service(auth_actix::scope("/auth", &auth))
            .service(
                web::scope("/group")
                    .wrap(from_fn(signed_in_only))
                    // Takes no `Authenticated`: only the middleware keeps strangers out.
                    .route("/open", web::get().to(|| async { "inside" }))
                    .route("/email", web::get().to(email)),
            )
            .default_service(web::to(auth_actix::not_found))
            .wrap(from_fn(auth_actix::problem_for_bare_errors)),
    )
    .await;

    // The auth scope, outside the group, needs no token.
    let token = sign_up(&app).await;
    for path in ["/group/open", "/group/email", "/group/nowhere"] {
        let (status, headers, body) = call(&app, TestRequest::get().uri(path)).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::UNAUTHORIZED, &json!("missing_token")),
            "{path}"
        );
        assert_eq!(
            headers.get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        assert_eq!(headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
        let forged = TestRequest::get()
            .uri(path)
            .insert_header(bearer("not.a.jwt"));
        let (status, _, body) = call(&app, forged).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::UNAUTHORIZED, &json!("invalid_token"))
        );
    }
    let signed_in = |path| TestRequest::get().uri(path).insert_header(bearer(&token));
    let (status, _, body) = call(&app, signed_in("/group/open")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, Some("inside")));
    let (status, _, body) = call(&app, signed_in("/group/email")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, Some("ada@example.com"))
    );
    let (status, _, body) = call(&app, signed_in("/group/nowhere")).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
}

#[actix_web::test]
async fn jwks_lists_the_public_keys_or_is_404_with_a_shared_secret() {
    use auth_actix::auth_core::{JwtAlgorithm, JwtKey};
    let hs256 = app(auth_service().await).await;
    let (status, _, body) = call(&hs256, TestRequest::get().uri("/auth/jwks")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["status"], 404);

    let pem = JwtKey::generate_private_pem(JwtAlgorithm::EdDsa).unwrap();
    let key = JwtKey::from_private_pem("k1", JwtAlgorithm::EdDsa, pem.as_bytes()).unwrap();
    let codec = JwtCodec::builder()
        .issuer("api")
        .audience("app")
        .key(key)
        .build()
        .unwrap();
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthService::builder(store.clone(), store)
        .token_codec(codec)
        .build()
        .unwrap();
    let eddsa = app(auth).await;
    let (status, headers, body) = call(&eddsa, TestRequest::get().uri("/auth/jwks")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers.get(header::CACHE_CONTROL).unwrap(),
        "public, max-age=300"
    );
    let key = &body["keys"][0];
    assert_eq!(
        (&key["kid"], &key["alg"], &key["use"]),
        (&json!("k1"), &json!("EdDSA"), &json!("sig"))
    );
    assert_eq!(
        (&key["kty"], &key["crv"]),
        (&json!("OKP"), &json!("Ed25519"))
    );
    assert!(key.get("d").is_none(), "{body}");
}

/// `X-Refresh-Cookie: 1`: the refresh token moves to a cookie scoped to
/// the scope's prefix, refresh reads it from there, a reuse and a missing
/// cookie are 401s that clear it, sign-out clears it, and a cross-site
/// request is refused.
#[actix_web::test]
async fn the_refresh_cookie_transport() {
    let app = app(auth_service().await).await;
    let opt_in = ("x-refresh-cookie", "1");
    let credentials = json!({"email": "ada@example.com", "password": "correct horse battery"});
    let request = json_post("/auth/sign-up", &credentials).insert_header(opt_in);
    let (status, headers, body) = call(&app, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let set_cookie = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
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
    let refresh = |cookie: Option<&str>| {
        let request = TestRequest::post()
            .uri("/auth/refresh")
            .insert_header(opt_in);
        match cookie {
            Some(cookie) => {
                request.insert_header((header::COOKIE, format!("__Host-auth_refresh={cookie}")))
            }
            None => request,
        }
    };

    let (status, headers, body) = call(&app, refresh(Some(&token))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let rotated = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(rotated.starts_with("__Host-auth_refresh=") && !rotated.contains(&token));

    let cleared = "__Host-auth_refresh=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0";
    let (status, headers, body) = call(&app, refresh(Some(&token))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "refresh_token_reused");
    assert_eq!(headers.get(header::SET_COOKIE).unwrap(), cleared);
    let (status, headers, body) = call(&app, refresh(None)).await;
    assert_eq!(body["code"], "invalid_refresh_token");
    assert_eq!(
        (
            status,
            headers.get(header::SET_COOKIE).unwrap().to_str().unwrap()
        ),
        (StatusCode::UNAUTHORIZED, cleared)
    );

    let cross_site = refresh(Some(&token)).insert_header(("sec-fetch-site", "cross-site"));
    let (status, headers, body) = call(&app, cross_site).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::FORBIDDEN, &json!("cross_site_request"))
    );
    assert!(headers.get(header::SET_COOKIE).is_none());

    let (status, _, body) = call(&app, json_post("/auth/sign-in", &credentials)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let sign_out = TestRequest::post()
        .uri("/auth/sign-out")
        .insert_header(opt_in)
        .insert_header(bearer(access));
    let (status, headers, _) = call(&app, sign_out).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers.get(header::SET_COOKIE).unwrap(), cleared);
}
