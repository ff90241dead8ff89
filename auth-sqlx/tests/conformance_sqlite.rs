//! auth-core's store conformance suite against SQLite, in memory and in a
//! file (WAL mode): a fresh database per test.

mod common;

mod in_memory {
    use super::common;
    use auth_core::testing::TestStores;

    auth_core::store_conformance_tests!(|| async {
        TestStores::shared(common::sqlite_memory().await)
    });
}

mod file {
    use super::common;
    use auth_core::testing::TestStores;

    auth_core::store_conformance_tests!(|| async {
        TestStores::shared(common::sqlite_file().await)
    });
}
