//! Sign-up, sign-in, refresh, sign-out, the current user and the JWKS.

use super::{
    BoxFuture, Endpoint, Input, Reply, endpoint,
    reply::{cleared, signed_in, tokens},
};
use crate::{
    AuthError, AuthService, MeResponse, RefreshRequest, SignInRequest, SignUp, SignUpRequest,
    http::{HttpError, JWKS_CACHE_CONTROL},
};

type Answer<'a> = BoxFuture<'a, Result<Reply, HttpError>>;

pub(super) static ENDPOINTS: &[Endpoint] = &[
    endpoint! {
        Post "/sign-up",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: true,
        setup: None,
        run: sign_up,
        doc: crate::openapi::__path_sign_up,
        schemas: [SignUpRequest],
    },
    endpoint! {
        Post "/sign-in",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: true,
        setup: None,
        run: sign_in,
        doc: crate::openapi::__path_sign_in,
        schemas: [SignInRequest],
    },
    endpoint! {
        Post "/refresh",
        needs: Nothing,
        admit_client: true,
        body: JsonUnlessHeld,
        cookie: true,
        setup: None,
        run: refresh,
        doc: crate::openapi::__path_refresh,
        schemas: [RefreshRequest],
    },
    endpoint! {
        Post "/sign-out",
        needs: Session,
        admit_client: false,
        body: EmptyOrJson,
        cookie: true,
        setup: None,
        run: sign_out,
        doc: crate::openapi::__path_sign_out,
    },
    endpoint! {
        Get "/me",
        needs: SessionOrApiKey,
        admit_client: false,
        body: None,
        cookie: false,
        setup: None,
        run: me,
        doc: crate::openapi::__path_me,
    },
    endpoint! {
        Get "/jwks",
        needs: Nothing,
        admit_client: false,
        body: None,
        cookie: false,
        setup: AsymmetricKeys,
        run: jwks,
        doc: crate::openapi::__path_jwks,
    },
];

fn sign_up(auth: &AuthService, mut input: Input<SignUpRequest>) -> Answer<'_> {
    Box::pin(async move {
        let request = input.take_body()?;
        Ok(match auth.sign_up(request).await? {
            SignUp::SignedIn(response) => tokens(auth, input.cookie.as_ref(), 201, &response),
            SignUp::VerificationRequired(pending) => Reply::json(201, &pending),
        })
    })
}

fn sign_in(auth: &AuthService, mut input: Input<SignInRequest>) -> Answer<'_> {
    Box::pin(async move {
        let outcome = auth.sign_in(input.take_body()?).await?;
        Ok(signed_in(auth, input.cookie.as_ref(), &outcome))
    })
}

/// With the cookie transport the token comes from the cookie and the body,
/// `{}` or nothing, is not used; an answer that ends the session (401, or
/// an address that must be verified first) also deletes the cookie.
fn refresh(auth: &AuthService, mut input: Input<RefreshRequest>) -> Answer<'_> {
    Box::pin(async move {
        let Some(cookie) = input.cookie.clone() else {
            let body = input.take_body()?;
            let refreshed = auth.refresh(&body.refresh_token).await?;
            return Ok(tokens(auth, None, 200, &refreshed));
        };
        Ok(match auth.refresh(input.cookie_token()).await {
            Ok(refreshed) => tokens(auth, Some(&cookie), 200, &refreshed),
            Err(err)
                if HttpError::status_for(&err) == 401
                    || matches!(err, AuthError::EmailNotVerified) =>
            {
                cleared(Some(&cookie), Reply::error(err))
            }
            Err(err) => return Err(err.into()),
        })
    })
}

fn sign_out(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        auth.sign_out(input.principal()?).await?;
        Ok(cleared(input.cookie.as_ref(), Reply::empty(204)))
    })
}

fn me(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let user = auth.current_user(input.principal()?).await?;
        Ok(Reply::json(200, &MeResponse { user }))
    })
}

/// The public keys of the service's tokens; 404 with a shared secret, where
/// there are none to publish.
fn jwks(auth: &AuthService, _: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let keys = auth.jwks().ok_or(AuthError::NotFound)?;
        Ok(Reply::json(200, &keys).with_header("cache-control", JWKS_CACHE_CONTROL.to_owned()))
    })
}
