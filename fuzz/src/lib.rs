//! What the fuzz targets share: the codecs and services they attack, the
//! clock they run at, and the checks every answer must pass.
//!
//! The invariants checked here are the project's rules for bad input: a
//! clear 4xx, never a panic and never a 5xx, and no error detail that
//! quotes the request.

use auth_core::http::HttpError;
use std::sync::OnceLock;

use auth_core::{
    AuthError, AuthService, JwtCodec, JwtKey, MemoryStore, Password, SignUpRequest,
    clock::ManualClock,
    password::{Argon2Hasher, Argon2Params},
    problem::Problem,
    token::{AccessClaims, TokenCodec},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use time::OffsetDateTime;

/// The `iss` every codec here issues and requires.
pub const ISSUER: &str = "https://api.example.com";
/// The `aud` every codec here issues and requires.
pub const AUDIENCE: &str = "todo";
/// The HS256 secret of the `hs` key.
pub const SECRET: &[u8] = b"fuzzing secret, at least 32 bytes long";
/// The instant every check runs at (2027-01-15), so a crash replays alike.
pub const NOW: i64 = 1_800_000_000;
/// The leeway [`JwtCodec`] uses unless told otherwise.
pub const LEEWAY_SECS: i64 = 30;

/// An Ed25519 key pair made for these targets only (never used elsewhere).
pub const ED25519_PRIVATE_PEM: &[u8] = b"-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINMrDe6z4DmyHhS8NTn9Chyj4ZMeIldkYlb0IV6pKkQD
-----END PRIVATE KEY-----
";
/// The public half of [`ED25519_PRIVATE_PEM`].
pub const ED25519_PUBLIC_PEM: &[u8] = b"-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAL7vlJCrc2KTmjOusYteZda/9npTlhMO+AIoLXXJ2YW0=
-----END PUBLIC KEY-----
";

/// [`NOW`] as the codec's argument.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

/// A codec with the one HS256 key (kid `default`): the common set-up, in
/// which the header is not parsed before the signature check.
pub fn single_key_codec() -> JwtCodec {
    JwtCodec::hs256(SECRET, ISSUER, AUDIENCE).unwrap()
}

/// A key set: `hs` (HS256, signs) and `ed` (Ed25519), so the `kid` header is
/// parsed and picks the key, and an HS256 token "signed" with the Ed25519
/// public key (algorithm confusion) can be tried.
pub fn key_set_codec() -> JwtCodec {
    JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(JwtKey::hs256("hs", SECRET).unwrap())
        .key(JwtKey::ed25519_pem("ed", ED25519_PRIVATE_PEM, ED25519_PUBLIC_PEM).unwrap())
        .signing_key("hs")
        .build()
        .unwrap()
}

/// `header.claims.signature`, base64url without padding, with an HS256
/// signature made with `secret`: lets the fuzzer choose the JSON of both
/// halves and still get past the signature check.
pub fn hs256_token(header: &[u8], claims: &[u8], secret: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// What a verified token's claims must satisfy, whatever the input was.
pub fn check_accepted_claims(codec: &JwtCodec, claims: &AccessClaims) {
    assert_eq!(claims.iss, ISSUER, "a token of another issuer was accepted");
    assert_eq!(
        claims.aud, AUDIENCE,
        "a token for another audience was accepted"
    );
    assert!(
        claims.exp.saturating_add(LEEWAY_SECS) > NOW,
        "an expired token was accepted: {claims:?}"
    );
    assert!(
        claims.iat <= NOW + LEEWAY_SECS,
        "a token issued in the future was accepted: {claims:?}"
    );
    assert!(
        claims.nbf.is_none_or(|nbf| nbf <= NOW + LEEWAY_SECS),
        "a token not valid yet was accepted: {claims:?}"
    );
    // What was accepted, issued again, reads back the same (but for a
    // token id, which a codec may mint afresh on every issue).
    let reissued = codec
        .issue(claims)
        .expect("accepted claims can be issued again");
    let again = codec
        .verify(&reissued, now())
        .expect("a re-issued token verifies");
    assert_eq!(
        without_jti(&again),
        without_jti(claims),
        "claims changed on the way through a token"
    );
}

fn without_jti(claims: &AccessClaims) -> serde_json::Value {
    let mut json = serde_json::to_value(claims).unwrap();
    if let Some(object) = json.as_object_mut() {
        object.remove("jti");
    }
    json
}

/// A verification error must be one of the two token errors (a 401).
pub fn check_token_error(err: &AuthError) {
    assert!(
        matches!(err, AuthError::InvalidToken | AuthError::TokenExpired),
        "unexpected verification error {err:?}"
    );
    assert_eq!(HttpError::status_for(&err), 401);
}

/// The error of [`auth_core::http::parse_json`] for a body that is not
/// what the route takes: 400 or 415, and a `detail` that quotes nothing.
pub fn check_parse_error(problem: &Problem) {
    assert!(
        matches!(problem.status, 400 | 415),
        "parse error with status {}",
        problem.status
    );
    let detail = problem.detail.as_str();
    let fixed = [
        "the body is not valid JSON",
        "the body must be a JSON object",
        "a field has the wrong type or value",
    ];
    let names_a_field = detail
        .strip_prefix("the field `")
        .and_then(|rest| rest.split_once('`'))
        .is_some_and(|(name, tail)| {
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && matches!(tail, " is missing" | " appears more than once")
        });
    assert!(
        problem.status == 415 || fixed.contains(&detail) || names_a_field,
        "the detail may quote the body: {detail:?}"
    );
}

/// An error the service gave for client input: never a server error.
pub fn check_client_error(err: &AuthError) {
    assert!(
        HttpError::status_for(&err) < 500,
        "client input caused a server error: {err:?}"
    );
}

/// The runtime the async targets run on (one thread: inputs replay alike).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// The password of [`USER_EMAIL`] in [`fresh_service`].
pub const USER_PASSWORD: &str = "fuzzing password 7f3a9c";
/// The one account [`fresh_service`] starts with.
pub const USER_EMAIL: &str = "ada@example.com";

/// Argon2id with its smallest parameters: the fuzzing is of the input
/// handling, and the default 19 MiB would cut the runs a hundredfold.
pub fn small_hasher() -> Argon2Hasher {
    Argon2Hasher::new(
        Argon2Params {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        },
        1,
    )
    .unwrap()
}

/// A service over an empty in-memory store with one signed-up user, built
/// anew for each input so that no input depends on an earlier one. Hashing
/// uses Argon2id's smallest parameters: the fuzzing is of the input
/// handling, and the default 19 MiB would cut the runs a hundredfold.
///
/// Returns the service and the user's refresh token.
pub async fn fresh_service() -> (AuthService, String) {
    let store = MemoryStore::new();
    let hasher = small_hasher();
    let service = AuthService::builder(store.clone(), store)
        .token_codec(single_key_codec())
        .password_hasher(hasher)
        .clock(ManualClock::new(now()))
        .build()
        .unwrap();
    let signed_up = service
        .sign_up(SignUpRequest {
            email: USER_EMAIL.into(),
            password: Password::new(USER_PASSWORD),
            name: Some("Ada".into()),
        })
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    let refresh = signed_up.refresh_token.expose_secret().to_owned();
    (service, refresh)
}

/// The content type every body target sends.
pub const JSON: Option<&[u8]> = Some(b"application/json");

/// The example's app (auth service and task store) on a private in-memory
/// SQLite database, with one user and one task of theirs; built once per
/// process, as a server does at start-up.
pub struct TaskFixture {
    /// The auth service and the task store.
    pub app: task_app::App,
    /// The user whose tasks the inputs create and update.
    pub user: auth_core::UserId,
    /// A task of that user's.
    pub task_id: i64,
}

/// See [`TaskFixture`].
pub fn task_fixture() -> &'static TaskFixture {
    static FIXTURE: OnceLock<TaskFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        runtime().block_on(async {
            let config = task_app::Config::from_lookup(|name| match name {
                "DATABASE_URL" => Some("sqlite::memory:".to_owned()),
                "JWT_SECRET" => Some(String::from_utf8_lossy(SECRET).into_owned()),
                _ => None,
            })
            .unwrap();
            let app = task_app::App::start(&config).await.unwrap();
            let user = app
                .auth()
                .unwrap()
                .sign_up(SignUpRequest {
                    email: USER_EMAIL.into(),
                    password: Password::new(USER_PASSWORD),
                    name: None,
                })
                .await
                .and_then(auth_core::SignUp::signed_in)
                .unwrap()
                .user
                .id;
            let task_id = app
                .tasks
                .create(
                    &user,
                    task_app::tasks::NewTask {
                        title: "the first task".into(),
                        description: None,
                    },
                )
                .await
                .unwrap()
                .id;
            TaskFixture { app, user, task_id }
        })
    })
}

/// What a stored task must look like, whatever body made it.
pub fn check_stored_task(task: &task_app::tasks::Task) {
    use task_app::tasks::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};
    assert_eq!(
        task.title,
        task.title.trim(),
        "the title was stored untrimmed"
    );
    let title_chars = task.title.chars().count();
    assert!(
        (1..=MAX_TITLE_CHARS).contains(&title_chars),
        "title of {title_chars} chars"
    );
    assert!(
        task.description
            .as_ref()
            .is_none_or(|text| text.chars().count() <= MAX_DESCRIPTION_CHARS),
        "description over the limit"
    );
    assert!(task.updated_at >= task.created_at);
}

/// A task-route error for a client's body: 422 (or 404 for a missing task),
/// never a server error.
pub fn check_task_error(err: &auth_core::http::HttpError) {
    assert!(
        matches!(err.status(), 404 | 422),
        "a task body was answered with {err}"
    );
}
