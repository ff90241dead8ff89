//! Password reset: a link by mail, then a new password.

use super::AuthService;
use crate::{
    AuthError, Email, NewOneTimeToken, OneTimeToken, ResetPasswordRequest, TokenPurpose,
    mail::job::{MailJob, password_reset_key},
};

impl AuthService {
    /// Mails a password-reset link to `email` if an account has it.
    ///
    /// Answers an unknown address exactly as a known one: the request only
    /// queues a job for the address (one insert, the same for both), and
    /// the [mail queue](crate::mail)'s worker looks the address up, makes
    /// the token and sends the message afterwards, so neither the answer
    /// nor its timing tells whether the address is registered. Limited per
    /// address (counted for unknown ones too).
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`] for text that is no address;
    /// [`AuthError::TooManyAttempts`]; the queue's errors
    /// ([`AuthError::Unavailable`]: nothing was queued);
    /// [`AuthError::NotFound`] without
    /// [account flows](crate::AuthServiceBuilder::account_flows).
    pub async fn request_password_reset(&self, email: &str) -> Result<(), AuthError> {
        self.settings()?;
        let email = Email::parse(email)?;
        self.limit_mail(&email, "reset").await?;
        let job = MailJob::PasswordReset {
            email: email.as_str().to_owned(),
        };
        self.queue_mail(&password_reset_key(&email), job).await
    }

    /// Sets a new password with a reset link's token. Every session of the
    /// user is revoked, the other reset links stop working, and the
    /// sign-in throttle of the address is cleared (the owner has shown
    /// they read its mail).
    ///
    /// The new password is checked before the token is used up, so a
    /// refused password can be retried with the same link.
    ///
    /// # Errors
    /// The policy's errors for the new password;
    /// [`AuthError::InvalidOneTimeToken`]; [`AuthError::NotFound`] without
    /// account flows.
    pub async fn reset_password(&self, request: ResetPasswordRequest) -> Result<(), AuthError> {
        let settings = self.settings()?;
        let policy = &self.inner.password_policy;
        policy.check(&request.new_password)?;
        let record = self
            .redeem_one_time_token(&request.token, &TokenPurpose::PASSWORD_RESET)
            .await?;
        let Some(user) = self.inner.users.find_user_by_id(&record.user_id).await? else {
            return Err(AuthError::InvalidOneTimeToken);
        };
        if let Err(refused) = policy.check_for(&request.new_password, &user.email) {
            // Put the token back (it was the user's only reset token, as a
            // newer one voids the older), so the link can be used again.
            if let Some(token) = OneTimeToken::parse(&request.token) {
                settings
                    .flows
                    .tokens
                    .replace_one_time_token(NewOneTimeToken {
                        hash: token.hash(),
                        purpose: record.purpose,
                        user_id: record.user_id,
                        email: record.email,
                        created_at: record.created_at,
                        expires_at: record.expires_at,
                    })
                    .await?;
            }
            return Err(refused);
        }
        self.set_password(&user, &request.new_password, None)
            .await?;
        if !user.email_verified {
            // Whoever made the account may not own the address: an OAuth
            // identity they linked must not outlive the owner's reset.
            self.forget_linked_identities(&user.id).await?;
        }
        // With a second factor on, the throttle also counts its codes: a
        // reset (which needs only the mailbox) must not buy new guesses.
        let second_factor = self
            .with_second_factors(user.clone())
            .await?
            .two_factor_enabled;
        if let Some(throttle) = &self.inner.throttle
            && !second_factor
            && let Err(error) = throttle.clear(&user.email).await
        {
            tracing::warn!(%error, "could not clear the sign-in throttle after a reset");
        }
        tracing::info!(user_id = %user.id, "password reset");
        Ok(())
    }
}
