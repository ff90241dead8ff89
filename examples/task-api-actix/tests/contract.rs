//! The HTTP contract suite (`examples/contract-suite`) against the real
//! `task-api-actix` binary, on SQLite and (with `AUTH_TEST_POSTGRES_URL`)
//! PostgreSQL: the same cases, unchanged, as for `task-api-axum`.

contract_suite::contract_tests!(env!("CARGO_BIN_EXE_task-api-actix"));
