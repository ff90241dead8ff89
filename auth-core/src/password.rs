//! Passwords, their hashes, the password policy and the hasher trait.

use std::fmt;

use async_trait::async_trait;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{AuthError, Email};

pub use crate::argon2id::{Argon2Hasher, Argon2Params};

/// A plaintext password: redacted in `Debug`, zeroed in memory on drop.
///
/// It can be deserialised (it arrives in request bodies) but not serialised.
///
/// ```
/// use auth_core::Password;
///
/// let password = Password::new("correct horse battery staple");
/// assert_eq!(format!("{password:?}"), "Password(<redacted>)");
/// assert_eq!(password.expose_secret(), "correct horse battery staple");
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps a plaintext password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The plaintext. The name is a reminder to keep it out of logs.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Its length in Unicode scalar values, the unit of the password policy.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }

    /// Whether it has more than `max` characters; cheap even for a
    /// megabyte of input, since the byte length is looked at first.
    pub(crate) fn exceeds_chars(&self, max: usize) -> bool {
        // A char is at most 4 bytes: more bytes than that cannot fit.
        self.0.len() > max.saturating_mul(4) || self.char_count() > max
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$m=…`).
///
/// Redacted in `Debug` and never `Serialize`: it is stored, not shown.
///
/// ```
/// use auth_core::password::PasswordHash;
///
/// let hash = PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA").unwrap();
/// assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
/// assert!(PasswordHash::from_phc("plaintext").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string as read from storage, after a shape check
    /// (starts with `$`, printable ASCII without spaces).
    ///
    /// # Errors
    /// [`AuthError::Internal`] when the text cannot be a PHC string; that is
    /// corrupt data, not a client mistake.
    pub fn from_phc(phc: impl Into<String>) -> Result<Self, AuthError> {
        let phc = phc.into();
        if phc.starts_with('$') && phc.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(phc))
        } else {
            Err(AuthError::internal(
                "stored password hash is not a PHC string",
            ))
        }
    }

    /// The PHC string, for storage.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// The hash of an account that has no password (one made by email
    /// sign-in or an OAuth provider): no password matches it, and a reset
    /// sets a real one. Stored as [`NO_PASSWORD`](Self::NO_PASSWORD).
    ///
    /// ```
    /// use auth_core::password::PasswordHash;
    ///
    /// assert!(!PasswordHash::none().is_set());
    /// assert_eq!(PasswordHash::from_phc(PasswordHash::NO_PASSWORD).unwrap(), PasswordHash::none());
    /// ```
    pub fn none() -> Self {
        Self(Self::NO_PASSWORD.to_owned())
    }

    /// What [`none`](Self::none) stores: PHC-shaped, but no hasher's.
    pub const NO_PASSWORD: &'static str = "$none$";

    /// Whether the account has a password (this is not [`none`](Self::none)).
    pub fn is_set(&self) -> bool {
        self.0 != Self::NO_PASSWORD
    }

    /// Imports a bcrypt hash (`$2a$`, `$2b$` or `$2y$`, as made by the
    /// Python `bcrypt` package, PHP or `bcryptjs`), stored as it is. It
    /// verifies with [`Argon2Hasher`], which reports
    /// [`Verification::MatchNeedsRehash`] so sign-in replaces it by Argon2id.
    ///
    /// ```
    /// use auth_core::password::PasswordHash;
    ///
    /// let hash = PasswordHash::from_bcrypt("$2b$04$PvToG/sTj7qKntp3XPvc5uiu6sNikXNbaL7OYe0tPJCmNzEZ6L6Fe")?;
    /// assert!(hash.as_phc().starts_with("$2b$04$"));
    /// assert!(PasswordHash::from_bcrypt("$2b$31$PvToG/sTj7qKntp3XPvc5uiu6sNikXNbaL7OYe0tPJCmNzEZ6L6Fe").is_err());
    /// # Ok::<(), auth_core::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] unless it is 60 characters: a version,
    /// a cost from 4 to 16 (higher costs are refused as absurd), and salt
    /// and hash in bcrypt's base64 alphabet.
    pub fn from_bcrypt(hash: &str) -> Result<Self, AuthError> {
        crate::legacy::check_bcrypt(hash)?;
        Ok(Self(hash.to_owned()))
    }

    /// Imports a Better Auth password hash (`saltHex:keyHex`: scrypt with
    /// N = 16384, r = 16, p = 1, a 64-byte key, the password NFKC-normalised
    /// and the salt's hex text used as the salt). It is stored as
    /// `$scrypt-ba$<saltHex>$<keyHex>`, verifies with
    /// [`Argon2Hasher`] and is replaced by Argon2id on
    /// the next sign-in.
    ///
    /// ```
    /// use auth_core::password::PasswordHash;
    ///
    /// let salt = "81ae451cebace3f2412a20c906a84fd7";
    /// let key = "64".repeat(64);
    /// let hash = PasswordHash::from_better_auth_scrypt(&format!("{salt}:{key}"))?;
    /// assert_eq!(hash.as_phc(), format!("$scrypt-ba${salt}${key}"));
    /// assert!(PasswordHash::from_better_auth_scrypt("abc:def").is_err());
    /// # Ok::<(), auth_core::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] unless it is 32 and 128 lowercase hex
    /// digits around a colon, as Better Auth writes them.
    pub fn from_better_auth_scrypt(hash: &str) -> Result<Self, AuthError> {
        crate::legacy::better_auth_to_stored(hash).map(Self)
    }

    /// Imports a hash from any supported system, recognised by its shape:
    /// bcrypt ([`from_bcrypt`](Self::from_bcrypt)), Better Auth
    /// ([`from_better_auth_scrypt`](Self::from_better_auth_scrypt)) or an
    /// Argon2 PHC string (`$argon2id$…`, kept as it is).
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] for a string of none of these shapes,
    /// or one that its format refuses.
    pub fn import(hash: &str) -> Result<Self, AuthError> {
        if hash.starts_with("$2") {
            Self::from_bcrypt(hash)
        } else if hash.starts_with("$argon2") {
            Self::from_phc(hash).map_err(|_| {
                AuthError::InvalidConfig("imported password hash: not a PHC string".into())
            })
        } else if hash.contains(':') {
            Self::from_better_auth_scrypt(hash)
        } else {
            Err(AuthError::InvalidConfig(
                "imported password hash: neither bcrypt, Better Auth scrypt nor Argon2".into(),
            ))
        }
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// The outcome of [`PasswordHasher::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verification {
    /// The password does not match.
    Mismatch,
    /// The password matches and the hash uses the current parameters.
    Match,
    /// The password matches, but the hash uses an older algorithm or weaker
    /// parameters: hash the password again and store the new hash.
    MatchNeedsRehash,
}

