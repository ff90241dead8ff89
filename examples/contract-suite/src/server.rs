//! The launcher: starts a server binary as a child process on a fresh
//! database and a free port, captures everything it prints, and stops it.

use std::{
    io::{BufRead as _, BufReader, Read, Write as _},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use sqlx::{Connection as _, postgres::PgConnection};
use tempfile::TempDir;

use crate::{client::Api, outbox::Outbox};

/// The environment variable with the PostgreSQL URL the PostgreSQL tests use
/// (the same one the other test suites of the workspace read).
pub const POSTGRES_URL_VAR: &str = "AUTH_TEST_POSTGRES_URL";

/// The `JWT_ISSUER` the launcher configures.
pub const ISSUER: &str = "contract-suite";

/// The `JWT_AUDIENCE` the launcher configures.
pub const AUDIENCE: &str = "contract-suite-clients";

/// The one origin the launcher allows in `CORS_ORIGINS`.
pub const ALLOWED_ORIGIN: &str = "http://localhost:3000";

/// The `PUBLIC_URL` the launcher configures: the base of the links in
/// messages (nothing listens there; the cases only read the links).
pub const PUBLIC_URL: &str = "http://contract-suite.invalid:8080";

/// How long a server may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a server may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Schemas of runs older than this (killed test processes) are dropped.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The prefix of the PostgreSQL schemas the launcher creates.
const SCHEMA_PREFIX: &str = "contract_";

/// Whether `test` must be skipped for `reason` (`None`: it can run). A
/// skip is said on stderr, unless `required_var` is `required`, when it is
/// a failure instead.
pub fn skip_unless_required(required_var: &str, reason: Option<String>, test: &str) -> bool {
    let Some(reason) = reason else {
        return false;
    };
    if std::env::var(required_var).is_ok_and(|value| value == "required") {
        panic!("{required_var}=required but {test} cannot run: {reason}");
    }
    say(&format!(
        "skipped: {reason} ({required_var} is not `required`): {test}"
    ));
    true
}

/// Why a Node.js script whose packages are in `dir` cannot run here, if it
/// cannot: no `node` on `PATH`, or `package` not installed by `npm ci`.
pub fn node_package_missing(dir: &Path, package: &str) -> Option<String> {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if !node.is_ok_and(|status| status.success()) {
        return Some("no `node` on PATH".into());
    }
    if !dir.join("node_modules").join(package).is_dir() {
        return Some(format!(
            "no {}/node_modules (run `npm ci --prefix {}`)",
            dir.display(),
            dir.display()
        ));
    }
    None
}

/// Writes a line straight to the terminal: the test harness captures
/// `print!`/`eprint!` of passing tests, not writes to `std::io::stderr()`.
pub fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// The database a [`Server`] runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A SQLite file `tasks.db` in a fresh temporary directory that the
    /// server owns (removed when it is dropped).
    Sqlite,
    /// A SQLite file `tasks.db` in the given directory, shared with whoever
    /// else holds it: a second server on the same directory sees the first
    /// one's data (see [`Server::sqlite_dir`]).
    SqliteIn(Arc<TempDir>),
    /// A fresh schema in the database named by `AUTH_TEST_POSTGRES_URL`.
    Postgres,
    /// The PostgreSQL database (and schema) of another server: pass its
    /// [`Server::database_url`], to run a second instance on the same data.
    PostgresIn(String),
}

impl Backend {
    /// Whether `AUTH_TEST_POSTGRES_URL` is set (to something non-empty).
    pub fn postgres_available() -> bool {
        Self::postgres_url().is_some()
    }

    /// The value of `AUTH_TEST_POSTGRES_URL`, if set and non-empty.
    pub fn postgres_url() -> Option<String> {
        std::env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|url| !url.is_empty())
    }
}

