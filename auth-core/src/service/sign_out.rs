//! Sign-out: revoking one session or all of a user's.

use super::{AuthService, Principal, Revoked};
use crate::{AuthError, TokenPurpose, UserId};

impl AuthService {
    /// Revokes the principal's session: its refresh token and all its
    /// still-unexpired access tokens stop working (the latter only while
    /// session checks are on, the default).
    pub async fn sign_out(&self, principal: &Principal) -> Result<(), AuthError> {
        let session_id = principal.session_id().ok_or(AuthError::NotFound)?;
        let now = self.inner.now();
        let _forget = self.forget_when_done(Revoked::Session(session_id));
        self.inner.sessions.revoke_session(session_id, now).await
    }

    /// Revokes every active session of a user ("sign out everywhere") and
    /// voids their pending email-change links, which someone who held a
    /// session could have sent to an address of theirs, their pending
    /// second-factor challenges, passkey registrations and OAuth links;
    /// returns how many sessions there were.
    pub async fn sign_out_everywhere(&self, user_id: &UserId) -> Result<u64, AuthError> {
        let now = self.inner.now();
        let revoked = {
            let _forget = self.forget_when_done(Revoked::User(user_id));
            self.inner
                .sessions
                .revoke_user_sessions(user_id, None, now)
                .await?
        };
        self.void_tokens(user_id, &[TokenPurpose::EMAIL_CHANGE])
            .await?;
        self.void_challenges(user_id).await?;
        self.void_ceremonies(user_id).await?;
        Ok(revoked)
    }
}
