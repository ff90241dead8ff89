//! Second factors on `MemoryStore`: every first factor of a user who has
//! one ends in a challenge, and the challenge's rules (one use, 5 minutes,
//! 5 wrong codes, bound to its user) hold under races.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use auth_core::{
    AccountFlows, AuthError, AuthResponse, AuthService, EmailSignIn, MemoryStore, UserId,
    async_trait,
    clock::ManualClock,
    endpoint::{self, Method, Request},
    service::EmailSignInVerifyRequest,
    sign_in::{SecondFactor, SecondFactorRequired, SignIn},
    store::SessionStore,
};
use common::*;

/// A stand-in for TOTP: one fixed code per user who has it enabled. It
/// yields before answering, as a real factor's store lookup would, so
/// that racing attempts interleave.
#[derive(Clone, Default)]
struct FixedCodes(Arc<Mutex<HashMap<UserId, String>>>);

impl FixedCodes {
    fn enable(&self, user: &UserId, code: &str) {
        self.0.lock().unwrap().insert(user.clone(), code.to_owned());
    }
}

#[async_trait]
impl SecondFactor for FixedCodes {
    fn method(&self) -> &'static str {
        "totp"
    }

    async fn is_enabled(&self, user: &UserId) -> Result<bool, AuthError> {
        tokio::task::yield_now().await;
        Ok(self.0.lock().unwrap().contains_key(user))
    }

    async fn verify(&self, user: &UserId, code: &str) -> Result<bool, AuthError> {
        tokio::task::yield_now().await;
        Ok(self.0.lock().unwrap().get(user).map(String::as_str) == Some(code))
    }

    async fn remove(&self, user: &UserId) -> Result<(), AuthError> {
        self.0.lock().unwrap().remove(user);
        Ok(())
    }
}

/// A registered factor nobody has enabled, which takes any code.
struct NobodysFactor;

#[async_trait]
impl SecondFactor for NobodysFactor {
    fn method(&self) -> &'static str {
        "backup_code"
    }

    async fn is_enabled(&self, _: &UserId) -> Result<bool, AuthError> {
        Ok(false)
    }

    async fn verify(&self, _: &UserId, _: &str) -> Result<bool, AuthError> {
        Ok(true)
    }

    async fn remove(&self, _: &UserId) -> Result<(), AuthError> {
        Ok(())
    }
}

struct Setup {
    auth: AuthService,
    store: MemoryStore,
    clock: ManualClock,
    codes: FixedCodes,
    inbox: Inbox,
}

const ADA_CODE: &str = "111111";
const BOB_CODE: &str = "222222";

/// Ada and Bob have the second factor (each their own code), Grace has not.
async fn setup() -> (Setup, [AuthResponse; 3]) {
    let store = MemoryStore::new();
    let clock = clock();
    let codes = FixedCodes::default();
    let inbox = Inbox::default();
    let flows = AccountFlows::new(store.clone(), inbox.clone(), "https://app.example.com")
        .email_sign_in(EmailSignIn::new());
    let auth = AuthService::with_store(store.clone())
        .token_codec(codec())
        .password_hasher(cheap_hasher())
        .clock(clock.clone())
        .account_flows(flows)
        .second_factor(codes.clone())
        .second_factor(NobodysFactor)
        .build()
        .unwrap();
    let ada = sign_up(&auth, "ada@example.com").await;
    let bob = sign_up(&auth, "bob@example.com").await;
    let grace = sign_up(&auth, "grace@example.com").await;
    codes.enable(&ada.user.id, ADA_CODE);
    codes.enable(&bob.user.id, BOB_CODE);
    let setup = Setup {
        auth,
        store,
        clock,
        codes,
        inbox,
    };
    (setup, [ada, bob, grace])
}

impl Setup {
    async fn sessions(&self, user: &UserId) -> usize {
        let now = self.clock_now();
        self.store
            .list_active_sessions(user, now)
            .await
            .unwrap()
            .len()
    }