/// What a case needs to know about a running server: where it is and the
/// JWT settings it was given (so that a case can mint its own tokens).
///
/// The launcher fills it in; for a server started some other way, build it
/// by hand with that server's configuration.
#[derive(Clone, Debug)]
pub struct Target {
    /// `http://host:port`, without a trailing slash.
    pub base_url: String,
    /// The server's `JWT_SECRET` (used as raw UTF-8 bytes for HS256), if known.
    pub jwt_secret: Option<String>,
    /// The server's `JWT_ISSUER`, if known.
    pub issuer: Option<String>,
    /// The server's `JWT_AUDIENCE`, if known.
    pub audience: Option<String>,
    /// The server's `MAIL_OUTBOX_DIR`, if known and readable here.
    pub outbox_dir: Option<PathBuf>,
    /// The server's `PUBLIC_URL`, if known.
    pub public_url: Option<String>,
}

impl Target {
    /// `base_url` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A fresh HTTP client for this server.
    pub fn api(&self) -> Api {
        Api::new(self)
    }

    /// The JWT secret; panics when it is not known.
    pub fn secret(&self) -> &str {
        self.jwt_secret
            .as_deref()
            .expect("this case mints tokens: the target's JWT secret must be known")
    }

    /// The JWT issuer; panics when it is not known.
    pub fn iss(&self) -> &str {
        self.issuer
            .as_deref()
            .expect("this case checks or mints tokens: the target's JWT issuer must be known")
    }

    /// The server's outbox; panics when its folder is not known.
    pub fn outbox(&self) -> Outbox {
        Outbox::new(
            self.outbox_dir
                .clone()
                .expect("this case reads messages: the target's MAIL_OUTBOX_DIR must be known"),
        )
    }

    /// The `PUBLIC_URL`; panics when it is not known.
    pub fn public(&self) -> &str {
        self.public_url
            .as_deref()
            .expect("this case checks links: the target's PUBLIC_URL must be known")
    }

    /// The JWT audience; panics when it is not known.
    pub fn aud(&self) -> &str {
        self.audience
            .as_deref()
            .expect("this case checks or mints tokens: the target's JWT audience must be known")
    }
}

/// A running server, killed (SIGKILL) when dropped.
///
/// When dropped during a panic (a failing case), it prints everything the
/// server printed, which the test harness shows with the failure.
pub struct Server {
    child: Child,
    logs: Arc<Mutex<String>>,
    target: Target,
    database_url: String,
    sqlite_dir: Option<Arc<TempDir>>,
    /// Holds the outbox folder (removed with the server).
    _mail_dir: TempDir,
}

