//! One-time tokens and messages: the parts a new link flow is built from.

use std::{sync::Arc, time::Duration as StdDuration};

use time::Duration;

use super::{
    AuthService,
    account_flows::{Settings, deliver, in_background},
};
use crate::{
    AuthError, Email, Message, NewOneTimeToken, OneTimeToken, OneTimeTokenRecord, TokenPurpose,
    UserId, UserStore, client_ip::client_key, store::SessionClient, throttle::address_digest,
};

impl AuthService {
    /// The user store, for flows of the application's own (find a user by
    /// email for a magic link, say).
    pub fn user_store(&self) -> &Arc<dyn UserStore> {
        &self.inner.users
    }

    /// Issues a one-time token for `user_id`, sent to `email`, good for
    /// `purpose` until `ttl` has passed; it voids the user's older tokens
    /// of that purpose. Put it in a link and [`send_message`](Self::send_message).
    ///
    /// # Errors
    /// [`AuthError::NotFound`] without
    /// [account flows](crate::AuthServiceBuilder::account_flows);
    /// [`AuthError::InvalidConfig`] for a `ttl` of zero or over 7 days;
    /// [`AuthError::UserNotFound`].
    pub async fn issue_one_time_token(
        &self,
        user_id: &UserId,
        email: &Email,
        purpose: TokenPurpose,
        ttl: StdDuration,
    ) -> Result<OneTimeToken, AuthError> {
        let ttl = Duration::try_from(ttl)
            .ok()
            .filter(|ttl| *ttl > Duration::ZERO && *ttl <= Duration::days(7))
            .ok_or_else(|| {
                AuthError::InvalidConfig("a one-time token lives 1 s to 7 days".into())
            })?;
        self.issue_token(user_id, email, purpose, ttl).await
    }

    /// Uses up a one-time token presented by a client, if it is good for
    /// `purpose`; returns whose it was and where it was sent. Of two
    /// concurrent redemptions of one token, exactly one succeeds.
    ///
    /// # Errors
    /// [`AuthError::InvalidOneTimeToken`] for a malformed, unknown, used,
    /// expired or other-purpose token (a token of another purpose stays
    /// usable for its own); [`AuthError::NotFound`] without account flows.
    pub async fn redeem_one_time_token(
        &self,
        token: &str,
        purpose: &TokenPurpose,
    ) -> Result<OneTimeTokenRecord, AuthError> {
        let settings = self.settings()?;
        let token = OneTimeToken::parse(token).ok_or(AuthError::InvalidOneTimeToken)?;
        settings
            .flows
            .tokens
            .consume_one_time_token(&token.hash(), purpose, self.inner.now())
            .await?
            .ok_or(AuthError::InvalidOneTimeToken)
    }

    /// Sends `message` through the configured mailer in the background
    /// (tried three times, after 1 s and 4 s, then logged and dropped), so
    /// the caller's answer and its timing do not depend on the mail server.
    ///
    /// Unlike the flows' own messages, it does **not** go through the
    /// [mail queue](crate::mail): it may carry a token the application
    /// issued, and the queue keeps no token at rest. A crash before it is
    /// sent loses it; the user asks again.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] without account flows.
    pub async fn send_message(&self, message: Message) -> Result<(), AuthError> {
        let mailer = Arc::clone(&self.settings()?.flows.mailer);
        in_background(async move { deliver(mailer.as_ref(), &message).await }).await;
        Ok(())
    }

    /// Deletes one-time tokens that expired more than `older_than` ago;
    /// returns how many. Run it with the session cleanup.
    ///
    /// # Errors
    /// The store's; none without account flows (there is nothing to do).
    pub async fn delete_expired_one_time_tokens(
        &self,
        older_than: StdDuration,
    ) -> Result<u64, AuthError> {
        let Some(settings) = &self.inner.accounts else {
            return Ok(0);
        };
        let cutoff = Duration::try_from(older_than)
            .ok()
            .and_then(|age| self.inner.now().checked_sub(age))
            .ok_or_else(|| AuthError::InvalidConfig("older_than is out of range".into()))?;
        settings
            .flows
            .tokens
            .delete_expired_one_time_tokens(cutoff)
            .await
    }

