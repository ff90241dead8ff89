//! The password or a fresh sign-in, on the routes that ask for it:
//! account deletion, email change and (with OAuth) linking an identity.
//! The memory store, with a clock the tests move.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use time::{Duration, macros::datetime};

use crate::{
    AccountFlows, AuthError, AuthResponse, AuthService, ChangeEmailRequest, Email, JwtCodec,
    MemoryStore, NewUser, Password, PasswordHash, Principal,
    clock::{Clock, ManualClock},
    mail::{Mailer, Message},
    store::UserStore,
};

const PASSWORD: &str = "correct horse battery staple";

/// Drops every message: these tests read no mail.
struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    async fn send(&self, _: &Message) -> Result<(), AuthError> {
        Ok(())
    }
}

/// A service on `store` at `clock`'s time, with account flows (for email
/// changes) and, with the feature, the GitHub preset (for links).
fn service(store: &MemoryStore, clock: &ManualClock) -> AuthService {
    let flows = AccountFlows::new(store.clone(), NoMail, "https://app.example.com/");
    let builder = AuthService::with_store(store.clone())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .clock(clock.clone())
        .account_flows(flows);
    #[cfg(feature = "oauth")]
    let builder = builder.oauth(
        crate::service::OAuth::new("https://app.example.com").provider(
            crate::service::OAuthProvider::github(
                "client",
                crate::service::ClientSecret::new("secret"),
            ),
        ),
    );
    builder.build().unwrap()
}

fn start() -> (MemoryStore, ManualClock) {
    (
        MemoryStore::new(),
        ManualClock::new(datetime!(2030-01-01 0:00 UTC)),
    )
}

use super::super::test_support::principal as authenticated;

/// A user who signed up with a password, signed in.
async fn with_password(auth: &AuthService, email: &str) -> AuthResponse {
    super::super::test_support::signed_up(auth, email, PASSWORD).await
}

/// A user without a password (as OAuth or email sign-in make them),
/// signed in now.
async fn without_password(
    auth: &AuthService,
    store: &MemoryStore,
    clock: &ManualClock,
    email: &str,
) -> AuthResponse {
    let user = store
        .create_user(NewUser {
            email: Email::parse(email).unwrap(),
            password_hash: PasswordHash::none(),
            name: None,
            email_verified: true,
            created_at: clock.now(),
        })
        .await
        .unwrap();
    auth.open_session(&user.id).await.unwrap()
}

fn change_to(new_email: &str, password: Option<&str>) -> ChangeEmailRequest {
    ChangeEmailRequest {
        new_email: new_email.to_owned(),
        password: password.map(Password::new),
    }
}

/// The route under test, called for `principal` with `password`.
#[derive(Clone, Copy, Debug)]
enum Route {
    DeleteAccount,
    ChangeEmail,
}

impl Route {
    async fn call(
        self,
        auth: &AuthService,
        principal: &Principal,
        password: Option<&str>,
    ) -> Result<(), AuthError> {
        let password = password.map(Password::new);
        match self {
            Self::DeleteAccount => auth.delete_account(principal, password.as_ref()).await,
            Self::ChangeEmail => {
                let request = ChangeEmailRequest {
                    new_email: "moved@example.com".to_owned(),
                    password,
                };
                auth.change_email(principal, request).await
            }
        }
    }
}

const ROUTES: [Route; 2] = [Route::DeleteAccount, Route::ChangeEmail];

