//! The service's two-factor calls on the memory store, with a clock the
//! tests move.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use super::codes::TotpSecret;
use crate::service::test_support;
use crate::{
    AuthError, AuthService, Clock, EncryptionKey, JwtCodec, MemoryStore, Password, SignIn,
    SignInRequest, service::TwoFactor,
};

#[derive(Clone)]
struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, seconds: i64) {
        *self.0.lock().unwrap() += time::Duration::seconds(seconds);
    }
    fn unix(&self) -> u64 {
        u64::try_from(self.now().unix_timestamp()).unwrap()
    }
}

const PASSWORD: &str = "correct horse battery";

fn service() -> (AuthService, MemoryStore, TestClock) {
    let store = MemoryStore::new();
    let clock = TestClock(Arc::new(Mutex::new(
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    )));
    let auth = AuthService::builder(store.clone(), store.clone())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .credentials(store.clone())
        .clock(clock.clone())
        .sign_in_throttle(None)
        .two_factor(TwoFactor::new(
            "Test app",
            EncryptionKey::from_bytes([9; 32]),
        ))
        .build()
        .unwrap();
    (auth, store, clock)
}

/// Ada, signed up with her address verified (two-factor needs it).
async fn sign_up(auth: &AuthService) -> crate::AuthResponse {
    let mut session = test_support::signed_up(auth, "ada@example.com", PASSWORD).await;
    session.user = auth
        .mark_email_verified(&session.user.id, &session.user.email)
        .await
        .unwrap();
    session
}

async fn sign_in(auth: &AuthService) -> SignIn {
    auth.sign_in(SignInRequest {
        email: "ada@example.com".into(),
        password: Password::new(PASSWORD),
    })
    .await
    .unwrap()
}

/// The TOTP code of `secret` (base32) at `unix`.
fn code(secret: &str, unix: u64) -> String {
    TotpSecret::from_base32(secret).unwrap().code_at(unix)
}

/// Ada with two-factor on; her secret and backup codes.
async fn enabled(auth: &AuthService, clock: &TestClock) -> (crate::Principal, String, Vec<String>) {
    let session = sign_up(auth).await;
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    let setup = auth
        .setup_two_factor(&principal, Some(&Password::new(PASSWORD)))
        .await
        .unwrap();
    let secret = setup.secret.expose_secret().to_owned();
    auth.enable_two_factor(&principal, &code(&secret, clock.unix()))
        .await
        .unwrap();
    let codes = setup
        .backup_codes
        .iter()
        .map(|code| code.expose_secret().to_owned())
        .collect();
    (principal, secret, codes)
}

#[tokio::test]
async fn an_unverified_address_gets_no_second_factor() {
    // Its owner takes such an account back by email sign-in, factors and
    // all: a factor there would not hold.
    let (auth, _, _) = service();
    let session = test_support::signed_up(&auth, "eve@example.com", PASSWORD).await;
    let principal = test_support::principal(&auth, &session).await;
    assert!(matches!(
        auth.setup_two_factor(&principal, Some(&Password::new(PASSWORD)))
            .await,
        Err(AuthError::EmailNotVerified)
    ));
    assert!(matches!(
        auth.enable_two_factor(&principal, "123456").await,
        Err(AuthError::EmailNotVerified)
    ));
}

