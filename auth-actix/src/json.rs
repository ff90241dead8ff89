//! JSON bodies with the contract's statuses: 415, 413, 400.

use std::{future::Future, pin::Pin};

use actix_web::{
    FromRequest, HttpRequest, HttpResponse, Responder,
    body::BoxBody,
    dev::Payload,
    http::{StatusCode, header},
    web,
};
use auth_core::{
    AuthError,
    http::{DEFAULT_BODY_LIMIT, LimitedBody, is_json, parse_json},
    problem::Problem,
};
use futures_core::Stream;
use serde::{Serialize, de::DeserializeOwned};

use crate::{ApiError, JsonRejection, authentication_finished};

/// A JSON request body or response.
///
/// As an extractor it answers, before the handler runs:
/// 415 when `Content-Type` is not `application/json`, 413 when the body is
/// over the [`JsonConfig`] limit (64 KiB unless configured), and 400 when it
/// is not JSON or does not fit `T` (the detail names at most a field, never
/// a value). Unlike `actix_web::web::Json`, a JSON array is not accepted
/// for a struct, and the errors are problem+json; 422 is kept for values
/// that break a rule.
///
/// It reads the body only after the handler's
/// [`Authenticated`](crate::Authenticated) has finished (see
/// [`authentication_finished`](crate::authentication_finished)), so a
/// request without a valid token gets its 401 without the server reading
/// or parsing its body. (actix-web then closes the connection rather than
/// read the rest of the body; and it answers `Expect: 100-continue` before
/// any extractor runs, so such a client sends its body anyway.)
///
/// As a response it is `200 OK` with `application/json`
/// ([`json_response`](crate::json_response) takes another status).
///
/// ```
/// use auth_actix::Json;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize)]
/// struct NewTask { title: String }
///
/// async fn create(Json(task): Json<NewTask>) -> Json<NewTask> {
///     Json(task)
/// }
/// # let _ = actix_web::App::new().route("/", actix_web::web::post().to(create));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// The settings of [`Json`], as app data (or `web::Data<JsonConfig>`):
/// the largest body it reads.
///
/// ```
/// use actix_web::App;
/// use auth_actix::JsonConfig;
///
/// let app = App::new().app_data(JsonConfig::default().limit(1024 * 1024));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonConfig {
    limit: usize,
}

impl JsonConfig {
    /// The largest body read, in bytes; larger ones are answered with 413.
    pub fn limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }
}

impl Default for JsonConfig {
    /// [`DEFAULT_BODY_LIMIT`](auth_core::http::DEFAULT_BODY_LIMIT): 64 KiB.
    fn default() -> Self {
        Self {
            limit: DEFAULT_BODY_LIMIT,
        }
    }
}

type Parsing<T> = Pin<Box<dyn Future<Output = Result<T, JsonRejection>>>>;

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = JsonRejection;
    type Future = Parsing<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let reading = read_body(req.clone(), payload.take(), true);
        Box::pin(async move {
            let (content_type, bytes) = reading.await?;
            parse_json(content_type.as_deref(), &bytes)
                .map(Json)
                .map_err(JsonRejection)
        })
    }
}

/// The body, read up to the [`JsonConfig`] limit, and its `Content-Type`,
/// once authentication has finished. With `require_json`, a non-JSON
/// `Content-Type` is refused before reading.
async fn read_body(
    req: HttpRequest,
    payload: Payload,
    require_json: bool,
) -> Result<(Option<Vec<u8>>, Vec<u8>), JsonRejection> {
    authentication_finished(&req).await;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.as_bytes().to_vec());
    if require_json && !is_json(content_type.as_deref()) {
        return Err(JsonRejection(Problem::unsupported_media_type()));
    }
    let bytes = read_limited(&req, payload).await.map_err(JsonRejection)?;
    Ok((content_type, bytes))
}

/// A request's body, read up to the [`JsonConfig`] limit of its app data.
pub(crate) async fn read_limited(
    req: &HttpRequest,
    mut payload: Payload,
) -> Result<Vec<u8>, Problem> {
    let limit = req
        .app_data::<JsonConfig>()
        .or_else(|| req.app_data::<web::Data<JsonConfig>>().map(|data| &***data))
        .map_or(DEFAULT_BODY_LIMIT, |config| config.limit);
    let content_length = req.headers().get(header::CONTENT_LENGTH);
    let mut collected = LimitedBody::new(limit, content_length.map(|value| value.as_bytes()));
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
        let chunk = chunk.map_err(|_| LimitedBody::unreadable())?;
        if collected.push(&chunk).is_break() {
            break;
        }
    }
    collected.finish()
}

/// A JSON response with `status`: the same serialisation as [`Json`]'s,
/// for the statuses other than 200 (`201 Created` after a `POST`, say).
///
/// ```
/// use actix_web::{HttpResponse, http::StatusCode};
///
/// async fn create() -> HttpResponse {
///     auth_actix::json_response(StatusCode::CREATED, &serde_json::json!({"id": 1}))
/// }
/// ```
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => HttpResponse::build(status)
            .content_type("application/json")
            .body(bytes),
        Err(err) => {
            actix_web::ResponseError::error_response(&ApiError::from(AuthError::internal(err)))
        }
    }
}

impl<T: Serialize> Responder for Json<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        json_response(StatusCode::OK, &self.0)
    }
}
