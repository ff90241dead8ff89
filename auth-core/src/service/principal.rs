//! Who made a request, and what an app may add to its tokens.

use serde_json::{Map, Value};

use crate::{AccessClaims, AuthError, SessionId, User, UserId};

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

/// Who made a request: the verified claims of its access token.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub(super) claims: AccessClaims,
}

impl Principal {
    /// The signed-in user's id.
    pub fn user_id(&self) -> &UserId {
        &self.claims.sub
    }

    /// The session the token belongs to; `None` for a
    /// [`TrustedIssuer`](crate::TrustedIssuer)'s token, which has none here.
    pub fn session_id(&self) -> Option<&SessionId> {
        self.claims.sid.as_ref()
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
