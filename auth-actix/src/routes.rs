//! The ready-made auth routes.

use actix_web::{
    FromRequest, HttpRequest, HttpResponse, Scope,
    dev::Payload,
    http::{StatusCode, header},
    web::{self, ServiceConfig},
};
use auth_core::{
    AuthError, AuthService, ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest,
    MeResponse, PasswordResetRequest, RefreshRequest, ResetPasswordRequest,
    SendVerificationRequest, SessionId, SignInRequest, SignUpRequest, UpdateNameRequest,
    VerifyEmailRequest,
    http::{JWKS_CACHE_CONTROL, NO_STORE},
};
use serde::Serialize;

use crate::{
    ApiError, Authenticated, ClientIp, Json, MaybeAuthenticated,
    authenticated::auth_service,
    json::EmptyOrJson,
    refresh_cookie::{CookieMode, cookie_token},
};

/// Registers the auth routes, relative to where they are mounted:
/// `POST /sign-up`, `/sign-in`, `/refresh`, `/sign-out`; `GET` (and
/// `HEAD`), `PATCH` and `DELETE /me`; the account routes
/// `POST /change-password`, `/request-password-reset`, `/reset-password`,
/// `/send-verification-email`, `/verify-email`, `/change-email`; `GET`
/// and `DELETE /sessions`, `DELETE /sessions/{id}`; `GET /jwks` (404
/// unless the codec has asymmetric keys). The routes that send
/// mail answer 404 unless the service has
/// [account flows](auth_core::AuthServiceBuilder::account_flows).
///
/// Mount them with [`scope`] (the HTTP contract uses `/api/auth`), or
/// with `configure` on a scope or app of your own; `App::configure`
/// mounts them at the root. The routes need the [`AuthService`] in the
/// app data.
///
/// ```
/// use actix_web::{App, web};
///
/// let app = App::new().service(web::scope("/v1/auth").configure(auth_actix::configure));
/// ```
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(web::resource("/sign-up").route(web::post().to(sign_up)))
        .service(web::resource("/sign-in").route(web::post().to(sign_in)))
        .service(web::resource("/refresh").route(web::post().to(refresh)))
        .service(web::resource("/sign-out").route(web::post().to(sign_out)))
        .service(
            web::resource("/me")
                .route(web::get().to(me))
                .route(web::head().to(me))
                .route(web::patch().to(update_name))
                .route(web::delete().to(delete_account)),
        )
        .service(web::resource("/change-password").route(web::post().to(change_password)))
        .service(
            web::resource("/request-password-reset").route(web::post().to(request_password_reset)),
        )
        .service(web::resource("/reset-password").route(web::post().to(reset_password)))
        .service(
            web::resource("/send-verification-email")
                .route(web::post().to(send_verification_email)),
        )
        .service(web::resource("/verify-email").route(web::post().to(verify_email)))
        .service(web::resource("/change-email").route(web::post().to(change_email)))
        .service(
            web::resource("/sessions")
                .route(web::get().to(list_sessions))
                .route(web::delete().to(revoke_all_sessions)),
        )
        .service(web::resource("/sessions/{id}").route(web::delete().to(revoke_session)))
        .service(
            web::resource("/jwks")
                .route(web::get().to(jwks))
                .route(web::head().to(jwks)),
        );
}

/// The `{}` body of a 202.
#[derive(Serialize)]
struct Accepted {}

/// The auth routes of [`configure`] in a scope at `prefix` (`"/api/auth"`
/// in the HTTP contract).
///
/// actix-web gives a request to the first service whose path matches and
/// does not come back, so register routes like `/api/{user_id}/tasks`,
/// whose first segment could be `auth`, before this scope.
///
/// ```
/// use actix_web::App;
///
/// let app = App::new().service(auth_actix::scope("/api/auth"));
/// ```
pub fn scope(prefix: &str) -> Scope {
    // "api/auth/" is a slip worth forgiving.
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("/{prefix}")
    };
    web::scope(&prefix).configure(configure)
}

/// The app data's [`AuthService`], for the routes' handlers. Every route
/// exists only where the service issues its own tokens: in trusted-issuer
/// mode this is 404, before any other extractor (the first of every
/// handler) looks at a header or the body.
struct Auth(AuthService);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let auth = auth_service(req).and_then(|auth| {
            if auth.issues_tokens() {
                Ok(auth)
            } else {
                Err(AuthError::NotFound)
            }
        });
        std::future::ready(auth.map(Self).map_err(ApiError::from))
    }
}

/// A JSON response nobody may cache: it carries tokens or personal data.
pub(crate) fn no_store<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    let mut response = crate::json_response(status, body);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(NO_STORE),
    );
    response
}

type Answer = Result<HttpResponse, ApiError>;

async fn sign_up(
    Auth(auth): Auth,
    mode: CookieMode,
    ClientIp(client): ClientIp,
    Json(request): Json<SignUpRequest>,
) -> Answer {
    auth.admit_client(client).await?;
    let signed_up = auth.sign_up(request).await?;
    mode.signed_up(&auth, &signed_up)
}

async fn sign_in(
    Auth(auth): Auth,
    mode: CookieMode,
    ClientIp(client): ClientIp,
    Json(request): Json<SignInRequest>,
) -> Answer {
    auth.admit_client(client).await?;
    let signed_in = auth.sign_in(request).await?;
    mode.tokens(&auth, StatusCode::OK, &signed_in)
}

