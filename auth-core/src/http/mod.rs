//! The framework-independent half of an HTTP adapter: reading the bearer
//! token, checking and parsing JSON bodies, the refresh cookie of browser
//! pages ([`RefreshCookie`]), and turning errors into status, headers and
//! a problem+json body. `auth-axum` and `auth-actix` are thin
//! glue over these, so both answer every request alike.

use serde::de::DeserializeOwned;

pub(crate) mod error;
mod refresh_cookie;

pub use error::{HttpError, UNAVAILABLE_RETRY_AFTER_SECS};

pub use refresh_cookie::{
    CookieAuthResponse, REFRESH_COOKIE, REFRESH_COOKIE_HEADER, RefreshCookie, SEC_FETCH_SITE,
    check_fetch_site, refresh_token_from_cookies, wants_refresh_cookie,
};

use crate::{AuthError, problem::Problem};

/// The default limit on request bodies: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How much of a body over the limit an adapter reads (and discards) before
/// answering 413: 1 MiB. A server that answers while the client is still
/// sending and then closes the connection makes many clients fail with a
/// broken pipe before they read the answer; reading a little more lets an
/// ordinary oversized request get its 413. Beyond this, the connection is
/// dropped instead.
pub const MAX_DRAINED_BODY: usize = 1024 * 1024;

/// The `Cache-Control` value for responses that carry tokens (RFC 6749
/// §5.1): no cache, shared or private, may keep them.
pub const NO_STORE: &str = "no-store";

/// `Cache-Control` of `GET /api/auth/jwks`: public keys may be cached for
/// five minutes. A rotation adds the new key to the set before it signs
/// (after at least this long), and the old key stays listed for the longest
/// token lifetime, so no verifier with a cached copy misses a key.
pub const JWKS_CACHE_CONTROL: &str = "public, max-age=300";

/// The bearer token of an `Authorization` header value.
///
/// The scheme is matched case-insensitively (RFC 9110 §11.1). Only the
/// header is ever read: tokens in query strings or form bodies end up in
/// logs and browser history, so they are not accepted.
///
/// ```
/// use auth_core::{AuthError, http::bearer_token};
///
/// assert_eq!(bearer_token(Some(b"Bearer abc.def.ghi")).unwrap(), "abc.def.ghi");
/// assert_eq!(bearer_token(Some(b"bearer abc")).unwrap(), "abc");
/// assert!(matches!(bearer_token(None), Err(AuthError::MissingToken)));
/// assert!(matches!(bearer_token(Some(b"Basic dXNlcjpwdw==")), Err(AuthError::MissingToken)));
/// assert!(matches!(bearer_token(Some(b"Bearer ")), Err(AuthError::InvalidToken)));
/// ```
///
/// # Errors
/// [`AuthError::MissingToken`] when there is no header or it uses another
/// scheme (no bearer token was sent, so the 401 carries no `error`);
/// [`AuthError::InvalidToken`] when a `Bearer` credential is empty or not
/// printable ASCII.
pub fn bearer_token(authorization: Option<&[u8]>) -> Result<&str, AuthError> {
    const SCHEME: &[u8] = b"bearer";
    let Some(value) = authorization else {
        return Err(AuthError::MissingToken);
    };
    let is_bearer = value.len() > SCHEME.len()
        && value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME)
        && value[SCHEME.len()] == b' ';
    if !is_bearer {
        return if value.eq_ignore_ascii_case(SCHEME) {
            Err(AuthError::InvalidToken)
        } else {
            Err(AuthError::MissingToken)
        };
    }
    let token = value[SCHEME.len()..].trim_ascii();
    if token.is_empty() || !token.iter().all(u8::is_ascii_graphic) {
        return Err(AuthError::InvalidToken);
    }
    // Printable ASCII is valid UTF-8, so this never fails.
    std::str::from_utf8(token).map_err(|_| AuthError::InvalidToken)
}

/// Whether a `Content-Type` value is `application/json` (any parameters,
/// such as `charset=utf-8`, are allowed).
///
/// ```
/// use auth_core::http::is_json;
///
/// assert!(is_json(Some(b"application/json")));
/// assert!(is_json(Some(b"Application/JSON; charset=utf-8")));
/// assert!(!is_json(Some(b"text/plain")));
/// assert!(!is_json(None));
/// ```
pub fn is_json(content_type: Option<&[u8]>) -> bool {
    let Some(value) = content_type else {
        return false;
    };
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/json")
}

