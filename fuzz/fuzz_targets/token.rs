//! Access-token verification on arbitrary input: `JwtCodec::verify` with one
//! key and with a key set, `AuthService::authenticate_stateless`, and tokens
//! whose header and claims the fuzzer writes but that carry a valid HS256
//! signature (so claim parsing and validation are reached), or one made
//! with the Ed25519 public key as the HMAC secret (algorithm confusion).
//!
//! Input: a mode byte, then the raw token (mode 0) or `header\nclaims`.
#![no_main]

use std::sync::OnceLock;

use auth_core::{AuthService, JwtCodec, MemoryStore, token::TokenCodec};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;

struct Targets {
    single: JwtCodec,
    set: JwtCodec,
    service: AuthService,
}

fn targets() -> &'static Targets {
    static TARGETS: OnceLock<Targets> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let store = MemoryStore::new();
        Targets {
            single: single_key_codec(),
            set: key_set_codec(),
            service: AuthService::builder(store.clone(), store)
                .token_codec(single_key_codec())
                .clock(auth_core::clock::ManualClock::new(now()))
                .build()
                .unwrap(),
        }
    })
}

/// Verifies `token` everywhere; returns whether any codec accepted it.
fn verify_everywhere(token: &str) -> bool {
    let t = targets();
    let mut accepted = false;
    for codec in [&t.single, &t.set] {
        match codec.verify(token, now()) {
            Ok(claims) => {
                check_accepted_claims(codec, &claims);
                accepted = true;
            }
            Err(err) => check_token_error(&err),
        }
    }
    // The service verifies with the single-key codec at the same instant.
    let by_service = t.service.authenticate_stateless(token);
    assert_eq!(
        by_service.as_ref().ok().map(|p| p.claims().clone()),
        t.single.verify(token, now()).ok(),
        "the service and its codec disagree"
    );
    if let Err(err) = by_service {
        check_token_error(&err);
    }
    accepted
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            verify_everywhere(&String::from_utf8_lossy(rest));
        }
        mode => {
            let (header, claims) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (&br#"{"alg":"HS256","typ":"at+jwt"}"#[..], rest),
            };
            if mode == 1 {
                verify_everywhere(&hs256_token(header, claims, SECRET));
            } else {
                // HS256 over the Ed25519 public key: accepting this would let
                // anyone who knows the public key forge tokens.
                let forged = hs256_token(header, claims, ED25519_PUBLIC_PEM);
                assert!(
                    !verify_everywhere(&forged),
                    "a token signed with the public key was accepted"
                );
            }
        }
    }
});
