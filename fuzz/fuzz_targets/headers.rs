//! Request-header parsing shared by both adapters: the bearer token of
//! `Authorization`, `Content-Type` and `Content-Length`. A bearer token
//! that parses goes on to token verification.
#![no_main]

use std::sync::OnceLock;

use auth_core::{
    AuthError, JwtCodec,
    http::{bearer_token, check_content_length, is_json},
    token::TokenCodec,
};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;

fn codec() -> &'static JwtCodec {
    static CODEC: OnceLock<JwtCodec> = OnceLock::new();
    CODEC.get_or_init(key_set_codec)
}

fuzz_target!(|data: &[u8]| {
    match bearer_token(Some(data)) {
        Ok(token) => {
            assert!(!token.is_empty());
            assert!(token.bytes().all(|b| b.is_ascii_graphic()), "{token:?}");
            assert!(data[..7].eq_ignore_ascii_case(b"bearer "), "{data:?}");
            assert_eq!(token.as_bytes(), data[7..].trim_ascii());
            // What one adapter reads, the other reads back the same.
            let resent = format!("Bearer {token}");
            assert_eq!(bearer_token(Some(resent.as_bytes())).ok(), Some(token));
            if let Err(err) = codec().verify(token, now()) {
                check_token_error(&err);
            }
        }
        Err(AuthError::MissingToken | AuthError::InvalidToken) => {}
        Err(other) => panic!("bearer_token answered {other:?}"),
    }

    let json = is_json(Some(data));
    if json {
        let essence = data.split(|&b| b == b';').next().unwrap_or_default();
        assert!(
            essence
                .trim_ascii()
                .eq_ignore_ascii_case(b"application/json")
        );
    }

    for limit in [0, 1, 65_536, usize::MAX] {
        if let Err(problem) = check_content_length(Some(data), limit) {
            assert_eq!(problem.status, 413);
            let announced: u64 = std::str::from_utf8(data).unwrap().trim().parse().unwrap();
            assert!(announced > limit as u64);
        }
    }
});
