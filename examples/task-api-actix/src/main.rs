//! The example task API on actix-web, serving `docs/api-contract.md`:
//! sign-up, sign-in, refresh, sign-out, and each user's own tasks. It
//! answers every request as `task-api-axum` does: both are HTTP glue over
//! `task-app`, and one contract suite tests both.
//!
//! `cargo run -p task-api-actix` starts it on 127.0.0.1:8080 with a SQLite
//! file under `data/`; the environment variables are listed in
//! `examples/README.md` and in `task_app::config::Config`. `task-api-actix import-users FILE`
//! imports accounts instead of serving (`task_app::import`).

mod serve;

use std::{future::Future, pin::Pin, process::ExitCode, time::Instant};

use actix_web::{
    FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder, ResponseError as _,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::InternalError,
    http::{
        ConnectionType, StatusCode,
        header::{self, HeaderMap, HeaderName, HeaderValue},
    },
    middleware::{Next, from_fn},
    web::{self, ServiceConfig},
};
use auth_actix::{
    ApiError, Authenticated, Json, JsonConfig,
    auth_core::{AuthService, UserId, problem::Problem},
    authentication_finished, json_response,
};
use task_app::{
    App,
    cors::{Cors, CorsAnswer},
    openapi::Health,
    runtime::{REQUEST_TIMEOUT, Shutdown},
    tasks::{ListQuery, NewTask, Task, TaskUpdate, owner, parse_task_id},
};
use tracing::Instrument;

/// mimalloc rather than glibc's allocator: a request allocates and frees
/// dozens of small buffers, often on different threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the handlers share.
struct State {
    app: App,
    openapi: web::Bytes,
    /// `BODY_LIMIT_BYTES`, for [`refuse_from_head`].
    body_limit: usize,
}

fn main() -> ExitCode {
    task_app::runtime::init_tracing();
    task_app::runtime::exit_code(actix_web::rt::System::new().block_on(run()))
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(imported) = task_app::import::from_command_line().await {
        return imported;
    }
    let task_app::Ready {
        config,
        app,
        listener,
        openapi,
    } = task_app::prepare().await?;
    let verifier = app.verifier.clone();
    let state = web::Data::new(State {
        app,
        openapi: web::Bytes::from(openapi),
        body_limit: config.body_limit,
    });
    let json = JsonConfig::default().limit(config.body_limit);
    let cors = (!config.cors_origins.is_empty()).then(|| Cors::new(config.cors_origins.clone()));
    let bench_routes = task_app::runtime::bench_routes_wanted(cfg!(feature = "bench-routes"));
    // In trusted-issuer mode there is no service, so no auth routes to mount.
    let auth = verifier.service().cloned();
    let limits = serve::Limits {
        header_read_timeout: config.header_read_timeout,
        max_connections: config.max_connections,
        write_timeout: config.write_timeout,
    };
    let server = serve::serve(listener, limits, move || {
        actix_web::App::new()
            .app_data(verifier.clone())
            .app_data(state.clone())
            .app_data(json)
            .app_data(cors.clone())
            .configure(|config| routes(config, auth.as_ref(), bench_routes))
            .default_service(web::to(auth_actix::not_found))
            .wrap(from_fn(refuse_needless_escapes))
            .wrap(from_fn(refuse_from_head))
            .wrap(from_fn(time_limit))
            .wrap(from_fn(auth_actix::problem_for_bare_errors))
            .wrap(from_fn(apply_cors))
            .wrap(from_fn(log_request))
    })?;
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        Shutdown::new().signalled().await;
        // Graceful: stop accepting, give requests in flight until the
        // shutdown timeout, then stop anyway.
        handle.stop(true).await;
    });
    server.await?;
    Ok(())
}

