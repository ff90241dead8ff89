//! Asymmetric signing keys from PEM: their public halves (for verifying
//! and for the JWKS) and generation of new ones.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey};
use zeroize::Zeroizing;

use super::{Jwk, JwtAlgorithm, JwtKey};
use crate::AuthError;

/// The smallest RSA modulus accepted (NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;

/// The public members of a key's JWK, before `kid`/`alg`/`use` are added.
pub(super) fn public_members(algorithm: JwtAlgorithm, pem: &str) -> Result<Jwk, AuthError> {
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        AuthError::InvalidConfig(format!("{algorithm} private key: {what}: {e}"))
    };
    match algorithm {
        JwtAlgorithm::EdDsa => {
            use ed25519_dalek::pkcs8::DecodePrivateKey;
            let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                .map_err(|e| invalid("not a PKCS#8 Ed25519 key", &e))?;
            Ok(Jwk {
                kty: "OKP".into(),
                crv: Some("Ed25519".into()),
                x: Some(URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())),
                ..Jwk::default()
            })
        }
        JwtAlgorithm::Es256 => {
            use p256::{elliptic_curve::sec1::ToSec1Point, pkcs8::DecodePrivateKey};
            let key = p256::SecretKey::from_pkcs8_pem(pem)
                .or_else(|_| p256::SecretKey::from_sec1_pem(pem))
                .map_err(|e| invalid("not a PKCS#8 or SEC1 P-256 key", &e))?;
            let point = key.public_key().to_sec1_point(false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(invalid("no public point", &"identity"));
            };
            Ok(Jwk {
                kty: "EC".into(),
                crv: Some("P-256".into()),
                x: Some(URL_SAFE_NO_PAD.encode(x)),
                y: Some(URL_SAFE_NO_PAD.encode(y)),
                ..Jwk::default()
            })
        }
        JwtAlgorithm::Rs256 => {
            use rsa::{
                pkcs1::DecodeRsaPrivateKey, pkcs8::DecodePrivateKey, traits::PublicKeyParts,
            };
            let key = rsa::PrivateKey::from_pkcs8_pem(pem)
                .or_else(|_| rsa::PrivateKey::from_pkcs1_pem(pem))
                .map_err(|e| invalid("not a PKCS#8 or PKCS#1 RSA key", &e))?;
            let bits = key.size() * 8;
            if bits < MIN_RSA_BITS {
                return Err(AuthError::InvalidConfig(format!(
                    "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are needed"
                )));
            }
            // RFC 7518 §6.3.1: unsigned big-endian, no leading zero bytes.
            let minimal = |bytes: Box<[u8]>| {
                let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
                URL_SAFE_NO_PAD.encode(&bytes[start..])
            };
            Ok(Jwk {
                kty: "RSA".into(),
                n: Some(minimal(key.n_bytes())),
                e: Some(minimal(key.e_bytes())),
                ..Jwk::default()
            })
        }
        other => Err(AuthError::InvalidConfig(format!(
            "{other} keys cannot sign here: use EdDSA, ES256 or RS256"
        ))),
    }
}

impl JwtKey {
    /// A signing key from its private key in PEM: PKCS#8 for EdDSA, PKCS#8
    /// or SEC1 for ES256, PKCS#8 or PKCS#1 for RS256 (at least 2048 bits),
    /// as `openssl genpkey` writes them. The public half is derived from it.
    ///
    /// ```
    /// use auth_core::{JwtAlgorithm, JwtKey};
    ///
    /// let pem = JwtKey::generate_private_pem(JwtAlgorithm::Es256)?;
    /// let key = JwtKey::from_private_pem("2026-12", JwtAlgorithm::Es256, pem.as_bytes())?;
    /// assert_eq!(key.public_jwk().unwrap().crv.as_deref(), Some("P-256"));
    /// assert!(JwtKey::from_private_pem("x", JwtAlgorithm::EdDsa, pem.as_bytes()).is_err());
    /// # Ok::<(), auth_core::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] if the PEM is not a key of `algorithm`,
    /// the RSA key is short, `algorithm` is not EdDSA, ES256 or RS256, or
    /// is RS256 without the `aws-lc-rs` backend
    /// ([`JwtAlgorithm::check_signing`]).
    pub fn from_private_pem(
        kid: impl Into<String>,
        algorithm: JwtAlgorithm,
        pem: &[u8],
    ) -> Result<Self, AuthError> {
        let text = std::str::from_utf8(pem)
            .map_err(|_| AuthError::InvalidConfig(format!("{algorithm} private key: not PEM")))?;
        let jwk = public_members(algorithm, text)?;
        let invalid =
            |e: jsonwebtoken::errors::Error| AuthError::InvalidConfig(format!("{algorithm}: {e}"));
        let (encoding, decoding) = match algorithm {
            JwtAlgorithm::EdDsa => (
                EncodingKey::from_ed_pem(pem).map_err(invalid)?,
                DecodingKey::from_ed_components(jwk.x.as_deref().unwrap_or_default())
                    .map_err(invalid)?,
            ),
            JwtAlgorithm::Es256 => (
                // jsonwebtoken reads PKCS#8 only: re-encode a SEC1 key.
                EncodingKey::from_ec_pem(pkcs8_p256(text)?.as_bytes()).map_err(invalid)?,
                DecodingKey::from_ec_components(
                    jwk.x.as_deref().unwrap_or_default(),
                    jwk.y.as_deref().unwrap_or_default(),
                )
                .map_err(invalid)?,
            ),
            _ => (
                EncodingKey::from_rsa_pem(pem).map_err(invalid)?,
                DecodingKey::from_rsa_components(
                    jwk.n.as_deref().unwrap_or_default(),
                    jwk.e.as_deref().unwrap_or_default(),
                )
                .map_err(invalid)?,
            ),
        };
        let mut key = Self::checked(kid.into(), algorithm, Some(encoding), decoding)?;
        key.public = Some(jwk);
        Ok(key)
    }

