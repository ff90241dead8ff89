//! The ready-made auth routes.

use auth_core::{
    AuthError, AuthService, ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest,
    MeResponse, PasswordResetRequest, RefreshRequest, ResetPasswordRequest,
    SendVerificationRequest, SessionId, SignInRequest, SignUpRequest, UpdateNameRequest,
    VerifyEmailRequest,
    http::{JWKS_CACHE_CONTROL, NO_STORE},
};
use axum::{
    Router,
    extract::{FromRef, FromRequest, FromRequestParts, RawPathParams, Request},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde::Serialize;

use crate::{
    ApiError, Authenticated, ClientIp, Json,
    json::EmptyOrJson,
    refresh_cookie::{CookieMode, cookie_token},
};

/// The auth routes under `prefix`, to [`merge`](Router::merge) into your
/// router (the HTTP contract uses the prefix `/api/auth`; `""` mounts them
/// at the root): `POST {prefix}/sign-up`, `/sign-in`, `/refresh`,
/// `/sign-out`; `GET`, `PATCH` and `DELETE {prefix}/me`; the account
/// routes `POST /change-password`, `/request-password-reset`,
/// `/reset-password`, `/send-verification-email`, `/verify-email`,
/// `/change-email`; `GET` and `DELETE /sessions`, `DELETE /sessions/{id}`;
/// `GET /jwks` (404 unless the codec has asymmetric keys).
/// The routes that send mail answer 404 unless the service has
/// [account flows](auth_core::AuthServiceBuilder::account_flows).
///
/// Merged rather than [`nest`](Router::nest)ed: axum sets the `Allow`
/// header of a 405 only on routes of the top-level router, and the contract
/// wants it on every 405.
///
/// The state needs only to give out the [`AuthService`] (which already
/// holds the stores the app chose, behind `Arc<dyn …>`).
///
/// ```
/// use auth_axum::auth_core::AuthService;
/// use axum::{Router, extract::FromRef};
///
/// #[derive(Clone)]
/// struct AppState { auth: AuthService /* , db: …, */ }
///
/// impl FromRef<AppState> for AuthService {
///     fn from_ref(state: &AppState) -> Self { state.auth.clone() }
/// }
///
/// fn app(state: AppState) -> Router {
///     Router::new().merge(auth_axum::routes("/api/auth")).with_state(state)
/// }
/// ```
pub fn routes<S>(prefix: &str) -> Router<S>
where
    AuthService: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    // axum panics on a route without a leading slash; "api/auth" is a
    // slip worth forgiving.
    let prefix = format!("/{}", prefix.trim_matches('/'));
    let prefix = prefix.trim_end_matches('/');
    Router::new()
        .route(&format!("{prefix}/sign-up"), post(sign_up))
        .route(&format!("{prefix}/sign-in"), post(sign_in))
        .route(&format!("{prefix}/refresh"), post(refresh))
        .route(&format!("{prefix}/sign-out"), post(sign_out))
        .route(
            &format!("{prefix}/me"),
            get(me).patch(update_name).delete(delete_account),
        )
        .route(&format!("{prefix}/change-password"), post(change_password))
        .route(
            &format!("{prefix}/request-password-reset"),
            post(request_password_reset),
        )
        .route(&format!("{prefix}/reset-password"), post(reset_password))
        .route(
            &format!("{prefix}/send-verification-email"),
            post(send_verification_email),
        )
        .route(&format!("{prefix}/verify-email"), post(verify_email))
        .route(&format!("{prefix}/change-email"), post(change_email))
        .route(
            &format!("{prefix}/sessions"),
            get(list_sessions).delete(revoke_all_sessions),
        )
        .route(&format!("{prefix}/sessions/{{id}}"), delete(revoke_session))
        .route(&format!("{prefix}/jwks"), get(jwks))
}

/// The service, for a route that exists only where the service issues
/// its own tokens: in trusted-issuer mode every auth route is 404, before
/// any header or body is looked at.
struct Auth(AuthService);

impl<S> FromRequestParts<S> for Auth
where
    AuthService: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let auth = AuthService::from_ref(state);
        if auth.issues_tokens() {
            Ok(Self(auth))
        } else {
            Err(AuthError::NotFound.into())
        }
    }
}

/// Whether a failed cookie-mode refresh leaves nothing worth keeping in
/// the cookie.
fn ends_session(error: &AuthError) -> bool {
    error.status() == 401 || matches!(error, AuthError::EmailNotVerified)
}

/// The public keys of the service's tokens; 404 with a shared secret or in
/// trusted-issuer mode, where there are none of ours.
async fn jwks(Auth(auth): Auth) -> Result<Response, ApiError> {
    let keys = auth.jwks().ok_or(AuthError::NotFound)?;
    let mut response = (StatusCode::OK, Json(keys)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(JWKS_CACHE_CONTROL),
    );
    Ok(response)
}

/// The `{}` body of a 202.
#[derive(Serialize)]
struct Accepted {}

/// A JSON response nobody may cache: it carries tokens or personal data.
pub(crate) fn no_store<T: Serialize>(status: StatusCode, body: T) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    response
}

async fn sign_up(
    Auth(auth): Auth,
    mode: CookieMode,
    ClientIp(client): ClientIp,
    Json(request): Json<SignUpRequest>,
) -> Result<Response, ApiError> {
    auth.admit_client(client).await?;
    let signed_up = auth.sign_up(request).await?;
    mode.signed_up(&auth, &signed_up)
}

