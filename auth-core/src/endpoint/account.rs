//! The signed-in user's account, password reset, email verification and
//! sessions.

use serde::Serialize;

use super::{BoxFuture, Endpoint, Input, Reply, endpoint, reply::cleared};
use crate::{
    AuthError, AuthService, ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest,
    MeResponse, PasswordResetRequest, ResetPasswordRequest, SendVerificationRequest, SessionId,
    UpdateNameRequest, VerifyEmailRequest, http::HttpError,
};

type Answer<'a> = BoxFuture<'a, Result<Reply, HttpError>>;

/// The `{}` body of a 202 (a message may have been queued).
#[derive(Serialize)]
pub(crate) struct Accepted {}

pub(super) static ENDPOINTS: &[Endpoint] = &[
    endpoint! {
        Patch "/me",
        needs: Session,
        admit_client: false,
        body: Json,
        cookie: false,
        setup: None,
        run: update_name,
        doc: crate::openapi::__path_update_name,
        schemas: [UpdateNameRequest],
    },
    endpoint! {
        Delete "/me",
        needs: Session,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: None,
        run: delete_account,
        doc: crate::openapi::__path_delete_account,
        schemas: [DeleteAccountRequest],
    },
    endpoint! {
        Post "/change-password",
        needs: Session,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: None,
        run: change_password,
        doc: crate::openapi::__path_change_password,
        schemas: [ChangePasswordRequest],
    },
    endpoint! {
        Post "/request-password-reset",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: AccountFlows,
        run: request_password_reset,
        doc: crate::openapi::__path_request_password_reset,
        schemas: [PasswordResetRequest],
    },
    endpoint! {
        Post "/reset-password",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: AccountFlows,
        run: reset_password,
        doc: crate::openapi::__path_reset_password,
        schemas: [ResetPasswordRequest],
    },
    endpoint! {
        Post "/send-verification-email",
        needs: SessionIfSent,
        admit_client: true,
        body: JsonUnlessHeld,
        cookie: false,
        setup: AccountFlows,
        run: send_verification_email,
        doc: crate::openapi::__path_send_verification_email,
        schemas: [SendVerificationRequest],
    },
    endpoint! {
        Post "/verify-email",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: AccountFlows,
        run: verify_email,
        doc: crate::openapi::__path_verify_email,
        schemas: [VerifyEmailRequest],
    },
    endpoint! {
        Post "/change-email",
        needs: Session,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: AccountFlows,
        run: change_email,
        doc: crate::openapi::__path_change_email,
        schemas: [ChangeEmailRequest],
    },
    endpoint! {
        Get "/sessions",
        needs: Session,
        admit_client: false,
        body: None,
        cookie: false,
        setup: None,
        run: list_sessions,
        doc: crate::openapi::__path_list_sessions,
    },
    endpoint! {
        Delete "/sessions",
        needs: Session,
        admit_client: false,
        body: None,
        cookie: true,
        setup: None,
        run: revoke_all_sessions,
        doc: crate::openapi::__path_revoke_all_sessions,
    },
    endpoint! {
        Delete "/sessions/{id}",
        needs: Session,
        admit_client: false,
        body: None,
        cookie: false,
        setup: None,
        run: revoke_session,
        doc: crate::openapi::__path_revoke_session,
    },
];

fn update_name(auth: &AuthService, mut input: Input<UpdateNameRequest>) -> Answer<'_> {
    Box::pin(async move {
        let request = input.take_body()?;
        let user = auth.update_name(input.principal()?, request.name).await?;
        Ok(Reply::json(200, &MeResponse { user }))
    })
}

fn delete_account(auth: &AuthService, mut input: Input<DeleteAccountRequest>) -> Answer<'_> {
    Box::pin(async move {
        let request = input.take_body()?;
        auth.delete_account(input.principal()?, request.password.as_ref())
            .await?;
        Ok(Reply::empty(204))
    })
}

fn change_password(auth: &AuthService, mut input: Input<ChangePasswordRequest>) -> Answer<'_> {
    Box::pin(async move {
        let request = input.take_body()?;
        auth.change_password(input.principal()?, request).await?;
        Ok(Reply::empty(204))
    })
}

fn request_password_reset(
    auth: &AuthService,
    mut input: Input<PasswordResetRequest>,
) -> Answer<'_> {
    Box::pin(async move {
        auth.request_password_reset(&input.take_body()?.email)
            .await?;
        Ok(Reply::json(202, &Accepted {}))
    })
}

fn reset_password(auth: &AuthService, mut input: Input<ResetPasswordRequest>) -> Answer<'_> {
    Box::pin(async move {
        auth.reset_password(input.take_body()?).await?;
        Ok(Reply::empty(204))
    })
}

/// With an access token, for its user (the body is `{}` or nothing);
/// without one, for the `{"email"}` in the body.
fn send_verification_email(
    auth: &AuthService,
    mut input: Input<SendVerificationRequest>,
) -> Answer<'_> {
    Box::pin(async move {
        match &input.principal {
            Some(principal) => auth.send_verification_email(principal).await?,
            None => {
                auth.send_verification_email_to(&input.take_body()?.email)
                    .await?;
            }
        }
        Ok(Reply::json(202, &Accepted {}))
    })
}

fn verify_email(auth: &AuthService, mut input: Input<VerifyEmailRequest>) -> Answer<'_> {
    Box::pin(async move {
        let user = auth.verify_email(&input.take_body()?.token).await?;
        Ok(Reply::json(200, &MeResponse { user }))
    })
}

fn change_email(auth: &AuthService, mut input: Input<ChangeEmailRequest>) -> Answer<'_> {
    Box::pin(async move {
        let request = input.take_body()?;
        auth.change_email(input.principal()?, request).await?;
        Ok(Reply::json(202, &Accepted {}))
    })
}

fn list_sessions(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let sessions = auth.list_sessions(input.principal()?).await?;
        Ok(Reply::json(200, &sessions))
    })
}

/// Every session of the user, the caller's too.
fn revoke_all_sessions(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        auth.sign_out_everywhere(input.principal()?.user_id())
            .await?;
        Ok(cleared(input.cookie.as_ref(), Reply::empty(204)))
    })
}

/// The id is taken as sent, undecoded: session ids are base64url, so one
/// that needs an escape is no session's (404 like any unknown id).
fn revoke_session(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let id = input.path_param().ok_or(AuthError::NotFound)?;
        auth.revoke_session(input.principal()?, &SessionId::new(id))
            .await?;
        Ok(Reply::empty(204))
    })
}
