//! The accept loop, on hyper's HTTP/1 server rather than `axum::serve`,
//! which has no way to set a header-read timeout or a connection cap.
//!
//! * Header-read timeout: a connection must send a complete request head
//!   within `header_read_timeout` of opening or of its previous response
//!   (hyper starts the clock whenever it waits for a head), else it is
//!   closed without an answer. So it is also the idle keep-alive timeout,
//!   and a client sending its head a byte at a time is cut like an idle
//!   one. Slow bodies are the router's request timeout's business.
//! * Connection cap: at `max_connections` open connections the loop stops
//!   accepting until one closes; new connections wait in the kernel's
//!   listen queue (rather than being accepted and closed), so a burst is
//!   served late instead of refused, and the process never runs out of
//!   file descriptors, which would lock every client out, `/healthz`
//!   included. The timeout above bounds how long slow clients hold slots.
//! * Write timeout: a connection whose client takes none of its answer's
//!   bytes for `write_timeout` is dropped
//!   ([`task_app::write_timeout::WriteTimeout`]), so a client that sends
//!   requests and never reads the answers cannot hold its slot, and the
//!   answers queued for it, for ever.
//! * Graceful shutdown: on the signal the loop stops accepting, idle
//!   connections are closed and requests in flight finish (the caller
//!   bounds that wait with its deadline).
//!
//! Each request carries the peer's address as
//! `ConnectInfo<SocketAddr>`, as `axum::serve` with
//! `into_make_service_with_connect_info` would give it.

use std::{future::Future, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo, http::Request};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use task_app::write_timeout::WriteTimeout;
use tokio::{net::TcpListener, sync::Semaphore};
use tower::Service as _;

/// How many connections are served at once, how long each has to send a
/// request head, and how long a stalled answer may wait for its client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) write_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits for
/// the open connections to finish their requests.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            // A Router is always ready: no `poll_ready` needed.
            router.clone().call(request)
        });
        let stream = WriteTimeout::new(stream, limits.write_timeout);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Errors of one connection (it was reset before we took it) are nothing
/// to wait for; any other (out of descriptors, say) would come back at
/// once, so pause before accepting again, as `axum::serve` does.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
