//! Refresh: rotating refresh tokens, with reuse detection.

use time::Duration;

use super::{AuthService, Revoked};
use crate::{AuthError, AuthResponse, RefreshToken, RefreshTokenMatch};

impl AuthService {
    /// Exchanges a refresh token for new tokens, rotating the refresh token:
    /// the presented one is used up, the response carries its successor, and
    /// the session (its `sid` and absolute expiry) stays the same.
    ///
    /// Reuse detection: presenting a refresh token that was already rotated
    /// away revokes the whole session, since a copy of it may be in other
    /// hands (unless an opt-in
    /// [grace period](crate::AuthServiceBuilder::reuse_grace_period) is set). Two
    /// refreshes that present one token at the very same moment are a race,
    /// not a reuse: the store's compare-and-swap lets exactly one win and the
    /// other gets [`AuthError::InvalidRefreshToken`], session untouched.
    /// Clients should still make one refresh at a time (for example share
    /// one in-flight refresh between browser tabs): a second tab presenting
    /// the old token after the first tab's refresh has completed is, to the
    /// server, indistinguishable from a thief's replay.
    ///
    /// # Errors
    /// * [`AuthError::InvalidRefreshToken`]: malformed or unknown, or lost a
    ///   simultaneous race, or replayed within the grace period.
    /// * [`AuthError::RefreshTokenReused`]: the token was already rotated
    ///   away; the whole session is now revoked.
    /// * [`AuthError::SessionRevoked`], [`AuthError::SessionExpired`].
    /// * [`AuthError::EmailNotVerified`] when the address must be verified
    ///   and is not: the session is revoked.
    pub async fn refresh(&self, refresh_token: &str) -> Result<AuthResponse, AuthError> {
        let inner = &self.inner;
        let presented = RefreshToken::parse(refresh_token).ok_or(AuthError::InvalidRefreshToken)?;
        let presented_hash = presented.hash();
        let now = inner.now();
        let session = match inner
            .sessions
            .find_session_by_refresh_token(&presented_hash)
            .await?
        {
            None => return Err(AuthError::InvalidRefreshToken),
            Some(RefreshTokenMatch::Rotated {
                session,
                rotated_at,
            }) => {
                // With no grace period configured, even a rotation stamped
                // in the future (clock skew between nodes) is no excuse.
                let grace = inner.reuse_grace_period;
                if grace > Duration::ZERO && now - rotated_at < grace {
                    tracing::warn!(
                        session_id = %session.id,
                        user_id = %session.user_id,
                        "rotated refresh token replayed within the grace period; refused, session kept"
                    );
                    return Err(AuthError::InvalidRefreshToken);
                }
                let _forget = self.forget_when_done(Revoked::Session(&session.id));
                inner.sessions.revoke_session(&session.id, now).await?;
                tracing::warn!(
                    session_id = %session.id,
                    user_id = %session.user_id,
                    "rotated refresh token replayed; session revoked"
                );
                return Err(AuthError::RefreshTokenReused);
            }
            Some(RefreshTokenMatch::Current(session)) => session,
        };
        if session.revoked_at.is_some() {
            return Err(AuthError::SessionRevoked);
        }
        if now >= session.expires_at {
            return Err(AuthError::SessionExpired);
        }
        let Some(user) = inner.users.find_user_by_id(&session.user_id).await? else {
            let _forget = self.forget_when_done(Revoked::Session(&session.id));
            inner.sessions.revoke_session(&session.id, now).await?;
            return Err(AuthError::UserNotFound);
        };
        if self.must_verify(&user) {
            // A session from before verification was required is not kept.
            let _forget = self.forget_when_done(Revoked::Session(&session.id));
            inner.sessions.revoke_session(&session.id, now).await?;
            return Err(AuthError::EmailNotVerified);
        }
        let next = RefreshToken::generate()?;
        let rotated = inner
            .sessions
            .rotate_refresh_token(&session.id, &presented_hash, &next.hash(), now)
            .await?;
        if !rotated {
            return Err(AuthError::InvalidRefreshToken);
        }
        let user = self.with_second_factors(user).await?;
        self.respond(user, &session.id, session.expires_at, next, now)
    }
}