impl Route {
    /// Asserts that the call asks for a fresh sign-in.
    async fn expect_refused(
        self,
        auth: &AuthService,
        principal: &Principal,
        password: Option<&str>,
    ) {
        let result = self.call(auth, principal, password).await;
        assert!(
            matches!(result, Err(AuthError::ReauthenticationRequired)),
            "{self:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_password_account_that_sends_no_password_is_refused() {
    for route in ROUTES {
        let (store, clock) = start();
        let auth = service(&store, &clock);
        let ada = with_password(&auth, "ada@example.com").await;
        let principal = authenticated(&auth, &ada).await;
        assert!(
            matches!(
                route.call(&auth, &principal, None).await,
                Err(AuthError::WrongPassword)
            ),
            "{route:?}"
        );
        assert!(
            matches!(
                route
                    .call(&auth, &principal, Some("not the password"))
                    .await,
                Err(AuthError::WrongPassword)
            ),
            "{route:?}"
        );
        // The password, not the sign-in's age, is what counts for her.
        clock.advance(Duration::hours(1));
        route
            .call(&auth, &principal, Some(PASSWORD))
            .await
            .unwrap_or_else(|error| panic!("{route:?}: {error:?}"));
    }
}

#[tokio::test]
async fn a_passwordless_account_is_trusted_for_10_minutes_after_its_sign_in() {
    for route in ROUTES {
        let (store, clock) = start();
        let auth = service(&store, &clock);
        let grace = without_password(&auth, &store, &clock, "grace@example.com").await;
        let principal = authenticated(&auth, &grace).await;
        clock.advance(Duration::minutes(10));
        route
            .call(&auth, &principal, None)
            .await
            .unwrap_or_else(|error| panic!("{route:?}: {error:?}"));

        let (store, clock) = start();
        let auth = service(&store, &clock);
        let grace = without_password(&auth, &store, &clock, "grace@example.com").await;
        let principal = authenticated(&auth, &grace).await;
        clock.advance(Duration::minutes(10) + Duration::seconds(1));
        // A password sent anyway changes nothing: there is none to check.
        for password in [None, Some("anything at all")] {
            route.expect_refused(&auth, &principal, password).await;
        }
        assert!(
            store
                .find_user_by_email(&Email::parse("grace@example.com").unwrap())
                .await
                .unwrap()
                .is_some(),
            "{route:?} kept the account and its address"
        );
        // A new sign-in is fresh again.
        let again = auth.open_session(&grace.user.id).await.unwrap();
        route
            .call(&auth, &authenticated(&auth, &again).await, None)
            .await
            .unwrap_or_else(|error| panic!("{route:?}: {error:?}"));
    }
}

#[tokio::test]
async fn a_refresh_does_not_make_a_sign_in_fresh() {
    for route in ROUTES {
        let (store, clock) = start();
        let auth = service(&store, &clock);
        let grace = without_password(&auth, &store, &clock, "grace@example.com").await;
        clock.advance(Duration::minutes(9));
        let refreshed = auth
            .refresh(grace.refresh_token.expose_secret())
            .await
            .unwrap();
        clock.advance(Duration::minutes(2));
        let principal = authenticated(&auth, &refreshed).await;
        route.expect_refused(&auth, &principal, None).await;
    }
}

#[tokio::test]
async fn an_ended_session_is_no_fresh_sign_in() {
    let (store, clock) = start();
    let auth = service(&store, &clock);
    let grace = without_password(&auth, &store, &clock, "grace@example.com").await;
    let principal = authenticated(&auth, &grace).await;
    auth.sign_out_everywhere(&grace.user.id).await.unwrap();
    for route in ROUTES {
        route.expect_refused(&auth, &principal, None).await;
    }
}

#[tokio::test]
async fn an_email_change_keeps_its_own_checks() {
    let (store, clock) = start();
    let auth = service(&store, &clock);
    let grace = without_password(&auth, &store, &clock, "grace@example.com").await;
    let principal = authenticated(&auth, &grace).await;
    for (to, expected) in [("grace@example.com", "the current"), ("no address", "none")] {
        assert!(
            matches!(
                auth.change_email(&principal, change_to(to, None)).await,
                Err(AuthError::InvalidEmail)
            ),
            "{expected}"
        );
    }
}

#[cfg(feature = "oauth")]
mod link {
    use super::*;
    use crate::service::oauth::Start;

    async fn link(auth: &AuthService, principal: &Principal) -> Result<(), AuthError> {
        auth.oauth_authorize("github", Start::default(), Some(principal))
            .await
            .map(|start| assert!(start.cookie.is_some(), "a state cookie"))
    }

    #[tokio::test]
    async fn a_link_needs_a_sign_in_of_the_last_10_minutes() {
        let (store, clock) = start();
        let auth = service(&store, &clock);
        let ada = with_password(&auth, "ada@example.com").await;
        let grace = without_password(&auth, &store, &clock, "grace@example.com").await;
        clock.advance(Duration::minutes(10));
        for session in [&ada, &grace] {
            link(&auth, &authenticated(&auth, session).await)
                .await
                .unwrap();
        }
        clock.advance(Duration::seconds(1));
        for session in [&ada, &grace] {
            assert!(matches!(
                link(&auth, &authenticated(&auth, session).await).await,
                Err(AuthError::ReauthenticationRequired)
            ));
        }
        // A sign-in without OAuth is untouched by the window.
        auth.oauth_authorize("github", Start::default(), None)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_refresh_does_not_make_a_link_possible() {
        let (store, clock) = start();
        let auth = service(&store, &clock);
        let ada = with_password(&auth, "ada@example.com").await;
        clock.advance(Duration::minutes(9));
        let refreshed = auth
            .refresh(ada.refresh_token.expose_secret())
            .await
            .unwrap();
        clock.advance(Duration::minutes(2));
        assert!(matches!(
            link(&auth, &authenticated(&auth, &refreshed).await).await,
            Err(AuthError::ReauthenticationRequired)
        ));
        let signed_in = auth
            .sign_in(crate::SignInRequest {
                email: "ada@example.com".into(),
                password: Password::new(PASSWORD),
            })
            .await
            .unwrap();
        let crate::SignIn::Complete(session) = signed_in else {
            panic!("no second factor here");
        };
        link(&auth, &authenticated(&auth, &session).await)
            .await
            .unwrap();
    }
}
