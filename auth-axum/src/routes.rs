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

use crate::{ApiError, Authenticated, ClientIp, Json, json::EmptyOrJson};

/// The auth routes under `prefix`: `POST {prefix}/sign-up`, `/sign-in`,
/// `/refresh`, `/sign-out` and `GET {prefix}/me`, to
/// [`merge`](Router::merge) into your router (the HTTP contract uses the
/// prefix `/api/auth`; `""` mounts them at the root).
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
        .route(&format!("{prefix}/me"), get(me))
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
    ClientIp(client): ClientIp,
    Json(request): Json<SignUpRequest>,
) -> Result<Response, ApiError> {
    auth.admit_client(client).await?;
    let signed_up = auth.sign_up(request).await?;
    Ok(no_store(StatusCode::CREATED, signed_up))
}

async fn sign_in(
    State(auth): State<AuthService>,
    ClientIp(client): ClientIp,
    Json(request): Json<SignInRequest>,
) -> Result<Response, ApiError> {
    auth.admit_client(client).await?;
    let signed_in = auth.sign_in(request).await?;
    Ok(no_store(StatusCode::OK, signed_in))
}

async fn refresh(
    State(auth): State<AuthService>,
    ClientIp(client): ClientIp,
    Json(request): Json<RefreshRequest>,
) -> Result<Response, ApiError> {
    auth.admit_client(client).await?;
    let refreshed = auth.refresh(&request.refresh_token).await?;
    Ok(no_store(StatusCode::OK, refreshed))
}

/// The body is `{}` or nothing; there is nothing in it to use, but a body
/// that is not JSON is still refused like on every other route.
async fn sign_out(
    State(auth): State<AuthService>,
    Authenticated(principal): Authenticated,
    _body: EmptyOrJson,
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
