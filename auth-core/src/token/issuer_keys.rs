//! Another issuer's public keys, read from its JWKS, and the checks of its
//! tokens against them (no network here; see `RemoteJwks` for fetching).

use std::{fmt, time::Duration};

use async_trait::async_trait;
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use p521::ecdsa::signature::Verifier as _;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{AccessClaims, Jwk, Jwks, JwtAlgorithm, MAX_LEEWAY, MAX_TOKEN_BYTES, TrustedIssuer};
use crate::AuthError;

/// Header members that point at keys elsewhere or demand extensions; a
/// token carrying one is refused (they are never followed).
const REFUSED_HEADER_MEMBERS: [&str; 5] = ["jku", "x5u", "jwk", "crit", "x5c"];

/// The default clock leeway on `exp`, `nbf` and `iat`.
const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The public keys of a trusted issuer, each pinned to its algorithm, with
/// the issuer and audience its tokens must name.
///
/// A key's algorithm is its JWK `alg` when present (it must agree with the
/// key type and curve, else the key is skipped), otherwise the key type's:
/// OKP Ed25519 → EdDSA, EC P-256 → ES256, EC P-521 → ES512, RSA → RS256 or
/// PS256. A token's `alg` header must be its key's; `none`, HMAC and
/// anything else are refused, as are tokens with a `jku`, `x5u`, `jwk`,
/// `x5c` or `crit` header. Keys whose `use` is not `sig` are skipped.
///
/// A token must carry a `kid` naming a key, except when the set holds
/// exactly one key that has no `kid` itself: then a token without `kid` is
/// checked against that key.
///
/// Required claims: `sub`, `exp`, `iat`, `iss` (the issuer), `aud` (the
/// audience). `typ`, `sid`, `jti` and `nbf` are optional (Better Auth sends
/// none of them).
///
/// ```
/// use auth_core::token::{IssuerKeys, Jwks};
///
/// let jwks: Jwks = serde_json::from_str(r#"{"keys":[{"kty":"OKP","crv":"Ed25519",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","alg":"EdDSA"}]}"#).unwrap();
/// let keys = IssuerKeys::new(&jwks, "https://auth.example.com", "https://auth.example.com").unwrap();
/// assert_eq!(keys.len(), 1);
/// assert!(IssuerKeys::new(&auth_core::token::Jwks::default(), "i", "a").is_err());
/// ```
#[derive(Clone)]
pub struct IssuerKeys {
    keys: Vec<PinnedKey>,
    issuer: String,
    audience: String,
    leeway_secs: i64,
}

#[derive(Clone)]
struct PinnedKey {
    kid: Option<String>,
    /// One algorithm, or RS256 and PS256 for an RSA key without `alg`.
    algs: Vec<JwtAlgorithm>,
    verifier: KeyVerifier,
}

#[derive(Clone)]
enum KeyVerifier {
    Jwt(DecodingKey),
    Es512(p521::ecdsa::VerifyingKey),
}

