//! Access-token costs: issuing, `authenticate` without the session check
//! (HS256 and EdDSA), and a raw `jsonwebtoken::decode` of the same token as
//! the floor. Goal: stateless `authenticate` within 1.2× of the floor.
//!
//! Run with `cargo bench -p auth-core --bench tokens`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    future::Future,
    hint::black_box,
    pin::pin,
    task::{Context, Poll, Waker},
};

use auth_core::{
    AccessClaims, AuthService, JwtCodec, JwtKey, MemoryStore, Password, SignUpRequest, TokenCodec,
};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

const SECRET: &[u8] = b"benchmark-secret-of-at-least-32-bytes";
const ISSUER: &str = "https://api.example.com";
const AUDIENCE: &str = "todo-app";
const ED_PRIVATE: &[u8] = include_bytes!("../tests/keys/ed25519-a.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../tests/keys/ed25519-a.pub.pem");

/// What an application decoding by hand would typically declare.
#[derive(Deserialize)]
#[allow(dead_code)]
struct HandWrittenClaims {
    sub: String,
    sid: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// Polls a future that never waits (no session check) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("stateless authenticate must not wait"),
    }
}

fn service(codec: JwtCodec, check_sessions: bool) -> (AuthService, String) {
    let store = MemoryStore::new();
    let auth = AuthService::builder(store.clone(), store)
        .token_codec(codec)
        .check_sessions(check_sessions)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let response = runtime
        .block_on(auth.sign_up(SignUpRequest {
            email: "bench@example.com".into(),
            password: Password::new("benchmark password"),
            name: None,
        }))
        .unwrap();
    (auth, response.access_token.expose_secret().to_owned())
}

fn hs256_codec() -> JwtCodec {
    JwtCodec::hs256(SECRET, ISSUER, AUDIENCE).unwrap()
}

fn eddsa_codec() -> JwtCodec {
    JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(JwtKey::ed25519_pem("bench", ED_PRIVATE, ED_PUBLIC).unwrap())
        .build()
        .unwrap()
}

fn floor_validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    validation
}

fn bench_algorithm(
    c: &mut Criterion,
    name: &str,
    make_codec: fn() -> JwtCodec,
    decoding: DecodingKey,
    alg: Algorithm,
) {
    let issuing = make_codec();
    let (auth, token) = service(make_codec(), false);
    let claims: AccessClaims = auth
        .authenticate_stateless(&token)
        .unwrap()
        .claims()
        .clone();
    let validation = floor_validation(alg);
    let mut group = c.benchmark_group(name);

    group.bench_function("issue", |b| {
        b.iter(|| issuing.issue(black_box(&claims)).unwrap())
    });
    group.bench_function("raw_decode_floor", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<HandWrittenClaims>(black_box(&token), &decoding, &validation)
                .unwrap()
        })
    });
    group.bench_function("raw_decode_access_claims", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<AccessClaims>(black_box(&token), &decoding, &validation).unwrap()
        })
    });
    group.bench_function("authenticate_stateless", |b| {
        b.iter(|| auth.authenticate_stateless(black_box(&token)).unwrap())
    });
    group.bench_function("authenticate_session_check_off", |b| {
        b.iter(|| ready(auth.authenticate(black_box(&token))).unwrap())
    });
    group.finish();
}

fn tokens(c: &mut Criterion) {
    bench_algorithm(
        c,
        "hs256",
        hs256_codec,
        DecodingKey::from_secret(SECRET).unwrap(),
        Algorithm::HS256,
    );
    bench_algorithm(
        c,
        "eddsa",
        eddsa_codec,
        DecodingKey::from_ed_pem(ED_PUBLIC).unwrap(),
        Algorithm::EdDSA,
    );

    // For scale: the default, with the session check against MemoryStore.
    let (auth, token) = service(hs256_codec(), true);
    c.bench_function("hs256/authenticate_session_check_memory_store", |b| {
        b.iter(|| ready(auth.authenticate(black_box(&token))).unwrap())
    });
}

criterion_group!(benches, tokens);
criterion_main!(benches);
