//! The relying party's side of WebAuthn Level 3: the options it sends,
//! the JSON the browser's `toJSON()` answers with, and the checks of
//! §7.1 (registration) and §7.2 (authentication) that a passkey needs.
//!
//! Attestation is `none`: the statement, whatever its format, is not
//! checked, as a relying party that asks for none may do. Public keys are
//! ES256 (P-256), EdDSA (Ed25519) and RS256, verified with the RustCrypto
//! crates the token code already uses.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use ciborium::Value as Cbor;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// COSE algorithm numbers, in the order the options offer them.
const ES256: i64 = -7;
const EDDSA: i64 = -8;
const RS256: i64 = -257;

/// `authenticatorData` flags.
const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const BACKUP_ELIGIBLE: u8 = 0x08;
const BACKED_UP: u8 = 0x10;
const ATTESTED_DATA: u8 = 0x40;
const EXTENSION_DATA: u8 = 0x80;

/// The longest credential id WebAuthn allows.
const MAX_CREDENTIAL_ID: usize = 1023;

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// Bytes given in base64url (unpadded, as `toJSON()` writes them; padding
/// is tolerated). Anything else fails to deserialise: a 400.
#[derive(Clone, PartialEq, Eq)]
pub struct Base64Url(pub Vec<u8>);

impl std::fmt::Debug for Base64Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Base64Url({} bytes)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for Base64Url {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map(Self)
            .map_err(|_| serde::de::Error::custom("not base64url"))
    }
}

/// A created credential, as `PublicKeyCredential.toJSON()` gives it
/// (WebAuthn's `RegistrationResponseJSON`). Unknown members are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct RegistrationResponse {
    /// The credential id, base64url.
    #[serde(rename = "rawId")]
    pub raw_id: Base64Url,
    /// `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The authenticator's answer.
    pub response: AttestationResponse,
}

/// The `response` of a [`RegistrationResponse`].
#[derive(Debug, Clone, Deserialize)]
pub struct AttestationResponse {
    /// The client data the browser collected.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64Url,
    /// The CBOR attestation object (`fmt`, `attStmt`, `authData`).
    #[serde(rename = "attestationObject")]
    pub attestation_object: Base64Url,
    /// How the browser can reach the authenticator again.
    #[serde(default)]
    pub transports: Option<Vec<String>>,
}

/// An assertion, as `PublicKeyCredential.toJSON()` gives it (WebAuthn's
/// `AuthenticationResponseJSON`). Unknown members are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthenticationResponse {
    /// The credential id, base64url.
    #[serde(rename = "rawId")]
    pub raw_id: Base64Url,
    /// `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The authenticator's answer.
    pub response: AssertionResponse,
}

/// The `response` of an [`AuthenticationResponse`].
#[derive(Debug, Clone, Deserialize)]
pub struct AssertionResponse {
    /// The client data the browser collected.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64Url,
    /// The authenticator data that was signed.
    #[serde(rename = "authenticatorData")]
    pub authenticator_data: Base64Url,
    /// The signature over `authenticatorData ‖ SHA-256(clientDataJSON)`.
    pub signature: Base64Url,
    /// The user handle the passkey was created for.
    #[serde(rename = "userHandle", default)]
    pub user_handle: Option<Base64Url>,
}

/// Why a ceremony failed: for the log, never for the client.
pub(super) type Refusal = &'static str;

/// A passkey's public key, as kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum PublicKey {
    /// An uncompressed SEC1 P-256 point.
    Es256(String),
    /// An Ed25519 key.
    Ed25519(String),
    /// An RSA modulus and exponent, big-endian.
    Rs256 { n: String, e: String },
}

/// What a registration proves: the passkey to keep.
#[derive(Debug)]
pub(super) struct NewPasskey {
    pub(super) credential_id: Vec<u8>,
    pub(super) public_key: PublicKey,
    pub(super) counter: u32,
    pub(super) backup_eligible: bool,
    pub(super) backed_up: bool,
    pub(super) transports: Vec<String>,
}

/// What an assertion proves.
#[derive(Debug)]
pub(super) struct Assertion {
    pub(super) counter: u32,
    pub(super) user_verified: bool,
    pub(super) backed_up: bool,
}

/// The relying party: its id and the origins its pages are served from.
pub(super) struct RelyingParty {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) origins: Vec<String>,
}

/// The parsed `authenticatorData`.
struct AuthData<'a> {
    rp_id_hash: &'a [u8],
    flags: u8,
    counter: u32,
    /// The attested credential data and extensions, if any.
    rest: &'a [u8],
}