/// Checks a request's `Content-Type` and parses its JSON body, which must
/// be an object, into `T`.
///
/// Unknown fields are ignored (unless `T` says otherwise); duplicate fields,
/// `NaN` and lone surrogates are refused, as RFC 8259 asks. An array is
/// refused too, although serde would fill a struct from one by position.
///
/// ```
/// use auth_core::{SignInRequest, http::parse_json};
///
/// let body = br#"{"email": "ada@example.com", "password": "hunter22", "extra": 1}"#;
/// let request: SignInRequest = parse_json(Some(b"application/json"), body).unwrap();
/// assert_eq!(request.email, "ada@example.com");
///
/// let wrong = parse_json::<SignInRequest>(Some(b"text/plain"), body).unwrap_err();
/// assert_eq!(wrong.status, 415);
/// let missing = parse_json::<SignInRequest>(Some(b"application/json"), b"{}").unwrap_err();
/// assert_eq!((missing.status, missing.detail.as_str()), (400, "the field `email` is missing"));
/// ```
///
/// # Errors
/// A 415 [`Problem`] for a missing or non-JSON `Content-Type`; a 400 one for
/// a body that is not JSON or does not fit `T`. The `detail` never quotes
/// the body: it may hold a password.
pub fn parse_json<T: DeserializeOwned>(
    content_type: Option<&[u8]>,
    body: &[u8],
) -> Result<T, Problem> {
    if !is_json(content_type) {
        return Err(Problem::unsupported_media_type());
    }
    if body.trim_ascii_start().first() == Some(&b'[') {
        return Err(Problem::malformed_body("the body must be a JSON object"));
    }
    serde_json::from_slice(body).map_err(|err| Problem::malformed_body(json_error_detail(&err)))
}

/// Like [`parse_json`], for routes whose body is optional (`POST
/// /sign-out` takes `{}` or nothing): an empty body is `T::default()`, any
/// other body must be JSON.
///
/// ```
/// use auth_core::http::parse_optional_json;
/// use serde::de::IgnoredAny;
///
/// assert!(parse_optional_json::<IgnoredAny>(None, b"").is_ok());
/// assert!(parse_optional_json::<IgnoredAny>(Some(b"application/json"), b"{}").is_ok());
/// assert_eq!(parse_optional_json::<IgnoredAny>(Some(b"text/plain"), b"x").unwrap_err().status, 415);
/// assert_eq!(parse_optional_json::<IgnoredAny>(Some(b"application/json"), b"{").unwrap_err().status, 400);
/// ```
///
/// # Errors
/// As [`parse_json`], for a non-empty body.
pub fn parse_optional_json<T: DeserializeOwned + Default>(
    content_type: Option<&[u8]>,
    body: &[u8],
) -> Result<T, Problem> {
    if body.is_empty() {
        return Ok(T::default());
    }
    parse_json(content_type, body)
}

/// Refuses a body whose `Content-Length` announces more than `limit` bytes.
/// (A body without one must still be read with a limit; see also
/// [`MAX_DRAINED_BODY`].)
///
/// ```
/// use auth_core::http::check_content_length;
///
/// assert!(check_content_length(Some(b"65536"), 65_536).is_ok());
/// assert_eq!(check_content_length(Some(b"65537"), 65_536).unwrap_err().status, 413);
/// assert!(check_content_length(None, 65_536).is_ok());
/// ```
///
/// # Errors
/// A 413 [`Problem`].
pub fn check_content_length(content_length: Option<&[u8]>, limit: usize) -> Result<(), Problem> {
    let announced = content_length
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match announced {
        Some(length) if length > u64::try_from(limit).unwrap_or(u64::MAX) => {
            Err(Problem::payload_too_large(limit))
        }
        _ => Ok(()),
    }
}

/// A request body read with a limit, whatever the framework's body type:
/// an adapter feeds it the chunks it receives and asks it for the bytes or
/// the 413.
///
/// A body over the limit is not kept, but reading goes on (and discards)
/// up to [`MAX_DRAINED_BODY`] so that a client still sending gets to read
/// the 413; [`push`](Self::push) says when to stop reading.
///
/// ```
/// use auth_core::http::LimitedBody;
/// use std::ops::ControlFlow;
///
/// let mut body = LimitedBody::new(8, None);
/// assert_eq!(body.push(b"{\"a\":"), ControlFlow::Continue(()));
/// assert_eq!(body.push(b"1}"), ControlFlow::Continue(()));
/// assert_eq!(body.finish().unwrap(), b"{\"a\":1}");
///
/// let mut big = LimitedBody::new(8, None);
/// let _ = big.push(b"0123456789");
/// assert_eq!(big.finish().unwrap_err().status, 413);
///
/// // A `Content-Length` over the limit is refused even if fewer bytes come.
/// let announced = LimitedBody::new(8, Some(b"9"));
/// assert_eq!(announced.finish().unwrap_err().status, 413);
/// ```
#[derive(Debug)]
pub struct LimitedBody {
    kept: Vec<u8>,
    received: usize,
    limit: usize,
    announced_too_large: bool,
}