async fn sign_in(
    Auth(auth): Auth,
    mode: CookieMode,
    ClientIp(client): ClientIp,
    Json(request): Json<SignInRequest>,
) -> Result<Response, ApiError> {
    auth.admit_client(client).await?;
    let signed_in = auth.sign_in(request).await?;
    mode.tokens(&auth, StatusCode::OK, &signed_in)
}

/// In cookie mode the token comes from the cookie and the body, `{}` or
/// nothing, is not used; a 401 also deletes the cookie, which can only be
/// used up, unknown or revoked by then.
async fn refresh(
    Auth(auth): Auth,
    mode: CookieMode,
    ClientIp(client): ClientIp,
    request: Request,
) -> Result<Response, ApiError> {
    if mode.0.is_none() {
        let Json(body) = Json::<RefreshRequest>::from_request(request, &()).await?;
        auth.admit_client(client).await?;
        let refreshed = auth.refresh(&body.refresh_token).await?;
        return mode.tokens(&auth, StatusCode::OK, &refreshed);
    }
    let token = cookie_token(request.headers())?;
    EmptyOrJson::from_request(request, &()).await?;
    auth.admit_client(client).await?;
    match auth.refresh(&token).await {
        Ok(refreshed) => mode.tokens(&auth, StatusCode::OK, &refreshed),
        Err(err) if ends_session(&err) => mode.cleared(ApiError::from(err).into_response()),
        Err(err) => Err(err.into()),
    }
}

/// The body is `{}` or nothing; there is nothing in it to use, but a body
/// that is not JSON is still refused like on every other route.
async fn sign_out(
    Auth(auth): Auth,
    mode: CookieMode,
    Authenticated(principal): Authenticated,
    _body: EmptyOrJson,
) -> Result<Response, ApiError> {
    auth.sign_out(&principal).await?;
    mode.cleared(StatusCode::NO_CONTENT.into_response())
}

async fn me(
    Auth(auth): Auth,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let user = auth.current_user(&principal).await?;
    Ok(no_store(StatusCode::OK, MeResponse { user }))
}

async fn update_name(
    Auth(auth): Auth,
    Authenticated(principal): Authenticated,
    Json(request): Json<UpdateNameRequest>,
) -> Result<Response, ApiError> {
    let user = auth.update_name(&principal, request.name).await?;
    Ok(no_store(StatusCode::OK, MeResponse { user }))
}

async fn change_password(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Authenticated(principal): Authenticated,
    Json(request): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    auth.admit_client(client).await?;
    auth.change_password(&principal, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn request_password_reset(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Json(request): Json<PasswordResetRequest>,
) -> Result<Response, ApiError> {
    auth.admit_client(client).await?;
    auth.request_password_reset(&request.email).await?;
    Ok(no_store(StatusCode::ACCEPTED, Accepted {}))
}

async fn reset_password(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Json(request): Json<ResetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    auth.admit_client(client).await?;
    auth.reset_password(request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// With a bearer token, for its user (the body is `{}` or nothing);
/// without one, for the `{"email"}` in the body.
async fn send_verification_email(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    principal: Option<Authenticated>,
    request: Request,
) -> Result<Response, ApiError> {
    match principal {
        Some(Authenticated(principal)) => {
            EmptyOrJson::from_request(request, &()).await?;
            auth.admit_client(client).await?;
            auth.send_verification_email(&principal).await?;
        }
        None => {
            let Json(body) = Json::<SendVerificationRequest>::from_request(request, &()).await?;
            auth.admit_client(client).await?;
            auth.send_verification_email_to(&body.email).await?;
        }
    }
    Ok(no_store(StatusCode::ACCEPTED, Accepted {}))
}

async fn verify_email(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Json(request): Json<VerifyEmailRequest>,
) -> Result<Response, ApiError> {
    auth.admit_client(client).await?;
    let user = auth.verify_email(&request.token).await?;
    Ok(no_store(StatusCode::OK, MeResponse { user }))
}

async fn change_email(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Authenticated(principal): Authenticated,
    Json(request): Json<ChangeEmailRequest>,
) -> Result<Response, ApiError> {
    auth.admit_client(client).await?;
    auth.change_email(&principal, request).await?;
    Ok(no_store(StatusCode::ACCEPTED, Accepted {}))
}

async fn list_sessions(
    Auth(auth): Auth,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let sessions = auth.list_sessions(&principal).await?;
    Ok(no_store(StatusCode::OK, sessions))
}

/// Every session of the user, the caller's too.
async fn revoke_all_sessions(
    Auth(auth): Auth,
    mode: CookieMode,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    auth.sign_out_everywhere(principal.user_id()).await?;
    mode.cleared(StatusCode::NO_CONTENT.into_response())
}

/// The id is taken as sent, undecoded: session ids are base64url, so one
/// that needs an escape is no session's (404 like any unknown id).
async fn revoke_session(
    Auth(auth): Auth,
    Authenticated(principal): Authenticated,
    params: RawPathParams,
) -> Result<StatusCode, ApiError> {
    let id = params
        .iter()
        .find_map(|(name, value)| (name == "id").then_some(value))
        .ok_or(AuthError::NotFound)?;
    auth.revoke_session(&principal, &SessionId::new(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_account(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Authenticated(principal): Authenticated,
    Json(request): Json<DeleteAccountRequest>,
) -> Result<StatusCode, ApiError> {
    auth.admit_client(client).await?;
    auth.delete_account(&principal, &request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
