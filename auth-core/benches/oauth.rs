//! Issue 26: what an OAuth / OpenID Connect sign-in costs the server,
//! without the provider's round trips.
//!
//! A stub OpenID provider runs on a loopback port (std threads, HTTP/1.1
//! keep-alive): discovery (with
//! `authorization_response_iss_parameter_supported`), a JWKS with one
//! Ed25519 key, and a token endpoint that answers every POST with an ID
//! token signed by that key (EdDSA), carrying the nonce of the
//! sign-in its `code` belongs to (the bench reads the nonce from the
//! authorize `Location` and hands it over before the callback). The real
//! routes run through the endpoint list, as the adapters run them, on
//! `MemoryStore`:
//!
//! - `authorize`: the redirect to the provider, its cookie and pending
//!   sign-in;
//! - `callback`: state check, one POST to the token endpoint (a loopback
//!   round trip), the ID token's checks against the cached JWKS, the
//!   account rules (a returning user: the identity is linked), the
//!   exchange code;
//! - `exchange`: the code into a session (access and refresh token);
//! - a whole sign-in: the three in a row;
//! - the floor: the same POST to the token endpoint over a plain std
//!   `TcpStream` (loopback round trip plus the stub's signing), so that
//!   callback minus floor is the callback's own work;
//! - a raw `jsonwebtoken::decode` of such an ID token: the signature
//!   check, part of that own work;
//! - for scale, a password sign-in (`POST /sign-in`) with the default
//!   Argon2id parameters.
//!
//! Then it counts the CPU time (all threads, the stub's too) of 2 000
//! sign-ins and of 2 000 floor round trips, twice: their difference is
//! the sign-in's own work, steadier than the wall times on a shared
//! machine. Last, it checks (panics otherwise) that discovery and the
//! JWKS were each fetched once, however many sign-ins ran, and prints
//! the stub's counts.
//!
//! Run with `cargo bench -p auth-core --bench oauth --features oauth`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::HashMap,
    hint::black_box,
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use auth_core::{
    AuthService, JwtCodec, JwtKey, MemoryStore, Password, SignUpRequest,
    endpoint::{self, Method, Reply, Request},
    service::{ClientSecret, OAuth, OAuthProvider},
    token::TokenCodec,
};
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;

const PUBLIC: &str = "https://tasks.example.com";
const PROVIDER: &str = "bench";
const CLIENT_ID: &str = "client";
const KID: &str = "stub-key";
const ED_PRIVATE: &[u8] = include_bytes!("../tests/keys/ed25519-a.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../tests/keys/ed25519-a.pub.pem");
const DISCOVERY: &str = "/.well-known/openid-configuration";
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "benchmark password";

/// The stub provider's state, shared with its threads.
struct Stub {
    issuer: String,
    discovery: String,
    jwks: String,
    key: EncodingKey,
    /// The nonce of each code the bench handed out.
    nonces: Mutex<HashMap<String, String>>,
    hits: Mutex<HashMap<String, u64>>,
    connections: AtomicU64,
}

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    nonce: &'a str,
    email: &'a str,
    email_verified: bool,
    name: &'a str,
}

