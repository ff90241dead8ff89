//! The extractor for the signed-in user.

use auth_core::{AuthError, AuthService, Principal, Verifier, http::bearer_token};
use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::{header, request::Parts},
};

use crate::AuthRejection;

/// The signed-in user of a request: the verified principal of its
/// `Authorization: Bearer` access token, checked by the state's
/// [`Verifier`] (for an [`AuthService`], with its session: see
/// [`AuthService::authenticate`]). The state is an [`AuthService`], a
/// [`Verifier`], or your own type implementing [`AuthState`]. With API
/// keys on (auth-core's `api-keys`), a key is taken too, as its user:
/// [`Principal::api_key_id`] tells such a request from a session's, for a
/// route that must refuse keys.
///
/// A request without a valid token is refused with [`AuthRejection`] (401
/// problem+json with `WWW-Authenticate`). As `Option<Authenticated>` it is
/// optional: no bearer token (no `Authorization` header, or another scheme)
/// gives `None`, while a bad bearer token is still refused (a client that
/// sends a token expects it to count).
///
/// The verified principal is remembered in the request (under a private
/// type), so a second `Authenticated` in the same request does not verify
/// again.
///
/// ```
/// use auth_axum::Authenticated;
///
/// async fn my_tasks(Authenticated(principal): Authenticated) -> String {
///     format!("tasks of {}", principal.user_id())
/// }
///
/// async fn greeting(user: Option<Authenticated>) -> &'static str {
///     if user.is_some() { "welcome back" } else { "hello, stranger" }
/// }
/// # let _: axum::Router<auth_axum::auth_core::AuthService> = axum::Router::new()
/// #     .route("/tasks", axum::routing::get(my_tasks))
/// #     .route("/hello", axum::routing::get(greeting));
/// ```
///
/// The principal holds what the token says: the user id (filter your
/// queries by it) and the session id. The rest of the user, such as the
/// email, is a store lookup: [`AuthService::current_user`].
///
/// To require a token on a group of routes, layer the extractor over them;
/// a handler there that takes `Authenticated` as well reuses the layer's
/// principal.
///
/// ```
/// use auth_axum::{Authenticated, auth_core::AuthService};
/// use axum::{Router, middleware::from_extractor_with_state, routing::get};
///
/// fn signed_in_only(auth: AuthService) -> Router<AuthService> {
///     Router::new()
///         .route("/reports", get(|| async { "for signed-in users" }))
///         // Covers the routes added above it.
///         .route_layer(from_extractor_with_state::<Authenticated, _>(auth))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

/// A router state that holds the token check of [`Authenticated`] and
/// [`ClientIp`](crate::ClientIp): an [`AuthService`] (a backend that issues
/// its own tokens), a [`Verifier`] (also one that trusts another issuer),
/// or your own state type.
///
/// ```
/// use auth_axum::{AuthState, auth_core::Verifier};
///
/// #[derive(Clone)]
/// struct AppState { verifier: Verifier /* , db: …, */ }
///
/// impl AuthState for AppState {
///     fn verifier(&self) -> Verifier { self.verifier.clone() }
/// }
/// ```
pub trait AuthState: Send + Sync {
    /// The token check (cheap to clone).
    fn verifier(&self) -> Verifier;
}

impl AuthState for AuthService {
    fn verifier(&self) -> Verifier {
        AuthService::verifier(self)
    }
}

impl AuthState for Verifier {
    fn verifier(&self) -> Verifier {
        self.clone()
    }
}

/// A principal this extractor verified, kept in the request's extensions.
/// Private, so that nothing else (a middleware that only checked the
/// signature, say) can plant one and skip the session check.
#[derive(Clone)]
struct Verified(Principal);

impl<S> FromRequestParts<S> for Authenticated
where
    S: AuthState,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(Verified(principal)) = parts.extensions.get::<Verified>() {
            return Ok(Self(principal.clone()));
        }
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|value| value.as_bytes());
        let token = bearer_token(authorization).map_err(AuthRejection)?;
        let principal = state
            .verifier()
            .authenticate(token)
            .await
            .map_err(AuthRejection)?;
        parts.extensions.insert(Verified(principal.clone()));
        Ok(Self(principal))
    }
}

impl<S> OptionalFromRequestParts<S> for Authenticated
where
    S: AuthState,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Self as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(authenticated) => Ok(Some(authenticated)),
            // No bearer token at all (no header, or another scheme).
            Err(AuthRejection(AuthError::MissingToken)) => Ok(None),
            Err(rejection) => Err(rejection),
        }
    }
}
