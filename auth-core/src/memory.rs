//! Thread-safe in-memory stores, for tests, docs and prototypes.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex, MutexGuard},
};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{
    AuthError, Email, NewSession, NewUser, PasswordHash, RefreshTokenHash, RefreshTokenMatch,
    Session, SessionId, SessionStore, User, UserId, UserRecord, UserStore,
};

/// A [`UserStore`] and [`SessionStore`] in one process's memory.
///
/// Everything is lost when the process ends, so it suits tests, examples and
/// prototypes; use `auth-sqlx` for real data. Clones share the same data.
/// Every operation takes one short lock and never holds it across an
/// `.await`, so the compare-and-swap and uniqueness rules hold under any
/// concurrency.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{MemoryStore, SessionStore, UserStore};
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
    session_by_current_hash: HashMap<RefreshTokenHash, SessionId>,
    /// Rotated-away hashes: the session they belonged to and when.
    session_by_rotated_hash: HashMap<RefreshTokenHash, (SessionId, OffsetDateTime)>,
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
            name: new.name,
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
        record.user.updated_at = updated_at;
        Ok(())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(&self, new: NewSession) -> Result<Session, AuthError> {
        let mut state = self.lock();
        if !state.users.contains_key(&new.user_id) {
            return Err(AuthError::UserNotFound);
        }
        if state.sessions.contains_key(&new.id)
            || state
                .session_by_current_hash
                .contains_key(&new.refresh_token_hash)
        {
            return Err(AuthError::internal(
                "session id or refresh token hash already exists",
            ));
        }
        let session = Session {
            id: new.id,
            user_id: new.user_id,
            refresh_token_hash: new.refresh_token_hash,
            created_at: new.created_at,
            expires_at: new.expires_at,
            revoked_at: None,
        };
        state
            .session_by_current_hash
            .insert(session.refresh_token_hash, session.id.clone());
        state.sessions.insert(session.id.clone(), session.clone());
        Ok(session)
    }

    async fn find_session_by_refresh_token(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<RefreshTokenMatch>, AuthError> {
        let state = self.lock();
        if let Some(session) = state
            .session_by_current_hash
            .get(hash)
            .and_then(|id| state.sessions.get(id))
        {
            return Ok(Some(RefreshTokenMatch::Current(session.clone())));
        }
        Ok(state
            .session_by_rotated_hash
            .get(hash)
            .and_then(|(id, rotated_at)| {
                let session = state.sessions.get(id)?.clone();
                Some(RefreshTokenMatch::Rotated {
                    session,
                    rotated_at: *rotated_at,
                })
            }))
    }

    async fn rotate_refresh_token(
        &self,
        id: &SessionId,
        current: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: OffsetDateTime,
    ) -> Result<bool, AuthError> {
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(id) else {
            return Ok(false);
        };
        if session.refresh_token_hash != *current || !session.is_active_at(now) {
            return Ok(false);
        }
        session.refresh_token_hash = *next;
        state.session_by_current_hash.remove(current);
        state.session_by_current_hash.insert(*next, id.clone());
        state
            .session_by_rotated_hash
            .insert(*current, (id.clone(), now));
        Ok(true)
    }

    async fn revoke_session(&self, id: &SessionId, now: OffsetDateTime) -> Result<(), AuthError> {
        if let Some(session) = self.lock().sessions.get_mut(id) {
            session.revoked_at.get_or_insert(now);
        }
        Ok(())
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> Result<u64, AuthError> {
        let mut state = self.lock();
        let mut revoked = 0;
        for session in state.sessions.values_mut() {
            if session.user_id == *user_id && session.is_active_at(now) {
                session.revoked_at = Some(now);
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn active_session_owner(
        &self,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, AuthError> {
        Ok(self
            .lock()
            .sessions
            .get(id)
            .filter(|session| session.is_active_at(now))
            .map(|session| session.user_id.clone()))
    }

    async fn delete_ended_sessions(&self, ended_before: OffsetDateTime) -> Result<u64, AuthError> {
        let mut state = self.lock();
        let ended = |session: &Session| {
            session.expires_at < ended_before
                || session.revoked_at.is_some_and(|at| at < ended_before)
        };
        let doomed: HashSet<SessionId> = state
            .sessions
            .values()
            .filter(|session| ended(session))
            .map(|session| session.id.clone())
            .collect();
        for id in &doomed {
            if let Some(session) = state.sessions.remove(id) {
                state
                    .session_by_current_hash
                    .remove(&session.refresh_token_hash);
            }
        }
        state
            .session_by_rotated_hash
            .retain(|_, (id, _)| !doomed.contains(id));
        Ok(doomed.len() as u64)
    }
}
