//! Cases about the database settings a server starts with: TLS to
//! PostgreSQL and what an operator reads when it cannot work.

use std::{
    io::Read as _,
    path::Path,
    process::{Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use crate::{
    Backend, Server,
    server::{random_string, say},
};

/// How long a server that should refuse to start may take to exit (its
/// acquire timeout is 5 s); a guard against a hang, not a speed check.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `binary` until it exits, with a JWT secret, a free port and `env`;
/// returns its status and everything it printed (stdout, then stderr).
pub(super) fn run_to_exit(binary: &Path, env: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut child = Command::new(binary)
        .env("BIND_ADDRESS", "127.0.0.1:0")
        .env("JWT_SECRET", random_string(48))
        .env("RUST_LOG", "info")
        .env_remove("PGSSLMODE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
    let deadline = Instant::now() + EXIT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the server's exit status") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server with {env:?} was expected to refuse to start, \
                 but it still runs after {} s",
                EXIT_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut output);
    }
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut output);
    }
    (status, output)
}

/// The first line of `output` logged at level ERROR.
fn first_error_line(output: &str) -> &str {
    output
        .lines()
        .find(|line| line.contains("ERROR"))
        .unwrap_or_else(|| panic!("no ERROR line in the server's output:\n{output}"))
}

fn with_query(url: &str, query: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

/// PostgreSQL over TLS, as a hosted database needs it:
///
/// * `sslmode=verify-full` against a server whose certificate the client
///   does not trust (the test server's is self-signed) refuses to start,
///   exit status non-zero, and the first error line names the cause and
///   the setting that fixes it (not "internal error", not "temporarily
///   unavailable");
/// * a database on another machine without `sslmode` gets a warning that
///   the connection may be plain text;
/// * `PGSSLMODE=require` (as `sslmode=require` in the URL) starts and
///   serves.
///
/// PostgreSQL only; on SQLite the case says it is skipped.
pub async fn database_tls_settings(binary: &Path, backend: Backend) {
    if !matches!(backend, Backend::Postgres) {
        say("skipped: database_tls_settings is about PostgreSQL");
        return;
    }
    let url = Backend::postgres_url().expect("Backend::Postgres has a URL");

    let untrusted = with_query(&url, "sslmode=verify-full");
    let (status, output) = run_to_exit(binary, &[("DATABASE_URL", &untrusted)]);
    assert!(!status.success(), "{status}; output:\n{output}");
    let line = first_error_line(&output);
    assert!(
        line.contains("cannot start: DATABASE_URL (")
            && line.contains("TLS to PostgreSQL failed: invalid peer certificate: UnknownIssuer")
            && line.contains("sslrootcert="),
        "the first error line should name the untrusted certificate and `sslrootcert=`: {line}"
    );

    // TEST-NET-1 (RFC 5737): nothing answers there, so the server warns,
    // then gives up at its acquire timeout.
    let remote = "postgres://postgres@192.0.2.1:5432/test";
    let (status, output) = run_to_exit(binary, &[("DATABASE_URL", remote)]);
    assert!(!status.success(), "{status}; output:\n{output}");
    let warning = output
        .lines()
        .find(|line| line.contains("WARN") && line.contains("plain text"))
        .unwrap_or_else(|| panic!("no plain-text warning for {remote}:\n{output}"));
    assert!(
        warning.contains("192.0.2.1") && warning.contains("sslmode=verify-full"),
        "{warning}"
    );
    let line = first_error_line(&output);
    assert!(line.contains("not reachable"), "{line}");

    let server = Server::start(binary, Backend::Postgres, &[("PGSSLMODE", "require")]).await;
    let api = server.target().api();
    api.get("/healthz", None).await.expect_json(200);
    api.sign_up().await;
    assert!(
        !server.logs().contains("plain text"),
        "a database on this machine needs no warning:\n{}",
        server.logs()
    );
}
