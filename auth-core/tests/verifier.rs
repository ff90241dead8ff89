//! `Verifier`: the one token check for both kinds of backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::{
    AuthError, AuthService, JwtAlgorithm, JwtCodec, JwtKey, MemoryStore, Password, SignUpRequest,
    UserId, Verifier,
    clock::{Clock, ManualClock},
    token::{AccessClaims, IssuerKeys, TokenCodec},
};
use time::{Duration, OffsetDateTime};

const ISSUER: &str = "https://front.example";

fn other_issuer() -> (JwtCodec, IssuerKeys) {
    let pem = JwtKey::generate_private_pem(JwtAlgorithm::Es256).unwrap();
    let codec = JwtCodec::builder()
        .issuer(ISSUER)
        .audience(ISSUER)
        .key(JwtKey::from_private_pem("k1", JwtAlgorithm::Es256, pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let keys = IssuerKeys::new(&codec.jwks(), ISSUER, ISSUER).unwrap();
    (codec, keys)
}

fn token(codec: &JwtCodec, now: OffsetDateTime, lifetime: i64) -> String {
    codec
        .issue(&AccessClaims {
            sub: UserId::new("user-1"),
            sid: None,
            jti: None,
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp() + lifetime,
            nbf: None,
            iss: ISSUER.into(),
            aud: ISSUER.into(),
            custom: serde_json::Map::new(),
        })
        .unwrap()
}

#[tokio::test]
async fn a_trusted_verifier_checks_the_issuers_tokens_and_has_no_service() {
    let (codec, keys) = other_issuer();
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    let verifier = Verifier::trusted(keys).clock(clock.clone());
    assert!(verifier.service().is_none(), "no flows in this mode");
    assert_eq!((verifier.issuer(), verifier.audience()), (ISSUER, ISSUER));

    let good = token(&codec, clock.now(), 60);
    let principal = verifier.authenticate(&good).await.unwrap();
    assert_eq!(principal.user_id(), &UserId::new("user-1"));
    assert_eq!(principal.session_id(), None);

    // The verifier's clock judges `exp`.
    clock.advance(Duration::hours(1));
    assert!(matches!(
        verifier.authenticate(&good).await,
        Err(AuthError::TokenExpired)
    ));

    // A token of another key, however well formed, is refused.
    let (stranger, _) = other_issuer();
    let forged = token(&stranger, clock.now(), 60);
    assert!(matches!(
        verifier.authenticate(&forged).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn a_services_verifier_checks_the_session_too() {
    let auth = AuthService::with_store(MemoryStore::new())
        .token_codec(JwtCodec::hs256(b"verifier-test-secret-of-32-bytes", "api", "app").unwrap())
        .build()
        .unwrap();
    let verifier = auth.verifier();
    assert!(verifier.service().is_some());
    let signed_up = auth
        .sign_up(SignUpRequest {
            email: "ada@example.com".into(),
            password: Password::new("correct horse battery staple"),
            name: None,
        })
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    let access = signed_up.access_token.expose_secret();
    let principal = verifier.authenticate(access).await.unwrap();
    assert_eq!(principal.user_id(), &signed_up.user.id);

    auth.sign_out(&principal).await.unwrap();
    assert!(matches!(
        verifier.authenticate(access).await,
        Err(AuthError::SessionRevoked)
    ));
    assert!(!format!("{verifier:?}").contains("secret"));
}

#[test]
fn a_service_needs_a_codec_and_says_where_trusted_mode_went() {
    let err = AuthService::with_store(MemoryStore::new())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("Verifier::trusted"), "{err}");
}
