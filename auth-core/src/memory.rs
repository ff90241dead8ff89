//! Thread-safe in-memory stores, for tests, docs and prototypes.

mod credential;
mod mail_queue;
mod session;

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::{Arc, Mutex, MutexGuard},
};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{
    AuthError, Credential, CredentialId, Email, NewOneTimeToken, NewUser, OneTimeTokenRecord,
    OneTimeTokenStore, PasswordHash, RefreshTokenHash, Session, SessionId, TokenHash, TokenPurpose,
    User, UserId, UserRecord, UserStore,
};

/// A [`UserStore`], [`SessionStore`](crate::SessionStore), [`OneTimeTokenStore`],
/// [`CredentialStore`](crate::CredentialStore) and
/// [`MailQueue`](crate::store::MailQueue) in one process's memory.
///
/// Everything is lost when the process ends, so it suits tests, examples and
/// prototypes; use `auth-sqlx` for real data. Clones share the same data.
/// Every operation takes one short lock and never holds it across an
/// `.await`, so the compare-and-swap and uniqueness rules hold under any
/// concurrency.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{MemoryStore, store::{SessionStore, UserStore}};
///
/// let store = MemoryStore::new();
/// let users: Arc<dyn UserStore> = Arc::new(store.clone());
/// let sessions: Arc<dyn SessionStore> = Arc::new(store);
/// # let _ = (users, sessions);
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    users: HashMap<UserId, UserRecord>,
    user_by_email: HashMap<Email, UserId>,
    sessions: HashMap<SessionId, Session>,
    /// Every current refresh-token hash: each session's main one
    /// (`Session::refresh_token_hash`) and the siblings made by reuses.
    session_by_current_hash: HashMap<RefreshTokenHash, SessionId>,
    /// Rotated-away hashes: the session they belonged to, when, and how
    /// often they were reused.
    session_by_rotated_hash: HashMap<RefreshTokenHash, session::RotatedHash>,
    one_time_tokens: HashMap<TokenHash, NewOneTimeToken>,
    credentials: HashMap<CredentialId, Credential>,
    credential_by_lookup: HashMap<credential::LookupKey, CredentialId>,
    /// The mail queue, by id: in the order rows were queued.
    mail: BTreeMap<i64, crate::mail::QueuedMail>,
    last_mail_id: i64,
}

impl State {
    fn user_mut(&mut self, id: &UserId) -> Result<&mut User, AuthError> {
        self.users
            .get_mut(id)
            .map(|record| &mut record.user)
            .ok_or(AuthError::UserNotFound)
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock cannot leave the maps
        // half-updated (each operation's writes happen after its checks), so
        // the data is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("MemoryStore")
            .field("users", &state.users.len())
            .field("sessions", &state.sessions.len())
            .finish()
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, new: NewUser) -> Result<User, AuthError> {
        let id = UserId::generate()?;
        let mut state = self.lock();
        if state.user_by_email.contains_key(&new.email) {
            return Err(AuthError::EmailTaken);
        }
        let user = User {
            id: id.clone(),
            email: new.email.clone(),
            email_verified: new.email_verified,
            name: new.name,
            has_password: new.password_hash.is_set(),
            two_factor_enabled: false,
            created_at: new.created_at,
            updated_at: new.created_at,
        };
        state.user_by_email.insert(new.email, id.clone());
        state.users.insert(
            id,
            UserRecord {
                user: user.clone(),
                password_hash: new.password_hash,
            },
        );
        Ok(user)
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, AuthError> {
        let state = self.lock();
        Ok(state
            .user_by_email
            .get(email)
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn find_user_by_id(&self, id: &UserId) -> Result<Option<User>, AuthError> {
        Ok(self.lock().users.get(id).map(|record| record.user.clone()))
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        updated_at: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let mut state = self.lock();
        let record = state.users.get_mut(id).ok_or(AuthError::UserNotFound)?;
        record.password_hash = hash.clone();
        record.user.has_password = hash.is_set();
        record.user.updated_at = updated_at;
        Ok(())
    }

    async fn update_name(
        &self,
        id: &UserId,
        name: Option<&str>,
        updated_at: OffsetDateTime,
    ) -> Result<User, AuthError> {
        let mut state = self.lock();
        let user = state.user_mut(id)?;
        user.name = name.map(str::to_owned);
        user.updated_at = updated_at;
        Ok(user.clone())
    }

    async fn set_verified_email(
        &self,
        id: &UserId,
        current: &Email,
        verified: &Email,
        updated_at: OffsetDateTime,
    ) -> Result<Option<User>, AuthError> {
        let mut state = self.lock();
        if state.users.get(id).is_none_or(|r| r.user.email != *current) {
            return Ok(None);
        }
        if state
            .user_by_email
            .get(verified)
            .is_some_and(|holder| holder != id)
        {
            return Err(AuthError::EmailTaken);
        }
        state.user_by_email.remove(current);
        state.user_by_email.insert(verified.clone(), id.clone());
        let user = state.user_mut(id)?;
        user.email = verified.clone();
        user.email_verified = true;
        user.updated_at = updated_at;
        Ok(Some(user.clone()))
    }

    async fn delete_user(&self, id: &UserId) -> Result<bool, AuthError> {
        let mut state = self.lock();
        let Some(record) = state.users.remove(id) else {
            return Ok(false);
        };
        state.user_by_email.remove(&record.user.email);
        state.forget_sessions(|session| session.user_id == *id);
        state
            .one_time_tokens
            .retain(|_, token| token.user_id != *id);
        state.forget_user_credentials(id);
        Ok(true)
    }
}

#[async_trait]
impl OneTimeTokenStore for MemoryStore {
    async fn replace_one_time_token(&self, token: NewOneTimeToken) -> Result<(), AuthError> {
        let mut state = self.lock();
        if !state.users.contains_key(&token.user_id) {
            return Err(AuthError::UserNotFound);
        }
        state
            .one_time_tokens
            .retain(|_, other| other.user_id != token.user_id || other.purpose != token.purpose);
        state.one_time_tokens.insert(token.hash, token);
        Ok(())
    }

    async fn consume_one_time_token(
        &self,
        hash: &TokenHash,
        purpose: &TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeTokenRecord>, AuthError> {
        let mut state = self.lock();
        let usable = state
            .one_time_tokens
            .get(hash)
            .is_some_and(|token| token.purpose == *purpose && now < token.expires_at);
        Ok(usable
            .then(|| state.one_time_tokens.remove(hash))
            .flatten()
            .map(OneTimeTokenRecord::from))
    }

    async fn void_one_time_tokens(
        &self,
        user_id: &UserId,
        purpose: &TokenPurpose,
    ) -> Result<u64, AuthError> {
        let mut state = self.lock();
        let before = state.one_time_tokens.len();
        state
            .one_time_tokens
            .retain(|_, token| token.user_id != *user_id || token.purpose != *purpose);
        Ok((before - state.one_time_tokens.len()) as u64)
    }

    async fn delete_expired_one_time_tokens(
        &self,
        expired_before: OffsetDateTime,
    ) -> Result<u64, AuthError> {
        let mut state = self.lock();
        let before = state.one_time_tokens.len();
        state
            .one_time_tokens
            .retain(|_, token| token.expires_at >= expired_before);
        Ok((before - state.one_time_tokens.len()) as u64)
    }
}
