//! Email sign-in on `MemoryStore`: the races of its link and code, and an
//! unverified account taken back by the address's owner.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::{
    AccountFlows, AuthError, AuthService, EmailSignIn, MemoryStore, Password, SignInRequest,
    service::EmailSignInVerifyRequest,
};
use common::*;

fn service() -> (AuthService, Inbox) {
    let store = MemoryStore::new();
    let inbox = Inbox::default();
    let flows = AccountFlows::new(store.clone(), inbox.clone(), "https://app.example.com")
        .email_sign_in(EmailSignIn::new());
    let auth = AuthService::with_store(store)
        .token_codec(codec())
        .password_hasher(cheap_hasher())
        .account_flows(flows)
        .build()
        .unwrap();
    (auth, inbox)
}

fn by_code(email: &str, code: &str) -> EmailSignInVerifyRequest {
    EmailSignInVerifyRequest {
        email: Some(email.to_owned()),
        code: Some(code.to_owned()),
        ..Default::default()
    }
}

fn by_link(token: &str) -> EmailSignInVerifyRequest {
    EmailSignInVerifyRequest {
        token: Some(token.to_owned()),
        ..Default::default()
    }
}

/// A different code of the same length.
fn wrong(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

/// Wrong codes sent at once all count, none twice: after 4 the right code
/// works, after 5 it is void.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_wrong_codes_count_each_once() {
    let (auth, inbox) = service();
    let email = "ada@example.com";
    for (n, wrongs, works) in [(1, 4, true), (2, 5, false)] {
        auth.request_email_sign_in(email).await.unwrap();
        let (_, code) = inbox.nth(n).await;
        let tries = (0..wrongs).map(|_| {
            let auth = auth.clone();
            let guess = wrong(&code);
            tokio::spawn(async move { auth.verify_email_sign_in(by_code(email, &guess)).await })
        });
        // Spawned together, before any is awaited.
        let tries: Vec<_> = tries.collect();
        for outcome in futures_join(tries).await {
            assert!(matches!(outcome, Err(AuthError::InvalidOneTimeToken)));
        }
        let right = auth.verify_email_sign_in(by_code(email, &code)).await;
        assert_eq!(
            right.is_ok(),
            works,
            "after {wrongs} wrong codes: {right:?}"
        );
    }
}

/// The link and the code of one message, used at once: one signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn link_and_code_at_once_have_one_winner() {
    let (auth, inbox) = service();
    let email = "grace@example.com";
    for n in 1..=3 {
        auth.request_email_sign_in(email).await.unwrap();
        let (token, code) = inbox.nth(n).await;
        let (a, b) = (auth.clone(), auth.clone());
        let link = tokio::spawn(async move { a.verify_email_sign_in(by_link(&token)).await });
        let code = tokio::spawn(async move { b.verify_email_sign_in(by_code(email, &code)).await });
        let outcomes = [link.await.unwrap(), code.await.unwrap()];
        let winners = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert_eq!(winners, 1, "round {n}: {outcomes:?}");
    }
}

/// Someone signs up with another person's address and keeps a session.
/// When the owner signs in by email, that session ends and the password
/// the other person chose stops working.
#[tokio::test]
async fn the_owner_takes_back_an_unverified_account() {
    let (auth, inbox) = service();
    let email = "victim@example.com";
    let squatter = auth
        .sign_up(sign_up_request(email, "the squatter's password"))
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    auth.request_email_sign_in(email).await.unwrap();
    let (token, _) = inbox.nth(1).await;
    let owner = auth
        .verify_email_sign_in(by_link(&token))
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    assert_eq!(owner.user.id, squatter.user.id);
    assert!(owner.user.email_verified);
    let old = auth
        .authenticate(squatter.access_token.expose_secret())
        .await;
    assert!(matches!(old, Err(AuthError::SessionRevoked)), "{old:?}");
    let refresh = auth.refresh(squatter.refresh_token.expose_secret()).await;
    assert!(refresh.is_err(), "{refresh:?}");
    let password = auth
        .sign_in(SignInRequest {
            email: email.into(),
            password: Password::new("the squatter's password"),
        })
        .await;
    assert!(
        matches!(password, Err(AuthError::InvalidCredentials)),
        "{password:?}"
    );
    auth.authenticate(owner.access_token.expose_secret())
        .await
        .unwrap();
}

/// Awaits every task, in order.
async fn futures_join<T>(tasks: impl IntoIterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}
