//! The demo page (`task_app::page`) in a real browser: [`demo_page`]
//! starts a server and runs `tests/browser/demo.mjs`, which drives the
//! machine's Chromium through playwright-core (pinned in
//! `tests/browser/package-lock.json`), asserting what a person sees
//! (visibility, text, accessible names, the focused element): a first load
//! that logs nothing, sign-up, the task list (its filter and sort kept
//! across a reload), an access token expiring while the page is open, two
//! tabs refreshing at once, sign-out, a password change and "sign out
//! everywhere" in one tab shown at once by the other, a password reset and
//! an email verification opened from the outbox; a keyboard-only pass
//! (`tests/browser/keyboard.mjs`); and, with the test OpenID
//! Connect provider ([`crate::oidc`]) as the server's one provider,
//! signing in with it, linking and unlinking it; two-factor
//! authentication turned on from the account panel (the scenario computes
//! the authenticator app's codes from the key the page shows), then
//! sign-ins with a code and with backup codes, a used one refused; API
//! keys (`tests/browser/api-keys.mjs`): one created on the account panel,
//! shown once and copied, used from outside the browser, listed with its
//! last use, deleted and then refused; and passkeys
//! (`tests/browser/passkeys.mjs`) with Chromium's virtual authenticator:
//! the server's relying party for a loopback `PUBLIC_URL` is `localhost`
//! (WebAuthn takes no IP address), so those steps follow the page's link
//! to `http://localhost:{port}` and run there.
//! Screenshots of the main states go to
//! `<target dir>/browser-screenshots/<server>/`.
//!
//! Without `node`, without `/usr/bin/chromium` or without
//! `tests/browser/node_modules` (`npm ci --prefix tests/browser`), the test
//! says `skipped: ...` and passes, unless `AUTH_TEST_BROWSER=required` (as
//! CI sets it), when it fails. Without `tests/oidc/node_modules` (`npm ci
//! --prefix tests/oidc`) the same holds for the OAuth steps alone, with
//! `AUTH_TEST_OIDC`.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use crate::{
    Backend, Server,
    server::{free_port, say},
};

/// Set to `required` to make a missing Node.js, Chromium or playwright-core
/// a failure.
pub const REQUIRED_VAR: &str = "AUTH_TEST_BROWSER";

/// The browser the scenario drives (Debian's `chromium` package).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The access-token lifetime the server gets, in seconds: short, so that
/// tokens expire while the page is open and both tabs refresh often.
pub const ACCESS_TOKEN_TTL_SECS: u64 = 3;

/// How long the whole scenario may take (it needs about a minute).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

/// The test provider's display name on the demo server
/// (`OAUTH_MOCK_DISPLAY_NAME`): the page shows "Continue with Mock ID".
pub const OAUTH_DISPLAY_NAME: &str = "Mock ID";

/// The workspace root (two levels above this crate).
fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map_or_else(|| manifest.join("../.."), Path::to_path_buf)
}

/// `tests/browser` of the workspace.
fn browser_dir() -> PathBuf {
    workspace().join("tests/browser")
}

/// Where the screenshots of `server` go: under the workspace's target
/// directory (`CARGO_TARGET_DIR` when set, as cargo reads it).
pub fn screenshots_dir(server: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| workspace().join("target"), PathBuf::from);
    workspace()
        .join(target)
        .join("browser-screenshots")
        .join(server)
}

/// Why the scenario cannot be run here, if it cannot.
fn unavailable() -> Option<String> {
    if !Path::new(CHROMIUM).is_file() {
        return Some(format!("no {CHROMIUM} (Debian package `chromium`)"));
    }
    crate::server::node_package_missing(&browser_dir(), "playwright-core")
}

