//! What the service records of a session's client: the scope's user agent
//! and address at sign-up, sign-in and refresh (a reuse included), nothing
//! outside a scope, and nothing at all with `session_client_info(false)`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::{AuthResponse, AuthService, MemoryStore, api::SessionInfo, store::SessionClient};
use common::*;
use time::Duration;

fn client(agent: &str, ip: &str) -> SessionClient {
    SessionClient::new(Some(agent.as_bytes()), ip.parse().ok())
}

/// The list entry of `pair`'s own session.
async fn own_entry(auth: &AuthService, pair: &AuthResponse) -> SessionInfo {
    let principal = auth
        .authenticate(pair.access_token.expose_secret())
        .await
        .unwrap();
    let sessions = auth.list_sessions(&principal).await.unwrap();
    sessions
        .into_iter()
        .find(|session| session.current)
        .expect("the caller's own session is listed")
}

#[tokio::test]
async fn the_scope_is_recorded_at_sign_up_sign_in_and_refresh() {
    let store = MemoryStore::new();
    let clock = clock();
    let auth = builder(&store).clock(clock.clone()).build().unwrap();
    let first = client("first/1", "192.0.2.1");
    let request = sign_up_request("ada@example.com", "correct horse battery");
    let signed_up = SessionClient::scope(first.clone(), auth.sign_up(request))
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    let entry = own_entry(&auth, &signed_up).await;
    assert_eq!(entry.user_agent.as_deref(), first.user_agent());
    assert_eq!(entry.ip, first.ip());
    assert_eq!(entry.last_active_at, entry.created_at);

    clock.advance(Duration::seconds(60));
    let second = client("second/2", "2001:db8::2");
    let refresh = auth.refresh(signed_up.refresh_token.expose_secret());
    let refreshed = SessionClient::scope(second.clone(), refresh).await.unwrap();
    let entry = own_entry(&auth, &refreshed).await;
    assert_eq!(entry.user_agent.as_deref(), second.user_agent());
    assert_eq!(entry.ip, second.ip());
    assert_eq!(
        entry.last_active_at,
        entry.created_at + Duration::minutes(1)
    );

    // A second tab's reuse of the token just rotated, from a third client.
    clock.advance(Duration::seconds(1));
    let third = client("third/3", "192.0.2.3");
    let refresh = auth.refresh(signed_up.refresh_token.expose_secret());
    let reused = SessionClient::scope(third.clone(), refresh).await.unwrap();
    let entry = own_entry(&auth, &reused).await;
    assert_eq!(entry.user_agent.as_deref(), third.user_agent());
    assert_eq!(
        entry.last_active_at,
        entry.created_at + Duration::seconds(61)
    );

    // Outside a scope, a refresh keeps the client and moves the time.
    clock.advance(Duration::seconds(60));
    let unscoped = auth
        .refresh(reused.refresh_token.expose_secret())
        .await
        .unwrap();
    let entry = own_entry(&auth, &unscoped).await;
    assert_eq!(entry.user_agent.as_deref(), third.user_agent());
    assert_eq!(entry.ip, third.ip());
    assert_eq!(
        entry.last_active_at,
        entry.created_at + Duration::seconds(121)
    );

    let sign_in = auth.sign_in(sign_in_request("ada@example.com", "correct horse battery"));
    let other = client("other/4", "192.0.2.4");
    let signed_in = SessionClient::scope(other.clone(), sign_in)
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    let entry = own_entry(&auth, &signed_in).await;
    assert_eq!(entry.user_agent.as_deref(), other.user_agent());
}

#[tokio::test]
async fn switched_off_nothing_is_recorded_and_a_refresh_clears() {
    let store = MemoryStore::new();
    let clock = clock();
    let recording = builder(&store).clock(clock.clone()).build().unwrap();
    let request = sign_up_request("ada@example.com", "correct horse battery");
    let kept = client("kept/1", "192.0.2.1");
    let signed_up = SessionClient::scope(kept.clone(), recording.sign_up(request))
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    assert_eq!(own_entry(&recording, &signed_up).await.ip, kept.ip());

    let private = builder(&store)
        .clock(clock.clone())
        .session_client_info(false)
        .build()
        .unwrap();
    let sign_in = private.sign_in(sign_in_request("ada@example.com", "correct horse battery"));
    let signed_in = SessionClient::scope(client("seen/2", "192.0.2.2"), sign_in)
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    let entry = own_entry(&private, &signed_in).await;
    assert_eq!((entry.user_agent, entry.ip), (None, None));

    clock.advance(Duration::seconds(60));
    let refresh = private.refresh(signed_up.refresh_token.expose_secret());
    let refreshed = SessionClient::scope(client("seen/3", "192.0.2.3"), refresh)
        .await
        .unwrap();
    let entry = own_entry(&private, &refreshed).await;
    assert_eq!((entry.user_agent, entry.ip), (None, None), "cleared");
    assert_eq!(
        entry.last_active_at,
        entry.created_at + Duration::minutes(1)
    );
}
