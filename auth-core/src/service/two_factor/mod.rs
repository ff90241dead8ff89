//! TOTP (RFC 6238) and backup codes as second factors, and the calls that
//! set them up: [`TwoFactor`].
//!
//! Each user's factor lives in the [`CredentialStore`]: one `totp` row
//! (the secret sealed with the [`EncryptionKey`], and the last step
//! accepted, moved forward by compare-and-swap so that a code works
//! once), a `totp_setup` row until a code confirms a new secret, and one
//! `backup_code` row per unused code, under a keyed hash of it, used up
//! by an atomic `consume`.

use std::{sync::Arc, time::Duration as StdDuration};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{AuthService, Principal, Revoked};
use crate::{
    AuthError, Clock, CredentialId, CredentialKind, CredentialStore, EncryptionKey, MessageKind,
    NewCredential, Password, User, UserId, sign_in::SecondFactor, store::Credential,
};

pub(crate) mod codes;
pub(crate) mod routes;
#[cfg(test)]
mod tests;

pub use codes::Shown;
pub use routes::{
    BackupCodes, EnableTwoFactorRequest, PasswordConfirmation, TwoFactorVerifyRequest,
};

/// Backup codes in a set: 10.
pub const BACKUP_CODE_COUNT: usize = 10;

/// How long a setup waits for the code that turns it on: 15 minutes.
pub const SETUP_TTL: StdDuration = StdDuration::from_secs(15 * 60);

/// The longest issuer name, in bytes.
const MAX_ISSUER_LEN: usize = 64;

/// Rounds of compare-and-swap on a TOTP row before giving up: each lost
/// round is another request's accepted code, which only moves the last
/// step forward.
const MAX_ROUNDS: usize = 8;

const TOTP: CredentialKind = CredentialKind::new("totp");
const TOTP_SETUP: CredentialKind = CredentialKind::new("totp_setup");
const BACKUP_CODE: CredentialKind = CredentialKind::new("backup_code");

/// Two-factor authentication with an authenticator app (TOTP: SHA-1, 6
/// digits, 30 s steps, one step of drift, each code once) and 10
/// single-use backup codes. Register it with
/// [`AuthServiceBuilder::two_factor`](crate::AuthServiceBuilder::two_factor);
/// it needs a [credentials store](crate::AuthServiceBuilder::credentials).
///
/// `issuer` names the service in authenticator apps. `key` seals the TOTP
/// secrets and keys the backup codes' hashes: keep it like the JWT secret.
/// **Losing the key** makes every user's TOTP secret and backup codes
/// unusable: users with two-factor can no longer sign in until an operator
/// calls [`AuthService::reset_two_factor`] for them, after which they set
/// it up again.
///
/// ```
/// use auth_core::{AuthService, EncryptionKey, JwtCodec, MemoryStore, service::TwoFactor};
///
/// # fn main() -> Result<(), auth_core::AuthError> {
/// let store = MemoryStore::new();
/// let auth = AuthService::builder(store.clone(), store.clone())
///     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
///     .credentials(store)
///     .two_factor(TwoFactor::new("Example app", EncryptionKey::generate()?))
///     .build()?;
/// # let _ = auth; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TwoFactor {
    issuer: String,
    key: EncryptionKey,
}

impl TwoFactor {
    /// Two-factor named `issuer` in authenticator apps (1 to 64 bytes, no
    /// `:`), its secrets sealed with `key`.
    pub fn new(issuer: impl Into<String>, key: EncryptionKey) -> Self {
        Self {
            issuer: issuer.into(),
            key,
        }
    }

    /// The issuer's problem, if it has one.
    pub(super) fn check(&self) -> Result<(), String> {
        let issuer = &self.issuer;
        if issuer.trim().is_empty() || issuer.len() > MAX_ISSUER_LEN || issuer.contains(':') {
            return Err(format!(
                "the two-factor issuer must have 1 to {MAX_ISSUER_LEN} bytes and no ':'"
            ));
        }
        if issuer.chars().any(char::is_control) {
            return Err("the two-factor issuer must have no control characters".to_owned());
        }
        Ok(())
    }

