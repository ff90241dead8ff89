//! Every auth route, described once, without a web framework.
//!
//! An [`Endpoint`] says what a route is (method, path under the prefix),
//! what it needs (a session, the per-client limit, a JSON body, the
//! browser's refresh cookie) and how it runs on an [`AuthService`]. The
//! framework adapters mount [`endpoints()`] through one generic handler
//! each, and the OpenAPI document's auth paths come from the same list, so
//! a new route is an entry here and nothing in either adapter.
//!
//! An adapter answers a request in three steps:
//!
//! 1. [`Endpoint::prepare`] with the request's head ([`Request`]): the
//!    cookie transport's cross-site check (403),
//!    the bearer token (401) and the `Content-Type` (415);
//! 2. the body, read with the adapter's limit (413) if
//!    [`Call::reads_body`];
//! 3. [`Call::run`]: the body parsed (400), the per-client limit (429),
//!    then the route itself. Every outcome, errors included, is a
//!    [`Reply`].
//!
//! ```
//! use auth_core::{AuthService, JwtCodec, MemoryStore, endpoint::{self, Method, Request}};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), auth_core::AuthError> {
//! let store = MemoryStore::new();
//! let auth = AuthService::builder(store.clone(), store)
//!     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app")?)
//!     .build()?;
//! let sign_in = endpoint::find(Method::Post, "/sign-in").expect("listed");
//! let request = Request::new(None).header("content-type", b"application/json");
//! let call = sign_in.prepare(&auth, request).await.expect("a JSON body");
//! assert!(call.reads_body());
//! let reply = call.run(&auth, br#"{"email": "ada@example.com", "password": "x"}"#.to_vec()).await;
//! assert_eq!(reply.status(), 401); // no such account
//! # Ok(()) }
//! ```
//!
//! # Routes
//!
//! Every route below is mounted by the adapters' `routes` (those of a
//! cargo feature when it is on), whatever the service has set up. The
//! *needs* column is [`Needs`]: who may call it. The *setup* column is
//! [`Setup`]: what the [`AuthService`] must have for the route to do
//! anything; without it the route answers 404 `not_found` (and
//! `GET /oauth/providers` an empty list). The account flows, say, are
//! [`AuthServiceBuilder::account_flows`](crate::AuthServiceBuilder::account_flows)
//! with a [`Mailer`](crate::Mailer) and the base of the mailed links.
//! A unit test regenerates this table from [`endpoints()`] with every
//! feature on.
//!
#![doc = include_str!("routes.md")]

mod account;
mod entry;
pub(crate) mod reply;
mod session;
mod setup;

use std::{future::Future, net::IpAddr, pin::Pin};

use serde::de::{DeserializeOwned, IgnoredAny};

pub use reply::Reply;
pub use setup::Setup;

pub(crate) use account::Accepted;
pub(crate) use entry::endpoint;
#[cfg(feature = "openapi")]
pub(crate) use entry::{described, schema};

use crate::{
    AuthError, AuthService, Principal, SessionClient,
    http::{
        HttpError, REFRESH_COOKIE_HEADER, RefreshCookie, SEC_FETCH_SITE, bearer_token, is_json,
        parse_json, parse_optional_json, refresh_token_from_cookies,
    },
    problem::Problem,
};

/// The future a route returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The HTTP methods the auth routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Method {
    /// `GET` (adapters serve `HEAD` with it).
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Needs {
    /// Anyone.
    Nothing,
    /// A valid access token (401 otherwise). With API keys on, a key is
    /// refused (403 `api_key_not_allowed`).
    Session,
    /// An access token if one is sent: none is fine, a bad one is a 401,
    /// an API key a 403 as for [`Session`](Self::Session).
    SessionIfSent,
    /// A valid access token or, with API keys on, a valid API key (401
    /// otherwise): the routes a script may call, such as `GET /me`.
    SessionOrApiKey,
}

/// What a route's request body must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyRule {
    /// No body is read.
    None,
    /// A JSON object of the route's request type.
    Json,
    /// `{}`, any JSON, or nothing; its content is not used.
    EmptyOrJson,
    /// As [`EmptyOrJson`](Self::EmptyOrJson) when the request carries its
    /// credential elsewhere (an access token, or the refresh cookie), as
    /// [`Json`](Self::Json) otherwise.
    JsonUnlessHeld,
}

/// One auth route. See the [module docs](self).
pub struct Endpoint {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) needs: Needs,
    pub(crate) admit_client: bool,
    pub(crate) body: BodyRule,
    pub(crate) cookie: bool,
    pub(crate) setup: Setup,
    pub(crate) handler: &'static dyn Handle,
    #[cfg(feature = "openapi")]
    pub(crate) operation: fn() -> Described,
}

