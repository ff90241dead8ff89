//! Refresh: rotating refresh tokens, with reuse detection and a reuse
//! interval for clients that refresh from several tabs at once.

use time::{Duration, OffsetDateTime};

use super::{AuthService, MAX_REFRESH_REUSES, Revoked};
use crate::{
    AuthError, AuthResponse, RefreshToken, RefreshTokenHash, RefreshTokenMatch, Session, User,
};

impl AuthService {
    /// Exchanges a refresh token for new tokens, rotating the refresh token:
    /// the presented one is used up, the response carries its successor, and
    /// the session (its `sid` and absolute expiry) stays the same.
    ///
    /// Reuse detection: presenting a refresh token that was already rotated
    /// away revokes the whole session, since a copy of it may be in other
    /// hands, unless it comes within the
    /// [reuse interval](crate::AuthServiceBuilder::refresh_reuse_interval)
    /// (default 10 s) of its rotation. Then it is taken for a second tab or
    /// a retry, not a theft: it gets a new pair of the same session, and the
    /// pair of the first rotation stays valid too, up to
    /// [`MAX_REFRESH_REUSES`] times per
    /// token. So refreshes that present one token at once all succeed.
    /// The price: a thief who replays a stolen token within the interval
    /// gets a pair too, and nothing is revoked. With a zero interval
    /// (strict rotation), every replay revokes the session; refreshes
    /// racing with one token are settled by the store's compare-and-swap,
    /// one wins and the others get [`AuthError::InvalidRefreshToken`],
    /// session untouched.
    ///
    /// # Errors
    /// * [`AuthError::InvalidRefreshToken`]: malformed or unknown, or (with
    ///   a zero interval) lost a simultaneous race.
    /// * [`AuthError::RefreshTokenReused`]: the token was already rotated
    ///   away, outside the interval or once too often; the whole session is
    ///   now revoked.
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
            }) => return self.reuse(session, rotated_at, &presented_hash, now).await,
            Some(RefreshTokenMatch::Current(session)) => session,
        };
        let user = self.refreshable_user(&session, now).await?;
        let next = RefreshToken::generate()?;
        let client = self.session_client();
        let rotated = inner
            .sessions
            .rotate_refresh_token(
                &session.id,
                &presented_hash,
                &next.hash(),
                now,
                client.as_ref(),
            )
            .await?;
        if !rotated {
            // A simultaneous refresh with this token won the swap. Strict,
            // that is a plain refusal that keeps the session; with a reuse
            // interval, the token is now one rotated a moment ago, presented
            // again: a second tab's.
            if inner.refresh_reuse_interval <= Duration::ZERO {
                return Err(AuthError::InvalidRefreshToken);
            }
            return match inner
                .sessions
                .find_session_by_refresh_token(&presented_hash)
                .await?
            {
                Some(RefreshTokenMatch::Rotated {
                    session,
                    rotated_at,
                }) => self.reuse(session, rotated_at, &presented_hash, now).await,
                // Revoked, expired or deleted meanwhile.
                _ => Err(AuthError::InvalidRefreshToken),
            };
        }
        let user = self.with_second_factors(user).await?;
        self.respond(user, &session.id, session.expires_at, next, now)
    }

    /// A rotated refresh token presented again: within the reuse interval,
    /// a new pair of the same session; otherwise reuse, which revokes it.
    async fn reuse(
        &self,
        session: Session,
        rotated_at: OffsetDateTime,
        presented: &RefreshTokenHash,
        now: OffsetDateTime,
    ) -> Result<AuthResponse, AuthError> {
        let inner = &self.inner;
        let interval = inner.refresh_reuse_interval;
        // Strict (zero), even a rotation stamped in the future (clock skew
        // between nodes) is no excuse; with an interval it counts as within.
        let within = now
            .checked_sub(interval)
            .filter(|since| interval > Duration::ZERO && rotated_at >= *since);
        let Some(since) = within else {
            return self
                .revoke_for_reuse(&session, now, "outside the reuse interval")
                .await;
        };
        let user = self.refreshable_user(&session, now).await?;
        let next = RefreshToken::generate()?;
        let client = self.session_client();
        let reused = inner
            .sessions
            .reuse_refresh_token(
                &session.id,
                presented,
                &next.hash(),
                since,
                MAX_REFRESH_REUSES,
                now,
                client.as_ref(),
            )
            .await?;
        if !reused {
            // The bound is used up (or the session ended this instant).
            // More than MAX_REFRESH_REUSES presentations of one token within
            // seconds is not tabs or retries but someone replaying it, so
            // it is treated as the theft it looks like.
            return self
                .revoke_for_reuse(&session, now, "too often within the reuse interval")
                .await;
        }
        tracing::debug!(
            session_id = %session.id,
            user_id = %session.user_id,
            "rotated refresh token presented again within the reuse interval; new pair issued"
        );
        let user = self.with_second_factors(user).await?;
        self.respond(user, &session.id, session.expires_at, next, now)
    }

    /// The session's user, if the session may be refreshed at `now`. A
    /// session whose user is gone, or must verify their address first, is
    /// revoked.
    async fn refreshable_user(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<User, AuthError> {
        let inner = &self.inner;
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
        Ok(user)
    }

    /// Reuse detected: revokes the whole session.
    async fn revoke_for_reuse(
        &self,
        session: &Session,
        now: OffsetDateTime,
        why: &'static str,
    ) -> Result<AuthResponse, AuthError> {
        let _forget = self.forget_when_done(Revoked::Session(&session.id));
        self.inner.sessions.revoke_session(&session.id, now).await?;
        tracing::warn!(
            session_id = %session.id,
            user_id = %session.user_id,
            why,
            "rotated refresh token replayed; session revoked"
        );
        Err(AuthError::RefreshTokenReused)
    }
}
