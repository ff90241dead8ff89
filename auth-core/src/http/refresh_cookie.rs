//! The cookie transport of the refresh token, for a browser page served
//! from the same origin as the API.
//!
//! A request opts in with [`REFRESH_COOKIE_HEADER`]` : 1` on sign-up,
//! sign-in, refresh, sign-out and `DELETE /sessions`. The refresh token
//! then travels only in an `HttpOnly; Secure; SameSite=Strict` cookie
//! named [`REFRESH_COOKIE`], and the JSON body leaves it out
//! ([`CookieAuthResponse`]), so no page script ever sees it. Without the
//! header nothing changes.
//!
//! Cross-site requests cannot use the cookie: the opt-in header is not
//! CORS-safelisted, so another origin needs a preflight, and the servers
//! never send `Access-Control-Allow-Credentials`; `SameSite=Strict` keeps
//! the cookie off cross-site requests; and [`check_fetch_site`] refuses a
//! cookie-mode request that a browser marks as not same-origin.
//!
//! Nor can another origin plant a cookie of that name ("cookie tossing"):
//! the `__Host-` prefix makes browsers accept it only from this very host,
//! over HTTPS (or loopback), with `Path=/` and no `Domain`, so a sibling
//! subdomain or a plain-HTTP page cannot set one. A request that carries
//! the cookie twice anyway is refused, and nothing is cleared.
//!
//! ```
//! use auth_core::http::{RefreshCookie, refresh_token_from_cookies};
//!
//! // What an adapter does with a request's headers:
//! let cookie = RefreshCookie::for_request(Some(b"1"), Some(b"same-origin"))
//!     .unwrap()
//!     .expect("cookie mode");
//! let token = refresh_token_from_cookies([b"theme=dark; __Host-auth_refresh=abc".as_slice()]);
//! assert_eq!(token, Ok(Some("abc")));
//! assert_eq!(
//!     cookie.clear(),
//!     "__Host-auth_refresh=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"
//! );
//!
//! // No opt-in: the contract's JSON transport.
//! assert_eq!(RefreshCookie::for_request(None, Some(b"cross-site")), Ok(None));
//! // Opted in from another site: 403 `cross_site_request`.
//! let refused = RefreshCookie::for_request(Some(b"1"), Some(b"cross-site"));
//! assert_eq!(refused.unwrap_err().code, "cross_site_request");
//! ```

use std::time::Duration;

use serde::Serialize;

use crate::{AccessToken, AuthResponse, RefreshToken, User, problem::Problem};

/// The request header that asks for the cookie transport: `X-Refresh-Cookie: 1`.
///
/// A custom header on purpose: it is not CORS-safelisted, so a page on
/// another origin cannot send it without a preflight the servers do not
/// grant with credentials.
pub const REFRESH_COOKIE_HEADER: &str = "x-refresh-cookie";

/// The name of the cookie that carries the refresh token. The `__Host-`
/// prefix binds it to this host, over a secure origin, with `Path=/`: no
/// sibling subdomain or plain-HTTP page can set a cookie by that name.
pub const REFRESH_COOKIE: &str = "__Host-auth_refresh";

/// The Fetch Metadata request header (`Sec-Fetch-Site`) that
/// [`check_fetch_site`] reads.
pub const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Whether an [`REFRESH_COOKIE_HEADER`] value opts in: exactly `1`
/// (surrounding whitespace aside). Any other value is as if the header
/// were absent: the cookie is only ever read or written on a clear request.
///
/// ```
/// use auth_core::http::wants_refresh_cookie;
///
/// assert!(wants_refresh_cookie(Some(b"1")));
/// assert!(!wants_refresh_cookie(Some(b"true")));
/// assert!(!wants_refresh_cookie(None));
/// ```
pub fn wants_refresh_cookie(opt_in: Option<&[u8]>) -> bool {
    opt_in.is_some_and(|value| value.trim_ascii() == b"1")
}

