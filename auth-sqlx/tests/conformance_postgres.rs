//! auth-core's store conformance suite against the real PostgreSQL server
//! at `$AUTH_TEST_POSTGRES_URL`: a fresh schema per test. Skipped, saying
//! so, when the variable is not set.

mod common;

use auth_core::testing::TestStores;

auth_core::store_conformance_tests!(|| async {
    common::postgres_store().await.map(TestStores::shared)
});
