//! Cases about clients that hold a server's connections without breaking
//! HTTP: one that never reads its answers, one that announces a body over
//! the limit and never sends it; and the limit on a URL's length, which
//! both servers answer alike.

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpSocket, TcpStream},
    task::JoinSet,
};

use crate::{Backend, Server, Target, client::path_segment};

/// How long `/healthz` may take, connection included, while the clients of
/// a case hold the server.
const HEALTHZ_WITHIN: Duration = Duration::from_millis(1500);

/// The `WRITE_TIMEOUT_SECS` of [`never_reading_clients_are_dropped`].
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long past a timeout a case waits for a connection to be dropped:
/// enough for a slow machine, far from "never".
const MARGIN: Duration = Duration::from_secs(10);

/// The server's address (`host:port`).
fn address(target: &Target) -> SocketAddr {
    let address = target.base_url.trim_start_matches("http://");
    address
        .parse()
        .unwrap_or_else(|error| panic!("{address} is not an address: {error}"))
}

/// Asks for `/healthz` every 100 ms, each time on a new connection, until
/// told to stop; then returns every request that failed or took longer
/// than [`HEALTHZ_WITHIN`].
struct HealthWatch {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl HealthWatch {
    fn start(target: &Target) -> Self {
        let http = crate::client::http_client()
            .pool_max_idle_per_host(0)
            .timeout(HEALTHZ_WITHIN)
            .build()
            .expect("a reqwest client");
        let url = target.url("/healthz");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                let started = Instant::now();
                match http.get(&url).send().await {
                    Ok(reply) if reply.status() == 200 => {}
                    Ok(reply) => failures.push(format!("/healthz answered {}", reply.status())),
                    Err(error) => failures.push(format!(
                        "/healthz: no answer after {:?}: {error}",
                        started.elapsed()
                    )),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            failures
        });
        Self { stop, task }
    }

    /// Stops watching; panics if `/healthz` was ever late or wrong.
    async fn check(self, while_what: &str) {
        self.stop.store(true, Ordering::Relaxed);
        let failures = self.task.await.expect("the /healthz watch");
        assert!(
            failures.is_empty(),
            "while {while_what}, /healthz must answer within {HEALTHZ_WITHIN:?}: {failures:#?}"
        );
    }
}

/// A connection that reads nothing, with a 4 KB receive buffer and a small
/// segment size: the server's send buffer for it then stays small too
/// (Linux sizes it from the segment size), so a few answers fill it.
async fn never_reading_connection(address: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .expect("a socket");
    #[cfg(unix)]
    let _ = socket.set_tcp_mss(536);
    let socket = TcpSocket::from_std_stream(socket.into());
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.set_send_buffer_size(4096).expect("SO_SNDBUF");
    socket
        .connect(address)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {address}: {error}"))
}