/// Refuses a request whose `Sec-Fetch-Site` is present and neither
/// `same-origin` nor `none` (typed into the address bar, a bookmark).
/// Browsers that send no such header (old ones, non-browser clients)
/// pass: the cookie's `SameSite=Strict` and the missing CORS credentials
/// still hold there.
///
/// `same-site` is refused too: a sibling subdomain is another origin, and
/// may be less trusted than this one.
///
/// ```
/// use auth_core::http::check_fetch_site;
///
/// assert!(check_fetch_site(None).is_ok());
/// assert!(check_fetch_site(Some(b"same-origin")).is_ok());
/// assert!(check_fetch_site(Some(b"none")).is_ok());
/// assert_eq!(check_fetch_site(Some(b"same-site")).unwrap_err().status, 403);
/// assert_eq!(check_fetch_site(Some(b"cross-site")).unwrap_err().code, "cross_site_request");
/// ```
///
/// # Errors
/// A 403 [`Problem::cross_site_request`].
pub fn check_fetch_site(sec_fetch_site: Option<&[u8]>) -> Result<(), Problem> {
    match sec_fetch_site.map(<[u8]>::trim_ascii) {
        None => Ok(()),
        Some(site)
            if site.eq_ignore_ascii_case(b"same-origin") || site.eq_ignore_ascii_case(b"none") =>
        {
            Ok(())
        }
        // Unknown values too: a browser that sends the header knows the
        // four the standard defines.
        Some(_) => Err(Problem::cross_site_request()),
    }
}

/// The refresh token in a request's `Cookie` header(s) (HTTP/2 may split
/// them): `None` without a [`REFRESH_COOKIE`]. The value may be empty; a
/// value that is not UTF-8 counts as absent. Either way the service's
/// refresh then answers 401.
///
/// ```
/// use auth_core::http::refresh_token_from_cookies;
///
/// let headers = [b"a=1".as_slice(), b"b=2; __Host-auth_refresh=\"tok\""];
/// assert_eq!(refresh_token_from_cookies(headers), Ok(Some("tok")));
/// assert_eq!(refresh_token_from_cookies([b"__Host-auth_refresh=".as_slice()]), Ok(Some("")));
/// assert_eq!(refresh_token_from_cookies([b"auth_refresh=tok".as_slice()]), Ok(None));
/// assert_eq!(refresh_token_from_cookies(std::iter::empty()), Ok(None));
/// // Twice: someone planted one, and which is the user's cannot be told.
/// let tossed = [b"__Host-auth_refresh=theirs; __Host-auth_refresh=mine".as_slice()];
/// assert_eq!(refresh_token_from_cookies(tossed).unwrap_err().code, "duplicate_cookie");
/// ```
///
/// # Errors
/// A 400 [`Problem::duplicate_cookie`] when the cookie is there more than
/// once.
pub fn refresh_token_from_cookies<'a>(
    cookie_headers: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<&'a str>, Problem> {
    let mut values = cookie_headers
        .into_iter()
        .flat_map(|header| header.split(|&b| b == b';'))
        .filter_map(|pair| {
            let (name, value) = pair.split_at(pair.iter().position(|&b| b == b'=')?);
            // Space and tab only, as browsers trim (RFC 6265bis): no other
            // byte may make a name they treat as unprefixed match here.
            (trim_blanks(name) == REFRESH_COOKIE.as_bytes()).then(|| trim_blanks(&value[1..]))
        });
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Problem::duplicate_cookie(REFRESH_COOKIE));
    }
    // RFC 6265 §4.1.1 allows a value in double quotes.
    let value = value
        .strip_prefix(b"\"")
        .and_then(|inner| inner.strip_suffix(b"\""))
        .unwrap_or(value);
    Ok(std::str::from_utf8(value).ok())
}

