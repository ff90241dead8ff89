//! The refresh cookie of a browser page (see
//! [`RefreshCookie`](auth_core::http::RefreshCookie)): auth-core decides,
//! this moves headers in and out.

use actix_web::{
    FromRequest, HttpRequest, HttpResponse,
    dev::Payload,
    http::{
        StatusCode,
        header::{self, HeaderValue},
    },
};
use auth_core::{
    AuthError, AuthResponse, AuthService, SignUp,
    http::{
        CookieAuthResponse, REFRESH_COOKIE_HEADER, RefreshCookie, SEC_FETCH_SITE,
        refresh_token_from_cookies,
    },
};

use crate::{ApiError, routes::no_store};

/// The transport a request asked for: `Some` with `X-Refresh-Cookie: 1`.
/// Rejects a cross-site cookie-mode request with 403 before anything else
/// (token, body) is looked at.
pub(crate) struct CookieMode(pub(crate) Option<RefreshCookie>);

impl FromRequest for CookieMode {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = |name: &str| req.headers().get(name).map(HeaderValue::as_bytes);
        std::future::ready(
            RefreshCookie::for_request(header(REFRESH_COOKIE_HEADER), header(SEC_FETCH_SITE))
                .map(Self)
                .map_err(ApiError::from),
        )
    }
}

impl CookieMode {
    /// Sign-up's, sign-in's or refresh's answer: the contract's
    /// `AuthResponse`, or in cookie mode the body without the refresh token
    /// and the token in the cookie.
    pub(crate) fn tokens(
        &self,
        auth: &AuthService,
        status: StatusCode,
        response: &AuthResponse,
    ) -> Result<HttpResponse, ApiError> {
        match &self.0 {
            None => Ok(no_store(status, response)),
            Some(cookie) => with_cookie(
                no_store(status, &CookieAuthResponse::from(response)),
                cookie.set(&response.refresh_token, auth.session_ttl()),
            ),
        }
    }

    /// Sign-up's 201: signed in as [`tokens`](Self::tokens) answers, or,
    /// when the address must be verified first, the user alone.
    pub(crate) fn signed_up(
        &self,
        auth: &AuthService,
        signed_up: &SignUp,
    ) -> Result<HttpResponse, ApiError> {
        match signed_up {
            SignUp::SignedIn(response) => self.tokens(auth, StatusCode::CREATED, response),
            SignUp::VerificationRequired(pending) => Ok(no_store(StatusCode::CREATED, pending)),
            _ => Err(AuthError::internal("a sign-up outcome this adapter does not know").into()),
        }
    }

    /// `response`, which ends the session, deleting the cookie in cookie
    /// mode.
    pub(crate) fn cleared(&self, response: HttpResponse) -> Result<HttpResponse, ApiError> {
        match &self.0 {
            None => Ok(response),
            Some(cookie) => with_cookie(response, cookie.clear()),
        }
    }
}

/// The refresh token of the request's cookie; empty when there is none,
/// which the service refuses like any unknown token. Two such cookies are
/// a 400, and the answer clears neither.
pub(crate) fn cookie_token(req: &HttpRequest) -> Result<String, ApiError> {
    let cookies = req.headers().get_all(header::COOKIE);
    let token = refresh_token_from_cookies(cookies.map(HeaderValue::as_bytes))?;
    Ok(token.unwrap_or_default().to_owned())
}

fn with_cookie(mut response: HttpResponse, set_cookie: String) -> Result<HttpResponse, ApiError> {
    // Without the cookie the page would lose its session; a 500 says so.
    let value = HeaderValue::try_from(set_cookie).map_err(AuthError::internal)?;
    response.headers_mut().append(header::SET_COOKIE, value);
    Ok(response)
}
