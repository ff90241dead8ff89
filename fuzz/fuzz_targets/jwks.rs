//! A trusted issuer's JWKS document on arbitrary input: parsing it into
//! `Jwks`, taking each key's RFC 7638 thumbprint, building `IssuerKeys`
//! from it, and verifying both a real Ed25519 token (signed by the key a
//! well-formed document would list) and a fuzzer-written token against it.
//! Nothing may panic; a key set built from the fuzzer's keys accepts only
//! claims for the configured issuer and audience.
//!
//! Input: the JWKS JSON, then a newline, then a token.
#![no_main]

use std::sync::OnceLock;

use auth_core::{
    JwtCodec, JwtKey, SessionId, UserId,
    token::{AccessClaims, IssuerKeys, Jwks, TokenCodec},
};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;

/// A real EdDSA token for [`ED25519_PRIVATE_PEM`] (kid `ed`), valid at
/// [`now`]: a document that lists its public key accepts it.
fn real_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let codec = JwtCodec::builder()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .key(JwtKey::ed25519_pem("ed", ED25519_PRIVATE_PEM, ED25519_PUBLIC_PEM).unwrap())
            .build()
            .unwrap();
        let iat = now().unix_timestamp();
        codec
            .issue(&AccessClaims {
                sub: UserId::new("user-1"),
                sid: Some(SessionId::new("session-1")),
                jti: Some("jti-1".into()),
                iat,
                exp: iat + 600,
                nbf: None,
                iss: ISSUER.into(),
                aud: AUDIENCE.into(),
                custom: serde_json::Map::new(),
            })
            .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let (document, token) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(jwks) = serde_json::from_slice::<Jwks>(document) else {
        return;
    };
    for key in &jwks.keys {
        if let Some(thumbprint) = key.thumbprint() {
            // SHA-256, base64url without padding.
            assert_eq!(thumbprint.len(), 43);
        }
    }
    let Ok(keys) = IssuerKeys::new(&jwks, ISSUER, AUDIENCE) else {
        return;
    };
    assert!(!keys.is_empty());
    let token = String::from_utf8_lossy(token);
    for candidate in [real_token(), token.as_ref()] {
        match keys.verify(candidate, now()) {
            Ok(claims) => {
                assert_eq!(claims.iss, ISSUER);
                assert_eq!(claims.aud, AUDIENCE);
            }
            Err(err) => check_token_error(&err),
        }
    }
});