impl Stub {
    /// Binds a loopback port and serves it on a thread (one more thread
    /// per connection; reqwest keeps its connection alive).
    fn start() -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let discovery = serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
        })
        .to_string();
        // The public half as a JWK, the way this crate publishes its own.
        let codec = JwtCodec::builder()
            .issuer(&issuer)
            .audience(CLIENT_ID)
            .key(JwtKey::ed25519_pem(KID, ED_PRIVATE, ED_PUBLIC).unwrap())
            .build()
            .unwrap();
        let stub = Arc::new(Self {
            jwks: serde_json::to_string(&codec.jwks()).unwrap(),
            issuer,
            discovery,
            key: EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
            nonces: Mutex::new(HashMap::new()),
            hits: Mutex::new(HashMap::new()),
            connections: AtomicU64::new(0),
        });
        let serving = Arc::clone(&stub);
        std::thread::spawn(move || {
            for socket in listener.incoming().flatten() {
                serving.connections.fetch_add(1, Ordering::Relaxed);
                let stub = Arc::clone(&serving);
                std::thread::spawn(move || stub.serve(socket));
            }
        });
        stub
    }

    fn serve(&self, socket: TcpStream) {
        socket.set_nodelay(true).unwrap();
        let mut writer = socket.try_clone().unwrap();
        let mut reader = BufReader::new(socket);
        while let Some((method, path, body)) = read_request(&mut reader) {
            *self.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
            let (status, body) = match (method.as_str(), path.as_str()) {
                ("GET", DISCOVERY) => ("200 OK", self.discovery.clone()),
                ("GET", "/jwks") => ("200 OK", self.jwks.clone()),
                ("POST", "/token") => ("200 OK", self.tokens(&body)),
                _ => ("404 Not Found", "{}".to_owned()),
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
                 cache-control: no-store\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if writer.write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
    }

    /// The token endpoint's answer: an ID token for the user `stub-user`
    /// with the nonce of the form's `code` (a placeholder for an unknown
    /// code, so that the floor's request costs the stub the same).
    fn tokens(&self, form: &[u8]) -> String {
        let form = std::str::from_utf8(form).unwrap();
        let code = form
            .split('&')
            .find_map(|pair| pair.strip_prefix("code="))
            .unwrap_or_default();
        let nonce = self.nonces.lock().unwrap().remove(code);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = IdClaims {
            iss: &self.issuer,
            sub: "stub-user",
            aud: CLIENT_ID,
            exp: now + 300,
            iat: now,
            nonce: nonce.as_deref().unwrap_or("no-such-code"),
            email: "oauth-user@example.com",
            email_verified: true,
            name: "Olivia Auth",
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(KID.to_owned());
        let id_token = jsonwebtoken::encode(&header, &claims, &self.key).unwrap();
        serde_json::json!({
            "access_token": "stub-access-token",
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": id_token,
        })
        .to_string()
    }

    fn hits(&self, path: &str) -> u64 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// One HTTP/1.1 request's method, path and body; `None` at the end of
/// the connection.
fn read_request(reader: &mut impl BufRead) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.split('?').next()?.to_owned();
    let length = read_head(reader)?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

/// Reads header lines up to the blank one: the `Content-Length`.
fn read_head(reader: &mut impl BufRead) -> Option<usize> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Some(length);
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
}

/// The floor: a POST to the stub's token endpoint over a kept-alive std
/// `TcpStream`, shaped like the callback's (Basic auth, the same form).
struct RawClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    request: Vec<u8>,
}

impl RawClient {
    fn new(stub: &Stub) -> Self {
        let address = stub.issuer.trim_start_matches("http://");
        let writer = TcpStream::connect(address).unwrap();
        writer.set_nodelay(true).unwrap();
        let reader = BufReader::new(writer.try_clone().unwrap());
        let form = format!(
            "grant_type=authorization_code&code=code-floor&redirect_uri={}&code_verifier={}",
            "https%3A%2F%2Ftasks.example.com%2Fapi%2Fauth%2Foauth%2Fbench%2Fcallback",
            "x".repeat(43)
        );
        let request = format!(
            "POST /token HTTP/1.1\r\nhost: {address}\r\naccept: application/json\r\n\
             content-type: application/x-www-form-urlencoded\r\n\
             authorization: Basic Y2xpZW50OnNlY3JldA==\r\ncontent-length: {}\r\n\r\n{form}",
            form.len()
        );
        Self {
            reader,
            writer,
            request: request.into_bytes(),
        }
    }

    /// One request and its whole answer; the answer's length.
    fn round_trip(&mut self) -> usize {
        self.writer.write_all(&self.request).unwrap();
        let mut status = String::new();
        self.reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let length = read_head(&mut self.reader).unwrap();
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        body.len()
    }
}

/// The service, the stub, and the codes handed out so far.
struct Bench {
    auth: AuthService,
    stub: Arc<Stub>,
    /// The callback's `iss`, form-encoded.
    iss: String,
    codes: AtomicU64,
    sign_ins: AtomicU64,
}

/// A started sign-in: the state cookie and the callback's query.
struct Started {
    cookie: String,
    query: String,
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers()
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("no {name} in a {} reply", reply.status()))
}

