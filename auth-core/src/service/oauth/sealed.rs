//! Provider tokens an application asked to keep, encrypted at rest with
//! XChaCha20-Poly1305 (random 192-bit nonces), bound to their identity.

use std::fmt;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::AuthError;

/// The key that encrypts kept provider tokens
/// ([`OAuth::keep_provider_tokens`](super::OAuth::keep_provider_tokens)).
/// 32 random bytes, kept like the JWT secret; losing it loses the kept
/// tokens (sign-in still works: the next one stores fresh tokens).
#[derive(Clone)]
pub struct TokenKey(Zeroizing<[u8; 32]>);

impl TokenKey {
    /// A key from 32 bytes (from a secrets manager, say).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A new random key.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when the OS has no randomness to give.
    pub fn generate() -> Result<Self, AuthError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| AuthError::internal(e.to_string()))?;
        Ok(Self::from_bytes(bytes))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.0).into())
    }

    /// `tokens`, encrypted and bound to `identity` (the associated data).
    pub(super) fn seal(
        &self,
        identity: &str,
        tokens: &ProviderTokens,
    ) -> Result<String, AuthError> {
        let plain =
            Zeroizing::new(serde_json::to_vec(&Stored::from(tokens)).map_err(AuthError::internal)?);
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| AuthError::internal(e.to_string()))?;
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: identity.as_bytes(),
                },
            )
            .map_err(|_| AuthError::internal("encrypting provider tokens failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The tokens [`seal`](Self::seal) made for `identity`; `None` when
    /// they do not open (another key, another identity, tampered).
    pub(super) fn open(&self, identity: &str, sealed: &str) -> Option<ProviderTokens> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let (nonce, body) = bytes.split_at_checked(24)?;
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: body,
                        aad: identity.as_bytes(),
                    },
                )
                .ok()?,
        );
        serde_json::from_slice::<Stored>(&plain)
            .ok()
            .map(Into::into)
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
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
        let key = TokenKey::generate().unwrap();
        let tokens = ProviderTokens::new("at-secret".into(), Some("rt-secret".into()), None, None);
        let sealed = key.seal("corp:1", &tokens).unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(key.open("corp:1", &sealed), Some(tokens.clone()));
        assert_eq!(key.open("corp:2", &sealed), None, "bound to the identity");
        assert_eq!(TokenKey::generate().unwrap().open("corp:1", &sealed), None);
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(key.open("corp:1", &URL_SAFE_NO_PAD.encode(tampered)), None);
        assert_eq!(key.open("corp:1", "short"), None);
        assert_ne!(
            key.seal("corp:1", &tokens).unwrap(),
            sealed,
            "a fresh nonce each time"
        );
        let shown = format!("{key:?} {tokens:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