/// In cookie mode the token comes from the cookie and the body, `{}` or
/// nothing, is not used; a 401 also deletes the cookie, which can only be
/// used up, unknown or revoked by then.
async fn refresh(
    req: HttpRequest,
    Auth(auth): Auth,
    mode: CookieMode,
    ClientIp(client): ClientIp,
    payload: web::Payload,
) -> Answer {
    let mut payload = payload.into_inner();
    if mode.0.is_none() {
        let Json(body) = Json::<RefreshRequest>::from_request(&req, &mut payload).await?;
        auth.admit_client(client).await?;
        let refreshed = auth.refresh(&body.refresh_token).await?;
        return mode.tokens(&auth, StatusCode::OK, &refreshed);
    }
    let token = cookie_token(&req)?;
    EmptyOrJson::from_request(&req, &mut payload).await?;
    auth.admit_client(client).await?;
    match auth.refresh(&token).await {
        Ok(refreshed) => mode.tokens(&auth, StatusCode::OK, &refreshed),
        // A session that ended leaves nothing worth keeping in the cookie.
        Err(err) if err.status() == 401 || matches!(err, AuthError::EmailNotVerified) => {
            let response = actix_web::ResponseError::error_response(&ApiError::from(err));
            mode.cleared(response)
        }
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
) -> Answer {
    auth.sign_out(&principal).await?;
    mode.cleared(HttpResponse::NoContent().finish())
}

/// The public keys of the service's tokens; 404 with a shared secret or in
/// trusted-issuer mode, where there are none of ours.
async fn jwks(Auth(auth): Auth) -> Answer {
    let keys = auth.jwks().ok_or(AuthError::NotFound)?;
    let mut response = crate::json_response(StatusCode::OK, &keys);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(JWKS_CACHE_CONTROL),
    );
    Ok(response)
}

async fn me(Auth(auth): Auth, Authenticated(principal): Authenticated) -> Answer {
    let user = auth.current_user(&principal).await?;
    Ok(no_store(StatusCode::OK, &MeResponse { user }))
}

async fn update_name(
    Auth(auth): Auth,
    Authenticated(principal): Authenticated,
    Json(request): Json<UpdateNameRequest>,
) -> Answer {
    let user = auth.update_name(&principal, request.name).await?;
    Ok(no_store(StatusCode::OK, &MeResponse { user }))
}

async fn change_password(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Authenticated(principal): Authenticated,
    Json(request): Json<ChangePasswordRequest>,
) -> Answer {
    auth.admit_client(client).await?;
    auth.change_password(&principal, request).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn request_password_reset(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Json(request): Json<PasswordResetRequest>,
) -> Answer {
    auth.admit_client(client).await?;
    auth.request_password_reset(&request.email).await?;
    Ok(no_store(StatusCode::ACCEPTED, &Accepted {}))
}

async fn reset_password(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Json(request): Json<ResetPasswordRequest>,
) -> Answer {
    auth.admit_client(client).await?;
    auth.reset_password(request).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// With a bearer token, for its user (the body is `{}` or nothing);
/// without one, for the `{"email"}` in the body.
async fn send_verification_email(
    req: HttpRequest,
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    MaybeAuthenticated(principal): MaybeAuthenticated,
    payload: web::Payload,
) -> Answer {
    let mut payload = payload.into_inner();
    match principal {
        Some(principal) => {
            EmptyOrJson::from_request(&req, &mut payload).await?;
            auth.admit_client(client).await?;
            auth.send_verification_email(&principal).await?;
        }
        None => {
            let Json(body) =
                Json::<SendVerificationRequest>::from_request(&req, &mut payload).await?;
            auth.admit_client(client).await?;
            auth.send_verification_email_to(&body.email).await?;
        }
    }
    Ok(no_store(StatusCode::ACCEPTED, &Accepted {}))
}

async fn verify_email(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Json(request): Json<VerifyEmailRequest>,
) -> Answer {
    auth.admit_client(client).await?;
    let user = auth.verify_email(&request.token).await?;
    Ok(no_store(StatusCode::OK, &MeResponse { user }))
}

async fn change_email(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Authenticated(principal): Authenticated,
    Json(request): Json<ChangeEmailRequest>,
) -> Answer {
    auth.admit_client(client).await?;
    auth.change_email(&principal, request).await?;
    Ok(no_store(StatusCode::ACCEPTED, &Accepted {}))
}

async fn list_sessions(Auth(auth): Auth, Authenticated(principal): Authenticated) -> Answer {
    let sessions = auth.list_sessions(&principal).await?;
    Ok(no_store(StatusCode::OK, &sessions))
}

/// Every session of the user, the caller's too.
async fn revoke_all_sessions(
    Auth(auth): Auth,
    mode: CookieMode,
    Authenticated(principal): Authenticated,
) -> Answer {
    auth.sign_out_everywhere(principal.user_id()).await?;
    mode.cleared(HttpResponse::NoContent().finish())
}

async fn revoke_session(
    request: HttpRequest,
    Auth(auth): Auth,
    Authenticated(principal): Authenticated,
) -> Answer {
    let id = request.match_info().get("id").ok_or(AuthError::NotFound)?;
    auth.revoke_session(&principal, &SessionId::new(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn delete_account(
    Auth(auth): Auth,
    ClientIp(client): ClientIp,
    Authenticated(principal): Authenticated,
    Json(request): Json<DeleteAccountRequest>,
) -> Answer {
    auth.admit_client(client).await?;
    auth.delete_account(&principal, &request.password).await?;
    Ok(HttpResponse::NoContent().finish())
}