impl Bench {
    /// A route as an adapter runs it, with no peer address: the
    /// per-client limit, which would refuse a bench's rate, is skipped.
    async fn call(&self, method: Method, path: &str, request: Request, body: &[u8]) -> Reply {
        let route = endpoint::find(method, path).unwrap();
        match route.prepare(&self.auth, request).await {
            Ok(call) => call.run(&self.auth, body.to_vec()).await,
            Err(reply) => reply,
        }
    }

    async fn authorize_reply(&self) -> Reply {
        let request = Request::new(None).path_param(PROVIDER);
        let reply = self
            .call(Method::Get, "/oauth/{provider}/authorize", request, b"")
            .await;
        assert_eq!(reply.status(), 302);
        reply
    }

    /// `authorize`, and the nonce it sent handed to the stub under a new
    /// code.
    async fn authorize(&self) -> Started {
        let reply = self.authorize_reply().await;
        let location = header(&reply, "location");
        let param = |name: &str| {
            location
                .split(['?', '&'])
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("no {name} in {location}"))
        };
        let code = format!("code-{}", self.codes.fetch_add(1, Ordering::Relaxed));
        self.stub
            .nonces
            .lock()
            .unwrap()
            .insert(code.clone(), param("nonce").to_owned());
        let query = format!("code={code}&state={}&iss={}", param("state"), self.iss);
        let cookie = header(&reply, "set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Started { cookie, query }
    }

    /// The callback: the exchange code it ended with.
    async fn callback(&self, started: Started) -> String {
        let request = Request::new(None)
            .path_param(PROVIDER)
            .query(&started.query)
            .header("cookie", started.cookie.as_bytes());
        let reply = self
            .call(Method::Get, "/oauth/{provider}/callback", request, b"")
            .await;
        let location = header(&reply, "location");
        self.sign_ins.fetch_add(1, Ordering::Relaxed);
        location
            .split_once("#code=")
            .unwrap_or_else(|| panic!("the callback ended at {location}"))
            .1
            .to_owned()
    }

