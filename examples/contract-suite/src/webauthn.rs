//! A software authenticator for the passkey cases: it answers the server's
//! WebAuthn options as a platform authenticator and a browser together
//! would, with a P-256 key of its own (ES256, COSE algorithm -7),
//! attestation `none`, and the JSON shapes of WebAuthn Level 3's
//! `toJSON()` (every binary field base64url without padding).
//!
//! A ceremony is built in two steps so that a case can break any part of
//! it: [`Passkey::registration`] / [`Passkey::assertion`] fill in what an
//! honest client would send (the options' challenge and RP id, the
//! origin, the flags, the counter, the ids), the case changes any public
//! field, and [`Passkey::attest`] / [`Passkey::sign`] encode and sign
//! exactly that.
//!
//! What is signed is what a real authenticator signs: for a sign-in, the
//! DER ES256 signature of `authenticatorData || SHA-256(clientDataJSON)`;
//! a registration with attestation `none` carries no signature, only the
//! credential's public key inside `authenticatorData`.

use base64::Engine as _;
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Flag bit 0 of `authenticatorData`: user present (UP).
pub const USER_PRESENT: u8 = 0x01;
/// Flag bit 2: user verified (UV), by PIN or biometrics.
pub const USER_VERIFIED: u8 = 0x04;
/// Flag bit 6: attested credential data included (AT), at registration.
pub const ATTESTED_DATA: u8 = 0x40;

/// `clientDataJSON.type` of a registration.
pub const CREATE: &str = "webauthn.create";
/// `clientDataJSON.type` of a sign-in.
pub const GET: &str = "webauthn.get";

/// COSE algorithm ES256 (ECDSA with P-256 and SHA-256).
pub const ES256: i64 = -7;

