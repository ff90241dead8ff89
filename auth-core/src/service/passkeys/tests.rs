//! The service's passkey calls on the memory store, with the software
//! authenticator and a clock the tests move.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;
use time::OffsetDateTime;

use super::{AuthenticationResponse, Passkeys, RegistrationResponse};
use crate::service::test_support;
use crate::{
    AuthError, AuthService, JwtCodec, MemoryStore, Password, PasswordHash, Principal, SignIn,
    SignUpRequest, UserId, clock::ManualClock, service::ImportedUser, sign_in::SecondFactor,
    testing::SoftAuthenticator,
};

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://example.com";

/// A second factor that `grace@example.com` has: a passkey without user
/// verification must still ask for it.
struct GraceHasOne(MemoryStore);

#[async_trait]
impl SecondFactor for GraceHasOne {
    fn method(&self) -> &'static str {
        "fixed"
    }
    async fn is_enabled(&self, user: &UserId) -> Result<bool, AuthError> {
        use crate::UserStore as _;
        let user = self.0.find_user_by_id(user).await?;
        Ok(user.is_some_and(|user| user.email.as_str() == "grace@example.com"))
    }
    async fn verify(&self, _: &UserId, code: &str) -> Result<bool, AuthError> {
        Ok(code == "123456")
    }
    async fn remove(&self, _: &UserId) -> Result<(), AuthError> {
        Ok(())
    }
}

fn service() -> (AuthService, ManualClock) {
    let store = MemoryStore::new();
    let clock = ManualClock::new(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap());
    let auth = AuthService::builder(store.clone(), store.clone())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .credentials(store.clone())
        .clock(clock.clone())
        .second_factor(GraceHasOne(store))
        .passkeys(Passkeys::new(RP_ID, [ORIGIN]).rp_name("Example"))
        .build()
        .unwrap();
    (auth, clock)
}

/// A user signed up with a verified address, as a principal.
async fn signed_up(auth: &AuthService, email: &str) -> Principal {
    let session = test_support::signed_up(auth, email, "correct horse battery").await;
    auth.mark_email_verified(&session.user.id, &session.user.email)
        .await
        .unwrap();
    test_support::principal(auth, &session).await
}

fn registration(value: Value) -> RegistrationResponse {
    serde_json::from_value(value).unwrap()
}

fn assertion(value: Value) -> AuthenticationResponse {
    serde_json::from_value(value).unwrap()
}

/// Registers `authenticator` for `principal`; the options it answered.
async fn register(
    auth: &AuthService,
    principal: &Principal,
    authenticator: &mut SoftAuthenticator,
) -> Result<super::PasskeyInfo, AuthError> {
    let options = auth.passkey_registration_options(principal).await?;
    let answer = authenticator.create(&serde_json::to_value(&options.options).unwrap());
    auth.register_passkey(
        principal,
        &options.challenge_id,
        &registration(answer),
        None,
    )
    .await
}

/// Signs in with `authenticator`, changing its answer with `tamper`.
async fn sign_in_with(
    auth: &AuthService,
    authenticator: &mut SoftAuthenticator,
    tamper: impl FnOnce(&mut Value),
) -> Result<SignIn, AuthError> {
    let options = auth.passkey_sign_in_options().await?;
    let mut answer = authenticator.get(&serde_json::to_value(&options.options).unwrap());
    tamper(&mut answer);
    auth.sign_in_with_passkey(&options.challenge_id, &assertion(answer))
        .await
}