impl AuthData<'_> {
    fn parse(bytes: &[u8]) -> Result<AuthData<'_>, Refusal> {
        if bytes.len() < 37 {
            return Err("authenticator data too short");
        }
        let (rp_id_hash, rest) = bytes.split_at(32);
        let counter = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]);
        Ok(AuthData {
            rp_id_hash,
            flags: rest[0],
            counter,
            rest: &rest[5..],
        })
    }

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

impl RelyingParty {
    /// The options of a registration (`PublicKeyCredentialCreationOptionsJSON`).
    pub(super) fn creation_options(
        &self,
        challenge: &[u8],
        user_handle: &[u8],
        user_name: &str,
        display_name: &str,
        exclude: &[(Vec<u8>, Vec<String>)],
        timeout_ms: u64,
    ) -> Value {
        let exclude: Vec<Value> = exclude
            .iter()
            .map(|(id, transports)| {
                json!({"type": "public-key", "id": URL_SAFE_NO_PAD.encode(id), "transports": transports})
            })
            .collect();
        let algorithms: Vec<Value> = [ES256, EDDSA, RS256]
            .iter()
            .map(|alg| json!({"type": "public-key", "alg": alg}))
            .collect();
        json!({
            "rp": {"id": self.id, "name": self.name},
            "user": {
                "id": URL_SAFE_NO_PAD.encode(user_handle),
                "name": user_name,
                "displayName": display_name,
            },
            "challenge": URL_SAFE_NO_PAD.encode(challenge),
            "pubKeyCredParams": algorithms,
            "timeout": timeout_ms,
            "excludeCredentials": exclude,
            "authenticatorSelection": {
                "residentKey": "required",
                "requireResidentKey": true,
                "userVerification": "required",
            },
            "attestation": "none",
            "extensions": {"credProps": true},
        })
    }

    /// The options of a usernameless sign-in
    /// (`PublicKeyCredentialRequestOptionsJSON`).
    pub(super) fn request_options(&self, challenge: &[u8], timeout_ms: u64) -> Value {
        json!({
            "challenge": URL_SAFE_NO_PAD.encode(challenge),
            "timeout": timeout_ms,
            "rpId": self.id,
            "allowCredentials": [],
            "userVerification": "preferred",
        })
    }

    /// §7.1: checks a registration answer to `challenge`; the passkey.
    /// User verification is required.
    pub(super) fn register(
        &self,
        response: &RegistrationResponse,
        challenge: &[u8],
    ) -> Result<NewPasskey, Refusal> {
        if response.kind != "public-key" {
            return Err("not a public-key credential");
        }
        let answer = &response.response;
        self.check_client_data(&answer.client_data_json.0, "webauthn.create", challenge)?;
        let object: Cbor = ciborium::from_reader(answer.attestation_object.0.as_slice())
            .map_err(|_| "the attestation object is not CBOR")?;
        let auth_data = map_get(&object, "authData")
            .and_then(Cbor::as_bytes)
            .ok_or("the attestation object has no authData")?;
        let data = AuthData::parse(auth_data)?;
        self.check_auth_data(&data)?;
        if !data.has(USER_VERIFIED) {
            return Err("the user was not verified");
        }
        if !data.has(ATTESTED_DATA) || data.rest.len() < 18 {
            return Err("no attested credential data");
        }
        // AAGUID (16 bytes), the id's length, the id, the COSE key.
        let id_len = usize::from(u16::from_be_bytes([data.rest[16], data.rest[17]]));
        let rest = &data.rest[18..];
        if id_len == 0 || id_len > MAX_CREDENTIAL_ID || rest.len() < id_len {
            return Err("a bad credential id length");
        }
        let (credential_id, mut key_bytes) = rest.split_at(id_len);
        if credential_id != response.raw_id.0.as_slice() {
            return Err("rawId is not the attested credential id");
        }
        let key: Cbor =
            ciborium::from_reader(&mut key_bytes).map_err(|_| "the public key is not CBOR")?;
        if !key_bytes.is_empty() && !data.has(EXTENSION_DATA) {
            return Err("bytes after the public key");
        }
        Ok(NewPasskey {
            credential_id: credential_id.to_vec(),
            public_key: PublicKey::from_cose(&key)?,
            counter: data.counter,
            backup_eligible: data.has(BACKUP_ELIGIBLE),
            backed_up: data.has(BACKED_UP),
            transports: answer
                .transports
                .iter()
                .flatten()
                .filter(|transport| transport.len() <= 16)
                .take(8)
                .cloned()
                .collect(),
        })
    }