    fn clock_now(&self) -> time::OffsetDateTime {
        use auth_core::clock::Clock as _;
        self.clock.now()
    }

    /// A fresh challenge for `email`, by password.
    async fn challenge(&self, email: &str) -> SecondFactorRequired {
        match self
            .auth
            .sign_in(sign_in_request(email, PASSWORD))
            .await
            .unwrap()
        {
            SignIn::SecondFactorRequired(required) => required,
            other => panic!("{email}: {other:?}"),
        }
    }

    async fn verify(
        &self,
        required: &SecondFactorRequired,
        code: &str,
    ) -> Result<AuthResponse, AuthError> {
        self.auth
            .verify_second_factor(required.challenge_token.expose_secret(), "totp", code)
            .await
    }
}

#[tokio::test]
async fn password_sign_in_asks_for_an_enabled_second_factor() {
    let (setup, [ada, _, grace]) = setup().await;
    let before = setup.sessions(&ada.user.id).await;
    let required = setup.challenge("ada@example.com").await;
    assert_eq!(required.methods, ["totp"]);
    assert_eq!(required.expires_in, 300);
    assert_eq!(required.challenge_token.expose_secret().len(), 43);
    assert_eq!(setup.sessions(&ada.user.id).await, before, "no session yet");

    let outcome = setup
        .auth
        .sign_in(sign_in_request("grace@example.com", PASSWORD))
        .await
        .unwrap();
    let SignIn::Complete(session) = outcome else {
        panic!("grace has no second factor: {outcome:?}");
    };
    assert_eq!(session.user.id, grace.user.id);
}