impl IssuerKeys {
    /// Reads the usable keys of `jwks`; unusable ones are skipped with a
    /// warning (their `kid` only is logged).
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] when no key is usable, or the issuer or
    /// audience is empty.
    pub fn new(
        jwks: &Jwks,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, AuthError> {
        let (issuer, audience) = (issuer.into(), audience.into());
        if issuer.is_empty() || audience.is_empty() {
            return Err(AuthError::InvalidConfig(
                "a trusted issuer needs a non-empty issuer and audience".into(),
            ));
        }
        super::install_crypto_provider();
        let keys: Vec<PinnedKey> = jwks
            .keys
            .iter()
            .filter_map(|jwk| match pin(jwk) {
                Ok(key) => Some(key),
                Err(why) => {
                    tracing::warn!(kid = ?jwk.kid, kty = %jwk.kty, "skipping a JWK: {why}");
                    None
                }
            })
            .collect();
        if keys.is_empty() {
            return Err(AuthError::InvalidConfig(
                "the issuer's JWKS has no usable signature key".into(),
            ));
        }
        Ok(Self {
            keys,
            issuer,
            audience,
            leeway_secs: i64::try_from(DEFAULT_LEEWAY.as_secs()).unwrap_or(30),
        })
    }

    /// Clock leeway on `exp`, `nbf` and `iat`: default 30 s.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] when over [`MAX_LEEWAY`] (60 s).
    pub fn with_leeway(mut self, leeway: Duration) -> Result<Self, AuthError> {
        if leeway > MAX_LEEWAY {
            return Err(AuthError::InvalidConfig(format!(
                "the JWT leeway is {leeway:?}; at most 60 s is allowed"
            )));
        }
        self.leeway_secs = i64::try_from(leeway.as_secs()).unwrap_or(60);
        Ok(self)
    }

    /// How many usable keys the set holds (never 0).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a set without usable keys is not built.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key has this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid.as_deref() == Some(kid))
    }

    /// Checks a token's header, signature, issuer, audience and times.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`] once `exp` plus leeway has passed;
    /// [`AuthError::InvalidToken`] for anything else wrong.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, AuthError> {
        let payload = self.verified_payload(token)?;
        self.check_claims(&payload, now)
    }

    /// The decoded payload of a token whose header and signature check
    /// out, its claims not yet looked at (an OpenID Connect ID token's
    /// are not an access token's).
    pub(crate) fn verified_payload(&self, token: &str) -> Result<Vec<u8>, AuthError> {
        let parts = split(token)?;
        let key = self.key_for(&parts.header)?;
        let alg = key
            .algs
            .iter()
            .copied()
            .find(|alg| alg.as_str() == parts.header.alg)
            .ok_or(AuthError::InvalidToken)?;
        let message = &token.as_bytes()[..parts.signed_len];
        let valid = match (&key.verifier, alg.to_jsonwebtoken()) {
            (KeyVerifier::Jwt(decoding), Some(jwt_alg)) => {
                jsonwebtoken::crypto::verify(parts.signature, message, decoding, jwt_alg)
                    .unwrap_or(false)
            }
            (KeyVerifier::Es512(verifying), None) => {
                let bytes = URL_SAFE_NO_PAD
                    .decode(parts.signature)
                    .map_err(|_| AuthError::InvalidToken)?;
                p521::ecdsa::Signature::from_slice(&bytes)
                    .is_ok_and(|signature| verifying.verify(message, &signature).is_ok())
            }
            _ => false,
        };
        if !valid {
            return Err(AuthError::InvalidToken);
        }
        URL_SAFE_NO_PAD
            .decode(parts.payload)
            .map_err(|_| AuthError::InvalidToken)
    }

    /// Which key a header names: by `kid`, or the only key when neither
    /// the token nor that key has one.
    fn key_for(&self, header: &Header) -> Result<&PinnedKey, AuthError> {
        match &header.kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|key| key.kid.as_deref() == Some(kid.as_str())),
            None => match self.keys.as_slice() {
                [only] if only.kid.is_none() => Some(only),
                _ => None,
            },
        }
        .ok_or(AuthError::InvalidToken)
    }

    /// The claim checks, one path for every algorithm.
    fn check_claims(&self, json: &[u8], now: OffsetDateTime) -> Result<AccessClaims, AuthError> {
        let claims: AccessClaims =
            serde_json::from_slice(json).map_err(|_| AuthError::InvalidToken)?;
        if claims.iss != self.issuer
            || claims.aud != self.audience
            || claims.sub.as_str().is_empty()
        {
            return Err(AuthError::InvalidToken);
        }
        claims.check_times(now, self.leeway_secs)?;
        Ok(claims)
    }
}

/// The parts of a compact JWS, the header parsed.
struct Parts<'a> {
    header: Header,
    payload: &'a str,
    signature: &'a str,
    /// Length of `header.payload`, the signed bytes.
    signed_len: usize,
}

struct Header {
    alg: String,
    kid: Option<String>,
}

/// Splits a token and reads its header, refusing oversized tokens and
/// headers that point at keys elsewhere.
fn split(token: &str) -> Result<Parts<'_>, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::InvalidToken);
    }
    let mut pieces = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(AuthError::InvalidToken);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::InvalidToken)?;
    let members: Map<String, Value> =
        serde_json::from_slice(&json).map_err(|_| AuthError::InvalidToken)?;
    if REFUSED_HEADER_MEMBERS
        .iter()
        .any(|name| members.contains_key(*name))
    {
        return Err(AuthError::InvalidToken);
    }
    let Some(Value::String(alg)) = members.get("alg") else {
        return Err(AuthError::InvalidToken);
    };
    let kid = match members.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(AuthError::InvalidToken),
    };
    Ok(Parts {
        header: Header {
            alg: alg.clone(),
            kid,
        },
        payload,
        signature,
        signed_len: header.len() + 1 + payload.len(),
    })
}

fn member<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, String> {
    value
        .as_deref()
        .ok_or_else(|| format!("the member `{name}` is missing"))
}