/// An OpenAPI operation with the method and path its stub declares.
#[cfg(feature = "openapi")]
pub(crate) type Described = (
    Vec<utoipa::openapi::path::HttpMethod>,
    String,
    utoipa::openapi::path::Operation,
    Schemas,
);

/// Named schemas an operation refers to, for the document's components.
#[cfg(feature = "openapi")]
pub(crate) type Schemas = Vec<(
    String,
    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
)>;

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("needs", &self.needs)
            .field("admit_client", &self.admit_client)
            .field("body", &self.body)
            .field("cookie", &self.cookie)
            .field("setup", &self.setup)
            .finish_non_exhaustive()
    }
}

/// Every auth route, in the order of the HTTP contract.
pub fn endpoints() -> impl Iterator<Item = &'static Endpoint> {
    session::ENDPOINTS
        .iter()
        .chain(account::ENDPOINTS)
        .chain(crate::service::email_sign_in::ENDPOINTS)
        .chain(oauth_endpoints())
        .chain(two_factor_endpoints())
        .chain(passkey_endpoints())
        .chain(api_key_endpoints())
}

#[cfg(feature = "api-keys")]
fn api_key_endpoints() -> &'static [Endpoint] {
    crate::service::api_keys::routes::ENDPOINTS
}

#[cfg(not(feature = "api-keys"))]
fn api_key_endpoints() -> &'static [Endpoint] {
    &[]
}

#[cfg(feature = "passkeys")]
fn passkey_endpoints() -> &'static [Endpoint] {
    crate::service::passkeys::routes::ENDPOINTS
}

#[cfg(not(feature = "passkeys"))]
fn passkey_endpoints() -> &'static [Endpoint] {
    &[]
}

#[cfg(feature = "two-factor")]
fn two_factor_endpoints() -> &'static [Endpoint] {
    crate::service::two_factor::routes::ENDPOINTS
}

#[cfg(not(feature = "two-factor"))]
fn two_factor_endpoints() -> &'static [Endpoint] {
    &[]
}

#[cfg(feature = "oauth")]
fn oauth_endpoints() -> &'static [Endpoint] {
    crate::service::oauth::ENDPOINTS
}

#[cfg(not(feature = "oauth"))]
fn oauth_endpoints() -> &'static [Endpoint] {
    &[]
}

/// The `(METHOD, path)` pair of every route, for tests that compare the
/// list with what an adapter mounts.
pub fn routes() -> std::collections::BTreeSet<(String, String)> {
    endpoints()
        .map(|endpoint| {
            (
                endpoint.method.as_str().to_owned(),
                endpoint.path.to_owned(),
            )
        })
        .collect()
}

/// The route with this method and path (as written in the list, with
/// `{id}` for a parameter).
pub fn find(method: Method, path: &str) -> Option<&'static Endpoint> {
    endpoints().find(|endpoint| endpoint.method == method && endpoint.path == path)
}

impl Endpoint {
    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path under the prefix, such as `/sign-in` or `/sessions/{id}`.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// Who may call it.
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// Whether the per-client limit ([`AuthService::admit_client`]) counts it.
    pub fn admits_client(&self) -> bool {
        self.admit_client
    }

    /// What its body must be.
    pub fn body(&self) -> BodyRule {
        self.body
    }

    /// Whether it offers the refresh-cookie transport of browser pages
    /// ([`RefreshCookie`]).
    pub fn uses_cookie(&self) -> bool {
        self.cookie
    }

    /// What the service must have set up for it to answer other than 404
    /// (see the [route table](crate::endpoint#routes)).
    pub fn setup(&self) -> Setup {
        self.setup
    }

    /// Its OpenAPI operation. With the `api-keys` feature, the 403 of a
    /// route that needs a session also says that an API key is refused
    /// there (`api_key_not_allowed`).
    #[cfg(feature = "openapi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
    pub fn operation(&self) -> utoipa::openapi::path::Operation {
        #[allow(unused_mut)]
        let mut operation = (self.operation)().2;
        #[cfg(feature = "api-keys")]
        if matches!(self.needs, Needs::Session | Needs::SessionIfSent) {
            refuses_api_keys(&mut operation);
        }
        operation
    }

    /// The named schemas its operation refers to that the shared document
    /// lacks (its request and answer bodies).
    #[cfg(feature = "openapi")]
    pub(crate) fn schemas(&self) -> Schemas {
        (self.operation)().3
    }