fn trim_blanks(bytes: &[u8]) -> &[u8] {
    let blank = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |last| last + 1);
    &bytes[start..end]
}

/// The cookie transport of one request that opted in, and the
/// `Set-Cookie` values that write and clear its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshCookie {}

impl RefreshCookie {
    /// The transport a request asked for, from its
    /// [`REFRESH_COOKIE_HEADER`] and [`SEC_FETCH_SITE`] header values:
    /// `None` for the contract's JSON transport, `Some` for the cookie.
    ///
    /// # Errors
    /// A 403 [`Problem::cross_site_request`] when the request opted in and
    /// [`check_fetch_site`] refuses it. Without the opt-in, `Sec-Fetch-Site`
    /// is not looked at.
    pub fn for_request(
        opt_in: Option<&[u8]>,
        sec_fetch_site: Option<&[u8]>,
    ) -> Result<Option<Self>, Problem> {
        if !wants_refresh_cookie(opt_in) {
            return Ok(None);
        }
        check_fetch_site(sec_fetch_site)?;
        Ok(Some(Self {}))
    }

    /// The `Set-Cookie` value that hands `token` to the browser for
    /// `max_age` (the service's
    /// [`session_ttl`](crate::AuthService::session_ttl), the longest a
    /// refresh token can be good for):
    /// `__Host-auth_refresh=<token>; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=<s>`.
    ///
    /// `Path=/` is what the `__Host-` prefix demands, so the browser sends
    /// the cookie with every request to this origin; the servers read it on
    /// the cookie-mode auth routes only, and never log it. `Secure` holds
    /// on plain `http://` only for loopback hosts (`127.0.0.1`,
    /// `localhost`), which browsers treat as secure; any other host must be
    /// served over HTTPS for the cookie to be kept.
    pub fn set(&self, token: &RefreshToken, max_age: Duration) -> String {
        attributes(token.expose_secret(), max_age.as_secs())
    }

    /// The `Set-Cookie` value that deletes the cookie (empty, `Max-Age=0`,
    /// the same attributes so the browser matches it).
    pub fn clear(&self) -> String {
        attributes("", 0)
    }
}

fn attributes(value: &str, max_age_secs: u64) -> String {
    format!(
        "{REFRESH_COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age_secs}"
    )
}

