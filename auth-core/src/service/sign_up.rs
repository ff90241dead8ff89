//! Sign-up: a new account and its first session.

use super::{AuthService, name::normalise_name};
use crate::{AuthError, Email, NewUser, SignUp, SignUpRequest, VerificationRequired};

impl AuthService {
    /// Creates an account and signs it in; or, when the address must be
    /// verified first ([`AccountFlows::require_email_verification`](crate::AccountFlows::require_email_verification)),
    /// opens no session and mails the verification link.
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`], [`AuthError::PasswordTooShort`],
    /// [`AuthError::PasswordTooLong`], [`AuthError::PasswordTooCommon`] or
    /// [`AuthError::InvalidName`] for bad
    /// input (checked before any hashing); [`AuthError::EmailTaken`] if the
    /// email is registered, also when two sign-ups race;
    /// [`AuthError::TooManyAttempts`] when the verification link would go
    /// over the client's mail budget.
    pub async fn sign_up(&self, request: SignUpRequest) -> Result<SignUp, AuthError> {
        let inner = &self.inner;
        let email = Email::parse(&request.email)?;
        inner.password_policy.check_for(&request.password, &email)?;
        let name = normalise_name(request.name, inner.max_name_chars)?;
        // Saves a hash's worth of CPU on an obvious duplicate. The store's
        // unique index remains the real guard against races.
        if inner.users.find_user_by_email(&email).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let verifying = inner
            .accounts
            .as_ref()
            .is_some_and(|settings| settings.flows.require_email_verification);
        if verifying {
            // The verification link goes to whatever address was typed.
            self.limit_client_mail().await?;
        }
        let password_hash = inner.hasher.hash(&request.password).await?;
        let user = inner
            .users
            .create_user(NewUser {
                email,
                email_verified: false,
                name,
                password_hash,
                created_at: inner.now(),
            })
            .await?;
        if self.must_verify(&user) {
            self.queue_verification(&user).await;
            return Ok(SignUp::VerificationRequired(VerificationRequired {
                user,
                email_verification_required: true,
            }));
        }
        let user = self.with_second_factors(user).await?;
        self.open_session_for(user).await.map(SignUp::SignedIn)
    }
}
