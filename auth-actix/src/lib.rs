//! [actix-web] 4 glue for [`auth_core`]: extractors for the signed-in
//! user, ready-made auth routes, and errors rendered as RFC 9457
//! problem+json.
//!
//! Everything that is not actix-specific (token parsing, body rules, the
//! error table) lives in `auth-core`, so this crate and `auth-axum` answer
//! every request alike.
//!
//! [actix-web]: https://docs.rs/actix-web/4
//!
//! # Add auth to your actix-web app
//!
//! ```no_run
//! use actix_web::{App, HttpServer, middleware::from_fn, web};
//! use auth_actix::{Authenticated, auth_core::{AuthService, JwtCodec, MemoryStore}};
//!
//! async fn whoami(Authenticated(principal): Authenticated) -> String {
//!     format!("hello, user {}", principal.user_id())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let store = MemoryStore::new(); // or auth_sqlx::SqliteStore / PostgresStore
//!     let secret = std::env::var("JWT_SECRET")?; // 32+ bytes
//!     let auth = AuthService::with_store(store)
//!         .token_codec(JwtCodec::hs256(secret.as_bytes(), "my-api", "my-app")?)
//!         .build()?;
//!
//!     HttpServer::new(move || {
//!         App::new()
//!             .app_data(auth.clone())
//!             // A resource, so that other methods get a 405 (`App::route` gives 404).
//!             .service(web::resource("/whoami").route(web::get().to(whoami)))
//!             .service(auth_actix::scope("/api/auth", &auth)) // every auth route: see below
//!             .default_service(web::to(auth_actix::not_found))
//!             .wrap(from_fn(auth_actix::problem_for_bare_errors))
//!     })
//!     .bind("127.0.0.1:8080")?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
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
//!
//! # Order of errors
//!
//! actix-web polls a handler's extractors together and answers with the
//! first error that is ready. [`Json`] waits for [`Authenticated`] to
//! finish first (see [`authentication_finished`]), so a request with a bad
//! token and a bad body gets the 401, as the HTTP contract asks; use
//! [`Json`] rather than `web::Json` on routes that need a token.
//!
//! # Differences from auth-axum
//!
//! The answers (status, headers, problem+json body) are the same; the
//! frameworks differ below them. actix-web closes the connection after an
//! error that left the request body unread, answers `Expect: 100-continue`
//! before any extractor runs, and answers a request head that takes over
//! 5 s with its own bare 408 (`HttpServer::client_request_timeout`).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authenticated;
mod client;
mod error;
mod json;
mod routes;

pub use authenticated::{Authenticated, MaybeAuthenticated, authentication_finished};
pub use client::ClientIp;
pub use error::{ApiError, AuthRejection, JsonRejection, not_found, problem_for_bare_errors};
pub use json::{Json, JsonConfig, json_response};
pub use routes::{configure, scope};

/// The version of auth-core this crate is built on, so an application's
/// types match the adapter's.
pub use auth_core;

// The README shown on crates.io: its example is compiled as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