    /// Step 1: checks the head of a request for this route.
    ///
    /// # Errors
    /// The reply to send at once: 403 for a cross-site cookie-transport
    /// request, 401 for a
    /// missing or bad access token, 415 for a JSON body of another type.
    pub async fn prepare(
        &'static self,
        auth: &AuthService,
        request: Request,
    ) -> Result<Call, Reply> {
        self.check(auth, request).await.map_err(Reply::error)
    }

    async fn check(&'static self, auth: &AuthService, request: Request) -> Result<Call, HttpError> {
        let cookie = if self.cookie {
            RefreshCookie::for_request(
                request.get(REFRESH_COOKIE_HEADER),
                request.get(SEC_FETCH_SITE),
            )?
        } else {
            None
        };
        let principal = match self.needs {
            Needs::Nothing => None,
            Needs::Session => Some(authenticate(auth, &request).await?),
            Needs::SessionIfSent => match authenticate(auth, &request).await {
                Ok(principal) => Some(principal),
                Err(AuthError::MissingToken) => None,
                Err(err) => return Err(err.into()),
            },
            Needs::SessionOrApiKey => {
                let token = bearer_token(request.get("authorization"))?;
                Some(auth.authenticate_token_or_key(token).await?)
            }
        };
        // A route that takes its credential from the cookie reads it now:
        // the cookie sent twice is a 400 before the body or the limit.
        let cookie_token = match (&cookie, self.body) {
            (Some(_), BodyRule::JsonUnlessHeld) => Some(
                refresh_token_from_cookies(request.all("cookie"))?
                    .unwrap_or_default()
                    .to_owned(),
            ),
            _ => None,
        };
        let body = match self.body {
            BodyRule::JsonUnlessHeld if principal.is_some() || cookie.is_some() => {
                BodyRule::EmptyOrJson
            }
            BodyRule::JsonUnlessHeld => BodyRule::Json,
            rule => rule,
        };
        if body == BodyRule::Json && !is_json(request.get("content-type")) {
            return Err(Problem::unsupported_media_type().into());
        }
        Ok(Call {
            endpoint: self,
            input: Input {
                body: None,
                principal,
                cookie,
                cookie_token,
                request,
            },
            body,
        })
    }
}

async fn authenticate(auth: &AuthService, request: &Request) -> Result<Principal, AuthError> {
    let token = bearer_token(request.get("authorization"))?;
    auth.authenticate(token).await
}

/// The head of a request, as an adapter hands it over: headers (names in
/// any case), the client's address as
/// [`TrustedProxies`](crate::client_ip::TrustedProxies) resolved it, the
/// path parameter of routes that have one (`{id}`, `{provider}`) and the
/// raw query string.
#[derive(Default)]
pub struct Request {
    headers: Vec<(String, Vec<u8>)>,
    client: Option<IpAddr>,
    path_param: Option<String>,
    query: Option<String>,
}

/// Header names only: values such as `Authorization` and `Cookie` hold
/// tokens.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Request")
            .field("headers", &names)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A head with no headers yet, from `client`.
    pub fn new(client: Option<IpAddr>) -> Self {
        Self {
            client,
            ..Self::default()
        }
    }

    /// Adds a header; repeated names keep every value, in order.
    #[must_use]
    pub fn header(mut self, name: &str, value: &[u8]) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_vec()));
        self
    }

    /// Sets the route's path parameter (`{id}`, `{provider}`), as sent.
    #[must_use]
    pub fn path_param(mut self, value: &str) -> Self {
        self.path_param = Some(value.to_owned());
        self
    }

    /// Sets the query string (after `?`, still percent-encoded).
    #[must_use]
    pub fn query(mut self, query: &str) -> Self {
        self.query = Some(query.to_owned());
        self
    }

    /// The first value of a header (`name` in lower case).
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_slice())
    }

    /// Every value of a header (`name` in lower case).
    fn all(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.headers
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_slice())
    }
}

/// A request whose head passed [`Endpoint::prepare`].
#[derive(Debug)]
pub struct Call {
    endpoint: &'static Endpoint,
    input: Input<()>,
    body: BodyRule,
}

impl Call {
    /// Whether the adapter must read the body before [`run`](Self::run).
    pub fn reads_body(&self) -> bool {
        self.body != BodyRule::None
    }

    /// Steps 2 and 3: parses `body` (empty when [`reads_body`](Self::reads_body)
    /// is false), applies the per-client limit and runs the route, inside a
    /// [`SessionClient::scope`] of the request's `User-Agent` and client
    /// address: what a session opened or refreshed here records.
    pub async fn run(self, auth: &AuthService, body: Vec<u8>) -> Reply {
        let handler = self.endpoint.handler;
        let request = &self.input.request;
        let client = SessionClient::new(request.get("user-agent"), request.client);
        SessionClient::scope(client, handler.handle(auth, self, body)).await
    }
}