    /// §7.2: checks an assertion for `challenge` signed by `key`, whose
    /// counter was `counter`. A counter that does not go up (when either
    /// is not 0) is refused as a possible clone.
    pub(super) fn authenticate(
        &self,
        response: &AuthenticationResponse,
        challenge: &[u8],
        key: &PublicKey,
        counter: u32,
    ) -> Result<Assertion, Refusal> {
        if response.kind != "public-key" {
            return Err("not a public-key credential");
        }
        let answer = &response.response;
        self.check_client_data(&answer.client_data_json.0, "webauthn.get", challenge)?;
        let data = AuthData::parse(&answer.authenticator_data.0)?;
        self.check_auth_data(&data)?;
        let mut signed = answer.authenticator_data.0.clone();
        signed.extend_from_slice(&Sha256::digest(&answer.client_data_json.0));
        key.verify(&signed, &answer.signature.0)?;
        if (data.counter != 0 || counter != 0) && data.counter <= counter {
            return Err(COUNTER_WENT_BACK);
        }
        Ok(Assertion {
            counter: data.counter,
            user_verified: data.has(USER_VERIFIED),
            backed_up: data.has(BACKED_UP),
        })
    }

    /// The client data: its type, challenge and origin, not cross-origin.
    fn check_client_data(&self, json: &[u8], kind: &str, challenge: &[u8]) -> Result<(), Refusal> {
        #[derive(Deserialize)]
        struct ClientData {
            #[serde(rename = "type")]
            kind: String,
            challenge: String,
            origin: String,
            #[serde(rename = "crossOrigin", default)]
            cross_origin: bool,
        }
        let data: ClientData =
            serde_json::from_slice(json).map_err(|_| "the client data is not JSON")?;
        if data.kind != kind {
            return Err("the client data is of another ceremony");
        }
        let sent = URL_SAFE_NO_PAD
            .decode(data.challenge.trim_end_matches('='))
            .map_err(|_| "the challenge is not base64url")?;
        if !crate::id::constant_time_eq(&sent, challenge) {
            return Err("another challenge");
        }
        if !self.origins.contains(&data.origin) {
            return Err("an origin that is not allowed");
        }
        if data.cross_origin {
            return Err("a cross-origin ceremony");
        }
        Ok(())
    }

    /// The RP id's hash and user presence.
    fn check_auth_data(&self, data: &AuthData<'_>) -> Result<(), Refusal> {
        if data.rp_id_hash != Sha256::digest(self.id.as_bytes()).as_slice() {
            return Err("another RP id");
        }
        if !data.has(USER_PRESENT) {
            return Err("the user was not present");
        }
        if !data.has(BACKUP_ELIGIBLE) && data.has(BACKED_UP) {
            return Err("backed up but not backup eligible");
        }
        Ok(())
    }
}

/// The refusal of a sign counter that did not go up.
pub(super) const COUNTER_WENT_BACK: Refusal = "the sign counter did not go up";

