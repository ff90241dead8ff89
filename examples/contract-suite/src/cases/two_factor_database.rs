//! Two-factor on PostgreSQL, looked at and moved on directly: no secret
//! or code is kept in the clear, and what expires (a challenge, a pending
//! setup, the freshness of a sign-in without a password) does, which the
//! cases cannot wait for over HTTP.

use std::path::Path;

use base64::Engine as _;
use serde_json::json;
use sqlx::{Connection as _, postgres::PgConnection};

use crate::{Backend, Server, client::fresh_email};

use super::{
    account::{expect_accepted, expect_no_content},
    email_sign_in,
    two_factor::{
        BACKUP_CODES, DISABLE, SETUP, challenge, enable, enrolled, expect_challenge, expect_setup,
        expect_signed_in, post, setup, verified_account, verify,
    },
};

/// Runs `sql` (with `$1` bound to `user_id`) on the server's database;
/// the rows it changed.
async fn change(db: &mut PgConnection, sql: &'static str, user_id: &str) -> u64 {
    sqlx::query(sql)
        .bind(user_id)
        .execute(&mut *db)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .rows_affected()
}

/// Moves every expiring credential of the user (challenges, a pending
/// setup) a second into the past.
const EXPIRE_CREDENTIALS: &str = "UPDATE auth_credentials \
     SET expires_at = now() - interval '1 second' \
     WHERE user_id = $1 AND expires_at IS NOT NULL";

/// Moves the sign-in of every session of the user 11 minutes back.
const AGE_SESSIONS: &str = "UPDATE auth_sessions \
     SET created_at = created_at - interval '11 minutes' WHERE user_id = $1";

/// A challenge is kept for 5 minutes, and once that has passed it is 401
/// `invalid_token`; a pending setup that has expired enables nothing (400
/// `invalid_code`). A user without a password changes two-factor with
/// `{}` only within 10 minutes of the session's sign-in, after that (also
/// after a refresh, which is no sign-in) 403 `reauthentication_required`
/// on setup, backup-codes and disable; a new sign-in (a code included)
/// makes it fresh again.
pub async fn two_factor_challenges_and_sign_ins_go_stale(binary: &Path, backend: Backend) {
    assert!(
        matches!(backend, Backend::Postgres),
        "two_factor_challenges_and_sign_ins_go_stale runs on PostgreSQL only"
    );
    let server = Server::start(binary, backend, &[]).await;
    let target = server.target();
    let api = target.api();
    let outbox = server.outbox();
    let mut db = PgConnection::connect(server.database_url())
        .await
        .expect("the server's database");

    let mut user = enrolled(&api).await;
    let account = user.account.clone();
    let stale = challenge(&api, &account).await;
    let lifetime: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 FROM auth_credentials \
         WHERE user_id = $1 AND kind = 'two_factor_challenge'",
    )
    .bind(&account.user_id)
    .fetch_one(&mut db)
    .await
    .expect("the challenge's row");
    assert!(
        (299.0..=301.0).contains(&lifetime),
        "a challenge lives 300 s, this one {lifetime} s"
    );
    assert!(change(&mut db, EXPIRE_CREDENTIALS, &account.user_id).await >= 1);
    verify(&api, &stale, "backup_code", &user.backup_codes[0])
        .await
        .noted("an expired challenge")
        .expect_problem(401, "invalid_token");
    let fresh = challenge(&api, &account).await;
    let reply = verify(&api, &fresh, "backup_code", &user.backup_code()).await;
    expect_signed_in(&reply, &target, &account.email);

    let later = verified_account(&api).await;
    let mut pending = setup(&api, &later).await;
    assert!(change(&mut db, EXPIRE_CREDENTIALS, &later.user_id).await >= 1);
    let (_, code) = pending.totp.next_code().await;
    enable(&api, &later, &code)
        .await
        .noted("the code of an expired setup")
        .expect_problem(400, "invalid_code");

    // A user without a password: made by an email sign-in, which
    // verifies the address.
    let email = fresh_email();
    expect_accepted(&email_sign_in::request(&api, &email).await);
    let (link, _) = email_sign_in::nth_message(&outbox, &email, 1).await;
    let reply = email_sign_in::verify(&api, &json!({ "token": link })).await;
    let body = reply.expect_auth_response(200, &target, &email);
    super::oauth::expect_has_password(&reply, &body["user"], false);
    let no_password = crate::Account::from_auth_response(&reply, &email, "");
    let token = Some(no_password.access_token.as_str());
    let reply = post(&api, SETUP, token, &json!({})).await;
    let mut setup = expect_setup(&reply, &email);
    let (_, code) = setup.totp.next_code().await;
    expect_no_content(&enable(&api, &no_password, &code).await);

    change(&mut db, AGE_SESSIONS, &no_password.user_id).await;
    let refreshed = api.refresh(&no_password.refresh_token).await;
    let refreshed = no_password.with_session(&refreshed);
    for access in [&no_password.access_token, &refreshed.access_token] {
        for path in [SETUP, BACKUP_CODES, DISABLE] {
            post(&api, path, Some(access), &json!({}))
                .await
                .noted(format!("POST {path}, 11 minutes after the sign-in"))
                .expect_problem(403, "reauthentication_required");
        }
    }
    expect_accepted(&email_sign_in::request(&api, &email).await);
    let (link, _) = email_sign_in::nth_message(&outbox, &email, 2).await;
    let reply = email_sign_in::verify(&api, &json!({ "token": link })).await;
    let challenge_token = expect_challenge(&reply);
    let reply = verify(
        &api,
        &challenge_token,
        "backup_code",
        &setup.backup_codes[0],
    )
    .await;
    expect_signed_in(&reply, &target, &email);
    let again = no_password.with_session(&reply);
    expect_no_content(&post(&api, DISABLE, Some(&again.access_token), &json!({})).await);
    let _ = db.close().await;
}

