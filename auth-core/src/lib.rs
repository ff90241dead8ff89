//! The framework-agnostic core of a Rust authentication library: sign-up,
//! sign-in, short-lived JWT access tokens, rotating refresh tokens,
//! sign-out, per-request authentication, and the account flows around
//! them (password change and reset, email verification and change,
//! sessions, account deletion; see [`AccountFlows`]).
//!
//! No web framework and no database here: those live in `auth-axum`,
//! `auth-actix` and `auth-sqlx`, which build on the traits of this crate.
//!
//! | piece | trait | provided |
//! |---|---|---|
//! | users | [`UserStore`] | [`MemoryStore`]; SQL stores in `auth-sqlx` |
//! | sessions | [`SessionStore`] | [`MemoryStore`]; SQL stores in `auth-sqlx` |
//! | passwords | [`PasswordHasher`] | [`Argon2Hasher`] (Argon2id, OWASP parameters) |
//! | access tokens | [`TokenCodec`] | [`JwtCodec`] (HS256 by default, EdDSA, key sets with `kid`) |
//! | one-time tokens (reset, verification, your own links) | [`OneTimeTokenStore`] | [`MemoryStore`]; SQL stores in `auth-sqlx` |
//! | what sign-in methods keep (codes, identities, keys) | [`CredentialStore`] | [`MemoryStore`]; SQL stores in `auth-sqlx` |
//! | mail | [`Mailer`] | [`OutboxMailer`] (a folder, for development); `SmtpMailer` (feature `smtp`) |
//! | mail waiting to be sent (a crash does not lose it; see [`mail`]) | [`MailQueue`](store::MailQueue) | [`MemoryStore`]; SQL stores in `auth-sqlx` |
//! | account events | [`AccountHooks`] | none (do nothing) |
//! | time | [`Clock`] | [`SystemClock`], [`ManualClock`] for tests |
//!
//! Every trait is object safe, so an application can hold `Arc<dyn …>`.
//!
//! # The whole flow
//!
//! ```
//! use auth_core::{
//!     AuthError, AuthService, JwtCodec, MemoryStore, Password, SignInRequest, SignUpRequest,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), AuthError> {
//! let store = MemoryStore::new();
//! # let clock = auth_core::clock::ManualClock::new(time::OffsetDateTime::now_utc());
//! let auth = AuthService::with_store(store)
//!     .token_codec(JwtCodec::hs256(
//!         b"load me from the environment, 32+ bytes",
//!         "https://api.example.com",
//!         "todo-app",
//!     )?)
//! #   .clock(clock.clone())
//!     .build()?;
//!
//! // Sign up: a user, a session, an access token and a refresh token.
//! let signed_up = auth
//!     .sign_up(SignUpRequest {
//!         email: "Ada@Example.com".into(),
//!         password: Password::new("correct horse battery staple"),
//!         name: Some("Ada".into()),
//!     })
//!     .await?.signed_in()?;
//! assert_eq!(signed_up.user.email.as_str(), "ada@example.com");
//!
//! // Sign in: same error for an unknown email and a wrong password.
//! let wrong = auth
//!     .sign_in(SignInRequest {
//!         email: "ada@example.com".into(),
//!         password: Password::new("wrong password"),
//!     })
//!     .await;
//! assert!(matches!(wrong, Err(AuthError::InvalidCredentials)));
//! // With a second factor registered and enabled for the user, this would
//! // be a challenge instead (`auth_core::sign_in::SignIn`).
//! let session = auth
//!     .sign_in(SignInRequest {
//!         email: "ada@example.com".into(),
//!         password: Password::new("correct horse battery staple"),
//!     })
//!     .await?
//!     .signed_in()?;
//!
//! // Every request: the access token says who is asking.
//! let principal = auth.authenticate(session.access_token.expose_secret()).await?;
//! assert_eq!(principal.user_id(), &signed_up.user.id);
//!
//! // Refresh rotates the refresh token; the old one is used up.
//! let refreshed = auth.refresh(session.refresh_token.expose_secret()).await?;
//! assert_ne!(refreshed.refresh_token, session.refresh_token);
//! // Presented again within the reuse interval (10 s), as by a second tab,
//! // the old one gets another pair of the same session.
//! let second_tab = auth.refresh(session.refresh_token.expose_secret()).await?;
//! assert_ne!(second_tab.refresh_token, refreshed.refresh_token);
//! // Presented after it, the old one means a copy exists: the whole
//! // session is revoked, including the tokens the refreshes issued.
//! # clock.advance(time::Duration::seconds(11));
//! let replay = auth.refresh(session.refresh_token.expose_secret()).await;
//! assert!(matches!(replay, Err(AuthError::RefreshTokenReused)));
//! let after = auth.authenticate(refreshed.access_token.expose_secret()).await;
//! assert!(matches!(after, Err(AuthError::SessionRevoked)));
//!
//! // Sign-out revokes a session's refresh token and its access tokens.
//! let principal = auth.authenticate(signed_up.access_token.expose_secret()).await?;
//! auth.sign_out(&principal).await?;
//! let gone = auth.authenticate(signed_up.access_token.expose_secret()).await;
//! assert!(matches!(gone, Err(AuthError::SessionRevoked)));
//! # Ok(()) }
//! ```
//!
//! # Errors for HTTP
//!
//! [`AuthError`] is the one error type of the flows; it says what went
//! wrong, not how to answer it. The one table from it to HTTP (status,
//! stable `code`, `WWW-Authenticate`, `Retry-After`) is
//! [`http::HttpError`]'s, rendered as RFC 9457 problem details
//! ([`problem::Problem`]). Framework adapters add no auth errors of their
//! own; their HTTP-level ones (400, 404, 405, 413, 415) come from the
//! constructors on [`problem::Problem`], with the codes in
//! [`problem::codes`], so every adapter answers alike. The [`http`] module
//! holds the rest of what adapters share: bearer-token parsing and JSON
//! body checks.
//!
//! # Security defaults
//!
//! * Argon2id with m = 19 456 KiB, t = 2, p = 1; hashes upgraded on sign-in
//!   when the parameters are raised.
//! * Sign-in answers an unknown email and a wrong password with the same
//!   error in about the same time, and after 10 failed attempts for one
//!   address in 15 minutes answers [`AuthError::TooManyAttempts`] until the
//!   window ends ([`SignInThrottle`], which also says what that costs);
//!   100 such failures lock the account until 24 h after the first of them
//!   (NIST SP 800-63B's cap).
//! * The auth routes allow each client address 60 requests a minute
//!   ([`ClientRateLimit`]); forwarding headers count only from
//!   [trusted proxies](client_ip::TrustedProxies). Both limits count in a
//!   [`RateLimiter`]: this process's memory by default, or a shared store
//!   (`auth-redis`) so that several instances share one budget.
//! * HS256 secrets of at least 32 bytes; the algorithm is pinned per key.
//! * Refresh tokens: 256 bits from the OS CSPRNG, stored as SHA-256 only,
//!   rotated on every use, 30-day absolute lifetime; replaying a rotated
//!   one revokes the session, unless within the 10 s reuse interval of its
//!   rotation ([`AuthServiceBuilder::refresh_reuse_interval`]).
//!
//!   The reuse interval (Auth0's "reuse interval", Okta's "grace period
//!   for token rotation") trades some theft detection for clients that
//!   work: several tabs refreshing at once, a response lost on a flaky
//!   network and retried, all get a new pair of the same session (up to
//!   [`service::MAX_REFRESH_REUSES`] per token)
//!   instead of signing the user out everywhere. What it gives up: a
//!   thief who replays a stolen refresh token within those seconds gets a
//!   pair too, and nothing is revoked; replays after it are still caught.
//!   `refresh_reuse_interval(Duration::ZERO)` is strict rotation.
//! * Each session keeps the user agent and address of the client that
//!   opened or last refreshed it, and when ([`store::SessionClient`]), so
//!   that [`AuthService::list_sessions`] tells sessions apart; they are
//!   personal data, and
//!   [`AuthServiceBuilder::session_client_info`] switches them off.
//! * API keys (feature `api-keys`, opt-in): 256 random bits, stored as
//!   SHA-256 only (a fast hash: nothing to guess in 256 bits, and a slow
//!   one would cost every request); accepted by the application's routes
//!   and `GET /me` only, never to manage the account; they outlive
//!   sign-out and a password reset, and end when deleted, when they
//!   expire or with their user (see `service::ApiKeys` for why).
//! * Passwords, hashes, tokens and keys are redacted in `Debug`; passwords
//!   and refresh tokens are zeroed on drop.
//!
//! # Why this crate depends on tokio
//!
//! An Argon2id hash costs tens of milliseconds of CPU. Run on an async
//! worker thread it would stall every other request on that thread, so
//! [`Argon2Hasher`] moves it to tokio's blocking pool (`spawn_blocking`) and
//! bounds how many run at once with a tokio semaphore. Only tokio's `rt` and
//! `sync` features are used, no I/O; both framework adapters run on tokio
//! anyway. Outside a tokio runtime, each hash gets a thread of its own, so
//! it neither panics nor blocks another executor.
//!
//! # Debug builds and password hashing
//!
//! Argon2 compiled without optimisation is 10 to 30 times slower: in a
//! debug build (`cargo run`) every sign-up and sign-in then takes about
//! half a second instead of a few tens of milliseconds. Cargo applies only
//! the profile of the package being built, so an application must ask for
//! the optimised hash crates itself, in its own `Cargo.toml` (or its
//! workspace's):
//!
//! ```toml
//! [profile.dev.package.argon2]
//! opt-level = 3
//!
//! [profile.dev.package.blake2]
//! opt-level = 3
//! ```
//!
//! Until they are there, [`Argon2Hasher`] says so once per process, in a
//! `tracing` warning, when a hash of a debug build of this crate takes over
//! 150 ms (scaled to the default cost). Applications that import bcrypt or
//! Better Auth hashes add `blowfish`, `bcrypt`, `scrypt` and `salsa20` the
//! same way.
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rust-crypto` | yes | JWT signatures with the pure-Rust RustCrypto crates (no RS256 signing: RUSTSEC-2023-0071) |
//! | `aws-lc-rs` | no | JWT signatures with aws-lc-rs, RS256 included (wins when both are on) |
//! | `testing` | no | the store conformance suite and a software passkey authenticator (`testing` module) |
//! | `openapi` | no | `utoipa` schemas for the API types and the auth endpoints' OpenAPI description (`openapi` module) |
//! | `smtp` | no | `SmtpMailer`: the account messages through an SMTP server (lettre; rustls with aws-lc-rs, Mozilla roots) |
//! | `remote-jwks` | no | `RemoteJwks`: another issuer's keys fetched from its JWKS URL and kept fresh, for [`Verifier::trusted`] (reqwest with rustls) |
//! | `oauth` | no | sign-in with OAuth 2.0 / OpenID Connect providers and GitHub (`service::OAuth`), over `remote-jwks`'s client; provider tokens sealed with XChaCha20-Poly1305 when kept |
//! | `two-factor` | no | TOTP and backup codes as second factors (`service::TwoFactor`; totp-rs, the secret sealed with XChaCha20-Poly1305, the QR code drawn by `qrcode`) |
//! | `passkeys` | no | passkeys (WebAuthn) as a sign-in method (`service::Passkeys`): usernameless, ES256 / EdDSA / RS256 checked with the RustCrypto crates above, CBOR read by `ciborium` |
//! | `api-keys` | no | API keys for scripts and services (`service::ApiKeys`): keys a signed-in user makes and deletes, taken by [`Verifier::authenticate`] and `GET /me`, refused by every other auth route; kept as SHA-256, no new dependency |
//!
//! See the [`token`] module for how the crypto backend is chosen.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account_api;
pub mod api;
mod argon2id;
pub mod client_ip;
pub mod clock;
mod common_passwords;
mod credential;
mod email;
pub mod endpoint;
pub mod error;
pub mod hooks;
pub mod http;
mod id;
mod legacy;
pub mod limits;
pub mod mail;
mod memory;
mod one_time;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub mod openapi;
pub mod password;
pub mod problem;
mod rate_limit;
#[cfg(any(feature = "oauth", feature = "two-factor"))]
mod sealing;
pub mod service;
mod session;
mod session_cache;
pub mod sign_in;
pub mod store;
mod throttle;
pub mod token;
mod user;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
// Public as `testing::{Hook, Hooked}`; the unit tests wrap stores with it
// whether or not `testing` is on.
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub, dead_code))]
#[path = "testing/hooked.rs"]
mod hooked;

// What a user types in the first hour; everything else by module path.
pub use api::{AuthResponse, RefreshRequest, SignInRequest, SignUp, SignUpRequest};
pub use async_trait::async_trait;
pub use email::Email;
pub use error::AuthError;
pub use id::{SessionId, UserId};
pub use mail::OutboxMailer;
pub use memory::MemoryStore;
pub use password::Password;
#[cfg(any(feature = "oauth", feature = "two-factor"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "oauth", feature = "two-factor"))))]
pub use sealing::EncryptionKey;
pub use service::{AccountFlows, AuthService, EmailSignIn, Principal, Verifier};
pub use sign_in::SignIn;
#[cfg(feature = "remote-jwks")]
pub use token::RemoteJwks;
pub use token::{JwtAlgorithm, JwtCodec, JwtKey};
pub use user::User;

// The crate's own short paths to the rest.
#[allow(unused_imports)]
pub(crate) use {
    account_api::{
        ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest, PasswordResetRequest,
        ResetPasswordRequest, SendVerificationRequest, SessionInfo, UpdateNameRequest,
        VerifyEmailRequest,
    },
    api::{AccessToken, MeResponse, VerificationRequired},
    argon2id::{Argon2Hasher, Argon2Params},
    clock::{Clock, ManualClock, SystemClock},
    credential::{Credential, CredentialId, CredentialKind, NewCredential},
    error::BoxError,
    hooks::AccountHooks,
    mail::{Mailer, Message, MessageKind, MessageLink},
    one_time::{NewOneTimeToken, OneTimeToken, OneTimeTokenRecord, TokenPurpose},
    password::{PasswordHash, PasswordHasher, PasswordPolicy, Verification},
    rate_limit::{
        ClientRateLimit, DEFAULT_MAX_TRACKED_KEYS, Decision, MemoryRateLimiter, RateLimiter,
    },
    service::{
        AuthServiceBuilder, CustomClaims, DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_EMAIL_SIGN_IN_TTL,
        DEFAULT_EMAIL_VERIFICATION_TTL, DEFAULT_MAIL_CLIENT_LIMIT, DEFAULT_MAIL_RATE_LIMIT,
        DEFAULT_MAX_NAME_CHARS, DEFAULT_PASSWORD_RESET_TTL, DEFAULT_REFRESH_REUSE_INTERVAL,
        DEFAULT_SESSION_TTL, EmailSignInRequest, EmailSignInVerifyRequest, ImportedUser,
        MAX_ACCESS_TOKEN_TTL, MAX_REFRESH_REUSE_INTERVAL, MAX_REFRESH_REUSES,
        MAX_SESSION_CACHE_TTL, MAX_SESSION_TTL, MAX_WRONG_EMAIL_CODES,
    },
    session::{
        NewSession, RefreshToken, RefreshTokenHash, RefreshTokenMatch, Session, SessionClient,
        TokenHash,
    },
    store::{CredentialStore, OneTimeTokenStore, SessionStore, UserStore},
    throttle::{DEFAULT_LOCKOUT, MAX_LOCKOUT_FAILURES, SignInThrottle},
    token::{AccessClaims, IssuerKeys, Jwks, JwtCodecBuilder, TokenCodec, TrustedIssuer},
    user::{NewUser, UserRecord},
};

/// Versions of the crates that appear in this crate's public API, so that
/// store and adapter authors use the same ones.
pub mod reexports {
    pub use serde_json;
    pub use time;
}

// The README shown on crates.io: its example is compiled as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
