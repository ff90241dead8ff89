//! The routes of two-factor: setup, enable, disable, new backup codes,
//! and the second step of a sign-in.

use serde::{Deserialize, Serialize};

use super::Shown;
use crate::{
    AuthService, Password, SignIn,
    endpoint::{BoxFuture, Endpoint, Input, Reply, endpoint, reply::signed_in},
    http::HttpError,
    problem::Problem,
};

/// The body of `setup`, `disable` and `backup-codes`: the account's
/// password, or `{}` for an account without one (which must have signed
/// in within the last 10 minutes). An account with a password that sends
/// none gets 403 `wrong_password`, as for a wrong one.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordConfirmation {
    /// The account's password; left out by an account without one.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub password: Option<Password>,
}

impl std::fmt::Debug for PasswordConfirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordConfirmation { .. }")
    }
}

/// The body of `two-factor/enable`: a code of the new secret.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnableTwoFactorRequest {
    /// The 6-digit code the authenticator app shows (spaces and dashes
    /// are ignored).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9 -]{6,64}$", max_length = 64)
    )]
    pub code: String,
}

impl std::fmt::Debug for EnableTwoFactorRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnableTwoFactorRequest { .. }")
    }
}

/// The body of `two-factor/verify`: the challenge of the sign-in's first
/// step and either a TOTP `code` or a `backup_code`.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorVerifyRequest {
    /// The `challenge_token` of the `two_factor_required` answer.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub challenge_token: String,
    /// A 6-digit code of the authenticator app.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9 -]{6,64}$", max_length = 64)
    )]
    pub code: Option<String>,
    /// A 16-digit backup code (`1234-5678-9012-3456`).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9 -]{16,64}$", max_length = 64)
    )]
    pub backup_code: Option<String>,
}

impl std::fmt::Debug for TwoFactorVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoFactorVerifyRequest { .. }")
    }
}

/// The answer of `two-factor/backup-codes`: the new codes, shown once.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupCodes {
    /// 10 single-use codes, `1234-5678-9012-3456`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, min_items = 10, max_items = 10))]
    pub backup_codes: Vec<Shown>,
}

type Answer<'a> = BoxFuture<'a, Result<Reply, HttpError>>;

/// The routes of two-factor, in the contract's order.
pub(crate) static ENDPOINTS: &[Endpoint] = &[
    endpoint! {
        Post "/two-factor/setup",
        needs: Session,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: TwoFactor,
        run: setup,
        doc: __path_setup_doc,
        schemas: [PasswordConfirmation, super::TwoFactorSetup],
    },
    endpoint! {
        Post "/two-factor/enable",
        needs: Session,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: TwoFactor,
        run: enable,
        doc: __path_enable_doc,
        schemas: [EnableTwoFactorRequest],
    },
    endpoint! {
        Post "/two-factor/disable",
        needs: Session,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: TwoFactor,
        run: disable,
        doc: __path_disable_doc,
        schemas: [PasswordConfirmation],
    },
    endpoint! {
        Post "/two-factor/backup-codes",
        needs: Session,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: TwoFactor,
        run: backup_codes,
        doc: __path_backup_codes_doc,
        schemas: [PasswordConfirmation, BackupCodes],
    },
    endpoint! {
        Post "/two-factor/verify",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: true,
        setup: TwoFactor,
        run: verify,
        doc: __path_verify_doc,
        schemas: [TwoFactorVerifyRequest],
    },
];

fn setup(auth: &AuthService, mut input: Input<PasswordConfirmation>) -> Answer<'_> {
    Box::pin(async move {
        let body = input.take_body()?;
        let setup = auth
            .setup_two_factor(input.principal()?, body.password.as_ref())
            .await?;
        Ok(Reply::json(200, &setup).with_header("cache-control", crate::http::NO_STORE.to_owned()))
    })
}

fn enable(auth: &AuthService, mut input: Input<EnableTwoFactorRequest>) -> Answer<'_> {
    Box::pin(async move {
        let body = input.take_body()?;
        auth.enable_two_factor(input.principal()?, &body.code)
            .await?;
        Ok(Reply::empty(204))
    })
}