/// What a route's function gets: the parsed body (`None` when the rule
/// read none or did not use it), the principal and the cookie transport.
pub(crate) struct Input<T> {
    pub(crate) body: Option<T>,
    pub(crate) principal: Option<Principal>,
    pub(crate) cookie: Option<RefreshCookie>,
    /// The refresh cookie's token, read (and a duplicate refused) before
    /// the body on routes that take their credential from it.
    cookie_token: Option<String>,
    request: Request,
}

/// Without the body, which may hold a password.
impl<T> std::fmt::Debug for Input<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("principal", &self.principal)
            .field("cookie", &self.cookie)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl<T> Input<T> {
    /// The principal of a [`Needs::Session`] route.
    pub(crate) fn principal(&self) -> Result<&Principal, AuthError> {
        self.principal
            .as_ref()
            .ok_or_else(|| AuthError::internal("a session route ran without a session"))
    }

    /// The body of a [`BodyRule::Json`] route.
    pub(crate) fn take_body(&mut self) -> Result<T, AuthError> {
        self.body
            .take()
            .ok_or_else(|| AuthError::internal("a JSON route ran without its body"))
    }

    /// The raw path parameter.
    pub(crate) fn path_param(&self) -> Option<&str> {
        self.request.path_param.as_deref()
    }

    /// The raw query string.
    #[cfg_attr(not(feature = "oauth"), allow(dead_code))]
    pub(crate) fn query(&self) -> Option<&str> {
        self.request.query.as_deref()
    }

    /// Every value of a request header (`name` in lower case).
    #[cfg_attr(not(feature = "oauth"), allow(dead_code))]
    pub(crate) fn headers(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.request.all(name)
    }

    /// The refresh token of the request's cookie, on a
    /// [`BodyRule::JsonUnlessHeld`] route with the cookie transport; empty
    /// when there is none, which the service refuses like any unknown
    /// token.
    pub(crate) fn cookie_token(&self) -> &str {
        self.cookie_token.as_deref().unwrap_or_default()
    }
}

/// A route's function, typed by its request body.
pub(crate) type Run<T> =
    for<'a> fn(&'a AuthService, Input<T>) -> BoxFuture<'a, Result<Reply, HttpError>>;

/// Runs a [`Call`]: the body parsed as the route's type, then the limit,
/// then the route.
pub(crate) trait Handle: Sync {
    fn handle<'a>(
        &'static self,
        auth: &'a AuthService,
        call: Call,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Reply>;
}

/// A [`Run`] as a [`Handle`].
pub(crate) struct Typed<T>(pub(crate) Run<T>);

impl<T: DeserializeOwned + Send + 'static> Handle for Typed<T> {
    fn handle<'a>(
        &'static self,
        auth: &'a AuthService,
        call: Call,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Reply> {
        Box::pin(async move {
            let Call {
                endpoint,
                input,
                body: rule,
            } = call;
            let content_type = input.request.get("content-type");
            let parsed = match rule {
                BodyRule::Json => parse_json::<T>(content_type, &body).map(Some),
                BodyRule::EmptyOrJson => {
                    parse_optional_json::<IgnoredAny>(content_type, &body).map(|_| None)
                }
                _ => Ok(None),
            };
            let parsed = match parsed {
                Ok(parsed) => parsed,
                Err(problem) => return Reply::error(problem),
            };
            if endpoint.admit_client
                && let Err(err) = auth.admit_client(input.request.client).await
            {
                return Reply::error(err);
            }
            let input = Input {
                body: parsed,
                principal: input.principal,
                cookie: input.cookie,
                cookie_token: input.cookie_token,
                request: input.request,
            };
            (self.0)(auth, input).await.unwrap_or_else(Reply::error)
        })
    }
}

/// Adds to an operation's 403 (or adds a 403) that an API key is refused.
#[cfg(all(feature = "openapi", feature = "api-keys"))]
fn refuses_api_keys(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    const REFUSED: &str = "an API key instead of an access token (`api_key_not_allowed`): a key \
        reaches the application's routes and `GET /me` only";
    let responses = &mut operation.responses.responses;
    match responses.get_mut("403") {
        Some(RefOr::T(response)) => {
            response.description = format!("{}; or {REFUSED}", response.description);
        }
        _ => {
            let response = ResponseBuilder::new()
                .description(format!("With API keys on, {REFUSED}"))
                .content(
                    crate::problem::PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build();
            responses.insert("403".to_owned(), RefOr::T(response));
        }
    }
}

#[cfg(test)]
mod tests;
