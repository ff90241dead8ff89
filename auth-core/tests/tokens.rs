//! Access-token verification against hostile and malformed tokens.
// Test code: a panic is a test failure, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::{
    AuthError, JwtCodec, JwtKey, SessionId, UserId,
    token::{AccessClaims, TokenCodec},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use time::OffsetDateTime;

const ED_A: &[u8] = include_bytes!("keys/ed25519-a.pem");
const ED_A_PUB: &[u8] = include_bytes!("keys/ed25519-a.pub.pem");
const ED_B: &[u8] = include_bytes!("keys/ed25519-b.pem");
const ED_B_PUB: &[u8] = include_bytes!("keys/ed25519-b.pub.pem");

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap()
}

fn claims() -> AccessClaims {
    let iat = now().unix_timestamp();
    AccessClaims {
        sub: UserId::new("user-1"),
        sid: Some(SessionId::new("session-1")),
        jti: Some("token-1".into()),
        iat,
        exp: iat + 900,
        nbf: None,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        custom: serde_json::Map::new(),
    }
}

fn claims_json() -> Value {
    serde_json::to_value(claims()).unwrap()
}

/// An access-token header (`typ: at+jwt`) for `alg`.
fn at_header(alg: Algorithm) -> Header {
    let mut header = Header::new(alg);
    header.typ = Some("at+jwt".into());
    header
}

/// Signs arbitrary claims JSON with the test secret, bypassing our codec.
fn hs256_raw(payload: &str, alg: Algorithm) -> String {
    hs256_with_header(&at_header(alg), payload)
}

/// Signs arbitrary claims JSON under `header` with the test secret.
fn hs256_with_header(header: &Header, payload: &str) -> String {
    let alg = header.alg;
    let header = B64.encode(serde_json::to_vec(header).unwrap());
    let message = format!("{header}.{}", B64.encode(payload));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET).unwrap(),
        alg,
    )
    .unwrap();
    format!("{message}.{signature}")
}

fn assert_invalid(codec: &JwtCodec, token: &str) {
    let result = codec.verify(token, now());
    assert!(
        matches!(result, Err(AuthError::InvalidToken)),
        "{result:?} for {token}"
    );
}

#[test]
fn a_good_token_round_trips() {
    let codec = codec();
    let token = codec.issue(&claims()).unwrap();
    assert_eq!(codec.verify(&token, now()).unwrap(), claims());
    // The header names its key and algorithm.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.kid.as_deref(), Some("default"));
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
}

#[test]
fn only_access_token_typs_are_accepted() {
    let codec = codec();
    let payload = claims_json().to_string();
    for typ in [
        None,
        Some("JWT"),
        Some("id+jwt"),
        Some("application/jwt"),
        Some(""),
    ] {
        let mut header = at_header(Algorithm::HS256);
        header.typ = typ.map(str::to_owned);
        assert_invalid(&codec, &hs256_with_header(&header, &payload));
    }
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let mut header = at_header(Algorithm::HS256);
        header.typ = Some(typ.into());
        codec
            .verify(&hs256_with_header(&header, &payload), now())
            .unwrap();
    }
}

/// `jti` is 128 random bits, different on every token, refreshes included.
#[tokio::test]
async fn every_token_gets_its_own_jti() {
    let jti_of = |token: &str| -> String {
        let payload = B64.decode(token.split('.').nth(1).unwrap()).unwrap();
        let claims: Value = serde_json::from_slice(&payload).unwrap();
        claims["jti"].as_str().unwrap().to_owned()
    };
    let (auth, _) = service();
    let signed_up = sign_up(&auth, "jti@example.com").await;
    let mut ids = std::collections::HashSet::new();
    ids.insert(jti_of(signed_up.access_token.expose_secret()));
    let mut refresh = signed_up.refresh_token;
    for _ in 0..5 {
        let signed_in = auth
            .sign_in(sign_in_request("jti@example.com", PASSWORD))
            .await
            .unwrap()
            .signed_in()
            .unwrap();
        ids.insert(jti_of(signed_in.access_token.expose_secret()));
        let refreshed = auth.refresh(refresh.expose_secret()).await.unwrap();
        ids.insert(jti_of(refreshed.access_token.expose_secret()));
        refresh = refreshed.refresh_token;
    }
    assert_eq!(ids.len(), 11);
    assert!(ids.iter().all(|id| id.len() == 22), "{ids:?}");
}

#[test]
fn a_tampered_payload_is_refused() {
    let codec = codec();
    let token = codec.issue(&claims()).unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = claims_json();
    payload["sub"] = json!("admin");
    parts[1] = B64.encode(serde_json::to_vec(&payload).unwrap());
    assert_invalid(&codec, &parts.join("."));
    // A flipped signature bit too.
    let mut bytes = token.into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    assert_invalid(&codec, &String::from_utf8(bytes).unwrap());
}

