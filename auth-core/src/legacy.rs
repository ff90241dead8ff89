//! Password hashes imported from the systems this library replaces: bcrypt
//! (`$2a$`, `$2b$`, `$2y$`) and Better Auth's scrypt (`saltHex:keyHex`).
//!
//! They are checked strictly when imported, verified by
//! [`Argon2Hasher`](crate::Argon2Hasher) (on the blocking pool, inside its
//! concurrency limit), and replaced by Argon2id on the next sign-in.
//!
//! Storage: a bcrypt hash is stored as it is (it already looks like a PHC
//! string). A Better Auth hash has no `$` prefix, so it is stored as
//! `$scrypt-ba$<saltHex>$<keyHex>`: any text column keeps it, and
//! [`PasswordHash::from_phc`](crate::PasswordHash::from_phc) reads it back.

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroize;

use crate::{AuthError, Password};

/// The lowest bcrypt cost accepted (bcrypt's own minimum).
pub(crate) const BCRYPT_MIN_COST: u32 = 4;
/// The highest bcrypt cost accepted on import: cost 16 is already seconds
/// of CPU per sign-in; more is a corrupt or hostile row.
pub(crate) const BCRYPT_MAX_COST: u32 = 16;

/// The longest password bcrypt reads in full.
const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

/// The stored prefix of an imported Better Auth scrypt hash.
pub(crate) const SCRYPT_BA_PREFIX: &str = "$scrypt-ba$";

/// Better Auth's scrypt parameters: N = 2^14, r = 16, p = 1, 64-byte key.
const SCRYPT_BA_LOG_N: u8 = 14;
const SCRYPT_BA_R: u32 = 16;
const SCRYPT_BA_P: u32 = 1;
const SCRYPT_BA_KEY_LEN: usize = 64;
/// Better Auth's salt: 16 random bytes, used as their 32-char hex text.
const SCRYPT_BA_SALT_HEX_LEN: usize = 32;

/// A legacy hash, parsed and within limits, ready to verify.
pub(crate) enum Legacy {
    /// A bcrypt hash string (`$2?$cc$` + 53 characters) and its cost.
    Bcrypt { hash: String, cost: u32 },
    /// Better Auth scrypt: the salt's hex text (used as bytes) and the key.
    BetterAuthScrypt {
        salt_hex: String,
        key: [u8; SCRYPT_BA_KEY_LEN],
    },
}

fn invalid(what: &str) -> AuthError {
    AuthError::InvalidConfig(format!("imported password hash: {what}"))
}