impl Server {
    /// Starts `binary` on `backend` with the suite's configuration plus
    /// `extra_env` (which may override it), and waits until it listens.
    ///
    /// The configuration: `BIND_ADDRESS=127.0.0.1:0`, `DATABASE_URL`, a
    /// random 48-character `JWT_SECRET`, `JWT_ISSUER=contract-suite`,
    /// `JWT_AUDIENCE=contract-suite-clients`,
    /// `CORS_ORIGINS=http://localhost:3000`, `RUST_LOG=info`,
    /// `CLIENT_LIMIT_REQUESTS=1000000` (every case is one client),
    /// `MAIL_OUTBOX_DIR` (a folder `outbox`, not yet created, in a fresh
    /// temporary directory the server owns; see [`outbox`](Self::outbox)),
    /// `PUBLIC_URL` ([`PUBLIC_URL`]), and `SMTP_URL` removed; the rest of the
    /// environment is inherited.
    pub async fn start(binary: &Path, backend: Backend, extra_env: &[(&str, &str)]) -> Self {
        let env = extra_env
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Some((*value).to_owned())))
            .collect();
        Self::start_with(binary, backend, env).await
    }

    /// Like [`start`](Self::start), with `env` applied after the suite's
    /// configuration: `Some(value)` sets a variable, `None` removes it (the
    /// server then sees it unset, even if the test process has it).
    pub async fn start_with(
        binary: &Path,
        backend: Backend,
        env: Vec<(String, Option<String>)>,
    ) -> Self {
        Self::launch(binary, backend, env, None).await
    }

    /// Like [`start`](Self::start), with the server's limit on open files
    /// (soft and hard) set to `open_files` through util-linux's `prlimit`;
    /// `None` when `prlimit` cannot be run here.
    pub async fn start_with_open_files(
        binary: &Path,
        backend: Backend,
        extra_env: &[(&str, &str)],
        open_files: u64,
    ) -> Option<Self> {
        let usable = Command::new("prlimit")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !usable {
            return None;
        }
        let env = extra_env
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Some((*value).to_owned())))
            .collect();
        Some(Self::launch(binary, backend, env, Some(open_files)).await)
    }

    async fn launch(
        binary: &Path,
        backend: Backend,
        env: Vec<(String, Option<String>)>,
        open_files: Option<u64>,
    ) -> Self {
        assert!(
            binary.is_file(),
            "the server binary {} does not exist (build it first)",
            binary.display()
        );
        let (database_url, sqlite_dir) = match backend {
            Backend::Sqlite => {
                let dir = Arc::new(
                    tempfile::Builder::new()
                        .prefix("contract-suite-")
                        .tempdir()
                        .expect("a temporary directory for the SQLite database"),
                );
                (sqlite_url(dir.path()), Some(dir))
            }
            Backend::SqliteIn(dir) => (sqlite_url(dir.path()), Some(dir)),
            Backend::Postgres => {
                let url = Backend::postgres_url().unwrap_or_else(|| {
                    panic!("Backend::Postgres needs {POSTGRES_URL_VAR} to be set")
                });
                let schema = create_schema(&url).await;
                (url_in_schema(&url, &schema), None)
            }
            Backend::PostgresIn(url) => (url, None),
        };
        let mail_dir = tempfile::Builder::new()
            .prefix("contract-suite-mail-")
            .tempdir()
            .expect("a temporary directory for the outbox");
        // Not created: the server makes its own (owner-only) folder.
        let outbox_dir = mail_dir.path().join("outbox");

        let mut vars: Vec<(String, Option<String>)> = vec![
            ("BIND_ADDRESS".into(), Some("127.0.0.1:0".into())),
            ("DATABASE_URL".into(), Some(database_url.clone())),
            ("JWT_SECRET".into(), Some(random_string(48))),
            // PostgreSQL keeps no key file: two-factor needs one given (32
            // bytes in base64url, so the 43rd character must end in two zero
            // bits, as `A` does).
            // SQLite servers generate theirs beside the database.
            (
                "TWO_FACTOR_KEY".into(),
                database_url
                    .starts_with("postgres")
                    .then(|| format!("{}A", random_string(42))),
            ),
            ("JWT_ISSUER".into(), Some(ISSUER.into())),
            ("JWT_AUDIENCE".into(), Some(AUDIENCE.into())),
            ("CORS_ORIGINS".into(), Some(ALLOWED_ORIGIN.into())),
            ("RUST_LOG".into(), Some("info".into())),
            // The cases send everything from 127.0.0.1, far more than a
            // real client; `client_rate_limit` checks the default's kind.
            ("CLIENT_LIMIT_REQUESTS".into(), Some("1000000".into())),
            (
                "MAIL_OUTBOX_DIR".into(),
                Some(outbox_dir.display().to_string()),
            ),
            ("PUBLIC_URL".into(), Some(PUBLIC_URL.into())),
            // Messages go to the outbox, never to a real mail server.
            ("SMTP_URL".into(), None),
        ];
        for (name, value) in env {
            vars.retain(|(existing, _)| *existing != name);
            vars.push((name, value));
        }
        let var = |name: &str| -> Option<String> {
            vars.iter()
                .find(|(existing, _)| existing == name)
                .and_then(|(_, value)| value.clone())
        };
        let database_url = var("DATABASE_URL").unwrap_or_default();
        let jwt_secret = var("JWT_SECRET");
        let issuer = var("JWT_ISSUER");
        let audience = var("JWT_AUDIENCE");
        let outbox_dir = var("MAIL_OUTBOX_DIR").map(PathBuf::from);
        let public_url = var("PUBLIC_URL");

        // `prlimit … PROGRAM` execs the program: the child's pid is the server's.
        let mut command = match open_files {
            None => Command::new(binary),
            Some(limit) => {
                let mut command = Command::new("prlimit");
                command.arg(format!("--nofile={limit}")).arg(binary);
                command
            }
        };
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &vars {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));

        let logs = Arc::new(Mutex::new(String::new()));
        let (lines, listening) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            pump(stdout, Arc::clone(&logs), lines.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            pump(stderr, Arc::clone(&logs), lines);
        }

        let mut server = Self {
            child,
            logs,
            target: Target {
                base_url: String::new(),
                jwt_secret,
                issuer,
                audience,
                outbox_dir,
                public_url,
            },
            database_url,
            sqlite_dir,
            _mail_dir: mail_dir,
        };
        server.target.base_url = server.wait_until_listening(&listening).await;
        server
    }

    /// Reads the server's lines until one says `listening on http://...`.
    async fn wait_until_listening(&mut self, lines: &mpsc::Receiver<String>) -> String {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            loop {
                match lines.try_recv() {
                    Ok(line) => {
                        if let Some(base_url) = listening_address(&line) {
                            return base_url;
                        }
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    // Both pipes closed: the server is gone or going.
                    Err(mpsc::TryRecvError::Disconnected) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        break;
                    }
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the readers catch up before showing what it said.
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!(
                    "the server exited ({status}) before saying `listening on http://...`; \
                     its output:\n{}",
                    self.logs()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "the server did not say `listening on http://...` within {} s; \
                     its output so far:\n{}",
                    START_TIMEOUT.as_secs(),
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The server's base URL, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.target.base_url
    }

    /// What the cases need to talk to this server.
    pub fn target(&self) -> Target {
        self.target.clone()
    }

    /// Everything the server printed so far, stdout and stderr interleaved
    /// by line, ANSI escapes left as they were.
    pub fn logs(&self) -> String {
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The `DATABASE_URL` the server was given.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The directory of the SQLite database (`None` on PostgreSQL); pass it
    /// as [`Backend::SqliteIn`] to start another server on the same data.
    pub fn sqlite_dir(&self) -> Option<Arc<TempDir>> {
        self.sqlite_dir.clone()
    }

    /// The server's outbox (its `MAIL_OUTBOX_DIR`); panics when the
    /// variable was removed.
    pub fn outbox(&self) -> Outbox {
        self.target.outbox()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server at once (SIGKILL, as `kill -9`: no shutdown code
    /// runs) and waits for it to be gone. Its logs stay readable.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to 10 s for the server to exit; returns
    /// its exit status (panics, after killing it, if it does not exit).
    pub async fn stop_gracefully(&mut self) -> ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status;
        }
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap_or_else(|error| panic!("cannot run `kill -TERM {pid}`: {error}"));
        assert!(sent.success(), "`kill -TERM {pid}` failed: {sent}");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("the server's exit status") {
                // Let the readers catch up with its last words.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the server did not exit within {} s of SIGTERM; its output:\n{}",
                    STOP_TIMEOUT.as_secs(),
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // Captured by the harness and shown with the failing test.
            eprintln!(
                "---- output of the server at {} ----\n{}---- end of server output ----",
                self.target.base_url,
                self.logs()
            );
        }
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("pid", &self.child.id())
            .field("base_url", &self.target.base_url)
            .field("database_url", &self.database_url)
            .finish_non_exhaustive()
    }
}

/// Copies `reader`'s lines into `logs` and sends each to `lines`, on a
/// thread of its own, until the pipe closes.
fn pump(reader: impl Read + Send + 'static, logs: Arc<Mutex<String>>, lines: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let mut line = String::from_utf8_lossy(&buf).into_owned();
                    if !line.ends_with('\n') {
                        line.push('\n');
                    }
                    logs.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push_str(&line);
                    // The receiver is gone once the server listens.
                    let _ = lines.send(line);
                }
            }
        }
    });
}

