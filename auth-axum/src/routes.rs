//! The ready-made auth routes.

use auth_core::{
    AuthService, MeResponse, RefreshRequest, SignInRequest, SignUpRequest, http::NO_STORE,
};
use axum::{
    Router,
    extract::{FromRef, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Serialize;

use crate::{ApiError, Authenticated, Json};

/// The auth routes: `POST /sign-up`, `POST /sign-in`, `POST /refresh`,
/// `POST /sign-out` and `GET /me`, to [`nest`](Router::nest) under the
/// prefix of your choice (the HTTP contract uses `/api/auth`).
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
///     Router::new().nest("/api/auth", auth_axum::routes()).with_state(state)
/// }
/// ```
pub fn routes<S>() -> Router<S>
where
    AuthService: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/sign-up", post(sign_up))
        .route("/sign-in", post(sign_in))
        .route("/refresh", post(refresh))
        .route("/sign-out", post(sign_out))
        .route("/me", get(me))
}

/// A JSON response nobody may cache: it carries tokens or personal data.
fn no_store<T: Serialize>(status: StatusCode, body: T) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    response
}

async fn sign_up(
    State(auth): State<AuthService>,
    Json(request): Json<SignUpRequest>,
) -> Result<Response, ApiError> {
    let signed_up = auth.sign_up(request).await?;
    Ok(no_store(StatusCode::CREATED, signed_up))
}

async fn sign_in(
    State(auth): State<AuthService>,
    Json(request): Json<SignInRequest>,
) -> Result<Response, ApiError> {
    let signed_in = auth.sign_in(request).await?;
    Ok(no_store(StatusCode::OK, signed_in))
}

async fn refresh(
    State(auth): State<AuthService>,
    Json(request): Json<RefreshRequest>,
) -> Result<Response, ApiError> {
    let refreshed = auth.refresh(&request.refresh_token).await?;
    Ok(no_store(StatusCode::OK, refreshed))
}

/// The body, `{}` or none, is not read: there is nothing in it to use.
async fn sign_out(
    State(auth): State<AuthService>,
    Authenticated(principal): Authenticated,
) -> Result<StatusCode, ApiError> {
    auth.sign_out(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(
    State(auth): State<AuthService>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let user = auth.current_user(&principal).await?;
    Ok(no_store(StatusCode::OK, MeResponse { user }))
}