    /// Deletes credentials (a pending email sign-in, say) that expired more
    /// than `older_than` ago; returns how many. Run it with the session
    /// cleanup.
    ///
    /// # Errors
    /// The store's; none without a credentials store.
    pub async fn delete_expired_credentials(
        &self,
        older_than: StdDuration,
    ) -> Result<u64, AuthError> {
        let Some(store) = &self.inner.credentials else {
            return Ok(0);
        };
        let cutoff = Duration::try_from(older_than)
            .ok()
            .and_then(|age| self.inner.now().checked_sub(age))
            .ok_or_else(|| AuthError::InvalidConfig("older_than is out of range".into()))?;
        store.delete_expired(cutoff).await
    }

    /// Voids `user_id`'s pending one-time tokens of each purpose, and with
    /// [`TokenPurpose::EMAIL_CHANGE`] or [`TokenPurpose::PASSWORD_RESET`]
    /// the links of that purpose still in the mail queue; a no-op without
    /// account flows, which issue none.
    pub(super) async fn void_tokens(
        &self,
        user_id: &UserId,
        purposes: &[TokenPurpose],
    ) -> Result<(), AuthError> {
        let Some(settings) = &self.inner.accounts else {
            return Ok(());
        };
        let tokens = &settings.flows.tokens;
        for purpose in purposes {
            // First the queue, so that no new link is issued after the
            // tokens are gone (one being sent right now is voided by its
            // worker, which finds its job cancelled).
            self.cancel_queued_links(user_id, purpose).await?;
            tokens.void_one_time_tokens(user_id, purpose).await?;
        }
        Ok(())
    }

    pub(super) fn settings(&self) -> Result<&Settings, AuthError> {
        self.inner.accounts.as_ref().ok_or(AuthError::NotFound)
    }

    pub(super) async fn issue_token(
        &self,
        user_id: &UserId,
        email: &Email,
        purpose: TokenPurpose,
        ttl: Duration,
    ) -> Result<OneTimeToken, AuthError> {
        let settings = self.settings()?;
        let token = OneTimeToken::generate()?;
        let now = self.inner.now();
        settings
            .flows
            .tokens
            .replace_one_time_token(NewOneTimeToken {
                hash: token.hash(),
                purpose,
                user_id: user_id.clone(),
                email: email.clone(),
                created_at: now,
                expires_at: now
                    .checked_add(ttl)
                    .ok_or_else(|| AuthError::internal("token expiry out of range"))?,
            })
            .await?;
        Ok(token)
    }

    /// Counts one message against the requesting client's mail budget
    /// (see [`AccountFlows::mail_client_limit`](crate::AccountFlows::mail_client_limit)):
    /// every message a stranger may have sent to an address of their
    /// choice, sign-up's verification link included. A no-op without
    /// account flows or outside a `SessionClient` scope.
    pub(super) async fn limit_client_mail(&self) -> Result<(), AuthError> {
        let Some(limit) = self
            .inner
            .accounts
            .as_ref()
            .and_then(|settings| settings.flows.mail_client_limit)
        else {
            return Ok(());
        };
        let Some(client) = SessionClient::current().and_then(|client| client.ip()) else {
            return Ok(());
        };
        self.inner
            .limiter
            .hit(
                &format!("mail-{}", client_key(client)),
                limit.max_requests(),
                limit.window(),
            )
            .await?
            .into_result()
    }

    /// Counts one message of `flow` (`reset`, `verification`,
    /// `email_change`, `sign_in`) to `email`: against the requesting
    /// client's mail budget, then the address's budget for that flow.
    /// Each flow has its own per-address budget, so that requests of one
    /// (resets sent by someone who knows the address) do not stop the mail
    /// of another (the owner's sign-in link).
    pub(super) async fn limit_mail(&self, email: &Email, flow: &str) -> Result<(), AuthError> {
        let settings = self.settings()?;
        self.limit_client_mail().await?;
        let Some(limit) = settings.flows.mail_rate_limit else {
            return Ok(());
        };
        self.inner
            .account_limiter
            .hit(
                &format!("mail:{flow}:{}", address_digest(email)),
                limit.max_requests(),
                limit.window(),
            )
            .await?
            .into_result()
    }
}
