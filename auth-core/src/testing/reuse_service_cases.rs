//! Conformance case of the refresh-token reuse interval through an
//! [`AuthService`] on the stores: refreshes that present one token at once
//! (tabs waking up together) all succeed. Re-exported by
//! [`cases`](super::cases).

use std::{
    any::Any,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_trait::async_trait;
use time::Duration;

use super::{Hook, Hooked, TestStores, cases::base_time, reuse_cases::race};
use crate::{
    Argon2Hasher, Argon2Params, AuthError, AuthResponse, AuthService, JwtCodec, Password,
    SessionStore, SignUpRequest, clock::ManualClock,
};

/// How many refreshes present one token at once: as many as the reuse
/// bound lets succeed (one rotation and nine reuses).
const TABS: usize = 10;

/// Ten refreshes through an [`AuthService`] on the stores, presenting
/// one refresh token at once: all succeed with the same session, every new
/// refresh token and access token works, and the session stays alive.
///
/// Twice: first with lookups that wait for each other, so that every
/// refresh finds the token current and all but one lose the rotation's
/// compare-and-swap (then find it rotated, a reuse); then as they come,
/// most finding it already rotated.
pub async fn racing_refreshes_with_one_token_all_succeed(
    stores: TestStores,
) -> Result<(), AuthError> {
    let together = Arc::new(Hooked::new(
        Arc::clone(&stores.sessions),
        LookupsMeet {
            left: AtomicUsize::new(TABS),
            meet: tokio::sync::Barrier::new(TABS),
        },
    ));
    tabs_refresh_at_once(&stores, together, "tabs-together@example.com").await?;
    tabs_refresh_at_once(&stores, Arc::clone(&stores.sessions), "tabs@example.com").await
}

async fn tabs_refresh_at_once(
    stores: &TestStores,
    sessions: Arc<dyn SessionStore>,
    address: &str,
) -> Result<(), AuthError> {
    let clock = ManualClock::new(base_time());
    let auth = AuthService::builder_from_arcs(Arc::clone(&stores.users), sessions)
        .token_codec(JwtCodec::hs256(
            b"a conformance secret of 32 bytes",
            "conformance",
            "conformance",
        )?)
        .password_hasher(Argon2Hasher::new(
            Argon2Params {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            4,
        )?)
        .clock(clock.clone())
        .sign_in_throttle(None)
        .client_rate_limit(None)
        .build()?;
    let signed_up = auth
        .sign_up(SignUpRequest {
            email: address.into(),
            password: Password::new("a conformance passphrase"),
            name: None,
        })
        .await?
        .signed_in()?;
    let session_id = auth
        .authenticate(signed_up.access_token.expose_secret())
        .await?
        .session_id()
        .cloned();
    let token = Arc::new(signed_up.refresh_token.expose_secret().to_owned());
    let outcomes: Vec<Result<AuthResponse, AuthError>> = race(TABS, |_| {
        let (auth, token) = (auth.clone(), Arc::clone(&token));
        async move { Ok(auth.refresh(&token).await) }
    })
    .await?;
    let mut pairs = Vec::with_capacity(TABS);
    for outcome in outcomes {
        pairs.push(outcome.map_err(|error| {
            AuthError::internal(format!(
                "every one of {TABS} refreshes at once must succeed: {error:?}"
            ))
        })?);
    }
    clock.advance(Duration::seconds(1));
    for pair in &pairs {
        let principal = auth.authenticate(pair.access_token.expose_secret()).await?;
        assert_eq!(
            principal.session_id(),
            session_id.as_ref(),
            "the same session"
        );
        let next = auth.refresh(pair.refresh_token.expose_secret()).await?;
        let principal = auth.authenticate(next.access_token.expose_secret()).await?;
        assert_eq!(
            principal.session_id(),
            session_id.as_ref(),
            "the same session"
        );
    }
    auth.authenticate(signed_up.access_token.expose_secret())
        .await?;
    Ok(())
}

/// Makes the first `left` refresh-token lookups wait for each other once
/// they have read, before they answer.
struct LookupsMeet {
    left: AtomicUsize,
    meet: tokio::sync::Barrier,
}

#[async_trait]
impl Hook for LookupsMeet {
    async fn after(&self, method: &'static str, _: &(dyn Any + Send + Sync)) {
        if method != "find_session_by_refresh_token" {
            return;
        }
        let waits = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if waits {
            self.meet.wait().await;
        }
    }
}
