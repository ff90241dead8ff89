//! Conformance case of passkeys on a store: [`RACERS`] sign-ins with one
//! passkey, each with its own challenge and an assertion of the same sign
//! counter, at once: the store's compare-and-swap on the counter decides,
//! so exactly one signs in. Re-exported by [`cases`](super::cases).

use std::sync::Arc;

use super::{
    SoftAuthenticator, TestStores,
    cases::{RACERS, base_time},
};
use crate::{
    AuthError, AuthService, JwtCodec, Password, SignUpRequest, clock::ManualClock,
    service::Passkeys,
};

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://example.com";

/// One counter value presented by [`RACERS`] sign-ins at once signs in
/// one of them (a cloned authenticator would do this); a higher counter
/// then still works.
pub async fn racing_passkey_assertions_have_one_winner(
    stores: TestStores,
) -> Result<(), AuthError> {
    let auth = AuthService::builder_from_arcs(stores.users.clone(), stores.sessions.clone())
        .credentials_arc(stores.credentials.clone())
        .token_codec(JwtCodec::hs256(
            b"a conformance secret of 32 bytes",
            "conformance",
            "conformance",
        )?)
        .clock(ManualClock::new(base_time()))
        .sign_in_throttle(None)
        .client_rate_limit(None)
        .passkeys(Passkeys::new(RP_ID, [ORIGIN]))
        .build()?;
    let session = auth
        .sign_up(SignUpRequest {
            email: "ada-passkey-race@example.com".into(),
            password: Password::new("a conformance passphrase"),
            name: None,
        })
        .await?
        .signed_in()?;
    auth.mark_email_verified(&session.user.id, &session.user.email)
        .await?;
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await?;
    let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
    let options = auth.passkey_registration_options(&principal).await?;
    let created = serde_json::from_value(authenticator.create(&options.options))
        .map_err(AuthError::internal)?;
    auth.register_passkey(&principal, &options.challenge_id, &created, None)
        .await?;

    // Every racer's assertion carries the sign counter `counter`.
    let race =
        async |authenticator: &mut SoftAuthenticator, counter: u32| -> Result<usize, AuthError> {
            let mut attempts = Vec::with_capacity(RACERS);
            for _ in 0..RACERS {
                let options = auth.passkey_sign_in_options().await?;
                authenticator.counter = counter - 1;
                let assertion = serde_json::from_value(authenticator.get(&options.options))
                    .map_err(AuthError::internal)?;
                attempts.push((options.challenge_id, assertion));
            }
            let start = Arc::new(tokio::sync::Barrier::new(RACERS));
            let racers: Vec<_> = attempts
                .into_iter()
                .map(|(challenge_id, assertion)| {
                    let (auth, start) = (auth.clone(), start.clone());
                    tokio::spawn(async move {
                        start.wait().await;
                        auth.sign_in_with_passkey(&challenge_id, &assertion).await
                    })
                })
                .collect();
            let mut signed_in = 0;
            for racer in racers {
                match racer.await.map_err(AuthError::internal)? {
                    Ok(_) => signed_in += 1,
                    Err(AuthError::InvalidCredential) => {}
                    Err(other) => return Err(other),
                }
            }
            Ok(signed_in)
        };
    assert_eq!(race(&mut authenticator, 1).await?, 1, "one winner");
    assert_eq!(
        race(&mut authenticator, 1).await?,
        0,
        "the same counter again"
    );
    assert_eq!(race(&mut authenticator, 6).await?, 1, "a higher counter");
    Ok(())
}
