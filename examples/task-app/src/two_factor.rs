//! Two-factor (TOTP and backup codes) from the environment.
//!
//! | variable | meaning |
//! |---|---|
//! | `TWO_FACTOR_KEY` | the key that seals TOTP secrets: 32 bytes in base64url; without it, with SQLite, a generated key kept in `<database file>.two-factor-key` (owner-only); with PostgreSQL, two-factor is off |
//! | `TWO_FACTOR_ISSUER` | the name authenticator apps show (default `Tasks`, the demo page's name) |
//!
//! Losing the key makes every TOTP secret and backup code unusable: see
//! `AuthService::reset_two_factor` for the way back.

use std::path::PathBuf;

use auth_core::{EncryptionKey, service::TwoFactor};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::config::ConfigError;

/// Where the key comes from, and the issuer.
#[derive(Clone)]
pub struct TwoFactorConfig {
    key: KeySource,
    issuer: String,
}

#[derive(Clone)]
enum KeySource {
    Given(EncryptionKey),
    File(PathBuf),
}

impl std::fmt::Debug for TwoFactorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = match &self.key {
            KeySource::Given(_) => "TWO_FACTOR_KEY".to_owned(),
            KeySource::File(path) => path.display().to_string(),
        };
        f.debug_struct("TwoFactorConfig")
            .field("key", &key)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// The two-factor settings; `None` (two-factor off) with PostgreSQL and no
/// `TWO_FACTOR_KEY`.
pub(crate) fn from_lookup(
    get: &impl Fn(&str) -> Option<String>,
    database_url: &str,
) -> Result<Option<TwoFactorConfig>, ConfigError> {
    let key = match get("TWO_FACTOR_KEY") {
        Some(text) => KeySource::Given(parse_key(&text).ok_or_else(|| ConfigError {
            variable: "TWO_FACTOR_KEY",
            problem: "expected 32 bytes in base64url (43 characters)".into(),
        })?),
        None => match crate::config::sqlite_file(database_url) {
            Some(path) => KeySource::File(PathBuf::from(format!("{path}.two-factor-key"))),
            None => return Ok(None),
        },
    };
    let issuer = get("TWO_FACTOR_ISSUER").unwrap_or_else(|| "Tasks".into());
    if issuer.contains(':') || issuer.len() > 64 {
        return Err(ConfigError {
            variable: "TWO_FACTOR_ISSUER",
            problem: "at most 64 bytes, without ':'".into(),
        });
    }
    Ok(Some(TwoFactorConfig { key, issuer }))
}

fn parse_key(text: &str) -> Option<EncryptionKey> {
    let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(text.trim()).ok()?.try_into().ok()?;
    Some(EncryptionKey::from_bytes(bytes))
}

impl TwoFactorConfig {
    /// The settings, the key read or created.
    ///
    /// # Errors
    /// The key file cannot be read or written, or holds no key.
    pub fn load(&self) -> Result<TwoFactor, (String, std::io::Error)> {
        let key = match &self.key {
            KeySource::Given(key) => key.clone(),
            KeySource::File(path) => {
                let fail = |error| (path.display().to_string(), error);
                let text = crate::secret::load_or_create_with(path, || {
                    let key = EncryptionKey::generate().map_err(std::io::Error::other)?;
                    Ok(URL_SAFE_NO_PAD.encode(key.expose_secret()))
                })
                .map_err(fail)?;
                parse_key(&text).ok_or_else(|| {
                    fail(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "not 32 bytes in base64url",
                    ))
                })?
            }
        };
        Ok(TwoFactor::new(self.issuer.clone(), key))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_key_is_given_or_kept_beside_sqlite() {
        let none = |_: &str| None;
        let sqlite = from_lookup(&none, "sqlite://data/tasks.db")
            .unwrap()
            .unwrap();
        assert!(format!("{sqlite:?}").contains("data/tasks.db.two-factor-key"));
        assert!(
            from_lookup(&none, "postgres://localhost/app")
                .unwrap()
                .is_none()
        );
        let key = URL_SAFE_NO_PAD.encode([5u8; 32]);
        let given = move |name: &str| (name == "TWO_FACTOR_KEY").then(|| key.clone());
        let config = from_lookup(&given, "postgres://localhost/app")
            .unwrap()
            .unwrap();
        assert!(!format!("{config:?}").contains(&URL_SAFE_NO_PAD.encode([5u8; 32])));
        let short = |name: &str| (name == "TWO_FACTOR_KEY").then(|| "c2hvcnQ".to_owned());
        assert_eq!(
            from_lookup(&short, "sqlite://x.db").unwrap_err().variable,
            "TWO_FACTOR_KEY"
        );
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let config = from_lookup(&none, &url).unwrap().unwrap();
        config.load().unwrap();
        let file = dir.path().join("t.db.two-factor-key");
        let first = std::fs::read_to_string(&file).unwrap();
        config.load().unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), first, "kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner-only");
        }
    }
}
