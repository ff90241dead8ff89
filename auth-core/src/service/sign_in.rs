//! Sign-in with email and password.

use super::{AuthService, second_factor::FirstFactor};
use crate::{
    AuthError, Email, Password, PasswordHash, SignInRequest, User, UserId, Verification,
    sign_in::SignIn, throttle::Throttle,
};

impl AuthService {
    /// Signs in with email and password: a session
    /// ([`SignIn::Complete`]), or, when the user has a
    /// [second factor](crate::AuthServiceBuilder::second_factor) enabled,
    /// a challenge for it ([`SignIn::SecondFactorRequired`]; see
    /// [`verify_second_factor`](Self::verify_second_factor)).
    ///
    /// An unknown email and a wrong password give the same error after about
    /// the same time: a dummy hash is verified for unknown emails, and
    /// [`Argon2Hasher`](crate::Argon2Hasher) makes every check last at least
    /// as long as the slowest kind of stored hash it has verified, so an
    /// account with older Argon2 parameters or an imported bcrypt or Better
    /// Auth hash ([`import_user`](Self::import_user)) cannot be told from an
    /// unknown address either (after the first check of its kind since
    /// start-up; see [`Argon2Hasher::verification_floor`](crate::Argon2Hasher::verification_floor)).
    /// Values that sign-up would refuse are not judged here: they just
    /// cannot match. A password over the policy's maximum is refused before
    /// any hashing. When the stored hash uses weaker parameters than the
    /// hasher's, or is imported, the password is re-hashed with Argon2id and
    /// the new hash stored.
    ///
    /// Unless switched off, a [`SignInThrottle`](crate::SignInThrottle) refuses further attempts
    /// for an address after too many that did not succeed.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`]; [`AuthError::TooManyAttempts`]
    /// from the throttle; [`AuthError::Unavailable`] when its
    /// [`RateLimiter`](crate::RateLimiter) cannot be reached (refused rather than unthrottled).
    pub async fn sign_in(&self, request: SignInRequest) -> Result<SignIn, AuthError> {
        let inner = &self.inner;
        if inner.password_policy.is_overlong(&request.password) {
            return Err(AuthError::InvalidCredentials);
        }
        let Ok(email) = Email::parse(&request.email) else {
            return Err(AuthError::InvalidCredentials);
        };
        if let Some(throttle) = &inner.throttle {
            throttle.begin_attempt(&email).await?;
        }
        let Some(record) = inner.users.find_user_by_email(&email).await? else {
            // As long as a wrong password takes.
            self.verify_password(&request.password, &PasswordHash::none())
                .await?;
            return Err(AuthError::InvalidCredentials);
        };
        match self
            .verify_password(&request.password, &record.password_hash)
            .await?
        {
            Verification::Match => {}
            Verification::MatchNeedsRehash => {
                self.upgrade_hash(&record.user.id, &request.password).await;
            }
            _ => return Err(AuthError::InvalidCredentials),
        }
        if self.must_verify(&record.user) {
            // Only after the password matched: a wrong one stays a 401.
            Self::clear_throttle(inner.throttle.as_ref(), &email).await;
            return Err(AuthError::EmailNotVerified);
        }
        let outcome = self
            .finish_first_factor(record.user, FirstFactor::Password)
            .await?;
        // A challenge keeps the attempt counted until its code is right.
        if matches!(outcome, SignIn::Complete(_)) {
            Self::clear_throttle(inner.throttle.as_ref(), &email).await;
        }
        Ok(outcome)
    }

    /// Clears `email`'s sign-in throttle after a success. A limiter that
    /// cannot be reached is logged, not refused: that would punish the
    /// owner for the outage, and the count ends with its window.
    pub(super) async fn clear_throttle(throttle: Option<&Throttle>, email: &Email) {
        if let Some(throttle) = throttle
            && let Err(error) = throttle.clear(email).await
        {
            tracing::warn!(%error, "could not clear the sign-in throttle after a success");
        }
    }

    /// Whether `user` may have no session yet: the address must be
    /// verified first and is not.
    pub(super) fn must_verify(&self, user: &User) -> bool {
        !user.email_verified
            && self
                .inner
                .accounts
                .as_ref()
                .is_some_and(|settings| settings.flows.require_email_verification)
    }

    /// `password` against `hash`; an account without a password
    /// ([`PasswordHash::none`](crate::PasswordHash::none)) matches nothing,
    /// after as long as a real check takes.
    pub(super) async fn verify_password(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, AuthError> {
        if hash.is_set() {
            return self.inner.hasher.verify(password, hash).await;
        }
        let dummy = self.dummy_hash().await?;
        self.inner.hasher.verify(password, dummy).await?;
        Ok(Verification::Mismatch)
    }

    pub(super) async fn dummy_hash(&self) -> Result<&PasswordHash, AuthError> {
        let hasher = &self.inner.hasher;
        self.inner
            .dummy_hash
            .get_or_try_init(|| async {
                let filler = crate::id::random_token::<16>()?;
                hasher.hash(&Password::new(filler)).await
            })
            .await
    }

    /// Best effort: a failed upgrade must not fail the sign-in that
    /// triggered it; the next sign-in tries again.
    async fn upgrade_hash(&self, user_id: &UserId, password: &Password) {
        let inner = &self.inner;
        let upgraded = match inner.hasher.hash(password).await {
            Ok(hash) => {
                inner
                    .users
                    .update_password_hash(user_id, &hash, inner.now())
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(error) = upgraded {
            tracing::warn!(%user_id, ?error, "could not upgrade a password hash");
        }
    }
}
