//! What the example servers share (`task-api-axum` and `task-api-actix`),
//! so that they differ only in HTTP glue:
//!
//! * [`config`]: the environment variables, with defaults that need none;
//! * [`cors`]: the CORS policy;
//! * [`app`]: start-up (database, migrations, the `AuthService`);
//! * [`tasks`]: the task bodies, their rules and the user-scoped store;
//! * [`inline_reads`]: the SQLite task list without sqlx's thread hop;
//! * [`openapi`]: the OpenAPI 3.1 document of the whole contract;
//! * [`page`]: the demo page served at `/`;
//! * [`head`]: what is refused from a request's head alone;
//! * [`path`]: how request paths are read;
//! * [`runtime`]: logging and graceful shutdown;
//! * [`write_timeout`]: the write-inactivity timeout of connections.
//!
//! The HTTP contract is `docs/api-contract.md` in the repository.

pub mod account_hooks;
pub mod app;
pub mod config;
pub mod cors;
pub mod head;
pub mod import;
pub mod inline_reads;
pub mod mail;
mod oauth;
pub mod openapi;
pub mod page;
mod passkeys;
pub mod path;
pub mod runtime;
pub mod secret;
pub mod signing;
pub mod tasks;
pub mod two_factor;
pub mod write_timeout;

pub use app::{App, Ready, StartError, prepare};
pub use config::Config;