impl Verification {
    /// Whether the password matched.
    pub fn is_match(self) -> bool {
        !matches!(self, Self::Mismatch)
    }
}

/// Hashes and verifies passwords.
///
/// Implementations must not block the async executor: a memory-hard hash
/// costs tens of milliseconds of CPU. [`Argon2Hasher`]
/// is the default implementation.
#[async_trait]
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes `password` with a fresh random salt.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError>;

    /// Checks `password` against `hash`, and says whether the hash should be
    /// upgraded to the current parameters.
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, AuthError>;
}

/// Rules for new passwords: a length in Unicode scalar values, and not one
/// of the most common passwords (OWASP ASVS 5.0 6.2.4, NIST SP 800-63B).
/// No composition rules: length is what makes a password strong.
///
/// The common-password list holds every password of 8 to 128 characters
/// among the 30,000 most common ones of a public breach corpus (11,611
/// entries, compared case-insensitively; its source is in the crate's
/// `data/README.md`). [`check_for`](Self::check_for) also refuses the
/// user's own email address. A policy with a minimum under 8 characters
/// lets common shorter passwords (`123456`) through: keep it at 8 or more.
///
/// ```
/// use auth_core::{AuthError, Password, password::PasswordPolicy};
///
/// let policy = PasswordPolicy::default(); // 8 to 128 characters, no common ones
/// assert!(policy.check(&Password::new("violet kettle drum")).is_ok());
/// assert!(matches!(policy.check(&Password::new("1234567")), Err(AuthError::PasswordTooShort { min: 8 })));
/// assert!(matches!(policy.check(&Password::new("Password1")), Err(AuthError::PasswordTooCommon)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
    refuse_common: bool,
}

impl PasswordPolicy {
    /// The upper bound on `max_chars`: beyond it a password is a payload,
    /// not a secret, and only costs hashing time.
    pub const LIMIT: usize = 1024;

    /// A policy of `min_chars..=max_chars` characters.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] unless `1 <= min_chars <= max_chars <= 1024`.
    pub fn new(min_chars: usize, max_chars: usize) -> Result<Self, AuthError> {
        if min_chars == 0 || min_chars > max_chars || max_chars > Self::LIMIT {
            return Err(AuthError::InvalidConfig(format!(
                "password policy needs 1 <= min ({min_chars}) <= max ({max_chars}) <= {}",
                Self::LIMIT
            )));
        }
        Ok(Self {
            min_chars,
            max_chars,
            refuse_common: true,
        })
    }

