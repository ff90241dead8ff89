//! JSON Web Keys (RFC 7517): the public half of a key set, as published at
//! a JWKS URL and as read from another issuer's.
//!
//! The types hold public members only, so a private key can never be
//! serialised through them; the private members (`d`, `p`, `q`, …) of an
//! incoming document are ignored on reading.

use serde::{Deserialize, Serialize};

/// A JWK Set: `{"keys": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwks {
    /// The keys, in no particular order.
    pub keys: Vec<Jwk>,
}

/// One public JSON Web Key. Members that do not apply to its `kty` are
/// `None` and left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Jwk {
    /// Key type: `OKP` (Ed25519), `EC` or `RSA`.
    pub kty: String,
    /// Key id, matched against a token's `kid` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The one algorithm this key is for, e.g. `ES256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use; `sig` for signature keys.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Curve: `Ed25519`, `P-256` or `P-521`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Public point x (OKP, EC), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Public point y (EC), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl Jwk {
    /// The RFC 7638 thumbprint: base64url of the SHA-256 of the key's
    /// required public members, a stable `kid` for a key that has none.
    /// `None` for a key type other than `OKP`, `EC` or `RSA`, or one that
    /// lacks a member its type requires.
    pub fn thumbprint(&self) -> Option<String> {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        use sha2::{Digest, Sha256};
        // Members in lexicographic order, as RFC 7638 §3.2 requires; the
        // values are base64url or short names, so no JSON escaping applies.
        let members: Vec<(&str, &str)> = match self.kty.as_str() {
            "OKP" => vec![
                ("crv", self.crv.as_deref()?),
                ("kty", "OKP"),
                ("x", self.x.as_deref()?),
            ],
            "EC" => vec![
                ("crv", self.crv.as_deref()?),
                ("kty", "EC"),
                ("x", self.x.as_deref()?),
                ("y", self.y.as_deref()?),
            ],
            "RSA" => vec![
                ("e", self.e.as_deref()?),
                ("kty", "RSA"),
                ("n", self.n.as_deref()?),
            ],
            _ => return None,
        };
        let mut object = serde_json::Map::new();
        for (name, value) in members {
            object.insert(name.to_owned(), serde_json::Value::from(value));
        }
        // serde_json's map keeps keys sorted (no `preserve_order` here) and
        // writes no whitespace: the canonical form.
        let canonical = serde_json::Value::Object(object).to_string();
        Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_members_are_dropped_and_use_is_renamed() {
        let json = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"abc","d":"SECRET","kid":"1","alg":"EdDSA","use":"sig"}]}"#;
        let jwks: Jwks = serde_json::from_str(json).expect("a valid JWKS");
        assert_eq!(jwks.keys[0].key_use.as_deref(), Some("sig"));
        let out = serde_json::to_string(&jwks).expect("serialises");
        assert!(!out.contains("SECRET") && !out.contains("\"d\""), "{out}");
        assert!(
            out.contains(r#""use":"sig""#) && !out.contains("\"n\""),
            "{out}"
        );
    }
}
