//! The extractors for the signed-in user.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use auth_core::{AuthError, AuthService, Principal, Verifier, http::bearer_token};
use tokio::sync::watch;

use crate::AuthRejection;

/// The signed-in user of a request: the verified principal of its
/// `Authorization: Bearer` access token, with its session checked by
/// [`AuthService::authenticate`]. With API keys on (auth-core's
/// `api-keys`), a key is taken too, as its user:
/// [`Principal::api_key_id`] tells such a request from a session's, for a
/// route that must refuse keys.
///
/// A request without a valid token is refused with [`AuthRejection`] (401
/// problem+json with `WWW-Authenticate`). [`MaybeAuthenticated`] is the
/// optional variant.
///
/// The check comes from the app data: an [`AuthService`] (a backend that
/// issues its own tokens) or a [`Verifier`] (also one that trusts another
/// issuer), registered as is (`App::app_data(auth)`) or in a `web::Data`.
///
/// actix-web runs a handler's extractors together, not one after another.
/// So that a 401 still comes before any complaint about the body (as the
/// HTTP contract and axum's in-order extractors have it), this crate's
/// [`Json`](crate::Json) waits for the handler's `Authenticated` to finish
/// before it reads the body; your own extractors can do the same with
/// [`authentication_finished`].
///
/// The verified principal is remembered in the request (under a private
/// type), so a second `Authenticated` (or [`MaybeAuthenticated`]) in the
/// same request, even in the same handler, waits for the first and does
/// not verify again.
///
/// ```
/// use auth_actix::{Authenticated, MaybeAuthenticated};
///
/// async fn my_tasks(Authenticated(principal): Authenticated) -> String {
///     format!("tasks of {}", principal.user_id())
/// }
///
/// async fn greeting(MaybeAuthenticated(user): MaybeAuthenticated) -> &'static str {
///     if user.is_some() { "welcome back" } else { "hello, stranger" }
/// }
/// # let _ = actix_web::App::new()
/// #     .route("/tasks", actix_web::web::get().to(my_tasks))
/// #     .route("/hello", actix_web::web::get().to(greeting));
/// ```
///
/// The principal holds what the token says: the user id (filter your
/// queries by it) and the session id. The rest of the user, such as the
/// email, is a store lookup: [`AuthService::current_user`].
///
/// To require a token on a group of routes, wrap their scope in a
/// middleware that extracts `Authenticated`; a handler there that takes it
/// as well reuses the middleware's principal.
///
/// ```
/// use actix_web::body::{EitherBody, MessageBody};
/// use actix_web::dev::{ServiceRequest, ServiceResponse};
/// use actix_web::middleware::{Next, from_fn};
/// use actix_web::{Error, web};
/// use auth_actix::{AuthRejection, Authenticated};
///
/// async fn signed_in_only(
///     user: Result<Authenticated, AuthRejection>,
///     req: ServiceRequest,
///     next: Next<impl MessageBody>,
/// ) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
///     match user {
///         Ok(_) => Ok(next.call(req).await?.map_into_left_body()),
///         // A response, not an `Err`, so that outer middleware sees it.
///         Err(rejection) => Ok(req.error_response(rejection).map_into_right_body()),
///     }
/// }
///
/// let reports = web::scope("/reports")
///     .wrap(from_fn(signed_in_only))
///     .route("", web::get().to(|| async { "for signed-in users" }));
/// # let _ = actix_web::App::new().service(reports);
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

/// The signed-in user, if the request has a bearer token: `None` when it
/// has none (no `Authorization` header, or another scheme). A bad, expired
/// or revoked bearer token is still refused with a 401, because a client
/// that sends a token expects it to count.
///
/// (actix-web's own `Option<Authenticated>` would turn every failure,
/// a forged token or an unreachable store included, into `None`.)
#[derive(Debug, Clone)]
pub struct MaybeAuthenticated(pub Option<Principal>);

/// A principal this crate verified, kept in the request's extensions.
/// Private, so that nothing else (a middleware that only checked the
/// signature, say) can plant one and skip the session check.
#[derive(Clone)]
struct Verified(Principal);

/// The verifications running for a request: each receiver's sender lives
/// in one verification's future and is dropped when it ends.
#[derive(Default)]
struct InProgress(Vec<watch::Receiver<()>>);

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, AuthRejection>>>>;

impl FromRequest for Authenticated {
    type Error = AuthRejection;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifying = verify(req);
        Box::pin(async move { verifying.await.map(Self) })
    }
}

