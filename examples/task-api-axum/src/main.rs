//! The example task API on axum, serving `docs/api-contract.md`: sign-up,
//! sign-in, refresh, sign-out, and each user's own tasks.
//!
//! `cargo run -p task-api-axum` starts it on 127.0.0.1:8080 with a SQLite
//! file under `data/`; the environment variables are listed in
//! `examples/README.md` and in `task_app::config::Config`. `task-api-axum import-users FILE`
//! imports accounts instead of serving (`task_app::import`).

mod serve;

use std::{process::ExitCode, time::Duration};

use auth_axum::{
    ApiError, Authenticated, BodyLimit, Json,
    auth_core::{UserId, Verifier},
};
use axum::{
    Extension, Router,
    body::{Body, Bytes},
    extract::{FromRequestParts, MatchedPath, RawQuery, State},
    http::{HeaderName, HeaderValue, Request, Response, StatusCode, Uri, header, request::Parts},
    middleware::{Next, from_fn, from_fn_with_state, map_response},
    response::IntoResponse,
    routing::get,
};
use task_app::{
    App, Config,
    cors::{Cors, CorsAnswer},
    openapi::Health,
    tasks::{ListQuery, NewTask, Task, TaskUpdate, owner, parse_task_id},
};
use tower::Layer;
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};

/// mimalloc rather than glibc's allocator: a request allocates and frees
/// dozens of small buffers, often on different threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone)]
struct AppState {
    app: App,
    openapi: Bytes,
}

impl auth_axum::AuthState for AppState {
    fn verifier(&self) -> Verifier {
        self.app.verifier.clone()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    task_app::runtime::init_tracing();
    task_app::runtime::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(imported) = task_app::import::from_command_line().await {
        return imported;
    }
    let ready = task_app::prepare().await?;
    let listener = tokio::net::TcpListener::from_std(ready.listener)?;
    let router = router(ready.app, &ready.config, ready.openapi);
    let limits = serve::Limits {
        header_read_timeout: ready.config.header_read_timeout,
        max_connections: ready.config.max_connections,
        write_timeout: ready.config.write_timeout,
    };
    let shutdown = task_app::runtime::Shutdown::new();
    let serving = serve::serve(listener, router, limits, shutdown.signalled());
    tokio::select! {
        () = serving => {}
        () = shutdown.deadline_passed() => {
            tracing::warn!("requests still running at the shutdown deadline; stopping anyway");
        }
    }
    Ok(())
}

fn router(app: App, config: &Config, openapi: Vec<u8>) -> Router {
    let state = AppState {
        app,
        openapi: Bytes::from(openapi),
    };
    // In trusted-issuer mode there is no service, so no auth routes to
    // mount: 404 for every method, as for any unknown path.
    let auth = state.app.auth().cloned();
    let mut routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/{user_id}/tasks", get(list_tasks).post(create_task))
        .route(
            "/api/{user_id}/tasks/{id}",
            get(get_task).put(update_task).delete(delete_task),
        )
        .route(
            "/api/{user_id}/tasks/{id}/complete",
            axum::routing::patch(toggle_task),
        );
    if let Some(auth) = &auth {
        routes = routes.merge(auth_axum::routes("/api/auth", auth));
    }
    for path in task_app::page::PATHS {
        routes = routes.route(path, get(page_file));
    }
    // Two locks on the unauthenticated baseline route: compiled in only by
    // the `bench-routes` feature, and served only with BENCH_ROUTES=1.
    #[cfg(feature = "bench-routes")]
    if task_app::runtime::bench_routes_wanted(true) {
        routes = routes.route("/bench/{user_id}/tasks", get(bench_list_tasks));
    }
    let routes: Router = routes
        .fallback(auth_axum::not_found)
        .layer(from_fn(refuse_needless_escapes))
        .layer(from_fn_with_state(config.body_limit, refuse_from_head))
        .layer(Extension(BodyLimit(config.body_limit)))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            task_app::runtime::REQUEST_TIMEOUT,
        ))
        .with_state(state);
    // The next layers go around the whole router rather than on its routes
    // (where they would run inside axum's method routers): the problem body
    // then sees the 405's final `Allow` header and writes it in auth-core's
    // form, and a CORS preflight is answered before any method router can
    // add an `Allow` header to it.
    let mut routes = Router::new()
        .fallback_service(map_response(auth_axum::problem_for_bare_errors).layer(routes));
    if !config.cors_origins.is_empty() {
        let policy = Cors::new(config.cors_origins.clone());
        routes = Router::new().fallback_service(from_fn_with_state(policy, cors).layer(routes));
    }
    routes.layer(
            TraceLayer::new_for_http()
                // The path only: a query string could carry anything a
                // client put there, tokens included.
                .make_span_with(|request: &Request<Body>| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                .on_response(|response: &Response<Body>, latency: Duration, _: &tracing::Span| {
                    tracing::info!(status = response.status().as_u16(), ?latency, "response");
                }),
        )
}

