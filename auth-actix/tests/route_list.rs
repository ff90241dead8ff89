//! The routes `auth_actix::scope` mounts, the auth-core endpoint list and
//! the OpenAPI document's paths are the same set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use actix_web::{
    App,
    http::{Method, StatusCode},
    test::{self, TestRequest},
    web,
};
use auth_actix::auth_core::{AuthService, JwtCodec, MemoryStore, endpoint, openapi::AuthApi};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

#[actix_web::test]
async fn mounted_routes_list_and_openapi_agree() {
    let store = MemoryStore::new();
    let auth = AuthService::builder(store.clone(), store)
        .token_codec(JwtCodec::hs256(b"route-list-secret-of-32-bytes!!!", "api", "app").unwrap())
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(auth.clone()))
            .service(auth_actix::scope("/api/auth", &auth))
            .default_service(web::to(auth_actix::not_found)),
    )
    .await;
    let listed = endpoint::routes();
    let documented = AuthApi::operations();
    let paths: BTreeSet<&str> = listed
        .iter()
        .chain(&documented)
        .map(|(_, p)| p.as_str())
        .collect();
    let mut mounted = BTreeSet::new();
    for path in paths {
        for method in METHODS {
            let uri = format!("/api/auth{}", path.replace("{id}", "some-id"));
            let request = TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(&uri)
                .to_request();
            let response = test::call_service(&app, request).await;
            let status = response.status();
            let body = test::read_body(response).await;
            if status != StatusCode::METHOD_NOT_ALLOWED
                && !String::from_utf8_lossy(&body).contains("no such route")
            {
                mounted.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    assert_eq!(
        listed.len(),
        endpoint::endpoints().count(),
        "a route is listed twice"
    );
    assert_eq!(mounted, listed, "mounted vs listed");
    assert_eq!(documented, listed, "documented vs listed");
}
