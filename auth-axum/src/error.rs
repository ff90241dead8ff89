//! Errors as problem+json responses, from auth-core's one error table.

use auth_core::{AuthError, http::HttpError, problem::Problem};
use axum::{
    body::Body,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// Renders any [`HttpError`]: status, its headers, problem+json body.
pub(crate) fn render(err: &HttpError) -> Response {
    let mut response = Response::new(Body::from(err.body()));
    *response.status_mut() =
        StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(err.content_type()),
    );
    for (name, value) in err.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::try_from(value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

/// The error type of handlers: any [`AuthError`] or [`Problem`], answered
/// as problem+json with the status and headers auth-core assigns.
///
/// ```
/// use auth_axum::ApiError;
/// use auth_axum::auth_core::problem::Problem;
///
/// async fn find_task() -> Result<String, ApiError> {
///     Err(Problem::not_found("no such task").into())
/// }
/// ```
#[derive(Debug)]
pub struct ApiError(pub HttpError);

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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        render(&self.0)
    }
}

/// Why [`Authenticated`](crate::Authenticated) refused a request: a 401
/// with `WWW-Authenticate` (no token, or a bad, expired or revoked one),
/// or a 503 when the session store cannot be reached.
#[derive(Debug)]
pub struct AuthRejection(pub AuthError);

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        render(&HttpError::from(self.0))
    }
}

impl From<AuthRejection> for ApiError {
    fn from(rejection: AuthRejection) -> Self {
        rejection.0.into()
    }
}

/// A fallback handler for unknown routes: 404 problem+json.
///
/// ```
/// let app: axum::Router = axum::Router::new().fallback(auth_axum::not_found);
/// ```
pub async fn not_found() -> ApiError {
    Problem::not_found("no such route").into()
}

/// Middleware for [`axum::middleware::map_response`] that gives bodiless
/// errors a problem+json body: the 405 axum's method routers answer
/// (keeping their `Allow` header), bare 404s, and the 408 of a timeout
/// layer (such as tower-http's `TimeoutLayer`). Responses that already have
/// a `Content-Type` pass unchanged.
///
/// ```
/// use axum::{Router, middleware::map_response, routing::get};
///
/// let app: Router = Router::new()
///     .route("/healthz", get(|| async { "ok" }))
///     .layer(map_response(auth_axum::problem_for_bare_errors));
/// ```
pub async fn problem_for_bare_errors(response: Response) -> Response {
    if response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    let error = match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => {
            match response
                .headers()
                .get(header::ALLOW)
                .and_then(|value| value.to_str().ok())
            {
                Some(allow) => HttpError::method_not_allowed(allow),
                // A nested router's 405 lacks `Allow`; keep the status.
                None => Problem::method_not_allowed().into(),
            }
        }
        StatusCode::NOT_FOUND => Problem::not_found("no such route").into(),
        StatusCode::REQUEST_TIMEOUT => Problem::request_timeout().into(),
        _ => return response,
    };
    let (mut parts, _) = response.into_parts();
    let rendered = render(&error);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(rendered.headers().clone());
    Response::from_parts(parts, rendered.into_body())
}
