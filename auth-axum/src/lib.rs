//! [axum] 0.8 glue for [`auth_core`]: an extractor for the signed-in user,
//! ready-made auth routes, and errors rendered as RFC 9457 problem+json.
//!
//! Everything that is not axum-specific (token parsing, body rules, the
//! error table) lives in `auth-core`, so this crate and `auth-actix` answer
//! every request alike.
//!
//! # Add auth to your axum app
//!
//! ```no_run
//! use auth_axum::{Authenticated, auth_core::{AuthService, JwtCodec, MemoryStore}};
//! use axum::{Router, routing::get};
//!
//! async fn whoami(Authenticated(principal): Authenticated) -> String {
//!     format!("hello, user {}", principal.user_id())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let store = MemoryStore::new(); // or auth_sqlx::SqliteStore / PostgresStore
//!     let secret = std::env::var("JWT_SECRET")?; // 32+ bytes
//!     let auth = AuthService::with_store(store)
//!         .token_codec(JwtCodec::hs256(secret.as_bytes(), "my-api", "my-app")?)
//!         .build()?;
//!
//!     let app = Router::new()
//!         .route("/whoami", get(whoami)) // 401 problem+json without a valid token
//!         .merge(auth_axum::routes("/api/auth", &auth)) // every auth route: see below
//!         .fallback(auth_axum::not_found)
//!         .layer(axum::middleware::map_response(auth_axum::problem_for_bare_errors))
//!         .with_state(auth);
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     // With the peer addresses, which the per-client rate limit keys on.
//!     let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! The state is the [`AuthService`](auth_core::AuthService) itself, or your
//! own state type implementing [`AuthState`]. A backend that trusts another
//! issuer (a Better Auth front end) uses a
//! [`Verifier::trusted`](auth_core::Verifier::trusted) as its state instead:
//! it has no `AuthService`, so [`routes`] cannot be mounted there.
//!
//! # What the routes answer
//!
//! The routes are the entries of
//! [`auth_core::endpoint::endpoints`], which
//! this crate mounts through one handler, every one of them (40
//! with all of auth-core's features). The
//! [route table](auth_core::endpoint#routes) lists them, with who may call
//! each and what the service must have set up for it: password reset and
//! email verification, say, answer 404 until the service has
//! [account flows](auth_core::service::AuthServiceBuilder::account_flows) (a mailer
//! and the base of the mailed links). The OpenAPI document
//! (`auth_core::openapi::AuthApi`, auth-core's `openapi` feature) is generated from
//! the same list. The HTTP contract is the repository's
//! [`docs/api-contract.md`](https://github.com/auth-core/auth-core/blob/main/docs/api-contract.md).
//!
//! Any route may also answer 503 when the store cannot be reached (and,
//! never on purpose, 500), always without internals in the body.
//!
//! Token responses carry `Cache-Control: no-store`; every error is
//! `application/problem+json` with a stable `code` (the table is
//! [`HttpError`](auth_core::http::HttpError)'s and
//! [`problem::codes`](auth_core::problem::codes)'s).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authenticated;
mod client;
mod error;
mod json;
mod routes;

pub use authenticated::{AuthState, Authenticated};
pub use client::ClientIp;
pub use error::{ApiError, AuthRejection, not_found, problem_for_bare_errors};
pub use json::{BodyLimit, Json, JsonRejection};
pub use routes::routes;

// The Rust examples of the workspace README and of examples/README.md are
// compiled as doc-tests here, the crate that can see auth-core, auth-sqlx,
// axum and (as dev-dependencies) auth-actix and actix-web.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../examples/README.md")]
struct ExamplesReadmeDoctests;

/// The version of auth-core this crate is built on, so an application's
/// types match the adapter's.
pub use auth_core;

// The README shown on crates.io: its example is compiled as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
