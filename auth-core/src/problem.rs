//! RFC 9457 problem details, the error body every adapter sends.

use serde::{Deserialize, Serialize};

use crate::AuthError;

/// The media type of a [`Problem`] body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The stable codes of errors that belong to the HTTP layer rather than to
/// [`AuthError`]. Every adapter uses these (through the constructors on
/// [`Problem`]), so a client sees the same code from any framework.
pub mod codes {
    /// 400: the body is not valid JSON, or a field is missing or mistyped.
    pub const MALFORMED_BODY: &str = "malformed_body";
    /// 404: no such route, or no such resource for this user.
    pub const NOT_FOUND: &str = "not_found";
    /// 405: the path exists but not with this method.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// 413: the body is larger than the limit.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// 415: the body is not `application/json`.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    /// 422: a value breaks an application rule (not an auth rule).
    pub const VALIDATION_FAILED: &str = "validation_failed";
    /// 408: the request took longer than the server allows.
    pub const REQUEST_TIMEOUT: &str = "request_timeout";
    /// 403: a request for the refresh cookie came from another site (its
    /// `Sec-Fetch-Site` is not `same-origin`); see
    /// [`RefreshCookie`](crate::http::RefreshCookie).
    pub const CROSS_SITE_REQUEST: &str = "cross_site_request";
    /// 400: a request carried a cookie the server takes once (the refresh
    /// cookie) twice, as a planted cookie would make it.
    pub const DUPLICATE_COOKIE: &str = "duplicate_cookie";
}

/// An RFC 9457 `application/problem+json` body with a stable `code`.
///
/// Framework adapters render every error as one of these: [`AuthError`]s
/// through `From<&AuthError>` (5xx with a generic `detail`, so no internals
/// leak), and their own HTTP-level errors through the constructors below,
/// with the codes in [`codes`].
///
/// ```
/// use auth_core::{AuthError, problem::Problem};
///
/// let body = serde_json::to_value(Problem::from(&AuthError::TokenExpired)).unwrap();
/// assert_eq!(body["status"], 401);
/// assert_eq!(body["title"], "Unauthorized");
/// assert_eq!(body["code"], "token_expired");
/// assert_eq!(body["type"], "about:blank");
/// ```
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the problem type; `about:blank` means "see `status`".
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The reason phrase of `status`.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// A human-readable explanation, safe to show to the client.
    pub detail: String,
    /// The stable machine-readable snake_case code.
    pub code: String,
}

impl Problem {
    /// A problem of type `about:blank` with the standard title of `status`.
    pub fn new(status: u16, code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            problem_type: "about:blank".to_owned(),
            title: status_title(status).to_owned(),
            status,
            detail: detail.into(),
            code: code.into(),
        }
    }
}

impl Problem {
    /// 400 `malformed_body`.
    ///
    /// Write `detail` yourself (e.g. "the field `email` is missing"): a JSON
    /// parser's error text may quote the client's values back, passwords
    /// included.
    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(400, codes::MALFORMED_BODY, detail)
    }

    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, codes::NOT_FOUND, detail)
    }

    /// 405 `method_not_allowed` (send an `Allow` header with it).
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            codes::METHOD_NOT_ALLOWED,
            "this method is not allowed on this path",
        )
    }

    /// 413 `payload_too_large`, naming the limit.
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            413,
            codes::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit_bytes} bytes"),
        )
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            415,
            codes::UNSUPPORTED_MEDIA_TYPE,
            "the request body must be application/json",
        )
    }

    /// 408 `request_timeout`: the request (a slow body, say) took longer
    /// than the server allows.
    pub fn request_timeout() -> Self {
        Self::new(
            408,
            codes::REQUEST_TIMEOUT,
            "the request took too long; send it again",
        )
    }

    /// 403 `cross_site_request`: a request that asked for the refresh
    /// cookie was sent by a page of another site.
    pub fn cross_site_request() -> Self {
        Self::new(
            403,
            codes::CROSS_SITE_REQUEST,
            "the refresh cookie is only used by requests from this origin",
        )
    }

    /// 400 `duplicate_cookie`: the cookie `name` came more than once, so
    /// which one the browser's own is cannot be told.
    pub fn duplicate_cookie(name: &str) -> Self {
        Self::new(
            400,
            codes::DUPLICATE_COOKIE,
            format!(
                "the request carries the cookie {name} more than once; clear this site's cookies and sign in again"
            ),
        )
    }

    /// 422 `validation_failed`, for an application's own value rules. As
    /// with [`malformed_body`](Self::malformed_body), never pass parser
    /// error text as `detail`.
    pub fn validation_failed(detail: impl Into<String>) -> Self {
        Self::new(422, codes::VALIDATION_FAILED, detail)
    }
}

impl From<&AuthError> for Problem {
    /// The body of [`HttpError`](crate::http::HttpError)'s table.
    fn from(err: &AuthError) -> Self {
        crate::http::error::problem_of(err)
    }
}

/// The reason phrase of the statuses this library's adapters answer with.
pub fn status_title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_render_without_their_source() {
        let problem = Problem::from(&AuthError::internal("password_hash column missing"));
        assert_eq!(problem.status, 500);
        assert_eq!(problem.code, "internal_error");
        assert_eq!(problem.detail, "internal error");
        let json = serde_json::to_string(&problem).unwrap();
        assert!(!json.contains("password_hash"), "{json}");
    }

    #[test]
    fn configuration_details_never_reach_clients() {
        let problem = Problem::from(&AuthError::InvalidConfig(
            "the HS256 secret has 20 bytes".into(),
        ));
        assert_eq!(
            (problem.status, problem.detail.as_str()),
            (500, "internal error")
        );
        let problem = Problem::from(&AuthError::unavailable("db at 10.0.0.5 refused"));
        assert_eq!(problem.status, 503);
        assert!(!problem.detail.contains("10.0.0.5"));
    }

    #[test]
    fn http_level_problems_use_the_shared_codes() {
        assert_eq!(Problem::malformed_body("x").code, "malformed_body");
        assert_eq!(Problem::not_found("x").status, 404);
        assert_eq!(Problem::method_not_allowed().title, "Method Not Allowed");
        assert!(Problem::payload_too_large(65_536).detail.contains("65536"));
        assert_eq!(Problem::unsupported_media_type().status, 415);
        assert_eq!(Problem::validation_failed("title too long").status, 422);
        assert_eq!(
            (
                Problem::cross_site_request().status,
                Problem::cross_site_request().title.as_str()
            ),
            (403, "Forbidden")
        );
    }

    #[test]
    fn round_trips_through_json() {
        let problem = Problem::new(404, "not_found", "no such task");
        let json = serde_json::to_string(&problem).unwrap();
        assert_eq!(serde_json::from_str::<Problem>(&json).unwrap(), problem);
        assert_eq!(problem.title, "Not Found");
    }
}