/// Runs the browser scenario against `binary` (named `server` in the
/// screenshots' folder); says `skipped: ...` without Node.js, Chromium or
/// playwright-core unless [`REQUIRED_VAR`] is `required`.
pub fn demo_page(binary: &Path, server: &str) {
    if crate::server::skip_unless_required(REQUIRED_VAR, unavailable(), "browser::demo_page") {
        return;
    }
    let provider = crate::oidc::provider("browser::demo_page's OAuth steps");
    crate::__private::block_on(async {
        let port = free_port();
        let base_url = format!("http://127.0.0.1:{port}");
        let bind = format!("127.0.0.1:{port}");
        let ttl = ACCESS_TOKEN_TTL_SECS.to_string();
        let mut env = vec![
            ("BIND_ADDRESS", bind.as_str()),
            ("PUBLIC_URL", &base_url),
            ("ACCESS_TOKEN_TTL_SECS", &ttl),
        ];
        // One provider, `mock`, the test provider's OpenID Connect side.
        if let Some(provider) = provider {
            env.extend([
                ("OAUTH_PROVIDERS", "mock"),
                ("OAUTH_MOCK_ISSUER", &provider.issuer),
                ("OAUTH_MOCK_CLIENT_ID", &provider.client_id),
                ("OAUTH_MOCK_CLIENT_SECRET", &provider.client_secret),
                ("OAUTH_MOCK_DISPLAY_NAME", OAUTH_DISPLAY_NAME),
            ]);
        }
        let server_process = Server::start(binary, Backend::Sqlite, &env).await;
        assert_eq!(server_process.base_url(), base_url, "the server's address");
        let verify_port = free_port();
        let verify_url = format!("http://127.0.0.1:{verify_port}");
        let verifying = Server::start(
            binary,
            Backend::Sqlite,
            &[
                ("BIND_ADDRESS", &format!("127.0.0.1:{verify_port}")),
                ("PUBLIC_URL", &verify_url),
                ("REQUIRE_EMAIL_VERIFICATION", "true"),
            ],
        )
        .await;
        let screenshots = screenshots_dir(server);
        // Only this run's pictures, no failure shots of an earlier one.
        let _ = std::fs::remove_dir_all(&screenshots);
        let output = run_scenario(
            &base_url,
            server_process.outbox().dir(),
            &screenshots,
            (&verify_url, verifying.outbox().dir()),
            provider.map(|provider| provider.issuer.as_str()),
        );
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "the browser scenario failed ({}) against {server}:\n{text}\nscreenshots: {}",
            output.status,
            screenshots.display()
        );
        let summary = text.lines().last().unwrap_or_default();
        say(&format!(
            "browser::demo_page on {server}: {summary}; screenshots in {}",
            screenshots.display()
        ));
        drop((server_process, verifying));
    });
}

/// `node demo.mjs ...`, killed after [`SCENARIO_TIMEOUT`]; with the
/// OAuth steps when the server has the test provider at `oauth_issuer`.
fn run_scenario(
    base_url: &str,
    outbox: &Path,
    screenshots: &Path,
    (verify_url, verify_outbox): (&str, &Path),
    oauth_issuer: Option<&str>,
) -> Output {
    let mut command = Command::new("node");
    command
        .arg("demo.mjs")
        .arg("--base-url")
        .arg(base_url)
        .arg("--outbox")
        .arg(outbox)
        .arg("--verify-base-url")
        .arg(verify_url)
        .arg("--verify-outbox")
        .arg(verify_outbox)
        .arg("--screenshots")
        .arg(screenshots)
        .arg("--chromium")
        .arg(CHROMIUM);
    if let Some(issuer) = oauth_issuer {
        command
            .arg("--oauth-provider")
            .arg(OAUTH_DISPLAY_NAME)
            .arg("--oauth-issuer")
            .arg(issuer);
    }
    let child = command
        .current_dir(browser_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start node demo.mjs: {error}"));
    let pid = child.id().to_string();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(SCENARIO_TIMEOUT) {
        Ok(output) => output.expect("the output of node demo.mjs"),
        Err(_) => {
            // Chromium goes with it: playwright-core closes the browser
            // when its own process dies.
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!(
                "the browser scenario did not finish within {} s",
                SCENARIO_TIMEOUT.as_secs()
            );
        }
    }
}
