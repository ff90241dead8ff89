//! Who made a request, and what an app may add to its tokens.

use serde_json::{Map, Value};

use crate::{AccessClaims, AuthError, CredentialId, SessionId, User, UserId};

/// a tenant, …). Registered claim names (`sub`, `exp`, …) are ignored.
///
/// Any `Fn(&User) -> Map<String, Value>` is one.
pub trait CustomClaims: Send + Sync + 'static {
    /// The extra claims for `user`.
    fn claims_for(&self, user: &User) -> Map<String, Value>;
}

impl<F> CustomClaims for F
where
    F: Fn(&User) -> Map<String, Value> + Send + Sync + 'static,
{
    fn claims_for(&self, user: &User) -> Map<String, Value> {
        self(user)
    }
}

/// Who made a request: the verified claims of its access token, or, for
/// a request that sent an API key (`service::ApiKeys`), claims the
/// service made from the key (its user as `sub`, no `sid`, no custom
/// claims; see [`api_key_id`](Self::api_key_id)).
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub(super) claims: AccessClaims,
    /// The id of the API key the request sent, if it sent one.
    pub(super) api_key: Option<CredentialId>,
}

impl Principal {
    /// The signed-in user's id.
    pub fn user_id(&self) -> &UserId {
        &self.claims.sub
    }

    /// The session the token belongs to; `None` for a
    /// [`TrustedIssuer`](crate::TrustedIssuer)'s token, which has none here,
    /// and for an API key.
    pub fn session_id(&self) -> Option<&SessionId> {
        self.claims.sid.as_ref()
    }

    /// The id of the API key that authenticated the request (the `id` its
    /// owner sees in the list of keys); `None` for an access token. A
    /// route of the application's that must not be reached with a key
    /// (one that changes the account, say) refuses a principal that has
    /// one.
    pub fn api_key_id(&self) -> Option<&CredentialId> {
        self.api_key.as_ref()
    }

    /// All claims, including custom ones.
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }

    /// Checks that a user id named by the request (say the `{user_id}` of
    /// `/api/{user_id}/tasks`) is the principal's own.
    ///
    /// # Errors
    /// [`AuthError::Forbidden`] (403) otherwise.
    pub fn require_user(&self, user_id: &str) -> Result<(), AuthError> {
        if self.claims.sub.as_str() == user_id {
            Ok(())
        } else {
            Err(AuthError::Forbidden)
        }
    }
}
