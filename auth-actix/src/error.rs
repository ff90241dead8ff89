//! Errors as problem+json responses, from auth-core's one error table.

use actix_web::{
    HttpResponse, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
};
use auth_core::{AuthError, http::HttpError, problem::Problem};

/// Renders any [`HttpError`]: status, its headers, problem+json body.
fn render(err: &HttpError) -> HttpResponse {
    let mut response = HttpResponse::build(status_of(err));
    response.content_type(err.content_type());
    for header in err.headers() {
        response.insert_header(header);
    }
    response.body(err.body())
}

fn status_of(err: &HttpError) -> StatusCode {
    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The error type of handlers: any [`AuthError`] or [`Problem`], answered
/// as problem+json with the status and headers auth-core assigns.
///
/// ```
/// use auth_actix::ApiError;
/// use auth_actix::auth_core::problem::Problem;
///
/// async fn find_task() -> Result<String, ApiError> {
///     Err(Problem::not_found("no such task").into())
/// }
/// # let _ = actix_web::App::new().route("/", actix_web::web::get().to(find_task));
/// ```
#[derive(Debug)]
pub struct ApiError(pub HttpError);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        render(&self.0)
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        Self(err.into())
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self(problem.into())
    }
}

impl From<HttpError> for ApiError {
    fn from(err: HttpError) -> Self {
        Self(err)
    }
}

/// Why [`Authenticated`](crate::Authenticated) refused a request: a 401
/// with `WWW-Authenticate` (no token, or a bad, expired or revoked one),
/// or a 503 when the session store cannot be reached.
#[derive(Debug)]
pub struct AuthRejection(pub AuthError);

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(HttpError::status_for(&self.0))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        render(&HttpError::from(&self.0))
    }
}

impl From<AuthRejection> for ApiError {
    fn from(rejection: AuthRejection) -> Self {
        rejection.0.into()
    }
}

/// Why [`Json`](crate::Json) refused a body: 400, 413 or 415 problem+json.
#[derive(Debug)]
pub struct JsonRejection(pub Problem);

impl std::fmt::Display for JsonRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.status, self.0.detail)
    }
}

impl ResponseError for JsonRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        render(&HttpError::from(self.0.clone()))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        rejection.0.into()
    }
}

/// A default service for unknown routes: 404 problem+json.
///
/// ```
/// use actix_web::{App, web};
///
/// let app = App::new().default_service(web::to(auth_actix::not_found));
/// ```
pub async fn not_found() -> HttpResponse {
    render(&Problem::not_found("no such route").into())
}

/// Middleware for [`actix_web::middleware::from_fn`] that gives bodiless
/// errors a problem+json body: the 405 actix-web's resources answer
/// (keeping their `Allow` header), and any bare 404 or 408 from the app
/// (a handler's bare 404 reads "no such route" too). Responses that already
/// have a `Content-Type` pass unchanged. (actix-http's own 408, for a
/// request head that never arrives, is sent before any middleware runs.)
///
/// ```
/// use actix_web::{App, middleware::from_fn, web};
///
/// let app = App::new()
///     .route("/healthz", web::get().to(|| async { "ok" }))
///     .wrap(from_fn(auth_actix::problem_for_bare_errors));
/// ```
///
/// # Errors
/// Passes on the errors of the services it wraps.
pub async fn problem_for_bare_errors<B: MessageBody + 'static>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let response = next.call(request).await?;
    if response.headers().contains_key(header::CONTENT_TYPE) {
        return Ok(response.map_into_left_body());
    }
    let error = match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => {
            match response
                .headers()
                .get(header::ALLOW)
                .and_then(|value| value.to_str().ok())
            {
                Some(allow) => HttpError::method_not_allowed(allow),
                None => Problem::method_not_allowed().into(),
            }
        }
        StatusCode::NOT_FOUND => Problem::not_found("no such route").into(),
        StatusCode::REQUEST_TIMEOUT => Problem::request_timeout().into(),
        _ => return Ok(response.map_into_left_body()),
    };
    let (request, bare) = response.into_parts();
    let mut rendered = render(&error);
    for (name, value) in bare.headers() {
        if !rendered.headers().contains_key(name) && name != header::CONTENT_LENGTH {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(request, rendered).map_into_right_body())
}
