//! Refreshing from several tabs at once: the refresh-token reuse interval
//! (`REFRESH_REUSE_INTERVAL_SECS`, default 10), strict rotation with `0`,
//! and the values a server refuses to start with.

use std::{path::Path, time::Duration};

use crate::{
    Account, Backend, Server, Target,
    cases::database::run_to_exit,
    client::{Api, Reply},
    tokens,
};

/// How many tabs refresh at once: as many presentations of one token as
/// the contract lets succeed.
const TABS: usize = 10;

/// The `sid` claim of a reply's access token.
fn sid(reply: &Reply) -> String {
    let access = reply.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    tokens::payload(&access)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Ten simultaneous refreshes with one refresh token (ten tabs waking up):
/// ten 200s, each a pair of the same session (`sid`); every new refresh
/// token refreshes, every new access token works on `/me`, and the
/// session's first access token still works.
pub async fn refresh_from_several_tabs_at_once(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let mut handles = Vec::new();
    for tab in 1..=TABS {
        let (api, token) = (api.clone(), account.refresh_token.clone());
        handles.push(tokio::spawn(async move {
            api.refresh(&token).await.noted(format!(
                "tab {tab} of {TABS} refreshing with one token at once"
            ))
        }));
    }
    let mut tabs: Vec<Account> = Vec::new();
    for handle in handles {
        let reply = handle.await.expect("a refresh task");
        reply.expect_auth_response(200, target, &account.email);
        reply.check(
            sid(&reply) == account.session_id,
            "a refresh within the reuse interval keeps the session (`sid`)",
        );
        tabs.push(account.with_session(&reply));
    }
    for (i, tab) in tabs.iter().enumerate() {
        api.me(&tab.access_token)
            .await
            .noted(format!("the access token of tab {}", i + 1))
            .expect_json(200);
        let reply = api
            .refresh(&tab.refresh_token)
            .await
            .noted(format!("the new refresh token of tab {}", i + 1));
        reply.expect_auth_response(200, target, &account.email);
        reply.check(sid(&reply) == account.session_id, "the same session");
    }
    api.me(&account.access_token)
        .await
        .noted("the session's first access token, after the tabs refreshed")
        .expect_json(200);
}

/// With `REFRESH_REUSE_INTERVAL_SECS=1`: a rotated refresh token presented
/// again at once gets a pair of the same session; presented again after
/// the interval (1.5 s later) it is 401 `refresh_token_reused` and the
/// session is revoked, every pair it had included.
pub async fn refresh_replay_after_the_interval_revokes(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("REFRESH_REUSE_INTERVAL_SECS", "1")]).await;
    let target = server.target();
    let api = target.api();
    let account = api.sign_up().await;
    let reply = api.refresh(&account.refresh_token).await;
    reply.expect_auth_response(200, &target, &account.email);
    let first = account.with_session(&reply);
    let reply = api
        .refresh(&account.refresh_token)
        .await
        .noted("the rotated refresh token again, within the interval");
    reply.expect_auth_response(200, &target, &account.email);
    reply.check(sid(&reply) == account.session_id, "the same session");
    let second = account.with_session(&reply);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    api.refresh(&account.refresh_token)
        .await
        .noted("the rotated refresh token again, 1.5 s after a 1 s interval")
        .expect_problem(401, "refresh_token_reused");
    for (which, pair) in [("first", &first), ("second", &second)] {
        api.me(&pair.access_token)
            .await
            .noted(format!(
                "the {which} pair's access token after reuse detection"
            ))
            .expect_token_rejected(&["session_revoked"]);
        api.refresh(&pair.refresh_token)
            .await
            .noted(format!(
                "the {which} pair's refresh token after reuse detection"
            ))
            .expect_problem_in(
                401,
                &[
                    "session_revoked",
                    "invalid_refresh_token",
                    "refresh_token_reused",
                ],
            );
    }
}

/// With `REFRESH_REUSE_INTERVAL_SECS=0` (strict rotation), presenting a
/// rotated refresh token again at once is 401 `refresh_token_reused` and
/// revokes that session: its newest refresh and access tokens stop working
/// too. The user's other sessions are untouched.
pub async fn refresh_reuse_revokes_session(binary: &Path, backend: Backend) {
    let server = Server::start(binary, backend, &[("REFRESH_REUSE_INTERVAL_SECS", "0")]).await;
    let target = server.target();
    expect_replay_revokes(&target.api(), &target).await;
}

/// The strict-rotation replay of [`refresh_reuse_revokes_session`].
async fn expect_replay_revokes(api: &Api, target: &Target) {
    let account = api.sign_up().await;
    let other = api.new_session(&account).await;
    let rotated = api.refresh(&account.refresh_token).await;
    rotated.expect_auth_response(200, target, &account.email);
    let rotated = account.with_session(&rotated);

    api.refresh(&account.refresh_token)
        .await
        .noted("replay of the rotated refresh token")
        .expect_problem(401, "refresh_token_reused");
    api.refresh(&rotated.refresh_token)
        .await
        .noted("the newest refresh token after reuse detection")
        .expect_problem_in(
            401,
            &[
                "session_revoked",
                "invalid_refresh_token",
                "refresh_token_reused",
            ],
        );
    api.me(&rotated.access_token)
        .await
        .noted("the newest access token after reuse detection")
        .expect_token_rejected(&["session_revoked"]);
    api.me(&account.access_token)
        .await
        .noted("the first access token after reuse detection")
        .expect_token_rejected(&["session_revoked"]);

    api.me(&other.access_token)
        .await
        .noted("another session of the same user")
        .expect_json(200);
    api.refresh(&other.refresh_token)
        .await
        .noted("another session of the same user")
        .expect_auth_response(200, target, &account.email);
}

/// `REFRESH_REUSE_INTERVAL_SECS` outside 0 to 60 seconds (`-1`, `61`,
/// `abc`) stops the server at start, exit status non-zero, with an error
/// line naming the variable.
pub async fn bad_refresh_reuse_intervals_stop_the_server(binary: &Path, backend: Backend) {
    let dir = tempfile::Builder::new()
        .prefix("contract-suite-reuse-")
        .tempdir()
        .expect("a temporary directory");
    let database_url = match &backend {
        Backend::Postgres => Backend::postgres_url().expect("Backend::Postgres has a URL"),
        _ => format!("sqlite://{}/tasks.db", dir.path().display()),
    };
    for bad in ["-1", "61", "abc"] {
        let (status, output) = run_to_exit(
            binary,
            &[
                ("DATABASE_URL", &database_url),
                ("REFRESH_REUSE_INTERVAL_SECS", bad),
            ],
        );
        assert!(
            !status.success(),
            "REFRESH_REUSE_INTERVAL_SECS={bad}: {status}; output:\n{output}"
        );
        let line = output
            .lines()
            .find(|line| line.contains("ERROR"))
            .unwrap_or_else(|| panic!("no ERROR line for {bad}:\n{output}"));
        assert!(
            line.contains("cannot start: REFRESH_REUSE_INTERVAL_SECS"),
            "REFRESH_REUSE_INTERVAL_SECS={bad}: the error line must name the variable: {line}"
        );
    }
}
