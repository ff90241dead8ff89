//! [`CredentialStore`] for [`MemoryStore`].

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{MemoryStore, State};
use crate::{
    AuthError, Credential, CredentialId, CredentialKind, CredentialStore, NewCredential, UserId,
};

/// How a credential is found by kind and lookup.
pub(super) type LookupKey = (CredentialKind, String);

impl State {
    fn forget_credential(&mut self, id: &CredentialId) -> Option<Credential> {
        let credential = self.credentials.remove(id)?;
        self.credential_by_lookup
            .remove(&(credential.kind.clone(), credential.lookup.clone()));
        Some(credential)
    }

    /// Deletes the credentials that `doomed` picks; returns how many.
    fn forget_credentials(&mut self, doomed: impl Fn(&Credential) -> bool) -> u64 {
        let ids: Vec<CredentialId> = self
            .credentials
            .values()
            .filter(|credential| doomed(credential))
            .map(|credential| credential.id.clone())
            .collect();
        for id in &ids {
            self.forget_credential(id);
        }
        ids.len() as u64
    }

    /// Part of deleting a user: the credentials they own go too.
    pub(super) fn forget_user_credentials(&mut self, user_id: &UserId) {
        self.forget_credentials(|credential| credential.user_id.as_ref() == Some(user_id));
    }

    /// A credential's owner must exist.
    fn check_owner(&self, new: &NewCredential) -> Result<(), AuthError> {
        match &new.user_id {
            Some(user_id) if !self.users.contains_key(user_id) => Err(AuthError::UserNotFound),
            _ => Ok(()),
        }
    }

    fn store_credential(&mut self, new: NewCredential) -> Result<Credential, AuthError> {
        if self.credentials.contains_key(&new.id) {
            return Err(AuthError::internal("credential id already exists"));
        }
        let credential = Credential::from(new);
        self.credential_by_lookup.insert(
            (credential.kind.clone(), credential.lookup.clone()),
            credential.id.clone(),
        );
        self.credentials
            .insert(credential.id.clone(), credential.clone());
        Ok(credential)
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn insert(&self, new: NewCredential) -> Result<Option<Credential>, AuthError> {
        new.check()?;
        let mut state = self.lock();
        // As with SQL's `ON CONFLICT DO NOTHING`: a taken lookup wins over
        // a missing user.
        if state
            .credential_by_lookup
            .contains_key(&(new.kind.clone(), new.lookup.clone()))
        {
            return Ok(None);
        }
        state.check_owner(&new)?;
        state.store_credential(new).map(Some)
    }

    async fn replace(&self, new: NewCredential) -> Result<Credential, AuthError> {
        new.check()?;
        let mut state = self.lock();
        state.check_owner(&new)?;
        let older = state
            .credential_by_lookup
            .get(&(new.kind.clone(), new.lookup.clone()))
            .cloned();
        if older.as_ref() != Some(&new.id) && state.credentials.contains_key(&new.id) {
            return Err(AuthError::internal("credential id already exists"));
        }
        if let Some(older) = older {
            state.forget_credential(&older);
        }
        state.store_credential(new)
    }

    async fn get(&self, id: &CredentialId) -> Result<Option<Credential>, AuthError> {
        Ok(self.lock().credentials.get(id).cloned())
    }

    async fn find(
        &self,
        kind: &CredentialKind,
        lookup: &str,
    ) -> Result<Option<Credential>, AuthError> {
        let state = self.lock();
        Ok(state
            .credential_by_lookup
            .get(&(kind.clone(), lookup.to_owned()))
            .and_then(|id| state.credentials.get(id))
            .cloned())
    }

    async fn list(
        &self,
        user_id: &UserId,
        kind: &CredentialKind,
    ) -> Result<Vec<Credential>, AuthError> {
        let state = self.lock();
        let mut credentials: Vec<Credential> = state
            .credentials
            .values()
            .filter(|c| c.user_id.as_ref() == Some(user_id) && c.kind == *kind)
            .cloned()
            .collect();
        credentials.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(credentials)
    }

    async fn update(
        &self,
        id: &CredentialId,
        expected_version: u64,
        data: &[u8],
        last_used_at: Option<OffsetDateTime>,
    ) -> Result<bool, AuthError> {
        let mut state = self.lock();
        match state.credentials.get_mut(id) {
            Some(credential) if credential.version == expected_version => {
                credential.data = data.to_vec();
                credential.version += 1;
                if last_used_at.is_some() {
                    credential.last_used_at = last_used_at;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn consume(&self, id: &CredentialId, expected_version: u64) -> Result<bool, AuthError> {
        let mut state = self.lock();
        let current = state
            .credentials
            .get(id)
            .is_some_and(|credential| credential.version == expected_version);
        Ok(current && state.forget_credential(id).is_some())
    }

    async fn delete(&self, user_id: &UserId, id: &CredentialId) -> Result<bool, AuthError> {
        let mut state = self.lock();
        let owned = state
            .credentials
            .get(id)
            .is_some_and(|credential| credential.user_id.as_ref() == Some(user_id));
        Ok(owned && state.forget_credential(id).is_some())
    }

    async fn delete_for_user(
        &self,
        user_id: &UserId,
        kind: &CredentialKind,
    ) -> Result<u64, AuthError> {
        Ok(self
            .lock()
            .forget_credentials(|c| c.user_id.as_ref() == Some(user_id) && c.kind == *kind))
    }

    async fn delete_expired(&self, expired_before: OffsetDateTime) -> Result<u64, AuthError> {
        Ok(self.lock().forget_credentials(|credential| {
            credential
                .expires_at
                .is_some_and(|expires_at| expires_at < expired_before)
        }))
    }
}
