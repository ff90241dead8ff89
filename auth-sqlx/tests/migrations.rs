//! The embedded migrations: what they create, that applying them again
//! changes nothing, and that concurrent callers are safe.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::{
    Email, SessionId, UserId,
    store::{
        CredentialId, CredentialKind, CredentialStore, MailQueue, NewCredential, NewOneTimeToken,
        NewQueuedMail, OneTimeTokenStore, RefreshToken, RefreshTokenMatch, SessionClient,
        SessionStore, TokenPurpose, UserStore,
    },
};
use auth_sqlx::{MIGRATIONS_TABLE, SqliteStore, sqlx};
use time::OffsetDateTime;

/// The indexes the crate docs promise, besides primary keys. The last is
/// a unique constraint, which SQLite does not let a migration name.
const INDEXES: [&str; 13] = [
    "auth_sessions_user_id_idx",
    "auth_sessions_expires_at_idx",
    "auth_sessions_revoked_at_idx",
    "auth_rotated_refresh_tokens_session_id_idx",
    "auth_refresh_token_siblings_session_id_idx",
    "auth_one_time_tokens_user_id_purpose_idx",
    "auth_one_time_tokens_expires_at_idx",
    // The unique index behind `CredentialStore::insert`'s `None`.
    "auth_credentials_kind_lookup_key",
    "auth_credentials_user_id_kind_idx",
    "auth_credentials_expires_at_idx",
    // The mail queue's poll, and a key's oldest row.
    "auth_mail_outbox_not_before_idx",
    "auth_mail_outbox_key_idx",
    // The unique constraint behind `EmailTaken`.
    "auth_users_email_key",
];

const TABLES: [&str; 8] = [
    "_auth_sqlx_migrations",
    "auth_credentials",
    "auth_mail_outbox",
    "auth_one_time_tokens",
    "auth_refresh_token_siblings",
    "auth_rotated_refresh_tokens",
    "auth_sessions",
    "auth_users",
];

/// Every migration this crate has.
const ALL_VERSIONS: [i64; 6] = [1, 2, 3, 4, 5, 6];

/// A user and a session as version 1 of the schema stores them (the
/// stores' own queries need the columns of later versions).
const V1_USER: &str = "INSERT INTO auth_users \
     (id, email, name, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";
const V1_SESSION: &str = "INSERT INTO auth_sessions \
     (id, user_id, refresh_token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
const V1_PHC: &str = "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA";
/// A hash the session rotated away from, as version 1 to 3 store it.
const V1_ROTATED: &str = "INSERT INTO auth_rotated_refresh_tokens \
     (refresh_token_hash, session_id, rotated_at) VALUES ($1, $2, $3)";

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_900_000_000 + secs).unwrap()
}

/// What a version-1 database held, checked through the store after the
/// upgrade; then the new tables work for that user.
async fn check_upgraded<
    S: UserStore + SessionStore + OneTimeTokenStore + CredentialStore + MailQueue,
