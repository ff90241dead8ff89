//! Asymmetric token checks next to their floor: for ES256 and RS256, a raw
//! `jsonwebtoken::decode` of the token, `authenticate` with our own codec
//! (stateless), `IssuerKeys::verify`, and `Verifier::trusted(…).authenticate`
//! through a `RemoteJwks` whose keys are cached (served once by a
//! loopback HTTP server). Goal: each within 1.1× of the raw decode.
//!
//! Run with `cargo bench -p auth-core --bench issuer --all-features`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    hint::black_box,
    io::{Read, Write},
    net::TcpListener,
};

use auth_core::{
    AuthService, JwtAlgorithm, JwtCodec, JwtKey, MemoryStore, RemoteJwks, SessionId, UserId,
    Verifier,
    token::{AccessClaims, IssuerKeys, TokenCodec},
};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use time::OffsetDateTime;

const ISSUER: &str = "https://front.example";

/// What an application decoding by hand would typically declare.
#[derive(Deserialize)]
#[allow(dead_code)]
struct HandWrittenClaims {
    sub: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// Serves `body` to every request on a loopback port, on a thread.
fn serve_forever(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf);
            let _ = write!(
                socket,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn bench_algorithm(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    alg: JwtAlgorithm,
    pem: &[u8],
) {
    let codec = JwtCodec::builder()
        .issuer(ISSUER)
        .audience(ISSUER)
        .key(JwtKey::from_private_pem("bench", alg, pem).unwrap())
        .build()
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let token = codec
        .issue(&AccessClaims {
            sub: UserId::new("user-1"),
            sid: Some(SessionId::new("session-1")),
            jti: Some("j".into()),
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp() + 3600,
            nbf: None,
            iss: ISSUER.into(),
            aud: ISSUER.into(),
            custom: serde_json::Map::new(),
        })
        .unwrap();
    let jwks = codec.jwks();
    let published: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(&serde_json::to_string(&jwks).unwrap()).unwrap();
    let raw_key = DecodingKey::from_jwk(&published.keys[0]).unwrap();
    let mut validation = Validation::new(
        published.keys[0]
            .common
            .key_algorithm
            .map_or(jsonwebtoken::Algorithm::ES256, |alg| {
                alg.to_string().parse().unwrap()
            }),
    );
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[ISSUER]);

    let store = MemoryStore::new();
    let own = AuthService::builder(store.clone(), store)
        .token_codec(codec)
        .check_sessions(false)
        .build()
        .unwrap();
    let keys = IssuerKeys::new(&jwks, ISSUER, ISSUER).unwrap();
    let remote = RemoteJwks::builder(serve_forever(serde_json::to_string(&jwks).unwrap()))
        .issuer(ISSUER)
        .audience(ISSUER)
        .allow_http_loopback(true)
        .build()
        .unwrap();
    let trusted = runtime.block_on(async {
        remote.refresh_now().await.unwrap();
        Verifier::trusted(remote)
    });

    let mut group = c.benchmark_group(alg.as_str());
    group.bench_function("raw jsonwebtoken::decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<HandWrittenClaims>(black_box(&token), &raw_key, &validation)
                .unwrap()
        });
    });
    group.bench_function("authenticate, own codec (stateless)", |b| {
        b.iter(|| own.authenticate_stateless(black_box(&token)).unwrap());
    });
    group.bench_function("IssuerKeys::verify", |b| {
        b.iter(|| keys.verify(black_box(&token), now).unwrap());
    });
    group.bench_function("authenticate, trusted RemoteJwks (cached)", |b| {
        b.iter(|| {
            runtime
                .block_on(trusted.authenticate(black_box(&token)))
                .unwrap()
        });
    });
    group.finish();
}

fn asymmetric(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    bench_algorithm(
        c,
        &runtime,
        JwtAlgorithm::Es256,
        include_bytes!("../tests/keys/openssl/p256-pkcs8.pem"),
    );
    // RS256 keys sign on aws-lc-rs only (RUSTSEC-2023-0071).
    if JwtAlgorithm::Rs256.check_signing().is_ok() {
        bench_algorithm(
            c,
            &runtime,
            JwtAlgorithm::Rs256,
            include_bytes!("../tests/keys/openssl/rsa2048-pkcs8.pem"),
        );
    }
}

criterion_group!(benches, asymmetric);
criterion_main!(benches);
