//! Errors as HTTP responses, and the one table from [`AuthError`] to
//! status, `code` and headers.

use crate::{
    AuthError,
    problem::{PROBLEM_JSON, Problem},
};

/// The `Retry-After` of a 503 ([`AuthError::Unavailable`]), in seconds: a
/// restarting or failing-over database is usually back within a few, and
/// a client that retries at once only queues for the pool again.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// An error as an HTTP response: the status, the headers it needs and its
/// problem+json body. Adapters convert every failure into one of these and
/// then into their framework's response type.
///
/// `From<&AuthError>` is the one table from the core's errors to HTTP; no
/// adapter decides a status of its own:
///
/// | [`AuthError`] | status | `code` | headers |
/// |---|---|---|---|
/// | `InvalidCredentials` | 401 | `invalid_credentials` | `WWW-Authenticate: Bearer` |
/// | `MissingToken` | 401 | `missing_token` | `WWW-Authenticate: Bearer` |
/// | `InvalidToken` | 401 | `invalid_token` | `WWW-Authenticate: Bearer error="invalid_token"` |
/// | `TokenExpired` | 401 | `token_expired` | the same |
/// | `SessionRevoked` | 401 | `session_revoked` | the same |
/// | `SessionExpired` | 401 | `session_expired` | the same |
/// | `UserNotFound` | 401 | `user_not_found` | the same |
/// | `InvalidCode` | 401 | `invalid_code` | `WWW-Authenticate: Bearer` |
/// | `InvalidCredential` | 401 | `invalid_credential` | `WWW-Authenticate: Bearer` |
/// | `InvalidRefreshToken` | 401 | `invalid_refresh_token` | `WWW-Authenticate: Bearer` |
/// | `RefreshTokenReused` | 401 | `refresh_token_reused` | `WWW-Authenticate: Bearer` |
/// | `InvalidOneTimeToken` | 400 | `invalid_token` | |
/// | `InvalidRedirect` | 400 | `invalid_redirect` | |
/// | `InvalidSetupCode` | 400 | `invalid_code` | |
/// | `Forbidden` | 403 | `forbidden` | |
/// | `WrongPassword` | 403 | `wrong_password` | |
/// | `EmailNotVerified` | 403 | `email_not_verified` | |
/// | `ReauthenticationRequired` | 403 | `reauthentication_required` | |
/// | `ApiKeyNotAllowed` | 403 | `api_key_not_allowed` | |
/// | `NotFound` | 404 | `not_found` | |
/// | `EmailTaken` | 409 | `email_taken` | |
/// | `LastSignInMethod` | 409 | `last_sign_in_method` | |
/// | `TwoFactorNotEnabled` | 409 | `two_factor_not_enabled` | |
/// | `TooManyPasskeys` | 409 | `too_many_passkeys` | |
/// | `TooManyApiKeys` | 409 | `too_many_api_keys` | |
/// | `InvalidEmail` | 422 | `invalid_email` | |
/// | `PasswordTooShort` | 422 | `password_too_short` | |
/// | `PasswordTooLong` | 422 | `password_too_long` | |
/// | `PasswordTooCommon` | 422 | `password_too_common` | |
/// | `InvalidName` | 422 | `invalid_name` | |
/// | `InvalidExpiry` | 422 | `invalid_expiry` | |
/// | `TooManyAttempts` | 429 | `too_many_attempts` | `Retry-After` (at least 1 s) |
/// | `InvalidConfig`, `Internal` | 500 | `internal_error` | |
/// | `Unavailable` | 503 | `service_unavailable` | `Retry-After: 5` |
///
/// A 5xx body says only that something failed; the error and its source
/// are logged instead. Other bodies carry the error's `Display` text,
/// which never holds a secret.
///
/// ```
/// use auth_core::{AuthError, http::HttpError};
///
/// let err = HttpError::from(AuthError::TokenExpired);
/// assert_eq!(err.status(), 401);
/// let headers: Vec<_> = err.headers().collect();
/// assert_eq!(headers, [("www-authenticate", r#"Bearer error="invalid_token""#.to_owned())]);
/// assert!(String::from_utf8(err.body()).unwrap().contains(r#""code":"token_expired""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError(Box<Parts>);

/// Boxed so that `Result<T, HttpError>` stays small on the happy path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts {
    problem: Problem,
    www_authenticate: Option<&'static str>,
    retry_after_secs: Option<u64>,
    allow: Option<String>,
}

