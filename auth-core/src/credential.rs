//! What sign-in methods keep per user, or per address before an account
//! exists: one row shape for all of them, kept by a
//! [`CredentialStore`](crate::CredentialStore).
//!
//! An email sign-in code, an OAuth identity, an encrypted TOTP secret, a
//! hashed backup code, a passkey, a hashed API key: each is a
//! [`NewCredential`] of its own [`CredentialKind`], found again by its
//! `lookup` (unique per kind) or listed by user, with the method's own
//! state serialised in `data`. A new sign-in method needs no new store
//! method and no migration.

use std::{borrow::Cow, fmt};

use time::OffsetDateTime;

use crate::{AuthError, UserId, id::opaque_id};

/// What a credential is for: the sign-in method that stored it. Each method
/// names its own, and finds only rows of its kind.
///
/// ```
/// use auth_core::store::CredentialKind;
///
/// const PASSKEY: CredentialKind = CredentialKind::new("passkey");
/// assert_eq!(PASSKEY.as_str(), "passkey");
/// assert!(PASSKEY.is_valid());
/// assert!(!CredentialKind::new("Pass Key").is_valid());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialKind(Cow<'static, str>);

impl CredentialKind {
    /// The most bytes a kind may have (SQL stores keep 64).
    pub const MAX_LEN: usize = 64;

