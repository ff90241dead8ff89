//! The secrets of two-factor: TOTP secrets and their `otpauth://` URL and
//! QR code, backup codes and their keyed hashes, and how typed codes are
//! read.

use std::fmt;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Serialize, Serializer};
use sha2::Sha256;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{AuthError, EncryptionKey, UserId};

/// Digits of a TOTP code.
pub(super) const TOTP_DIGITS: usize = 6;

/// Seconds of a TOTP step.
pub(super) const TOTP_STEP_SECS: u64 = 30;

/// Digits of a backup code: 10^16 codes, 53 bits.
pub(super) const BACKUP_CODE_DIGITS: usize = 16;

/// The most characters a typed code may have, separators included; longer
/// input is refused before it is read.
const MAX_TYPED_LEN: usize = 64;

/// `typed` without the spaces and dashes people type or paste, if what is
/// left is exactly `digits` ASCII digits.
pub(super) fn normalise(typed: &str, digits: usize) -> Option<Zeroizing<String>> {
    if typed.len() > MAX_TYPED_LEN {
        return None;
    }
    let code: Zeroizing<String> =
        Zeroizing::new(typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect());
    (code.len() == digits && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// A TOTP secret: 160 random bits (RFC 4226's recommendation).
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct TotpSecret(pub(super) [u8; 20]);

impl TotpSecret {
    pub(super) fn generate() -> Result<Self, AuthError> {
        let mut bytes = [0u8; 20];
        getrandom::fill(&mut bytes).map_err(|e| AuthError::internal(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// The secret [`seal`](Self::seal) made for `user`, if it opens.
    pub(super) fn open(key: &EncryptionKey, user: &UserId, sealed: &str) -> Option<Self> {
        let plain = key.open(&binding(user), sealed)?;
        let bytes: [u8; 20] = plain.as_slice().try_into().ok()?;
        Some(Self(bytes))
    }

    /// The secret, encrypted and bound to `user`.
    pub(super) fn seal(&self, key: &EncryptionKey, user: &UserId) -> Result<String, AuthError> {
        key.seal(&binding(user), &self.0)
    }

    /// RFC 6238 with the parameters every authenticator app supports:
    /// SHA-1, 6 digits, 30 s steps. The drift of one step either way is
    /// [`steps_of`](Self::steps_of)'s, which checks each step alone.
    fn totp(&self) -> Result<Totp, AuthError> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(0)
            .with_step_duration(TOTP_STEP_SECS)
            .with_secret(Secret::new_stack(self.0))
            .build()
            .map_err(|e| AuthError::internal(e.to_string()))
    }

    /// The steps within one of `unix_time`'s whose code `code`
    /// (normalised) is, oldest first. Usually none or one; two when
    /// neighbouring steps share a code (one in a million), and then the
    /// caller takes the first one not used yet.
    pub(super) fn steps_of(&self, code: &str, unix_time: u64) -> Result<Vec<u64>, AuthError> {
        let totp = self.totp()?;
        let now = unix_time / TOTP_STEP_SECS;
        Ok((now.saturating_sub(1)..=now + 1)
            .filter(|step| totp.check(code, step * TOTP_STEP_SECS).is_some())
            .collect())
    }

    /// The secret a setup showed in base32 (for tests).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn from_base32(text: &str) -> Option<Self> {
        let secret = Secret::try_from_base32(text).ok()?;
        Some(Self(secret.as_bytes().try_into().ok()?))
    }

    /// The code of the step `unix_time` falls in (for tests).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn code_at(&self, unix_time: u64) -> String {
        self.totp()
            .map(|totp| totp.generate(unix_time).to_string())
            .unwrap_or_default()
    }

    /// The secret in base32, as authenticator apps take it typed.
    fn base32(&self) -> String {
        Secret::new_stack(self.0).to_base32()
    }

    /// What setup shows: the secret, its `otpauth://` URL naming `issuer`
    /// and `account`, and that URL as a QR code.
    pub(super) fn enrolment(&self, issuer: &str, account: &str) -> Result<Enrolment, AuthError> {
        let secret = self.base32();
        let url = format!(
            "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
            percent_encode(issuer),
            percent_encode(account),
            percent_encode(issuer),
        );
        let qr = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
            .map_err(|e| AuthError::internal(e.to_string()))?;
        let svg = qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        Ok(Enrolment {
            secret: Shown(secret),
            otpauth_url: Shown(url),
            qr_code_data_url: Shown(format!(
                "data:image/svg+xml;base64,{}",
                STANDARD.encode(svg)
            )),
        })
    }
}

/// What a TOTP secret is bound to when sealed: its owner.
fn binding(user: &UserId) -> Vec<u8> {
    format!("totp:{user}").into_bytes()
}

/// RFC 3986 percent-encoding of everything but unreserved characters (and
/// `@`, which authenticator apps show as typed).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The secret parts of a setup: the secret, its URL and its QR code.
pub(super) struct Enrolment {
    pub(super) secret: Shown,
    pub(super) otpauth_url: Shown,
    pub(super) qr_code_data_url: Shown,
}

/// A secret shown to its owner once: serialised as itself, redacted in
/// `Debug`, zeroed on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Shown(String);

impl Shown {
    /// The value. The name is a reminder to keep it out of logs.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Shown {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A new backup code, formatted `1234-5678-9012-3456`.
pub(super) fn new_backup_code() -> Result<Shown, AuthError> {
    const CODES: u64 = 10_000_000_000_000_000;
    // The largest multiple of CODES below 2^64: draws above it are
    // redrawn, so that every code is equally likely.
    const LIMIT: u64 = u64::MAX - u64::MAX % CODES;
    loop {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| AuthError::internal(e.to_string()))?;
        let draw = u64::from_le_bytes(bytes);
        if draw < LIMIT {
            let digits = Zeroizing::new(format!("{:016}", draw % CODES));
            return Ok(Shown(format!(
                "{}-{}-{}-{}",
                &digits[..4],
                &digits[4..8],
                &digits[8..12],
                &digits[12..]
            )));
        }
    }
}

/// The lookup a backup code is stored under: HMAC-SHA256, keyed with a
/// key derived from the [`EncryptionKey`], of its owner and its digits. 53 bits are few enough
/// to try them all against a plain hash; without the key a stolen table
/// gives nothing, and a check costs one HMAC instead of a password hash.
pub(super) fn backup_code_lookup(
    key: &EncryptionKey,
    user: &UserId,
    digits: &str,
) -> Result<String, AuthError> {
    // A key of its own, derived from the encryption key, so that no key
    // serves two algorithms.
    let mut derive = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose_secret())
        .map_err(|e| AuthError::internal(e.to_string()))?;
    derive.update(b"auth-core backup codes v1");
    let subkey = Zeroizing::new(derive.finalize().into_bytes());
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&subkey)
        .map_err(|e| AuthError::internal(e.to_string()))?;
    mac.update(user.as_str().as_bytes());
    mac.update(b"\0");
    mac.update(digits.as_bytes());
    Ok(crate::TokenHash::from_bytes(mac.finalize().into_bytes().into()).to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_are_normalised_or_refused() {
        assert_eq!(
            normalise("123 456", 6).as_deref().map(String::as_str),
            Some("123456")
        );
        assert_eq!(
            normalise("123-456", 6).as_deref().map(String::as_str),
            Some("123456")
        );
        assert!(normalise("12345", 6).is_none());
        assert!(normalise("1234567", 6).is_none());
        assert!(normalise("12345a", 6).is_none());
        assert!(
            normalise("١٢٣٤٥٦", 6).is_none(),
            "Arabic-Indic digits are not ASCII"
        );
        assert!(normalise(&"1".repeat(100), 100).is_none(), "overlong input");
        assert!(normalise("", 6).is_none());
    }

    #[test]
    fn backup_codes_are_16_digits_and_differ() {
        let a = new_backup_code().unwrap();
        let b = new_backup_code().unwrap();
        assert_ne!(a, b);
        let digits = normalise(a.expose_secret(), BACKUP_CODE_DIGITS).unwrap();
        assert_eq!(digits.len(), 16);
        assert_eq!(a.expose_secret().len(), 19);
        assert_eq!(format!("{a:?}"), "<redacted>");
    }

    #[test]
    fn backup_code_lookups_depend_on_key_user_and_code() {
        let key = EncryptionKey::from_bytes([1; 32]);
        let ada = UserId::new("ada");
        let lookup = |key: &EncryptionKey, user: &UserId, code: &str| {
            backup_code_lookup(key, user, code).unwrap()
        };
        let first = lookup(&key, &ada, "1234567890123456");
        assert_eq!(first.len(), 64);
        assert_ne!(first, lookup(&key, &UserId::new("bob"), "1234567890123456"));
        assert_ne!(first, lookup(&key, &ada, "1234567890123457"));
        let other_key = EncryptionKey::from_bytes([2; 32]);
        assert_ne!(first, lookup(&other_key, &ada, "1234567890123456"));
    }

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B's SHA-1 secret is 20 ASCII bytes.
        let secret = TotpSecret(*b"12345678901234567890");
        // Its 8-digit codes end in these 6 digits.
        assert_eq!(secret.code_at(59), "287082");
        assert_eq!(secret.code_at(1_111_111_109), "081804");
        assert_eq!(secret.code_at(2_000_000_000), "279037");
        assert_eq!(secret.steps_of("287082", 59).unwrap(), [1]);
        assert_eq!(
            secret.steps_of("287082", 59 + 30).unwrap(),
            [1],
            "one step late"
        );
        assert_eq!(
            secret.steps_of("287082", 59 - 30).unwrap(),
            [1],
            "one step early"
        );
        assert!(
            secret.steps_of("287082", 59 + 60).unwrap().is_empty(),
            "two steps late"
        );
    }

    #[test]
    fn the_enrolment_names_issuer_and_account() {
        let secret = TotpSecret([0; 20]);
        let shown = secret.enrolment("Task app", "ada@example.com").unwrap();
        assert_eq!(
            shown.secret.expose_secret(),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        );
        assert_eq!(
            shown.otpauth_url.expose_secret(),
            "otpauth://totp/Task%20app:ada@example.com?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\
             &issuer=Task%20app&algorithm=SHA1&digits=6&period=30"
        );
        let svg = STANDARD
            .decode(
                shown
                    .qr_code_data_url
                    .expose_secret()
                    .strip_prefix("data:image/svg+xml;base64,")
                    .unwrap(),
            )
            .unwrap();
        assert!(String::from_utf8(svg).unwrap().contains("<svg"));
        let sealed = secret
            .seal(&EncryptionKey::from_bytes([3; 32]), &UserId::new("ada"))
            .unwrap();
        assert!(
            TotpSecret::open(
                &EncryptionKey::from_bytes([3; 32]),
                &UserId::new("bob"),
                &sealed
            )
            .is_none()
        );
        assert!(
            TotpSecret::open(
                &EncryptionKey::from_bytes([3; 32]),
                &UserId::new("ada"),
                &sealed
            )
            .is_some()
        );
    }
}