const BCRYPT_ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Checks a bcrypt hash string: `$2a$`, `$2b$` or `$2y$`, a two-digit cost
/// within [`BCRYPT_MIN_COST`]..=[`BCRYPT_MAX_COST`], then 22 salt and 31
/// hash characters of bcrypt's base64 alphabet. Returns the cost.
pub(crate) fn check_bcrypt(hash: &str) -> Result<u32, AuthError> {
    let bytes = hash.as_bytes();
    if bytes.len() != 60 {
        return Err(invalid("a bcrypt hash has 60 characters"));
    }
    let (head, rest) = bytes.split_at(7);
    let version_ok = matches!(head.get(..4), Some(b"$2a$" | b"$2b$" | b"$2y$"));
    if !version_ok || head.get(6) != Some(&b'$') {
        return Err(invalid(
            "a bcrypt hash starts with $2a$, $2b$ or $2y$ and a cost",
        ));
    }
    let cost = match (head.get(4), head.get(5)) {
        (Some(tens @ b'0'..=b'9'), Some(units @ b'0'..=b'9')) => {
            u32::from(tens - b'0') * 10 + u32::from(units - b'0')
        }
        _ => return Err(invalid("the bcrypt cost is two digits")),
    };
    if !(BCRYPT_MIN_COST..=BCRYPT_MAX_COST).contains(&cost) {
        return Err(invalid(&format!(
            "bcrypt cost {cost} is outside {BCRYPT_MIN_COST}..={BCRYPT_MAX_COST}"
        )));
    }
    if !rest.iter().all(|b| BCRYPT_ALPHABET.contains(b)) {
        return Err(invalid("bcrypt salt and hash use bcrypt's base64 alphabet"));
    }
    Ok(cost)
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn decode_key(hex: &str) -> Option<[u8; SCRYPT_BA_KEY_LEN]> {
    if hex.len() != SCRYPT_BA_KEY_LEN * 2 || !is_lower_hex(hex) {
        return None;
    }
    let mut key = [0u8; SCRYPT_BA_KEY_LEN];
    for (byte, pair) in key.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(key)
}

/// Parses Better Auth's `saltHex:keyHex` (32 and 128 lowercase hex digits,
/// as Better Auth writes them) into the stored form.
pub(crate) fn better_auth_to_stored(hash: &str) -> Result<String, AuthError> {
    let Some((salt, key)) = hash.split_once(':') else {
        return Err(invalid("a Better Auth hash is saltHex:keyHex"));
    };
    if salt.len() != SCRYPT_BA_SALT_HEX_LEN || !is_lower_hex(salt) || decode_key(key).is_none() {
        return Err(invalid(
            "a Better Auth hash is 32 then 128 lowercase hex digits around a colon",
        ));
    }
    Ok(format!("{SCRYPT_BA_PREFIX}{salt}${key}"))
}

/// Recognises a stored legacy hash. `None` for anything else (Argon2 PHC
/// strings go to the Argon2 parser). A string with a legacy prefix but a bad
/// shape is an internal error: corrupt data, not a wrong password.
pub(crate) fn parse_stored(stored: &str) -> Option<Result<Legacy, AuthError>> {
    if stored.starts_with("$2") {
        return Some(
            check_bcrypt(stored)
                .map(|cost| Legacy::Bcrypt {
                    hash: stored.to_owned(),
                    cost,
                })
                .map_err(|_| AuthError::internal("stored bcrypt hash is malformed")),
        );
    }
    let rest = stored.strip_prefix(SCRYPT_BA_PREFIX)?;
    let parsed = rest.split_once('$').and_then(|(salt, key)| {
        let ok = salt.len() == SCRYPT_BA_SALT_HEX_LEN && is_lower_hex(salt);
        ok.then_some(())?;
        Some(Legacy::BetterAuthScrypt {
            salt_hex: salt.to_owned(),
            key: decode_key(key)?,
        })
    });
    Some(parsed.ok_or_else(|| AuthError::internal("stored Better Auth scrypt hash is malformed")))
}

/// Verifies `password` against a legacy hash. Blocking: call it on the
/// blocking pool with a hashing permit held.
pub(crate) fn verify_blocking(password: &Password, legacy: &Legacy) -> Result<bool, AuthError> {
    match legacy {
        Legacy::Bcrypt { hash, .. } => {
            // bcrypt reads only the first 72 bytes. Rather than let a longer
            // password match on its prefix, it does not match at all (the
            // Python package refuses to hash one). Up to 72 bytes, the
            // crate's `verify` is exact (its `non_truncating_verify` would
            // also refuse exactly 72, which Python accepts).
            // The hash is still computed for a longer one, so that it costs
            // the same time.
            let password = password.expose_secret().as_bytes();
            let read = password
                .get(..BCRYPT_MAX_PASSWORD_BYTES)
                .unwrap_or(password);
            let matched =
                bcrypt::verify(read, hash).map_err(|e| AuthError::internal(e.to_string()))?;
            Ok(matched && password.len() <= BCRYPT_MAX_PASSWORD_BYTES)
        }
        Legacy::BetterAuthScrypt { salt_hex, key } => {
            let params = scrypt::Params::new(SCRYPT_BA_LOG_N, SCRYPT_BA_R, SCRYPT_BA_P)
                .map_err(|e| AuthError::internal(e.to_string()))?;
            // Better Auth hashes `password.normalize("NFKC")`.
            let mut normalised: String = password.expose_secret().nfkc().collect();
            let mut output = [0u8; SCRYPT_BA_KEY_LEN];
            let computed = scrypt::scrypt(
                normalised.as_bytes(),
                salt_hex.as_bytes(),
                &params,
                &mut output,
            );
            normalised.zeroize();
            computed.map_err(|e| AuthError::internal(e.to_string()))?;
            let same = crate::id::constant_time_eq(&output, key);
            output.zeroize();
            Ok(same)
        }
    }
}