    /// The same policy without the common-password check, for an app that
    /// checks passwords its own way (a breach API, a larger list).
    #[must_use]
    pub const fn allow_common_passwords(mut self) -> Self {
        self.refuse_common = false;
        self
    }

    /// Whether common passwords are refused (the default).
    pub const fn refuses_common_passwords(&self) -> bool {
        self.refuse_common
    }

    /// The minimum length.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// The maximum length.
    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Checks a new password against the policy.
    ///
    /// # Errors
    /// [`AuthError::PasswordTooShort`], [`AuthError::PasswordTooLong`] or
    /// [`AuthError::PasswordTooCommon`].
    pub fn check(&self, password: &Password) -> Result<(), AuthError> {
        let len = password.char_count();
        if len < self.min_chars {
            Err(AuthError::PasswordTooShort {
                min: self.min_chars,
            })
        } else if len > self.max_chars {
            Err(AuthError::PasswordTooLong {
                max: self.max_chars,
            })
        } else if self.refuse_common && crate::common_passwords::is_common(password.expose_secret())
        {
            Err(AuthError::PasswordTooCommon)
        } else {
            Ok(())
        }
    }

    /// [`check`](Self::check), and, unless common passwords are allowed,
    /// refuses the user's own email address or its local part (before the
    /// `@`), in any case: the first guesses of anyone who knows the address.
    ///
    /// ```
    /// use auth_core::{AuthError, Email, Password, password::PasswordPolicy};
    ///
    /// let email = Email::parse("ada.lovelace@example.com")?;
    /// let policy = PasswordPolicy::default();
    /// for guessable in ["Ada.Lovelace@example.com", "ada.lovelace"] {
    ///     let refused = policy.check_for(&Password::new(guessable), &email);
    ///     assert!(matches!(refused, Err(AuthError::PasswordTooCommon)));
    /// }
    /// # Ok::<(), AuthError>(())
    /// ```
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_for(&self, password: &Password, email: &Email) -> Result<(), AuthError> {
        self.check(password)?;
        let secret = password.expose_secret();
        let address = email.as_str();
        let local_part = address.rsplit_once('@').map_or(address, |(local, _)| local);
        let secret = secret.to_lowercase();
        if self.refuse_common && (secret == address || secret == local_part) {
            return Err(AuthError::PasswordTooCommon);
        }
        Ok(())
    }

    /// Whether the password is longer than the policy allows, checked
    /// before any hashing.
    pub(crate) fn is_overlong(&self, password: &Password) -> bool {
        password.exceeds_chars(self.max_chars)
    }
}

impl Default for PasswordPolicy {
    /// 8 to 128 characters, as in the HTTP contract.
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_chars: 128,
            refuse_common: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_bounds_are_inclusive_and_count_scalar_values() {
        let policy = PasswordPolicy::default();
        assert!(policy.check(&Password::new("a".repeat(7))).is_err());
        assert!(policy.check(&Password::new("a".repeat(8))).is_ok());
        assert!(policy.check(&Password::new("a".repeat(128))).is_ok());
        assert!(matches!(
            policy.check(&Password::new("a".repeat(129))),
            Err(AuthError::PasswordTooLong { max: 128 })
        ));
        // Eight 4-byte characters are eight characters, not 32.
        assert!(policy.check(&Password::new("🦀".repeat(8))).is_ok());
        assert!(policy.check(&Password::new("🦀".repeat(128))).is_ok());
        assert!(policy.check(&Password::new("🦀".repeat(129))).is_err());
    }

    #[test]
    fn overlong_detection_matches_the_policy() {
        let policy = PasswordPolicy::default();
        assert!(!policy.is_overlong(&Password::new("🦀".repeat(128))));
        assert!(policy.is_overlong(&Password::new("a".repeat(129))));
        assert!(policy.is_overlong(&Password::new("a".repeat(1_000_000))));
    }

    #[test]
    fn invalid_policies_are_refused() {
        assert!(PasswordPolicy::new(0, 10).is_err());
        assert!(PasswordPolicy::new(10, 9).is_err());
        assert!(PasswordPolicy::new(8, 2000).is_err());
        assert_eq!(PasswordPolicy::new(12, 64).unwrap().min_chars(), 12);
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let password = Password::new("hunter22hunter22");
        assert!(!format!("{password:?}").contains("hunter"));
        let hash = PasswordHash::from_phc("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA").unwrap();
        assert!(!format!("{hash:?}").contains("argon2"));
    }
}
