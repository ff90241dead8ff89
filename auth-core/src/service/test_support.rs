//! What the service's unit tests share: a user signed up with a password,
//! and the principal of a session.

use super::{AuthService, Principal};
use crate::{AuthResponse, Password, SignUpRequest};

/// A user signed up at `email` with `password`, and their first session.
pub(crate) async fn signed_up(auth: &AuthService, email: &str, password: &str) -> AuthResponse {
    match auth
        .sign_up(SignUpRequest {
            email: email.into(),
            password: Password::new(password),
            name: None,
        })
        .await
    {
        Ok(crate::SignUp::SignedIn(session)) => session,
        other => panic!("signed up without a session: {other:?}"),
    }
}

/// The principal of `session`'s access token.
pub(crate) async fn principal(auth: &AuthService, session: &AuthResponse) -> Principal {
    match auth
        .authenticate(session.access_token.expose_secret())
        .await
    {
        Ok(principal) => principal,
        Err(error) => panic!("the access token is refused: {error:?}"),
    }
}
