//! The claims of an access token.

use std::fmt;

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, MapAccess, Visitor},
    ser::SerializeMap,
};
use serde_json::{Map, Value};

use crate::{SessionId, UserId};

/// Claim names this crate sets itself; custom claims with these names are
/// dropped when a token is issued.
pub const REGISTERED_CLAIMS: [&str; 8] = ["sub", "sid", "jti", "iat", "exp", "nbf", "iss", "aud"];

/// The claims of an access token.
///
/// `sub`, `iat`, `exp`, `iss` and `aud` are required: a token lacking one is
/// refused. `sid` and `jti` are optional here because other issuers' tokens
/// (read by a [`TrustedIssuer`](crate::TrustedIssuer)) may lack them;
/// [`JwtCodec`](crate::JwtCodec) requires both on its own tokens. A registered claim that appears twice in a
/// token's JSON is refused too (never "first one wins"). Any other claim is
/// kept in [`custom`](Self::custom).
///
/// ```
/// use auth_core::{SessionId, UserId, token::AccessClaims};
///
/// let claims = AccessClaims {
///     sub: UserId::new("u1"),
///     sid: Some(SessionId::new("s1")),
///     jti: Some("8bK3tq0RW2wFv1mXH9v0gQ".into()),
///     iat: 1_700_000_000,
///     exp: 1_700_000_900,
///     nbf: None,
///     iss: "https://api.example.com".into(),
///     aud: "todo".into(),
///     custom: serde_json::json!({"role": "admin"}).as_object().unwrap().clone(),
/// };
/// let json = serde_json::to_value(&claims).unwrap();
/// assert_eq!(json["role"], "admin");
/// assert_eq!(serde_json::from_value::<AccessClaims>(json).unwrap(), claims);
///
/// let twice = r#"{"sub":"u1","sub":"u2","sid":"s","jti":"j","iat":1,"exp":2,"iss":"i","aud":"a"}"#;
/// assert!(serde_json::from_str::<AccessClaims>(twice).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AccessClaims {
    /// Subject: the user id.
    pub sub: UserId,
    /// The session id, checked against the session store per request;
    /// `None` only on another issuer's tokens.
    pub sid: Option<SessionId>,
    /// The token's own id (RFC 7519 `jti`): 128 random bits, unique per
    /// token, for logs, audits and deny lists.
    pub jti: Option<String>,
    /// Issued at (seconds since the Unix epoch).
    pub iat: i64,
    /// Expires at (seconds since the Unix epoch).
    pub exp: i64,
    /// Not valid before (seconds since the Unix epoch), if set.
    pub nbf: Option<i64>,
    /// Issuer.
    pub iss: String,
    /// Audience (a single string).
    pub aud: String,
    /// Application-defined claims (see
    /// [`AuthServiceBuilder::custom_claims`](crate::AuthServiceBuilder::custom_claims)).
    pub custom: Map<String, Value>,
}

impl AccessClaims {
    /// `exp`, `nbf` and `iat` against `now`, each with `leeway_secs`: the
    /// one time check of every verifier, ours and other issuers'.
    pub(crate) fn check_times(
        &self,
        now: time::OffsetDateTime,
        leeway_secs: i64,
    ) -> Result<(), crate::AuthError> {
        let now = now.unix_timestamp();
        // RFC 7519: the token is valid strictly before `exp`.
        if self.exp.saturating_add(leeway_secs) <= now {
            return Err(crate::AuthError::TokenExpired);
        }
        let latest_start = now.saturating_add(leeway_secs);
        if self.nbf.is_some_and(|nbf| nbf > latest_start) || self.iat > latest_start {
            return Err(crate::AuthError::InvalidToken);
        }
        Ok(())
    }
}