>(
    store: &S,
    token: &RefreshToken,
) {
    let user = store
        .find_user_by_id(&UserId::new("v1-user"))
        .await
        .unwrap()
        .expect("the user survives the upgrade");
    assert_eq!(user.email.as_str(), "old@example.com");
    assert_eq!(user.name.as_deref(), Some("Old"));
    assert!(!user.email_verified, "existing users are not verified");
    assert_eq!((user.created_at, user.updated_at), (at(0), at(0)));
    let record = store
        .find_user_by_email(&user.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.password_hash.as_phc(), V1_PHC);
    let found = store
        .find_session_by_refresh_token(&token.hash())
        .await
        .unwrap();
    assert!(
        matches!(&found, Some(RefreshTokenMatch::Current(s)) if s.id.as_str() == "v1-session"),
        "{found:?}"
    );
    assert_eq!(
        store
            .active_session_owner(&SessionId::new("v1-session"), at(1))
            .await
            .unwrap(),
        Some(user.id.clone())
    );
    let link = RefreshToken::generate().unwrap().hash();
    store
        .replace_one_time_token(NewOneTimeToken {
            hash: link,
            purpose: TokenPurpose::EMAIL_VERIFICATION,
            user_id: user.id.clone(),
            email: user.email.clone(),
            created_at: at(1),
            expires_at: at(3600),
        })
        .await
        .unwrap();
    let verified = store
        .set_verified_email(
            &user.id,
            &user.email,
            &Email::parse("old@example.com").unwrap(),
            at(2),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(verified.email_verified);
    let passkey = store
        .insert(NewCredential {
            id: CredentialId::generate().unwrap(),
            kind: CredentialKind::new("passkey"),
            lookup: "AAECAw".into(),
            user_id: Some(user.id.clone()),
            data: vec![1, 2, 3],
            created_at: at(2),
            expires_at: None,
        })
        .await
        .unwrap()
        .expect("a fresh lookup");
    assert!(store.delete_user(&user.id).await.unwrap());
    assert_eq!(
        store.get(&passkey.id).await.unwrap(),
        None,
        "the user's credentials go with the user"
    );
    let gone = store
        .consume_one_time_token(&link, &TokenPurpose::EMAIL_VERIFICATION, at(2))
        .await
        .unwrap();
    assert_eq!(gone, None, "the user's tokens go with the user");
    let queued = store
        .enqueue(NewQueuedMail {
            key: "old@example.com".into(),
            payload: r#"{"job":"password_reset","email":"old@example.com"}"#.into(),
            created_at: at(3),
            not_before: at(3),
        })
        .await
        .unwrap();
    let claimed = store.claim_due(at(3), at(63), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, queued);
    assert!(store.complete(queued).await.unwrap());
}

/// What a version-3 database held (a session and a hash it rotated away
/// from `at(0)`), checked through the store after the upgrade to version 4:
/// both are found as before, and the rotated hash can be reused (no reuses
/// yet), making a sibling that goes with the user.
async fn check_upgraded_from_v3<S: UserStore + SessionStore>(
    store: &S,
    current: &RefreshToken,
    rotated: &RefreshToken,
) {
    let session = SessionId::new("v1-session");
    let found = store
        .find_session_by_refresh_token(&current.hash())
        .await
        .unwrap();
    assert!(
        matches!(&found, Some(RefreshTokenMatch::Current(s)) if s.id == session),
        "{found:?}"
    );
    let found = store
        .find_session_by_refresh_token(&rotated.hash())
        .await
        .unwrap();
    assert!(
        matches!(&found, Some(RefreshTokenMatch::Rotated { session: s, rotated_at }) if s.id == session && *rotated_at == at(0)),
        "{found:?}"
    );
    let sibling = RefreshToken::generate().unwrap().hash();
    let reused = store
        .reuse_refresh_token(&session, &rotated.hash(), &sibling, at(0), 1, at(1), None)
        .await
        .unwrap();
    assert!(reused, "a rotated hash from version 3 has no reuses yet");
    let again = store
        .reuse_refresh_token(
            &session,
            &rotated.hash(),
            &RefreshToken::generate().unwrap().hash(),
            at(0),
            1,
            at(1),
            None,
        )
        .await
        .unwrap();
    assert!(!again, "the reuse was counted");
    let found = store.find_session_by_refresh_token(&sibling).await.unwrap();
    assert!(
        matches!(&found, Some(RefreshTokenMatch::Current(s)) if s.id == session),
        "{found:?}"
    );
    assert!(store.delete_user(&UserId::new("v1-user")).await.unwrap());
    let gone = store.find_session_by_refresh_token(&sibling).await.unwrap();
    assert_eq!(gone, None, "the sibling goes with the user");
}

/// What a version-5 database held (a session opened at `at(0)`), checked
/// through the store after the upgrade to version 6: the session is listed
/// with no client and its creation as its last activity, and a refresh
/// records both.
async fn check_upgraded_from_v5<S: UserStore + SessionStore>(store: &S, current: &RefreshToken) {
    let user = UserId::new("v1-user");
    let listed = store.list_active_sessions(&user, at(1)).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let session = &listed[0];
    assert_eq!(session.id, SessionId::new("v1-session"));
    assert_eq!(session.last_active_at, at(0));
    assert_eq!((session.user_agent.as_deref(), session.ip), (None, None));

    let client = SessionClient::new(Some(b"upgraded/6"), "192.0.2.6".parse().ok());
    let next = RefreshToken::generate().unwrap().hash();
    let rotated = store
        .rotate_refresh_token(&session.id, &current.hash(), &next, at(60), Some(&client))
        .await
        .unwrap();
    assert!(rotated);
    let Some(RefreshTokenMatch::Current(found)) =
        store.find_session_by_refresh_token(&next).await.unwrap()
    else {
        panic!("the rotated session is current");
    };
    assert_eq!(found.last_active_at, at(60));
    assert_eq!(found.user_agent.as_deref(), Some("upgraded/6"));
    assert_eq!(found.ip, client.ip());
}

/// Everything `sqlite_master` knows, by type.
async fn sqlite_objects(store: &SqliteStore, kind: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = $1 AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .bind(kind)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn sqlite_migrations_create_the_documented_tables_and_indexes() {
    let store = common::sqlite_memory().await;
    assert_eq!(sqlite_objects(&store, "table").await, TABLES);
    let indexes = sqlite_objects(&store, "index").await;
    // SQLite names the index of a UNIQUE constraint itself
    // (sqlite_autoindex_…), so the email constraint is checked by behaviour
    // in the conformance suite instead.
    for index in &INDEXES[..INDEXES.len() - 1] {
        assert!(
            indexes.iter().any(|name| name == index),
            "{index} in {indexes:?}"
        );
    }
}

#[tokio::test]
async fn sqlite_migrations_applied_twice_are_a_no_op() {
    let path = common::sqlite_path();
    let store = common::sqlite_file_at(&path).await;
    let user = store
        .create_user(common::new_user("kept@example.com"))
        .await
        .unwrap();
    let applied = applied_versions(store.pool()).await;
    assert_eq!(applied, ALL_VERSIONS);

    store.migrate().await.unwrap();
    // And from a second pool on the same file, as after a restart.
    let reopened = common::sqlite_file_at(&path).await;
    reopened.migrate().await.unwrap();

    assert_eq!(applied_versions(reopened.pool()).await, applied);
    let found = reopened.find_user_by_id(&user.id).await.unwrap();
    assert_eq!(
        found,
        Some(user),
        "re-running migrations must keep the data"
    );
    let foreign: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name = '_sqlx_migrations'")
            .fetch_all(reopened.pool())
            .await
            .unwrap();
    assert!(
        foreign.is_empty(),
        "the application's migrations table is not touched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_migrations_on_a_fresh_file_all_succeed() {
    let path = common::sqlite_path();
    let url = format!("sqlite://{}", path.display());
    let mut racers = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        racers.push(tokio::spawn(async move {
            SqliteStore::connect(&url).await?.migrate().await
        }));
    }
    for racer in racers {
        racer.await.unwrap().unwrap();
    }
    let store = common::sqlite_file_at(&path).await;
    assert_eq!(applied_versions(store.pool()).await, ALL_VERSIONS);
}

#[tokio::test]
async fn sqlite_a_version_1_database_upgrades_in_place() {
    let path = common::sqlite_path();
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::connect(&url).await.unwrap();
    SqliteStore::migrator()
        .run_to(1, store.pool())
        .await
        .unwrap();
    let token = RefreshToken::generate().unwrap();
    seed_sqlite_v1(store.pool(), &token).await;
    assert_eq!(applied_versions(store.pool()).await, vec![1]);
    drop(store);

    // A restart with the new version of the crate.
    let store = common::sqlite_file_at(&path).await;
    assert_eq!(applied_versions(store.pool()).await, ALL_VERSIONS);
    check_upgraded(&store, &token).await;
}

#[tokio::test]
async fn sqlite_a_version_3_database_upgrades_in_place() {
    let path = common::sqlite_path();
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::connect(&url).await.unwrap();
    SqliteStore::migrator()
        .run_to(3, store.pool())
        .await
        .unwrap();
    let (current, rotated) = (
        RefreshToken::generate().unwrap(),
        RefreshToken::generate().unwrap(),
    );
    seed_sqlite_v1(store.pool(), &current).await;
    sqlx::query(V1_ROTATED)
        .bind(rotated.hash().as_bytes().as_slice())
        .bind("v1-session")
        .bind(at(0).unix_timestamp() * 1_000_000)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(applied_versions(store.pool()).await, vec![1, 2, 3]);
    drop(store);

    // A restart with the new version of the crate.
    let store = common::sqlite_file_at(&path).await;
    assert_eq!(applied_versions(store.pool()).await, ALL_VERSIONS);
    check_upgraded_from_v3(&store, &current, &rotated).await;
}

#[tokio::test]
async fn sqlite_a_version_5_database_upgrades_in_place() {
    let path = common::sqlite_path();
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::connect(&url).await.unwrap();
    SqliteStore::migrator()
        .run_to(5, store.pool())
        .await
        .unwrap();
    let current = RefreshToken::generate().unwrap();
    seed_sqlite_v1(store.pool(), &current).await;
    assert_eq!(applied_versions(store.pool()).await, vec![1, 2, 3, 4, 5]);
    drop(store);

    // A restart with the new version of the crate.
    let store = common::sqlite_file_at(&path).await;
    assert_eq!(applied_versions(store.pool()).await, ALL_VERSIONS);
    check_upgraded_from_v5(&store, &current).await;
}

/// A version-1 user with one session whose refresh token is `token`, as
/// the 0.1 crate wrote them (times in microseconds).
async fn seed_sqlite_v1(pool: &sqlx::SqlitePool, token: &RefreshToken) {
    let micros = |secs| at(secs).unix_timestamp() * 1_000_000;
    sqlx::query(V1_USER)
        .bind("v1-user")
        .bind("old@example.com")
        .bind("Old")
        .bind(V1_PHC)
        .bind(micros(0))
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(V1_SESSION)
        .bind("v1-session")
        .bind("v1-user")
        .bind(token.hash().as_bytes().as_slice())
        .bind(micros(0))
        .bind(micros(3600))
        .execute(pool)
        .await
        .unwrap();
}

/// The versions recorded in the crate's migrations table.
async fn applied_versions<'c, E>(executor: E) -> Vec<i64>
where
    E: sqlx::Executor<'c>,
    i64: for<'r> sqlx::Decode<'r, E::Database> + sqlx::Type<E::Database>,
    for<'a> <E::Database as sqlx::Database>::Arguments: sqlx::IntoArguments<E::Database>,
    (i64,): for<'r> sqlx::FromRow<'r, <E::Database as sqlx::Database>::Row>,
{
    let sql = format!("SELECT version FROM {MIGRATIONS_TABLE} WHERE success ORDER BY version");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(executor)
        .await
        .unwrap()
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use auth_sqlx::PostgresStore;

    /// As [`seed_sqlite_v1`](super::seed_sqlite_v1), in PostgreSQL's types.
    async fn seed_v1(pool: &sqlx::PgPool, token: &RefreshToken) {
        sqlx::query(V1_USER)
            .bind("v1-user")
            .bind("old@example.com")
            .bind("Old")
            .bind(V1_PHC)
            .bind(at(0))
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(V1_SESSION)
            .bind("v1-session")
            .bind("v1-user")
            .bind(token.hash().as_bytes().as_slice())
            .bind(at(0))
            .bind(at(3600))
            .execute(pool)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn postgres_migrations_create_the_documented_tables_and_indexes() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_migrations_create_the_documented_tables_and_indexes");
        };
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(tables, TABLES);
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        for index in INDEXES {
            assert!(
                indexes.iter().any(|name| name == index),
                "{index} in {indexes:?}"
            );
        }
    }

    #[tokio::test]
    async fn postgres_migrations_applied_twice_are_a_no_op() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_migrations_applied_twice_are_a_no_op");
        };
        let user = store
            .create_user(common::new_user("kept@example.com"))
            .await
            .unwrap();
        let applied = applied_versions(store.pool()).await;
        assert_eq!(applied, ALL_VERSIONS);
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(applied_versions(store.pool()).await, applied);
        assert_eq!(store.find_user_by_id(&user.id).await.unwrap(), Some(user));
        let foreign: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(
            foreign, None,
            "the application's migrations table is not touched"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_concurrent_migrations_on_a_fresh_schema_all_succeed() {
        let Some(url) = common::postgres_url() else {
            return common::skipped("postgres_concurrent_migrations_on_a_fresh_schema_all_succeed");
        };
        let schema = common::create_schema(&url).await;
        let mut racers = Vec::new();
        for _ in 0..4 {
            let options = common::options_in_schema(&url, &schema);
            racers.push(tokio::spawn(async move {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect_lazy_with(options);
                PostgresStore::new(pool).migrate().await
            }));
        }
        for racer in racers {
            racer.await.unwrap().unwrap();
        }
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy_with(common::options_in_schema(&url, &schema));
        assert_eq!(applied_versions(&pool).await, ALL_VERSIONS);
    }

    #[tokio::test]
    async fn postgres_a_version_1_database_upgrades_in_place() {
        let Some(url) = common::postgres_url() else {
            return common::skipped("postgres_a_version_1_database_upgrades_in_place");
        };
        let schema = common::create_schema(&url).await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy_with(common::options_in_schema(&url, &schema));
        PostgresStore::migrator().run_to(1, &pool).await.unwrap();
        let token = RefreshToken::generate().unwrap();
        seed_v1(&pool, &token).await;
        assert_eq!(applied_versions(&pool).await, vec![1]);

        let store = PostgresStore::new(pool);
        store.migrate().await.unwrap();
        assert_eq!(applied_versions(store.pool()).await, ALL_VERSIONS);
        check_upgraded(&store, &token).await;
    }

    #[tokio::test]
    async fn postgres_a_version_3_database_upgrades_in_place() {
        let Some(url) = common::postgres_url() else {
            return common::skipped("postgres_a_version_3_database_upgrades_in_place");
        };
        let schema = common::create_schema(&url).await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy_with(common::options_in_schema(&url, &schema));
        PostgresStore::migrator().run_to(3, &pool).await.unwrap();
        let (current, rotated) = (
            RefreshToken::generate().unwrap(),
            RefreshToken::generate().unwrap(),
        );
        seed_v1(&pool, &current).await;
        sqlx::query(V1_ROTATED)
            .bind(rotated.hash().as_bytes().as_slice())
            .bind("v1-session")
            .bind(at(0))
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(applied_versions(&pool).await, vec![1, 2, 3]);

        let store = PostgresStore::new(pool);
        store.migrate().await.unwrap();
        assert_eq!(applied_versions(store.pool()).await, ALL_VERSIONS);
        check_upgraded_from_v3(&store, &current, &rotated).await;
    }

    #[tokio::test]
    async fn postgres_a_version_5_database_upgrades_in_place() {
        let Some(url) = common::postgres_url() else {
            return common::skipped("postgres_a_version_5_database_upgrades_in_place");
        };
        let schema = common::create_schema(&url).await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy_with(common::options_in_schema(&url, &schema));
        PostgresStore::migrator().run_to(5, &pool).await.unwrap();
        let current = RefreshToken::generate().unwrap();
        seed_v1(&pool, &current).await;
        assert_eq!(applied_versions(&pool).await, vec![1, 2, 3, 4, 5]);

        let store = PostgresStore::new(pool);
        store.migrate().await.unwrap();
        assert_eq!(applied_versions(store.pool()).await, ALL_VERSIONS);
        check_upgraded_from_v5(&store, &current).await;
    }
}
