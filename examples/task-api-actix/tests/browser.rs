//! The demo page in Chromium (tests/browser): see
//! `contract_suite::browser`. Skips without Node.js, /usr/bin/chromium or
//! `npm ci --prefix tests/browser`, unless `AUTH_TEST_BROWSER=required`.

#[test]
fn demo_page_in_a_browser() {
    contract_suite::browser::demo_page(
        std::path::Path::new(env!("CARGO_BIN_EXE_task-api-actix")),
        "task-api-actix",
    );
}