impl LimitedBody {
    /// Starts reading a body of at most `limit` bytes, given the request's
    /// `Content-Length` header value, if any.
    pub fn new(limit: usize, content_length: Option<&[u8]>) -> Self {
        Self {
            kept: Vec::new(),
            received: 0,
            limit,
            announced_too_large: check_content_length(content_length, limit).is_err(),
        }
    }

    /// Adds the next chunk. [`ControlFlow::Break`](std::ops::ControlFlow::Break) means "stop reading":
    /// the body is over [`MAX_DRAINED_BODY`], and the connection should be
    /// dropped after the 413 rather than read on.
    pub fn push(&mut self, chunk: &[u8]) -> std::ops::ControlFlow<()> {
        self.received = self.received.saturating_add(chunk.len());
        if self.received <= self.limit {
            self.kept.extend_from_slice(chunk);
        } else {
            // Over the limit: what was kept is of no use any more.
            self.kept = Vec::new();
        }
        if self.received > MAX_DRAINED_BODY {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    }

    /// The body's bytes.
    ///
    /// # Errors
    /// A 413 [`Problem`] when the body, or its announced `Content-Length`,
    /// is over the limit.
    pub fn finish(self) -> Result<Vec<u8>, Problem> {
        if self.announced_too_large || self.received > self.limit {
            return Err(Problem::payload_too_large(self.limit));
        }
        Ok(self.kept)
    }

    /// The 400 for a body that could not be read: the client went away
    /// or sent a broken chunked encoding.
    pub fn unreadable() -> Problem {
        Problem::malformed_body("the request body could not be read")
    }
}

/// A description of a JSON error that names at most a field, never a value.
fn json_error_detail(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => "the body is not valid JSON".to_owned(),
        Category::Data => {
            // serde's messages for these two name only the field; every
            // other data error may quote the offending value.
            let message = err.to_string();
            let field = |prefix: &str| {
                message
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.split('`').next())
                    .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    .map(str::to_owned)
            };
            if let Some(name) = field("missing field `") {
                format!("the field `{name}` is missing")
            } else if let Some(name) = field("duplicate field `") {
                format!("the field `{name}` appears more than once")
            } else {
                "a field has the wrong type or value".to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        count: u32,
    }

    fn parse(body: &str) -> Result<Body, Problem> {
        parse_json(Some(b"application/json"), body.as_bytes())
    }

    #[test]
    fn json_errors_never_quote_values() {
        let cases = [
            (
                r#"{"title": "x", "count": "secret-value"}"#,
                "a field has the wrong type or value",
            ),
            (
                r#"{"title": "x", "count": 1, "title": "y"}"#,
                "the field `title` appears more than once",
            ),
            (r#"{"count": 1}"#, "the field `title` is missing"),
            (
                r#"{"title": "\ud800", "count": 1}"#,
                "the body is not valid JSON",
            ),
            (
                r#"{"title": "x", "count": NaN}"#,
                "the body is not valid JSON",
            ),
            ("", "the body is not valid JSON"),
            (r#" ["x", 1]"#, "the body must be a JSON object"),
        ];
        for (body, detail) in cases {
            let problem = parse(body).unwrap_err();
            assert_eq!(
                (problem.status, problem.detail.as_str()),
                (400, detail),
                "{body}"
            );
            assert_eq!(problem.code, "malformed_body");
        }
    }

    #[test]
    fn limited_body_drains_then_stops() {
        use std::ops::ControlFlow;
        let mut body = LimitedBody::new(10, Some(b"12"));
        let chunk = vec![b'x'; 64 * 1024];
        let mut pushed = 0;
        while body.push(&chunk) == ControlFlow::Continue(()) {
            pushed += chunk.len();
            assert!(pushed <= MAX_DRAINED_BODY, "reading never stops");
        }
        assert_eq!(pushed, MAX_DRAINED_BODY);
        assert_eq!(body.finish().unwrap_err().status, 413);
        let mut exact = LimitedBody::new(3, Some(b"3"));
        let _ = exact.push(b"abc");
        assert_eq!(exact.finish().unwrap(), b"abc");
    }

    #[test]
    fn bearer_parsing_edges() {
        assert_eq!(bearer_token(Some(b"BEARER  tok ")).unwrap(), "tok");
        assert!(matches!(
            bearer_token(Some(b"Bearer")),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            bearer_token(Some(b"Bearertok")),
            Err(AuthError::MissingToken)
        ));
        assert!(matches!(
            bearer_token(Some(b"Bearer a b")),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            bearer_token(Some("Bearer é".as_bytes())),
            Err(AuthError::InvalidToken)
        ));
    }
}