#[tokio::test]
async fn setup_is_off_until_a_code_turns_it_on() {
    let (auth, _, clock) = service();
    let session = sign_up(&auth).await;
    assert!(!session.user.two_factor_enabled);
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    let wrong = auth
        .setup_two_factor(&principal, Some(&Password::new("not the password")))
        .await;
    assert!(matches!(wrong, Err(AuthError::WrongPassword)));
    let setup = auth
        .setup_two_factor(&principal, Some(&Password::new(PASSWORD)))
        .await
        .unwrap();
    assert_eq!(setup.backup_codes.len(), 10);
    assert!(
        setup
            .otpauth_url
            .expose_secret()
            .starts_with("otpauth://totp/Test%20app:ada@example.com?")
    );
    let shown = format!("{setup:?}");
    assert!(!shown.contains(setup.secret.expose_secret()), "{shown}");
    assert!(
        matches!(sign_in(&auth).await, SignIn::Complete(_)),
        "not on yet"
    );
    let secret = setup.secret.expose_secret();
    let bad = auth.enable_two_factor(&principal, "000000").await;
    let right = code(secret, clock.unix());
    if right != "000000" {
        assert!(matches!(bad, Err(AuthError::InvalidSetupCode)));
    }
    assert!(matches!(
        auth.enable_two_factor(&principal, "12345a").await,
        Err(AuthError::InvalidSetupCode)
    ));
    auth.enable_two_factor(&principal, &right).await.unwrap();
    assert!(
        auth.current_user(&principal)
            .await
            .unwrap()
            .two_factor_enabled
    );
    assert!(
        matches!(
            auth.enable_two_factor(&principal, &right).await,
            Err(AuthError::InvalidSetupCode)
        ),
        "the setup is used up"
    );
    let SignIn::SecondFactorRequired(challenge) = sign_in(&auth).await else {
        panic!("two-factor is on")
    };
    assert_eq!(challenge.methods, ["totp", "backup_code"]);
}

