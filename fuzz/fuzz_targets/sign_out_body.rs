//! `POST /api/auth/sign-out` takes `{}` or nothing: the optional body as
//! the adapters parse it (`parse_optional_json`).
#![no_main]

use auth_core::http::parse_optional_json;
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;

fuzz_target!(|data: &[u8]| {
    for content_type in [JSON, None, Some(&b"text/plain"[..])] {
        match parse_optional_json::<IgnoredAny>(content_type, data) {
            Ok(_) => assert!(
                data.is_empty() || content_type == JSON,
                "a non-JSON body was accepted"
            ),
            Err(problem) => {
                assert!(!data.is_empty(), "an empty body was refused");
                check_parse_error(&problem);
            }
        }
    }
});
