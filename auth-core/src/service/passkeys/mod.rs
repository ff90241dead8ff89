//! Passkeys (WebAuthn): sign-in without a password, usernameless. See
//! [`Passkeys`]; the ceremonies' checks are in `webauthn`.
//!
//! Each passkey is a `passkey` row of the [`CredentialStore`]: its public
//! key, sign counter and name, found by a hash of its credential id. A
//! pending ceremony is a `passkey_registration` or `passkey_sign_in` row
//! under the hash of its `challenge_id`, used up by its first attempt.

use std::{sync::Arc, time::Duration as StdDuration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{AuthService, Principal, second_factor::FirstFactor};
use crate::{
    AuthError, Clock, CredentialId, CredentialKind, CredentialStore, NewCredential, SignIn, UserId,
    sign_in::ChallengeToken, store::Credential,
};
use webauthn::{PublicKey, RelyingParty};

pub(crate) mod routes;
#[cfg(test)]
mod tests;
mod webauthn;

pub use routes::{
    PasskeyCreationOptions, PasskeyInfo, PasskeyRequestOptions, PasskeySignInRequest,
    RegisterPasskeyRequest,
};
pub use webauthn::{
    AssertionResponse, AttestationResponse, AuthenticationResponse, Base64Url, RegistrationResponse,
};

/// How long a ceremony's challenge lasts: 5 minutes.
pub const CHALLENGE_TTL: StdDuration = StdDuration::from_secs(5 * 60);

/// The longest passkey name, in characters.
pub const MAX_PASSKEY_NAME_CHARS: usize = 64;

/// The name of a passkey registered without one.
pub const DEFAULT_PASSKEY_NAME: &str = "Passkey";

/// The most passkeys one user may have: each is offered in every
/// registration's exclude list.
pub const MAX_PASSKEYS: usize = 25;

/// Rounds of compare-and-swap on a passkey's counter: each lost round is
/// another sign-in with the same passkey.
const MAX_ROUNDS: usize = 8;

/// WebAuthn's largest user handle, in bytes.
const MAX_USER_HANDLE: usize = 64;

const PASSKEY: CredentialKind = super::sign_in_methods::PASSKEY;
const REGISTRATION: CredentialKind = super::sign_in_methods::PASSKEY_REGISTRATION;
const SIGN_IN: CredentialKind = CredentialKind::new("passkey_sign_in");

/// Passkeys as a sign-in method: registration by a signed-in user, and
/// usernameless sign-in with a discoverable credential. Register it with
/// [`AuthServiceBuilder::passkeys`](crate::AuthServiceBuilder::passkeys);
/// it needs a [credentials store](crate::AuthServiceBuilder::credentials).
///
/// `rp_id` is the relying party id, a domain name (never an IP address;
/// `localhost` for development), and `origins` the page origins allowed
/// to use it: each must be the RP id or one of its subdomains, which
/// [`build`](crate::AuthServiceBuilder::build) checks. Registration asks
/// for a resident key and requires user verification; a sign-in with user
/// verification counts as two factors, one without as a first factor that
/// a user's second factor still follows.
///
/// ```
/// use auth_core::{AuthService, JwtCodec, MemoryStore, service::Passkeys};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::AuthError> {
/// let store = MemoryStore::new();
/// let auth = AuthService::builder(store.clone(), store.clone())
///     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
///     .credentials(store)
///     .passkeys(Passkeys::new("example.com", ["https://example.com"]).rp_name("Example"))
///     .build()?;
/// let options = auth.passkey_sign_in_options().await?;
/// assert_eq!(options.options["rpId"], "example.com");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Passkeys {
    rp_id: String,
    rp_name: Option<String>,
    origins: Vec<String>,
}

