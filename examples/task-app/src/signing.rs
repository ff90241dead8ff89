//! Where access tokens come from: an HS256 secret, asymmetric signing keys
//! (published at `/api/auth/jwks`), or another issuer trusted through its
//! JWKS URL.

use std::path::{Path, PathBuf};

use auth_core::{AuthError, JwtAlgorithm, JwtCodec, JwtKey};

use crate::config::{ConfigError, SecretSource};

/// How the server gets and checks access tokens.
#[derive(Debug, Clone)]
pub enum TokenConfig {
    /// `JWT_ALGORITHM=HS256` (the default): one shared secret.
    Hs256(SecretSource),
    /// `JWT_ALGORITHM=EdDSA|ES256|RS256`: private keys in PEM.
    Keys {
        /// The algorithm of every key.
        algorithm: JwtAlgorithm,
        /// Where the keys are.
        source: KeySource,
    },
    /// `TRUSTED_JWKS_URL`: tokens come from another issuer; this server
    /// issues none.
    Trusted {
        /// The issuer's JWKS URL.
        jwks_url: String,
    },
}

/// Where asymmetric signing keys are kept.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `JWT_SIGNING_KEYS_DIR`: every `*.pem` file is a key (its `kid` is
    /// the file name without `.pem`); the newest file signs, all verify.
    Dir(PathBuf),
    /// A key generated on first start next to the SQLite database.
    Generated(PathBuf),
}

impl TokenConfig {
    /// Reads `TRUSTED_JWKS_URL`, `JWT_ALGORITHM`, `JWT_SIGNING_KEYS_DIR`
    /// and `JWT_SECRET` through `get`.
    pub(crate) fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        database_url: &str,
    ) -> Result<Self, ConfigError> {
        if let Some(jwks_url) = get("TRUSTED_JWKS_URL") {
            for variable in ["JWT_ISSUER", "JWT_AUDIENCE"] {
                if get(variable).is_none() {
                    return Err(ConfigError {
                        variable,
                        problem: "required with TRUSTED_JWKS_URL: the issuer's iss and aud".into(),
                    });
                }
            }
            return Ok(Self::Trusted { jwks_url });
        }
        let algorithm = match get("JWT_ALGORITHM") {
            None => JwtAlgorithm::Hs256,
            Some(name) => match name.trim().parse() {
                Ok(
                    algorithm @ (JwtAlgorithm::Hs256
                    | JwtAlgorithm::EdDsa
                    | JwtAlgorithm::Es256
                    | JwtAlgorithm::Rs256),
                ) => algorithm,
                _ => {
                    return Err(ConfigError {
                        variable: "JWT_ALGORITHM",
                        problem: "expected HS256, EdDSA, ES256 or RS256".into(),
                    });
                }
            },
        };
        if algorithm == JwtAlgorithm::Hs256 {
            let secret = match get("JWT_SECRET") {
                Some(secret) => SecretSource::Given(secret),
                None => SecretSource::File(file_next_to(database_url, "jwt-secret", "JWT_SECRET")?),
            };
            return Ok(Self::Hs256(secret));
        }
        let source = match get("JWT_SIGNING_KEYS_DIR") {
            Some(dir) => KeySource::Dir(PathBuf::from(dir)),
            None => KeySource::Generated(file_next_to(
                database_url,
                &format!("jwt-{}.pem", algorithm.as_str().to_ascii_lowercase()),
                "JWT_SIGNING_KEYS_DIR",
            )?),
        };
        Ok(Self::Keys { algorithm, source })
    }
}

/// `<database file>.<suffix>` for a SQLite URL. A PostgreSQL server is
/// usually one of several instances, which must share their keys: there,
/// `variable` is required rather than a file on one machine.
fn file_next_to(
    database_url: &str,
    suffix: &str,
    variable: &'static str,
) -> Result<PathBuf, ConfigError> {
    match crate::config::sqlite_file(database_url) {
        Some(path) => Ok(PathBuf::from(format!("{path}.{suffix}"))),
        None => Err(ConfigError {
            variable,
            problem:
                "required unless DATABASE_URL is a SQLite file (a generated one is kept next to it)"
                    .into(),
        }),
    }
}

