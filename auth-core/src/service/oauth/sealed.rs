//! Provider tokens an application asked to keep, sealed at rest with the
//! [`EncryptionKey`], bound to their identity.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{AuthError, EncryptionKey};

/// Seals kept provider tokens, bound to their identity.
impl ProviderTokens {
    /// The tokens, encrypted with `key` and bound to `identity`.
    pub(super) fn seal(&self, key: &EncryptionKey, identity: &str) -> Result<String, AuthError> {
        let plain =
            Zeroizing::new(serde_json::to_vec(&Stored::from(self)).map_err(AuthError::internal)?);
        key.seal(identity.as_bytes(), &plain)
    }

    /// The tokens [`seal`](Self::seal) made for `identity`; `None` when
    /// they do not open (another key, another identity, tampered).
    pub(super) fn open(key: &EncryptionKey, identity: &str, sealed: &str) -> Option<Self> {
        let plain = key.open(identity.as_bytes(), sealed)?;
        serde_json::from_slice::<Stored>(&plain)
            .ok()
            .map(Into::into)
    }
}

/// A provider's tokens from the user's last sign-in through it, for an
/// application that calls the provider's API on the user's behalf. Not
/// `Serialize`, and redacted in `Debug`: handing them on is a choice.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderTokens {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<OffsetDateTime>,
    scope: Option<String>,
}

/// What is sealed.
#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    refresh_token: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
    scope: Option<String>,
}

impl From<&ProviderTokens> for Stored {
    fn from(tokens: &ProviderTokens) -> Self {
        Self {
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            expires_at: tokens.expires_at,
            scope: tokens.scope.clone(),
        }
    }
}

impl From<Stored> for ProviderTokens {
    fn from(stored: Stored) -> Self {
        Self {
            access_token: stored.access_token,
            refresh_token: stored.refresh_token,
            expires_at: stored.expires_at,
            scope: stored.scope,
        }
    }
}

impl ProviderTokens {
    pub(super) fn new(
        access_token: String,
        refresh_token: Option<String>,
        expires_at: Option<OffsetDateTime>,
        scope: Option<String>,
    ) -> Self {
        Self {
            access_token,
            refresh_token,
            expires_at,
            scope,
        }
    }

    /// The access token for the provider's API.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The refresh token, if the provider gave one.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// When the access token expires, if the provider said.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }

    /// The scopes granted, if the provider said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

impl fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_with_their_key_and_identity() {
        let key = EncryptionKey::generate().unwrap();
        let tokens = ProviderTokens::new("at-secret".into(), Some("rt-secret".into()), None, None);
        let sealed = tokens.seal(&key, "corp:1").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(
            ProviderTokens::open(&key, "corp:1", &sealed),
            Some(tokens.clone())
        );
        assert_eq!(
            ProviderTokens::open(&key, "corp:2", &sealed),
            None,
            "bound to the identity"
        );
        assert_ne!(
            tokens.seal(&key, "corp:1").unwrap(),
            sealed,
            "a fresh nonce each time"
        );
        let shown = format!("{key:?} {tokens:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
