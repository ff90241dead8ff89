//! Secrets kept at rest encrypted: an [`EncryptionKey`] seals them with
//! XChaCha20-Poly1305 (random 192-bit nonces) and binds each to what it
//! belongs to (the associated data), so that a sealed value copied to
//! another row does not open there.

use std::fmt;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use zeroize::Zeroizing;

use crate::AuthError;

/// The key that encrypts secrets kept at rest: TOTP secrets
/// ([`TwoFactor`](crate::service::TwoFactor)) and kept OAuth provider
/// tokens. 32 random bytes, kept like the JWT secret (owner-only, beside
/// the database, or in a secrets manager). Losing it loses what it sealed:
/// users then set two-factor up again, and the next OAuth sign-in stores
/// fresh provider tokens.
///
/// ```
/// use auth_core::EncryptionKey;
///
/// let key = EncryptionKey::from_bytes([7; 32]);
/// assert_eq!(format!("{key:?}"), "EncryptionKey(<redacted>)");
/// ```
#[derive(Clone)]
pub struct EncryptionKey(Zeroizing<[u8; 32]>);

impl EncryptionKey {
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

    /// The key's bytes, to keep it (write them owner-only). The name is a
    /// reminder that they are the secret.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.0).into())
    }

    /// `plain`, encrypted and bound to `bound_to`, as base64url.
    pub(crate) fn seal(&self, bound_to: &[u8], plain: &[u8]) -> Result<String, AuthError> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| AuthError::internal(e.to_string()))?;
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: bound_to,
                },
            )
            .map_err(|_| AuthError::internal("encrypting a secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// What [`seal`](Self::seal) sealed for `bound_to`; `None` when it does
    /// not open (another key, bound to something else, tampered).
    pub(crate) fn open(&self, bound_to: &[u8], sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let (nonce, body) = bytes.split_at_checked(24)?;
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: body,
                    aad: bound_to,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_only_with_their_key_and_binding() {
        let key = EncryptionKey::generate().unwrap();
        let sealed = key.seal(b"user:1", b"the secret").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(
            key.open(b"user:1", &sealed).as_deref().map(Vec::as_slice),
            Some(&b"the secret"[..])
        );
        assert!(key.open(b"user:2", &sealed).is_none(), "bound");
        assert!(
            EncryptionKey::generate()
                .unwrap()
                .open(b"user:1", &sealed)
                .is_none()
        );
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(
            key.open(b"user:1", &URL_SAFE_NO_PAD.encode(tampered))
                .is_none()
        );
        assert!(key.open(b"user:1", "not base64!").is_none());
        assert!(key.open(b"user:1", "").is_none());
    }
}