/// PostgreSQL, looked at directly: no column of any table holds a TOTP
/// secret (of an enabled user, or of a setup not enabled yet) as base32,
/// hex, base64 or raw bytes, a backup code with or without dashes, or a
/// pending challenge token: secrets are encrypted, codes and challenges
/// hashed.
pub async fn two_factor_secrets_are_not_stored_in_clear(binary: &Path, backend: Backend) {
    assert!(
        matches!(backend, Backend::Postgres),
        "two_factor_secrets_are_not_stored_in_clear runs on PostgreSQL only"
    );
    let server = Server::start(binary, backend, &[]).await;
    let api = server.target().api();
    let on = verified_account(&api).await;
    let mut active = super::two_factor::setup(&api, &on).await;
    let (_, code) = active.totp.next_code().await;
    expect_no_content(&enable(&api, &on, &code).await);
    let pending_challenge = challenge(&api, &on).await;
    let later = verified_account(&api).await;
    let pending = super::two_factor::setup(&api, &later).await;

    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for setup in [&active, &pending] {
        let key = setup.totp.key().to_vec();
        let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        needles.push(("a TOTP secret's bytes".into(), key.clone()));
        for text in [setup.secret.clone(), hex.clone(), hex.to_ascii_uppercase()]
            .into_iter()
            .chain(engines.iter().map(|engine| engine.encode(&key)))
        {
            needles.push((format!("a TOTP secret as {text:?}"), text.into_bytes()));
        }
        for code in &setup.backup_codes {
            for text in [code.clone(), code.replace('-', "")] {
                needles.push((format!("backup code {text:?}"), text.into_bytes()));
            }
        }
    }
    needles.push((
        "a pending challenge token".into(),
        pending_challenge.clone().into_bytes(),
    ));

    let mut db = PgConnection::connect(server.database_url())
        .await
        .expect("the server's database");
    let columns = super::account_server::schema_columns(&mut db).await;
    assert!(
        columns
            .iter()
            .any(|(table, _, _)| table == "auth_credentials"),
        "the schema has the credentials table: {columns:?}"
    );
    for (which, needle) in &needles {
        for (table, column, data_type) in &columns {
            let query = if data_type == "bytea" {
                format!("SELECT count(*) FROM \"{table}\" WHERE position($1 in \"{column}\") > 0")
            } else {
                format!(
                    "SELECT count(*) FROM \"{table}\" WHERE position($1 in \"{column}\"::text) > 0"
                )
            };
            let found: i64 = if data_type == "bytea" {
                sqlx::query_scalar(sqlx::AssertSqlSafe(query))
                    .bind(needle.as_slice())
                    .fetch_one(&mut db)
                    .await
            } else {
                let Ok(text) = std::str::from_utf8(needle) else {
                    continue;
                };
                sqlx::query_scalar(sqlx::AssertSqlSafe(query))
                    .bind(text)
                    .fetch_one(&mut db)
                    .await
            }
            .unwrap_or_else(|error| panic!("{table}.{column}: {error}"));
            assert_eq!(
                found, 0,
                "{which} is stored in the clear in {table}.{column}"
            );
        }
    }
    let _ = db.close().await;
    // The rows looked at are the live ones: the challenge still works.
    let reply = verify(
        &api,
        &pending_challenge,
        "backup_code",
        &active.backup_codes[0],
    )
    .await;
    expect_signed_in(&reply, &server.target(), &on.email);
}