/// `http://host:port` from a line containing `listening on http://host:port`.
fn listening_address(line: &str) -> Option<String> {
    let line = strip_ansi(line);
    let after = &line[line.find("listening on")? + "listening on".len()..];
    let url = &after[after.find("http://")? + "http://".len()..];
    let authority: String = url
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '/' | '"' | '\'' | ',' | ')' | '>'))
        .collect();
    let addr: SocketAddr = authority.parse().ok()?;
    Some(format!("http://{addr}"))
}

/// `text` without ANSI escape sequences (colours of a log formatter).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, up to the final byte @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("tasks.db").display())
}

/// `url` with connections whose `search_path` is `schema` (sqlx reads the
/// `options` parameter as libpq does).
fn url_in_schema(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// A fresh, empty schema in the database at `url`; returns its name.
async fn create_schema(url: &str) -> String {
    let mut admin = PgConnection::connect(url).await.unwrap_or_else(|error| {
        panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is not reachable: {error}")
    });
    sweep_stale_schemas(&mut admin).await;
    let schema = format!("{SCHEMA_PREFIX}{}", unique_suffix());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|error| panic!("cannot create schema {schema}: {error}"));
    let _ = admin.close().await;
    schema
}

/// Drops (once per process) the schemas of runs that started over an hour
/// ago; their names start with the run's start time.
async fn sweep_stale_schemas(admin: &mut PgConnection) {
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::Relaxed) {
        return;
    }
    let Ok(schemas) = sqlx::query_scalar::<_, String>(
        "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)",
    )
    .bind(SCHEMA_PREFIX)
    .fetch_all(&mut *admin)
    .await
    else {
        return;
    };
    let cutoff = now_secs().saturating_sub(STALE_AFTER.as_secs());
    for schema in schemas {
        let started = schema
            .trim_start_matches(SCHEMA_PREFIX)
            .split('_')
            .next()
            .and_then(|secs| secs.parse::<u64>().ok());
        if started.is_some_and(|started| started < cutoff) {
            // Another sweeper may have dropped it already.
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE"
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}

/// A name no other server of any concurrent run uses: the process start
/// time, the pid and a counter.
fn unique_suffix() -> String {
    static STARTED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let started = *STARTED.get_or_init(now_secs);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{started}_{}_{n}", std::process::id())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// A port nobody listens on right now: a server that must know its own URL
/// before it starts (`PUBLIC_URL`) is given `BIND_ADDRESS=127.0.0.1:<port>`.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// `len` random ASCII letters and digits.
pub fn random_string(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("random bytes from the OS");
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_plain_and_coloured_lines() {
        assert_eq!(
            listening_address("INFO task_api: listening on http://127.0.0.1:41234").as_deref(),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(
            listening_address(
                "\u{1b}[2m2025-01-01T00:00:00Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m listening on \
                 \u{1b}[1mhttp://127.0.0.1:5000\u{1b}[0m/ more"
            )
            .as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            listening_address(r#"{"message":"listening on http://[::1]:8080"}"#).as_deref(),
            Some("http://[::1]:8080")
        );
        assert_eq!(listening_address("starting on http://127.0.0.1:1"), None);
        assert_eq!(listening_address("listening on 127.0.0.1:1"), None);
    }

    #[test]
    fn schema_goes_into_the_options_parameter() {
        assert_eq!(
            url_in_schema("postgres://u@h/db", "contract_1"),
            "postgres://u@h/db?options=-c%20search_path%3Dcontract_1"
        );
        assert_eq!(
            url_in_schema("postgres://u@h/db?sslmode=disable", "s"),
            "postgres://u@h/db?sslmode=disable&options=-c%20search_path%3Ds"
        );
        let options: sqlx::postgres::PgConnectOptions =
            url_in_schema("postgres://u@h/db", "contract_1")
                .parse()
                .unwrap();
        assert_eq!(options.get_options(), Some("-c search_path=contract_1"));
    }

    #[test]
    fn random_strings_differ() {
        let a = random_string(48);
        assert_eq!(a.len(), 48);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_string(48));
    }
}
