//! A software passkey authenticator for tests: it answers registration
//! and sign-in options as a browser with a platform authenticator would,
//! ES256 with attestation `none`, and lets a test change what a real one
//! never would (the origin, the RP id, the flags, the counter).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer as _};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Flag bits of `authenticatorData`.
const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const ATTESTED: u8 = 0x40;

/// One discoverable ES256 credential, as a platform authenticator keeps it.
///
/// ```
/// use auth_core::testing::SoftAuthenticator;
/// use serde_json::json;
///
/// let mut authenticator = SoftAuthenticator::new("example.com", "https://example.com");
/// let options = json!({"challenge": "AAAA", "user": {"id": "dXNlcg"}});
/// let credential = authenticator.create(&options);
/// assert_eq!(credential["type"], "public-key");
/// let assertion = authenticator.get(&json!({"challenge": "AAAA"}));
/// assert_eq!(assertion["response"]["userHandle"], "dXNlcg");
/// ```
pub struct SoftAuthenticator {
    key: SigningKey,
    credential_id: Vec<u8>,
    user_handle: String,
    /// The RP id whose SHA-256 goes into `authenticatorData`.
    pub rp_id: String,
    /// The origin written into `clientDataJSON`.
    pub origin: String,
    /// Whether the UV flag is set (a PIN or biometric was checked).
    pub user_verified: bool,
    /// The sign counter: raised by one before each assertion.
    pub counter: u32,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("rp_id", &self.rp_id)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl SoftAuthenticator {
    /// A new credential for `rp_id`, used from `origin`, with user
    /// verification and a counter at 0.
    ///
    /// # Panics
    /// When the system's random source fails (tests only).
    #[allow(clippy::expect_used)]
    pub fn new(rp_id: &str, origin: &str) -> Self {
        let key = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("random bytes");
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                break key;
            }
        };
        let mut credential_id = vec![0u8; 32];
        getrandom::fill(&mut credential_id).expect("random bytes");
        Self {
            key,
            credential_id,
            user_handle: String::new(),
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            user_verified: true,
            counter: 0,
        }
    }

    /// The credential id.
    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }

    /// The answer to registration `options` (the server's
    /// `PublicKeyCredentialCreationOptionsJSON`), as `toJSON()` gives it;
    /// keeps the options' `user.id` as the user handle.
    pub fn create(&mut self, options: &Value) -> Value {
        self.user_handle = options["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let point = self.key.verifying_key().to_sec1_point(false);
        let mut cose = Cbor::default();
        cose.map(5);
        cose.int(1).int(2); // kty: EC2
        cose.int(3).int(-7); // alg: ES256
        cose.int(-1).int(1); // crv: P-256
        cose.int(-2)
            .bytes(point.x().map(|x| x.as_slice()).unwrap_or_default());
        cose.int(-3)
            .bytes(point.y().map(|y| y.as_slice()).unwrap_or_default());
        let mut auth_data = self.auth_data(ATTESTED);
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
        auth_data.extend_from_slice(
            &u16::try_from(self.credential_id.len())
                .unwrap_or(0)
                .to_be_bytes(),
        );
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&cose.0);
        let mut attestation = Cbor::default();
        attestation.map(3);
        attestation.text("fmt").text("none");
        attestation.text("attStmt").map(0);
        attestation.text("authData").bytes(&auth_data);
        let client_data = self.client_data("webauthn.create", options);
        let id = URL_SAFE_NO_PAD.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation.0),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        })
    }

    /// The answer to sign-in `options` (the server's
    /// `PublicKeyCredentialRequestOptionsJSON`), as `toJSON()` gives it:
    /// the counter raised, `authenticatorData` and the client data signed.
    pub fn get(&mut self, options: &Value) -> Value {
        self.counter = self.counter.wrapping_add(1);
        let auth_data = self.auth_data(0);
        let client_data = self.client_data("webauthn.get", options);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: DerSignature = self.key.sign(&signed);
        let id = URL_SAFE_NO_PAD.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
                "authenticatorData": URL_SAFE_NO_PAD.encode(auth_data),
                "signature": URL_SAFE_NO_PAD.encode(signature.as_bytes()),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        })
    }

    fn auth_data(&self, extra_flags: u8) -> Vec<u8> {
        let mut flags = USER_PRESENT | extra_flags;
        if self.user_verified {
            flags |= USER_VERIFIED;
        }
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": options["challenge"],
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }
}

/// Just enough CBOR (RFC 8949) for an attestation object and a COSE key.
#[derive(Default)]
struct Cbor(Vec<u8>);

impl Cbor {
    fn head(&mut self, major: u8, value: u64) -> &mut Self {
        let major = major << 5;
        match value {
            0..=23 => self.0.push(major | value as u8),
            24..=0xff => self.0.extend_from_slice(&[major | 24, value as u8]),
            0x100..=0xffff => {
                self.0.push(major | 25);
                self.0.extend_from_slice(&(value as u16).to_be_bytes());
            }
            _ => {
                self.0.push(major | 26);
                self.0.extend_from_slice(&(value as u32).to_be_bytes());
            }
        }
        self
    }

    fn int(&mut self, value: i64) -> &mut Self {
        if value >= 0 {
            self.head(0, value.unsigned_abs())
        } else {
            self.head(1, (-1 - value).unsigned_abs())
        }
    }

    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.head(2, bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.head(3, text.len() as u64);
        self.0.extend_from_slice(text.as_bytes());
        self
    }

    fn map(&mut self, entries: u64) -> &mut Self {
        self.head(5, entries)
    }
}