#[tokio::test]
async fn a_registered_passkey_signs_in_without_an_email() {
    let (auth, _) = service();
    let ada = signed_up(&auth, "ada@example.com").await;
    let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
    let options = auth.passkey_registration_options(&ada).await.unwrap();
    let json = serde_json::to_value(&options.options).unwrap();
    assert_eq!(json["rp"]["id"], RP_ID);
    assert_eq!(json["rp"]["name"], "Example");
    assert_eq!(json["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        json["authenticatorSelection"]["userVerification"],
        "required"
    );
    let answer = authenticator.create(&json);
    let info = auth
        .register_passkey(
            &ada,
            &options.challenge_id,
            &registration(answer),
            Some("  Laptop "),
        )
        .await
        .unwrap();
    assert_eq!(info.name, "Laptop");
    assert_eq!(info.last_used_at, None);

    let signed_in = sign_in_with(&auth, &mut authenticator, |_| {})
        .await
        .unwrap();
    let SignIn::Complete(session) = signed_in else {
        panic!("a verified passkey signs in at once");
    };
    assert_eq!(&session.user.id, ada.user_id());
    let listed = auth.passkeys(ada.user_id()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "Laptop");
    assert!(listed[0].last_used_at.is_some());

    // The next registration excludes it.
    let options = auth.passkey_registration_options(&ada).await.unwrap();
    let excluded =
        serde_json::to_value(&options.options).unwrap()["excludeCredentials"][0]["id"].clone();
    assert_eq!(
        excluded,
        URL_SAFE_NO_PAD.encode(authenticator.credential_id())
    );
}

#[tokio::test]
async fn user_verification_decides_whether_a_second_factor_follows() {
    let (auth, _) = service();
    let grace = signed_up(&auth, "grace@example.com").await;
    let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
    register(&auth, &grace, &mut authenticator).await.unwrap();

    let verified = sign_in_with(&auth, &mut authenticator, |_| {})
        .await
        .unwrap();
    assert!(
        matches!(verified, SignIn::Complete(_)),
        "UV counts as two factors"
    );

    authenticator.user_verified = false;
    let unverified = sign_in_with(&auth, &mut authenticator, |_| {})
        .await
        .unwrap();
    let SignIn::SecondFactorRequired(challenge) = unverified else {
        panic!("without UV a passkey is one factor");
    };
    assert_eq!(challenge.methods, ["fixed"]);

    // A user without a second factor is signed in by it alone.
    let ada = signed_up(&auth, "ada@example.com").await;
    let mut hers = SoftAuthenticator::new(RP_ID, ORIGIN);
    register(&auth, &ada, &mut hers).await.unwrap();
    hers.user_verified = false;
    let SignIn::Complete(session) = sign_in_with(&auth, &mut hers, |_| {}).await.unwrap() else {
        panic!("one factor is enough without a second");
    };
    assert!(!session.user.two_factor_enabled);
}

#[tokio::test]
async fn registration_needs_user_verification_a_verified_address_and_a_recent_sign_in() {
    let (auth, clock) = service();
    let ada = signed_up(&auth, "ada@example.com").await;
    let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
    authenticator.user_verified = false;
    assert!(matches!(
        register(&auth, &ada, &mut authenticator).await,
        Err(AuthError::InvalidCredential)
    ));

    let session = auth
        .sign_up(SignUpRequest {
            email: "eve@example.com".into(),
            password: Password::new("correct horse battery"),
            name: None,
        })
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    let eve = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    assert!(matches!(
        auth.passkey_registration_options(&eve).await,
        Err(AuthError::EmailNotVerified)
    ));

    clock.advance(time::Duration::minutes(11));
    assert!(matches!(
        auth.passkey_registration_options(&ada).await,
        Err(AuthError::ReauthenticationRequired)
    ));
}

#[tokio::test]
async fn a_failed_ceremony_is_invalid_credential() {
    let (auth, clock) = service();
    let ada = signed_up(&auth, "ada@example.com").await;
    let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
    register(&auth, &ada, &mut authenticator).await.unwrap();

    let refused = async |authenticator: &mut SoftAuthenticator, tamper: fn(&mut Value)| {
        matches!(
            sign_in_with(&auth, authenticator, tamper).await,
            Err(AuthError::InvalidCredential)
        )
    };
    authenticator.origin = "https://evil.example.com".into();
    assert!(refused(&mut authenticator, |_| {}).await, "another origin");
    authenticator.origin = ORIGIN.into();
    authenticator.rp_id = "evil.com".into();
    assert!(refused(&mut authenticator, |_| {}).await, "another RP id");
    authenticator.rp_id = RP_ID.into();
    assert!(
        refused(&mut authenticator, |answer| {
            let signature = answer["response"]["signature"].as_str().unwrap();
            let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            answer["response"]["signature"] = URL_SAFE_NO_PAD.encode(bytes).into();
        })
        .await,
        "a tampered signature"
    );
    assert!(
        refused(&mut authenticator, |answer| {
            answer["response"]["userHandle"] = URL_SAFE_NO_PAD.encode("someone else").into();
        })
        .await,
        "another user handle"
    );
    assert!(
        refused(&mut authenticator, |answer| {
            answer["response"]["userHandle"] = Value::Null;
        })
        .await,
        "no user handle"
    );

    // A counter that does not go up: equal, then lower.
    assert!(
        sign_in_with(&auth, &mut authenticator, |_| {})
            .await
            .is_ok()
    );
    authenticator.counter -= 1;
    assert!(
        refused(&mut authenticator, |_| {}).await,
        "the same counter"
    );
    authenticator.counter -= 2;
    assert!(refused(&mut authenticator, |_| {}).await, "a lower counter");
    authenticator.counter += 10;
    assert!(
        sign_in_with(&auth, &mut authenticator, |_| {})
            .await
            .is_ok()
    );

    // A challenge is spent by its first attempt, good or bad.
    let options = auth.passkey_sign_in_options().await.unwrap();
    let json = serde_json::to_value(&options.options).unwrap();
    authenticator.origin = "https://evil.example.com".into();
    let bad = assertion(authenticator.get(&json));
    assert!(
        auth.sign_in_with_passkey(&options.challenge_id, &bad)
            .await
            .is_err()
    );
    authenticator.origin = ORIGIN.into();
    let good = assertion(authenticator.get(&json));
    assert!(matches!(
        auth.sign_in_with_passkey(&options.challenge_id, &good)
            .await,
        Err(AuthError::InvalidCredential)
    ));

    // And lasts 5 minutes.
    let options = auth.passkey_sign_in_options().await.unwrap();
    let answer = assertion(authenticator.get(&serde_json::to_value(&options.options).unwrap()));
    clock.advance(time::Duration::seconds(5 * 60 + 1));
    assert!(matches!(
        auth.sign_in_with_passkey(&options.challenge_id, &answer)
            .await,
        Err(AuthError::InvalidCredential)
    ));

    // A registration challenge is not a sign-in one.
    let signed_up_again = signed_up(&auth, "grace@example.com").await;
    let options = auth
        .passkey_registration_options(&signed_up_again)
        .await
        .unwrap();
    let answer = assertion(authenticator.get(&serde_json::to_value(&options.options).unwrap()));
    assert!(matches!(
        auth.sign_in_with_passkey(&options.challenge_id, &answer)
            .await,
        Err(AuthError::InvalidCredential)
    ));
}

#[tokio::test]
async fn a_deleted_passkey_signs_in_no_more_and_the_last_way_in_stays() {
    let (auth, _) = service();
    let ada = signed_up(&auth, "ada@example.com").await;
    let grace = signed_up(&auth, "grace@example.com").await;
    let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
    let info = register(&auth, &ada, &mut authenticator).await.unwrap();

    assert!(matches!(
        auth.delete_passkey(grace.user_id(), &info.id).await,
        Err(AuthError::NotFound)
    ));
    auth.delete_passkey(ada.user_id(), &info.id).await.unwrap();
    assert!(matches!(
        sign_in_with(&auth, &mut authenticator, |_| {}).await,
        Err(AuthError::InvalidCredential)
    ));
    assert!(auth.passkeys(ada.user_id()).await.unwrap().is_empty());

    // An account without a password keeps its last passkey.
    let user = auth
        .import_user(ImportedUser {
            email: "lin@example.com".into(),
            name: None,
            password_hash: PasswordHash::none(),
            email_verified: true,
        })
        .await
        .unwrap();
    let session = auth.open_session(&user.id).await.unwrap();
    let lin = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    let mut first = SoftAuthenticator::new(RP_ID, ORIGIN);
    let mut second = SoftAuthenticator::new(RP_ID, ORIGIN);
    let one = register(&auth, &lin, &mut first).await.unwrap();
    let two = register(&auth, &lin, &mut second).await.unwrap();
    auth.delete_passkey(lin.user_id(), &one.id).await.unwrap();
    assert!(matches!(
        auth.delete_passkey(lin.user_id(), &two.id).await,
        Err(AuthError::LastSignInMethod)
    ));
    assert!(sign_in_with(&auth, &mut second, |_| {}).await.is_ok());
}

#[tokio::test]
async fn names_are_checked() {
    let (auth, _) = service();
    let ada = signed_up(&auth, "ada@example.com").await;
    for name in ["", "   ", "tab\there", &"x".repeat(65)] {
        let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
        let options = auth.passkey_registration_options(&ada).await.unwrap();
        let answer = authenticator.create(&serde_json::to_value(&options.options).unwrap());
        assert!(
            matches!(
                auth.register_passkey(
                    &ada,
                    &options.challenge_id,
                    &registration(answer),
                    Some(name)
                )
                .await,
                Err(AuthError::InvalidName { max: 64 })
            ),
            "{name:?}"
        );
    }
    let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
    let info = register(&auth, &ada, &mut authenticator).await.unwrap();
    assert_eq!(info.name, "Passkey");
}

#[test]
fn the_rp_id_must_cover_every_origin() {
    let check =
        |rp_id: &str, origins: &[&str]| Passkeys::new(rp_id, origins.iter().copied()).check();
    assert!(
        check(
            "example.com",
            &["https://example.com", "https://app.example.com:8443"]
        )
        .is_ok()
    );
    assert!(check("localhost", &["http://localhost:8080"]).is_ok());
    for (rp_id, origin) in [
        ("example.com", "https://example.org"),
        ("example.com", "https://badexample.com"),
        ("app.example.com", "https://example.com"),
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("Example.com", "https://example.com"),
        ("example.com", "https://example.com/path"),
        ("example.com", "https://example.com/"),
        ("example.com", "ftp://example.com"),
        ("", "https://example.com"),
    ] {
        assert!(check(rp_id, &[origin]).is_err(), "{rp_id} {origin}");
    }
    assert!(check("example.com", &[]).is_err());
    let refused = AuthService::builder(MemoryStore::new(), MemoryStore::new())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .credentials(MemoryStore::new())
        .passkeys(Passkeys::new("example.com", ["https://example.org"]))
        .build();
    assert!(matches!(refused, Err(AuthError::InvalidConfig(_))));
}

#[tokio::test]
async fn a_registration_begun_before_signing_out_everywhere_does_not_finish() {
    let (auth, _) = service();
    let ada = signed_up(&auth, "ada@example.com").await;
    let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
    let options = auth.passkey_registration_options(&ada).await.unwrap();
    let answer = registration(authenticator.create(&options.options));
    auth.sign_out_everywhere(ada.user_id()).await.unwrap();
    assert!(matches!(
        auth.register_passkey(&ada, &options.challenge_id, &answer, None)
            .await,
        Err(AuthError::ReauthenticationRequired)
    ));
    assert!(auth.passkeys(ada.user_id()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_user_has_at_most_25_passkeys() {
    let (auth, _) = service();
    let ada = signed_up(&auth, "ada@example.com").await;
    for _ in 0..super::MAX_PASSKEYS {
        let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
        register(&auth, &ada, &mut authenticator).await.unwrap();
    }
    assert!(matches!(
        auth.passkey_registration_options(&ada).await,
        Err(AuthError::TooManyPasskeys)
    ));
}
