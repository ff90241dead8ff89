//! The account flows end to end on the in-memory stores, with messages
//! written by the real outbox mailer and read back from its folder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{path::Path, sync::Arc, time::Duration};

use auth_core::{
    AccountFlows, AuthError, AuthResponse, AuthService, MemoryStore, OutboxMailer, Password,
    SignUp, User,
    api::{ChangeEmailRequest, ChangePasswordRequest, ResetPasswordRequest},
    async_trait,
    clock::{Clock, ManualClock},
    hooks::AccountHooks,
    store::{SessionStore, UserStore},
};
use common::*;

/// A service with account flows whose outbox is `outbox`.
fn with_flows(
    store: &MemoryStore,
    outbox: &Path,
    clock: &ManualClock,
    tune: impl FnOnce(AccountFlows) -> AccountFlows,
) -> AuthService {
    let flows = AccountFlows::new(
        store.clone(),
        OutboxMailer::new(outbox, "noreply@example.com"),
        "https://app.example.com/",
    );
    builder(store)
        .clock(clock.clone())
        .account_flows(tune(flows))
        .build()
        .unwrap()
}

/// The messages in `outbox` to `to`, oldest first, waiting up to 5 s for
/// at least `at_least` of them (they are sent in the background).
async fn mail_to(outbox: &Path, to: &str, at_least: usize) -> Vec<String> {
    for _ in 0..100 {
        let mut found: Vec<(String, String)> = std::fs::read_dir(outbox)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
                    .filter_map(|entry| {
                        let text = std::fs::read_to_string(entry.path()).ok()?;
                        let name = entry.file_name().to_string_lossy().into_owned();
                        text.lines()
                            .any(|line| line == format!("To: {to}"))
                            .then_some((name, text))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if found.len() >= at_least {
            found.sort();
            return found.into_iter().map(|(_, text)| text).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {at_least} messages to {to} arrived");
}

/// The kind header of a message.
fn kind(message: &str) -> &str {
    message
        .lines()
        .find_map(|line| line.strip_prefix("X-Auth-Message: "))
        .unwrap_or_default()
}

/// The token in a message's link.
fn token(message: &str) -> String {
    let start = message.find("#token=").expect("a link with a token") + "#token=".len();
    message[start..start + 43].to_owned()
}

async fn sign_up(auth: &AuthService, email: &str) -> AuthResponse {
    auth.sign_up(sign_up_request(email, PASSWORD))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap()
}

fn reset(token: &str, password: &str) -> ResetPasswordRequest {
    ResetPasswordRequest {
        token: token.to_owned(),
        new_password: Password::new(password),
    }
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_and_ends_every_session() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let auth = with_flows(&store, outbox.path(), &clock, |flows| flows);
    let first = sign_up(&auth, "ada@example.com").await;

    auth.request_password_reset("ADA@example.com")
        .await
        .unwrap();
    let message = mail_to(outbox.path(), "ada@example.com", 1).await.remove(0);
    assert_eq!(kind(&message), "password_reset");
    assert!(message.contains("https://app.example.com/reset-password#token="));
    let token = token(&message);

    // A refused password leaves the link usable.
    let weak = auth.reset_password(reset(&token, "short")).await;
    assert!(matches!(weak, Err(AuthError::PasswordTooShort { .. })));
    auth.reset_password(reset(&token, "a brand new passphrase"))
        .await
        .unwrap();
    let again = auth
        .reset_password(reset(&token, "yet another passphrase"))
        .await;
    assert!(matches!(again, Err(AuthError::InvalidOneTimeToken)));

    let old = auth.authenticate(first.access_token.expose_secret()).await;
    assert!(matches!(old, Err(AuthError::SessionRevoked)));
    let refresh = auth.refresh(first.refresh_token.expose_secret()).await;
    assert!(refresh.is_err());
    auth.sign_in(sign_in_request("ada@example.com", "a brand new passphrase"))
        .await
        .unwrap();
    let notices = mail_to(outbox.path(), "ada@example.com", 2).await;
    assert!(notices.iter().any(|m| kind(m) == "password_changed"));
}

#[tokio::test]
async fn an_unknown_address_is_answered_alike_and_sent_nothing() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let auth = with_flows(&store, outbox.path(), &clock, |flows| flows);
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("nobody@example.com")
        .await
        .unwrap();
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    mail_to(outbox.path(), "ada@example.com", 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let files = std::fs::read_dir(outbox.path()).unwrap().count();
    assert_eq!(files, 1, "only the known address got a message");
}

#[tokio::test]
async fn a_newer_link_or_a_password_change_voids_a_reset_link() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let auth = with_flows(&store, outbox.path(), &clock, |flows| flows);
    let ada = sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    let older = token(&mail_to(outbox.path(), "ada@example.com", 1).await[0]);
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    let newer = token(&mail_to(outbox.path(), "ada@example.com", 2).await[1]);
    let voided = auth
        .reset_password(reset(&older, "a brand new passphrase"))
        .await;
    assert!(matches!(voided, Err(AuthError::InvalidOneTimeToken)));

    let principal = auth
        .authenticate(ada.access_token.expose_secret())
        .await
        .unwrap();
    auth.change_password(
        &principal,
        ChangePasswordRequest {
            current_password: Password::new(PASSWORD),
            new_password: Password::new("changed by its owner"),
        },
    )
    .await
    .unwrap();
    let voided = auth
        .reset_password(reset(&newer, "a brand new passphrase"))
        .await;
    assert!(matches!(voided, Err(AuthError::InvalidOneTimeToken)));
}

#[tokio::test]
async fn a_reset_link_expires() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let auth = with_flows(&store, outbox.path(), &clock, |flows| {
        flows.password_reset_ttl(Duration::from_secs(60))
    });
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    let token = token(&mail_to(outbox.path(), "ada@example.com", 1).await[0]);
    clock.advance(time::Duration::seconds(61));
    let expired = auth
        .reset_password(reset(&token, "a brand new passphrase"))
        .await;
    assert!(matches!(expired, Err(AuthError::InvalidOneTimeToken)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_resets_with_one_link_exactly_one_wins() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let auth = with_flows(&store, outbox.path(), &clock, |flows| flows);
    sign_up(&auth, "ada@example.com").await;
    auth.request_password_reset("ada@example.com")
        .await
        .unwrap();
    let token = token(&mail_to(outbox.path(), "ada@example.com", 1).await[0]);
    let attempts = (0..8).map(|i| {
        let (auth, token) = (auth.clone(), token.clone());
        tokio::spawn(async move {
            auth.reset_password(reset(&token, &format!("concurrent passphrase {i}")))
                .await
        })
    });
    let mut wins = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => wins += 1,
            Err(AuthError::InvalidOneTimeToken) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn change_password_keeps_only_the_calling_session() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let auth = with_flows(&store, outbox.path(), &clock, |flows| flows);
    let here = sign_up(&auth, "ada@example.com").await;
    let elsewhere = auth
        .sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    let principal = auth
        .authenticate(here.access_token.expose_secret())
        .await
        .unwrap();
    let wrong = auth
        .change_password(
            &principal,
            ChangePasswordRequest {
                current_password: Password::new("not the password"),
                new_password: Password::new("changed by its owner"),
            },
        )
        .await;
    assert!(matches!(wrong, Err(AuthError::WrongPassword)));
    auth.change_password(
        &principal,
        ChangePasswordRequest {
            current_password: Password::new(PASSWORD),
            new_password: Password::new("changed by its owner"),
        },
    )
    .await
    .unwrap();
    auth.authenticate(here.access_token.expose_secret())
        .await
        .unwrap();
    let other = auth
        .authenticate(elsewhere.access_token.expose_secret())
        .await;
    assert!(matches!(other, Err(AuthError::SessionRevoked)));
    let sessions = auth.list_sessions(&principal).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].current);
}

#[tokio::test]
async fn required_verification_opens_no_session_until_the_link_is_followed() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let auth = with_flows(&store, outbox.path(), &clock, |flows| {
        flows.require_email_verification(true)
    });
    let signed_up = auth
        .sign_up(sign_up_request("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let SignUp::VerificationRequired(pending) = &signed_up else {
        panic!("a session for an unverified address: {signed_up:?}");
    };
    assert!(pending.email_verification_required && !pending.user.email_verified);
    assert!(
        store
            .list_active_sessions(&pending.user.id, clock.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        signed_up.signed_in(),
        Err(AuthError::EmailNotVerified)
    ));
    let refused = auth
        .sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await;
    assert!(matches!(refused, Err(AuthError::EmailNotVerified)));
    let wrong = auth
        .sign_in(sign_in_request("ada@example.com", "not the password"))
        .await;
    assert!(matches!(wrong, Err(AuthError::InvalidCredentials)));

    let first = mail_to(outbox.path(), "ada@example.com", 1).await.remove(0);
    assert_eq!(kind(&first), "email_verification");
    // Without a session: the link again, for the address alone. Unknown
    // and malformed addresses are answered as before.
    auth.send_verification_email_to("ADA@example.com")
        .await
        .unwrap();
    auth.send_verification_email_to("nobody@example.com")
        .await
        .unwrap();
    assert!(matches!(
        auth.send_verification_email_to("not an address").await,
        Err(AuthError::InvalidEmail)
    ));
    let again = mail_to(outbox.path(), "ada@example.com", 2).await.remove(1);
    assert_eq!(kind(&again), "email_verification");
    assert!(matches!(
        auth.verify_email(&token(&first)).await,
        Err(AuthError::InvalidOneTimeToken)
    ));
    // A verification token never resets a password, and is not used up by trying.
    let wrong_purpose = auth
        .reset_password(reset(&token(&again), "a brand new passphrase"))
        .await;
    assert!(matches!(wrong_purpose, Err(AuthError::InvalidOneTimeToken)));
    let user = auth.verify_email(&token(&again)).await.unwrap();
    assert!(user.email_verified);
    auth.sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await
        .unwrap();
    // Verified: nothing more is sent.
    auth.send_verification_email_to("ada@example.com")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mail_to(outbox.path(), "ada@example.com", 2).await.len(), 2);
    assert!(
        std::fs::read_dir(outbox.path())
            .unwrap()
            .filter_map(Result::ok)
            .all(|entry| !std::fs::read_to_string(entry.path())
                .unwrap_or_default()
                .contains("nobody@example.com"))
    );
}

#[tokio::test]
async fn a_session_from_before_verification_was_required_is_not_kept() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let before = with_flows(&store, outbox.path(), &clock, |flows| flows);
    let signed_up = sign_up(&before, "ada@example.com").await;
    let after = with_flows(&store, outbox.path(), &clock, |flows| {
        flows.require_email_verification(true)
    });
    let refused = after.refresh(signed_up.refresh_token.expose_secret()).await;
    assert!(matches!(refused, Err(AuthError::EmailNotVerified)));
    assert!(matches!(
        after.refresh(signed_up.refresh_token.expose_secret()).await,
        Err(AuthError::SessionRevoked)
    ));
}

