//! The routes of API keys: create, list, delete. All three need a
//! session's access token; a key is refused (403 `api_key_not_allowed`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ApiKeySecret;
use crate::{
    AuthService,
    endpoint::{BoxFuture, Endpoint, Input, Reply, endpoint},
    http::{HttpError, NO_STORE},
};

/// An API key as its owner sees it in the list: never the key, nor its
/// hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyInfo {
    /// Its id, for `DELETE /api-keys/{id}` (not a part of the key).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{22}$"))]
    pub id: String,
    /// The name given when it was made.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// The start of the key (the service's prefix and 8 characters of the
    /// key's id part), to recognise it by; no part of its secret.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[a-z0-9_]{1,16}[A-Za-z0-9_-]{8}$", example = "ak_q3Xz0bLm")
    )]
    pub prefix: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it stops working; `null`: never.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<OffsetDateTime>,
    /// About when it was last used (written at most once a minute);
    /// `null` before its first use.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<OffsetDateTime>,
}

/// A new API key, with the key itself: shown this once (`Debug` redacts
/// it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    /// Its id, for `DELETE /api-keys/{id}`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{22}$"))]
    pub id: String,
    /// Its name, trimmed.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// The key, for `Authorization: Bearer <key>`: the prefix, 22
    /// characters of id and 43 of secret (256 random bits), base64url.
    /// It is not kept (only its SHA-256 is), so it cannot be shown again.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, pattern = "^[a-z0-9_]{1,16}[A-Za-z0-9_-]{65}$")
    )]
    pub key: ApiKeySecret,
    /// The start of the key, as the list shows it.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[a-z0-9_]{1,16}[A-Za-z0-9_-]{8}$", example = "ak_q3Xz0bLm")
    )]
    pub prefix: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it stops working; `null`: never.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<OffsetDateTime>,
    /// `null`: it has not been used yet.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<OffsetDateTime>,
}

/// The body of `POST /api-keys`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateApiKeyRequest {
    /// What the key is for.
    #[cfg_attr(feature = "openapi", schema(schema_with = name_schema))]
    pub name: String,
    /// Days until it stops working, 1 to 365 by default (the server's
    /// `ApiKeys::max_expires_in_days`); left out or `null`: never. A
    /// whole number out of range is 422 `invalid_expiry`; anything but a
    /// whole number, 400.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<i64>, minimum = 1, maximum = 365)
    )]
    pub expires_in_days: Option<i64>,
}

/// The schema of a key's `name`: trimmed, then 1 to 64 characters, none
/// of them hidden or a control.
#[cfg(feature = "openapi")]
fn name_schema() -> utoipa::openapi::Object {
    use super::MAX_API_KEY_NAME_CHARS as MAX;
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .pattern(Some(crate::openapi::trimmed_text_pattern(
            1,
            MAX,
            crate::service::name::HIDDEN_OR_CONTROL_CLASS,
        )))
        .description(Some(format!(
            "What the key is for, to recognise it in the list. Surrounding whitespace is \
             trimmed; what remains has 1 to {MAX} characters (Unicode scalar values) and no \
             control (Cc) or format (Cf) character, line or paragraph separator, or other \
             default-ignorable code point, as `pattern` states; otherwise 422 `invalid_name`."
        )))
        .build()
}

type Answer<'a> = BoxFuture<'a, Result<Reply, HttpError>>;

/// The routes of API keys.
pub(crate) static ENDPOINTS: &[Endpoint] = &[
    endpoint! {
        Post "/api-keys",
        needs: Session,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: ApiKeys,
        run: create,
        doc: __path_create_doc,
        schemas: [CreateApiKeyRequest, CreatedApiKey],
    },
    endpoint! {
        Get "/api-keys",
        needs: Session,
        admit_client: false,
        body: None,
        cookie: false,
        setup: ApiKeys,
        run: list,
        doc: __path_list_doc,
        schemas: [ApiKeyInfo],
    },
    endpoint! {
        Delete "/api-keys/{id}",
        needs: Session,
        admit_client: false,
        body: None,
        cookie: false,
        setup: ApiKeys,
        run: delete,
        doc: __path_delete_doc,
    },
];

fn create(auth: &AuthService, mut input: Input<CreateApiKeyRequest>) -> Answer<'_> {
    Box::pin(async move {
        let body = input.take_body()?;
        let created = auth
            .create_api_key(input.principal()?, &body.name, body.expires_in_days)
            .await?;
        Ok(Reply::json(201, &created).with_header("cache-control", NO_STORE.to_owned()))
    })
}

fn list(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let keys = auth.api_keys(input.principal()?.user_id()).await?;
        Ok(Reply::json(200, &keys))
    })
}

fn delete(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let id = input.path_param().unwrap_or_default();
        auth.delete_api_key(input.principal()?.user_id(), id)
            .await?;
        Ok(Reply::empty(204))
    })
}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/api-keys", tag = "api-keys",
    security(("bearer" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Made (`Cache-Control: no-store`): the answer holds the key, shown this once", body = CreatedApiKey, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "Not JSON, or a field missing or mistyped (`expires_in_days` not a whole number)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The session signed in more than 10 minutes ago or has ended (`reauthentication_required`): sign in again to make a key", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "API keys are not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user has as many unexpired keys as allowed, 50 by default (`too_many_api_keys`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A `name` that is blank, over 64 characters or has a control or hidden character (`invalid_name`), or an `expires_in_days` out of its range (`invalid_expiry`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn create_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(get, path = "/api-keys", tag = "api-keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's keys, oldest first (expired ones too, until the server's cleanup deletes them); never a key or its hash", body = Vec<ApiKeyInfo>),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "API keys are not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn list_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "api-keys",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "A key's `id` from `GET /api-keys`", pattern = "^[A-Za-z0-9_-]{22}$")),
    responses(
        (status = 204, description = "Deleted: the key stops working at once"),
        (status = 401, description = "Missing or invalid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key of this user (another user's and an unknown one alike), or API keys are not set up", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn delete_doc() {}
