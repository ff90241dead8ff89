//! Our own tokens signed with EdDSA, ES256 and RS256, and their JWKS.
//! RS256 signs only on the aws-lc-rs backend (RUSTSEC-2023-0071): the
//! tests of both configurations are here, chosen by `cfg`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::{
    AuthError, JwtAlgorithm, JwtCodec, JwtKey, SessionId, UserId,
    token::{AccessClaims, IssuerKeys, Jwks, TokenCodec},
};
use time::OffsetDateTime;

const ISSUER: &str = "https://api.example.test";
const AUDIENCE: &str = "tasks";

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

/// The asymmetric algorithms this build signs with.
fn signing_algorithms() -> Vec<JwtAlgorithm> {
    let mut algorithms = vec![JwtAlgorithm::EdDsa, JwtAlgorithm::Es256];
    if cfg!(feature = "aws-lc-rs") {
        algorithms.push(JwtAlgorithm::Rs256);
    }
    algorithms
}

fn codec(keys: Vec<JwtKey>, signing: &str) -> JwtCodec {
    let mut builder = JwtCodec::builder().issuer(ISSUER).audience(AUDIENCE);
    for key in keys {
        builder = builder.key(key);
    }
    builder.signing_key(signing).build().unwrap()
}

/// A token checked by jsonwebtoken alone, with the key read back from our
/// published JWK: what another service does with our JWKS.
fn verify_with_published_jwk(codec: &JwtCodec, token: &str) -> String {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.clone().expect("a kid header");
    let published = serde_json::to_string(&codec.jwks()).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&published).unwrap();
    let jwk = set.find(&kid).expect("the token's kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).unwrap();
    data.claims["sub"].as_str().unwrap().to_owned()
}

#[test]
fn generated_keys_sign_verify_and_publish_their_public_half() {
    for algorithm in signing_algorithms() {
        let pem = JwtKey::generate_private_pem(algorithm).unwrap();
        assert!(
            pem.starts_with("-----BEGIN PRIVATE KEY-----"),
            "{algorithm}"
        );
        let key = JwtKey::from_private_pem("k1", algorithm, pem.as_bytes()).unwrap();
        assert!(key.can_sign());
        let codec = codec(vec![key], "k1");
        let token = codec.issue(&claims()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(
            format!("{:?}", header.alg).to_uppercase(),
            algorithm.as_str().to_uppercase()
        );
        assert_eq!(
            codec.verify(&token, now()).unwrap().sub,
            UserId::new("user-1")
        );
        assert_eq!(verify_with_published_jwk(&codec, &token), "user-1");

        let jwks = serde_json::to_value(codec.jwks()).unwrap();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["use"], "sig", "{jwk}");
        assert_eq!(jwk["alg"], algorithm.as_str());
        assert_eq!(jwk["kid"], "k1");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none(), "{private} in {jwk}");
        }
    }
}

#[test]
fn openssl_keys_in_every_usual_format_load() {
    let cases: [(JwtAlgorithm, &[u8]); 5] = [
        (
            JwtAlgorithm::EdDsa,
            include_bytes!("keys/openssl/ed25519-pkcs8.pem"),
        ),
        (
            JwtAlgorithm::Es256,
            include_bytes!("keys/openssl/p256-pkcs8.pem"),
        ),
        (
            JwtAlgorithm::Es256,
            include_bytes!("keys/openssl/p256-sec1.pem"),
        ),
        (
            JwtAlgorithm::Rs256,
            include_bytes!("keys/openssl/rsa2048-pkcs8.pem"),
        ),
        (
            JwtAlgorithm::Rs256,
            include_bytes!("keys/openssl/rsa2048-pkcs1.pem"),
        ),
    ];
    let signing = signing_algorithms();
    for (algorithm, pem) in cases.into_iter().filter(|(alg, _)| signing.contains(alg)) {
        let key = JwtKey::from_private_pem("ops", algorithm, pem).unwrap();
        let codec = codec(vec![key], "ops");
        let token = codec.issue(&claims()).unwrap();
        assert_eq!(
            verify_with_published_jwk(&codec, &token),
            "user-1",
            "{algorithm}"
        );
    }
    // The two forms of one key publish the same public key.
    let pkcs8 = JwtKey::from_private_pem(
        "a",
        JwtAlgorithm::Es256,
        include_bytes!("keys/openssl/p256-pkcs8.pem"),
    )
    .unwrap();
    let sec1 = JwtKey::from_private_pem(
        "a",
        JwtAlgorithm::Es256,
        include_bytes!("keys/openssl/p256-sec1.pem"),
    )
    .unwrap();
    assert_eq!(pkcs8.public_jwk(), sec1.public_jwk());
}

#[test]
fn wrong_or_weak_keys_are_refused() {
    let ed = include_bytes!("keys/openssl/ed25519-pkcs8.pem");
    let p256 = include_bytes!("keys/openssl/p256-pkcs8.pem");
    let refused = [
        (JwtAlgorithm::Es256, &ed[..]),
        (JwtAlgorithm::Rs256, &p256[..]),
        (JwtAlgorithm::EdDsa, &p256[..]),
        (
            JwtAlgorithm::Rs256,
            &include_bytes!("keys/openssl/rsa1024-pkcs8.pem")[..],
        ),
        (JwtAlgorithm::Es512, &p256[..]),
        (JwtAlgorithm::Hs256, &p256[..]),
        (JwtAlgorithm::Es256, &b"not a key"[..]),
        (JwtAlgorithm::Es256, &[0xff, 0xfe][..]),
    ];
    for (algorithm, pem) in refused {
        match JwtKey::from_private_pem("x", algorithm, pem) {
            Err(AuthError::InvalidConfig(_)) => {}
            other => panic!("{algorithm}: {other:?}"),
        }
    }
    assert!(JwtKey::generate_private_pem(JwtAlgorithm::Es512).is_err());
    assert!(JwtKey::generate_private_pem(JwtAlgorithm::Hs256).is_err());
}

