//! Passkeys on PostgreSQL, moved on directly: a ceremony's challenge
//! expires after 5 minutes, which the cases cannot wait for over HTTP.

use std::{collections::BTreeSet, path::Path};

use sqlx::{Connection as _, postgres::PgConnection};

use crate::{Backend, Server, webauthn::Passkey};

use super::{
    passkeys::{
        DEFAULT_NAME, add, creation_options, expect_refused, expect_registered,
        expect_registration_refused, expect_signed_in_as, origin, register, sign_in,
        sign_in_options, sign_in_with,
    },
    two_factor::verified_account,
};

/// The ids of the stored credentials that expire (whatever their kind).
async fn expiring(db: &mut PgConnection) -> BTreeSet<String> {
    sqlx::query_scalar("SELECT id FROM auth_credentials WHERE expires_at IS NOT NULL")
        .fetch_all(&mut *db)
        .await
        .expect("the expiring credentials")
        .into_iter()
        .collect()
}

/// The one expiring row that `before` did not have: the challenge just
/// asked for. Checks that it lives 300 s, then moves its expiry a second
/// into the past.
async fn expire_new_challenge(db: &mut PgConnection, before: &BTreeSet<String>, what: &str) {
    let new: Vec<String> = expiring(db).await.difference(before).cloned().collect();
    assert_eq!(
        new.len(),
        1,
        "{what}: one new expiring row, the challenge: {new:?}"
    );
    let lifetime: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 \
         FROM auth_credentials WHERE id = $1",
    )
    .bind(&new[0])
    .fetch_one(&mut *db)
    .await
    .expect("the challenge's row");
    assert!(
        (299.0..=301.0).contains(&lifetime),
        "{what}: a challenge lives 300 s, this one {lifetime} s"
    );
    let changed = sqlx::query(
        "UPDATE auth_credentials SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(&new[0])
    .execute(&mut *db)
    .await
    .expect("aging the challenge")
    .rows_affected();
    assert_eq!(changed, 1, "{what}: the challenge was aged");
}

/// A registration challenge and a sign-in challenge are kept for 5
/// minutes; once that has passed, the honest answer to either is 401
/// `invalid_credential`, and fresh options work.
pub async fn passkey_challenges_expire(binary: &Path, backend: Backend) {
    assert!(
        matches!(backend, Backend::Postgres),
        "passkey_challenges_expire runs on PostgreSQL only"
    );
    let server = Server::start(binary, backend, &[]).await;
    let target = server.target();
    let api = target.api();
    let origin = origin(&target);
    let mut db = PgConnection::connect(server.database_url())
        .await
        .expect("the server's database");
    let account = verified_account(&api).await;

    let before = expiring(&mut db).await;
    let options = creation_options(&api, &account).await;
    expire_new_challenge(&mut db, &before, "registration").await;
    let passkey = Passkey::new(&options.options, 1);
    let credential = passkey.attest(&passkey.registration(&options.options, &origin));
    expect_registration_refused(
        &register(
            &api,
            &account.access_token,
            &options.challenge_id,
            &credential,
            None,
        )
        .await
        .noted("an expired registration challenge"),
    );
    let (mut passkey, _) = add(&api, &account, None).await;

    let before = expiring(&mut db).await;
    let options = sign_in_options(&api).await;
    expire_new_challenge(&mut db, &before, "sign-in").await;
    let assertion = passkey.assertion(&options.options, &origin);
    expect_refused(
        &sign_in_with(&api, &options.challenge_id, &passkey.sign(&assertion))
            .await
            .noted("an expired sign-in challenge"),
    );
    let reply = sign_in(&api, &mut passkey).await.noted("fresh options");
    expect_signed_in_as(&reply, &target, &account, false);

    // The refused registration left nothing behind: a new one works.
    let options = creation_options(&api, &account).await;
    let again = Passkey::new(&options.options, 1);
    let credential = again.attest(&again.registration(&options.options, &origin));
    expect_registered(
        &register(
            &api,
            &account.access_token,
            &options.challenge_id,
            &credential,
            None,
        )
        .await,
        DEFAULT_NAME,
    );
}