/// A base64url member that must decode to exactly `len` bytes.
fn coordinate(value: &Option<String>, name: &str, len: usize) -> Result<Vec<u8>, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(member(value, name)?)
        .map_err(|_| format!("malformed {name}"))?;
    if bytes.len() != len {
        return Err(format!("{name} is not {len} bytes"));
    }
    Ok(bytes)
}

/// `x` and `y` of an EC key as an uncompressed SEC1 point.
fn uncompressed_point(jwk: &Jwk, len: usize) -> Result<Vec<u8>, String> {
    let mut sec1 = Vec::with_capacity(1 + 2 * len);
    sec1.push(0x04);
    sec1.extend_from_slice(&coordinate(&jwk.x, "x", len)?);
    sec1.extend_from_slice(&coordinate(&jwk.y, "y", len)?);
    Ok(sec1)
}

/// Pins a JWK to its algorithm(s) and builds its verifier.
fn pin(jwk: &Jwk) -> Result<PinnedKey, String> {
    if jwk
        .key_use
        .as_deref()
        .is_some_and(|key_use| key_use != "sig")
    {
        return Err("its `use` is not `sig`".into());
    }
    let by_type: Vec<JwtAlgorithm> = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("OKP", Some("Ed25519")) => vec![JwtAlgorithm::EdDsa],
        ("EC", Some("P-256")) => vec![JwtAlgorithm::Es256],
        ("EC", Some("P-521")) => vec![JwtAlgorithm::Es512],
        ("RSA", _) => vec![JwtAlgorithm::Rs256, JwtAlgorithm::Ps256],
        _ => return Err("unsupported key type or curve".into()),
    };
    let algs = match jwk.alg.as_deref() {
        None => by_type,
        Some(name) => {
            let alg: JwtAlgorithm = name.parse().map_err(|_| "unknown `alg`".to_owned())?;
            if !by_type.contains(&alg) {
                return Err(format!("`alg` {alg} does not fit the key type"));
            }
            vec![alg]
        }
    };
    let bad = |_| "malformed key".to_owned();
    let verifier = match jwk.kty.as_str() {
        // The points are checked here, not left to the signature check:
        // jsonwebtoken's RustCrypto backend panics on an Ed25519 key that
        // is not 32 bytes (found by the `jwks` fuzz target).
        "OKP" => {
            let x: [u8; 32] = coordinate(&jwk.x, "x", 32)?
                .try_into()
                .map_err(|_| "x is not 32 bytes".to_owned())?;
            ed25519_dalek::VerifyingKey::from_bytes(&x)
                .map_err(|_| "not an Ed25519 point".to_owned())?;
            KeyVerifier::Jwt(DecodingKey::from_ed_components(member(&jwk.x, "x")?).map_err(bad)?)
        }
        "EC" if algs == [JwtAlgorithm::Es512] => KeyVerifier::Es512(
            p521::ecdsa::VerifyingKey::from_sec1_bytes(&uncompressed_point(jwk, 66)?)
                .map_err(|_| "not a P-521 point".to_owned())?,
        ),
        "EC" => {
            p256::PublicKey::from_sec1_bytes(&uncompressed_point(jwk, 32)?)
                .map_err(|_| "not a P-256 point".to_owned())?;
            KeyVerifier::Jwt(
                DecodingKey::from_ec_components(member(&jwk.x, "x")?, member(&jwk.y, "y")?)
                    .map_err(bad)?,
            )
        }
        _ => KeyVerifier::Jwt(
            DecodingKey::from_rsa_components(member(&jwk.n, "n")?, member(&jwk.e, "e")?)
                .map_err(bad)?,
        ),
    };
    // Refuse RSA moduli under 2048 bits.
    if jwk.kty == "RSA" {
        let n = URL_SAFE_NO_PAD
            .decode(member(&jwk.n, "n")?)
            .map_err(|_| "malformed n".to_owned())?;
        let significant = n.iter().skip_while(|byte| **byte == 0).count();
        if significant < 256 {
            return Err("the RSA modulus is under 2048 bits".into());
        }
    }
    Ok(PinnedKey {
        kid: jwk.kid.clone(),
        algs,
        verifier,
    })
}

#[async_trait]
impl TrustedIssuer for IssuerKeys {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn audience(&self) -> &str {
        &self.audience
    }

    async fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, AuthError> {
        IssuerKeys::verify(self, token, now)
    }
}

impl fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<(Option<&str>, &[JwtAlgorithm])> = self
            .keys
            .iter()
            .map(|key| (key.kid.as_deref(), key.algs.as_slice()))
            .collect();
        f.debug_struct("IssuerKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .field("keys", &kids)
            .finish()
    }
}
