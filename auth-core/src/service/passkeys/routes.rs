//! The routes of passkeys: registration, the list, deletion and
//! usernameless sign-in.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{AuthenticationResponse, RegistrationResponse};
use crate::{
    AuthService,
    endpoint::{BoxFuture, Endpoint, Input, Reply, endpoint, reply::signed_in},
    http::{HttpError, NO_STORE},
};

/// A passkey as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyInfo {
    /// Its id, for `DELETE /passkeys/{id}` (not the WebAuthn credential id).
    pub id: String,
    /// The name given at registration, or `Passkey`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it last signed in; `null` before its first sign-in.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<OffsetDateTime>,
}

/// The answer of `passkeys/register/options`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyCreationOptions {
    /// Names this ceremony in `passkeys/register`; single use, 5 minutes.
    pub challenge_id: String,
    /// WebAuthn's `PublicKeyCredentialCreationOptionsJSON`, for
    /// `PublicKeyCredential.parseCreationOptionsFromJSON`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: serde_json::Value,
}

/// The answer of `passkeys/sign-in/options`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyRequestOptions {
    /// Names this ceremony in `passkeys/sign-in`; single use, 5 minutes.
    pub challenge_id: String,
    /// WebAuthn's `PublicKeyCredentialRequestOptionsJSON`, for
    /// `PublicKeyCredential.parseRequestOptionsFromJSON`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: serde_json::Value,
}

/// The body of `passkeys/register`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterPasskeyRequest {
    /// The `challenge_id` of the options.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub challenge_id: String,
    /// The created credential's `toJSON()` (WebAuthn's
    /// `RegistrationResponseJSON`: `id`, `rawId`, `type`, `response` with
    /// `clientDataJSON` and `attestationObject` in base64url).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: RegistrationResponse,
    /// What to call it (trimmed; 1 to 64 characters, no control
    /// characters); `Passkey` when left out.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: Option<String>,
}

/// The body of `passkeys/sign-in`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeySignInRequest {
    /// The `challenge_id` of the options.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub challenge_id: String,
    /// The assertion's `toJSON()` (WebAuthn's `AuthenticationResponseJSON`:
    /// `id`, `rawId`, `type`, `response` with `clientDataJSON`,
    /// `authenticatorData`, `signature` and `userHandle` in base64url).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: AuthenticationResponse,
}

type Answer<'a> = BoxFuture<'a, Result<Reply, HttpError>>;

/// The routes of passkeys: the contract's, with the two sign-in routes
/// before `/passkeys/{id}` so that no router takes them for an id.
pub(crate) static ENDPOINTS: &[Endpoint] = &[
    endpoint! {
        Post "/passkeys/register/options",
        needs: Session,
        admit_client: true,
        body: EmptyOrJson,
        cookie: false,
        setup: Passkeys,
        run: registration_options,
        doc: __path_registration_options_doc,
        schemas: [PasskeyCreationOptions],
    },
    endpoint! {
        Post "/passkeys/register",
        needs: Session,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: Passkeys,
        run: register,
        doc: __path_register_doc,
        schemas: [RegisterPasskeyRequest, PasskeyInfo],
    },
    endpoint! {
        Post "/passkeys/sign-in/options",
        needs: Nothing,
        admit_client: true,
        body: EmptyOrJson,
        cookie: false,
        setup: Passkeys,
        run: sign_in_options,
        doc: __path_sign_in_options_doc,
        schemas: [PasskeyRequestOptions],
    },
    endpoint! {
        Post "/passkeys/sign-in",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: true,
        setup: Passkeys,
        run: sign_in,
        doc: __path_sign_in_doc,
        schemas: [PasskeySignInRequest],
    },
    endpoint! {
        Get "/passkeys",
        needs: Session,
        admit_client: false,
        body: None,
        cookie: false,
        setup: Passkeys,
        run: list,
        doc: __path_list_doc,
        schemas: [PasskeyInfo],
    },
    endpoint! {
        Delete "/passkeys/{id}",
        needs: Session,
        admit_client: false,
        body: None,
        cookie: false,
        setup: Passkeys,
        run: delete,
        doc: __path_delete_doc,
    },
];