    async fn exchange(&self, code: &str) -> Reply {
        let request = Request::new(None).header("content-type", b"application/json");
        let body = format!(r#"{{"code":"{code}"}}"#);
        let reply = self
            .call(Method::Post, "/oauth/exchange", request, body.as_bytes())
            .await;
        assert_eq!(reply.status(), 200);
        reply
    }

    async fn sign_in(&self) -> Reply {
        let started = self.authorize().await;
        let code = self.callback(started).await;
        self.exchange(&code).await
    }

    async fn password_sign_in(&self) -> Reply {
        let request = Request::new(None).header("content-type", b"application/json");
        let body = format!(r#"{{"email":"{EMAIL}","password":"{PASSWORD}"}}"#);
        let reply = self
            .call(Method::Post, "/sign-in", request, body.as_bytes())
            .await;
        assert_eq!(reply.status(), 200);
        reply
    }
}

/// CPU time of every live thread of this process (the stub's included),
/// from `/proc/self/task/*/schedstat`; `None` where there is none.
fn cpu_time() -> Option<Duration> {
    let mut nanos = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(nanos))
}

/// Sign-ins and floor round trips, alternated, counted in CPU time rather
/// than wall time: waiting for a core on a busy machine is not counted, so
/// this difference holds better than criterion's when the machine is
/// shared. The stub's work is in both, and cancels.
fn cpu_per_sign_in(runtime: &tokio::runtime::Runtime, bench: &Bench, raw: &mut RawClient) {
    const ROUNDS: u32 = 2000;
    if cpu_time().is_none() {
        return;
    }
    // Warm up: the bench before this one was neither.
    for _ in 0..ROUNDS / 4 {
        runtime.block_on(bench.sign_in());
        black_box(raw.round_trip());
    }
    for round in 1..=2 {
        let start = cpu_time().unwrap();
        for _ in 0..ROUNDS {
            runtime.block_on(bench.sign_in());
        }
        let signed_in = cpu_time().unwrap();
        for _ in 0..ROUNDS {
            black_box(raw.round_trip());
        }
        let floor = (cpu_time().unwrap() - signed_in) / ROUNDS;
        let sign_in = (signed_in - start) / ROUNDS;
        println!(
            "CPU time, round {round} of 2 ({ROUNDS} each): sign-in {sign_in:.1?}, floor {floor:.1?}, \
             the sign-in's own {:.1?}",
            sign_in.saturating_sub(floor)
        );
    }
}

fn oauth(c: &mut Criterion) {
    // A blocking thread (the sign-up's hash) must outlive the bench, so
    // that `cpu_time` never loses one.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_keep_alive(Duration::from_secs(3600))
        .build()
        .unwrap();
    let stub = Stub::start();
    let auth = AuthService::with_store(MemoryStore::new())
        .token_codec(
            JwtCodec::hs256(b"benchmark-secret-of-at-least-32-bytes", PUBLIC, PUBLIC).unwrap(),
        )
        .oauth(OAuth::new(PUBLIC).provider(OAuthProvider::openid(
            PROVIDER,
            &stub.issuer,
            CLIENT_ID,
            ClientSecret::new("secret"),
        )))
        .build()
        .unwrap();
    let bench = Bench {
        iss: stub.issuer.replace(':', "%3A").replace('/', "%2F"),
        auth,
        stub: Arc::clone(&stub),
        codes: AtomicU64::new(0),
        sign_ins: AtomicU64::new(0),
    };
    // The first sign-in discovers the provider, fetches the JWKS and makes
    // the account; every later one is a returning user's. A password for
    // the scale figure, on another account.
    runtime.block_on(async {
        bench.sign_in().await;
        bench
            .auth
            .sign_up(SignUpRequest {
                email: EMAIL.into(),
                password: Password::new(PASSWORD),
                name: None,
            })
            .await
            .unwrap();
    });
    assert_eq!((stub.hits(DISCOVERY), stub.hits("/jwks")), (1, 1));

    let mut group = c.benchmark_group("oauth");
    group.bench_function("authorize", |b| {
        b.iter(|| runtime.block_on(bench.authorize_reply()));
    });
    group.bench_function("callback (one token round trip)", |b| {
        b.iter_batched(
            || runtime.block_on(bench.authorize()),
            |started| runtime.block_on(bench.callback(started)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("exchange", |b| {
        b.iter_batched(
            || {
                runtime.block_on(async {
                    let started = bench.authorize().await;
                    bench.callback(started).await
                })
            },
            |code| runtime.block_on(bench.exchange(&code)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("sign-in: authorize + callback + exchange", |b| {
        b.iter(|| runtime.block_on(bench.sign_in()));
    });
    let mut raw = RawClient::new(&stub);
    group.bench_function("floor: token endpoint round trip (std TcpStream)", |b| {
        b.iter(|| black_box(raw.round_trip()));
    });
    // Part of the callback's own work, alone: the ID token's signature
    // and claims checked by jsonwebtoken with the stub's public key.
    let answer: serde_json::Value = serde_json::from_str(&stub.tokens(b"code=none")).unwrap();
    let id_token = answer["id_token"].as_str().unwrap().to_owned();
    let public = DecodingKey::from_ed_pem(ED_PUBLIC).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&stub.issuer]);
    validation.set_audience(&[CLIENT_ID]);
    group.bench_function("raw jsonwebtoken::decode of the ID token (EdDSA)", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(black_box(&id_token), &public, &validation)
                .unwrap()
        });
    });
    group.finish();
    cpu_per_sign_in(&runtime, &bench, &mut raw);

    let mut group = c.benchmark_group("password");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("sign-in (Argon2id, default parameters)", |b| {
        b.iter(|| runtime.block_on(bench.password_sign_in()));
    });
    group.finish();

    let (discovery, jwks) = (stub.hits(DISCOVERY), stub.hits("/jwks"));
    println!(
        "stub provider: {} OAuth sign-ins (callbacks) ran; token endpoint {} POSTs \
         (floor's included), discovery {discovery}, JWKS {jwks}, over {} connections",
        bench.sign_ins.load(Ordering::Relaxed),
        stub.hits("/token"),
        stub.connections.load(Ordering::Relaxed),
    );
    assert_eq!(
        discovery, 1,
        "discovery must be fetched once, not per sign-in"
    );
    assert_eq!(jwks, 1, "the JWKS must be fetched once, not per sign-in");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = oauth
}
criterion_main!(benches);
