//! RFC 9457 problem details, the error body every adapter sends.

use serde::{Deserialize, Serialize};

use crate::AuthError;

/// The media type of a [`Problem`] body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 `application/problem+json` body with a stable `code`.
///
/// Framework adapters render every error, including their own 400/404/405/
/// 413/415, as one of these, so clients see one shape.
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

impl From<&AuthError> for Problem {
    fn from(err: &AuthError) -> Self {
        Self::new(err.status(), err.code(), err.to_string())
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
        409 => "Conflict",
        413 => "Content Too Large",
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
    fn round_trips_through_json() {
        let problem = Problem::new(404, "not_found", "no such task");
        let json = serde_json::to_string(&problem).unwrap();
        assert_eq!(serde_json::from_str::<Problem>(&json).unwrap(), problem);
        assert_eq!(problem.title, "Not Found");
    }
}
