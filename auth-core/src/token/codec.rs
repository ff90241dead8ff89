//! Issuing and verifying access tokens.

use std::{fmt, time::Duration};

use jsonwebtoken::{Header, Validation};
use time::OffsetDateTime;

use super::{AccessClaims, Jwks, JwtKey};
use crate::AuthError;

/// Tokens longer than this are refused before any parsing. Real access
/// tokens are a few hundred bytes; this leaves room for custom claims.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The `typ` header of access tokens (RFC 9068), set on every token issued
/// and required on every token verified, so that no other JWT signed with
/// the same key (an ID token, a reset link) passes as an access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Whether a `typ` header names an access token: `at+jwt`, or the full
/// media type `application/at+jwt`, in any case (RFC 9068 section 4).
fn is_access_token_typ(typ: Option<&str>) -> bool {
    const MEDIA_PREFIX: &str = "application/";
    typ.is_some_and(|typ| {
        let bare = match (typ.get(..MEDIA_PREFIX.len()), typ.get(MEDIA_PREFIX.len()..)) {
            (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case(MEDIA_PREFIX) => rest,
            _ => typ,
        };
        bare.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
    })
}

/// The largest clock leeway accepted on `exp`, `nbf` and `iat`.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// Issues and verifies access tokens.
///
/// Deliberately synchronous: verifying is a few microseconds of CPU on every
/// request, and an `async` signature would only add a boxed future to that
/// hot path. Object safe, so it can be held as `Arc<dyn TokenCodec>`.
pub trait TokenCodec: Send + Sync + 'static {
    /// The `iss` this codec issues and requires.
    fn issuer(&self) -> &str;

    /// The `aud` this codec issues and requires.
    fn audience(&self) -> &str;

    /// Signs `claims` into a token.
    fn issue(&self, claims: &AccessClaims) -> Result<String, AuthError>;

    /// Checks a token's signature, algorithm, issuer, audience and times
    /// against `now`, and returns its claims.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`] once `exp` (plus leeway) has passed;
    /// [`AuthError::InvalidToken`] for anything else wrong.
    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, AuthError>;

    /// The public keys that verify this codec's tokens, for
    /// `GET /api/auth/jwks`; empty (the default) for shared secrets.
    fn jwks(&self) -> Jwks {
        Jwks::default()
    }
}

struct VerifyingKey {
    key: JwtKey,
    validation: Validation,
}

/// The JWT [`TokenCodec`]: a key set with `kid`s, one of which signs.
///
/// Validation pins each key's algorithm (so `alg: none` or an HS256 token
/// made with an Ed25519 public key is refused), requires the header
/// `typ: at+jwt` ([`ACCESS_TOKEN_TYP`]) and the claims `sub`, `sid`, `jti`,
/// `iat`, `exp`, `iss` and `aud`, checks `iss` and `aud`, and checks `exp`,
/// `nbf` and `iat` against the caller's clock with a leeway of at most 60 s
/// (default 30 s).
///
/// ```
/// use auth_core::{JwtCodec, JwtKey, token::TokenCodec};
/// use std::time::Duration;
///
/// // The common case: one shared HS256 secret.
/// let codec = JwtCodec::hs256(b"an example secret of 32+ bytes!!", "https://api.example.com", "todo")?;
/// assert_eq!(codec.issuer(), "https://api.example.com");
///
/// // Key rotation: sign with the new key, still accept the old one.
/// let codec = JwtCodec::builder()
///     .issuer("https://api.example.com")
///     .audience("todo")
///     .key(JwtKey::hs256("2026-10", b"the previous secret, 32+ bytes..")?)
///     .key(JwtKey::hs256("2026-11", b"the current secret, also 32 bytes")?)
///     .signing_key("2026-11")
///     .leeway(Duration::from_secs(10))
///     .build()?;
/// # Ok::<(), auth_core::AuthError>(())
/// ```
pub struct JwtCodec {
    keys: Vec<VerifyingKey>,
    signing: usize,
    header: Header,
    issuer: String,
    audience: String,
    leeway_secs: i64,
}

impl JwtCodec {
    /// A builder for a codec with several keys or a custom leeway.
    pub fn builder() -> JwtCodecBuilder {
        JwtCodecBuilder::default()
    }

    /// A codec with one HS256 key (kid `"default"`).
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] for a secret under 32 bytes or an empty
    /// issuer or audience.
    pub fn hs256(
        secret: &[u8],
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, AuthError> {
        Self::builder()
            .issuer(issuer)
            .audience(audience)
            .key(JwtKey::hs256("default", secret)?)
            .build()
    }

    /// The key a token should be checked with. With one key there is no
    /// choice to make, so the header is not even parsed twice.
    fn key_for(&self, token: &str) -> Result<&VerifyingKey, AuthError> {
        if let [only] = self.keys.as_slice() {
            return Ok(only);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidToken)?;
        let kid = header.kid.ok_or(AuthError::InvalidToken)?;
        self.keys
            .iter()
            .find(|entry| entry.key.kid == kid)
            .ok_or(AuthError::InvalidToken)
    }
}

impl TokenCodec for JwtCodec {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn audience(&self) -> &str {
        &self.audience
    }