#[tokio::test]
async fn a_pending_email_change_ends_with_the_password_or_every_session() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let auth = with_flows(&store, outbox.path(), &clock, |flows| flows);
    for (n, ending) in ["reset", "change", "everywhere"].into_iter().enumerate() {
        let email = format!("{ending}@example.com");
        let theirs = format!("{ending}.theirs@example.com");
        let signed_up = sign_up(&auth, &email).await;
        let principal = auth
            .authenticate(signed_up.access_token.expose_secret())
            .await
            .unwrap();
        auth.change_email(
            &principal,
            ChangeEmailRequest {
                new_email: theirs.clone(),
                password: Some(Password::new(PASSWORD)),
            },
        )
        .await
        .unwrap();
        let pending = token(&mail_to(outbox.path(), &theirs, 1).await.remove(0));
        let notice = mail_to(outbox.path(), &email, 1).await.remove(0);
        assert_eq!(kind(&notice), "email_change_requested", "{n}");
        assert!(!notice.contains("#token="));
        match ending {
            "reset" => {
                auth.request_password_reset(&email).await.unwrap();
                let link = mail_to(outbox.path(), &email, 2).await.remove(1);
                auth.reset_password(reset(&token(&link), "a brand new passphrase"))
                    .await
                    .unwrap();
            }
            "change" => {
                auth.change_password(
                    &principal,
                    ChangePasswordRequest {
                        current_password: Password::new(PASSWORD),
                        new_password: Password::new("a brand new passphrase"),
                    },
                )
                .await
                .unwrap();
            }
            _ => {
                auth.sign_out_everywhere(principal.user_id()).await.unwrap();
            }
        }
        assert!(
            matches!(
                auth.verify_email(&pending).await,
                Err(AuthError::InvalidOneTimeToken)
            ),
            "the pending change survived {ending}"
        );
        let user = store
            .find_user_by_id(principal.user_id())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.email.as_str(), email);
    }
}

