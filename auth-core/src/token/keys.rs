//! Signing and verification keys, each with a `kid`.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::AuthError;

/// The shortest HS256 secret accepted: 256 bits, the hash's output size
/// (RFC 7518 §3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// The signature algorithms this crate issues and accepts. Each key has
/// exactly one, and a token is only checked with the algorithm of its key:
/// the `alg` header can never pick a weaker one (nor `none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret (the default).
    Hs256,
    /// Ed25519 signatures (what Better Auth issues by default).
    EdDsa,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (signing needs the `aws-lc-rs`
    /// backend: see [`check_signing`](Self::check_signing)).
    Rs256,
    /// RSASSA-PSS with SHA-256 (verification of other issuers' tokens).
    Ps256,
    /// ECDSA on P-521 with SHA-512 (verification of other issuers' tokens;
    /// jsonwebtoken has no ES512, so RustCrypto's `p521` checks these).
    Es512,
}

impl JwtAlgorithm {
    /// jsonwebtoken's name for it; `None` for ES512, which it lacks.
    pub(crate) fn to_jsonwebtoken(self) -> Option<Algorithm> {
        Some(match self {
            Self::Hs256 => Algorithm::HS256,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
            Self::Ps256 => Algorithm::PS256,
            Self::Es512 => return None,
        })
    }

    /// The JOSE name (`alg` header and JWK member), e.g. `"ES256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es512 => "ES512",
        }
    }

    /// Whether this build signs with the algorithm; if not, the error a
    /// signing [`JwtKey`] of it is refused with. For checking a
    /// configuration before any key is loaded or generated.
    ///
    /// HS256, EdDSA and ES256 always sign. RS256 signs only on jsonwebtoken's
    /// aws-lc-rs backend (the `aws-lc-rs` feature): the RustCrypto `rsa`
    /// crate behind `rust-crypto` is open to the Marvin timing attack
    /// (RUSTSEC-2023-0071, no fix released), which can recover the private
    /// key from the timing of many signatures. Verifying RS256 tokens needs
    /// the public key only, and works on both. PS256 and ES512 only verify.
    ///
    /// ```
    /// use auth_core::JwtAlgorithm;
    ///
    /// assert!(JwtAlgorithm::Es256.check_signing().is_ok());
    /// assert!(JwtAlgorithm::Es512.check_signing().is_err());
    /// ```
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`], naming the reason and the alternatives.
    pub fn check_signing(self) -> Result<(), AuthError> {
        match self {
            Self::Hs256 | Self::EdDsa | Self::Es256 => Ok(()),
            Self::Rs256 if super::rsa_signs_in_constant_time() => Ok(()),
            Self::Rs256 => Err(AuthError::InvalidConfig(
                "RS256 signing needs the aws-lc-rs JWT backend (auth-core's `aws-lc-rs` \
                 feature): the rust-crypto backend's RSA is open to the Marvin timing attack \
                 (RUSTSEC-2023-0071), which can recover the private key. Sign with EdDSA or \
                 ES256, or enable `aws-lc-rs`; RS256 tokens of other issuers still verify"
                    .into(),
            )),
            Self::Ps256 | Self::Es512 => Err(AuthError::InvalidConfig(format!(
                "{self} keys cannot sign here: use EdDSA or ES256 (or RS256 with aws-lc-rs)"
            ))),
        }
    }

    /// Every algorithm, in the order of the enum.
    pub const ALL: [Self; 6] = [
        Self::Hs256,
        Self::EdDsa,
        Self::Es256,
        Self::Rs256,
        Self::Ps256,
        Self::Es512,
    ];
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JwtAlgorithm {
    type Err = AuthError;

    /// Parses a JOSE name exactly as [`as_str`](Self::as_str) writes it.
    fn from_str(name: &str) -> Result<Self, AuthError> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or_else(|| AuthError::InvalidConfig(format!("unknown JWT algorithm {name:?}")))
    }
}

/// One key of a [`JwtCodec`](crate::JwtCodec)'s key set: a `kid`, an
/// algorithm, a verification key, and optionally the signing half.
///
/// Secrets are not shown by `Debug`.
///
/// ```
/// use auth_core::{JwtAlgorithm, JwtKey};
///
/// let key = JwtKey::hs256("2026-11", b"0123456789abcdef0123456789abcdef").unwrap();
/// assert_eq!(key.algorithm(), JwtAlgorithm::Hs256);
/// assert!(key.can_sign());
/// assert!(JwtKey::hs256("short", b"too short").is_err());
/// assert!(!format!("{key:?}").contains("0123"));
/// ```
pub struct JwtKey {
    pub(crate) kid: String,
    pub(crate) algorithm: JwtAlgorithm,
    pub(crate) encoding: Option<EncodingKey>,
    pub(crate) decoding: DecodingKey,
    /// The public members of its JWK, for keys made from a private PEM.
    pub(crate) public: Option<super::Jwk>,
}