/// An [`AuthResponse`] without its refresh token: the body of sign-up,
/// sign-in and refresh in cookie mode, where the token is in the cookie.
///
/// ```
/// # use auth_core::{AuthError, AuthService, JwtCodec, MemoryStore, Password, SignUpRequest};
/// use auth_core::http::CookieAuthResponse;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), AuthError> {
/// # let store = MemoryStore::new();
/// # let auth = AuthService::builder(store.clone(), store)
/// #     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
/// #     .build()?;
/// let signed_up = auth.sign_up(SignUpRequest { email: "ada@example.com".into(),
///     password: Password::new("correct horse battery"), name: None }).await?.signed_in()?;
/// let body = serde_json::to_value(CookieAuthResponse::from(&signed_up)).unwrap();
/// assert!(body["access_token"].is_string());
/// assert!(body.get("refresh_token").is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct CookieAuthResponse<'a> {
    /// The signed-in user.
    pub user: &'a User,
    /// The access token.
    pub access_token: &'a AccessToken,
    /// Always `"Bearer"`.
    pub token_type: &'a str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl<'a> From<&'a AuthResponse> for CookieAuthResponse<'a> {
    fn from(response: &'a AuthResponse) -> Self {
        // Exhaustive, so a new member of AuthResponse must be considered
        // here before this compiles.
        let AuthResponse {
            user,
            access_token,
            token_type,
            expires_in,
            refresh_token: _,
        } = response;
        Self {
            user,
            access_token,
            token_type,
            expires_in: *expires_in,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie_mode() -> RefreshCookie {
        RefreshCookie::for_request(Some(b" 1 "), None)
            .ok()
            .flatten()
            .expect("cookie mode")
    }

    #[test]
    fn set_cookie_has_every_attribute() {
        let token = RefreshToken::generate().unwrap();
        let value = cookie_mode().set(&token, Duration::from_secs(2_592_000));
        assert_eq!(
            value,
            format!(
                "__Host-auth_refresh={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=2592000",
                token.expose_secret()
            )
        );
    }

    #[test]
    fn opt_in_is_exactly_one() {
        for value in [&b"0"[..], b"", b"yes", b"11", b"true"] {
            assert_eq!(
                RefreshCookie::for_request(Some(value), Some(b"cross-site")),
                Ok(None),
                "{value:?}"
            );
        }
    }

    #[test]
    fn fetch_site_check_fails_closed() {
        for site in [&b"same-site"[..], b"cross-site", b"", b"weird"] {
            let refused = RefreshCookie::for_request(Some(b"1"), Some(site)).unwrap_err();
            assert_eq!(
                (refused.status, refused.code.as_str()),
                (403, "cross_site_request")
            );
        }
        for site in [&b"same-origin"[..], b"none", b"Same-Origin"] {
            assert!(check_fetch_site(Some(site)).is_ok(), "{site:?}");
        }
    }

    #[test]
    fn cookie_parsing_edges() {
        let parse = |header: &'static str| refresh_token_from_cookies([header.as_bytes()]);
        assert_eq!(parse("__Host-auth_refresh=tok"), Ok(Some("tok")));
        assert_eq!(parse("  __Host-auth_refresh = tok ;x=1"), Ok(Some("tok")));
        assert_eq!(parse("__Host-auth_refresh=a=b"), Ok(Some("a=b")));
        assert_eq!(parse("__host-Auth_Refresh=tok"), Ok(None));
        assert_eq!(parse("auth_refresh=tok; __Secure-auth_refresh=x"), Ok(None));
        assert_eq!(parse("__Host-auth_refresh"), Ok(None));
        assert_eq!(parse("\x0c__Host-auth_refresh=tok"), Ok(None));
        assert_eq!(parse("\t__Host-auth_refresh =\ttok\t"), Ok(Some("tok")));
        assert_eq!(parse("__Host-auth_refresh=\""), Ok(Some("\"")));
        assert_eq!(
            refresh_token_from_cookies([b"__Host-auth_refresh=\xff".as_slice()]),
            Ok(None)
        );
    }

    #[test]
    fn a_second_cookie_is_refused_wherever_it_is() {
        for headers in [
            &[&b"__Host-auth_refresh=a; __Host-auth_refresh=b"[..]][..],
            &[b"__Host-auth_refresh=a", b"x=1; __Host-auth_refresh=a"],
            &[b"__Host-auth_refresh=; __Host-auth_refresh=b"],
        ] {
            let refused = refresh_token_from_cookies(headers.iter().copied()).unwrap_err();
            assert_eq!(
                (refused.status, refused.code.as_str()),
                (400, "duplicate_cookie")
            );
        }
    }

    #[test]
    fn cookie_body_is_the_auth_response_less_the_refresh_token() {
        let response = AuthResponse {
            user: serde_json::from_value(serde_json::json!({
                "id": "u1", "email": "ada@example.com", "email_verified": false, "name": null,
                "created_at": "2026-12-02T12:00:00Z", "updated_at": "2026-12-02T12:00:00Z"
            }))
            .unwrap(),
            access_token: AccessToken::new("a.b.c".to_owned()),
            token_type: "Bearer".to_owned(),
            expires_in: 900,
            refresh_token: RefreshToken::generate().unwrap(),
        };
        let mut full = serde_json::to_value(&response).unwrap();
        let cookie = serde_json::to_value(CookieAuthResponse::from(&response)).unwrap();
        full.as_object_mut().unwrap().remove("refresh_token");
        assert_eq!(full, cookie);
    }
}
