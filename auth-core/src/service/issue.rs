//! Opening sessions and issuing their tokens.

use time::OffsetDateTime;

use super::AuthService;
use crate::{
    AccessClaims, AccessToken, AuthError, AuthResponse, NewSession, RefreshToken, SessionClient,
    SessionId, User, UserId,
};

impl AuthService {
    /// Opens a session for a user that the application has authenticated
    /// by other means (an OAuth callback, a magic link, a passkey, an
    /// administrator's impersonation): the same [`AuthResponse`] as
    /// sign-in, with the same lifetimes, custom claims and session rules
    /// (sign-out, refresh rotation and reuse detection all apply).
    ///
    /// It trusts the caller completely: whoever can reach this call with a
    /// user id gets that user's tokens. It does not check
    /// [`AccountFlows::require_email_verification`](crate::AccountFlows::require_email_verification),
    /// but a refresh does: a flow that proves control of the address (a
    /// magic link) marks it verified first with
    /// [`mark_email_verified`](Self::mark_email_verified), or the session
    /// ends at its first refresh. Nor does it ask for a
    /// [second factor](crate::AuthServiceBuilder::second_factor): the
    /// caller vouches for the whole sign-in, second factor included.
    ///
    /// ```
    /// # use auth_core::{AuthError, AuthService, JwtCodec, MemoryStore, Password, SignUpRequest};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), AuthError> {
    /// # let store = MemoryStore::new();
    /// # let auth = AuthService::builder(store.clone(), store)
    /// #     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
    /// #     .build()?;
    /// # let ada = auth.sign_up(SignUpRequest { email: "ada@example.com".into(),
    /// #     password: Password::new("correct horse battery"), name: None }).await?.signed_in()?.user;
    /// // After the OAuth provider vouched for ada:
    /// let tokens = auth.open_session(&ada.id).await?;
    /// let principal = auth.authenticate(tokens.access_token.expose_secret()).await?;
    /// assert_eq!(principal.user_id(), &ada.id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`] if there is no such user.
    pub async fn open_session(&self, user_id: &UserId) -> Result<AuthResponse, AuthError> {
        let user = self.user_by_id(user_id).await?;
        let user = self.with_second_factors(user).await?;
        self.open_session_for(user).await
    }

    /// The client to record on a session opened or refreshed now: the
    /// enclosing [`SessionClient::scope`]'s, if any; when recording is off,
    /// an empty one, so that a refresh clears what was kept before.
    pub(super) fn session_client(&self) -> Option<SessionClient> {
        if self.inner.session_client_info {
            SessionClient::current()
        } else {
            Some(SessionClient::default())
        }
    }

    /// Opens a session for `user`, whose
    /// [`two_factor_enabled`](User::two_factor_enabled) the caller has
    /// filled in.
    pub(super) async fn open_session_for(&self, user: User) -> Result<AuthResponse, AuthError> {
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
                client: self.session_client().unwrap_or_default(),
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
        let codec = inner.codec.as_ref();
        let expires_at = now
            .checked_add(inner.access_token_ttl)
            .map_or(session_expires_at, |exp| exp.min(session_expires_at));
        let claims = AccessClaims {
            sub: user.id.clone(),
            sid: Some(session_id.clone()),
            jti: Some(crate::id::random_token::<16>()?),
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            nbf: None,
            iss: codec.issuer().to_owned(),
            aud: codec.audience().to_owned(),
            custom: inner
                .custom_claims
                .as_ref()
                .map(|custom| custom.claims_for(&user))
                .unwrap_or_default(),
        };
        let access_token = AccessToken::new(codec.issue(&claims)?);
        Ok(AuthResponse {
            user,
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: u64::try_from(claims.exp - claims.iat).unwrap_or(0),
            refresh_token,
        })
    }
}