impl Serialize for AccessClaims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("sub", &self.sub)?;
        if let Some(sid) = &self.sid {
            map.serialize_entry("sid", sid)?;
        }
        if let Some(jti) = &self.jti {
            map.serialize_entry("jti", jti)?;
        }
        map.serialize_entry("iat", &self.iat)?;
        map.serialize_entry("exp", &self.exp)?;
        if let Some(nbf) = self.nbf {
            map.serialize_entry("nbf", &nbf)?;
        }
        map.serialize_entry("iss", &self.iss)?;
        map.serialize_entry("aud", &self.aud)?;
        for (name, value) in &self.custom {
            if !REGISTERED_CLAIMS.contains(&name.as_str()) {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// A claim name: registered ones are recognised without allocating.
enum Field {
    Sub,
    Sid,
    Jti,
    Iat,
    Exp,
    Nbf,
    Iss,
    Aud,
    Other(String),
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Field, E> {
                Ok(match name {
                    "sub" => Field::Sub,
                    "sid" => Field::Sid,
                    "jti" => Field::Jti,
                    "iat" => Field::Iat,
                    "exp" => Field::Exp,
                    "nbf" => Field::Nbf,
                    "iss" => Field::Iss,
                    "aud" => Field::Aud,
                    other => Field::Other(other.to_owned()),
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

fn set_once<T, E: de::Error>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Deserialize<'de> for AccessClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ClaimsVisitor;
        impl<'de> Visitor<'de> for ClaimsVisitor {
            type Value = AccessClaims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JWT claims object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AccessClaims, A::Error> {
                let (mut sub, mut sid, mut jti, mut iat, mut exp, mut nbf, mut iss, mut aud) =
                    (None, None, None, None, None, None, None, None);
                let mut custom = Map::new();
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Sub => set_once(&mut sub, "sub", map.next_value()?)?,
                        Field::Sid => set_once(&mut sid, "sid", map.next_value()?)?,
                        Field::Jti => set_once(&mut jti, "jti", map.next_value()?)?,
                        Field::Iat => set_once(&mut iat, "iat", map.next_value()?)?,
                        Field::Exp => set_once(&mut exp, "exp", map.next_value()?)?,
                        Field::Nbf => set_once(&mut nbf, "nbf", map.next_value()?)?,
                        Field::Iss => set_once(&mut iss, "iss", map.next_value()?)?,
                        Field::Aud => set_once(&mut aud, "aud", map.next_value()?)?,
                        Field::Other(name) => {
                            // Not ours to judge: the last occurrence wins.
                            custom.insert(name, map.next_value()?);
                        }
                    }
                }
                Ok(AccessClaims {
                    sub: sub.ok_or_else(|| de::Error::missing_field("sub"))?,
                    sid,
                    jti,
                    iat: iat.ok_or_else(|| de::Error::missing_field("iat"))?,
                    exp: exp.ok_or_else(|| de::Error::missing_field("exp"))?,
                    nbf,
                    iss: iss.ok_or_else(|| de::Error::missing_field("iss"))?,
                    aud: aud.ok_or_else(|| de::Error::missing_field("aud"))?,
                    custom,
                })
            }
        }
        deserializer.deserialize_map(ClaimsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"sub": "u", "sid": "s", "jti": "j", "iat": 10, "exp": 20, "iss": "i", "aud": "a"})
    }

    #[test]
    fn every_required_claim_is_required() {
        assert!(serde_json::from_value::<AccessClaims>(base()).is_ok());
        for name in ["sub", "iat", "exp", "iss", "aud"] {
            let mut claims = base();
            claims.as_object_mut().unwrap().remove(name);
            assert!(
                serde_json::from_value::<AccessClaims>(claims).is_err(),
                "{name}"
            );
        }
    }

    #[test]
    fn wrong_types_are_refused() {
        for (name, value) in [
            ("exp", json!("20")),
            ("iat", json!(1.5)),
            ("sub", json!(7)),
            ("aud", json!(["a"])),
        ] {
            let mut claims = base();
            claims[name] = value;
            assert!(
                serde_json::from_value::<AccessClaims>(claims).is_err(),
                "{name}"
            );
        }
    }

    #[test]
    fn every_registered_claim_is_refused_twice() {
        for name in REGISTERED_CLAIMS {
            let value = if matches!(name, "iat" | "exp" | "nbf") {
                "1"
            } else {
                "\"x\""
            };
            let json = format!(
                r#"{{"sub":"u","sid":"s","jti":"j","iat":10,"exp":20,"iss":"i","aud":"a","nbf":5,"{name}":{value}}}"#
            );
            assert!(
                serde_json::from_str::<AccessClaims>(&json).is_err(),
                "{name}"
            );
        }
    }

    #[test]
    fn custom_claims_cannot_shadow_registered_ones() {
        let mut claims: AccessClaims = serde_json::from_value(base()).unwrap();
        claims.custom.insert("sub".into(), json!("someone-else"));
        claims.custom.insert("role".into(), json!("admin"));
        let text = serde_json::to_string(&claims).unwrap();
        assert_eq!(text.matches("\"sub\"").count(), 1, "{text}");
        let back: AccessClaims = serde_json::from_str(&text).unwrap();
        assert_eq!(back.sub, UserId::new("u"));
        assert_eq!(back.custom.get("role"), Some(&json!("admin")));
    }
}
