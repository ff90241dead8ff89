//! The end of every first-factor sign-in: a session, or a challenge for a
//! second factor when the user has one. The challenge lives in the
//! [`CredentialStore`] as a `two_factor_challenge` row.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::AuthService;
use crate::{
    AuthError, AuthResponse, Credential, CredentialId, CredentialKind, CredentialStore,
    NewCredential, User, UserId,
    sign_in::{ChallengeToken, SecondFactorRequired, SignIn},
};

/// How long a challenge lasts: 5 minutes.
const CHALLENGE_TTL: StdDuration = StdDuration::from_secs(5 * 60);

/// Wrong codes a challenge survives: the 5th wrong one voids it.
const MAX_WRONG_CODES: u32 = 5;

/// Rounds of compare-and-swap before giving up. Each lost round is another
/// request's successful write, and a challenge takes at most
/// [`MAX_WRONG_CODES`] of those before it is gone, so this is never
/// reached with a store that keeps its contract.
const MAX_ROUNDS: usize = 8;

/// The credential kind of a pending challenge; its lookup is the SHA-256
/// of the challenge token.
const KIND: CredentialKind = CredentialKind::new("two_factor_challenge");

/// A second factor a user may have enabled (TOTP, backup codes), asked for
/// after a first factor that does not prove two. Register each with
/// [`AuthServiceBuilder::second_factor`](crate::AuthServiceBuilder::second_factor);
/// the service then answers a sign-in of a user who has one enabled with
/// [`SignIn::SecondFactorRequired`], and
/// [`AuthService::verify_second_factor`] asks the method named in the
/// request to check the code.
///
/// ```
/// use auth_core::{AuthError, UserId, async_trait, sign_in::SecondFactor};
///
/// /// A fixed code for one user: a test double, not a real factor.
/// struct FixedCode;
///
/// #[async_trait]
/// impl SecondFactor for FixedCode {
///     fn method(&self) -> &'static str {
///         "fixed"
///     }
///     async fn is_enabled(&self, user: &UserId) -> Result<bool, AuthError> {
///         Ok(user.as_str() == "ada")
///     }
///     async fn verify(&self, _user: &UserId, code: &str) -> Result<bool, AuthError> {
///         Ok(code == "123456")
///     }
///     async fn remove(&self, _user: &UserId) -> Result<(), AuthError> {
///         Ok(()) // nothing kept
///     }
/// }
/// ```
#[async_trait]
pub trait SecondFactor: Send + Sync + 'static {
    /// The name in `methods` and in the verify body (`"totp"`,
    /// `"backup_code"`): unique among the registered factors.
    fn method(&self) -> &'static str;

    /// Whether `user` has this factor switched on.
    ///
    /// # Errors
    /// The factor's store errors; the sign-in fails with them.
    async fn is_enabled(&self, user: &UserId) -> Result<bool, AuthError>;

    /// Whether `code` is right for `user`. It may use the code up (a
    /// backup code, a TOTP step against replay): the service calls it once
    /// per attempt, after counting the attempt, so at most 5 calls reach it
    /// per challenge however many requests arrive at once. A right code
    /// whose challenge was used up meanwhile is still used up.
    ///
    /// # Errors
    /// The factor's store errors; the attempt fails with them (it still
    /// counts as one of the challenge's tries).
    async fn verify(&self, user: &UserId, code: &str) -> Result<bool, AuthError>;

    /// Forgets this factor for `user`: called when the owner of an address
    /// takes back an account that someone else opened with it and never
    /// verified (see
    /// [`verify_email_sign_in`](AuthService::verify_email_sign_in)), so
    /// that a factor that person set up cannot lock the owner out.
    ///
    /// # Errors
    /// The factor's store errors; the sign-in fails with them.
    async fn remove(&self, user: &UserId) -> Result<(), AuthError>;
}

/// The first factor a sign-in proved, kept in its challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FirstFactor {
    /// Email and password.
    Password,
    /// An email sign-in link.
    EmailLink,
    /// An email sign-in code.
    EmailCode,
    /// A flow of the application's own ([`AuthService::finish_sign_in`]).
    Application,
    /// An OAuth 2.0 / OpenID Connect provider.
    #[cfg_attr(not(feature = "oauth"), allow(dead_code))]
    OAuth,
    /// A passkey without user verification: something the user has.
    #[cfg_attr(not(feature = "passkeys"), allow(dead_code))]
    Passkey,
    /// A passkey with user verification (a PIN or biometric on the
    /// device): something the user has, and knows or is.
    #[cfg_attr(not(feature = "passkeys"), allow(dead_code))]
    VerifiedPasskey,
}

impl FirstFactor {
    /// Whether it proves two factors by itself, and so needs no second.
    fn proves_two_factors(self) -> bool {
        match self {
            Self::Password
            | Self::EmailLink
            | Self::EmailCode
            | Self::Application
            | Self::OAuth
            | Self::Passkey => false,
            Self::VerifiedPasskey => true,
        }
    }
}

/// What a pending challenge keeps (its token is the row's lookup, hashed).
#[derive(Serialize, Deserialize)]
struct Challenge {
    first_factor: FirstFactor,
    /// Codes tried so far, counted before each is checked.
    tries: u32,
}

