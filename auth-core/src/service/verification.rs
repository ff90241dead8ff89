//! Email verification, and email change (verified at the new address).

use super::{AuthService, Principal};
use crate::{
    AuthError, ChangeEmailRequest, Email, MessageKind, TokenPurpose, User, UserId,
    mail::job::{MailJob, email_change_key},
};

impl AuthService {
    /// Mails the principal a link that verifies their address; does
    /// nothing when it is verified already. Limited per address.
    ///
    /// # Errors
    /// [`AuthError::TooManyAttempts`]; the queue's errors;
    /// [`AuthError::NotFound`] without
    /// [account flows](crate::AuthServiceBuilder::account_flows).
    pub async fn send_verification_email(&self, principal: &Principal) -> Result<(), AuthError> {
        self.settings()?;
        let user = self.user_by_id(principal.user_id()).await?;
        self.limit_mail(&user.email, "verification").await?;
        if user.email_verified {
            return Ok(());
        }
        self.queue_mail(user.email.as_str(), verification_of(&user))
            .await
    }

    /// Mails a verification link to `email` if an account has it and it
    /// is not verified yet: the way back in for a user whose sign-up was
    /// answered "check your inbox" and who has no session. Answers every
    /// address alike (unknown, verified or not), as
    /// [`request_password_reset`](Self::request_password_reset) does, and
    /// is limited per address alike: the request queues a job for the
    /// address, and the worker looks it up.
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`]; [`AuthError::TooManyAttempts`]; the
    /// queue's errors; [`AuthError::NotFound`] without account flows.
    pub async fn send_verification_email_to(&self, email: &str) -> Result<(), AuthError> {
        self.settings()?;
        let email = Email::parse(email)?;
        self.limit_mail(&email, "verification").await?;
        let job = MailJob::Verification {
            user_id: None,
            email: Some(email.as_str().to_owned()),
        };
        self.queue_mail(email.as_str(), job).await
    }

    /// Verifies an address with the token of a verification link, or
    /// completes an email change with the token sent to the new address
    /// (the old address is then told). Returns the updated user.
    ///
    /// An address another account holds is never taken: such a change
    /// fails like a used link.
    ///
    /// # Errors
    /// [`AuthError::InvalidOneTimeToken`] for a bad token, a verification
    /// link for an address the account no longer has, or a new address
    /// taken meanwhile; [`AuthError::NotFound`] without account flows.
    pub async fn verify_email(&self, token: &str) -> Result<User, AuthError> {
        let verification = self
            .redeem_one_time_token(token, &TokenPurpose::EMAIL_VERIFICATION)
            .await;
        let (record, change) = match verification {
            Ok(record) => (record, false),
            Err(AuthError::InvalidOneTimeToken) => (
                self.redeem_one_time_token(token, &TokenPurpose::EMAIL_CHANGE)
                    .await?,
                true,
            ),
            Err(other) => return Err(other),
        };
        let inner = &self.inner;
        let Some(before) = inner.users.find_user_by_id(&record.user_id).await? else {
            return Err(AuthError::InvalidOneTimeToken);
        };
        let current = if change { &before.email } else { &record.email };
        let user = match inner
            .users
            .set_verified_email(&record.user_id, current, &record.email, inner.now())
            .await
        {
            Ok(Some(user)) => user,
            Ok(None) | Err(AuthError::EmailTaken) => return Err(AuthError::InvalidOneTimeToken),
            Err(other) => return Err(other),
        };
        if change && before.email != user.email {
            // Links sent to the old address must not act on the account now.
            self.void_tokens(
                &user.id,
                &[
                    TokenPurpose::PASSWORD_RESET,
                    TokenPurpose::EMAIL_VERIFICATION,
                ],
            )
            .await?;
            self.notify(MessageKind::EmailChanged, &before.email).await;
            tracing::info!(user_id = %user.id, "email address changed");
        }
        inner.hooks.email_verified(&user).await;
        self.with_second_factors(user).await
    }

    /// Marks `email` verified for `user_id`, if it is still the user's
    /// address: for a flow of the application's own that proved control of
    /// it (a magic link followed). Then, with
    /// [`require_email_verification`](crate::AccountFlows::require_email_verification),
    /// the user's sessions are kept; an unverified user's session opened by
    /// [`open_session`](Self::open_session) is refused at its first
    /// refresh. Runs the `email_verified` hook.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`] when there is no such user or `email` is
    /// no longer theirs.
    pub async fn mark_email_verified(
        &self,
        user_id: &UserId,
        email: &Email,
    ) -> Result<User, AuthError> {
        let inner = &self.inner;
        let user = inner
            .users
            .set_verified_email(user_id, email, email, inner.now())
            .await?
            .ok_or(AuthError::UserNotFound)?;
        inner.hooks.email_verified(&user).await;
        Ok(user)
    }

    /// Starts moving the principal's account to a new address, once they
    /// have shown it is them (`request.password`, or for an account
    /// without a password a sign-in within [`REAUTHENTICATION_WINDOW`](super::REAUTHENTICATION_WINDOW)):
    /// a link goes to the new address, a notice
    /// without a link to the current one, and the email changes only when
    /// the link is followed ([`verify_email`](Self::verify_email)). A
    /// password change or reset, or [`sign_out_everywhere`](Self::sign_out_everywhere),
    /// voids the pending link, also one still in the mail queue. When
    /// another account holds the new address, that address is told so
    /// instead, and the answer is the same (no enumeration).
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`] (also for the current address);
    /// [`AuthError::WrongPassword`] (also for a missing password when the
    /// account has one); [`AuthError::TooManyAttempts`];
    /// [`AuthError::ReauthenticationRequired`]; the queue's errors;
    /// [`AuthError::NotFound`] without account flows.
    pub async fn change_email(
        &self,
        principal: &Principal,
        request: ChangeEmailRequest,
    ) -> Result<(), AuthError> {
        self.settings()?;
        let new_email = Email::parse(&request.new_email)?;
        let user = self
            .reauthenticate(principal, request.password.as_ref())
            .await?;
        if user.email == new_email {
            return Err(AuthError::InvalidEmail);
        }
        self.limit_mail(&new_email, "email_change").await?;
        // The worker looks the new address up: whether another account
        // holds it decides between a link and a notice.
        let job = MailJob::EmailChange {
            user_id: user.id.as_str().to_owned(),
            new_email: new_email.as_str().to_owned(),
        };
        self.queue_mail(&email_change_key(&user.id), job).await?;
        // The owner hears of it at once, with no token: should the password
        // be someone else's now, a reset voids the pending change.
        self.notify(MessageKind::EmailChangeRequested, &user.email)
            .await;
        Ok(())
    }

    /// Queues the verification link of `user`'s address (what sign-up with
    /// required verification sends); sent unqueued if the queue fails,
    /// since the account exists by then.
    pub(super) async fn queue_verification(&self, user: &User) {
        self.queue_mail_or_send(user.email.as_str(), verification_of(user))
            .await;
    }
}

/// The verification job of `user`.
fn verification_of(user: &User) -> MailJob {
    MailJob::Verification {
        user_id: Some(user.id.as_str().to_owned()),
        email: None,
    }
}
