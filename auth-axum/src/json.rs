//! JSON bodies with the contract's statuses: 415, 413, 400.

use auth_core::{
    http::{DEFAULT_BODY_LIMIT, HttpError, LimitedBody, is_json, parse_json},
    problem::Problem,
};
use axum::{
    body::Body,
    extract::{FromRequest, Request},
    http::{HeaderValue, header, request::Parts},
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::render;

/// A JSON request body or response.
///
/// As an extractor it answers, before the handler runs:
/// 415 when `Content-Type` is not `application/json`, 413 when the body is
/// over the [`BodyLimit`] (64 KiB unless configured), and 400 when it is not
/// JSON or does not fit `T` (the detail names at most a field, never a
/// value). Unlike `axum::Json`, a well-formed body of the wrong shape is a
/// 400, not a 422: 422 is kept for values that break a rule.
///
/// As a response it is `200` (or the status paired with it) with
/// `application/json`.
///
/// ```
/// use auth_axum::Json;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize)]
/// struct NewTask { title: String }
///
/// async fn create(Json(task): Json<NewTask>) -> Json<NewTask> {
///     Json(task)
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::post(create));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// The largest request body [`Json`] reads, in bytes; add it as a request
/// extension to change the default of
/// [`DEFAULT_BODY_LIMIT`](auth_core::http::DEFAULT_BODY_LIMIT) (64 KiB).
///
/// ```
/// use auth_axum::BodyLimit;
/// use axum::{Extension, Router, routing::post};
///
/// // Layers apply to the routes added before them.
/// let app: Router = Router::new()
///     .route("/upload", post(|| async { "ok" }))
///     .layer(Extension(BodyLimit(1024 * 1024)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// Why [`Json`] refused a body: 400, 413 or 415 problem+json.
#[derive(Debug)]
pub struct JsonRejection(pub Problem);

impl IntoResponse for JsonRejection {
    fn into_response(self) -> Response {
        render(&HttpError::from(self.0))
    }
}

impl From<JsonRejection> for crate::ApiError {
    fn from(rejection: JsonRejection) -> Self {
        rejection.0.into()
    }
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = JsonRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (content_type, bytes) = read_body(request, true).await?;
        parse_json(content_type.as_ref().map(HeaderValue::as_bytes), &bytes)
            .map(Json)
            .map_err(JsonRejection)
    }
}

/// The body, read up to the [`BodyLimit`], and its `Content-Type`. With
/// `require_json`, a non-JSON `Content-Type` is refused before reading.
async fn read_body(
    request: Request,
    require_json: bool,
) -> Result<(Option<HeaderValue>, Vec<u8>), JsonRejection> {
    let (parts, body) = request.into_parts();
    let content_type = parts.headers.get(header::CONTENT_TYPE).cloned();
    if require_json && !is_json(content_type.as_ref().map(HeaderValue::as_bytes)) {
        return Err(JsonRejection(Problem::unsupported_media_type()));
    }
    let bytes = read_limited(&parts, body).await.map_err(JsonRejection)?;
    Ok((content_type, bytes))
}

/// A request's body, read up to the [`BodyLimit`] of its extensions.
pub(crate) async fn read_limited(parts: &Parts, mut body: Body) -> Result<Vec<u8>, Problem> {
    let limit = parts
        .extensions
        .get::<BodyLimit>()
        .map_or(DEFAULT_BODY_LIMIT, |limit| limit.0);
    let mut collected = LimitedBody::new(
        limit,
        parts
            .headers
            .get(header::CONTENT_LENGTH)
            .map(HeaderValue::as_bytes),
    );
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| LimitedBody::unreadable())?;
        if let Ok(data) = frame.into_data()
            && collected.push(&data).is_break()
        {
            break;
        }
    }
    collected.finish()
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => {
                let mut response = Response::new(Body::from(bytes));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Err(err) => crate::ApiError::from(auth_core::AuthError::internal(err)).into_response(),
        }
    }
}