impl HttpError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.0.problem.status
    }

    /// The status `err` is answered with, from the table above, without
    /// building (or logging) the whole response.
    pub fn status_for(err: &AuthError) -> u16 {
        status_and_code(err).0
    }

    /// The body.
    pub fn problem(&self) -> &Problem {
        &self.0.problem
    }

    /// The `Content-Type` of [`body`](Self::body): `application/problem+json`.
    pub fn content_type(&self) -> &'static str {
        PROBLEM_JSON
    }

    /// Headers the response must carry, as lowercase `(name, value)` pairs:
    /// `www-authenticate` on 401s, `retry-after` on 429s and 503s, `allow` on
    /// 405s.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        let parts = &self.0;
        let www_authenticate = parts
            .www_authenticate
            .map(|value| ("www-authenticate", value.to_owned()));
        let retry_after = parts
            .retry_after_secs
            .map(|secs| ("retry-after", secs.to_string()));
        let allow = parts.allow.clone().map(|methods| ("allow", methods));
        www_authenticate.into_iter().chain(retry_after).chain(allow)
    }

    /// The problem+json body.
    pub fn body(&self) -> Vec<u8> {
        // Serialising a struct of strings and a number cannot fail; the
        // fallback keeps this infallible without a panic path.
        serde_json::to_vec(&self.0.problem).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// 405 for a path served with other methods; `allow` lists them,
    /// comma-separated. The `Allow` header is written in one form
    /// (`"GET, HEAD, POST"`) whatever spacing the framework used, so that
    /// every adapter sends the same bytes.
    ///
    /// ```
    /// use auth_core::http::HttpError;
    ///
    /// let err = HttpError::method_not_allowed("GET,HEAD ,POST");
    /// assert_eq!(err.headers().collect::<Vec<_>>(), [("allow", "GET, HEAD, POST".to_owned())]);
    /// ```
    pub fn method_not_allowed(allow: impl AsRef<str>) -> Self {
        let allow = allow
            .as_ref()
            .split(',')
            .map(str::trim)
            .filter(|method| !method.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        let mut err = Self::from(Problem::method_not_allowed());
        err.0.allow = Some(allow);
        err
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let problem = &self.0.problem;
        write!(
            f,
            "{} {}: {}",
            problem.status, problem.title, problem.detail
        )
    }
}

impl std::error::Error for HttpError {}

impl From<Problem> for HttpError {
    fn from(problem: Problem) -> Self {
        Self(Box::new(Parts {
            problem,
            www_authenticate: None,
            retry_after_secs: None,
            allow: None,
        }))
    }
}

impl From<AuthError> for HttpError {
    /// See the `From<&AuthError>` impl.
    fn from(err: AuthError) -> Self {
        Self::from(&err)
    }
}

impl From<&AuthError> for HttpError {
    /// The one table from [`AuthError`] to HTTP (see [`HttpError`]).
    /// Server errors are logged here, with their source, because this is
    /// the last place that sees it: the client gets only a generic `detail`.
    /// (By reference for frameworks whose error trait renders from `&self`.)
    fn from(err: &AuthError) -> Self {
        let problem = problem_of(err);
        match problem.status {
            503 => tracing::warn!(error = ?err, "a backend is unavailable"),
            500.. => tracing::error!(error = ?err, "request failed"),
            _ => {}
        }
        Self(Box::new(Parts {
            problem,
            www_authenticate: www_authenticate(err),
            retry_after_secs: retry_after_secs(err),
            allow: None,
        }))
    }
}

/// The problem+json body of `err`, without logging it. A 5xx says only
/// that something failed: configuration text and backend errors are for
/// logs, never for clients.
pub(crate) fn problem_of(err: &AuthError) -> Problem {
    let (status, code) = status_and_code(err);
    let detail = match status {
        503 => "the service is temporarily unavailable".to_owned(),
        500.. => "internal error".to_owned(),
        _ => err.to_string(),
    };
    Problem::new(status, code, detail)
}

/// The status and stable `code` of each error.
fn status_and_code(err: &AuthError) -> (u16, &'static str) {
    match err {
        AuthError::InvalidCredentials => (401, "invalid_credentials"),
        AuthError::MissingToken => (401, "missing_token"),
        AuthError::InvalidToken => (401, "invalid_token"),
        AuthError::TokenExpired => (401, "token_expired"),
        AuthError::SessionRevoked => (401, "session_revoked"),
        AuthError::SessionExpired => (401, "session_expired"),
        AuthError::InvalidRefreshToken => (401, "invalid_refresh_token"),
        AuthError::RefreshTokenReused => (401, "refresh_token_reused"),
        AuthError::UserNotFound => (401, "user_not_found"),
        AuthError::InvalidCode => (401, "invalid_code"),
        AuthError::InvalidCredential => (401, "invalid_credential"),
        AuthError::InvalidOneTimeToken => (400, "invalid_token"),
        AuthError::InvalidRedirect => (400, "invalid_redirect"),
        AuthError::InvalidSetupCode => (400, "invalid_code"),
        AuthError::Forbidden => (403, "forbidden"),
        AuthError::WrongPassword => (403, "wrong_password"),
        AuthError::EmailNotVerified => (403, "email_not_verified"),
        AuthError::ReauthenticationRequired => (403, "reauthentication_required"),
        AuthError::ApiKeyNotAllowed => (403, "api_key_not_allowed"),
        AuthError::NotFound => (404, "not_found"),
        AuthError::EmailTaken => (409, "email_taken"),
        AuthError::LastSignInMethod => (409, "last_sign_in_method"),
        AuthError::TwoFactorNotEnabled => (409, "two_factor_not_enabled"),
        AuthError::TooManyPasskeys => (409, "too_many_passkeys"),
        AuthError::TooManyApiKeys => (409, "too_many_api_keys"),
        AuthError::InvalidEmail => (422, "invalid_email"),
        AuthError::PasswordTooShort { .. } => (422, "password_too_short"),
        AuthError::PasswordTooLong { .. } => (422, "password_too_long"),
        AuthError::PasswordTooCommon => (422, "password_too_common"),
        AuthError::InvalidName { .. } => (422, "invalid_name"),
        AuthError::InvalidExpiry { .. } => (422, "invalid_expiry"),
        AuthError::TooManyAttempts { .. } => (429, "too_many_attempts"),
        AuthError::Unavailable(_) => (503, "service_unavailable"),
        AuthError::InvalidConfig(_) | AuthError::Internal(_) => (500, "internal_error"),
    }
}

/// The `WWW-Authenticate` value of a 401, per RFC 6750 §3: `Bearer` when
/// no access token was presented (or the credential was not one), and
/// `Bearer error="invalid_token"` when one was presented and refused.
fn www_authenticate(err: &AuthError) -> Option<&'static str> {
    match err {
        AuthError::InvalidToken
        | AuthError::TokenExpired
        | AuthError::SessionRevoked
        | AuthError::SessionExpired
        | AuthError::UserNotFound => Some(r#"Bearer error="invalid_token""#),
        AuthError::MissingToken
        | AuthError::InvalidCredentials
        | AuthError::InvalidRefreshToken
        | AuthError::RefreshTokenReused
        | AuthError::InvalidCode
        | AuthError::InvalidCredential => Some("Bearer"),
        _ => None,
    }
}

/// The `Retry-After` delay in whole seconds: for a 429, the throttle's (at
/// least 1); for a 503, [`UNAVAILABLE_RETRY_AFTER_SECS`].
fn retry_after_secs(err: &AuthError) -> Option<u64> {
    match err {
        AuthError::TooManyAttempts { retry_after } => Some(retry_after.as_secs().max(1)),
        AuthError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::tests::every_variant;

    #[test]
    fn http_error_displays_status_and_detail() {
        let err = HttpError::from(Problem::not_found("no such task"));
        assert_eq!(err.to_string(), "404 Not Found: no such task");
    }

    #[test]
    fn error_headers_follow_the_error() {
        let throttled = HttpError::from(AuthError::TooManyAttempts {
            retry_after: std::time::Duration::from_secs(30),
        });
        assert_eq!(
            throttled.headers().collect::<Vec<_>>(),
            [("retry-after", "30".to_owned())]
        );
        let missing = HttpError::from(AuthError::MissingToken);
        assert_eq!(
            missing.headers().collect::<Vec<_>>(),
            [("www-authenticate", "Bearer".to_owned())]
        );
        let not_allowed = HttpError::method_not_allowed("GET, POST");
        assert_eq!(
            (
                not_allowed.status(),
                not_allowed.headers().collect::<Vec<_>>()
            ),
            (405, vec![("allow", "GET, POST".to_owned())])
        );
        assert!(
            HttpError::from(AuthError::internal("db password=x"))
                .problem()
                .detail
                == "internal error"
        );
    }

    #[test]
    fn codes_are_snake_case_and_every_401_has_a_challenge() {
        for err in every_variant() {
            let http = HttpError::from(&err);
            let code = &http.problem().code;
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
            assert_eq!(
                http.status() == 401,
                www_authenticate(&err).is_some(),
                "{err:?}"
            );
        }
    }

    #[test]
    fn backend_details_never_reach_the_client_message() {
        let internal = AuthError::internal("SELECT secret FROM users");
        assert_eq!(internal.to_string(), "internal error");
        assert!(std::error::Error::source(&internal).is_some());
        let down = AuthError::unavailable("connection refused to 10.0.0.1");
        assert_eq!(down.to_string(), "the service is temporarily unavailable");
        assert_eq!(HttpError::from(&down).status(), 503);
    }

    #[test]
    fn retry_after_is_rounded_up_to_one_second() {
        let err = AuthError::TooManyAttempts {
            retry_after: std::time::Duration::from_millis(10),
        };
        assert_eq!(retry_after_secs(&err), Some(1));
        assert_eq!(HttpError::from(&err).status(), 429);
        assert_eq!(retry_after_secs(&AuthError::InvalidToken), None);
        assert_eq!(
            retry_after_secs(&AuthError::unavailable("down")),
            Some(UNAVAILABLE_RETRY_AFTER_SECS)
        );
    }
}
