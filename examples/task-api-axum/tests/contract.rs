//! The black-box contract suite (`examples/contract-suite`) against this
//! server's real binary, on SQLite and, when `AUTH_TEST_POSTGRES_URL` is
//! set, PostgreSQL.

contract_suite::contract_tests!(env!("CARGO_BIN_EXE_task-api-axum"));
