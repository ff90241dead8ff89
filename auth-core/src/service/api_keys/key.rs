//! The shape of an API key: `<prefix><id part><secret part>`, both parts
//! base64url of fixed length, so that a key parses one way only.

use std::fmt;

use serde::{Serialize, Serializer};
use zeroize::Zeroizing;

use crate::AuthError;

/// Characters of the id part: 16 random bytes in base64url.
pub(super) const ID_CHARS: usize = 22;

/// Characters of the secret part: 32 random bytes (256 bits) in base64url.
pub(super) const SECRET_CHARS: usize = 43;

/// Characters of the id part shown in a key's displayable prefix.
const SHOWN_ID_CHARS: usize = 8;

/// A whole API key, as made for its owner: shown once, then only its hash
/// is kept. `Debug` redacts it and it is zeroed on drop; it serialises as
/// the plain string (the `key` of the creation's answer).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(Zeroizing<String>);

impl ApiKeySecret {
    /// The key, for the `Authorization: Bearer` header of a script.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The id part (the key's `lookup`), for a key of `prefix`.
    pub(super) fn id_part(&self, prefix: &str) -> &str {
        self.0
            .get(prefix.len()..prefix.len() + ID_CHARS)
            .unwrap_or_default()
    }

    /// The displayable start of the key: the prefix and a few characters
    /// of its id part, never any of the secret.
    pub(super) fn shown_prefix(&self, prefix: &str) -> &str {
        self.0
            .get(..prefix.len() + SHOWN_ID_CHARS)
            .unwrap_or_default()
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

impl Serialize for ApiKeySecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A new key of `prefix`: 16 and 32 bytes from the OS CSPRNG.
pub(super) fn generate(prefix: &str) -> Result<ApiKeySecret, AuthError> {
    let id = Zeroizing::new(crate::id::random_token::<16>()?);
    let secret = Zeroizing::new(crate::id::random_token::<32>()?);
    let mut key = Zeroizing::new(String::with_capacity(
        prefix.len() + ID_CHARS + SECRET_CHARS,
    ));
    key.push_str(prefix);
    key.push_str(&id);
    key.push_str(&secret);
    if key.len() != prefix.len() + ID_CHARS + SECRET_CHARS {
        return Err(AuthError::internal(
            "an API key came out of the wrong length",
        ));
    }
    Ok(ApiKeySecret(key))
}

/// The id part of `token` if it is shaped like a key of `prefix`: the
/// prefix, then exactly [`ID_CHARS`] + [`SECRET_CHARS`] base64url
/// characters. The prefix is compared first, so that anything else (an
/// access token) is turned away after one comparison, without allocating.
pub(super) fn id_part<'a>(prefix: &str, token: &'a str) -> Option<&'a str> {
    let rest = token.strip_prefix(prefix)?;
    if rest.len() != ID_CHARS + SECRET_CHARS || !rest.bytes().all(is_base64url) {
        return None;
    }
    rest.get(..ID_CHARS)
}

/// Whether `id` can be the id of a key (as `CredentialId::generate` makes
/// them: 22 base64url characters); anything else names no key.
pub(super) fn is_credential_id(id: &str) -> bool {
    id.len() == ID_CHARS && id.bytes().all(is_base64url)
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}