impl PublicKey {
    /// A COSE_Key (RFC 9053) of one of the offered algorithms.
    fn from_cose(key: &Cbor) -> Result<Self, Refusal> {
        let entries = key.as_map().ok_or("the public key is not a map")?;
        for (at, (label, _)) in entries.iter().enumerate() {
            if entries[..at].iter().any(|(earlier, _)| earlier == label) {
                return Err("a public key with a label twice");
            }
        }
        let int = |label: i64| {
            cose_get(key, label)
                .and_then(Cbor::as_integer)
                .and_then(|value| i64::try_from(value).ok())
        };
        let bytes = |label: i64| cose_get(key, label).and_then(Cbor::as_bytes);
        match (int(1), int(3)) {
            // kty EC2, crv P-256.
            (Some(2), Some(ES256)) if int(-1) == Some(1) => {
                let (Some(x), Some(y)) = (bytes(-2), bytes(-3)) else {
                    return Err("an EC2 key without x and y");
                };
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 coordinates are 32 bytes each");
                }
                let mut sec1 = vec![4u8];
                sec1.extend_from_slice(x);
                sec1.extend_from_slice(y);
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map_err(|_| "not a P-256 point")?;
                Ok(Self::Es256(URL_SAFE_NO_PAD.encode(sec1)))
            }
            // kty OKP, crv Ed25519.
            (Some(1), Some(EDDSA)) if int(-1) == Some(6) => {
                let x = bytes(-2).ok_or("an OKP key without x")?;
                let x: [u8; 32] = x.as_slice().try_into().map_err(|_| "not an Ed25519 key")?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| "not an Ed25519 key")?;
                if key.is_weak() {
                    return Err("an Ed25519 key of small order");
                }
                Ok(Self::Ed25519(URL_SAFE_NO_PAD.encode(x)))
            }
            // kty RSA.
            (Some(3), Some(RS256)) => {
                let (Some(n), Some(e)) = (bytes(-1), bytes(-2)) else {
                    return Err("an RSA key without n and e");
                };
                let significant = |bytes: &[u8]| -> Vec<u8> {
                    bytes
                        .iter()
                        .copied()
                        .skip_while(|byte| *byte == 0)
                        .collect()
                };
                let key = Self::Rs256 {
                    n: URL_SAFE_NO_PAD.encode(significant(n)),
                    e: URL_SAFE_NO_PAD.encode(significant(e)),
                };
                key.rsa()?;
                Ok(key)
            }
            _ => Err("a public key of an algorithm that was not offered"),
        }
    }

    /// Checks `signature` over `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Refusal> {
        use p256::ecdsa::signature::Verifier as _;
        const BAD: Refusal = "a bad signature";
        let decode = |text: &str| {
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| "a corrupt stored key")
        };
        match self {
            Self::Es256(sec1) => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&decode(sec1)?)
                    .map_err(|_| "a corrupt stored key")?;
                let signature =
                    p256::ecdsa::DerSignature::from_bytes(signature).map_err(|_| BAD)?;
                key.verify(message, &signature).map_err(|_| BAD)
            }
            Self::Ed25519(x) => {
                let x: [u8; 32] = decode(x)?.try_into().map_err(|_| "a corrupt stored key")?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| "a corrupt stored key")?;
                let signature = ed25519_dalek::Signature::from_slice(signature).map_err(|_| BAD)?;
                key.verify_strict(message, &signature).map_err(|_| BAD)
            }
            Self::Rs256 { .. } => {
                let key = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(self.rsa()?);
                let signature = rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| BAD)?;
                key.verify(message, &signature).map_err(|_| BAD)
            }
        }
    }

    /// The RSA key, at least [`MIN_RSA_BITS`].
    fn rsa(&self) -> Result<rsa::PublicKey, Refusal> {
        let Self::Rs256 { n, e } = self else {
            return Err("not an RSA key");
        };
        let n = URL_SAFE_NO_PAD.decode(n).map_err(|_| "a corrupt RSA key")?;
        let e = URL_SAFE_NO_PAD.decode(e).map_err(|_| "a corrupt RSA key")?;
        let bits = match n.iter().position(|byte| *byte != 0) {
            Some(first) => (n.len() - first) * 8 - n[first].leading_zeros() as usize,
            None => 0,
        };
        if !(MIN_RSA_BITS..=8192).contains(&bits) || e.len() > 8 {
            return Err("an RSA key of the wrong size");
        }
        let key = rsa::pkcs1::RsaPublicKey {
            modulus: rsa::pkcs1::UintRef::new(&n).map_err(|_| "a bad RSA modulus")?,
            public_exponent: rsa::pkcs1::UintRef::new(&e).map_err(|_| "a bad RSA exponent")?,
        };
        rsa::PublicKey::try_from(key).map_err(|_| "a bad RSA key")
    }
}

/// The value of the text key `name` in a CBOR map.
fn map_get<'a>(map: &'a Cbor, name: &str) -> Option<&'a Cbor> {
    map.as_map()?
        .iter()
        .find(|(key, _)| key.as_text() == Some(name))
        .map(|(_, value)| value)
}