/// The routes. The task resources come before the auth scope: actix-web
/// gives a request to the first service whose path matches, and
/// `/api/auth/tasks` is the task list of a user `auth` (a 401 or 403, as
/// on the axum server), not an unknown auth route. Without `auth`
/// (trusted-issuer mode) the auth routes are not mounted: 404 for every
/// method, as for any unknown path.
fn routes(config: &mut ServiceConfig, auth: Option<&AuthService>, bench_routes: bool) {
    config
        .service(readable("/healthz", healthz))
        .service(readable("/api/openapi.json", openapi_json))
        .service(readable("/api/{user_id}/tasks", list_tasks).route(web::post().to(create_task)))
        .service(
            readable("/api/{user_id}/tasks/{id}", get_task)
                .route(web::put().to(update_task))
                .route(web::delete().to(delete_task)),
        )
        .service(
            web::resource("/api/{user_id}/tasks/{id}/complete").route(web::patch().to(toggle_task)),
        );
    if let Some(auth) = auth {
        config.service(auth_actix::scope("/api/auth", auth));
    }
    for path in task_app::page::PATHS {
        config.service(readable(path, page_file));
    }
    #[cfg(feature = "bench-routes")]
    if bench_routes {
        config.service(readable("/bench/{user_id}/tasks", bench_list_tasks));
    }
    #[cfg(not(feature = "bench-routes"))]
    let _ = bench_routes;
}

/// A resource answering `GET` and `HEAD` with `handler` (actix-web, unlike
/// axum, does not route `HEAD` to `GET` handlers; it does leave out the
/// body of a `HEAD` response).
fn readable<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
}

/// Logs each request's method, path, status and latency: never the query
/// string or headers, which could carry anything a client put there,
/// tokens included.
async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let span = tracing::info_span!("request", method = %request.method(), path = %request.path());
    let started = Instant::now();
    let response = next.call(request).instrument(span.clone()).await;
    let status = match &response {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    span.in_scope(|| {
        tracing::info!(status = status.as_u16(), latency = ?started.elapsed(), "response");
    });
    response
}

/// The shared CORS policy ([`task_app::cors`], from the app data when
/// CORS is on): a preflight is answered here, any other request is routed
/// and its answer, error or not, gets the policy's headers.
async fn apply_cors(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(Some(cors)) = request.app_data::<Option<Cors>>() else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let headers = request.headers();
    let answer = cors.answer(
        request.method().as_str(),
        headers.get(header::ORIGIN).map(HeaderValue::as_bytes),
        headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD),
    );
    match answer {
        CorsAnswer::Preflight(cors_headers) => {
            let mut response = HttpResponse::NoContent().finish();
            add_headers(response.headers_mut(), cors_headers);
            Ok(request.into_response(response).map_into_right_body())
        }
        CorsAnswer::Route(cors_headers) => match next.call(request).await {
            Ok(mut response) => {
                add_headers(response.headers_mut(), cors_headers);
                Ok(response.map_into_left_body())
            }
            // An error that became no response yet (the 408 of
            // `time_limit`): its response gets the headers too.
            Err(error) => {
                let mut response = error.error_response();
                add_headers(response.headers_mut(), cors_headers);
                Err(InternalError::from_response(error, response).into())
            }
        },
    }
}

fn add_headers(headers: &mut HeaderMap, added: Vec<(&'static str, String)>) {
    for (name, value) in added {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
}

/// A request that takes longer than [`REQUEST_TIMEOUT`], body included, is
/// answered with a 408 problem: a client that sends its body slowly cannot
/// hold a connection for ever. (An error rather than a response: making a
/// response needs the request, which routing must hold alone.)
async fn time_limit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.call(request)).await {
        Ok(response) => response,
        Err(_) => Err(ApiError::from(Problem::request_timeout()).into()),
    }
}

/// A 404 for a path with needless percent-escapes
/// ([`task_app::path::needlessly_escaped`]), before actix-web's router
/// decodes them.
async fn refuse_needless_escapes(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if task_app::path::needlessly_escaped(request.uri().path()) {
        let response = auth_actix::not_found().await;
        return Ok(request.into_response(response).map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}

/// The answers given from the head alone ([`task_app::head::refused`]),
/// before routing: 414 for a URL over 8 KiB, 413 for a `Content-Length`
/// over the body limit. After a 413 the connection is closed, its body
/// unread: waiting for a body that may never come would hold it until the
/// request timeout.
async fn refuse_from_head(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = request.app_data::<web::Data<State>>() else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let uri = request.uri();
    let content_length = request.headers().get(header::CONTENT_LENGTH);
    let Some(problem) = task_app::head::refused(
        uri.path_and_query().map(|target| target.as_str()),
        uri.authority().map(|authority| authority.as_str()),
        content_length.map(HeaderValue::as_bytes),
        state.body_limit,
    ) else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let close = problem.status == 413;
    let mut response = ApiError::from(problem).error_response();
    if close {
        response
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(request.into_response(response).map_into_right_body())
}

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// The signed-in user, when the path's `{user_id}` is theirs: 401 (no
/// valid token), then 403 (another user's path). The check after
/// authentication runs in the same poll as authentication's end, so no
/// other extractor's error can come between them.
struct Owner(UserId);

impl FromRequest for Owner {
    type Error = ApiError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let authenticating = Authenticated::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let Authenticated(principal) = authenticating.await?;
            let path_user = path_param(&req, "user_id");
            Ok(Self(owner(&principal, path_user.as_deref())?))
        })
    }
}

