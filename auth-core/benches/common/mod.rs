//! Setup shared by the `tokens` and `instructions` benches: an HS256
//! service on `MemoryStore` with one signed-up user, and the raw
//! `jsonwebtoken` floor it is compared with.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
    time::Duration,
};

use auth_core::{AuthService, JwtCodec, MemoryStore, Password, SignUpRequest};
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

pub(crate) const SECRET: &[u8] = b"benchmark-secret-of-at-least-32-bytes";
pub(crate) const ISSUER: &str = "https://api.example.com";
pub(crate) const AUDIENCE: &str = "todo-app";
/// The signed-up user's credentials.
pub(crate) const EMAIL: &str = "bench@example.com";
pub(crate) const PASSWORD: &str = "benchmark password";

/// What an application decoding by hand would typically declare.
#[derive(Deserialize)]
#[allow(dead_code)]
pub(crate) struct HandWrittenClaims {
    sub: String,
    sid: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// Polls a future that never waits to completion: `authenticate` without
/// the session check, or with it against `MemoryStore` or a cache hit.
pub(crate) fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("authenticate must not wait here"),
    }
}

/// A service on `MemoryStore` with one signed-up user, and that user's
/// access token. `cache_ttl`: the session cache (`None`: off).
pub(crate) fn service(
    codec: JwtCodec,
    check_sessions: bool,
    cache_ttl: Option<Duration>,
) -> (AuthService, String) {
    let store = MemoryStore::new();
    let auth = AuthService::builder(store.clone(), store)
        .token_codec(codec)
        .check_sessions(check_sessions)
        .session_cache_ttl(cache_ttl.unwrap_or(Duration::ZERO))
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let response = runtime
        .block_on(auth.sign_up(SignUpRequest {
            email: EMAIL.into(),
            password: Password::new(PASSWORD),
            name: None,
        }))
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    (auth, response.access_token.expose_secret().to_owned())
}

/// The HS256 service with the session check and a warm 60 s session
/// cache: every later `authenticate` of its token is a cache hit.
pub(crate) fn cache_hit_service() -> (AuthService, String) {
    let (auth, token) = service(hs256_codec(), true, Some(Duration::from_secs(60)));
    ready(auth.authenticate(&token)).unwrap();
    (auth, token)
}

pub(crate) fn hs256_codec() -> JwtCodec {
    JwtCodec::hs256(SECRET, ISSUER, AUDIENCE).unwrap()
}

pub(crate) fn floor_validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    validation
}