/// Base64url without padding, as WebAuthn's JSON writes binary fields.
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` if `text` is not that.
pub fn from_b64url(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

/// `count` random bytes.
fn random_bytes(count: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; count];
    getrandom::fill(&mut bytes).expect("random bytes from the OS");
    bytes
}

/// The `clientDataJSON` a browser writes, field by field.
#[derive(Clone, Debug)]
pub struct ClientData {
    /// `type`: [`CREATE`] or [`GET`].
    pub kind: String,
    /// `challenge`: the options' challenge, base64url, as given.
    pub challenge: String,
    /// `origin`: the page's origin.
    pub origin: String,
    /// `crossOrigin`.
    pub cross_origin: bool,
}

impl ClientData {
    /// The JSON bytes, in the order browsers write the fields.
    pub fn to_bytes(&self) -> Vec<u8> {
        // serde_json sorts keys; a browser writes `type` first, so the
        // text is put together by hand (the values escaped by serde_json).
        format!(
            r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":{}}}"#,
            Value::from(self.kind.as_str()),
            Value::from(self.challenge.as_str()),
            Value::from(self.origin.as_str()),
            self.cross_origin,
        )
        .into_bytes()
    }
}

/// A registration about to be answered: every field may be changed before
/// [`Passkey::attest`].
#[derive(Clone, Debug)]
pub struct Registration {
    /// The client data (type [`CREATE`]).
    pub client_data: ClientData,
    /// The RP id whose SHA-256 starts `authenticatorData`.
    pub rp_id: String,
    /// The flags byte (UP | UV | AT by default).
    pub flags: u8,
    /// The signature counter in `authenticatorData`.
    pub sign_count: u32,
    /// The credential id, in the attested data and as `id`/`rawId`.
    pub credential_id: Vec<u8>,
}

/// A sign-in about to be answered: every field may be changed before
/// [`Passkey::sign`].
#[derive(Clone, Debug)]
pub struct Assertion {
    /// The client data (type [`GET`]).
    pub client_data: ClientData,
    /// The RP id whose SHA-256 starts `authenticatorData`.
    pub rp_id: String,
    /// The flags byte (UP | UV by default).
    pub flags: u8,
    /// The signature counter in `authenticatorData`.
    pub sign_count: u32,
    /// `id` / `rawId`: the credential the client names.
    pub credential_id: Vec<u8>,
    /// `response.userHandle` (base64url), or `null` when `None`.
    pub user_handle: Option<String>,
    /// Signs `authenticatorData` with its last bit flipped instead of the
    /// bytes sent: a well-formed signature that does not verify.
    pub wrong_signature: bool,
}

/// One credential of the software authenticator: a P-256 key, a random
/// credential id, the RP and user it was made for, and its counter.
#[derive(Clone, Debug)]
pub struct Passkey {
    key: SigningKey,
    /// The credential id (16 random bytes).
    pub credential_id: Vec<u8>,
    /// The RP id it was made for (the options' `rp.id`).
    pub rp_id: String,
    /// The user handle it was made for (the options' `user.id`, base64url).
    pub user_handle: String,
    /// The counter it last put in `authenticatorData`;
    /// [`assertion`](Self::assertion) counts up from it unless it is 0 (an
    /// authenticator without a counter, which always says 0).
    pub sign_count: u32,
}

impl Passkey {
    /// A new credential for the registration `options` (the
    /// `PublicKeyCredentialCreationOptionsJSON`, from which `rp.id` and
    /// `user.id` are taken), starting its counter at `sign_count`.
    pub fn new(options: &Value, sign_count: u32) -> Self {
        let key = loop {
            // Almost every 32-byte string is a valid scalar.
            if let Ok(key) = SigningKey::from_slice(&random_bytes(32)) {
                break key;
            }
        };
        Self {
            key,
            credential_id: random_bytes(16),
            rp_id: options["rp"]["id"].as_str().unwrap_or_default().to_owned(),
            user_handle: options["user"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            sign_count,
        }
    }

    /// The public key's affine coordinates (x, y), 32 bytes each.
    pub fn public_xy(&self) -> (Vec<u8>, Vec<u8>) {
        let point = self.key.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        // Uncompressed SEC1: 0x04 || x || y.
        (bytes[1..33].to_vec(), bytes[33..65].to_vec())
    }

    /// The public key as a COSE_Key (RFC 9053): EC2, ES256, P-256, x, y.
    pub fn cose_key(&self) -> Vec<u8> {
        let (x, y) = self.public_xy();
        let mut out = Vec::new();
        cbor::map(&mut out, 5);
        cbor::int(&mut out, 1); // kty
        cbor::int(&mut out, 2); // EC2
        cbor::int(&mut out, 3); // alg
        cbor::int(&mut out, ES256);
        cbor::int(&mut out, -1); // crv
        cbor::int(&mut out, 1); // P-256
        cbor::int(&mut out, -2); // x
        cbor::bytes(&mut out, &x);
        cbor::int(&mut out, -3); // y
        cbor::bytes(&mut out, &y);
        out
    }

    /// What an honest client answers to the registration `options` from
    /// `origin`: UP, UV and AT set, the current counter, this credential.
    pub fn registration(&self, options: &Value, origin: &str) -> Registration {
        Registration {
            client_data: ClientData {
                kind: CREATE.into(),
                challenge: options["challenge"].as_str().unwrap_or_default().to_owned(),
                origin: origin.to_owned(),
                cross_origin: false,
            },
            rp_id: self.rp_id.clone(),
            flags: USER_PRESENT | USER_VERIFIED | ATTESTED_DATA,
            sign_count: self.sign_count,
            credential_id: self.credential_id.clone(),
        }
    }

    /// The `RegistrationResponseJSON` of `registration`: `authenticatorData`
    /// with the attested credential data (AAGUID zero, the credential id,
    /// this key) whatever the flags say, in an `attestationObject` of
    /// format `none`.
    pub fn attest(&self, registration: &Registration) -> Value {
        let mut auth_data = authenticator_data(
            &registration.rp_id,
            registration.flags,
            registration.sign_count,
        );
        auth_data.extend_from_slice(&[0; 16]); // AAGUID
        let id_len = u16::try_from(registration.credential_id.len()).expect("a short id");
        auth_data.extend_from_slice(&id_len.to_be_bytes());
        auth_data.extend_from_slice(&registration.credential_id);
        auth_data.extend_from_slice(&self.cose_key());

        let mut attestation = Vec::new();
        cbor::map(&mut attestation, 3);
        cbor::text(&mut attestation, "fmt");
        cbor::text(&mut attestation, "none");
        cbor::text(&mut attestation, "attStmt");
        cbor::map(&mut attestation, 0);
        cbor::text(&mut attestation, "authData");
        cbor::bytes(&mut attestation, &auth_data);

        let id = b64url(&registration.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(&registration.client_data.to_bytes()),
                "attestationObject": b64url(&attestation),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }

    /// What an honest client answers to the sign-in `options` from
    /// `origin`: UP and UV set, the counter one up (and remembered; it
    /// stays 0 if it is 0), this credential and its user handle.
    pub fn assertion(&mut self, options: &Value, origin: &str) -> Assertion {
        if self.sign_count != 0 {
            self.sign_count += 1;
        }
        Assertion {
            client_data: ClientData {
                kind: GET.into(),
                challenge: options["challenge"].as_str().unwrap_or_default().to_owned(),
                origin: origin.to_owned(),
                cross_origin: false,
            },
            rp_id: self.rp_id.clone(),
            flags: USER_PRESENT | USER_VERIFIED,
            sign_count: self.sign_count,
            credential_id: self.credential_id.clone(),
            user_handle: Some(self.user_handle.clone()),
            wrong_signature: false,
        }
    }

    /// The `AuthenticationResponseJSON` of `assertion`, signed with this
    /// key over `authenticatorData || SHA-256(clientDataJSON)`.
    pub fn sign(&self, assertion: &Assertion) -> Value {
        let auth_data = authenticator_data(&assertion.rp_id, assertion.flags, assertion.sign_count);
        let client_data = assertion.client_data.to_bytes();
        let mut signed = auth_data.clone();
        if assertion.wrong_signature
            && let Some(last) = signed.last_mut()
        {
            *last ^= 1;
        }
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: DerSignature = self.key.sign(&signed);

        let id = b64url(&assertion.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(&client_data),
                "authenticatorData": b64url(&auth_data),
                "signature": b64url(signature.as_bytes()),
                "userHandle": assertion.user_handle,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }
}

/// The 37 bytes every `authenticatorData` starts with: SHA-256 of the RP
/// id, the flags, the counter (big-endian).
pub fn authenticator_data(rp_id: &str, flags: u8, sign_count: u32) -> Vec<u8> {
    let mut out = Sha256::digest(rp_id.as_bytes()).to_vec();
    out.push(flags);
    out.extend_from_slice(&sign_count.to_be_bytes());
    out
}

/// The few CBOR (RFC 8949) items an attestation object and a COSE key
/// need, in definite lengths: integers, byte and text strings, map heads.
pub mod cbor {
    /// A head: major type `major` with argument `value`, shortest form.
    fn head(out: &mut Vec<u8>, major: u8, value: u64) {
        let major = major << 5;
        match value {
            0..=23 => out.push(major | u8::try_from(value).unwrap_or_default()),
            24..=0xff => {
                out.push(major | 24);
                out.push(u8::try_from(value).unwrap_or_default());
            }
            0x100..=0xffff => {
                out.push(major | 25);
                out.extend_from_slice(&u16::try_from(value).unwrap_or_default().to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(major | 26);
                out.extend_from_slice(&u32::try_from(value).unwrap_or_default().to_be_bytes());
            }
            _ => {
                out.push(major | 27);
                out.extend_from_slice(&value.to_be_bytes());
            }
        }
    }

    /// An integer: major type 0, or 1 (`-1 - n`) when negative.
    pub fn int(out: &mut Vec<u8>, value: i64) {
        match u64::try_from(value) {
            Ok(value) => head(out, 0, value),
            Err(_) => head(out, 1, value.unsigned_abs() - 1),
        }
    }

    /// A byte string (major type 2).
    pub fn bytes(out: &mut Vec<u8>, value: &[u8]) {
        head(out, 2, value.len() as u64);
        out.extend_from_slice(value);
    }

    /// A text string (major type 3).
    pub fn text(out: &mut Vec<u8>, value: &str) {
        head(out, 3, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }

    /// The head of a map of `pairs` pairs (major type 5); the keys and
    /// values follow.
    pub fn map(out: &mut Vec<u8>, pairs: u64) {
        head(out, 5, pairs);
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::{VerifyingKey, signature::Verifier as _};

    use super::*;

    fn options() -> Value {
        json!({
            "rp": { "id": "example.com", "name": "Example" },
            "user": { "id": "dXNlcg", "name": "ada@example.com", "displayName": "Ada" },
            "challenge": b64url(&[7; 32]),
        })
    }

    /// RFC 8949, appendix A.
    #[test]
    fn cbor_vectors() {
        let int = |value| {
            let mut out = Vec::new();
            cbor::int(&mut out, value);
            out
        };
        assert_eq!(int(0), [0x00]);
        assert_eq!(int(23), [0x17]);
        assert_eq!(int(24), [0x18, 0x18]);
        assert_eq!(int(1000), [0x19, 0x03, 0xe8]);
        assert_eq!(int(1_000_000), [0x1a, 0x00, 0x0f, 0x42, 0x40]);
        assert_eq!(int(-1), [0x20]);
        assert_eq!(int(-7), [0x26]);
        assert_eq!(int(-100), [0x38, 0x63]);
        assert_eq!(int(-1000), [0x39, 0x03, 0xe7]);
        let mut out = Vec::new();
        cbor::text(&mut out, "IETF");
        assert_eq!(out, [0x64, 0x49, 0x45, 0x54, 0x46]);
        let mut out = Vec::new();
        cbor::bytes(&mut out, &[1, 2, 3, 4]);
        assert_eq!(out, [0x44, 1, 2, 3, 4]);
        let mut out = Vec::new();
        cbor::map(&mut out, 0);
        assert_eq!(out, [0xa0]);
    }

    #[test]
    fn cose_key_is_ec2_es256() {
        let passkey = Passkey::new(&options(), 0);
        let key = passkey.cose_key();
        let (x, y) = passkey.public_xy();
        let mut expected = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        expected.extend_from_slice(&x);
        expected.extend_from_slice(&[0x22, 0x58, 0x20]);
        expected.extend_from_slice(&y);
        assert_eq!(key, expected);
    }

    #[test]
    fn registration_carries_the_credential() {
        let passkey = Passkey::new(&options(), 5);
        assert_eq!(passkey.rp_id, "example.com");
        assert_eq!(passkey.user_handle, "dXNlcg");
        let json = passkey.attest(&passkey.registration(&options(), "https://example.com"));
        let client = from_b64url(json["response"]["clientDataJSON"].as_str().unwrap()).unwrap();
        let client: Value = serde_json::from_slice(&client).unwrap();
        assert_eq!(client["type"], CREATE);
        assert_eq!(client["challenge"], b64url(&[7; 32]));
        assert_eq!(client["origin"], "https://example.com");
        assert_eq!(client["crossOrigin"], false);

        let object = from_b64url(json["response"]["attestationObject"].as_str().unwrap()).unwrap();
        // {"fmt": "none", "attStmt": {}, "authData": h'...'}
        let mut start = vec![0xa3, 0x63];
        start.extend_from_slice(b"fmt");
        start.push(0x64);
        start.extend_from_slice(b"none");
        start.push(0x67);
        start.extend_from_slice(b"attStmt");
        start.push(0xa0);
        start.push(0x68);
        start.extend_from_slice(b"authData");
        assert!(object.starts_with(&start));
        // authData: 37 + 16 + 2 + 16 + 77 bytes (a 0x58 length byte first).
        let auth_data = &object[start.len() + 2..];
        assert_eq!(object[start.len()], 0x58);
        assert_eq!(usize::from(object[start.len() + 1]), auth_data.len());
        assert_eq!(auth_data.len(), 37 + 16 + 2 + 16 + 77);
        assert_eq!(&auth_data[..32], Sha256::digest(b"example.com").as_slice());
        assert_eq!(auth_data[32], 0x45);
        assert_eq!(&auth_data[33..37], &[0, 0, 0, 5]);
        assert_eq!(&auth_data[37..53], &[0; 16]);
        assert_eq!(&auth_data[53..55], &[0, 16]);
        assert_eq!(&auth_data[55..71], passkey.credential_id.as_slice());
        assert_eq!(&auth_data[71..], passkey.cose_key().as_slice());
        assert_eq!(json["id"], b64url(&passkey.credential_id));
        assert_eq!(json["rawId"], json["id"]);
    }

    #[test]
    fn assertions_verify_and_count_up() {
        let mut passkey = Passkey::new(&options(), 5);
        let assertion = passkey.assertion(&options(), "https://example.com");
        assert_eq!(assertion.sign_count, 6);
        assert_eq!(passkey.sign_count, 6);
        let json = passkey.sign(&assertion);
        let response = &json["response"];
        let field = |name: &str| from_b64url(response[name].as_str().unwrap()).unwrap();
        let auth_data = field("authenticatorData");
        assert_eq!(auth_data.len(), 37);
        assert_eq!(auth_data[32], USER_PRESENT | USER_VERIFIED);
        assert_eq!(&auth_data[33..], &[0, 0, 0, 6]);
        assert_eq!(response["userHandle"], "dXNlcg");

        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(field("clientDataJSON")));
        let signature = DerSignature::try_from(field("signature").as_slice()).unwrap();
        let (x, y) = passkey.public_xy();
        let mut sec1 = vec![4];
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        let key = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        key.verify(&signed, &signature).unwrap();

        let mut wrong = assertion.clone();
        wrong.wrong_signature = true;
        let json = passkey.sign(&wrong);
        let signature = from_b64url(json["response"]["signature"].as_str().unwrap()).unwrap();
        let signature = DerSignature::try_from(signature.as_slice()).unwrap();
        assert!(key.verify(&signed, &signature).is_err());

        let mut counterless = Passkey::new(&options(), 0);
        assert_eq!(counterless.assertion(&options(), "o").sign_count, 0);
        assert_eq!(counterless.assertion(&options(), "o").sign_count, 0);
    }
}
