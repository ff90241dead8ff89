//! The store conformance suite, run against `MemoryStore`.

use auth_core::{MemoryStore, testing::TestStores};

auth_core::store_conformance_tests!(|| async { TestStores::shared(MemoryStore::new()) });
