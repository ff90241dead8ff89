//! The routes `auth_axum::routes` mounts, the auth-core endpoint list and
//! the OpenAPI document's paths are the same set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use auth_axum::auth_core::{AuthService, JwtCodec, MemoryStore, endpoint, openapi::AuthApi};
use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Request, StatusCode},
    middleware::map_response,
};
use tower::ServiceExt;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn app() -> Router {
    let store = MemoryStore::new();
    let auth = AuthService::builder(store.clone(), store)
        .token_codec(JwtCodec::hs256(b"route-list-secret-of-32-bytes!!!", "api", "app").unwrap())
        .build()
        .unwrap();
    Router::new()
        .merge(auth_axum::routes("/api/auth", &auth))
        .fallback(auth_axum::not_found)
        .layer(map_response(auth_axum::problem_for_bare_errors))
        .with_state(auth)
}

/// Whether the router serves `method path`: neither a 405 nor the
/// fallback's "no such route".
async fn serves(app: &Router, method: &str, path: &str) -> bool {
    let uri = format!("/api/auth{}", path.replace("{id}", "some-id"));
    let request = Request::builder().method(method).uri(uri);
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    status != StatusCode::METHOD_NOT_ALLOWED
        && !String::from_utf8_lossy(&body).contains("no such route")
}

#[tokio::test]
async fn mounted_routes_list_and_openapi_agree() {
    let listed = endpoint::routes();
    let documented = AuthApi::operations();
    let app = app();
    let paths: BTreeSet<&str> = listed
        .iter()
        .chain(&documented)
        .map(|(_, p)| p.as_str())
        .collect();
    let mut mounted = BTreeSet::new();
    for path in paths {
        for method in METHODS {
            if serves(&app, method, path).await {
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