impl Passkeys {
    /// Passkeys for the relying party `rp_id`, used from `origins` (full
    /// origins: `https://app.example.com`, `http://localhost:8080`).
    pub fn new(
        rp_id: impl Into<String>,
        origins: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            rp_id: rp_id.into(),
            rp_name: None,
            origins: origins.into_iter().map(Into::into).collect(),
        }
    }

    /// The name authenticators show beside the account (default: the RP
    /// id).
    pub fn rp_name(mut self, name: impl Into<String>) -> Self {
        self.rp_name = Some(name.into());
        self
    }

    /// The relying party id.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// The configuration's problem, if it has one: an RP id that is not a
    /// lowercase domain name, no origins, or an origin that is not
    /// `http(s)://host[:port]` with a host the RP id covers.
    pub(super) fn check(&self) -> Result<Vec<url::Url>, String> {
        let rp_id = &self.rp_id;
        let labels_ok = rp_id.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        if rp_id.len() > 253 || !labels_ok || rp_id.parse::<std::net::IpAddr>().is_ok() {
            return Err(format!(
                "the passkey RP id {rp_id:?} must be a lowercase domain name, not an IP address \
                 (use localhost for a loopback address)"
            ));
        }
        if self
            .rp_name
            .as_deref()
            .is_some_and(|name| name.trim().is_empty() || name.chars().any(char::is_control))
        {
            return Err("the passkey RP name must be non-empty text".to_owned());
        }
        if self.origins.is_empty() {
            return Err("passkeys need at least one allowed origin".to_owned());
        }
        self.origins
            .iter()
            .map(|origin| {
                let url = url::Url::parse(origin)
                    .ok()
                    .filter(|url| {
                        matches!(url.scheme(), "http" | "https")
                            && url.path() == "/"
                            && url.query().is_none()
                            && url.fragment().is_none()
                            && url.username().is_empty()
                            && url.password().is_none()
                            && !origin.ends_with('/')
                    })
                    .ok_or_else(|| {
                        format!("the passkey origin {origin:?} must be http(s)://host[:port]")
                    })?;
                let host = match url.host() {
                    Some(url::Host::Domain(host)) => host,
                    _ => "",
                };
                if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
                    return Err(format!(
                        "the passkey RP id {rp_id:?} does not cover the origin {origin:?}: \
                         its host must be the RP id or a subdomain of it"
                    ));
                }
                Ok(url)
            })
            .collect()
    }

    /// Its runtime; `origins` are the ones [`check`](Self::check) parsed.
    pub(super) fn start(
        self,
        origins: Vec<url::Url>,
        store: Arc<dyn CredentialStore>,
        clock: Arc<dyn Clock>,
    ) -> Runtime {
        let rp = RelyingParty {
            name: self.rp_name.unwrap_or_else(|| self.rp_id.clone()),
            id: self.rp_id,
            origins: origins
                .iter()
                .map(|origin| origin.origin().ascii_serialization())
                .collect(),
        };
        Runtime { rp, store, clock }
    }
}

/// [`Passkeys`] ready to use.
pub(crate) struct Runtime {
    rp: RelyingParty,
    store: Arc<dyn CredentialStore>,
    clock: Arc<dyn Clock>,
}

/// A passkey as kept.
#[derive(Serialize, Deserialize)]
struct Stored {
    name: String,
    /// The WebAuthn credential id, base64url.
    credential_id: String,
    public_key: PublicKey,
    /// The sign counter of its last assertion (0 for passkeys that keep
    /// none).
    counter: u32,
    backup_eligible: bool,
    backed_up: bool,
    transports: Vec<String>,
}

/// A pending ceremony: its challenge, base64url.
#[derive(Serialize, Deserialize)]
struct Ceremony {
    challenge: String,
}

impl Ceremony {
    fn challenge(&self) -> Result<Vec<u8>, AuthError> {
        URL_SAFE_NO_PAD
            .decode(&self.challenge)
            .map_err(AuthError::internal)
    }
}

impl Stored {
    fn parse(row: &Credential) -> Result<Self, AuthError> {
        serde_json::from_slice(&row.data).map_err(AuthError::internal)
    }