impl FromRequest for MaybeAuthenticated {
    type Error = AuthRejection;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifying = verify(req);
        Box::pin(async move {
            match verifying.await {
                Ok(principal) => Ok(Self(Some(principal))),
                // No bearer token at all (no header, or another scheme).
                Err(AuthRejection(AuthError::MissingToken)) => Ok(Self(None)),
                Err(rejection) => Err(rejection),
            }
        })
    }
}

/// The verification of the request's bearer token, shared by the
/// extractors: it registers itself as running on its first poll (not when
/// created, so that a verification nobody polls holds nobody up), and one
/// that finds another already running waits for it and reuses its result.
fn verify(req: &HttpRequest) -> impl Future<Output = Result<Principal, AuthRejection>> + 'static {
    let req = req.clone();
    async move {
        wait_for(running(&req)).await;
        let verified = req.extensions().get::<Verified>().cloned();
        if let Some(Verified(principal)) = verified {
            return Ok(principal);
        }
        let (running, waiter) = watch::channel(());
        req.extensions_mut()
            .get_or_insert_with(InProgress::default)
            .0
            .push(waiter);
        // Dropped when this future ends, however it ends: that releases
        // whoever waits for it.
        let _running = running;
        let verifier = verifier(&req).map_err(AuthRejection)?;
        let token = {
            let authorization = req.headers().get(header::AUTHORIZATION);
            bearer_token(authorization.map(|value| value.as_bytes()))
                .map_err(AuthRejection)?
                .to_owned()
        };
        let principal = verifier.authenticate(&token).await.map_err(AuthRejection)?;
        req.extensions_mut().insert(Verified(principal.clone()));
        Ok(principal)
    }
}

/// The verifications of this request that have started.
fn running(req: &HttpRequest) -> Vec<watch::Receiver<()>> {
    req.extensions()
        .get::<InProgress>()
        .map(|in_progress| in_progress.0.clone())
        .unwrap_or_default()
}

/// Resolves once all of `waiting` have finished.
async fn wait_for(waiting: Vec<watch::Receiver<()>>) {
    for mut waiter in waiting {
        // Nothing is ever sent: `changed` fails once the sender is gone.
        while waiter.changed().await.is_ok() {}
    }
}

/// Resolves once every [`Authenticated`] or [`MaybeAuthenticated`]
/// verification of this request that has started has finished (at once if
/// there is none).
///
/// actix-web creates all of a handler's extractors first and then polls
/// them together, answering with the first error that is ready. An
/// extractor whose errors should not beat a 401, such as one that parses
/// the body or a path parameter, awaits this before looking at anything.
/// It first lets the handler's other extractors take a turn, so that it
/// sees the verifications they start whatever their order in the handler;
/// a verification started later than that (by an extractor that awaits
/// something else first) is not waited for.
///
/// Never hold a started but unpolled `Authenticated` future while awaiting
/// an extractor that waits: it would wait for ever.
///
/// ```
/// use actix_web::{FromRequest, HttpRequest, dev::Payload};
/// use auth_actix::{ApiError, auth_core::problem::Problem};
/// use std::{future::Future, pin::Pin};
///
/// /// The `{id}` of the path; a 404 for anything else, but only after auth.
/// struct ItemId(u64);
///
/// impl FromRequest for ItemId {
///     type Error = ApiError;
///     type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;
///
///     fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
///         let req = req.clone();
///         Box::pin(async move {
///             auth_actix::authentication_finished(&req).await;
///             let id = req.match_info().get("id").and_then(|id| id.parse().ok());
///             id.map(ItemId).ok_or_else(|| Problem::not_found("no such item").into())
///         })
///     }
/// }
/// ```
pub fn authentication_finished(req: &HttpRequest) -> impl Future<Output = ()> + 'static {
    let req = req.clone();
    async move {
        YieldOnce(false).await;
        wait_for(running(&req)).await;
    }
}

/// Pending once (waking itself at once), then ready: one turn for the
/// other futures polled alongside, such as a handler's other extractors.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// The token check of the app data: a [`Verifier`], or an [`AuthService`]'s,
/// each as is or in a `web::Data`.
pub(crate) fn verifier(req: &HttpRequest) -> Result<Verifier, AuthError> {
    if let Some(verifier) = req.app_data::<Verifier>() {
        return Ok(verifier.clone());
    }
    if let Some(verifier) = req.app_data::<web::Data<Verifier>>() {
        return Ok(verifier.get_ref().clone());
    }
    if let Some(auth) = req.app_data::<AuthService>() {
        return Ok(auth.verifier());
    }
    if let Some(auth) = req.app_data::<web::Data<AuthService>>() {
        return Ok(auth.verifier());
    }
    Err(AuthError::internal(
        "no AuthService or Verifier in the app data: register one with App::app_data",
    ))
}