impl JwtKey {
    /// An HS256 key from a shared secret of at least
    /// [`MIN_HS256_SECRET_BYTES`] bytes.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] if `kid` is empty or the secret is short.
    pub fn hs256(kid: impl Into<String>, secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < MIN_HS256_SECRET_BYTES {
            return Err(AuthError::InvalidConfig(format!(
                "the HS256 secret has {} bytes; at least {MIN_HS256_SECRET_BYTES} are needed",
                secret.len()
            )));
        }
        // jsonwebtoken only refuses empty secrets, which the length check
        // above already has.
        let invalid =
            |e: jsonwebtoken::errors::Error| AuthError::InvalidConfig(format!("HS256: {e}"));
        Self::checked(
            kid.into(),
            JwtAlgorithm::Hs256,
            Some(EncodingKey::from_secret(secret).map_err(invalid)?),
            DecodingKey::from_secret(secret).map_err(invalid)?,
        )
    }

    /// An Ed25519 signing key from its PKCS#8 private key and SPKI public key
    /// in PEM (as `openssl genpkey -algorithm ed25519` and
    /// `openssl pkey -pubout` write them). The pair is checked to match.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] if either PEM is not an Ed25519 key or
    /// the two do not belong together.
    pub fn ed25519_pem(
        kid: impl Into<String>,
        private_pem: &[u8],
        public_pem: &[u8],
    ) -> Result<Self, AuthError> {
        let encoding = EncodingKey::from_ed_pem(private_pem)
            .map_err(|e| AuthError::InvalidConfig(format!("Ed25519 private key: {e}")))?;
        let decoding = DecodingKey::from_ed_pem(public_pem)
            .map_err(|e| AuthError::InvalidConfig(format!("Ed25519 public key: {e}")))?;
        let mut key = Self::checked(kid.into(), JwtAlgorithm::EdDsa, Some(encoding), decoding)?;
        // The self-test proved the pair matches, so the private half's
        // public members describe the public PEM too.
        key.public = std::str::from_utf8(private_pem)
            .ok()
            .and_then(|pem| super::pem_keys::public_members(JwtAlgorithm::EdDsa, pem).ok());
        Ok(key)
    }

    /// An Ed25519 verification-only key from an SPKI public key in PEM: for
    /// tokens signed elsewhere, or an old key kept during rotation.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] if the PEM is not an Ed25519 public key.
    pub fn ed25519_public_pem(
        kid: impl Into<String>,
        public_pem: &[u8],
    ) -> Result<Self, AuthError> {
        let decoding = DecodingKey::from_ed_pem(public_pem)
            .map_err(|e| AuthError::InvalidConfig(format!("Ed25519 public key: {e}")))?;
        Self::checked(kid.into(), JwtAlgorithm::EdDsa, None, decoding)
    }

    pub(super) fn checked(
        kid: String,
        algorithm: JwtAlgorithm,
        encoding: Option<EncodingKey>,
        decoding: DecodingKey,
    ) -> Result<Self, AuthError> {
        if kid.is_empty() {
            return Err(AuthError::InvalidConfig(
                "a JWT key needs a non-empty kid".into(),
            ));
        }
        super::install_crypto_provider();
        // The one place a signing key is made: refusing here covers every
        // constructor, before the self-test would sign.
        if encoding.is_some() {
            algorithm.check_signing()?;
        }
        let key = Self {
            kid,
            algorithm,
            encoding,
            decoding,
            public: None,
        };
        key.self_test()?;
        Ok(key)
    }

    /// Signs and verifies a probe message, so that a mismatched key pair or
    /// a key the backend cannot use fails at start-up, not on a request.
    fn self_test(&self) -> Result<(), AuthError> {
        let Some(encoding) = &self.encoding else {
            return Ok(());
        };
        let Some(alg) = self.algorithm.to_jsonwebtoken() else {
            return Err(AuthError::InvalidConfig(format!(
                "{} keys cannot sign here",
                self.algorithm
            )));
        };
        let probe = b"auth-core key self-test";
        let works = jsonwebtoken::crypto::sign(probe, encoding, alg)
            .and_then(|signature| {
                jsonwebtoken::crypto::verify(&signature, probe, &self.decoding, alg)
            })
            .unwrap_or(false);
        if works {
            Ok(())
        } else {
            Err(AuthError::InvalidConfig(format!(
                "JWT key {:?}: the signing key does not match the verification key",
                self.kid
            )))
        }
    }

    /// The key id, sent as the `kid` header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Whether this key can sign (it has its private half).
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}