#[tokio::test]
async fn email_sign_in_asks_for_an_enabled_second_factor() {
    let (setup, [ada, _, grace]) = setup().await;
    // Verified, so that email sign-in does not take the account over
    // (which would end its sessions and blur the count below).
    setup
        .auth
        .mark_email_verified(&ada.user.id, &ada.user.email)
        .await
        .unwrap();
    for (n, by_link) in [(1, false), (2, true)] {
        setup
            .auth
            .request_email_sign_in("ada@example.com")
            .await
            .unwrap();
        let (token, code) = setup.inbox.nth(n).await;
        let request = if by_link {
            EmailSignInVerifyRequest {
                token: Some(token),
                ..Default::default()
            }
        } else {
            EmailSignInVerifyRequest {
                email: Some("ada@example.com".into()),
                code: Some(code),
                ..Default::default()
            }
        };
        let before = setup.sessions(&ada.user.id).await;
        let outcome = setup.auth.verify_email_sign_in(request).await.unwrap();
        let SignIn::SecondFactorRequired(required) = outcome else {
            panic!("link {by_link}: {outcome:?}");
        };
        assert_eq!(required.methods, ["totp"]);
        assert_eq!(setup.sessions(&ada.user.id).await, before, "no session yet");
        let signed_in = setup.verify(&required, ADA_CODE).await.unwrap();
        assert_eq!(signed_in.user.id, ada.user.id);
    }

    setup
        .auth
        .request_email_sign_in("grace@example.com")
        .await
        .unwrap();
    let (_, code) = setup.inbox.nth(3).await;
    let outcome = setup
        .auth
        .verify_email_sign_in(EmailSignInVerifyRequest {
            email: Some("grace@example.com".into()),
            code: Some(code),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        matches!(&outcome, SignIn::Complete(session) if session.user.id == grace.user.id),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_right_code_signs_in_once() {
    let (setup, [ada, ..]) = setup().await;
    let required = setup.challenge("ada@example.com").await;
    let signed_in = setup.verify(&required, ADA_CODE).await.unwrap();
    assert_eq!(signed_in.user.id, ada.user.id);
    let principal = setup
        .auth
        .authenticate(signed_in.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(principal.user_id(), &ada.user.id);
    setup
        .auth
        .refresh(signed_in.refresh_token.expose_secret())
        .await
        .unwrap();

    let again = setup.verify(&required, ADA_CODE).await;
    assert!(matches!(again, Err(AuthError::InvalidToken)), "{again:?}");
    for token in ["", "not a challenge", &"A".repeat(43)] {
        let unknown = setup
            .auth
            .verify_second_factor(token, "totp", ADA_CODE)
            .await;
        assert!(
            matches!(unknown, Err(AuthError::InvalidToken)),
            "{unknown:?}"
        );
    }
}

#[tokio::test]
async fn a_challenge_lasts_five_minutes() {
    let (setup, _) = setup().await;
    let in_time = setup.challenge("ada@example.com").await;
    setup.clock.advance(time::Duration::seconds(299));
    setup.verify(&in_time, ADA_CODE).await.unwrap();

    let late = setup.challenge("ada@example.com").await;
    setup.clock.advance(time::Duration::minutes(5));
    let refused = setup.verify(&late, ADA_CODE).await;
    assert!(
        matches!(refused, Err(AuthError::InvalidToken)),
        "{refused:?}"
    );
}

/// 4 wrong codes leave the right one usable; the 5th voids the challenge.
/// A method the user has not enabled, or no registered method, counts as
/// a wrong code.
#[tokio::test]
async fn the_fifth_wrong_code_voids_the_challenge() {
    let (setup, _) = setup().await;
    let wrong_tries = [
        ("totp", "000000"),
        ("totp", BOB_CODE),
        ("backup_code", ADA_CODE),
        ("sms", ADA_CODE),
        ("totp", ""),
    ];
    for (wrongs, works) in [(4, true), (5, false)] {
        let required = setup.challenge("ada@example.com").await;
        let token = required.challenge_token.expose_secret();
        for (method, code) in &wrong_tries[..wrongs] {
            let wrong = setup.auth.verify_second_factor(token, method, code).await;
            assert!(
                matches!(wrong, Err(AuthError::InvalidCode)),
                "{method} {code}: {wrong:?}"
            );
        }
        let right = setup.verify(&required, ADA_CODE).await;
        if works {
            assert!(right.is_ok(), "after {wrongs} wrong codes: {right:?}");
        } else {
            assert!(
                matches!(right, Err(AuthError::InvalidToken)),
                "after {wrongs} wrong codes: {right:?}"
            );
        }
    }
}

/// Wrong codes sent at once all count: after 4 the right code works,
/// after 5 it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_wrong_codes_count_each_once() {
    let (setup, _) = setup().await;
    for round in 0..3 {
        for (wrongs, works) in [(4, true), (5, false)] {
            // Each try also counts toward the sign-in throttle, which is
            // not what this test is about.
            setup.auth.unlock_sign_in("ada@example.com").await.unwrap();
            let required = setup.challenge("ada@example.com").await;
            let tries: Vec<_> = (0..wrongs)
                .map(|_| {
                    let (auth, token) = (
                        setup.auth.clone(),
                        required.challenge_token.expose_secret().to_owned(),
                    );
                    tokio::spawn(async move {
                        auth.verify_second_factor(&token, "totp", "000000").await
                    })
                })
                .collect();
            for task in tries {
                let wrong = task.await.unwrap();
                assert!(matches!(wrong, Err(AuthError::InvalidCode)), "{wrong:?}");
            }
            let right = setup.verify(&required, ADA_CODE).await;
            assert_eq!(
                right.is_ok(),
                works,
                "round {round}, after {wrongs} wrong codes: {right:?}"
            );
        }
    }
}

/// The right code sent several times at once: one signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_right_codes_have_one_winner() {
    let (setup, [ada, ..]) = setup().await;
    for round in 0..5 {
        let before = setup.sessions(&ada.user.id).await;
        let required = setup.challenge("ada@example.com").await;
        let tries: Vec<_> = (0..4)
            .map(|_| {
                let (auth, token) = (
                    setup.auth.clone(),
                    required.challenge_token.expose_secret().to_owned(),
                );
                tokio::spawn(
                    async move { auth.verify_second_factor(&token, "totp", ADA_CODE).await },
                )
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tries {
            outcomes.push(task.await.unwrap());
        }
        let winners = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|outcome| outcome.is_ok() || matches!(outcome, Err(AuthError::InvalidToken))),
            "{outcomes:?}"
        );
        assert_eq!(setup.sessions(&ada.user.id).await, before + 1);
    }
}

/// A challenge signs in the user whose first factor made it, with that
/// user's code only.
#[tokio::test]
async fn a_challenge_is_bound_to_its_user() {
    let (setup, [ada, bob, _]) = setup().await;
    let adas = setup.challenge("ada@example.com").await;
    let bobs = setup.challenge("bob@example.com").await;
    let crossed = setup.verify(&adas, BOB_CODE).await;
    assert!(
        matches!(crossed, Err(AuthError::InvalidCode)),
        "{crossed:?}"
    );
    let crossed = setup.verify(&bobs, ADA_CODE).await;
    assert!(
        matches!(crossed, Err(AuthError::InvalidCode)),
        "{crossed:?}"
    );
    assert_eq!(
        setup.verify(&adas, ADA_CODE).await.unwrap().user.id,
        ada.user.id
    );
    assert_eq!(
        setup.verify(&bobs, BOB_CODE).await.unwrap().user.id,
        bob.user.id
    );
}

#[tokio::test]
async fn the_challenge_token_stays_out_of_debug() {
    let (setup, _) = setup().await;
    let outcome = setup
        .auth
        .sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let SignIn::SecondFactorRequired(required) = &outcome else {
        panic!("{outcome:?}");
    };
    let token = required.challenge_token.expose_secret();
    let shown = format!("{outcome:?} {required:?} {:?}", required.challenge_token);
    assert!(!shown.contains(token), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
}

/// A user who switches the factor off meanwhile cannot finish with it.
#[tokio::test]
async fn a_factor_switched_off_takes_no_code() {
    let (setup, [ada, ..]) = setup().await;
    let required = setup.challenge("ada@example.com").await;
    setup.codes.0.lock().unwrap().remove(&ada.user.id);
    let refused = setup.verify(&required, ADA_CODE).await;
    assert!(
        matches!(refused, Err(AuthError::InvalidCode)),
        "{refused:?}"
    );
    let outcome = setup
        .auth
        .sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await
        .unwrap();
    assert!(matches!(outcome, SignIn::Complete(_)), "{outcome:?}");
}

/// Over HTTP: 200 with the challenge, `no-store`, and no cookie even when
/// the request asked for the cookie transport.
#[tokio::test]
async fn the_sign_in_route_answers_the_challenge_without_a_cookie() {
    let (setup, _) = setup().await;
    let route = endpoint::find(Method::Post, "/sign-in").unwrap();
    for (email, challenged) in [("ada@example.com", true), ("grace@example.com", false)] {
        let request = Request::new(None)
            .header("content-type", b"application/json")
            .header("x-refresh-cookie", b"1")
            .header("sec-fetch-site", b"same-origin");
        let call = route.prepare(&setup.auth, request).await.unwrap();
        let body = serde_json::json!({"email": email, "password": PASSWORD});
        let reply = call
            .run(&setup.auth, serde_json::to_vec(&body).unwrap())
            .await;
        assert_eq!(reply.status(), 200, "{email}: {reply:?}");
        let header = |name: &str| {
            reply
                .headers()
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(header("set-cookie").is_some(), !challenged, "{email}");
        let body: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
        if challenged {
            assert_eq!(body["two_factor_required"], true, "{body}");
            assert_eq!(body["methods"], serde_json::json!(["totp"]));
            assert_eq!(body["expires_in"], 300);
            assert!(body["challenge_token"].is_string(), "{body}");
            assert!(body.get("access_token").is_none(), "{body}");
        } else {
            assert!(body["access_token"].is_string(), "{body}");
            assert!(body.get("two_factor_required").is_none(), "{body}");
        }
    }
}

#[test]
fn second_factors_need_a_credentials_store_and_distinct_names() {
    let store = MemoryStore::new();
    let without_store = builder(&store).second_factor(FixedCodes::default()).build();
    assert!(
        matches!(without_store, Err(AuthError::InvalidConfig(_))),
        "{without_store:?}"
    );
    let twice = builder(&store)
        .credentials(store.clone())
        .second_factor(FixedCodes::default())
        .second_factor(FixedCodes::default())
        .build();
    assert!(
        matches!(twice, Err(AuthError::InvalidConfig(_))),
        "{twice:?}"
    );
    builder(&store)
        .credentials(store.clone())
        .second_factor(FixedCodes::default())
        .second_factor(NobodysFactor)
        .build()
        .unwrap();
}

#[tokio::test]
async fn sign_out_everywhere_voids_pending_challenges() {
    let (setup, [ada, ..]) = setup().await;
    let required = setup.challenge("ada@example.com").await;
    setup.auth.sign_out_everywhere(&ada.user.id).await.unwrap();
    assert!(matches!(
        setup.verify(&required, ADA_CODE).await,
        Err(AuthError::InvalidToken)
    ));
}

/// Someone signs up with Ada's address (never verified), sets up a second
/// factor and keeps a challenge. Ada signs in by email: their factor and
/// their challenge go, so they cannot finish it nor lock Ada out.
#[tokio::test]
async fn taking_back_an_account_removes_its_second_factors() {
    let (setup, [ada, ..]) = setup().await;
    assert!(!ada.user.email_verified);
    let held = setup.challenge("ada@example.com").await;
    setup
        .auth
        .request_email_sign_in("ada@example.com")
        .await
        .unwrap();
    let (_, code) = setup.inbox.nth(1).await;
    let outcome = setup
        .auth
        .verify_email_sign_in(EmailSignInVerifyRequest {
            email: Some("ada@example.com".into()),
            code: Some(code),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(matches!(outcome, SignIn::Complete(_)), "{outcome:?}");
    assert!(matches!(
        setup.verify(&held, ADA_CODE).await,
        Err(AuthError::InvalidToken)
    ));
}

/// A right password that leads to a challenge does not clear the sign-in
/// throttle, and each code tried counts toward it: new challenges do not
/// buy new guesses past the throttle's 10.
#[tokio::test]
async fn challenges_count_toward_the_sign_in_throttle() {
    let (setup, _) = setup().await;
    let mut counted = 0;
    'rounds: for _ in 0..5 {
        let required = match setup
            .auth
            .sign_in(sign_in_request("ada@example.com", PASSWORD))
            .await
        {
            Ok(SignIn::SecondFactorRequired(required)) => required,
            Err(AuthError::TooManyAttempts { .. }) => break,
            other => panic!("{other:?}"),
        };
        counted += 1;
        for _ in 0..4 {
            match setup.verify(&required, "000000").await {
                Err(AuthError::InvalidCode) => counted += 1,
                Err(AuthError::TooManyAttempts { .. }) => break 'rounds,
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(counted, 10, "the throttle's 10 attempts, then refused");
}

/// The application's own flows end like the library's: a user with a
/// second factor gets a challenge, not a session.
#[tokio::test]
async fn the_apps_own_sign_in_asks_for_the_second_factor_too() {
    let (setup, [ada, _, grace]) = setup().await;
    let before = setup.sessions(&ada.user.id).await;
    let outcome = setup.auth.finish_sign_in(&ada.user.id).await.unwrap();
    let SignIn::SecondFactorRequired(required) = outcome else {
        panic!("ada has a second factor: {outcome:?}");
    };
    assert_eq!(setup.sessions(&ada.user.id).await, before);
    assert!(setup.verify(&required, ADA_CODE).await.is_ok());
    let outcome = setup.auth.finish_sign_in(&grace.user.id).await.unwrap();
    assert!(matches!(outcome, SignIn::Complete(_)), "{outcome:?}");
}
