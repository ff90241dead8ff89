//! Trusted issuer mode against a real Better Auth (tests/better-auth): see
//! `contract_suite::better_auth`. Skips without Node.js or
//! `npm ci --prefix tests/better-auth`, unless `AUTH_TEST_BETTER_AUTH=required`.

#[test]
fn trusted_better_auth_issuer() {
    contract_suite::better_auth::trusted_issuer(std::path::Path::new(env!(
        "CARGO_BIN_EXE_task-api-actix"
    )));
}