/// The shared CORS policy ([`task_app::cors`]): a preflight is answered
/// here, any other request is routed and gets the policy's headers.
async fn cors(State(cors): State<Cors>, request: Request<Body>, next: Next) -> Response<Body> {
    let headers = request.headers();
    let answer = cors.answer(
        request.method().as_str(),
        headers.get(header::ORIGIN).map(HeaderValue::as_bytes),
        headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD),
    );
    let (mut response, cors_headers) = match answer {
        CorsAnswer::Preflight(cors_headers) => {
            (StatusCode::NO_CONTENT.into_response(), cors_headers)
        }
        CorsAnswer::Route(cors_headers) => (next.run(request).await, cors_headers),
    };
    for (name, value) in cors_headers {
        if let Ok(value) = HeaderValue::try_from(value) {
            response
                .headers_mut()
                .append(HeaderName::from_static(name), value);
        }
    }
    response
}

/// The signed-in user, when the path's `{user_id}` is theirs. Checked in
/// this order: 401 (no valid token), then 403 (another user's path), before
/// any other extractor looks at the request.
struct Owner(UserId);

impl FromRequestParts<AppState> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(principal) = Authenticated::from_request_parts(parts, state).await?;
        let path_user = path_param(parts, "user_id");
        Ok(Self(owner(&principal, path_user.as_deref())?))
    }
}

/// The `{id}` of a task path: anything but a positive integer is a 404.
struct TaskId(i64);

impl FromRequestParts<AppState> for TaskId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        // An undecodable id is no task: `parse_task_id` answers "" with its 404.
        let id = path_param(parts, "id").unwrap_or_default();
        Ok(Self(parse_task_id(&id)?))
    }
}

/// The path parameter `name`, percent-decoded; `None` when it does not
/// decode to UTF-8. Read segment by segment rather than through axum's
/// `RawPathParams`, which fails as a whole when any one parameter does not
/// decode: `/api/{own id}/tasks/%FF` is the user's own path with no such
/// task (404), not another user's (403).
fn path_param(parts: &Parts, name: &str) -> Option<String> {
    let pattern = parts.extensions.get::<MatchedPath>()?.as_str();
    let index = pattern.split('/').position(|segment| {
        segment
            .strip_prefix('{')
            .and_then(|inner| inner.strip_suffix('}'))
            == Some(name)
    })?;
    task_app::path::decode_segment(parts.uri.path().split('/').nth(index)?)
}

/// A 404 for a path with needless percent-escapes
/// ([`task_app::path::needlessly_escaped`]), as on the actix-web server,
/// whose router decodes them.
async fn refuse_needless_escapes(request: Request<Body>, next: Next) -> Response<Body> {
    if task_app::path::needlessly_escaped(request.uri().path()) {
        return auth_axum::not_found().await.into_response();
    }
    next.run(request).await
}

/// The answers given from the head alone ([`task_app::head::refused`]),
/// before routing: 414 for a URL over 8 KiB, 413 for a `Content-Length`
/// over the body limit. After a 413 the connection is closed, its body
/// unread: waiting for a body that may never come would hold it until the
/// request timeout.
async fn refuse_from_head(
    State(body_limit): State<usize>,
    request: Request<Body>,
    next: Next,
) -> Response<Body> {
    let uri = request.uri();
    let content_length = request.headers().get(header::CONTENT_LENGTH);
    let Some(problem) = task_app::head::refused(
        uri.path_and_query().map(|target| target.as_str()),
        uri.authority().map(|authority| authority.as_str()),
        content_length.map(HeaderValue::as_bytes),
        body_limit,
    ) else {
        return next.run(request).await;
    };
    let close = problem.status == 413;
    let mut response = ApiError::from(problem).into_response();
    if close {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A file of the demo page ([`task_app::page`]), with its security headers.
async fn page_file(uri: Uri) -> Response<Body> {
    let Some(asset) = task_app::page::asset(uri.path()) else {
        return auth_axum::not_found().await.into_response();
    };
    let mut response = Response::new(Body::from(asset.body));
    for (name, value) in asset.headers() {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.app.tasks.ping().await?;
    Ok(Json(Health { status: "ok" }))
}

async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi)
}

async fn list_tasks(
    State(state): State<AppState>,
    Owner(user): Owner,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Task>>, ApiError> {
    let query = ListQuery::parse(query.as_deref())?;
    Ok(Json(state.app.tasks.list(&user, query).await?))
}

async fn create_task(
    State(state): State<AppState>,
    Owner(user): Owner,
    Json(new): Json<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.tasks.create(&user, new).await?),
    ))
}

async fn get_task(
    State(state): State<AppState>,
    Owner(user): Owner,
    TaskId(id): TaskId,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.app.tasks.get(&user, id).await?))
}

async fn update_task(
    State(state): State<AppState>,
    Owner(user): Owner,
    TaskId(id): TaskId,
    Json(update): Json<TaskUpdate>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.app.tasks.update(&user, id, update).await?))
}

async fn delete_task(
    State(state): State<AppState>,
    Owner(user): Owner,
    TaskId(id): TaskId,
) -> Result<StatusCode, ApiError> {
    state.app.tasks.delete(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn toggle_task(
    State(state): State<AppState>,
    Owner(user): Owner,
    TaskId(id): TaskId,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.app.tasks.toggle_completed(&user, id).await?))
}

/// The load script's baseline: the same query as `list_tasks`, no auth.
/// Only in builds with the `bench-routes` feature (`scripts/load.sh`).
#[cfg(feature = "bench-routes")]
async fn bench_list_tasks(
    State(state): State<AppState>,
    axum::extract::Path(user): axum::extract::Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Task>>, ApiError> {
    let query = ListQuery::parse(query.as_deref())?;
    Ok(Json(state.app.tasks.list(&UserId::new(user), query).await?))
}