    /// A kind: a short snake_case name (`a-z`, `0-9`, `_`; 1 to
    /// [`MAX_LEN`](Self::MAX_LEN) bytes; see [`is_valid`](Self::is_valid)).
    pub const fn new(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// A kind read back from storage.
    pub fn from_stored(name: String) -> Self {
        Self(Cow::Owned(name))
    }

    /// The stored name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name keeps the rules of [`new`](Self::new). Stores refuse
    /// to write a kind that does not, and find nothing of it.
    pub fn is_valid(&self) -> bool {
        (1..=Self::MAX_LEN).contains(&self.0.len())
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

opaque_id! {
    /// The id of a stored credential: an opaque string, serialised as one.
    ///
    /// The core makes it with [`CredentialId::generate`] (128 random bits),
    /// so it can be shown to the owner (a passkey to delete, say) without
    /// revealing anything.
    CredentialId
}

/// A credential to store: the sign-in method's state for one user, or for
/// an address that has no account yet.
///
/// `Debug` shows only the length of `data`. Times are kept to the
/// microsecond by SQL stores.
#[derive(Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// Its id, from [`CredentialId::generate`].
    pub id: CredentialId,
    /// The sign-in method it belongs to.
    pub kind: CredentialKind,
    /// What the method finds it by, unique per kind: an OAuth
    /// `provider:subject`, a passkey's credential id in base64url, an API
    /// key's id part, an email address. Compared byte for byte, so
    /// normalise it first; 1 to [`MAX_LOOKUP_LEN`](Self::MAX_LOOKUP_LEN)
    /// bytes.
    pub lookup: String,
    /// Its owner; `None` for state kept before an account exists (an email
    /// sign-in code for an unknown address).
    pub user_id: Option<UserId>,
    /// The method's own serialised state. Secrets in it are encrypted or
    /// hashed by the caller: the store keeps the bytes as they are.
    pub data: Vec<u8>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it stops being good, if ever. Stores do not check it on reads;
    /// see [`Credential::is_expired_at`].
    pub expires_at: Option<OffsetDateTime>,
}

impl NewCredential {
    /// The most bytes a lookup may have (SQL stores keep 255).
    pub const MAX_LOOKUP_LEN: usize = 255;

    /// Whether `lookup` can be stored: 1 to
    /// [`MAX_LOOKUP_LEN`](Self::MAX_LOOKUP_LEN) bytes, no NUL character
    /// (which PostgreSQL cannot keep in text). Stores find nothing by a
    /// lookup that is not.
    pub fn is_valid_lookup(lookup: &str) -> bool {
        (1..=Self::MAX_LOOKUP_LEN).contains(&lookup.len()) && !lookup.contains('\0')
    }

    /// The check every store makes before writing: a valid kind
    /// ([`CredentialKind::is_valid`]) and lookup
    /// ([`is_valid_lookup`](Self::is_valid_lookup)), and an id that is not
    /// empty and has no NUL character.
    ///
    /// # Errors
    /// [`AuthError::Internal`] naming the broken rule: a caller's bug, not
    /// a client's.
    pub fn check(&self) -> Result<(), AuthError> {
        if self.id.as_str().is_empty() || self.id.as_str().contains('\0') {
            return Err(AuthError::internal(
                "a credential id must be non-empty and without NUL",
            ));
        }
        if !self.kind.is_valid() {
            return Err(AuthError::internal(
                "a credential kind must be 1 to 64 bytes of a-z, 0-9 and _",
            ));
        }
        if !Self::is_valid_lookup(&self.lookup) {
            return Err(AuthError::internal(
                "a credential lookup must be 1 to 255 bytes without NUL",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCredential")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("lookup", &self.lookup)
            .field("user_id", &self.user_id)
            .field("data", &DataLen(self.data.len()))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A stored credential, as a [`CredentialStore`](crate::CredentialStore)
/// gives it back.
///
/// `version` starts at 1 and grows by one with every
/// [`update`](crate::CredentialStore::update); updates and
/// [`consume`](crate::CredentialStore::consume) take the version the caller
/// read, so of concurrent changes exactly one succeeds. `Debug` shows only
/// the length of `data`.
///
/// ```
/// use auth_core::store::{Credential, CredentialId, CredentialKind, NewCredential};
/// use time::{Duration, OffsetDateTime};
///
/// let now = OffsetDateTime::UNIX_EPOCH;
/// let code = Credential::from(NewCredential {
///     id: CredentialId::generate()?,
///     kind: CredentialKind::new("email_code"),
///     lookup: "ada@example.com".into(),
///     user_id: None,
///     data: b"hashed code".to_vec(),
///     created_at: now,
///     expires_at: Some(now + Duration::minutes(10)),
/// });
/// assert_eq!(code.version, 1);
/// assert!(!code.is_expired_at(now + Duration::minutes(9)));
/// assert!(code.is_expired_at(now + Duration::minutes(10)));
/// assert!(format!("{code:?}").contains("data: <11 bytes>"));
/// # Ok::<(), auth_core::AuthError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Its id.
    pub id: CredentialId,
    /// The sign-in method it belongs to.
    pub kind: CredentialKind,
    /// What the method finds it by, unique per kind.
    pub lookup: String,
    /// Its owner, if it has one.
    pub user_id: Option<UserId>,
    /// The method's own serialised state (secrets encrypted or hashed).
    pub data: Vec<u8>,
    /// 1 when stored, one more after each update.
    pub version: u64,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When an update last said it was used, if one did.
    pub last_used_at: Option<OffsetDateTime>,
    /// When it stops being good, if ever.
    pub expires_at: Option<OffsetDateTime>,
}

impl Credential {
    /// Whether it has expired at `now`: it is good strictly before
    /// `expires_at`, and for ever without one.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|expires_at| now >= expires_at)
    }
}

impl From<NewCredential> for Credential {
    /// The credential as a store keeps it when inserted: version 1, never
    /// used.
    fn from(new: NewCredential) -> Self {
        Self {
            id: new.id,
            kind: new.kind,
            lookup: new.lookup,
            user_id: new.user_id,
            data: new.data,
            version: 1,
            created_at: new.created_at,
            last_used_at: None,
            expires_at: new.expires_at,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("lookup", &self.lookup)
            .field("user_id", &self.user_id)
            .field("data", &DataLen(self.data.len()))
            .field("version", &self.version)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// `data` in `Debug`: its length only.
struct DataLen(usize);

impl fmt::Debug for DataLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_credential() -> NewCredential {
        NewCredential {
            id: CredentialId::new("id"),
            kind: CredentialKind::new("backup_code"),
            lookup: "ada:1".into(),
            user_id: Some(UserId::new("ada")),
            data: b"secret hash".to_vec(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: None,
        }
    }

    #[test]
    fn debug_shows_the_length_of_data_only() {
        let new = new_credential();
        let shown = format!("{new:?} {:?}", Credential::from(new.clone()));
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(shown.matches("data: <11 bytes>").count(), 2, "{shown}");
    }

    #[test]
    fn kinds_and_lookups_are_checked() {
        assert!(new_credential().check().is_ok());
        let long_kind = CredentialKind::from_stored("k".repeat(65));
        for kind in [
            CredentialKind::new(""),
            CredentialKind::new("OAuth"),
            long_kind,
        ] {
            let new = NewCredential {
                kind,
                ..new_credential()
            };
            assert!(
                matches!(new.check(), Err(AuthError::Internal(_))),
                "{new:?}"
            );
        }
        assert!(CredentialKind::from_stored("k".repeat(64)).is_valid());
        assert!(NewCredential::is_valid_lookup(&"é".repeat(127)));
        for lookup in [String::new(), "é".repeat(128), "a\0b".into()] {
            assert!(!NewCredential::is_valid_lookup(&lookup), "{lookup:?}");
            let new = NewCredential {
                lookup,
                ..new_credential()
            };
            assert!(matches!(new.check(), Err(AuthError::Internal(_))));
        }
    }

    #[test]
    fn ids_are_random_and_serialise_as_strings() {
        let (a, b) = (
            CredentialId::generate().unwrap(),
            CredentialId::generate().unwrap(),
        );
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            format!("\"{}\"", a.as_str())
        );
    }
}