    /// Its runtime and the two second factors it registers.
    pub(super) fn start(
        self,
        store: Arc<dyn CredentialStore>,
        clock: Arc<dyn Clock>,
    ) -> (Arc<Runtime>, [Box<dyn SecondFactor>; 2]) {
        let runtime = Arc::new(Runtime {
            settings: self,
            store,
            clock,
        });
        let factors: [Box<dyn SecondFactor>; 2] = [
            Box::new(TotpFactor(Arc::clone(&runtime))),
            Box::new(BackupCodeFactor(Arc::clone(&runtime))),
        ];
        (runtime, factors)
    }
}

/// [`TwoFactor`] with what its factors use.
pub(crate) struct Runtime {
    settings: TwoFactor,
    store: Arc<dyn CredentialStore>,
    clock: Arc<dyn Clock>,
}

/// A user's TOTP factor, as kept.
#[derive(Serialize, Deserialize)]
struct TotpState {
    /// The sealed secret.
    secret: String,
    /// The last step a code was accepted for.
    last_step: Option<u64>,
}

/// A setup waiting for its first code.
#[derive(Serialize, Deserialize)]
struct PendingSetup {
    /// The sealed secret.
    secret: String,
    /// The lookups of the backup codes it showed.
    backup_codes: Vec<String>,
}

impl Runtime {
    fn unix_now(&self) -> u64 {
        u64::try_from(self.clock.now().unix_timestamp()).unwrap_or(0)
    }

    /// The user's row of `kind`, looked up by their id.
    async fn row(
        &self,
        kind: &CredentialKind,
        user: &UserId,
    ) -> Result<Option<Credential>, AuthError> {
        let now = self.clock.now();
        Ok(self
            .store
            .find(kind, user.as_str())
            .await?
            .filter(|row| row.user_id.as_ref() == Some(user) && !row.is_expired_at(now)))
    }

