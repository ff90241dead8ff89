//! Password reset: a link by mail, then a new password.

use super::{
    AuthService,
    account_flows::{Turn, compose},
};
use crate::{
    AuthError, Email, MessageKind, NewOneTimeToken, OneTimeToken, ResetPasswordRequest,
    TokenPurpose, UserId,
};

impl AuthService {
    /// Mails a password-reset link to `email` if an account has it.
    ///
    /// Answers an unknown address exactly as a known one: both cost one
    /// store lookup here, and the token, its storage and the message are
    /// made in the background, so neither the answer nor its timing tells
    /// whether the address is registered. Limited per address (counted
    /// for unknown ones too).
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`] for text that is no address;
    /// [`AuthError::TooManyAttempts`]; [`AuthError::NotFound`] without
    /// [account flows](crate::AuthServiceBuilder::account_flows).
    pub async fn request_password_reset(&self, email: &str) -> Result<(), AuthError> {
        let settings = self.settings()?;
        let email = Email::parse(email)?;
        self.limit_mail(&email).await?;
        let Some(record) = self.inner.users.find_user_by_email(&email).await? else {
            tracing::debug!("password reset asked for an unknown address");
            return Ok(());
        };
        let ttl = settings.password_reset_ttl;
        let service = self.clone();
        let ticket = self.inner.in_order.ticket();
        super::account_flows::in_background(async move {
            let user = record.user;
            let turn = ticket.wait().await;
            service
                .mail_link(
                    turn,
                    &user.id,
                    &user.email,
                    TokenPurpose::PASSWORD_RESET,
                    ttl,
                )
                .await;
        })
        .await;
        Ok(())
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

    /// Issues a token of `purpose` for `user_id` and mails its link to
    /// `email`; failures are logged (this runs after the answer).
    pub(super) async fn mail_link(
        &self,
        turn: Turn,
        user_id: &UserId,
        email: &Email,
        purpose: TokenPurpose,
        ttl: time::Duration,
    ) {
        let (page, kind) = if purpose == TokenPurpose::PASSWORD_RESET {
            ("reset-password", MessageKind::PasswordReset)
        } else if purpose == TokenPurpose::EMAIL_CHANGE {
            ("verify-email", MessageKind::EmailChange)
        } else {
            ("verify-email", MessageKind::EmailVerification)
        };
        let issued = self.issue_token(user_id, email, purpose, ttl).await;
        // Written: a request after this one may write its own now.
        drop(turn);
        let token = match issued {
            Ok(token) => token,
            Err(error) => {
                tracing::error!(%user_id, %error, "could not issue a one-time token");
                return;
            }
        };
        if let Some(settings) = &self.inner.accounts {
            let link = settings.link(page, token.expose_secret());
            self.post(compose(kind, email, Some(link))).await;
        }
    }
}