/// With `WRITE_TIMEOUT_SECS=3`, 200 clients that pipeline requests for the
/// OpenAPI document (53 KB each) and never read the answers are dropped
/// about 3 s after the server's writes to them stall, and `/healthz`
/// answers within 1.5 s throughout (a server that waited for them would
/// keep it 3 s). Each client goes on sending a small
/// request every 100 ms: the first that fails says the server dropped it.
pub async fn never_reading_clients_are_dropped(binary: &Path, backend: Backend) {
    const CLIENTS: usize = 200;
    // Far more answer bytes than the server's send buffer and the client's
    // receive buffer hold.
    const PIPELINED: usize = 16;
    let server = Server::start(
        binary,
        backend,
        &[
            ("WRITE_TIMEOUT_SECS", "3"),
            // Not what cuts them: the header clock is stopped while the
            // server writes.
            ("HEADER_READ_TIMEOUT_SECS", "60"),
        ],
    )
    .await;
    let target = server.target();
    let address = address(&target);
    let watch = HealthWatch::start(&target);
    let burst = b"GET /api/openapi.json HTTP/1.1\r\nHost: contract-suite\r\n\r\n".repeat(PIPELINED);
    let mut clients = JoinSet::new();
    for n in 0..CLIENTS {
        let mut stream = never_reading_connection(address).await;
        let burst = burst.clone();
        clients.spawn(async move {
            stream
                .write_all(&burst)
                .await
                .expect("the pipelined requests");
            let stalled_from = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let more = stream.write_all(b"GET /x HTTP/1.1\r\nHost: contract-suite\r\n\r\n");
                match tokio::time::timeout(Duration::from_secs(1), more).await {
                    Ok(Err(_)) => return Ok(stalled_from.elapsed()),
                    Ok(Ok(())) | Err(_) if stalled_from.elapsed() > WRITE_TIMEOUT + MARGIN => {
                        return Err(format!(
                            "client #{n} is still connected {:?} after its requests",
                            stalled_from.elapsed()
                        ));
                    }
                    Ok(Ok(())) | Err(_) => {}
                }
            }
        });
    }
    let mut held = Vec::new();
    let mut soonest = Duration::MAX;
    while let Some(client) = clients.join_next().await {
        match client.expect("a never-reading client") {
            Ok(dropped_after) => soonest = soonest.min(dropped_after),
            Err(still_held) => held.push(still_held),
        }
    }
    watch.check("200 clients never read their answers").await;
    assert!(
        held.is_empty(),
        "with WRITE_TIMEOUT_SECS=3 the server must drop clients that never read; {} of \
         {CLIENTS} were held: {:?}",
        held.len(),
        held.first()
    );
    // The write timeout cut them, not something quicker.
    assert!(
        soonest.saturating_add(Duration::from_millis(300)) >= WRITE_TIMEOUT,
        "a never-reading client was dropped {soonest:?} after its requests, before the \
         3 s write timeout could have passed"
    );
}

/// A raw exchange: the request sent as is, then everything read until the
/// server closes the connection, or `within` passes.
struct Raw {
    received: Vec<u8>,
    closed: bool,
}

impl Raw {
    async fn exchange(address: SocketAddr, request: &[u8], within: Duration) -> Self {
        let mut stream = TcpStream::connect(address)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {address}: {error}"));
        // The server may answer, and close, before it has read it all.
        let _ = stream.write_all(request).await;
        Self::read(stream, within).await
    }

    async fn read(mut stream: TcpStream, within: Duration) -> Self {
        let deadline = tokio::time::Instant::now() + within;
        let mut received = Vec::new();
        let mut buf = [0; 4096];
        loop {
            match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Err(_) => {
                    return Self {
                        received,
                        closed: false,
                    };
                }
                Ok(Ok(0) | Err(_)) => {
                    return Self {
                        received,
                        closed: true,
                    };
                }
                Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }

    fn status(&self) -> Option<u16> {
        self.text().get(9..12)?.parse().ok()
    }

    /// The value of the header `name` (lowercase).
    fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let (head, _) = text.split_once("\r\n\r\n")?;
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The body as JSON (`Null` when it is none).
    fn json(&self) -> Value {
        let text = self.text();
        let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(body).unwrap_or(Value::Null)
    }
}

/// A request head announcing a 10 GB JSON body, which never comes.
fn announcing_head(method: &str, path: &str, token: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: contract-suite\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n"
    )
    .into_bytes()
}

/// Every operation of the server's OpenAPI document, its path filled in
/// for `account` (`{id}` as 1): the routes that take a body among them.
async fn operations(target: &Target, account: &crate::Account) -> Vec<(String, String)> {
    let api = target.api();
    let document = api.get("/api/openapi.json", None).await.expect_json(200);
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("OpenAPI paths") {
        let path = path
            .replace("{user_id}", &path_segment(&account.user_id))
            .replace("{id}", "1");
        for method in item.as_object().expect("a path item").keys() {
            operations.push((method.to_ascii_uppercase(), path.clone()));
        }
    }
    // Sign-out takes an optional body, which the document leaves out.
    operations.push(("POST".into(), "/api/auth/sign-out".into()));
    operations
}

