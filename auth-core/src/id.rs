//! Opaque identifiers of users and sessions (and, through [`opaque_id`],
//! of credentials).

use base64::Engine as _;

use crate::AuthError;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id as produced by a store or another system. Ids are
            /// opaque: any string a store hands out is accepted as is.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// A fresh random id: 128 bits from the OS CSPRNG as 22 URL-safe
            /// characters.
            ///
            /// # Errors
            /// [`AuthError::Internal`](crate::AuthError::Internal) if the
            /// OS random source fails.
            pub fn generate() -> Result<Self, $crate::AuthError> {
                $crate::id::random_token::<16>().map(Self)
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }
    };
}

/// For the id types of other modules ([`CredentialId`](crate::CredentialId)).
pub(crate) use opaque_id;

opaque_id! {
    /// The id of a user: an opaque string.
    ///
    /// Stores choose the form (a UUID, a database key, or an id from another
    /// system such as Better Auth's 32-character ids); the core never parses
    /// it. It is the `sub` claim of access tokens and `user.id` in responses.
    ///
    /// ```
    /// use auth_core::UserId;
    ///
    /// let id = UserId::new("Xk9RzQ2bT7mWc4LpV8nH1yFd6sJa3eGu");
    /// assert_eq!(id.as_str().len(), 32);
    /// assert_eq!(serde_json::to_string(&id).unwrap(), r#""Xk9RzQ2bT7mWc4LpV8nH1yFd6sJa3eGu""#);
    /// ```
    UserId
}

opaque_id! {
    /// The id of a session: the `sid` claim of access tokens.
    ///
    /// The auth service generates it with [`SessionId::generate`].
    SessionId
}

/// Equality of two byte strings that takes the same time wherever they
/// differ (only their lengths may show), for comparing secrets or their
/// hashes.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    a.len() == b.len() && std::hint::black_box(difference) == 0
}

/// `N` bytes from the OS CSPRNG, as unpadded URL-safe base64.
pub(crate) fn random_token<const N: usize>() -> Result<String, AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::internal(e.to_string()))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    zeroize::Zeroize::zeroize(&mut bytes);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_ids_are_distinct_and_url_safe() {
        let ids: HashSet<_> = (0..1000).map(|_| SessionId::generate().unwrap()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.as_str().len(), 22);
            assert!(
                id.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
    }
}
