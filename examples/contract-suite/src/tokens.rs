//! Minting and reading JWTs byte by byte, so that a case can send any token:
//! well-formed ones signed with the server's secret, and every kind of bad
//! one (other algorithms, missing claims, duplicate keys, `alg: none`).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{Map, Value, json};
use sha2::{Sha256, Sha512};

use crate::Target;

/// How a minted token is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// HMAC-SHA-256, header `"alg": "HS256"` (what the servers use).
    Hs256,
    /// HMAC-SHA-512, header `"alg": "HS512"`.
    Hs512,
    /// No signature, header `"alg": "none"`.
    None,
}

impl Alg {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs512 => "HS512",
            Self::None => "none",
        }
    }

    /// The access-token header `{"alg": ..., "typ": "at+jwt"}` (RFC 9068)
    /// as JSON text.
    pub fn header(self) -> String {
        json!({ "alg": self.name(), "typ": "at+jwt" }).to_string()
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Base64url without padding, as in JWTs.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT of exactly these header and payload texts, signed with `secret`
/// as `alg` says (the header text is not checked against `alg`).
pub fn sign_raw(alg: Alg, secret: &[u8], header_json: &str, payload_json: &str) -> String {
    let signing_input = format!("{}.{}", b64(header_json), b64(payload_json));
    let signature = match alg {
        Alg::Hs256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
            mac.update(signing_input.as_bytes());
            b64(mac.finalize().into_bytes())
        }
        Alg::Hs512 => {
            let mut mac = Hmac::<Sha512>::new_from_slice(secret).expect("HMAC takes any key");
            mac.update(signing_input.as_bytes());
            b64(mac.finalize().into_bytes())
        }
        Alg::None => String::new(),
    };
    format!("{signing_input}.{signature}")
}

/// A JWT with the standard header for `alg` and `claims`, signed with `secret`.
pub fn sign(alg: Alg, secret: &[u8], claims: &Map<String, Value>) -> String {
    sign_raw(
        alg,
        secret,
        &alg.header(),
        &Value::Object(claims.clone()).to_string(),
    )
}

/// An HS256 token with `claims`, signed with the target's secret.
pub fn mint(target: &Target, claims: &Map<String, Value>) -> String {
    sign(Alg::Hs256, target.secret().as_bytes(), claims)
}

/// The claims of a token the server would issue for `sub` and `sid`:
/// a fresh `jti`, `iat` now, `exp` in 15 minutes, the target's `iss` and `aud`.
pub fn claims(target: &Target, sub: &str, sid: &str) -> Map<String, Value> {
    let now = now();
    let Value::Object(claims) = json!({
        "sub": sub,
        "sid": sid,
        "jti": b64(now.to_be_bytes()) + &b64(next_jti().to_be_bytes()),
        "iat": now,
        "exp": now + 900,
        "iss": target.iss(),
        "aud": target.aud(),
    }) else {
        unreachable!("a JSON object literal")
    };
    claims
}

/// A number no other token of this process got.
fn next_jti() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn decode_part(token: &str, index: usize) -> Value {
    token
        .split('.')
        .nth(index)
        .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// The decoded header of a JWT (`Null` if it is not one).
pub fn header(token: &str) -> Value {
    decode_part(token, 0)
}

/// The decoded payload (claims) of a JWT (`Null` if it is not one).
pub fn payload(token: &str) -> Value {
    decode_part(token, 1)
}

/// Whether an `aud` claim (a string or an array of strings) names `audience`.
pub fn audience_contains(aud: &Value, audience: &str) -> bool {
    match aud {
        Value::String(aud) => aud == audience,
        Value::Array(auds) => auds.iter().any(|aud| aud == audience),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs256_matches_rfc_7515_appendix_a1() {
        // RFC 7515 A.1: the key is base64url, header and payload exact bytes.
        let key = URL_SAFE_NO_PAD
            .decode(
                "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
            )
            .unwrap();
        let token = sign_raw(
            Alg::Hs256,
            &key,
            "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}",
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}",
        );
        assert_eq!(
            token,
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
             .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
             .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
        assert_eq!(payload(&token)["iss"], "joe");
    }

    #[test]
    fn none_has_an_empty_signature() {
        let token = sign_raw(Alg::None, b"", &Alg::None.header(), "{}");
        assert!(token.ends_with('.'));
        assert_eq!(header(&token)["alg"], "none");
    }
}