/// A request whose `Content-Length` is over the body limit (10 GB) is
/// answered at once, on every route, with the 413 `payload_too_large` an
/// oversized body gets (the same problem, byte for byte), without the body
/// being waited for; and the connection is then closed. With
/// `MAX_CONNECTIONS=50`, 50 clients that send such a head and hold their
/// connection open do not keep `/healthz` waiting.
pub async fn announced_oversized_bodies_are_413_at_once(binary: &Path, backend: Backend) {
    const ANSWER_WITHIN: Duration = Duration::from_secs(3);
    let server = Server::start(binary, backend, &[("MAX_CONNECTIONS", "50")]).await;
    let target = server.target();
    let address = address(&target);
    let api = target.api();
    let account = api.sign_up().await;
    // A body sent in chunks has no length to refuse it by: its 413 comes
    // once the limit is passed.
    let chunk = "x".repeat(70_000);
    let chunked = format!(
        "POST /api/auth/sign-in HTTP/1.1\r\nHost: contract-suite\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n\
         {:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let ordinary = Raw::exchange(address, chunked.as_bytes(), MARGIN).await;
    let expected = ordinary.json();
    assert!(
        ordinary.status() == Some(413) && expected["code"] == "payload_too_large",
        "a chunked 70 000-byte body: {:?}",
        ordinary.text()
    );

    let mut exchanges = JoinSet::new();
    for (method, path) in operations(&target, &account).await {
        let head = announcing_head(&method, &path, &account.access_token);
        exchanges.spawn(async move {
            let raw = Raw::exchange(address, &head, ANSWER_WITHIN).await;
            (method, path, raw)
        });
    }
    while let Some(exchange) = exchanges.join_next().await {
        let (method, path, raw) = exchange.expect("an exchange");
        let what = format!("{method} {path} announcing a 10 GB body that never comes");
        assert_eq!(
            raw.status(),
            Some(413),
            "{what}: expected a 413 within {ANSWER_WITHIN:?}; got {:?}",
            raw.text()
        );
        assert_eq!(
            raw.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{what}: {:?}",
            raw.text()
        );
        assert_eq!(
            raw.json(),
            expected,
            "{what}: not the 413 of an oversized body"
        );
        assert!(
            raw.closed,
            "{what}: the connection is still open {ANSWER_WITHIN:?} after the 413"
        );
    }

    let watch = HealthWatch::start(&target);
    let mut held = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(address).await.expect("a connection");
        let head = announcing_head("POST", "/api/auth/sign-in", "-");
        stream.write_all(&head).await.expect("the request head");
        held.push(stream);
    }
    // Long enough for the watch to ask a few times.
    tokio::time::sleep(Duration::from_secs(2)).await;
    watch
        .check("50 clients (MAX_CONNECTIONS=50) held connections announcing 10 GB bodies")
        .await;
    drop(held);
}

/// A URL over 8 KiB is answered 414 `uri_too_long`, as problem+json, by
/// both servers, whether the length is in the path or the query; one of
/// 8 KiB is served. (Over 64 KiB neither framework lets the application
/// answer: the connection is refused with a bare 4xx and closed.)
pub async fn long_urls_are_414(target: &Target) {
    let api = target.api();
    // The request target's length: the path and query as sent.
    let fill =
        |prefix: &str, length: usize| format!("{prefix}{}", "a".repeat(length - prefix.len()));
    for length in [8_193, 20_000, 65_000] {
        for prefix in ["/healthz?pad=", "/api/"] {
            let url = fill(prefix, length);
            api.get(&url, None)
                .await
                .noted(format!("a {length}-byte URL starting {prefix}"))
                .expect_problem(414, "uri_too_long");
        }
    }
    api.get(&fill("/healthz?pad=", 8_192), None)
        .await
        .noted("an 8 192-byte URL")
        .expect_json(200);
    let address = address(target);
    let huge = format!(
        "GET {} HTTP/1.1\r\nHost: contract-suite\r\n\r\n",
        fill("/healthz?pad=", 100_000)
    );
    let raw = Raw::exchange(address, huge.as_bytes(), MARGIN).await;
    assert!(
        raw.status()
            .is_some_and(|status| (400..500).contains(&status))
            && raw.closed,
        "a 100 000-byte URL must be refused and the connection closed; got {:?}",
        raw.text()
    );
    api.get("/healthz", None).await.expect_json(200);
}
