//! Database failures become `Unavailable` (503) or `Internal` (500), and no
//! database text reaches a client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::http::HttpError;
use std::{str::FromStr, time::Duration};

use auth_core::{
    AuthError, SessionId,
    problem::Problem,
    store::{NewSession, RefreshToken, SessionStore, UserStore},
};
use auth_sqlx::{
    SqliteStore,
    sqlx::{
        self, Connection as _, SqliteConnection,
        sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    },
};
use time::OffsetDateTime;

/// An internal error as a client would see it: status 500 and a body that
/// says nothing about the database.
fn assert_internal_and_opaque<T: std::fmt::Debug>(result: Result<T, AuthError>) {
    let error = match result {
        Err(error @ AuthError::Internal(_)) => error,
        other => panic!("expected Internal, got {other:?}"),
    };
    let body = serde_json::to_string(&Problem::from(&error)).unwrap();
    assert_eq!(HttpError::status_for(&error), 500);
    assert!(body.contains(r#""detail":"internal error""#), "{body}");
    for leak in ["auth_", "table", "relation", "sql", "SQL"] {
        assert!(!body.contains(leak), "{leak:?} leaked into {body}");
    }
    // The database's own text is still there for the logs.
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(source.contains("auth_rotated_refresh_tokens"), "{source}");
}

/// A unique violation that is not the email (here a session id used twice)
/// is an internal error, not `EmailTaken` or `UserNotFound`.
async fn other_unique_violations_are_internal<S: UserStore + SessionStore>(store: S) {
    let user = store
        .create_user(common::new_user("ada@example.com"))
        .await
        .unwrap();
    let session = |id: &str| NewSession {
        id: SessionId::new(id),
        user_id: user.id.clone(),
        refresh_token_hash: RefreshToken::generate().unwrap().hash(),
        created_at: OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap(),
        expires_at: OffsetDateTime::from_unix_timestamp(1_900_003_600).unwrap(),
        client: Default::default(),
    };
    store.create_session(session("twice")).await.unwrap();
    let again = store.create_session(session("twice")).await;
    assert!(matches!(again, Err(AuthError::Internal(_))), "{again:?}");
}

#[tokio::test]
async fn sqlite_other_unique_violations_are_internal() {
    other_unique_violations_are_internal(common::sqlite_memory().await).await;
}

#[tokio::test]
async fn sqlite_internal_errors_reveal_nothing_to_clients() {
    let store = common::sqlite_memory().await;
    sqlx::query("DROP TABLE auth_rotated_refresh_tokens")
        .execute(store.pool())
        .await
        .unwrap();
    let hash = RefreshToken::generate().unwrap().hash();
    assert_internal_and_opaque(store.find_session_by_refresh_token(&hash).await);
}

/// A writer that keeps the lock past the busy timeout makes the database
/// unavailable for now (503), not broken (500); it works again after.
#[tokio::test]
async fn sqlite_locked_database_is_unavailable_then_recovers() {
    let path = common::sqlite_path();
    common::sqlite_file_at(&path).await;
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .busy_timeout(Duration::from_millis(100));
    let store = SqliteStore::new(
        SqlitePoolOptions::new()
            .connect_with(options.clone())
            .await
            .unwrap(),
    );

    let mut writer = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut writer)
        .await
        .unwrap();
    match store.create_user(common::new_user("ada@example.com")).await {
        Err(error @ AuthError::Unavailable(_)) => assert_eq!(HttpError::status_for(&error), 503),
        other => panic!("expected Unavailable while locked, got {other:?}"),
    }
    sqlx::query("COMMIT").execute(&mut writer).await.unwrap();

    store
        .create_user(common::new_user("ada@example.com"))
        .await
        .unwrap();
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    #[tokio::test]
    async fn postgres_internal_errors_reveal_nothing_to_clients() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_internal_errors_reveal_nothing_to_clients");
        };
        sqlx::query("DROP TABLE auth_rotated_refresh_tokens")
            .execute(store.pool())
            .await
            .unwrap();
        let hash = RefreshToken::generate().unwrap().hash();
        assert_internal_and_opaque(store.find_session_by_refresh_token(&hash).await);
    }

    #[tokio::test]
    async fn postgres_other_unique_violations_are_internal() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_other_unique_violations_are_internal");
        };
        other_unique_violations_are_internal(store).await;
    }

    /// Each backend's codes are judged by that backend: PostgreSQL's 42501
    /// and 22021 are numbers whose low byte is SQLite's BUSY (5), but they
    /// are not outages.
    #[tokio::test]
    async fn postgres_error_codes_are_classified_as_postgresql_codes() {
        let Some(store) = common::postgres_store().await else {
            return common::skipped("postgres_error_codes_are_classified_as_postgresql_codes");
        };
        for (code, unavailable) in [
            ("42501", false), // insufficient_privilege
            ("22021", false), // character_not_in_repertoire
            ("23505", false), // unique_violation, outside create_user
            ("57P01", true),  // admin_shutdown
            ("53300", true),  // too_many_connections
            ("08006", true),  // connection_failure
        ] {
            let sql =
                format!("DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '{code}'; END $$");
            let error = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(store.pool())
                .await
                .unwrap_err();
            let mapped = auth_sqlx::map_sqlx_error(error);
            assert_eq!(
                matches!(mapped, AuthError::Unavailable(_)),
                unavailable,
                "{code}: {mapped:?}"
            );
            assert!(matches!(
                mapped,
                AuthError::Unavailable(_) | AuthError::Internal(_)
            ));
        }
    }

    /// Connections killed by the server (a restart, an administrator) are
    /// replaced by the pool; no call fails as Internal.
    #[tokio::test]
    async fn postgres_terminated_connections_are_replaced() {
        let Some(url) = common::postgres_url() else {
            return common::skipped("postgres_terminated_connections_are_replaced");
        };
        let schema = common::create_schema(&url).await;
        let options = common::options_in_schema(&url, &schema).application_name(&schema);
        let store = auth_sqlx::PostgresStore::new(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(2))
                .connect_with(options)
                .await
                .unwrap(),
        );
        store.migrate().await.unwrap();
        let ada = store
            .create_user(common::new_user("ada@example.com"))
            .await
            .unwrap();

        let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
        let terminated: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&schema)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert!(
            terminated >= 1,
            "the store's connections must have been found"
        );

        for _ in 0..3 {
            match store.find_user_by_id(&ada.id).await {
                Ok(found) => assert_eq!(found.as_ref(), Some(&ada)),
                Err(AuthError::Unavailable(_)) => {}
                Err(other) => panic!("a killed connection must not be Internal: {other:?}"),
            }
        }
        assert_eq!(store.find_user_by_id(&ada.id).await.unwrap(), Some(ada));
    }
}