#[tokio::test]
async fn a_totp_code_works_once_and_only_near_its_time() {
    let (auth, _, clock) = service();
    let (_, secret, _) = enabled(&auth, &clock).await;
    let now = clock.unix();
    let SignIn::SecondFactorRequired(first) = sign_in(&auth).await else {
        panic!()
    };
    let token = first.challenge_token.expose_secret().to_owned();
    // The step used to turn it on is spent.
    assert!(matches!(
        auth.verify_second_factor(&token, "totp", &code(&secret, now))
            .await,
        Err(AuthError::InvalidCode)
    ));
    // Two steps ahead is too far.
    assert!(matches!(
        auth.verify_second_factor(&token, "totp", &code(&secret, now + 60))
            .await,
        Err(AuthError::InvalidCode)
    ));
    // One step ahead, spaced as typed, works, once.
    let next = code(&secret, now + 30);
    let spaced = format!("{} {}", &next[..3], &next[3..]);
    let session = auth
        .verify_second_factor(&token, "totp", &spaced)
        .await
        .unwrap();
    assert!(session.user.two_factor_enabled);
    let SignIn::SecondFactorRequired(second) = sign_in(&auth).await else {
        panic!()
    };
    assert!(matches!(
        auth.verify_second_factor(second.challenge_token.expose_secret(), "totp", &next)
            .await,
        Err(AuthError::InvalidCode)
    ));
    clock.advance(60);
    assert!(
        auth.verify_second_factor(
            second.challenge_token.expose_secret(),
            "totp",
            &code(&secret, clock.unix())
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn backup_codes_work_once_and_regenerating_voids_them() {
    let (auth, _, clock) = service();
    let (principal, _, codes) = enabled(&auth, &clock).await;
    let SignIn::SecondFactorRequired(first) = sign_in(&auth).await else {
        panic!()
    };
    let digits: String = codes[0].chars().filter(char::is_ascii_digit).collect();
    auth.verify_second_factor(
        first.challenge_token.expose_secret(),
        "backup_code",
        &digits,
    )
    .await
    .unwrap();
    let SignIn::SecondFactorRequired(second) = sign_in(&auth).await else {
        panic!()
    };
    let token = second.challenge_token.expose_secret().to_owned();
    assert!(matches!(
        auth.verify_second_factor(&token, "backup_code", &codes[0])
            .await,
        Err(AuthError::InvalidCode)
    ));
    let fresh = auth
        .regenerate_backup_codes(&principal, Some(&Password::new(PASSWORD)))
        .await
        .unwrap();
    assert!(matches!(
        auth.verify_second_factor(&token, "backup_code", &codes[1])
            .await,
        Err(AuthError::InvalidCode)
    ));
    auth.verify_second_factor(&token, "backup_code", fresh[0].expose_secret())
        .await
        .unwrap();
}

#[tokio::test]
async fn disabling_and_the_operator_reset_turn_it_off() {
    let (auth, _, clock) = service();
    let (principal, _, _) = enabled(&auth, &clock).await;
    assert!(matches!(
        auth.disable_two_factor(&principal, None).await,
        Err(AuthError::WrongPassword)
    ));
    auth.disable_two_factor(&principal, Some(&Password::new(PASSWORD)))
        .await
        .unwrap();
    assert!(matches!(sign_in(&auth).await, SignIn::Complete(_)));
    assert!(matches!(
        auth.regenerate_backup_codes(&principal, Some(&Password::new(PASSWORD)))
            .await,
        Err(AuthError::TwoFactorNotEnabled)
    ));
    // On again, then reset by an operator.
    let setup = auth
        .setup_two_factor(&principal, Some(&Password::new(PASSWORD)))
        .await
        .unwrap();
    clock.advance(30);
    auth.enable_two_factor(
        &principal,
        &code(setup.secret.expose_secret(), clock.unix()),
    )
    .await
    .unwrap();
    assert!(matches!(
        sign_in(&auth).await,
        SignIn::SecondFactorRequired(_)
    ));
    assert!(auth.reset_two_factor(principal.user_id()).await.unwrap());
    assert!(!auth.reset_two_factor(principal.user_id()).await.unwrap());
    assert!(matches!(sign_in(&auth).await, SignIn::Complete(_)));
}

#[tokio::test]
async fn enabling_signs_out_the_other_sessions() {
    let (auth, _, clock) = service();
    let session = sign_up(&auth).await;
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    let SignIn::Complete(other) = sign_in(&auth).await else {
        panic!("two-factor is off")
    };
    let setup = auth
        .setup_two_factor(&principal, Some(&Password::new(PASSWORD)))
        .await
        .unwrap();
    assert_eq!(auth.list_sessions(&principal).await.unwrap().len(), 2);
    auth.enable_two_factor(
        &principal,
        &code(setup.secret.expose_secret(), clock.unix()),
    )
    .await
    .unwrap();
    let sessions = auth.list_sessions(&principal).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].current, "the caller's session stays");
    assert!(
        auth.authenticate(other.access_token.expose_secret())
            .await
            .is_err(),
        "the other one is signed out"
    );
}

#[tokio::test]
async fn a_password_reset_leaves_it_on() {
    let (auth, store, clock) = service();
    let (principal, _, _) = enabled(&auth, &clock).await;
    // A reset sets a new hash; here through the store, as the reset does.
    auth.set_password(
        &auth.current_user(&principal).await.unwrap(),
        &Password::new("a brand new passphrase"),
        None,
    )
    .await
    .unwrap();
    drop(store);
    let signed_in = auth
        .sign_in(SignInRequest {
            email: "ada@example.com".into(),
            password: Password::new("a brand new passphrase"),
        })
        .await
        .unwrap();
    assert!(matches!(signed_in, SignIn::SecondFactorRequired(_)));
}

#[tokio::test]
async fn the_key_seals_the_secret_at_rest() {
    let (auth, store, clock) = service();
    let (principal, secret, codes) = enabled(&auth, &clock).await;
    let rows = crate::CredentialStore::list(&store, principal.user_id(), &super::TOTP)
        .await
        .unwrap();
    let stored = String::from_utf8(rows[0].data.clone()).unwrap();
    assert!(!stored.contains(&secret), "{stored}");
    let codes_rows = crate::CredentialStore::list(&store, principal.user_id(), &super::BACKUP_CODE)
        .await
        .unwrap();
    assert_eq!(codes_rows.len(), 10);
    for row in codes_rows {
        let digits: String = codes[0].chars().filter(char::is_ascii_digit).collect();
        assert!(!row.lookup.contains(&digits));
    }
}

#[tokio::test]
async fn an_account_without_a_password_reauthenticates_by_a_fresh_sign_in() {
    let (auth, store, clock) = service();
    let user = crate::UserStore::create_user(
        &store,
        crate::NewUser {
            email: crate::Email::parse("oauth@example.com").unwrap(),
            password_hash: crate::PasswordHash::none(),
            name: None,
            email_verified: true,
            created_at: clock.now(),
        },
    )
    .await
    .unwrap();
    let session = auth.open_session(&user.id).await.unwrap();
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    auth.setup_two_factor(&principal, None).await.unwrap();
    clock.advance(11 * 60);
    assert!(matches!(
        auth.setup_two_factor(&principal, Some(&Password::new("anything at all")))
            .await,
        Err(AuthError::ReauthenticationRequired)
    ));
}
