//! Conformance cases of two-factor on a store: the races that the
//! store's compare-and-swap and consume must decide. [`RACERS`] sign-ins
//! of one user, each with its own challenge, present one code at once:
//! exactly one may sign in. Re-exported by [`cases`](super::cases).

use std::sync::Arc;

use super::{
    TestStores,
    cases::{RACERS, base_time},
};
use crate::{
    AuthError, AuthService, EncryptionKey, JwtCodec, Password, SignIn, SignUpRequest, UserId,
    clock::ManualClock,
    service::{TwoFactor, two_factor::codes::TotpSecret},
};

const PASSWORD: &str = "a conformance passphrase";

/// A service with two-factor over `stores`, its clock, a user with it on,
/// that user's TOTP secret and backup codes.
async fn with_two_factor(
    stores: &TestStores,
    address: &str,
) -> Result<(AuthService, ManualClock, UserId, TotpSecret, Vec<String>), AuthError> {
    let clock = ManualClock::new(base_time());
    let auth = AuthService::builder_from_arcs(stores.users.clone(), stores.sessions.clone())
        .credentials_arc(stores.credentials.clone())
        .token_codec(JwtCodec::hs256(
            b"a conformance secret of 32 bytes",
            "conformance",
            "conformance",
        )?)
        .clock(clock.clone())
        .sign_in_throttle(None)
        .client_rate_limit(None)
        .two_factor(TwoFactor::new("Conformance", EncryptionKey::generate()?))
        .build()?;
    let session = auth
        .sign_up(SignUpRequest {
            email: address.into(),
            password: Password::new(PASSWORD),
            name: None,
        })
        .await?
        .signed_in()?;
    auth.mark_email_verified(&session.user.id, &session.user.email)
        .await?;
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await?;
    let setup = auth
        .setup_two_factor(&principal, Some(&Password::new(PASSWORD)))
        .await?;
    let secret = TotpSecret::from_base32(setup.secret.expose_secret())
        .ok_or_else(|| AuthError::internal("the setup's secret is not base32"))?;
    auth.enable_two_factor(&principal, &secret.code_at(unix(&clock)?))
        .await?;
    let codes = setup
        .backup_codes
        .iter()
        .map(|code| code.expose_secret().to_owned())
        .collect();
    Ok((auth, clock, session.user.id, secret, codes))
}

fn unix(clock: &ManualClock) -> Result<u64, AuthError> {
    u64::try_from(crate::Clock::now(clock).unix_timestamp()).map_err(AuthError::internal)
}

/// [`RACERS`] challenges of `user`, each presenting `code` for `method`
/// at once; how many signed in.
async fn race(
    auth: &AuthService,
    user: &UserId,
    method: &'static str,
    code: &str,
) -> Result<usize, AuthError> {
    let mut tokens = Vec::with_capacity(RACERS);
    for _ in 0..RACERS {
        match auth.finish_sign_in(user).await? {
            SignIn::SecondFactorRequired(challenge) => {
                tokens.push(challenge.challenge_token.expose_secret().to_owned());
            }
            _ => return Err(AuthError::internal("two-factor should be asked for")),
        }
    }
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let racers: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (auth, start, code) = (auth.clone(), start.clone(), code.to_owned());
            tokio::spawn(async move {
                start.wait().await;
                auth.verify_second_factor(&token, method, &code).await
            })
        })
        .collect();
    let mut signed_in = 0;
    for racer in racers {
        match racer.await.map_err(AuthError::internal)? {
            Ok(_) => signed_in += 1,
            Err(AuthError::InvalidCode) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(signed_in)
}

/// One TOTP code presented by [`RACERS`] sign-ins at once signs in one of
/// them (the store's compare-and-swap on the last step decides), and is
/// refused afterwards; the next step's code still works.
pub async fn racing_totp_codes_have_one_winner(stores: TestStores) -> Result<(), AuthError> {
    let (auth, clock, user, secret, _) =
        with_two_factor(&stores, "ada-totp-race@example.com").await?;
    clock.advance(time::Duration::seconds(30));
    let code = secret.code_at(unix(&clock)?);
    assert_eq!(race(&auth, &user, "totp", &code).await?, 1, "one winner");
    assert_eq!(race(&auth, &user, "totp", &code).await?, 0, "no replay");
    clock.advance(time::Duration::seconds(30));
    let next = secret.code_at(unix(&clock)?);
    assert_eq!(race(&auth, &user, "totp", &next).await?, 1, "the next step");
    Ok(())
}

/// One backup code presented by [`RACERS`] sign-ins at once signs in one
/// of them (the store's consume decides), and is refused afterwards; the
/// other codes still work.
pub async fn racing_backup_codes_have_one_winner(stores: TestStores) -> Result<(), AuthError> {
    let (auth, _, user, _, codes) = with_two_factor(&stores, "ada-backup-race@example.com").await?;
    assert_eq!(codes.len(), 10);
    assert_eq!(
        race(&auth, &user, "backup_code", &codes[0]).await?,
        1,
        "one winner"
    );
    assert_eq!(
        race(&auth, &user, "backup_code", &codes[0]).await?,
        0,
        "used up"
    );
    assert_eq!(
        race(&auth, &user, "backup_code", &codes[1]).await?,
        1,
        "the others stay"
    );
    Ok(())
}
