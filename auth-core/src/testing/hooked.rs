//! [`Hooked`]: a store that passes every call on, with a [`Hook`] around
//! each, for tests that count calls, make racers meet, slow a call or fail
//! one, without writing out every method of the trait.

use std::{any::Any, future::Future, sync::Arc};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{
    AuthError, CredentialId, CredentialKind, CredentialStore, NewSession, RefreshTokenHash,
    RefreshTokenMatch, Session, SessionClient, SessionId, SessionStore, UserId,
    store::{Credential, NewCredential},
};

/// What a [`Hooked`] store does around each call. `method` is the trait
/// method's name, such as `"find"`; both steps do nothing by default.
#[async_trait]
pub trait Hook: Send + Sync + 'static {
    /// Before the call is passed on; an error is the call's answer, and
    /// the store is not called.
    async fn before(&self, method: &'static str) -> Result<(), AuthError> {
        let _ = method;
        Ok(())
    }

    /// After the store answered, before the caller gets the answer:
    /// `outcome` is the method's `Result`, to `downcast_ref` where it
    /// matters (such as `Result<bool, AuthError>` for an update).
    async fn after(&self, method: &'static str, outcome: &(dyn Any + Send + Sync)) {
        let _ = (method, outcome);
    }
}

/// A store `S` (a [`SessionStore`] or a [`CredentialStore`]) with a
/// [`Hook`] around each of its calls.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// use auth_core::{
///     AuthError, MemoryStore,
///     store::{CredentialId, CredentialStore},
///     testing::{Hook, Hooked},
/// };
///
/// #[derive(Default)]
/// struct CountGets(AtomicUsize);
///
/// #[auth_core::async_trait]
/// impl Hook for CountGets {
///     async fn before(&self, method: &'static str) -> Result<(), AuthError> {
///         if method == "get" {
///             self.0.fetch_add(1, Ordering::SeqCst);
///         }
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), AuthError> {
/// let store = Hooked::new(Arc::new(MemoryStore::new()), CountGets::default());
/// store.get(&CredentialId::new("none")).await?;
/// assert_eq!(store.hook().0.load(Ordering::SeqCst), 1);
/// # Ok(()) }
/// ```
pub struct Hooked<S: ?Sized, H> {
    inner: Arc<S>,
    hook: H,
}

impl<S: ?Sized, H: Hook> Hooked<S, H> {
    /// `inner`, with `hook` around its calls.
    pub fn new(inner: Arc<S>, hook: H) -> Self {
        Self { inner, hook }
    }

    /// The store the calls are passed on to, to call without the hook.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    /// The hook, to read what it counted.
    pub fn hook(&self) -> &H {
        &self.hook
    }

    /// Runs `call` between the hook's two steps.
    async fn call<T, F>(
        &self,
        method: &'static str,
        call: impl FnOnce() -> F + Send,
    ) -> Result<T, AuthError>
    where
        T: Any + Send + Sync,
        F: Future<Output = Result<T, AuthError>> + Send,
    {
        self.hook.before(method).await?;
        let outcome = call().await;
        self.hook.after(method, &outcome).await;
        outcome
    }
}

impl<S: ?Sized, H> std::fmt::Debug for Hooked<S, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooked").finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: SessionStore + ?Sized, H: Hook> SessionStore for Hooked<S, H> {
    async fn create_session(&self, session: NewSession) -> Result<Session, AuthError> {
        self.call("create_session", || self.inner.create_session(session))
            .await
    }

    async fn find_session_by_refresh_token(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<RefreshTokenMatch>, AuthError> {
        self.call("find_session_by_refresh_token", || {
            self.inner.find_session_by_refresh_token(hash)
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        id: &SessionId,
        current: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: OffsetDateTime,
        client: Option<&SessionClient>,
    ) -> Result<bool, AuthError> {
        self.call("rotate_refresh_token", || {
            self.inner
                .rotate_refresh_token(id, current, next, now, client)
        })
        .await
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
        self.call("reuse_refresh_token", || {
            self.inner.reuse_refresh_token(
                id,
                rotated,
                next,
                rotated_since,
                max_reuses,
                now,
                client,
            )
        })
        .await
    }

    async fn revoke_session(&self, id: &SessionId, now: OffsetDateTime) -> Result<(), AuthError> {
        self.call("revoke_session", || self.inner.revoke_session(id, now))
            .await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &UserId,
        keep: Option<&SessionId>,
        now: OffsetDateTime,
    ) -> Result<u64, AuthError> {
        self.call("revoke_user_sessions", || {
            self.inner.revoke_user_sessions(user_id, keep, now)
        })
        .await
    }

    async fn revoke_user_session(
        &self,
        user_id: &UserId,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> Result<bool, AuthError> {
        self.call("revoke_user_session", || {
            self.inner.revoke_user_session(user_id, id, now)
        })
        .await
    }

    async fn list_active_sessions(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, AuthError> {
        self.call("list_active_sessions", || {
            self.inner.list_active_sessions(user_id, now)
        })
        .await
    }

    async fn active_session_owner(
        &self,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, AuthError> {
        self.call("active_session_owner", || {
            self.inner.active_session_owner(id, now)
        })
        .await
    }

    async fn delete_ended_sessions(&self, ended_before: OffsetDateTime) -> Result<u64, AuthError> {
        self.call("delete_ended_sessions", || {
            self.inner.delete_ended_sessions(ended_before)
        })
        .await
    }
}

#[async_trait]
impl<S: CredentialStore + ?Sized, H: Hook> CredentialStore for Hooked<S, H> {
    async fn insert(&self, new: NewCredential) -> Result<Option<Credential>, AuthError> {
        self.call("insert", || self.inner.insert(new)).await
    }

    async fn replace(&self, new: NewCredential) -> Result<Credential, AuthError> {
        self.call("replace", || self.inner.replace(new)).await
    }

    async fn get(&self, id: &CredentialId) -> Result<Option<Credential>, AuthError> {
        self.call("get", || self.inner.get(id)).await
    }

    async fn find(
        &self,
        kind: &CredentialKind,
        lookup: &str,
    ) -> Result<Option<Credential>, AuthError> {
        self.call("find", || self.inner.find(kind, lookup)).await
    }

    async fn list(
        &self,
        user_id: &UserId,
        kind: &CredentialKind,
    ) -> Result<Vec<Credential>, AuthError> {
        self.call("list", || self.inner.list(user_id, kind)).await
    }

    async fn update(
        &self,
        id: &CredentialId,
        expected_version: u64,
        data: &[u8],
        last_used_at: Option<OffsetDateTime>,
    ) -> Result<bool, AuthError> {
        self.call("update", || {
            self.inner.update(id, expected_version, data, last_used_at)
        })
        .await
    }

    async fn consume(&self, id: &CredentialId, expected_version: u64) -> Result<bool, AuthError> {
        self.call("consume", || self.inner.consume(id, expected_version))
            .await
    }

    async fn delete(&self, user_id: &UserId, id: &CredentialId) -> Result<bool, AuthError> {
        self.call("delete", || self.inner.delete(user_id, id)).await
    }

    async fn delete_for_user(
        &self,
        user_id: &UserId,
        kind: &CredentialKind,
    ) -> Result<u64, AuthError> {
        self.call("delete_for_user", || {
            self.inner.delete_for_user(user_id, kind)
        })
        .await
    }

    async fn delete_expired(&self, expired_before: OffsetDateTime) -> Result<u64, AuthError> {
        self.call("delete_expired", || {
            self.inner.delete_expired(expired_before)
        })
        .await
    }
}