    /// Whether `code` is the user's TOTP code for a step later than the
    /// last one accepted; if it is, that step is the last one accepted now.
    async fn accept_totp(&self, user: &UserId, code: &str) -> Result<bool, AuthError> {
        let Some(code) = codes::normalise(code, codes::TOTP_DIGITS) else {
            return Ok(false);
        };
        let now = self.unix_now();
        for _ in 0..MAX_ROUNDS {
            let Some(row) = self.row(&TOTP, user).await? else {
                return Ok(false);
            };
            let mut state: TotpState =
                serde_json::from_slice(&row.data).map_err(AuthError::internal)?;
            let Some(secret) = codes::TotpSecret::open(&self.settings.key, user, &state.secret)
            else {
                tracing::warn!(user_id = %user, "a TOTP secret does not open: was the encryption key changed?");
                return Ok(false);
            };
            let Some(step) = secret
                .steps_of(&code, now)?
                .into_iter()
                .find(|step| state.last_step.is_none_or(|last| *step > last))
            else {
                return Ok(false);
            };
            state.last_step = Some(step);
            let data = serde_json::to_vec(&state).map_err(AuthError::internal)?;
            if self
                .store
                .update(&row.id, row.version, &data, Some(self.clock.now()))
                .await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Uses up the user's backup code `code`, if it is one.
    async fn consume_backup_code(&self, user: &UserId, code: &str) -> Result<bool, AuthError> {
        let Some(code) = codes::normalise(code, codes::BACKUP_CODE_DIGITS) else {
            return Ok(false);
        };
        let lookup = codes::backup_code_lookup(&self.settings.key, user, &code)?;
        let Some(row) = self.store.find(&BACKUP_CODE, &lookup).await? else {
            return Ok(false);
        };
        if row.user_id.as_ref() != Some(user) {
            return Ok(false);
        }
        self.store.consume(&row.id, row.version).await
    }

    /// Stores the backup codes of `lookups` in place of the user's others.
    async fn store_backup_codes(
        &self,
        user: &UserId,
        lookups: Vec<String>,
    ) -> Result<(), AuthError> {
        self.store.delete_for_user(user, &BACKUP_CODE).await?;
        let now = self.clock.now();
        for lookup in lookups {
            self.store
                .insert(NewCredential {
                    id: CredentialId::generate()?,
                    kind: BACKUP_CODE,
                    lookup,
                    user_id: Some(user.clone()),
                    data: b"{}".to_vec(),
                    created_at: now,
                    expires_at: None,
                })
                .await?
                .ok_or_else(|| AuthError::internal("a backup code was drawn twice"))?;
        }
        Ok(())
    }

    /// A fresh set of backup codes for `user`: shown, and their lookups.
    fn new_backup_codes(&self, user: &UserId) -> Result<(Vec<Shown>, Vec<String>), AuthError> {
        let mut shown = Vec::with_capacity(BACKUP_CODE_COUNT);
        let mut lookups = Vec::with_capacity(BACKUP_CODE_COUNT);
        while shown.len() < BACKUP_CODE_COUNT {
            let code = codes::new_backup_code()?;
            let digits = codes::normalise(code.expose_secret(), codes::BACKUP_CODE_DIGITS)
                .ok_or_else(|| AuthError::internal("a backup code of the wrong shape"))?;
            let lookup = codes::backup_code_lookup(&self.settings.key, user, &digits)?;
            if !lookups.contains(&lookup) {
                lookups.push(lookup);
                shown.push(code);
            }
        }
        Ok((shown, lookups))
    }

    /// Forgets every part of the user's two-factor; whether TOTP was on.
    async fn remove(&self, user: &UserId) -> Result<bool, AuthError> {
        let was_on = self.store.delete_for_user(user, &TOTP).await? > 0;
        self.store.delete_for_user(user, &TOTP_SETUP).await?;
        self.store.delete_for_user(user, &BACKUP_CODE).await?;
        Ok(was_on)
    }
}

/// TOTP, the `totp` method.
struct TotpFactor(Arc<Runtime>);

#[async_trait]
impl SecondFactor for TotpFactor {
    fn method(&self) -> &'static str {
        "totp"
    }

    async fn is_enabled(&self, user: &UserId) -> Result<bool, AuthError> {
        Ok(self.0.row(&TOTP, user).await?.is_some())
    }

    async fn verify(&self, user: &UserId, code: &str) -> Result<bool, AuthError> {
        self.0.accept_totp(user, code).await
    }

    async fn remove(&self, user: &UserId) -> Result<(), AuthError> {
        self.0.remove(user).await.map(drop)
    }
}

/// Backup codes, the `backup_code` method: on while TOTP is on and codes
/// are left.
struct BackupCodeFactor(Arc<Runtime>);

#[async_trait]
impl SecondFactor for BackupCodeFactor {
    fn method(&self) -> &'static str {
        "backup_code"
    }

    async fn is_enabled(&self, user: &UserId) -> Result<bool, AuthError> {
        // One lookup for the many users without two-factor; the list only
        // for those with it.
        Ok(self.0.row(&TOTP, user).await?.is_some()
            && !self.0.store.list(user, &BACKUP_CODE).await?.is_empty())
    }

    async fn verify(&self, user: &UserId, code: &str) -> Result<bool, AuthError> {
        self.0.consume_backup_code(user, code).await
    }

    async fn remove(&self, user: &UserId) -> Result<(), AuthError> {
        self.0.remove(user).await.map(drop)
    }
}

/// A new TOTP secret, shown once: the secret (for typing), its
/// `otpauth://` URL and that URL as a QR code (an SVG `data:` URL, for an
/// `<img>`), and 10 backup codes.
//  What `AuthService::setup_two_factor` returns; every field is redacted
//  in `Debug`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorSetup {
    /// The secret in base32 (32 characters, no padding).
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Z2-7]{32}$"))]
    pub secret: Shown,
    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub otpauth_url: Shown,
    /// The URL as a QR code: `data:image/svg+xml;base64,…`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub qr_code_data_url: Shown,
    /// 10 single-use codes, `1234-5678-9012-3456`; they replace the old
    /// ones when the setup is turned on.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, min_items = 10, max_items = 10))]
    pub backup_codes: Vec<Shown>,
}

