//! A sign-in flow written outside the crate, with its public API only: a
//! magic link. The link's token is a one-time token of the app's own
//! purpose, mailed through the configured mailer; following it opens a
//! session like sign-in does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use auth_core::{
    AccountFlows, AuthError, AuthResponse, AuthService, Email, MemoryStore, OutboxMailer,
    mail::{Message, MessageKind, MessageLink},
    store::TokenPurpose,
};
use common::*;

/// The app's own purpose: a magic-link token opens nothing else.
const MAGIC_LINK: TokenPurpose = TokenPurpose::new("magic_link");

/// Step 1: mail a sign-in link to `email`, if an account has it (and
/// answer alike if not).
async fn send_magic_link(auth: &AuthService, email: &str) -> Result<(), AuthError> {
    let email = Email::parse(email)?;
    let Some(record) = auth.user_store().find_user_by_email(&email).await? else {
        return Ok(());
    };
    let token = auth
        .issue_one_time_token(
            &record.user.id,
            &email,
            MAGIC_LINK,
            Duration::from_secs(600),
        )
        .await?;
    let link = MessageLink::new(format!(
        "https://app.example.com/magic#token={}",
        token.expose_secret()
    ));
    auth.send_message(Message {
        kind: MessageKind::Custom("magic_link"),
        to: email,
        subject: "Your sign-in link".to_owned(),
        text: format!("Follow this link to sign in:\n\n{}\n", link.expose_secret()),
        link: Some(link),
    })
    .await
}

/// Step 2: the link was followed; its token opens a session.
async fn sign_in_with_magic_link(
    auth: &AuthService,
    token: &str,
) -> Result<AuthResponse, AuthError> {
    let record = auth.redeem_one_time_token(token, &MAGIC_LINK).await?;
    // Following the link proved the address is theirs.
    auth.mark_email_verified(&record.user_id, &record.email)
        .await?;
    auth.open_session(&record.user_id).await
}

#[tokio::test]
async fn a_magic_link_signs_in_once() {
    let store = MemoryStore::new();
    let outbox = tempfile::tempdir().unwrap();
    let auth = builder(&store)
        .account_flows(
            AccountFlows::new(
                store.clone(),
                OutboxMailer::new(outbox.path(), "noreply@example.com"),
                "https://app.example.com",
            )
            // No session for an unverified address: the link proves it.
            .require_email_verification(true),
        )
        .build()
        .unwrap();
    let ada = auth
        .sign_up(sign_up_request("ada@example.com", PASSWORD))
        .await
        .unwrap()
        .user()
        .clone();
    assert!(!ada.email_verified);

    send_magic_link(&auth, "ada@example.com").await.unwrap();
    send_magic_link(&auth, "nobody@example.com").await.unwrap();
    let mut message = None;
    for _ in 0..100 {
        message = std::fs::read_dir(outbox.path())
            .unwrap()
            .map(|file| std::fs::read_to_string(file.unwrap().path()).unwrap())
            .find(|text| text.contains("X-Auth-Message: magic_link"));
        if message.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let message = message.expect("the magic link arrived");
    let start = message.find("#token=").unwrap() + "#token=".len();
    let token = &message[start..start + 43];

    let signed_in = sign_in_with_magic_link(&auth, token).await.unwrap();
    assert_eq!(signed_in.user.id, ada.id);
    assert!(signed_in.user.email_verified);
    let principal = auth
        .authenticate(signed_in.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(principal.user_id(), &ada.id);
    // A session like any other: it refreshes and signs out.
    auth.refresh(signed_in.refresh_token.expose_secret())
        .await
        .unwrap();
    let reused = sign_in_with_magic_link(&auth, token).await;
    assert!(matches!(reused, Err(AuthError::InvalidOneTimeToken)));
    // And a password-reset endpoint does not take it.
    let elsewhere = auth
        .redeem_one_time_token(token, &TokenPurpose::PASSWORD_RESET)
        .await;
    assert!(matches!(elsewhere, Err(AuthError::InvalidOneTimeToken)));
}