    fn info(&self, row: &Credential) -> PasskeyInfo {
        PasskeyInfo {
            id: row.id.as_str().to_owned(),
            name: self.name.clone(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// The lookup of a passkey: its credential id's SHA-256, in hex (ids may
/// be up to 1023 bytes; a lookup is at most 255).
fn passkey_lookup(credential_id: &[u8]) -> String {
    crate::TokenHash::from_bytes(Sha256::digest(credential_id).into()).to_hex()
}

/// A checked passkey name: trimmed, 1 to [`MAX_PASSKEY_NAME_CHARS`]
/// characters, none hidden or a control; [`DEFAULT_PASSKEY_NAME`] when
/// none is given.
fn passkey_name(name: Option<&str>) -> Result<String, AuthError> {
    let Some(name) = name else {
        return Ok(DEFAULT_PASSKEY_NAME.to_owned());
    };
    super::name::required_name(name, MAX_PASSKEY_NAME_CHARS)
}

/// A failed ceremony, logged at debug level (its detail is for the
/// operator, never for the client).
fn refused(why: webauthn::Refusal) -> AuthError {
    tracing::debug!(why, "passkey ceremony refused");
    AuthError::InvalidCredential
}

/// 32 random bytes: a ceremony's challenge.
fn new_challenge() -> Result<[u8; 32], AuthError> {
    let mut challenge = [0u8; 32];
    getrandom::fill(&mut challenge).map_err(AuthError::internal)?;
    Ok(challenge)
}

/// [`CHALLENGE_TTL`] in milliseconds, the options' `timeout`.
const TIMEOUT_MS: u64 = CHALLENGE_TTL.as_secs() * 1000;

impl AuthService {
    /// The options for registering a new passkey for the signed-in user:
    /// a resident key with user verification, the user's passkeys in the
    /// exclude list. Pass `options` to the browser's
    /// `navigator.credentials.create` (after
    /// `PublicKeyCredential.parseCreationOptionsFromJSON`) and its answer to
    /// [`register_passkey`](Self::register_passkey) with `challenge_id`.
    ///
    /// # Errors
    /// [`AuthError::ReauthenticationRequired`] when the session was signed
    /// in more than [`REAUTHENTICATION_WINDOW`](super::REAUTHENTICATION_WINDOW)
    /// ago, so that only a fresh session's token can add a lasting way in
    /// (SECURITY.md says what remains); [`AuthError::EmailNotVerified`]
    /// until the address is
    /// verified; [`AuthError::TooManyPasskeys`] at [`MAX_PASSKEYS`];
    /// [`AuthError::NotFound`] when passkeys are not set up.
    pub async fn passkey_registration_options(
        &self,
        principal: &Principal,
    ) -> Result<PasskeyCreationOptions, AuthError> {
        let runtime = self.passkey_runtime()?;
        self.require_recent_sign_in(principal).await?;
        let user = self.user_by_id(principal.user_id()).await?;
        if !user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        let handle = user.id.as_str().as_bytes();
        if handle.len() > MAX_USER_HANDLE {
            return Err(AuthError::internal(
                "a passkey user handle (the user id) has at most 64 bytes",
            ));
        }
        let rows = runtime.store.list(&user.id, &PASSKEY).await?;
        if rows.len() >= MAX_PASSKEYS {
            return Err(AuthError::TooManyPasskeys);
        }
        let mut exclude = Vec::new();
        for row in rows {
            let stored = Stored::parse(&row)?;
            let id = URL_SAFE_NO_PAD
                .decode(&stored.credential_id)
                .map_err(AuthError::internal)?;
            exclude.push((id, stored.transports));
        }
        let display_name = user.name.as_deref().unwrap_or(user.email.as_str());
        let challenge = new_challenge()?;
        let options = runtime.rp.creation_options(
            &challenge,
            handle,
            user.email.as_str(),
            display_name,
            &exclude,
            TIMEOUT_MS,
        );
        let challenge_id = self
            .keep_ceremony(runtime, REGISTRATION, Some(&user.id), &challenge)
            .await?;
        Ok(PasskeyCreationOptions {
            challenge_id,
            options,
        })
    }

    /// Registers the passkey the browser created for the options of
    /// `challenge_id`, named `name` (or [`DEFAULT_PASSKEY_NAME`]), and
    /// mails the user that a passkey was added. The session must still be
    /// recent and the address verified, as for the options.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredential`] when the ceremony fails (an
    /// unknown, used, expired or another user's challenge; a wrong
    /// origin, RP id or challenge; no user verification; a credential id
    /// already registered); [`AuthError::InvalidName`] for a bad name;
    /// [`AuthError::ReauthenticationRequired`],
    /// [`AuthError::EmailNotVerified`] as for the options.
    pub async fn register_passkey(
        &self,
        principal: &Principal,
        challenge_id: &str,
        credential: &RegistrationResponse,
        name: Option<&str>,
    ) -> Result<PasskeyInfo, AuthError> {
        let runtime = self.passkey_runtime()?;
        let name = passkey_name(name)?;
        self.require_recent_sign_in(principal).await?;
        let user = self.user_by_id(principal.user_id()).await?;
        if !user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        let user_id = &user.id;
        let row = self
            .take_ceremony(runtime, REGISTRATION, challenge_id, Some(user_id))
            .await?;
        let ceremony: Ceremony = serde_json::from_slice(&row.data).map_err(AuthError::internal)?;
        let passkey = runtime
            .rp
            .register(credential, &ceremony.challenge()?)
            .map_err(refused)?;
        let now = self.inner.now();
        let stored = Stored {
            name,
            credential_id: URL_SAFE_NO_PAD.encode(&passkey.credential_id),
            public_key: passkey.public_key,
            counter: passkey.counter,
            backup_eligible: passkey.backup_eligible,
            backed_up: passkey.backed_up,
            transports: passkey.transports,
        };
        let row = runtime
            .store
            .insert(NewCredential {
                id: CredentialId::generate()?,
                kind: PASSKEY,
                lookup: passkey_lookup(&passkey.credential_id),
                user_id: Some(user_id.clone()),
                data: serde_json::to_vec(&stored).map_err(AuthError::internal)?,
                created_at: now,
                expires_at: None,
            })
            .await?
            .ok_or(AuthError::InvalidCredential)?;
        self.notify(crate::MessageKind::PasskeyAdded, &user.email)
            .await;
        Ok(stored.info(&row))
    }

    /// The user's passkeys, oldest first.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when passkeys are not set up.
    pub async fn passkeys(&self, user_id: &UserId) -> Result<Vec<PasskeyInfo>, AuthError> {
        let runtime = self.passkey_runtime()?;
        runtime
            .store
            .list(user_id, &PASSKEY)
            .await?
            .iter()
            .map(|row| Ok(Stored::parse(row)?.info(row)))
            .collect()
    }

    /// Deletes the user's passkey `id`; it signs in no more.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] for an unknown id or another user's;
    /// [`AuthError::LastSignInMethod`] when it is the user's last way to
    /// sign in (no password, no other passkey or linked identity).
    pub async fn delete_passkey(&self, user_id: &UserId, id: &str) -> Result<(), AuthError> {
        let runtime = self.passkey_runtime()?;
        // Ids are made by `CredentialId::generate`: anything else (a NUL a
        // SQL store could not even look up) names no passkey.
        let well_formed = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(AuthError::NotFound);
        }
        let row = runtime
            .store
            .get(&CredentialId::new(id))
            .await?
            .filter(|row| row.kind == PASSKEY && row.user_id.as_ref() == Some(user_id))
            .ok_or(AuthError::NotFound)?;
        let user = self.user_by_id(user_id).await?;
        self.remove_sign_in_credential(&user, row).await
    }

    /// The options of a usernameless sign-in: a challenge, no allowed
    /// credentials (the authenticator offers its discoverable ones), user
    /// verification preferred. Pass `options` to
    /// `navigator.credentials.get` and its answer to
    /// [`sign_in_with_passkey`](Self::sign_in_with_passkey). An HTTP route
    /// that serves this should call [`admit_client`](Self::admit_client):
    /// each call keeps a row for 5 minutes.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when passkeys are not set up.
    pub async fn passkey_sign_in_options(&self) -> Result<PasskeyRequestOptions, AuthError> {
        let runtime = self.passkey_runtime()?;
        let challenge = new_challenge()?;
        let options = runtime.rp.request_options(&challenge, TIMEOUT_MS);
        let challenge_id = self
            .keep_ceremony(runtime, SIGN_IN, None, &challenge)
            .await?;
        Ok(PasskeyRequestOptions {
            challenge_id,
            options,
        })
    }

    /// Signs in with the passkey assertion the browser gave for the
    /// options of `challenge_id`. With user verification the sign-in is
    /// complete; without, it is a first factor, and a user with a second
    /// factor gets [`SignIn::SecondFactorRequired`].
    ///
    /// A sign counter that did not go up (a possibly cloned
    /// authenticator) refuses the sign-in and is logged as a warning.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredential`] when the ceremony fails: an
    /// unknown, used or expired challenge, an unknown passkey, a user
    /// handle that is not its owner's, a wrong origin, RP id or
    /// signature, a counter that went backwards.
    pub async fn sign_in_with_passkey(
        &self,
        challenge_id: &str,
        credential: &AuthenticationResponse,
    ) -> Result<SignIn, AuthError> {
        let runtime = self.passkey_runtime()?;
        let ceremony = self
            .take_ceremony(runtime, SIGN_IN, challenge_id, None)
            .await?;
        let ceremony: Ceremony =
            serde_json::from_slice(&ceremony.data).map_err(AuthError::internal)?;
        let lookup = passkey_lookup(&credential.raw_id.0);
        let (user_id, verified) = self
            .check_assertion(runtime, &lookup, credential, &ceremony.challenge()?)
            .await?;
        let user = self
            .inner
            .users
            .find_user_by_id(&user_id)
            .await?
            .ok_or(AuthError::InvalidCredential)?;
        let factor = if verified {
            FirstFactor::VerifiedPasskey
        } else {
            FirstFactor::Passkey
        };
        self.finish_first_factor(user, factor).await
    }

    /// Verifies an assertion against the passkey it names and moves the
    /// passkey's counter forward (compare-and-swap); the owner, and
    /// whether the user was verified.
    async fn check_assertion(
        &self,
        runtime: &Runtime,
        lookup: &str,
        credential: &AuthenticationResponse,
        challenge: &[u8],
    ) -> Result<(UserId, bool), AuthError> {
        for _ in 0..MAX_ROUNDS {
            let row = runtime
                .store
                .find(&PASSKEY, lookup)
                .await?
                .filter(|row| row.kind == PASSKEY)
                .ok_or(AuthError::InvalidCredential)?;
            let user_id = row.user_id.clone().ok_or(AuthError::InvalidCredential)?;
            let mut stored = Stored::parse(&row)?;
            let assertion = runtime
                .rp
                .authenticate(credential, challenge, &stored.public_key, stored.counter)
                .map_err(|why| {
                    if why == webauthn::COUNTER_WENT_BACK {
                        tracing::warn!(
                            passkey = %row.id,
                            user = %user_id,
                            "passkey sign-in refused: its sign counter did not go up \
                             (a cloned authenticator?)"
                        );
                    }
                    refused(why)
                })?;
            // After the signature, so that its timing tells nothing of
            // whose the credential id is.
            let handle = credential.response.user_handle.as_ref();
            if handle.map(|handle| handle.0.as_slice()) != Some(user_id.as_str().as_bytes()) {
                return Err(refused("the user handle is not the passkey's owner"));
            }
            stored.counter = assertion.counter;
            stored.backed_up = assertion.backed_up;
            let data = serde_json::to_vec(&stored).map_err(AuthError::internal)?;
            let now = runtime.clock.now();
            if runtime
                .store
                .update(&row.id, row.version, &data, Some(now))
                .await?
            {
                return Ok((user_id, assertion.user_verified));
            }
            // Another sign-in with this passkey won: check the counter
            // again against what it stored.
        }
        Err(AuthError::InvalidCredential)
    }

    /// Keeps a ceremony's challenge for [`CHALLENGE_TTL`]; its
    /// `challenge_id`.
    async fn keep_ceremony(
        &self,
        runtime: &Runtime,
        kind: CredentialKind,
        user_id: Option<&UserId>,
        challenge: &[u8],
    ) -> Result<String, AuthError> {
        let ceremony = Ceremony {
            challenge: URL_SAFE_NO_PAD.encode(challenge),
        };
        let token = ChallengeToken::generate()?;
        let now: OffsetDateTime = runtime.clock.now();
        runtime
            .store
            .insert(NewCredential {
                id: CredentialId::generate()?,
                kind,
                lookup: token.hash().to_hex(),
                user_id: user_id.cloned(),
                data: serde_json::to_vec(&ceremony).map_err(AuthError::internal)?,
                created_at: now,
                expires_at: Some(super::expiry(now, CHALLENGE_TTL)?),
            })
            .await?
            .ok_or_else(|| AuthError::internal("a passkey challenge was drawn twice"))?;
        Ok(token.expose_secret().to_owned())
    }

    /// Uses up the pending ceremony `challenge_id` of `kind`, owned by
    /// `user_id` (`None` for a sign-in): its first attempt spends it,
    /// whatever the outcome.
    async fn take_ceremony(
        &self,
        runtime: &Runtime,
        kind: CredentialKind,
        challenge_id: &str,
        user_id: Option<&UserId>,
    ) -> Result<Credential, AuthError> {
        let token = ChallengeToken::parse(challenge_id).ok_or(AuthError::InvalidCredential)?;
        let now = runtime.clock.now();
        let row = runtime
            .store
            .find(&kind, &token.hash().to_hex())
            .await?
            .filter(|row| {
                row.kind == kind && row.user_id.as_ref() == user_id && !row.is_expired_at(now)
            })
            .ok_or(AuthError::InvalidCredential)?;
        if !runtime.store.consume(&row.id, row.version).await? {
            return Err(AuthError::InvalidCredential);
        }
        Ok(row)
    }

    /// The passkeys runtime, or 404 when it is not set up.
    fn passkey_runtime(&self) -> Result<&Runtime, AuthError> {
        self.inner.passkeys.as_ref().ok_or(AuthError::NotFound)
    }
}