impl AuthService {
    /// The two-factor runtime, or 404 when it is not set up.
    fn two_factor(&self) -> Result<&Runtime, AuthError> {
        self.inner.two_factor.as_deref().ok_or(AuthError::NotFound)
    }

    /// Starts setting up TOTP for the principal: a new secret and backup
    /// codes, shown once. Nothing changes until
    /// [`enable_two_factor`](Self::enable_two_factor) gets a code of the
    /// new secret; a user who has two-factor on keeps the old secret and
    /// codes until then (moving to a new phone). A newer setup replaces an
    /// older pending one.
    ///
    /// `password` is the account's; an account without one passes `None`
    /// and must have signed in within [`REAUTHENTICATION_WINDOW`](super::REAUTHENTICATION_WINDOW).
    ///
    /// The account's address must be verified: the owner of an address
    /// takes back an unverified account by email sign-in, second factors
    /// and all (see
    /// [`verify_email_sign_in`](Self::verify_email_sign_in)), so a second
    /// factor there would not hold.
    ///
    /// # Errors
    /// [`AuthError::WrongPassword`]; [`AuthError::ReauthenticationRequired`];
    /// [`AuthError::EmailNotVerified`]; [`AuthError::TooManyAttempts`];
    /// [`AuthError::NotFound`] when two-factor is not set up on this
    /// service.
    pub async fn setup_two_factor(
        &self,
        principal: &Principal,
        password: Option<&Password>,
    ) -> Result<TwoFactorSetup, AuthError> {
        let runtime = self.two_factor()?;
        let user = self.reauthenticate(principal, password).await?;
        if !user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        let secret = codes::TotpSecret::generate()?;
        let enrolment = secret.enrolment(&runtime.settings.issuer, user.email.as_str())?;
        let (backup_codes, lookups) = runtime.new_backup_codes(&user.id)?;
        let now = self.inner.now();
        let pending = PendingSetup {
            secret: secret.seal(&runtime.settings.key, &user.id)?,
            backup_codes: lookups,
        };
        runtime
            .store
            .replace(NewCredential {
                id: CredentialId::generate()?,
                kind: TOTP_SETUP,
                lookup: user.id.as_str().to_owned(),
                user_id: Some(user.id.clone()),
                data: serde_json::to_vec(&pending).map_err(AuthError::internal)?,
                created_at: now,
                expires_at: Some(super::expiry(now, SETUP_TTL)?),
            })
            .await?;
        Ok(TwoFactorSetup {
            secret: enrolment.secret,
            otpauth_url: enrolment.otpauth_url,
            qr_code_data_url: enrolment.qr_code_data_url,
            backup_codes,
        })
    }