fn registration_options(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let options = auth
            .passkey_registration_options(input.principal()?)
            .await?;
        Ok(Reply::json(200, &options).with_header("cache-control", NO_STORE.to_owned()))
    })
}

fn register(auth: &AuthService, mut input: Input<RegisterPasskeyRequest>) -> Answer<'_> {
    Box::pin(async move {
        let body = input.take_body()?;
        let passkey = auth
            .register_passkey(
                input.principal()?,
                &body.challenge_id,
                &body.credential,
                body.name.as_deref(),
            )
            .await?;
        Ok(Reply::json(201, &passkey))
    })
}

fn sign_in_options(auth: &AuthService, _: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let options = auth.passkey_sign_in_options().await?;
        Ok(Reply::json(200, &options).with_header("cache-control", NO_STORE.to_owned()))
    })
}

fn sign_in(auth: &AuthService, mut input: Input<PasskeySignInRequest>) -> Answer<'_> {
    Box::pin(async move {
        let body = input.take_body()?;
        let outcome = auth
            .sign_in_with_passkey(&body.challenge_id, &body.credential)
            .await?;
        Ok(signed_in(auth, input.cookie.as_ref(), &outcome))
    })
}

fn list(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let passkeys = auth.passkeys(input.principal()?.user_id()).await?;
        Ok(Reply::json(200, &passkeys))
    })
}

fn delete(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let id = input.path_param().unwrap_or_default();
        auth.delete_passkey(input.principal()?.user_id(), id)
            .await?;
        Ok(Reply::empty(204))
    })
}

#[cfg(feature = "openapi")]
const FAILED: &str = "The ceremony failed (`invalid_credential`): an unknown, used or expired `challenge_id`, a wrong origin, RP id, challenge or signature, a sign counter that did not go up, or a passkey that is unknown or not the user handle's";

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/passkeys/register/options", tag = "passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A registration challenge: a resident key with user verification, the user's passkeys excluded", body = PasskeyCreationOptions),
        (status = 400, description = "A body that is not JSON", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The address is not verified (`email_not_verified`), or the session signed in more than 10 minutes ago (`reauthentication_required`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Passkeys are not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user has 25 passkeys already (`too_many_passkeys`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn registration_options_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/passkeys/register", tag = "passkeys",
    security(("bearer" = [])),
    request_body = RegisterPasskeyRequest,
    responses(
        (status = 201, description = "Registered; the user is mailed that a passkey was added", body = PasskeyInfo),
        (status = 400, description = "Not JSON, or a field missing or mistyped, including malformed base64url in `credential` (`malformed_body`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token; or the ceremony failed (`invalid_credential`): an unknown, used, expired or another user's `challenge_id`, a wrong origin, RP id or challenge, no user verification, an unreadable attestation, a credential already registered", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The address is not verified (`email_not_verified`), or the session signed in more than 10 minutes ago or has ended (`reauthentication_required`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Passkeys are not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A `name` that is blank, over 64 characters or has a control or hidden character (`invalid_name`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn register_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/passkeys/sign-in/options", tag = "passkeys",
    responses(
        (status = 200, description = "A usernameless sign-in challenge (no `allowCredentials`; user verification preferred)", body = PasskeyRequestOptions),
        (status = 400, description = "A body that is not JSON", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Passkeys are not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn sign_in_options_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/passkeys/sign-in", tag = "passkeys",
    request_body = PasskeySignInRequest,
    responses(
        (status = 200, description = "Signed in, as `sign-in` answers: tokens; or, for an assertion without user verification by a user with a second factor, `two_factor_required`", body = crate::sign_in::SignIn),
        (status = 400, description = "Not JSON, or a field missing or mistyped, including malformed base64url in `credential` (`malformed_body`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = FAILED, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Passkeys are not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn sign_in_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(get, path = "/passkeys", tag = "passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's passkeys, oldest first", body = Vec<PasskeyInfo>),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Passkeys are not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn list_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(delete, path = "/passkeys/{id}", tag = "passkeys",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "A passkey's `id` from `GET /passkeys`", max_length = 255)),
    responses(
        (status = 204, description = "Deleted: it signs in no more"),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passkey of this user, or passkeys are not set up", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user has no password, no linked identity and no other passkey (`last_sign_in_method`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn delete_doc() {}