#[test]
fn rotation_signs_with_the_new_key_and_still_verifies_the_old() {
    let old = || {
        JwtKey::from_private_pem(
            "old",
            JwtAlgorithm::Es256,
            include_bytes!("keys/openssl/p256-pkcs8.pem"),
        )
        .unwrap()
    };
    let new_pem = JwtKey::generate_private_pem(JwtAlgorithm::Es256).unwrap();
    let new = || JwtKey::from_private_pem("new", JwtAlgorithm::Es256, new_pem.as_bytes()).unwrap();
    let before = codec(vec![old()], "old");
    let old_token = before.issue(&claims()).unwrap();
    let during = codec(vec![old(), new()], "new");
    let new_token = during.issue(&claims()).unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("new")
    );
    assert!(during.verify(&old_token, now()).is_ok());
    assert!(during.verify(&new_token, now()).is_ok());
    let kids: Vec<_> = during
        .jwks()
        .keys
        .into_iter()
        .filter_map(|k| k.kid)
        .collect();
    assert_eq!(kids, ["old", "new"]);
    // After the old key is retired, its tokens stop verifying.
    let after = codec(vec![new()], "new");
    assert!(matches!(
        after.verify(&old_token, now()),
        Err(AuthError::InvalidToken)
    ));
}

#[test]
fn debug_shows_no_key_material_and_hs256_publishes_nothing() {
    let pem = include_bytes!("keys/openssl/p256-pkcs8.pem");
    let key = JwtKey::from_private_pem("p", JwtAlgorithm::Es256, pem).unwrap();
    let x = key.public_jwk().unwrap().x.unwrap();
    let shown = format!("{key:?}");
    assert!(
        !shown.contains(&x[..16]) && !shown.contains("PRIVATE"),
        "{shown}"
    );
    let hs = JwtCodec::hs256(b"an example secret of 32+ bytes!!", ISSUER, AUDIENCE).unwrap();
    assert!(hs.jwks().keys.is_empty());
}

/// RUSTSEC-2023-0071 (the Marvin attack): with rust-crypto alone, an RS256
/// key does not sign, whatever its format, and the refusal says why and
/// what to use instead. Generating one still works.
#[cfg(not(feature = "aws-lc-rs"))]
#[test]
fn rs256_signing_is_refused_on_rust_crypto() {
    let Err(AuthError::InvalidConfig(why)) = JwtAlgorithm::Rs256.check_signing() else {
        panic!("RS256 signing allowed on rust-crypto");
    };
    for named in ["RUSTSEC-2023-0071", "Marvin", "EdDSA", "ES256", "aws-lc-rs"] {
        assert!(why.contains(named), "{named} not in {why:?}");
    }
    let generated = JwtKey::generate_private_pem(JwtAlgorithm::Rs256).unwrap();
    for pem in [
        &include_bytes!("keys/openssl/rsa2048-pkcs8.pem")[..],
        &include_bytes!("keys/openssl/rsa2048-pkcs1.pem")[..],
        generated.as_bytes(),
    ] {
        match JwtKey::from_private_pem("r", JwtAlgorithm::Rs256, pem) {
            Err(AuthError::InvalidConfig(refused)) => assert_eq!(refused, why),
            other => panic!("{other:?}"),
        }
    }
}

/// With aws-lc-rs (constant-time RSA), RS256 keys sign, and their tokens
/// verify here and with the published JWK.
#[cfg(feature = "aws-lc-rs")]
#[test]
fn rs256_signs_on_aws_lc_rs() {
    assert!(JwtAlgorithm::Rs256.check_signing().is_ok());
    let pem = include_bytes!("keys/openssl/rsa2048-pkcs8.pem");
    let key = JwtKey::from_private_pem("r", JwtAlgorithm::Rs256, pem).unwrap();
    assert!(key.can_sign());
    let codec = codec(vec![key], "r");
    let token = codec.issue(&claims()).unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().alg,
        jsonwebtoken::Algorithm::RS256
    );
    assert!(codec.verify(&token, now()).is_ok());
    assert_eq!(verify_with_published_jwk(&codec, &token), "user-1");
}

/// Verifying needs the public key only, outside the advisory: another
/// issuer's RS256 tokens verify on either backend.
#[test]
fn rs256_tokens_of_other_issuers_verify_on_either_backend() {
    // Also installs auth-core's backend as jsonwebtoken's default, which
    // jsonwebtoken needs below when both backends are compiled in.
    let _ = JwtAlgorithm::Rs256.check_signing();
    let signing =
        jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!("keys/openssl/rsa2048-pkcs8.pem"))
            .unwrap();
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&signing, jsonwebtoken::Algorithm::RS256)
            .unwrap();
    jwk.common.key_id = Some("other".into());
    let jwks: Jwks = serde_json::from_value(serde_json::json!({ "keys": [jwk] })).unwrap();
    let keys = IssuerKeys::new(&jwks, ISSUER, AUDIENCE).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("other".into());
    let token = jsonwebtoken::encode(&header, &claims(), &signing).unwrap();
    assert_eq!(
        keys.verify(&token, now()).unwrap().sub,
        UserId::new("user-1")
    );
}