    /// Turns on the principal's pending setup with a code of its secret
    /// (that code's step counts as used). The setup's backup codes replace
    /// any others, every other session of the user is signed out (one
    /// opened with a single factor should not outlive this), and the user
    /// is told by mail.
    ///
    /// # Errors
    /// [`AuthError::InvalidSetupCode`] for a wrong or malformed code, or
    /// no pending setup; [`AuthError::EmailNotVerified`] if the address
    /// is no longer verified; [`AuthError::NotFound`] when two-factor is
    /// not set up on this service.
    pub async fn enable_two_factor(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<(), AuthError> {
        let runtime = self.two_factor()?;
        let user = self.user_by_id(principal.user_id()).await?;
        if !user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        let pending_row = runtime
            .row(&TOTP_SETUP, &user.id)
            .await?
            .ok_or(AuthError::InvalidSetupCode)?;
        let pending: PendingSetup =
            serde_json::from_slice(&pending_row.data).map_err(AuthError::internal)?;
        let secret = codes::TotpSecret::open(&runtime.settings.key, &user.id, &pending.secret)
            .ok_or(AuthError::InvalidSetupCode)?;
        let code = codes::normalise(code, codes::TOTP_DIGITS).ok_or(AuthError::InvalidSetupCode)?;
        let step = secret
            .steps_of(&code, runtime.unix_now())?
            .into_iter()
            .next()
            .ok_or(AuthError::InvalidSetupCode)?;
        if !runtime
            .store
            .consume(&pending_row.id, pending_row.version)
            .await?
        {
            return Err(AuthError::InvalidSetupCode);
        }
        let now = self.inner.now();
        let state = TotpState {
            secret: pending.secret,
            last_step: Some(step),
        };
        runtime
            .store
            .replace(NewCredential {
                id: CredentialId::generate()?,
                kind: TOTP,
                lookup: user.id.as_str().to_owned(),
                user_id: Some(user.id.clone()),
                data: serde_json::to_vec(&state).map_err(AuthError::internal)?,
                created_at: now,
                expires_at: None,
            })
            .await?;
        runtime
            .store_backup_codes(&user.id, pending.backup_codes)
            .await?;
        {
            let _forget = self.forget_when_done(Revoked::User(&user.id));
            self.inner
                .sessions
                .revoke_user_sessions(&user.id, principal.session_id(), now)
                .await?;
        }
        self.void_challenges(&user.id).await?;
        tracing::info!(user_id = %user.id, "two-factor turned on");
        self.notify(MessageKind::TwoFactorEnabled, &user.email)
            .await;
        Ok(())
    }

    /// Turns the principal's two-factor off: the TOTP secret, a pending
    /// setup and the backup codes are deleted, and the user is told by
    /// mail. Sessions stay. Nothing happens, and nothing is sent, when it
    /// was off.
    ///
    /// # Errors
    /// As [`setup_two_factor`](Self::setup_two_factor).
    pub async fn disable_two_factor(
        &self,
        principal: &Principal,
        password: Option<&Password>,
    ) -> Result<(), AuthError> {
        self.two_factor()?;
        let user = self.reauthenticate(principal, password).await?;
        self.turn_off(&user).await.map(drop)
    }

    /// Replaces the principal's backup codes with 10 new ones, shown once.
    ///
    /// # Errors
    /// As [`setup_two_factor`](Self::setup_two_factor), and
    /// [`AuthError::TwoFactorNotEnabled`] when two-factor is off.
    pub async fn regenerate_backup_codes(
        &self,
        principal: &Principal,
        password: Option<&Password>,
    ) -> Result<Vec<Shown>, AuthError> {
        let runtime = self.two_factor()?;
        let user = self.reauthenticate(principal, password).await?;
        if runtime.row(&TOTP, &user.id).await?.is_none() {
            return Err(AuthError::TwoFactorNotEnabled);
        }
        let (shown, lookups) = runtime.new_backup_codes(&user.id)?;
        runtime.store_backup_codes(&user.id, lookups).await?;
        tracing::info!(user_id = %user.id, "backup codes replaced");
        Ok(shown)
    }

    /// **For operators**, not an HTTP route: turns two-factor off for a
    /// user who lost both the device and the backup codes, once support
    /// has confirmed who they are by other means. Their pending sign-in
    /// challenges are voided and they are told by mail; they can then sign
    /// in with their first factor alone and set two-factor up again.
    /// Returns whether it was on.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`]; [`AuthError::NotFound`] when
    /// two-factor is not set up on this service; the store's errors.
    pub async fn reset_two_factor(&self, user_id: &UserId) -> Result<bool, AuthError> {
        self.two_factor()?;
        let user = self.user_by_id(user_id).await?;
        let was_on = self.turn_off(&user).await?;
        tracing::warn!(user_id = %user.id, was_on, "two-factor reset by an operator");
        Ok(was_on)
    }

    /// Deletes the user's two-factor, voids their challenges and, if it
    /// was on, tells them; whether it was on.
    async fn turn_off(&self, user: &User) -> Result<bool, AuthError> {
        let was_on = self.two_factor()?.remove(&user.id).await?;
        self.void_challenges(&user.id).await?;
        if was_on {
            tracing::info!(user_id = %user.id, "two-factor turned off");
            self.notify(MessageKind::TwoFactorDisabled, &user.email)
                .await;
        }
        Ok(was_on)
    }
}
