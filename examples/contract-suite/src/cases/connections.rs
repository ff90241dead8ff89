//! Cases about connections rather than requests: a connection that sends
//! no complete request head within `HEADER_READ_TIMEOUT_SECS` is closed
//! (idle, idle after a response, or sending its head a byte at a time), and
//! a server full of such clients still answers `/healthz` once it has cut
//! them. The servers may answer the cut with a 408 (actix-web does) or
//! close without a word (hyper does); both are fine.
//!
//! They start servers with a 1 s timeout and give each connection far
//! longer (see [`GUARD`]) to be closed, so that only a server that does not
//! close it fails, however slow the machine.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    task::JoinSet,
};

use crate::{Backend, Server, server::say};

/// The header-read timeout the cases configure, in seconds.
const TIMEOUT_SECS: &str = "1";

/// How long a case waits for a connection the server should close after
/// 1 s. Longer than a slow head takes to send in full (so a server that
/// waits for it answers, and fails the case, within this time).
const GUARD: Duration = Duration::from_secs(30);

/// A request head, sent one byte at a time it takes 18 s.
const HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\
    User-Agent: contract-suite slow client\r\nAccept: */*\r\n\r\n";
const BYTE_EVERY: Duration = Duration::from_millis(200);

async fn start(binary: &Path, backend: Backend) -> Server {
    Server::start(
        binary,
        backend,
        &[("HEADER_READ_TIMEOUT_SECS", TIMEOUT_SECS)],
    )
    .await
}

async fn connect(server: &Server) -> TcpStream {
    let address = server.base_url().trim_start_matches("http://");
    TcpStream::connect(address)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {address}: {error}"))
}

/// Reads until the server closes the connection (end of stream, or a
/// reset); returns what it sent. Panics if it is still open after [`GUARD`].
async fn read_until_closed(mut stream: impl tokio::io::AsyncRead + Unpin, what: &str) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match tokio::time::timeout(GUARD, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "{what}: the connection is still open after {} s (HEADER_READ_TIMEOUT_SECS={TIMEOUT_SECS}); \
                 received so far: {:?}",
                GUARD.as_secs(),
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0) | Err(_)) => return received,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// Panics unless `received` is nothing or a 408 response.
fn expect_cut(received: &[u8], what: &str) {
    let text = String::from_utf8_lossy(received);
    assert!(
        received.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{what}: the server must close the connection, at most with a 408; it sent {text:?}"
    );
}

/// With `HEADER_READ_TIMEOUT_SECS=1`, connections that send nothing, and a
/// keep-alive connection that sends nothing after its first response, are
/// closed by the server.
pub async fn idle_connections_are_closed(binary: &Path, backend: Backend) {
    let server = start(binary, backend).await;
    let mut clients = JoinSet::new();
    for n in 0..20 {
        let stream = connect(&server).await;
        clients.spawn(async move {
            let what = format!("idle connection #{n}");
            expect_cut(&read_until_closed(stream, &what).await, &what);
        });
    }
    let mut kept_alive = connect(&server).await;
    kept_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("a request on the keep-alive connection");
    let received = read_until_closed(kept_alive, "a keep-alive connection after a response").await;
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "the request before the idle time must be answered: {text:?}"
    );
    while let Some(client) = clients.join_next().await {
        client.expect("an idle client");
    }
}

/// With `HEADER_READ_TIMEOUT_SECS=1`, clients that send their request head
/// one byte every 200 ms are cut before they finish it (sending it all
/// would take 18 s), and never answered with anything but a 408.
pub async fn slow_request_heads_are_cut(binary: &Path, backend: Backend) {
    let server = start(binary, backend).await;
    let mut clients = JoinSet::new();
    for n in 0..5 {
        let (reader, mut writer) = connect(&server).await.into_split();
        clients.spawn(async move {
            let sent = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&sent);
            let trickle = tokio::spawn(async move {
                for byte in HEAD {
                    if writer.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(BYTE_EVERY).await;
                }
            });
            let what = format!("slow client #{n}");
            let received = read_until_closed(reader, &what).await;
            trickle.abort();
            let sent = sent.load(Ordering::Relaxed);
            expect_cut(&received, &what);
            assert!(
                sent < HEAD.len(),
                "{what}: the server waited for the whole head ({sent} bytes, one every {} ms)",
                BYTE_EVERY.as_millis()
            );
        });
    }
    while let Some(client) = clients.join_next().await {
        client.expect("a slow client");
    }
}

/// A server allowed 128 open files, by default, caps its connections
/// below that: 150 clients that connect and hold their connections (half
/// idle, half stuck in the middle of a head) cannot exhaust its file
/// descriptors, and `/healthz` is answered once the timeout has cut them,
/// while they still hold their ends open. Without a cap the server would
/// fail to accept at about 120 connections, and `/healthz` would wait in
/// the listen queue for as long as the clients stay.
pub async fn full_server_still_answers(binary: &Path, backend: Backend) {
    let Some(server) = Server::start_with_open_files(
        binary,
        backend,
        &[("HEADER_READ_TIMEOUT_SECS", TIMEOUT_SECS)],
        128,
    )
    .await
    else {
        say("skipped: `prlimit` (util-linux) cannot be run here: full_server_still_answers");
        return;
    };
    let mut held = Vec::new();
    for n in 0..150 {
        let mut stream = connect(&server).await;
        if n % 2 == 1 {
            // Mid-head: the kernel takes the bytes whether or not the
            // server has accepted the connection yet.
            let _ = stream.write_all(&HEAD[..10]).await;
        }
        held.push(stream);
    }
    let reply = server
        .target()
        .api()
        .http()
        .get(server.target().url("/healthz"))
        .timeout(GUARD)
        .send()
        .await;
    match reply {
        Ok(reply) => assert_eq!(
            reply.status().as_u16(),
            200,
            "/healthz with 150 clients holding connections"
        ),
        Err(error) => panic!(
            "/healthz got no answer within {} s while 150 clients held connections \
             (the server has 128 files): {error}",
            GUARD.as_secs()
        ),
    }
    drop(held);
}

/// The sockets the process `pid` has open (Linux: its `/proc/PID/fd`).
fn open_sockets(pid: u32) -> Option<usize> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        entries
            .flatten()
            .filter(|entry| {
                std::fs::read_link(entry.path())
                    .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
            })
            .count(),
    )
}

/// With `MAX_CONNECTIONS=10` (and a header timeout far longer than the
/// case), 40 clients that connect and wait never get the server past
/// about 10 open connections: the others wait in the listen queue, and
/// they are served once the first ones leave.
pub async fn connections_are_capped(binary: &Path, backend: Backend) {
    const CAP: usize = 10;
    // The listener and the runtime's own sockets (signal pipes and the like).
    const OWN_SOCKETS: usize = 8;
    let server = Server::start(
        binary,
        backend,
        &[
            ("MAX_CONNECTIONS", "10"),
            ("HEADER_READ_TIMEOUT_SECS", "60"),
        ],
    )
    .await;
    let Some(before) = open_sockets(server.pid()) else {
        say("skipped: no /proc/PID/fd to count the server's sockets: connections_are_capped");
        return;
    };
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(connect(&server).await);
    }
    // An uncapped server accepts all 40 within milliseconds; give a capped
    // one as long to show it does not.
    let mut most = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        most = most.max(open_sockets(server.pid()).unwrap_or_default());
    }
    assert!(
        most <= before + CAP + OWN_SOCKETS && most >= CAP,
        "with MAX_CONNECTIONS={CAP} and 40 clients connected the server had {most} sockets \
         open ({before} before the clients came)"
    );
    // The cap must not lose the waiting connections: once the first ones
    // leave, the rest are served.
    drop(held);
    let reply = server
        .target()
        .api()
        .http()
        .get(server.target().url("/healthz"))
        .timeout(GUARD)
        .send()
        .await
        .expect("/healthz once the clients left");
    assert_eq!(reply.status().as_u16(), 200);
}