#[test]
fn alg_none_is_refused() {
    let codec = codec();
    let header = B64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = B64.encode(claims_json().to_string());
    assert_invalid(&codec, &format!("{header}.{payload}."));
    assert_invalid(&codec, &format!("{header}.{payload}"));
    let header = B64.encode(r#"{"alg":"None"}"#);
    assert_invalid(&codec, &format!("{header}.{payload}."));
}

#[test]
fn other_algorithms_are_refused_even_with_the_right_secret() {
    let codec = codec();
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        assert_invalid(&codec, &hs256_raw(&claims_json().to_string(), alg));
    }
    // Sanity check of the helper: HS256 with the same secret is accepted.
    codec
        .verify(
            &hs256_raw(&claims_json().to_string(), Algorithm::HS256),
            now(),
        )
        .unwrap();
}

#[test]
fn wrong_issuer_or_audience_is_refused() {
    let codec = codec();
    for (field, value) in [("iss", "https://evil.test"), ("aud", "another-app")] {
        let mut payload = claims_json();
        payload[field] = json!(value);
        assert_invalid(&codec, &hs256_raw(&payload.to_string(), Algorithm::HS256));
    }
    // A codec of another issuer sharing the secret: still refused.
    let other = JwtCodec::hs256(SECRET, "https://other.test", AUDIENCE).unwrap();
    let mut foreign = claims();
    foreign.iss = "https://other.test".into();
    assert_invalid(&codec, &other.issue(&foreign).unwrap());
}

#[test]
fn a_missing_required_claim_is_refused() {
    let codec = codec();
    for claim in ["sub", "sid", "jti", "iat", "exp", "iss", "aud"] {
        let mut payload = claims_json();
        payload.as_object_mut().unwrap().remove(claim);
        assert_invalid(&codec, &hs256_raw(&payload.to_string(), Algorithm::HS256));
    }
}

#[test]
fn duplicate_claims_never_let_the_first_one_win() {
    let codec = codec();
    let c = claims();
    let payload = format!(
        r#"{{"sub":"{}","sub":"admin","sid":"{}","jti":"{}","iat":{},"exp":{},"iss":"{ISSUER}","aud":"{AUDIENCE}"}}"#,
        c.sub,
        c.sid.as_ref().expect("set"),
        c.jti.as_deref().expect("set"),
        c.iat,
        c.exp
    );
    match codec.verify(&hs256_raw(&payload, Algorithm::HS256), now()) {
        Err(AuthError::InvalidToken) => {}
        Ok(claims) => assert_eq!(claims.sub.as_str(), "admin", "the first `sub` won"),
        Err(other) => panic!("{other:?}"),
    }
}

#[test]
fn times_are_checked_against_the_given_clock() {
    let codec = JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(JwtKey::hs256("k", SECRET).unwrap())
        .leeway(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let token = codec.issue(&claims()).unwrap();
    let at = |secs: i64| now() + time::Duration::seconds(secs);
    codec.verify(&token, at(900 + 59)).unwrap();
    assert!(matches!(
        codec.verify(&token, at(900 + 60)),
        Err(AuthError::TokenExpired)
    ));
    // Issued in the future (beyond the leeway): refused.
    assert!(matches!(
        codec.verify(&token, at(-61)),
        Err(AuthError::InvalidToken)
    ));
    codec.verify(&token, at(-60)).unwrap();

    let mut not_yet = claims();
    not_yet.nbf = Some(not_yet.iat + 120);
    let token = codec.issue(&not_yet).unwrap();
    assert!(matches!(
        codec.verify(&token, now()),
        Err(AuthError::InvalidToken)
    ));
    codec.verify(&token, at(60)).unwrap();
}

#[test]
fn garbage_and_huge_tokens_are_ordinary_invalid_tokens() {
    let codec = codec();
    for token in [
        "",
        ".",
        "..",
        "a.b.c",
        "not a token",
        "eyJhbGciOiJIUzI1NiJ9..",
        "🦀.🦀.🦀",
    ] {
        assert_invalid(&codec, token);
    }
    let good = codec.issue(&claims()).unwrap();
    assert_invalid(&codec, &format!("{good}{}", "A".repeat(100_000)));
    let mut payload = claims_json();
    payload["padding"] = json!("x".repeat(100_000));
    assert_invalid(&codec, &hs256_raw(&payload.to_string(), Algorithm::HS256));
}

fn eddsa_codec() -> JwtCodec {
    JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(JwtKey::ed25519_pem("ed-a", ED_A, ED_A_PUB).unwrap())
        .build()
        .unwrap()
}

#[test]
fn eddsa_tokens_round_trip() {
    let codec = eddsa_codec();
    let token = codec.issue(&claims()).unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().alg,
        Algorithm::EdDSA
    );
    assert_eq!(codec.verify(&token, now()).unwrap(), claims());

    // A verifier holding only the public key accepts it.
    let verifier = JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(JwtKey::ed25519_public_pem("ed-a", ED_A_PUB).unwrap())
        .key(JwtKey::hs256("local", SECRET).unwrap())
        .build()
        .unwrap();
    assert_eq!(verifier.verify(&token, now()).unwrap(), claims());
}

