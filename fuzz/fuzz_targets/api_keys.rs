//! API keys from the network, through the endpoint list as the adapters
//! run them, against one user who has one key. The first byte picks:
//! a body for `POST /api-keys` (with the user's access token), a bearer
//! for `GET /me` (which takes keys) and `GET /api-keys` (which refuses
//! them) and for the verifier of the application's routes, or an id for
//! `DELETE /api-keys/{id}`. In a bearer, `KEY` stands for the user's key,
//! so that mutations land around a real one.
//!
//! Checked: never a 5xx; a key is made only from a name of 1 to 64
//! characters (trimmed, no control characters) and a lifetime of 1 to 365
//! days or none, and always from a printable ASCII name and such a
//! lifetime; a bearer signs in only when it is the user's access
//! token or key, and a key (or anything of a key's shape) never gets
//! past a route that needs a session; no id but the key's deletes it.
#![no_main]

use std::sync::OnceLock;

use auth_core::{
    AuthService, MemoryStore, Password, SignUpRequest,
    clock::ManualClock,
    endpoint::{self, Method, Reply, Request},
    service::{ApiKeys, CreateApiKeyRequest},
};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

struct Fixture {
    auth: AuthService,
    user: auth_core::UserId,
    token: String,
    key: String,
    key_id: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        runtime().block_on(async {
            let auth = AuthService::with_store(MemoryStore::new())
                .token_codec(single_key_codec())
                .password_hasher(small_hasher())
                .clock(ManualClock::new(now()))
                .client_rate_limit(None)
                .api_keys(ApiKeys::new())
                .build()
                .unwrap();
            let session = auth
                .sign_up(SignUpRequest {
                    email: USER_EMAIL.into(),
                    password: Password::new(USER_PASSWORD),
                    name: None,
                })
                .await
                .and_then(auth_core::SignUp::signed_in)
                .unwrap();
            let token = session.access_token.expose_secret().to_owned();
            let principal = auth.authenticate(&token).await.unwrap();
            let made = auth.create_api_key(&principal, "fuzz", None).await.unwrap();
            Fixture {
                auth,
                user: session.user.id,
                token,
                key: made.key.expose_secret().to_owned(),
                key_id: made.id,
            }
        })
    })
}

async fn call(method: Method, path: &str, request: Request, body: &[u8]) -> Reply {
    let auth = &fixture().auth;
    let route = endpoint::find(method, path).unwrap();
    let reply = match route.prepare(auth, request).await {
        Ok(call) => call.run(auth, body.to_vec()).await,
        Err(reply) => reply,
    };
    assert!(reply.status() < 500, "{path} answered {}", reply.status());
    reply
}

fn with_token() -> Request {
    let bearer = format!("Bearer {}", fixture().token);
    Request::new(None)
        .header("authorization", bearer.as_bytes())
        .header("content-type", b"application/json")
}

/// What the service must answer a body with: `Some(true)` a key, for
/// what the route's JSON parser reads (an object of the request type;
/// unknown fields ignored) with a name of 1 to 64 printable ASCII
/// characters once trimmed and a lifetime of 1 to 365 days or none;
/// `Some(false)` no key, for anything that breaks a rule (a name that
/// trims to nothing, is over 64 characters or has a control character;
/// a lifetime out of range); `None` either, for other names (the service
/// also refuses hidden characters, a long list not repeated here).
fn verdict(body: &[u8]) -> Option<bool> {
    if body.trim_ascii_start().first() == Some(&b'[') {
        return Some(false);
    }
    let Ok(request) = serde_json::from_slice::<CreateApiKeyRequest>(body) else {
        return Some(false);
    };
    let name = request.name.trim();
    let days_ok = request
        .expires_in_days
        .is_none_or(|days| (1..=365).contains(&days));
    if !days_ok || !(1..=64).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        return Some(false);
    }
    if name.chars().all(|c| (' '..='~').contains(&c)) {
        Some(true)
    } else {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    runtime().block_on(async {
        match mode % 3 {
            0 => {
                let reply = call(Method::Post, "/api-keys", with_token(), rest).await;
                let body = String::from_utf8_lossy(rest);
                if let Some(must) = verdict(rest) {
                    assert_eq!(
                        reply.status() == 201,
                        must,
                        "{} for {body:?}",
                        reply.status()
                    );
                }
                if reply.status() == 201 {
                    let made: Value = serde_json::from_slice(reply.body()).unwrap();
                    // Deleted again, so that the cap is never reached.
                    let id = made["id"].as_str().unwrap();
                    fixture
                        .auth
                        .delete_api_key(&fixture.user, id)
                        .await
                        .unwrap();
                } else {
                    assert!(
                        matches!(reply.status(), 400 | 413 | 415 | 422),
                        "create answered {}",
                        reply.status()
                    );
                }
            }
            1 => {
                let bearer = String::from_utf8_lossy(rest).replace("KEY", &fixture.key);
                let header = format!("Bearer {bearer}");
                let request = || Request::new(None).header("authorization", header.as_bytes());
                // The token as the adapters read it from the header.
                let token =
                    auth_core::http::bearer_token(Some(header.as_bytes())).unwrap_or_default();
                let is_token = token == fixture.token;
                let is_key = token == fixture.key;
                let me = call(Method::Get, "/me", request(), b"").await;
                assert_eq!(
                    me.status() == 200,
                    is_token || is_key,
                    "GET /me: {}",
                    me.status()
                );
                let list = call(Method::Get, "/api-keys", request(), b"").await;
                assert_eq!(
                    list.status() == 200,
                    is_token,
                    "GET /api-keys: {}",
                    list.status()
                );
                if is_key {
                    assert_eq!(list.status(), 403);
                }
                let verified = fixture.auth.verifier().authenticate(token).await;
                assert_eq!(verified.is_ok(), is_token || is_key, "{verified:?}");
                if let Ok(principal) = verified {
                    assert_eq!(principal.user_id(), &fixture.user);
                    assert_eq!(principal.api_key_id().is_some(), is_key);
                }
            }
            _ => {
                let id = String::from_utf8_lossy(rest);
                if id == fixture.key_id {
                    return;
                }
                let reply = call(
                    Method::Delete,
                    "/api-keys/{id}",
                    with_token().path_param(&id),
                    b"",
                )
                .await;
                assert_eq!(reply.status(), 404, "delete {id:?}");
            }
        }
    });
});