    fn issue(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        let key = self
            .keys
            .get(self.signing)
            .and_then(|entry| entry.key.encoding.as_ref())
            .ok_or_else(|| AuthError::internal("the signing key has no private half"))?;
        jsonwebtoken::encode(&self.header, claims, key).map_err(AuthError::internal)
    }

    /// Every key of the set with a public JWK: the signing key and the
    /// older ones still configured to verify.
    fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .keys
                .iter()
                .filter_map(|entry| entry.key.public_jwk())
                .collect(),
        }
    }

    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::InvalidToken);
        }
        let entry = self.key_for(token)?;
        let decoded =
            jsonwebtoken::decode::<AccessClaims>(token, &entry.key.decoding, &entry.validation)
                .map_err(|_| AuthError::InvalidToken)?;
        if !is_access_token_typ(decoded.header.typ.as_deref()) {
            return Err(AuthError::InvalidToken);
        }
        let claims = decoded.claims;
        if claims.sid.is_none() || claims.jti.is_none() {
            return Err(AuthError::InvalidToken);
        }
        claims.check_times(now, self.leeway_secs)?;
        Ok(claims)
    }
}

impl fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&JwtKey> = self.keys.iter().map(|entry| &entry.key).collect();
        f.debug_struct("JwtCodec")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .field("signing_kid", &keys.get(self.signing).map(|key| key.kid()))
            .field("keys", &keys)
            .finish()
    }
}

/// Builds a [`JwtCodec`]; [`build`](Self::build) checks the configuration.
#[derive(Debug)]
pub struct JwtCodecBuilder {
    issuer: String,
    audience: String,
    leeway: Duration,
    keys: Vec<JwtKey>,
    signing_kid: Option<String>,
}

impl Default for JwtCodecBuilder {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audience: String::new(),
            leeway: Duration::from_secs(30),
            keys: Vec::new(),
            signing_kid: None,
        }
    }
}

impl JwtCodecBuilder {
    /// The `iss` to issue and require (required, non-empty).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// The `aud` to issue and require (required, non-empty).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Clock leeway on `exp`, `nbf` and `iat`: at most 60 s, default 30 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Adds a key to the set. Tokens are verified with the key named by
    /// their `kid` header.
    pub fn key(mut self, key: JwtKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Which key signs new tokens (default: the first key that can sign).
    pub fn signing_key(mut self, kid: impl Into<String>) -> Self {
        self.signing_kid = Some(kid.into());
        self
    }

    /// Checks the configuration and builds the codec.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] if the issuer or audience is empty, the
    /// leeway is over 60 s, there is no key, two keys share a `kid`, or the
    /// signing key is missing or cannot sign.
    pub fn build(self) -> Result<JwtCodec, AuthError> {
        let invalid = |reason: String| Err(AuthError::InvalidConfig(reason));
        if self.issuer.trim().is_empty() {
            return invalid("the JWT issuer must not be empty".into());
        }
        if self.audience.trim().is_empty() {
            return invalid("the JWT audience must not be empty".into());
        }
        if self.leeway > MAX_LEEWAY {
            return invalid(format!(
                "the JWT leeway is {:?}; at most 60 s is allowed",
                self.leeway
            ));
        }
        for (i, key) in self.keys.iter().enumerate() {
            if self.keys[..i].iter().any(|earlier| earlier.kid == key.kid) {
                return invalid(format!("two JWT keys share the kid {:?}", key.kid));
            }
        }
        let signing = match &self.signing_kid {
            Some(kid) => self.keys.iter().position(|key| &key.kid == kid),
            None => self.keys.iter().position(JwtKey::can_sign),
        };
        let Some(signing) = signing.filter(|&i| self.keys[i].can_sign()) else {
            return invalid("the JWT key set needs a key that can sign".into());
        };
        super::install_crypto_provider();
        let signing_key = &self.keys[signing];
        let Some(signing_alg) = signing_key.algorithm.to_jsonwebtoken() else {
            return invalid(format!("{} keys cannot sign here", signing_key.algorithm));
        };
        let mut header = Header::new(signing_alg);
        header.kid = Some(signing_key.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        let keys = self
            .keys
            .into_iter()
            .filter_map(|key| {
                // An ES512 key (no jsonwebtoken support) cannot be in a
                // codec's set: JwtKey has no constructor for one.
                let mut validation = Validation::new(key.algorithm.to_jsonwebtoken()?);
                // Times are checked against the service's Clock instead, so
                // tests can move time; presence is still required here.
                validation.validate_exp = false;
                validation.validate_nbf = false;
                validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
                validation.set_issuer(&[&self.issuer]);
                validation.set_audience(&[&self.audience]);
                Some(VerifyingKey { key, validation })
            })
            .collect();
        Ok(JwtCodec {
            keys,
            signing,
            header,
            issuer: self.issuer,
            audience: self.audience,
            leeway_secs: i64::try_from(self.leeway.as_secs()).unwrap_or(60),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_access_token_typ;

    #[test]
    fn typ_must_name_an_access_token() {
        for typ in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+JWT",
        ] {
            assert!(is_access_token_typ(Some(typ)), "{typ}");
        }
        for typ in [
            "JWT",
            "jwt",
            "",
            "application/jwt",
            "at+jwt ",
            "application/",
            "xapplication/at+jwt",
            "é",
        ] {
            assert!(!is_access_token_typ(Some(typ)), "{typ}");
        }
        assert!(!is_access_token_typ(None));
    }
}