/// The value of the integer label `label` in a COSE key.
fn cose_get(map: &Cbor, label: i64) -> Option<&Cbor> {
    map.as_map()?
        .iter()
        .find(|(key, _)| key.as_integer().and_then(|key| i64::try_from(key).ok()) == Some(label))
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use ciborium::Value as Cbor;

    use super::*;

    const MESSAGE: &[u8] = b"authenticator data and client data hash";

    fn cose(entries: Vec<(i64, Cbor)>) -> Cbor {
        Cbor::Map(
            entries
                .into_iter()
                .map(|(label, value)| (Cbor::Integer(label.into()), value))
                .collect(),
        )
    }

    #[test]
    fn es256_keys_verify_der_signatures() {
        use p256::ecdsa::{DerSignature, SigningKey, signature::Signer as _};
        let signing = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let point = signing.verifying_key().to_sec1_point(false);
        let key = PublicKey::from_cose(&cose(vec![
            (1, Cbor::Integer(2.into())),
            (3, Cbor::Integer(ES256.into())),
            (-1, Cbor::Integer(1.into())),
            (-2, Cbor::Bytes(point.x().unwrap().to_vec())),
            (-3, Cbor::Bytes(point.y().unwrap().to_vec())),
        ]))
        .unwrap();
        let signature: DerSignature = signing.sign(MESSAGE);
        assert!(key.verify(MESSAGE, signature.as_bytes()).is_ok());
        assert!(
            key.verify(b"another message", signature.as_bytes())
                .is_err()
        );
        assert!(key.verify(MESSAGE, &[0x30, 0x00]).is_err());
        // A point off the curve is no key.
        let off_curve = cose(vec![
            (1, Cbor::Integer(2.into())),
            (3, Cbor::Integer(ES256.into())),
            (-1, Cbor::Integer(1.into())),
            (-2, Cbor::Bytes(vec![1; 32])),
            (-3, Cbor::Bytes(vec![2; 32])),
        ]);
        assert!(PublicKey::from_cose(&off_curve).is_err());
    }

    #[test]
    fn ed25519_keys_verify_strictly() {
        use ed25519_dalek::{Signer as _, SigningKey};
        let signing = SigningKey::from_bytes(&[9u8; 32]);
        let key = PublicKey::from_cose(&cose(vec![
            (1, Cbor::Integer(1.into())),
            (3, Cbor::Integer(EDDSA.into())),
            (-1, Cbor::Integer(6.into())),
            (-2, Cbor::Bytes(signing.verifying_key().to_bytes().to_vec())),
        ]))
        .unwrap();
        let signature = signing.sign(MESSAGE).to_bytes();
        assert!(key.verify(MESSAGE, &signature).is_ok());
        let mut tampered = signature;
        tampered[3] ^= 1;
        assert!(key.verify(MESSAGE, &tampered).is_err());
        assert!(key.verify(MESSAGE, &signature[..63]).is_err());
    }

    #[test]
    fn rs256_keys_verify_and_small_ones_are_refused() {
        use rsa::{
            pkcs8::DecodePrivateKey as _, signature::SignatureEncoding as _,
            traits::PublicKeyParts as _,
        };
        let pem = include_str!("../../../tests/keys/openssl/rsa2048-pkcs8.pem");
        let private = rsa::PrivateKey::from_pkcs8_pem(pem).unwrap();
        let public = private.to_public_key();
        let n = public.n().to_be_bytes().to_vec();
        let e = public.e().to_be_bytes().to_vec();
        let rsa_key = |n: Vec<u8>| {
            cose(vec![
                (1, Cbor::Integer(3.into())),
                (3, Cbor::Integer(RS256.into())),
                (-1, Cbor::Bytes(n)),
                (-2, Cbor::Bytes(e.clone())),
            ])
        };
        let key = PublicKey::from_cose(&rsa_key(n.clone())).unwrap();
        let signing = rsa::pkcs1v15::SigningKey::<Sha256>::new(private);
        let signature = rsa::signature::Signer::sign(&signing, MESSAGE).to_vec();
        assert!(key.verify(MESSAGE, &signature).is_ok());
        assert!(key.verify(b"another message", &signature).is_err());
        let small = include_str!("../../../tests/keys/openssl/rsa1024-pkcs8.pem");
        let small = rsa::PrivateKey::from_pkcs8_pem(small)
            .unwrap()
            .to_public_key();
        assert!(PublicKey::from_cose(&rsa_key(small.n().to_be_bytes().to_vec())).is_err());
    }

    #[test]
    fn other_keys_and_garbage_are_refused() {
        // EC2 with ES384's number, an unknown kty, a map without labels.
        for key in [
            cose(vec![
                (1, Cbor::Integer(2.into())),
                (3, Cbor::Integer((-35).into())),
            ]),
            cose(vec![
                (1, Cbor::Integer(4.into())),
                (3, Cbor::Integer(ES256.into())),
            ]),
            Cbor::Map(Vec::new()),
            Cbor::Text("key".into()),
        ] {
            assert!(PublicKey::from_cose(&key).is_err());
        }
        assert!(AuthData::parse(&[0u8; 36]).is_err());
        let rp = RelyingParty {
            id: "example.com".into(),
            name: "Example".into(),
            origins: vec!["https://example.com".into()],
        };
        // Backed up but not backup eligible.
        let mut data = Sha256::digest(b"example.com").to_vec();
        data.extend_from_slice(&[USER_PRESENT | BACKED_UP, 0, 0, 0, 1]);
        assert!(
            rp.check_auth_data(&AuthData::parse(&data).unwrap())
                .is_err()
        );
        data[32] = USER_PRESENT | BACKED_UP | BACKUP_ELIGIBLE;
        assert!(rp.check_auth_data(&AuthData::parse(&data).unwrap()).is_ok());
        data[32] = USER_VERIFIED;
        assert!(
            rp.check_auth_data(&AuthData::parse(&data).unwrap())
                .is_err(),
            "not present"
        );
    }
}
