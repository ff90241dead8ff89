//! The refresh cookie of a browser page (see
//! [`RefreshCookie`](auth_core::http::RefreshCookie)): auth-core decides,
//! this moves headers in and out.

use auth_core::{
    AuthError, AuthResponse, AuthService, SignUp,
    http::{
        CookieAuthResponse, REFRESH_COOKIE_HEADER, RefreshCookie, SEC_FETCH_SITE,
        refresh_token_from_cookies,
    },
};
use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::Response,
};

use crate::{ApiError, routes::no_store};

/// The transport a request asked for: `Some` with `X-Refresh-Cookie: 1`.
/// Rejects a cross-site cookie-mode request with 403 before anything else
/// (token, body) is looked at.
pub(crate) struct CookieMode(pub(crate) Option<RefreshCookie>);

impl<S: Send + Sync> FromRequestParts<S> for CookieMode {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let header = |name: &str| parts.headers.get(name).map(HeaderValue::as_bytes);
        RefreshCookie::for_request(header(REFRESH_COOKIE_HEADER), header(SEC_FETCH_SITE))
            .map(Self)
            .map_err(ApiError::from)
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
    ) -> Result<Response, ApiError> {
        match &self.0 {
            None => Ok(no_store(status, response)),
            Some(cookie) => with_cookie(
                no_store(status, CookieAuthResponse::from(response)),
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
    ) -> Result<Response, ApiError> {
        match signed_up {
            SignUp::SignedIn(response) => self.tokens(auth, StatusCode::CREATED, response),
            SignUp::VerificationRequired(pending) => Ok(no_store(StatusCode::CREATED, pending)),
            _ => Err(AuthError::internal("a sign-up outcome this adapter does not know").into()),
        }
    }

    /// `response`, which ends the session, deleting the cookie in cookie
    /// mode.
    pub(crate) fn cleared(&self, response: Response) -> Result<Response, ApiError> {
        match &self.0 {
            None => Ok(response),
            Some(cookie) => with_cookie(response, cookie.clear()),
        }
    }
}

/// The refresh token of the request's cookie; empty when there is none,
/// which the service refuses like any unknown token. Two such cookies are
/// a 400, and the answer clears neither.
pub(crate) fn cookie_token(headers: &HeaderMap) -> Result<String, ApiError> {
    let cookies = headers.get_all(header::COOKIE).into_iter();
    let token = refresh_token_from_cookies(cookies.map(HeaderValue::as_bytes))?;
    Ok(token.unwrap_or_default().to_owned())
}

fn with_cookie(mut response: Response, set_cookie: String) -> Result<Response, ApiError> {
    // Without the cookie the page would lose its session; a 500 says so.
    let value = HeaderValue::try_from(set_cookie).map_err(AuthError::internal)?;
    response.headers_mut().append(header::SET_COOKIE, value);
    Ok(response)
}