#[tokio::test]
async fn an_email_change_takes_effect_when_the_new_address_confirms() {
    let (store, outbox, clock) = (MemoryStore::new(), tempfile::tempdir().unwrap(), clock());
    let auth = with_flows(&store, outbox.path(), &clock, |flows| flows);
    let ada = sign_up(&auth, "ada@example.com").await;
    sign_up(&auth, "grace@example.com").await;
    let principal = auth
        .authenticate(ada.access_token.expose_secret())
        .await
        .unwrap();
    let change = |to: &str| ChangeEmailRequest {
        new_email: to.to_owned(),
        password: Some(Password::new(PASSWORD)),
    };

    // An address another account holds is told so, and gets no link.
    auth.change_email(&principal, change("grace@example.com"))
        .await
        .unwrap();
    let notice = mail_to(outbox.path(), "grace@example.com", 1)
        .await
        .remove(0);
    assert_eq!(kind(&notice), "email_in_use");
    assert!(!notice.contains("#token="));

    auth.change_email(&principal, change("lovelace@example.com"))
        .await
        .unwrap();
    let link = mail_to(outbox.path(), "lovelace@example.com", 1)
        .await
        .remove(0);
    assert_eq!(kind(&link), "email_change");
    let unchanged = auth.current_user(&principal).await.unwrap();
    assert_eq!(unchanged.email.as_str(), "ada@example.com");

    let user = auth.verify_email(&token(&link)).await.unwrap();
    assert_eq!(user.email.as_str(), "lovelace@example.com");
    assert!(user.email_verified);
    // Two notices of requested changes, then the change itself.
    let told = mail_to(outbox.path(), "ada@example.com", 3).await;
    assert!(told.iter().any(|m| kind(m) == "email_changed"));
    auth.sign_in(sign_in_request("lovelace@example.com", PASSWORD))
        .await
        .unwrap();
    let old = auth
        .sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await;
    assert!(matches!(old, Err(AuthError::InvalidCredentials)));
}

