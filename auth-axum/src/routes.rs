//! The ready-made auth routes: every entry of auth-core's endpoint list,
//! through one handler.

use std::collections::BTreeMap;

use auth_core::{
    AuthError, AuthService,
    endpoint::{self, Endpoint, Method, Reply},
};
use axum::{
    Router,
    body::Body,
    extract::{FromRequestParts, RawPathParams, Request},
    http::{HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter, on},
};

use crate::{ApiError, client::client_ip, json::read_limited};

/// The auth routes of `auth` under `prefix`, to [`merge`](Router::merge)
/// into your router (the HTTP contract uses the prefix `/api/auth`; `""`
/// mounts them at the root): every entry of
/// [`auth_core::endpoint::endpoints`], which says what each route needs
/// and answers; the [route table](auth_core::endpoint#routes) lists them
/// with the setup each needs (a route whose part the service lacks, the
/// account flows say, answers 404). They carry their service, so they fit a router of any
/// state; a backend that trusts another issuer has no [`AuthService`], and
/// so no auth routes.
///
/// Merged rather than [`nest`](Router::nest)ed: axum sets the `Allow`
/// header of a 405 only on routes of the top-level router, and the contract
/// wants it on every 405.
///
/// ```
/// use auth_axum::auth_core::AuthService;
/// use axum::Router;
///
/// fn app(auth: AuthService) -> Router {
///     Router::new()
///         .merge(auth_axum::routes("/api/auth", &auth))
///         .with_state(auth)
/// }
/// # let _: fn(AuthService) -> Router = app;
/// ```
pub fn routes<S>(prefix: &str, auth: &AuthService) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    // axum panics on a route without a leading slash; "api/auth" is a
    // slip worth forgiving.
    let prefix = format!("/{}", prefix.trim_matches('/'));
    let prefix = prefix.trim_end_matches('/');
    let mut paths: BTreeMap<&str, MethodRouter<S>> = BTreeMap::new();
    for endpoint in endpoint::endpoints() {
        let auth = auth.clone();
        let handler = move |request: Request| serve(endpoint, auth, request);
        let filter = method_filter(endpoint.method());
        let route = match paths.remove(endpoint.path()) {
            Some(route) => route.on(filter, handler),
            None => on(filter, handler),
        };
        paths.insert(endpoint.path(), route);
    }
    paths
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(&format!("{prefix}{path}"), route)
        })
}

fn method_filter(method: Method) -> MethodFilter {
    let method = axum::http::Method::from_bytes(method.as_str().as_bytes());
    // Every name auth-core lists is a standard method, which axum knows.
    method
        .ok()
        .and_then(|method| MethodFilter::try_from(method).ok())
        .unwrap_or(MethodFilter::POST)
}

/// The one handler: the head to auth-core, the body read under the
/// [`BodyLimit`](crate::BodyLimit), the reply back.
async fn serve(endpoint: &'static Endpoint, auth: AuthService, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let mut head = endpoint::Request::new(client_ip(&parts, auth.trusted_proxies()));
    for (name, value) in &parts.headers {
        head = head.header(name.as_str(), value.as_bytes());
    }
    // A route has at most one parameter (`{id}`, `{provider}`).
    if let Ok(params) = RawPathParams::from_request_parts(&mut parts, &()).await
        && let Some((_, value)) = params.iter().next()
    {
        head = head.path_param(value);
    }
    if let Some(query) = parts.uri.query() {
        head = head.query(query);
    }
    let call = match endpoint.prepare(&auth, head).await {
        Ok(call) => call,
        Err(reply) => return into_response(reply),
    };
    let body = if call.reads_body() {
        match read_limited(&parts, body).await {
            Ok(bytes) => bytes,
            Err(problem) => return ApiError::from(problem).into_response(),
        }
    } else {
        drop(body);
        Vec::new()
    };
    into_response(call.run(&auth, body).await)
}

/// A [`Reply`] as an axum response.
pub(crate) fn into_response(reply: Reply) -> Response {
    let (status, headers, body) = reply.into_parts();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::try_from(value),
        ) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            // A header the reply needs (its refresh cookie, say) that
            // cannot be sent: say so rather than answer without it.
            _ => {
                let err = AuthError::internal(format!("reply header {name} is not valid"));
                return ApiError::from(err).into_response();
            }
        }
    }
    response
}