impl AuthService {
    /// Ends a sign-in flow of the application's own (its own magic link, an
    /// SSO callback) the way this library's methods end theirs: a session,
    /// or [`SignIn::SecondFactorRequired`] when the user has a second
    /// factor enabled. [`open_session`](Self::open_session) asks for no
    /// second factor; use this one for anything that signs a user in.
    ///
    /// ```
    /// # use auth_core::{AuthError, AuthService, JwtCodec, MemoryStore, Password, SignIn, SignUpRequest};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), AuthError> {
    /// # let auth = AuthService::with_store(MemoryStore::new())
    /// #     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
    /// #     .build()?;
    /// # let ada = auth.sign_up(SignUpRequest { email: "ada@example.com".into(),
    /// #     password: Password::new("correct horse battery"), name: None }).await?.signed_in()?.user;
    /// // After the app's own flow vouched for ada:
    /// match auth.finish_sign_in(&ada.id).await? {
    ///     SignIn::Complete(session) => assert_eq!(session.user.id, ada.id),
    ///     SignIn::SecondFactorRequired(challenge) => { let _ = challenge; /* ask for the code */ }
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`] if there is no such user.
    pub async fn finish_sign_in(&self, user_id: &UserId) -> Result<SignIn, AuthError> {
        let user = self.user_by_id(user_id).await?;
        self.finish_first_factor(user, FirstFactor::Application)
            .await
    }

    /// Ends a first factor that `user` has passed: a challenge when a
    /// second factor is enabled for them and `factor` does not prove two,
    /// else a session.
    pub(crate) async fn finish_first_factor(
        &self,
        mut user: User,
        factor: FirstFactor,
    ) -> Result<SignIn, AuthError> {
        if factor.proves_two_factors() {
            user = self.with_second_factors(user).await?;
        } else {
            let mut methods = Vec::new();
            for second in &self.inner.second_factors {
                if second.is_enabled(&user.id).await? {
                    methods.push(second.method().to_owned());
                }
            }
            if !methods.is_empty() {
                return self
                    .challenge(&user.id, factor, methods)
                    .await
                    .map(SignIn::SecondFactorRequired);
            }
            // Every factor was asked just now: none is on.
            user.two_factor_enabled = false;
        }
        self.open_session_for(user).await.map(SignIn::Complete)
    }

    async fn challenge(
        &self,
        user_id: &UserId,
        first_factor: FirstFactor,
        methods: Vec<String>,
    ) -> Result<SecondFactorRequired, AuthError> {
        let credentials = self.challenges()?;
        let token = ChallengeToken::generate()?;
        let now = self.inner.now();
        let expires_at = super::expiry(now, CHALLENGE_TTL)?;
        let challenge = Challenge {
            first_factor,
            tries: 0,
        };
        credentials
            .insert(NewCredential {
                id: CredentialId::generate()?,
                kind: KIND,
                lookup: token.hash().to_hex(),
                user_id: Some(user_id.clone()),
                data: serde_json::to_vec(&challenge).map_err(AuthError::internal)?,
                created_at: now,
                expires_at: Some(expires_at),
            })
            .await?
            .ok_or_else(|| AuthError::internal("a challenge token was drawn twice"))?;
        Ok(SecondFactorRequired {
            challenge_token: token,
            methods,
            expires_in: CHALLENGE_TTL.as_secs(),
        })
    }

    /// The second step of a sign-in that answered
    /// [`SignIn::SecondFactorRequired`]: `code` for the second factor named
    /// `method` (one of the answer's `methods`) opens the session.
    ///
    /// A challenge is bound to the user whose first factor made it, lasts
    /// 5 minutes and is used up by its first right code; of two right
    /// codes at once, one signs in. Each try is counted before the code is
    /// checked, also among concurrent ones; the 5th wrong one voids the
    /// challenge. Each try also counts toward the user's
    /// [sign-in throttle](crate::limits::SignInThrottle), which a success
    /// clears. Sign-out everywhere, a password change or reset void the
    /// user's pending challenges. An HTTP route that serves this should
    /// also call [`admit_client`](Self::admit_client), as the auth routes do.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] (401 `invalid_token`, as the contract
    /// has it for `two-factor/verify`) for an unknown, used, expired or
    /// voided challenge; [`AuthError::InvalidCode`] (401 `invalid_code`)
    /// for a wrong code or a method the user has not enabled, including
    /// the 5th, which voids the challenge; [`AuthError::TooManyAttempts`]
    /// from the throttle.
    pub async fn verify_second_factor(
        &self,
        challenge_token: &str,
        method: &str,
        code: &str,
    ) -> Result<AuthResponse, AuthError> {
        let token = ChallengeToken::parse(challenge_token).ok_or(AuthError::InvalidToken)?;
        let Ok(credentials) = self.challenges() else {
            return Err(AuthError::InvalidToken);
        };
        let lookup = token.hash().to_hex();
        let row = self
            .pending_challenge(credentials, &lookup)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let user_id = row.user_id.clone().ok_or(AuthError::InvalidToken)?;
        let user = self
            .inner
            .users
            .find_user_by_id(&user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if let Some(throttle) = &self.inner.throttle {
            throttle.begin_attempt(&user.email).await?;
        }
        // A challenge whose tries are all counted takes no more, so the
        // 5th wrong code leaves it dead without deleting it: a right code
        // counted before it, still being checked, can then end it and sign
        // in (deleting it there would refuse that code, whose step or
        // backup code is spent by then). It expires with its lifetime.
        self.count_try(credentials, &lookup, &user_id, row).await?;
        if self.second_factor_accepts(&user_id, method, code).await? {
            if !self.end_challenge(credentials, &lookup, &user_id).await? {
                return Err(AuthError::InvalidToken);
            }
            Self::clear_throttle(self.inner.throttle.as_ref(), &user.email).await;
            // The factor that took the code is on.
            let mut user = user;
            user.two_factor_enabled = true;
            return self.open_session_for(user).await;
        }
        Err(AuthError::InvalidCode)
    }

    /// Counts one try on the challenge (compare-and-swap, read again after
    /// a lost round); returns its number, or refuses a challenge whose
    /// tries are all taken.
    async fn count_try(
        &self,
        credentials: &dyn CredentialStore,
        lookup: &str,
        user_id: &UserId,
        mut row: Credential,
    ) -> Result<u32, AuthError> {
        for _ in 0..MAX_ROUNDS {
            let mut challenge: Challenge =
                serde_json::from_slice(&row.data).map_err(AuthError::internal)?;
            if challenge.tries >= MAX_WRONG_CODES {
                return Err(AuthError::InvalidToken);
            }
            challenge.tries += 1;
            let data = serde_json::to_vec(&challenge).map_err(AuthError::internal)?;
            if credentials
                .update(&row.id, row.version, &data, None)
                .await?
            {
                return Ok(challenge.tries);
            }
            row = self
                .pending_challenge(credentials, lookup)
                .await?
                .filter(|again| again.user_id.as_ref() == Some(user_id))
                .ok_or(AuthError::InvalidToken)?;
        }
        Err(AuthError::InvalidToken)
    }

    /// Uses the challenge up, whatever tries were counted meanwhile;
    /// `false` when it was already gone.
    async fn end_challenge(
        &self,
        credentials: &dyn CredentialStore,
        lookup: &str,
        user_id: &UserId,
    ) -> Result<bool, AuthError> {
        for _ in 0..MAX_ROUNDS {
            let Some(row) = self
                .pending_challenge(credentials, lookup)
                .await?
                .filter(|row| row.user_id.as_ref() == Some(user_id))
            else {
                return Ok(false);
            };
            if credentials.consume(&row.id, row.version).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `user` with [`User::two_factor_enabled`] filled in from the
    /// registered factors.
    pub(super) async fn with_second_factors(&self, mut user: User) -> Result<User, AuthError> {
        for factor in &self.inner.second_factors {
            if factor.is_enabled(&user.id).await? {
                user.two_factor_enabled = true;
                break;
            }
        }
        Ok(user)
    }

    /// Voids `user`'s pending challenges (sign-out everywhere, a password
    /// change or reset).
    pub(super) async fn void_challenges(&self, user_id: &UserId) -> Result<(), AuthError> {
        if self.inner.second_factors.is_empty() {
            return Ok(());
        }
        if let Some(credentials) = &self.inner.credentials {
            credentials.delete_for_user(user_id, &KIND).await?;
        }
        Ok(())
    }

    /// Forgets every second factor of `user` and voids their challenges:
    /// the account is being taken back by its address's owner.
    pub(super) async fn remove_second_factors(&self, user_id: &UserId) -> Result<(), AuthError> {
        for factor in &self.inner.second_factors {
            factor.remove(user_id).await?;
        }
        self.void_challenges(user_id).await
    }

    /// Whether the registered factor `method` is enabled for `user` and
    /// takes `code`; an unknown or disabled method takes no code.
    async fn second_factor_accepts(
        &self,
        user: &UserId,
        method: &str,
        code: &str,
    ) -> Result<bool, AuthError> {
        let Some(factor) = self
            .inner
            .second_factors
            .iter()
            .find(|factor| factor.method() == method)
        else {
            return Ok(false);
        };
        Ok(factor.is_enabled(user).await? && factor.verify(user, code).await?)
    }

    /// The challenge with this lookup, if it is still good.
    async fn pending_challenge(
        &self,
        credentials: &dyn CredentialStore,
        lookup: &str,
    ) -> Result<Option<Credential>, AuthError> {
        let now = self.inner.now();
        Ok(credentials
            .find(&KIND, lookup)
            .await?
            .filter(|row| row.kind == KIND && row.user_id.is_some() && !row.is_expired_at(now)))
    }

    /// Where challenges are kept; the builder refuses second factors
    /// without it.
    fn challenges(&self) -> Result<&dyn CredentialStore, AuthError> {
        self.inner
            .credentials
            .as_deref()
            .ok_or_else(|| AuthError::internal("second factors need a credentials store"))
    }
}
