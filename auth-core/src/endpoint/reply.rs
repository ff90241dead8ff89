//! What a route answers, framework-free.

use serde::Serialize;

use crate::{
    AuthError, AuthResponse, AuthService,
    http::{CookieAuthResponse, HttpError, NO_STORE, RefreshCookie},
    sign_in::SignIn,
};

/// An HTTP answer: status, headers (lower-case names, in order; a name may
/// repeat, as `set-cookie` does) and body. Adapters copy it into their
/// framework's response as is.
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// Status and header names: the body and `Set-Cookie` hold tokens.
impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// A JSON body with `status` and `Cache-Control: no-store`: auth
    /// replies carry tokens or personal data, which no cache may keep.
    pub fn json<T: Serialize + ?Sized>(status: u16, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(body) => Self {
                status,
                headers: vec![
                    ("content-type", "application/json".to_owned()),
                    ("cache-control", NO_STORE.to_owned()),
                ],
                body,
            },
            Err(err) => Self::error(AuthError::internal(err)),
        }
    }

    /// No body (`204 No Content`, say).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// An error as problem+json, with the headers it needs
    /// (`WWW-Authenticate`, `Retry-After`, `Allow`).
    pub fn error(err: impl Into<HttpError>) -> Self {
        let err = err.into();
        let mut headers = vec![("content-type", err.content_type().to_owned())];
        headers.extend(err.headers());
        Self {
            status: err.status(),
            headers,
            body: err.body(),
        }
    }

    /// Sets a header, replacing any value it had.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.retain(|(key, _)| *key != name);
        self.headers.push((name, value));
        self
    }

    /// Adds a `Set-Cookie`.
    #[must_use]
    pub fn set_cookie(mut self, value: String) -> Self {
        self.headers.push(("set-cookie", value));
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Status, headers and body, to move into a framework's response.
    pub fn into_parts(self) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
        (self.status, self.headers, self.body)
    }
}

/// Sign-up's, sign-in's or refresh's answer: the contract's `AuthResponse`,
/// or with the cookie transport the body without the refresh token and the
/// token in the cookie.
pub(crate) fn tokens(
    auth: &AuthService,
    cookie: Option<&RefreshCookie>,
    status: u16,
    response: &AuthResponse,
) -> Reply {
    match cookie {
        None => Reply::json(status, response),
        Some(cookie) => Reply::json(status, &CookieAuthResponse::from(response))
            .set_cookie(cookie.set(&response.refresh_token, auth.session_ttl())),
    }
}

/// A first factor's 200: the tokens as [`tokens`] sends them, or the
/// challenge for a second factor, which carries no token and so sets no
/// cookie (`Cache-Control: no-store` still: the challenge token is a
/// secret).
pub(crate) fn signed_in(
    auth: &AuthService,
    cookie: Option<&RefreshCookie>,
    outcome: &SignIn,
) -> Reply {
    match outcome {
        SignIn::Complete(response) => tokens(auth, cookie, 200, response),
        SignIn::SecondFactorRequired(challenge) => Reply::json(200, challenge),
    }
}

/// `reply`, which ends the session, deleting the cookie with the cookie
/// transport.
pub(crate) fn cleared(cookie: Option<&RefreshCookie>, reply: Reply) -> Reply {
    match cookie {
        None => reply,
        Some(cookie) => reply.set_cookie(cookie.clear()),
    }
}