fn disable(auth: &AuthService, mut input: Input<PasswordConfirmation>) -> Answer<'_> {
    Box::pin(async move {
        let body = input.take_body()?;
        auth.disable_two_factor(input.principal()?, body.password.as_ref())
            .await?;
        Ok(Reply::empty(204))
    })
}

fn backup_codes(auth: &AuthService, mut input: Input<PasswordConfirmation>) -> Answer<'_> {
    Box::pin(async move {
        let body = input.take_body()?;
        let backup_codes = auth
            .regenerate_backup_codes(input.principal()?, body.password.as_ref())
            .await?;
        Ok(Reply::json(200, &BackupCodes { backup_codes })
            .with_header("cache-control", crate::http::NO_STORE.to_owned()))
    })
}

fn verify(auth: &AuthService, mut input: Input<TwoFactorVerifyRequest>) -> Answer<'_> {
    Box::pin(async move {
        auth.two_factor()?;
        let body = input.take_body()?;
        let (method, code) = match (&body.code, &body.backup_code) {
            (Some(code), None) => ("totp", code),
            (None, Some(code)) => ("backup_code", code),
            _ => {
                return Err(Problem::malformed_body(
                    "give either `code` or `backup_code`, not both",
                )
                .into());
            }
        };
        let response = auth
            .verify_second_factor(&body.challenge_token, method, code)
            .await?;
        Ok(signed_in(
            auth,
            input.cookie.as_ref(),
            &SignIn::Complete(response),
        ))
    })
}

#[cfg(feature = "openapi")]
const CONFIRM_403: &str = "Wrong or missing password (`wrong_password`), or, for an account without a password, a sign-in older than 10 minutes (`reauthentication_required`)";

#[cfg(feature = "openapi")]
const CONFIRM_SETUP_403: &str = "Wrong or missing password (`wrong_password`); for an account without a password, a sign-in older than 10 minutes (`reauthentication_required`); an address not verified yet (`email_not_verified`)";

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/two-factor/setup", tag = "two-factor",
    security(("bearer" = [])),
    request_body = PasswordConfirmation,
    responses(
        (status = 200, description = "A new TOTP secret and 10 backup codes, shown once; not active until `two-factor/enable` gets a code of it", body = super::TwoFactorSetup),
        (status = 400, description = "Not JSON, or a field mistyped", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = CONFIRM_SETUP_403, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Two-factor is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client or wrong passwords for this account (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn setup_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/two-factor/enable", tag = "two-factor",
    security(("bearer" = [])),
    request_body = EnableTwoFactorRequest,
    responses(
        (status = 204, description = "Two-factor is on; the setup's backup codes replace any others, and every other session of the user is signed out"),
        (status = 400, description = "Not JSON or `code` missing (`malformed_body`); a wrong or malformed code, or no pending setup (`invalid_code`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The address is not verified (`email_not_verified`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Two-factor is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn enable_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/two-factor/disable", tag = "two-factor",
    security(("bearer" = [])),
    request_body = PasswordConfirmation,
    responses(
        (status = 204, description = "Two-factor is off (also when it was); the TOTP secret and backup codes are deleted"),
        (status = 400, description = "Not JSON, or a field mistyped", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = CONFIRM_403, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Two-factor is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client or wrong passwords for this account (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn disable_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/two-factor/backup-codes", tag = "two-factor",
    security(("bearer" = [])),
    request_body = PasswordConfirmation,
    responses(
        (status = 200, description = "10 new backup codes, shown once; the old ones are void", body = BackupCodes),
        (status = 400, description = "Not JSON, or a field mistyped", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = CONFIRM_403, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Two-factor is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-factor is off for this account (`two_factor_not_enabled`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client or wrong passwords for this account (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn backup_codes_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/two-factor/verify", tag = "two-factor",
    request_body = TwoFactorVerifyRequest,
    responses(
        (status = 200, description = "Signed in: tokens, as `sign-in` gives them", body = crate::AuthResponse),
        (status = 400, description = "Not JSON, a field missing or mistyped, or both or neither of `code` and `backup_code` (`malformed_body`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A wrong, malformed or already used code (`invalid_code`); an unknown, used, expired challenge, or one voided by its 5th wrong code (`invalid_token`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Two-factor is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client, or too many tries for this account (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn verify_doc() {}