/// The `{id}` of a task path: anything but a positive integer is a 404,
/// answered only after authentication (a 401 or 403 comes first).
struct TaskId(i64);

impl FromRequest for TaskId {
    type Error = ApiError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            authentication_finished(&req).await;
            // An undecodable id is no task: `parse_task_id` answers "" with its 404.
            let id = path_param(&req, "id").unwrap_or_default();
            Ok(Self(parse_task_id(&id)?))
        })
    }
}

/// A path parameter, percent-decoded; `None` when it does not decode to
/// UTF-8.
fn path_param(req: &HttpRequest, name: &str) -> Option<String> {
    task_app::path::decode_segment(req.match_info().get(name)?)
}

/// The raw query string, `None` when there is none (as axum's `RawQuery`).
fn raw_query(req: &HttpRequest) -> Option<&str> {
    Some(req.query_string()).filter(|query| !query.is_empty())
}

/// A file of the demo page ([`task_app::page`]), with its security headers.
async fn page_file(req: HttpRequest) -> HttpResponse {
    let Some(asset) = task_app::page::asset(req.path()) else {
        return auth_actix::not_found().await;
    };
    let mut response = HttpResponse::Ok();
    for header in asset.headers() {
        response.insert_header(header);
    }
    response.body(asset.body)
}

async fn healthz(state: web::Data<State>) -> Result<Json<Health>, ApiError> {
    state.app.tasks.ping().await?;
    Ok(Json(Health { status: "ok" }))
}

async fn openapi_json(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi.clone())
}

async fn list_tasks(
    state: web::Data<State>,
    Owner(user): Owner,
    req: HttpRequest,
) -> Result<Json<Vec<Task>>, ApiError> {
    let query = ListQuery::parse(raw_query(&req))?;
    Ok(Json(state.app.tasks.list(&user, query).await?))
}

async fn create_task(
    state: web::Data<State>,
    Owner(user): Owner,
    Json(new): Json<NewTask>,
) -> Result<HttpResponse, ApiError> {
    let task = state.app.tasks.create(&user, new).await?;
    Ok(json_response(StatusCode::CREATED, &task))
}

async fn get_task(
    state: web::Data<State>,
    Owner(user): Owner,
    TaskId(id): TaskId,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.app.tasks.get(&user, id).await?))
}

async fn update_task(
    state: web::Data<State>,
    Owner(user): Owner,
    TaskId(id): TaskId,
    Json(update): Json<TaskUpdate>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.app.tasks.update(&user, id, update).await?))
}

async fn delete_task(
    state: web::Data<State>,
    Owner(user): Owner,
    TaskId(id): TaskId,
) -> Result<HttpResponse, ApiError> {
    state.app.tasks.delete(&user, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn toggle_task(
    state: web::Data<State>,
    Owner(user): Owner,
    TaskId(id): TaskId,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.app.tasks.toggle_completed(&user, id).await?))
}

/// The load script's baseline: the same query as `list_tasks`, no auth.
/// Only in builds with the `bench-routes` feature (`scripts/load.sh`).
#[cfg(feature = "bench-routes")]
async fn bench_list_tasks(
    state: web::Data<State>,
    req: HttpRequest,
) -> Result<Json<Vec<Task>>, ApiError> {
    let user = path_param(&req, "user_id").unwrap_or_default();
    let query = ListQuery::parse(raw_query(&req))?;
    Ok(Json(state.app.tasks.list(&UserId::new(user), query).await?))
}
