//! Runs one access-token or sign-in operation N times, for counting
//! instructions under `valgrind --tool=callgrind` (`scripts/callgrind.sh`),
//! which stay comparable on a noisy machine where times do not.
//!
//!   instructions <case> <iterations>
//!
//! Cases: `raw_decode` (`jsonwebtoken::decode` of the HS256 token into a
//! hand-written claims struct, the floor of `benches/tokens.rs`),
//! `authenticate_cache_hit` (`authenticate` with the session check answered
//! by a warm session cache) and `authenticate_stateless`; and per sign-in:
//! `raw_verify` (the `argon2` crate's verify with the default parameters,
//! the `hashing` bench's floor) and `sign_in` (`AuthService::sign_in` on
//! `MemoryStore` with the default `Argon2Hasher`). Given anything
//! else (as under `cargo bench`, with its `--bench` flag and filters), it
//! runs each case once and prints the usage.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::hint::black_box;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use auth_core::{Password, SignInRequest};
use common::{
    EMAIL, HandWrittenClaims, PASSWORD, SECRET, cache_hit_service, floor_validation, hs256_codec,
    ready, service,
};
use jsonwebtoken::{Algorithm, DecodingKey};

const CASES: [&str; 5] = [
    "raw_decode",
    "authenticate_cache_hit",
    "authenticate_stateless",
    "raw_verify",
    "sign_in",
];

/// Sets `case` up, then runs it `iterations` times.
fn run(case: &str, iterations: u64) {
    match case {
        "raw_decode" => {
            let (_auth, token) = service(hs256_codec(), false, None);
            let decoding = DecodingKey::from_secret(SECRET).unwrap();
            let validation = floor_validation(Algorithm::HS256);
            repeat(iterations, || {
                jsonwebtoken::decode::<HandWrittenClaims>(
                    black_box(&token),
                    &decoding,
                    &validation,
                )
                .unwrap();
            });
        }
        "authenticate_cache_hit" => {
            let (auth, token) = cache_hit_service();
            repeat(iterations, || {
                ready(auth.authenticate(black_box(&token))).unwrap();
            });
        }
        "authenticate_stateless" => {
            let (auth, token) = service(hs256_codec(), false, None);
            repeat(iterations, || {
                auth.authenticate_stateless(black_box(&token)).unwrap();
            });
        }
        "raw_verify" => {
            let raw = Argon2::new(
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                argon2::Params::new(19_456, 2, 1, None).unwrap(),
            );
            let hash = raw.hash_password(PASSWORD.as_bytes()).unwrap().to_string();
            repeat(iterations, || {
                raw.verify_password(black_box(PASSWORD.as_bytes()), hash.as_str())
                    .unwrap();
            });
        }
        "sign_in" => {
            let (auth, _token) = service(hs256_codec(), true, None);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            repeat(iterations, || {
                let request = SignInRequest {
                    email: EMAIL.into(),
                    password: Password::new(PASSWORD),
                };
                runtime.block_on(auth.sign_in(black_box(request))).unwrap();
            });
        }
        _ => unreachable!("main runs only known cases"),
    }
}

fn repeat(iterations: u64, mut operation: impl FnMut()) {
    for _ in 0..iterations {
        operation();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [case, iterations] if CASES.contains(&case.as_str()) => {
            run(case, iterations.parse().expect("iterations: a number"));
        }
        // Anything else, such as `cargo bench`'s `--bench` and filters.
        _ => {
            for case in CASES {
                run(case, 1);
            }
            println!(
                "instructions: ran each case once. Usage: instructions <case> <iterations>, \
                 case one of {CASES:?}; see scripts/callgrind.sh"
            );
        }
    }
}
