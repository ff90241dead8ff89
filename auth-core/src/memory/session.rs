//! [`SessionStore`] for [`MemoryStore`]: sessions, their current
//! refresh-token hashes (the main one and the siblings made by reuses) and
//! the hashes they rotated away from.

use std::collections::HashSet;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{MemoryStore, State};
use crate::{
    AuthError, NewSession, RefreshTokenHash, RefreshTokenMatch, Session, SessionClient, SessionId,
    SessionStore, UserId,
};

/// A hash a session rotated away from.
pub(super) struct RotatedHash {
    session: SessionId,
    rotated_at: OffsetDateTime,
    /// How often it was presented again within the reuse interval.
    reuses: u32,
}

impl State {
    /// Deletes the sessions that `doomed` picks, with all their hashes;
    /// returns how many.
    pub(super) fn forget_sessions(&mut self, doomed: impl Fn(&Session) -> bool) -> u64 {
        let ids: HashSet<SessionId> = self
            .sessions
            .values()
            .filter(|session| doomed(session))
            .map(|session| session.id.clone())
            .collect();
        if ids.is_empty() {
            return 0;
        }
        self.sessions.retain(|id, _| !ids.contains(id));
        self.session_by_current_hash
            .retain(|_, session| !ids.contains(session));
        self.session_by_rotated_hash
            .retain(|_, rotated| !ids.contains(&rotated.session));
        ids.len() as u64
    }
}

/// A refresh's mark on its session: the time, and the client if known.
fn touch(session: &mut Session, now: OffsetDateTime, client: Option<&SessionClient>) {
    session.last_active_at = now;
    if let Some(client) = client {
        session.user_agent = client.user_agent().map(str::to_owned);
        session.ip = client.ip();
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
            last_active_at: new.created_at,
            user_agent: new.client.user_agent().map(str::to_owned),
            ip: new.client.ip(),
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
        Ok(state.session_by_rotated_hash.get(hash).and_then(|rotated| {
            let session = state.sessions.get(&rotated.session)?.clone();
            Some(RefreshTokenMatch::Rotated {
                session,
                rotated_at: rotated.rotated_at,
            })
        }))
    }

    async fn rotate_refresh_token(
        &self,
        id: &SessionId,
        current: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: OffsetDateTime,
        client: Option<&SessionClient>,
    ) -> Result<bool, AuthError> {
        let mut state = self.lock();
        if state.session_by_current_hash.get(current) != Some(id) {
            return Ok(false);
        }
        let Some(session) = state.sessions.get_mut(id) else {
            return Ok(false);
        };
        if !session.is_active_at(now) {
            return Ok(false);
        }
        // The main hash moves on; a sibling's successor stays a sibling.
        if session.refresh_token_hash == *current {
            session.refresh_token_hash = *next;
        }
        touch(session, now, client);
        state.session_by_current_hash.remove(current);
        state.session_by_current_hash.insert(*next, id.clone());
        state.session_by_rotated_hash.insert(
            *current,
            RotatedHash {
                session: id.clone(),
                rotated_at: now,
                reuses: 0,
            },
        );
        Ok(true)
    }

    #[allow(clippy::too_many_arguments)]
    async fn reuse_refresh_token(
        &self,
        id: &SessionId,
        rotated: &RefreshTokenHash,
        next: &RefreshTokenHash,
        rotated_since: OffsetDateTime,
        max_reuses: u32,
        now: OffsetDateTime,
        client: Option<&SessionClient>,
    ) -> Result<bool, AuthError> {
        let mut state = self.lock();
        if !state
            .sessions
            .get(id)
            .is_some_and(|session| session.is_active_at(now))
        {
            return Ok(false);
        }
        let Some(rotated) = state.session_by_rotated_hash.get_mut(rotated) else {
            return Ok(false);
        };
        if rotated.session != *id
            || rotated.rotated_at < rotated_since
            || rotated.reuses >= max_reuses
        {
            return Ok(false);
        }
        rotated.reuses += 1;
        state.session_by_current_hash.insert(*next, id.clone());
        if let Some(session) = state.sessions.get_mut(id) {
            touch(session, now, client);
        }
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
        keep: Option<&SessionId>,
        now: OffsetDateTime,
    ) -> Result<u64, AuthError> {
        let mut state = self.lock();
        let mut revoked = 0;
        for session in state.sessions.values_mut() {
            if session.user_id == *user_id && session.is_active_at(now) && Some(&session.id) != keep
            {
                session.revoked_at = Some(now);
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn revoke_user_session(
        &self,
        user_id: &UserId,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> Result<bool, AuthError> {
        let mut state = self.lock();
        match state.sessions.get_mut(id) {
            Some(session) if session.user_id == *user_id && session.is_active_at(now) => {
                session.revoked_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn list_active_sessions(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, AuthError> {
        let state = self.lock();
        let mut sessions: Vec<Session> = state
            .sessions
            .values()
            .filter(|session| session.user_id == *user_id && session.is_active_at(now))
            .cloned()
            .collect();
        sessions.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(sessions)
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
        Ok(self.lock().forget_sessions(|session| {
            session.expires_at < ended_before
                || session.revoked_at.is_some_and(|at| at < ended_before)
        }))
    }
}
