//! Access-token costs: issuing, `authenticate` without the session check
//! (HS256 and EdDSA) or with it answered by a warm session cache (HS256),
//! and a raw `jsonwebtoken::decode` of the same token as the floor. Goal:
//! stateless and cache-hit `authenticate` within 1.2× of the floor.
//!
//! Run with `cargo bench -p auth-core --bench tokens`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::hint::black_box;

use auth_core::{
    JwtCodec, JwtKey,
    token::{AccessClaims, TokenCodec},
};
use common::{
    AUDIENCE, HandWrittenClaims, ISSUER, SECRET, cache_hit_service, floor_validation, hs256_codec,
    ready, service,
};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey};

const ED_PRIVATE: &[u8] = include_bytes!("../tests/keys/ed25519-a.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../tests/keys/ed25519-a.pub.pem");

fn eddsa_codec() -> JwtCodec {
    JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(JwtKey::ed25519_pem("bench", ED_PRIVATE, ED_PUBLIC).unwrap())
        .build()
        .unwrap()
}

fn bench_algorithm(
    c: &mut Criterion,
    name: &str,
    make_codec: fn() -> JwtCodec,
    decoding: DecodingKey,
    alg: Algorithm,
) {
    let issuing = make_codec();
    let (auth, token) = service(make_codec(), false, None);
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
    let (auth, token) = service(hs256_codec(), true, None);
    c.bench_function("hs256/authenticate_session_check_memory_store", |b| {
        b.iter(|| ready(auth.authenticate(black_box(&token))).unwrap())
    });

    // The session check answered by a warm session cache (60 s TTL): every
    // measured call is a cache hit, no store lookup.
    let (auth, token) = cache_hit_service();
    c.bench_function("hs256/authenticate_session_cache_hit", |b| {
        b.iter(|| ready(auth.authenticate(black_box(&token))).unwrap())
    });
}

criterion_group!(benches, tokens);
criterion_main!(benches);
