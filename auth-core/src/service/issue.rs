//! Opening sessions and issuing their tokens.

use time::OffsetDateTime;

use super::AuthService;
use crate::{
    AccessClaims, AccessToken, AuthError, AuthResponse, NewSession, RefreshToken, SessionId, User,
};

impl AuthService {
    pub(super) async fn open_session(&self, user: User) -> Result<AuthResponse, AuthError> {
        let inner = &self.inner;
        let refresh_token = RefreshToken::generate()?;
        let now = inner.now();
        let session = inner
            .sessions
            .create_session(NewSession {
                id: SessionId::generate()?,
                user_id: user.id.clone(),
                refresh_token_hash: refresh_token.hash(),
                created_at: now,
                expires_at: now
                    .checked_add(inner.session_ttl)
                    .ok_or_else(|| AuthError::internal("session expiry out of range"))?,
            })
            .await?;
        self.respond(user, &session.id, session.expires_at, refresh_token, now)
    }

    /// Issues an access token for `session_id` and packs the response. The
    /// token never outlives its session.
    pub(super) fn respond(
        &self,
        user: User,
        session_id: &SessionId,
        session_expires_at: OffsetDateTime,
        refresh_token: RefreshToken,
        now: OffsetDateTime,
    ) -> Result<AuthResponse, AuthError> {
        let inner = &self.inner;
        let expires_at = now
            .checked_add(inner.access_token_ttl)
            .map_or(session_expires_at, |exp| exp.min(session_expires_at));
        let claims = AccessClaims {
            sub: user.id.clone(),
            sid: session_id.clone(),
            jti: crate::id::random_token::<16>()?,
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            nbf: None,
            iss: inner.tokens.issuer().to_owned(),
            aud: inner.tokens.audience().to_owned(),
            custom: inner
                .custom_claims
                .as_ref()
                .map(|custom| custom.claims_for(&user))
                .unwrap_or_default(),
        };
        let access_token = AccessToken::new(inner.tokens.issue(&claims)?);
        Ok(AuthResponse {
            user,
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: u64::try_from(claims.exp - claims.iat).unwrap_or(0),
            refresh_token,
        })
    }
}