/// Why the signing keys could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key file or folder could not be read or written.
    #[error("{path}")]
    File {
        /// The file or folder.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A key file holds no usable key.
    #[error("{path}")]
    Key {
        /// The file.
        path: String,
        /// What the key parser said.
        source: AuthError,
    },
}

/// The codec for [`TokenConfig::Keys`]: loads the folder's keys (the newest
/// file signs) or the generated key, creating it on first start.
///
/// # Errors
/// A [`KeyError`] naming the file that failed.
pub fn codec_for_keys(
    algorithm: JwtAlgorithm,
    source: &KeySource,
    issuer: &str,
    audience: &str,
) -> Result<JwtCodec, KeyError> {
    let (KeySource::Dir(path) | KeySource::Generated(path)) = source;
    // Before any key is read or generated: RS256 refused on a rust-crypto
    // build (RUSTSEC-2023-0071) says so, with what to use instead.
    algorithm.check_signing().map_err(|source| KeyError::Key {
        path: path.display().to_string(),
        source,
    })?;
    let keys = match source {
        KeySource::Dir(dir) => keys_in(dir, algorithm)?,
        KeySource::Generated(path) => vec![generated_key(path, algorithm)?],
    };
    let signing = keys.last().map(|key| key.kid().to_owned());
    let mut builder = JwtCodec::builder().issuer(issuer).audience(audience);
    for key in keys {
        builder = builder.key(key);
    }
    if let Some(kid) = signing {
        builder = builder.signing_key(kid);
    }
    builder.build().map_err(|source| KeyError::Key {
        path: path.display().to_string(),
        source,
    })
}

/// Every `*.pem` file of `dir`, oldest first (by modification time, then
/// name), so that the last one signs.
fn keys_in(dir: &Path, algorithm: JwtAlgorithm) -> Result<Vec<JwtKey>, KeyError> {
    let file_error = |path: &Path, source| KeyError::File {
        path: path.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| file_error(dir, e))? {
        let entry = entry.map_err(|e| file_error(dir, e))?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "pem") {
            let modified = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .map_err(|e| file_error(&path, e))?;
            files.push((modified, path));
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(file_error(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no .pem key in this folder"),
        ));
    }
    files
        .into_iter()
        .map(|(_, path)| {
            let kid = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let pem =
                zeroize::Zeroizing::new(std::fs::read(&path).map_err(|e| file_error(&path, e))?);
            JwtKey::from_private_pem(kid, algorithm, &pem).map_err(|source| KeyError::Key {
                path: path.display().to_string(),
                source,
            })
        })
        .collect()
}

/// The key kept at `path`, generated (owner-only) on first start. Its
/// `kid` is its public key's RFC 7638 thumbprint, so it is stable.
fn generated_key(path: &Path, algorithm: JwtAlgorithm) -> Result<JwtKey, KeyError> {
    let key_error = |source| KeyError::Key {
        path: path.display().to_string(),
        source,
    };
    let pem = crate::secret::load_or_create_with(path, || {
        JwtKey::generate_private_pem(algorithm)
            .map(|pem| pem.to_string())
            .map_err(std::io::Error::other)
    })
    .map_err(|source| KeyError::File {
        path: path.display().to_string(),
        source,
    })?;
    let pem = zeroize::Zeroizing::new(pem);
    let key = JwtKey::from_private_pem("unnamed", algorithm, pem.as_bytes()).map_err(key_error)?;
    let kid = key
        .public_jwk()
        .and_then(|jwk| jwk.thumbprint())
        .ok_or_else(|| key_error(AuthError::InvalidConfig("the key has no public JWK".into())))?;
    key.with_kid(kid).map_err(key_error)
}