#[test]
fn eddsa_refuses_other_keys_and_algorithm_confusion() {
    let codec = eddsa_codec();
    let other = JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(JwtKey::ed25519_pem("ed-a", ED_B, ED_B_PUB).unwrap())
        .build()
        .unwrap();
    assert_invalid(&codec, &other.issue(&claims()).unwrap());

    // HS256 "signed" with the public key as the HMAC secret: the classic
    // confusion attack. The key's algorithm is pinned, so it fails.
    let header = B64.encode(r#"{"alg":"HS256","kid":"ed-a"}"#);
    let message = format!("{header}.{}", B64.encode(claims_json().to_string()));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(ED_A_PUB).unwrap(),
        Algorithm::HS256,
    )
    .unwrap();
    assert_invalid(&codec, &format!("{message}.{signature}"));
}

#[test]
fn mismatched_or_malformed_ed25519_keys_fail_at_start_up() {
    assert!(matches!(
        JwtKey::ed25519_pem("x", ED_A, ED_B_PUB),
        Err(AuthError::InvalidConfig(_))
    ));
    assert!(JwtKey::ed25519_pem("x", b"not a pem", ED_A_PUB).is_err());
    assert!(JwtKey::ed25519_public_pem("x", b"junk").is_err());
    assert!(JwtKey::hs256("", SECRET).is_err());
}

#[test]
fn key_rotation_by_kid() {
    let old_signer = JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(JwtKey::hs256("2026-10", b"the previous secret, 32+ bytes long").unwrap())
        .build()
        .unwrap();
    let old_token = old_signer.issue(&claims()).unwrap();

    let rotated = JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(JwtKey::hs256("2026-10", b"the previous secret, 32+ bytes long").unwrap())
        .key(JwtKey::ed25519_pem("2026-11", ED_A, ED_A_PUB).unwrap())
        .signing_key("2026-11")
        .build()
        .unwrap();
    let new_token = rotated.issue(&claims()).unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("2026-11")
    );
    rotated.verify(&old_token, now()).unwrap();
    rotated.verify(&new_token, now()).unwrap();

    // With several keys a token must name one of them: the same token,
    // correctly signed with the old key but without a kid, is refused...
    let previous = EncodingKey::from_secret(b"the previous secret, 32+ bytes long").unwrap();
    let unnamed = jsonwebtoken::encode(&at_header(Algorithm::HS256), &claims(), &previous).unwrap();
    assert!(
        old_signer.verify(&unnamed, now()).is_ok(),
        "control: valid for one key"
    );
    assert_invalid(&rotated, &unnamed);
    // ...and so is one naming a kid that is not in the set.
    let mut header = at_header(Algorithm::HS256);
    header.kid = Some("2027-01".into());
    let unknown = jsonwebtoken::encode(&header, &claims(), &previous).unwrap();
    assert_invalid(&rotated, &unknown);
    // A kid naming the EdDSA key on an HS256 token: the key's algorithm wins.
    header.kid = Some("2026-11".into());
    let confused = jsonwebtoken::encode(&header, &claims(), &previous).unwrap();
    assert_invalid(&rotated, &confused);
}

#[test]
fn key_set_mistakes_fail_at_start_up() {
    let hs = || JwtKey::hs256("same", SECRET).unwrap();
    let base = || JwtCodec::builder().issuer(ISSUER).audience(AUDIENCE);
    assert!(base().build().is_err(), "no key");
    assert!(base().key(hs()).key(hs()).build().is_err(), "duplicate kid");
    assert!(
        base().key(hs()).signing_key("other").build().is_err(),
        "unknown signing kid"
    );
    let public_only = JwtKey::ed25519_public_pem("pub", ED_A_PUB).unwrap();
    assert!(base().key(public_only).build().is_err(), "no key can sign");
}

#[tokio::test]
async fn eddsa_works_through_the_service() {
    let store = auth_core::MemoryStore::new();
    let auth = builder(&store).token_codec(eddsa_codec()).build().unwrap();
    let session = sign_up(&auth, "eddsa@example.com").await;
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(principal.user_id(), &session.user.id);
}
