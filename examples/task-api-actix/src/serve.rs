//! The server, assembled from actix-server and actix-http as actix-web's
//! `HttpServer` assembles it, with one step more: each connection's stream
//! is wrapped in a [`WriteTimeout`], for which `HttpServer` has no hook.
//! The limits are the axum server's:
//!
//! * Header-read timeout: a request head must arrive within
//!   `header_read_timeout` of opening (`client_request_timeout`) or of the
//!   previous response (`keep_alive`).
//! * Connection cap: at `max_connections` the workers stop accepting (the
//!   cap is per worker, so the total is split among them).
//! * Write timeout: a connection whose client takes none of its answer's
//!   bytes for `write_timeout` is dropped.
//! * Graceful shutdown, with the signals left to the caller: idle
//!   connections are closed, requests in flight get [`SHUTDOWN_GRACE`].

use std::{fmt, future::ready, io, net::TcpListener, time::Duration};

use actix_http::{HttpService, Request, Response, body::MessageBody, error::DispatchError};
use actix_server::Server;
use actix_service::{
    IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt as _, fn_service, map_config,
};
use actix_web::{dev::AppConfig, rt::net::TcpStream};
use task_app::{runtime::SHUTDOWN_GRACE, write_timeout::WriteTimeout};

/// How many connections are served at once, how long each has to send a
/// request head, and how long a stalled answer may wait for its client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) write_timeout: Duration,
}

/// Serves the apps `app` makes (one per worker) on `listener`; call
/// `stop` on the server's handle to shut it down.
pub(crate) fn serve<F, I, S, B>(listener: TcpListener, limits: Limits, app: F) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    B: MessageBody + 'static,
{
    // actix-web's default worker count, named so that the cap can be split.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let builder = Server::build()
        .workers(workers)
        .max_concurrent_connections(limits.max_connections.div_ceil(workers))
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
    let shutdown = builder.graceful_shutdown_signal();
    let local = listener.local_addr()?;
    let builder = builder.listen("task-api", listener, move || {
        let shutdown = shutdown.clone();
        let http = HttpService::<WriteTimeout<TcpStream>, _, _>::build()
            // What `HttpServer` gives it: idle keep-alive connections are
            // closed as soon as a graceful shutdown starts.
            .graceful_shutdown_signal(move || {
                let shutdown = shutdown.clone();
                async move { shutdown.notified().await }
            })
            .keep_alive(limits.header_read_timeout)
            .client_request_timeout(limits.header_read_timeout)
            // `HttpServer`'s default: how long a connection closed with its
            // body unread lingers for the client to finish sending.
            .client_disconnect_timeout(Duration::from_secs(1))
            .local_addr(local)
            .h1(map_config(
                app()
                    .into_factory()
                    .map_err(|error: S::Error| error.into().error_response()),
                // The handlers read neither the host nor the local address
                // from it, so `HttpServer`'s own values are not needed.
                |()| AppConfig::default(),
            ));
        fn_service(move |stream: TcpStream| {
            let peer = stream.peer_addr().ok();
            ready(Ok::<_, DispatchError>((
                WriteTimeout::new(stream, limits.write_timeout),
                peer,
            )))
        })
        .and_then(http)
    })?;
    Ok(builder.run())
}