/// Refuses to let a user go, then lets them, counting the calls.
struct Gatekeeper(Arc<std::sync::Mutex<Vec<String>>>);

#[async_trait]
impl AccountHooks for Gatekeeper {
    async fn deleting_user(&self, user: &User) -> Result<(), AuthError> {
        let mut seen = self.0.lock().unwrap();
        seen.push(user.email.as_str().to_owned());
        if seen.len() == 1 {
            return Err(AuthError::unavailable("the task database is down"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_hook_keeps_the_account_and_a_deleted_ones_tokens_stop() {
    let store = MemoryStore::new();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let auth = builder(&store)
        .account_hooks(Gatekeeper(Arc::clone(&seen)))
        .build()
        .unwrap();
    let ada = sign_up(&auth, "ada@example.com").await;
    let principal = auth
        .authenticate(ada.access_token.expose_secret())
        .await
        .unwrap();
    let wrong = auth
        .delete_account(&principal, Some(&Password::new("not the password")))
        .await;
    assert!(matches!(wrong, Err(AuthError::WrongPassword)));
    let kept = auth
        .delete_account(&principal, Some(&Password::new(PASSWORD)))
        .await;
    assert!(matches!(kept, Err(AuthError::Unavailable(_))));
    auth.authenticate(ada.access_token.expose_secret())
        .await
        .unwrap();

    auth.delete_account(&principal, Some(&Password::new(PASSWORD)))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(
        auth.authenticate(ada.access_token.expose_secret())
            .await
            .is_err()
    );
    assert!(
        auth.refresh(ada.refresh_token.expose_secret())
            .await
            .is_err()
    );
    let gone = auth
        .sign_in(sign_in_request("ada@example.com", PASSWORD))
        .await;
    assert!(matches!(gone, Err(AuthError::InvalidCredentials)));
}

#[tokio::test]
async fn without_account_flows_the_mail_flows_are_not_found() {
    let (auth, _store) = service();
    let ada = sign_up(&auth, "ada@example.com").await;
    let principal = auth
        .authenticate(ada.access_token.expose_secret())
        .await
        .unwrap();
    assert!(matches!(
        auth.request_password_reset("ada@example.com").await,
        Err(AuthError::NotFound)
    ));
    assert!(matches!(
        auth.send_verification_email(&principal).await,
        Err(AuthError::NotFound)
    ));
    assert!(matches!(
        auth.verify_email(&"a".repeat(43)).await,
        Err(AuthError::NotFound)
    ));
}
