//! The ready-made auth routes: every entry of auth-core's endpoint list,
//! through one handler.

use actix_web::{
    HttpRequest, HttpResponse, Scope,
    http::{
        StatusCode,
        header::{HeaderName, HeaderValue},
    },
    web::{self, ServiceConfig},
};
use auth_core::{
    AuthError, AuthService,
    endpoint::{self, Endpoint, Method, Reply},
};

use crate::{ApiError, ClientIp, json::read_limited};

/// Registers the auth routes, relative to where they are mounted: every
/// entry of [`auth_core::endpoint::endpoints`], which says what each route
/// needs and answers (`GET` routes answer `HEAD` too); the
/// [route table](auth_core::endpoint#routes) lists them with the setup
/// each needs (a route whose part the service lacks, the account flows
/// say, answers 404). They carry `auth`,
/// so they need nothing in the app data; a backend that trusts another
/// issuer has no [`AuthService`], and so no auth routes.
///
/// Mount them with [`scope`] (the HTTP contract uses `/api/auth`), or
/// with `configure` on a scope or app of your own; `App::configure`
/// mounts them at the root.
///
/// ```
/// use actix_web::{App, web};
/// # use auth_actix::auth_core::{AuthService, JwtCodec, MemoryStore};
/// # let auth = AuthService::with_store(MemoryStore::new())
/// #     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
/// #     .build().unwrap();
///
/// let app = App::new().service(web::scope("/v1/auth").configure(auth_actix::configure(&auth)));
/// ```
pub fn configure(auth: &AuthService) -> impl FnOnce(&mut ServiceConfig) + use<> {
    let auth = auth.clone();
    move |config| mount(config, &auth)
}

fn mount(config: &mut ServiceConfig, auth: &AuthService) {
    let mut paths: Vec<&'static str> = Vec::new();
    for endpoint in endpoint::endpoints() {
        if !paths.contains(&endpoint.path()) {
            paths.push(endpoint.path());
        }
    }
    for path in paths {
        let mut resource = web::resource(path);
        for endpoint in endpoint::endpoints().filter(|endpoint| endpoint.path() == path) {
            let auth = auth.clone();
            let handler = move |req: HttpRequest, payload: web::Payload| {
                serve(endpoint, auth.clone(), req, payload)
            };
            let method = actix_web::http::Method::from_bytes(endpoint.method().as_str().as_bytes())
                .unwrap_or(actix_web::http::Method::POST);
            resource = resource.route(web::method(method).to(handler.clone()));
            if endpoint.method() == Method::Get {
                resource = resource.route(web::head().to(handler));
            }
        }
        config.service(resource);
    }
}

/// The auth routes of [`configure`] in a scope at `prefix` (`"/api/auth"`
/// in the HTTP contract).
///
/// actix-web gives a request to the first service whose path matches and
/// does not come back, so register routes like `/api/{user_id}/tasks`,
/// whose first segment could be `auth`, before this scope.
///
/// ```
/// use actix_web::App;
/// # use auth_actix::auth_core::{AuthService, JwtCodec, MemoryStore};
/// # let auth = AuthService::with_store(MemoryStore::new())
/// #     .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
/// #     .build().unwrap();
///
/// let app = App::new().service(auth_actix::scope("/api/auth", &auth));
/// ```
pub fn scope(prefix: &str, auth: &AuthService) -> Scope {
    // "api/auth/" is a slip worth forgiving.
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("/{prefix}")
    };
    web::scope(&prefix).configure(configure(auth))
}

/// The one handler: the head to auth-core, the body read under the
/// [`JsonConfig`](crate::JsonConfig) limit, the reply back.
async fn serve(
    endpoint: &'static Endpoint,
    auth: AuthService,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let ClientIp(client) = ClientIp::of(&req, auth.trusted_proxies());
    let mut head = endpoint::Request::new(client);
    for (name, value) in req.headers() {
        head = head.header(name.as_str(), value.as_bytes());
    }
    // A route has at most one parameter (`{id}`, `{provider}`).
    if let Some((_, value)) = req.match_info().iter().next() {
        head = head.path_param(value);
    }
    if !req.query_string().is_empty() {
        head = head.query(req.query_string());
    }
    let call = match endpoint.prepare(&auth, head).await {
        Ok(call) => call,
        Err(reply) => return into_response(reply),
    };
    let body = if call.reads_body() {
        match read_limited(&req, payload.into_inner()).await {
            Ok(bytes) => bytes,
            Err(problem) => {
                return actix_web::ResponseError::error_response(&ApiError::from(problem));
            }
        }
    } else {
        Vec::new()
    };
    into_response(call.run(&auth, body).await)
}

/// A [`Reply`] as an actix-web response.
pub(crate) fn into_response(reply: Reply) -> HttpResponse {
    let (status, headers, body) = reply.into_parts();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::try_from(value),
        ) {
            (Ok(name), Ok(value)) => {
                response.append_header((name, value));
            }
            // A header the reply needs (its refresh cookie, say) that
            // cannot be sent: say so rather than answer without it.
            _ => {
                let err = AuthError::internal(format!("reply header {name} is not valid"));
                return actix_web::ResponseError::error_response(&ApiError::from(err));
            }
        }
    }
    response.body(body)
}
