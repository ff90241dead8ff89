//! Logging and shutdown, the same for both servers.

use tracing_subscriber::EnvFilter;

/// Structured logs to stdout, filtered by `RUST_LOG` (default `info`), with
/// colours only on a terminal. Nothing logged by this workspace contains a
/// token, password or hash (their types redact themselves in `Debug`), and
/// request logs carry the path, never the query string or headers.
pub fn init_tracing() {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

/// How long requests in flight may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Graceful shutdown with a deadline: [`signalled`](Self::signalled)
/// resolves on Ctrl-C or SIGTERM (give it to the server's graceful
/// shutdown), [`deadline_passed`](Self::deadline_passed) [`SHUTDOWN_GRACE`]
/// later, so that a hung client cannot keep the process alive.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    signal: std::sync::Arc<tokio::sync::Notify>,
}

impl Shutdown {
    /// A new, not yet signalled, shutdown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolves on the first Ctrl-C or SIGTERM.
    pub fn signalled(&self) -> impl Future<Output = ()> + Send + 'static {
        let signal = self.signal.clone();
        async move {
            shutdown_signal().await;
            signal.notify_one();
        }
    }

    /// Resolves [`SHUTDOWN_GRACE`] after [`signalled`](Self::signalled) did.
    pub async fn deadline_passed(&self) {
        self.signal.notified().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    }
}

/// The process's exit code for how serving ended; an error (at start-up,
/// typically) is logged with its causes first.
pub fn exit_code(served: Result<(), Box<dyn std::error::Error>>) -> std::process::ExitCode {
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("cannot start: {}", describe(&*error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether to serve the load script's unauthenticated baseline route:
/// only in a build with it (`compiled_in`, the servers' `bench-routes`
/// feature) and only with `BENCH_ROUTES=1`. Says so in a warning.
pub fn bench_routes_wanted(compiled_in: bool) -> bool {
    let wanted = compiled_in && std::env::var("BENCH_ROUTES").is_ok_and(|value| value == "1");
    if wanted {
        tracing::warn!("BENCH_ROUTES=1: GET /bench/{{user_id}}/tasks lists tasks WITHOUT auth");
    }
    wanted
}

/// An error with its chain of causes, for a start-up failure: "cannot
/// start: internal error" says nothing, the database's own words do.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Many errors repeat their source in their own text already.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// How long one request may take, body included, before it is answered
/// with a 408: a client that sends its body slowly cannot hold a worker.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Resolves on Ctrl-C or SIGTERM, so the server can stop taking
/// connections and finish the requests in flight.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