    /// A new private key for `algorithm` (EdDSA, ES256, or RS256 with 2048
    /// bits), as PKCS#8 PEM, from the operating system's random source.
    /// RSA generation takes a noticeable fraction of a second.
    ///
    /// RS256 keys are generated with either backend, by the `rsa` crate:
    /// generation runs once, on no input an attacker chooses or times, so
    /// it is outside the Marvin attack (RUSTSEC-2023-0071); signing with
    /// the key is what needs `aws-lc-rs`.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] for another algorithm;
    /// [`AuthError::Internal`] if the random source fails.
    pub fn generate_private_pem(algorithm: JwtAlgorithm) -> Result<Zeroizing<String>, AuthError> {
        let line_ending = p256::pkcs8::LineEnding::LF;
        let encoded = match algorithm {
            JwtAlgorithm::EdDsa => {
                use ed25519_dalek::pkcs8::EncodePrivateKey;
                let mut seed = Zeroizing::new([0u8; 32]);
                getrandom::fill(seed.as_mut()).map_err(AuthError::internal)?;
                ed25519_dalek::SigningKey::from_bytes(&seed).to_pkcs8_pem(line_ending)
            }
            JwtAlgorithm::Es256 => {
                use p256::pkcs8::EncodePrivateKey;
                let key = loop {
                    let mut bytes = Zeroizing::new([0u8; 32]);
                    getrandom::fill(bytes.as_mut()).map_err(AuthError::internal)?;
                    // Out of range (probability ~2^-32): draw again.
                    if let Ok(key) = p256::SecretKey::from_slice(bytes.as_ref()) {
                        break key;
                    }
                };
                key.to_pkcs8_pem(line_ending)
            }
            JwtAlgorithm::Rs256 => {
                use rsa::pkcs8::EncodePrivateKey;
                rsa::PrivateKey::new(&mut getrandom::SysRng, MIN_RSA_BITS)
                    .map_err(AuthError::internal)?
                    .to_pkcs8_pem(line_ending)
            }
            other => {
                return Err(AuthError::InvalidConfig(format!(
                    "{other} keys cannot be generated here: use EdDSA, ES256 or RS256"
                )));
            }
        };
        encoded.map_err(AuthError::internal)
    }

    /// The same key under another `kid`, e.g. its public key's
    /// [thumbprint](Jwk::thumbprint), known only once the key is loaded.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] if `kid` is empty.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, AuthError> {
        let kid = kid.into();
        if kid.is_empty() {
            return Err(AuthError::InvalidConfig(
                "a JWT key needs a non-empty kid".into(),
            ));
        }
        self.kid = kid;
        Ok(self)
    }

    /// The public key as a JWK (`kid`, `alg`, `use: "sig"`), for a JWKS;
    /// `None` for HS256 keys and keys built from a public key alone.
    pub fn public_jwk(&self) -> Option<Jwk> {
        let mut jwk = self.public.clone()?;
        jwk.kid = Some(self.kid.clone());
        jwk.alg = Some(self.algorithm.as_str().to_owned());
        jwk.key_use = Some("sig".to_owned());
        Some(jwk)
    }
}

/// A P-256 private key in PKCS#8 PEM, whether given as PKCS#8 or SEC1.
fn pkcs8_p256(pem: &str) -> Result<Zeroizing<String>, AuthError> {
    use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    let key = p256::SecretKey::from_pkcs8_pem(pem)
        .or_else(|_| p256::SecretKey::from_sec1_pem(pem))
        .map_err(|e| AuthError::InvalidConfig(format!("ES256 private key: {e}")))?;
    key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
        .map_err(AuthError::internal)
}
