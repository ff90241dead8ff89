//! Sign-up, sign-in, refresh, sign-out, the current user and the JWKS.

use super::{
    BodyRule, BoxFuture, Endpoint, Input, Method, Needs, Reply, Setup, Typed,
    reply::{cleared, signed_in, tokens},
};
use crate::{
    AuthError, AuthService, MeResponse, RefreshRequest, SignInRequest, SignUp, SignUpRequest,
    http::{HttpError, JWKS_CACHE_CONTROL},
};

type Answer<'a> = BoxFuture<'a, Result<Reply, HttpError>>;

pub(super) static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: Method::Post,
        path: "/sign-up",
        needs: Needs::Nothing,
        admit_client: true,
        body: BodyRule::Json,
        cookie: true,
        setup: Setup::None,
        handler: &Typed(sign_up),
        #[cfg(feature = "openapi")]
        operation: super::operation_with::<crate::openapi::__path_sign_up, SignUpRequest>,
    },
    Endpoint {
        method: Method::Post,
        path: "/sign-in",
        needs: Needs::Nothing,
        admit_client: true,
        body: BodyRule::Json,
        cookie: true,
        setup: Setup::None,
        handler: &Typed(sign_in),
        #[cfg(feature = "openapi")]
        operation: super::operation_with::<crate::openapi::__path_sign_in, SignInRequest>,
    },
    Endpoint {
        method: Method::Post,
        path: "/refresh",
        needs: Needs::Nothing,
        admit_client: true,
        body: BodyRule::JsonUnlessHeld,
        cookie: true,
        setup: Setup::None,
        handler: &Typed(refresh),
        #[cfg(feature = "openapi")]
        operation: super::operation_with::<crate::openapi::__path_refresh, RefreshRequest>,
    },
    Endpoint {
        method: Method::Post,
        path: "/sign-out",
        needs: Needs::Session,
        admit_client: false,
        body: BodyRule::EmptyOrJson,
        cookie: true,
        setup: Setup::None,
        handler: &Typed(sign_out),
        #[cfg(feature = "openapi")]
        operation: super::operation::<crate::openapi::__path_sign_out>,
    },
    Endpoint {
        method: Method::Get,
        path: "/me",
        needs: Needs::SessionOrApiKey,
        admit_client: false,
        body: BodyRule::None,
        cookie: false,
        setup: Setup::None,
        handler: &Typed(me),
        #[cfg(feature = "openapi")]
        operation: super::operation::<crate::openapi::__path_me>,
    },
    Endpoint {
        method: Method::Get,
        path: "/jwks",
        needs: Needs::Nothing,
        admit_client: false,
        body: BodyRule::None,
        cookie: false,
        setup: Setup::AsymmetricKeys,
        handler: &Typed(jwks),
        #[cfg(feature = "openapi")]
        operation: super::operation::<crate::openapi::__path_jwks>,
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
