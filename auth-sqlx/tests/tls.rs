//! TLS to PostgreSQL through `PostgresStore::connect`, against the test
//! server (`ssl = on`, a self-signed certificate). With the `postgres-tls`
//! feature: `sslmode=require` is encrypted; a certificate the client cannot
//! verify is a configuration error (500, fix the settings), never
//! `Unavailable` (503, "wait"). Without the feature: asking for TLS says
//! which feature is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::AuthError;
#[cfg(feature = "postgres-tls")]
use auth_core::http::HttpError;
use auth_sqlx::PostgresStore;

/// The test server's URL with `query` appended.
fn url_with(test: &str, query: &str) -> Option<String> {
    let Ok(url) = std::env::var(common::POSTGRES_URL_VAR) else {
        common::skipped(&format!(
            "{test}: no PostgreSQL ({} is not set)",
            common::POSTGRES_URL_VAR
        ));
        return None;
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{separator}{query}"))
}

/// The configuration error's text, or a failure naming what came instead.
async fn config_error(url: &str) -> String {
    match PostgresStore::connect(url).await {
        Err(AuthError::InvalidConfig(text)) => text,
        Err(other) => panic!("{url}: expected InvalidConfig, got {other:?}"),
        Ok(_) => panic!("{url}: connected"),
    }
}

#[cfg(feature = "postgres-tls")]
mod with_tls {
    use super::*;

    /// Whether the store's connection is encrypted, as the server sees it.
    async fn encrypted(store: &PostgresStore) -> bool {
        auth_sqlx::sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .unwrap()
    }

    /// The server's certificate file, if this process can read it (the
    /// test server's is self-signed, so it is its own CA).
    async fn server_certificate() -> Option<String> {
        let url = std::env::var(common::POSTGRES_URL_VAR).ok()?;
        let store = PostgresStore::connect(&url).await.unwrap();
        let path: String = auth_sqlx::sqlx::query_scalar("SHOW ssl_cert_file")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let path = if path.starts_with('/') {
            path
        } else {
            let dir: String = auth_sqlx::sqlx::query_scalar("SHOW data_directory")
                .fetch_one(store.pool())
                .await
                .unwrap();
            format!("{dir}/{path}")
        };
        if std::fs::read(&path).is_ok() {
            Some(path)
        } else {
            common::tell(&format!(
                "skipped: the server's certificate {path} is not readable"
            ));
            None
        }
    }

    #[tokio::test]
    async fn sslmode_require_connects_encrypted() {
        let Some(url) = url_with("sslmode_require_connects_encrypted", "sslmode=require") else {
            return;
        };
        let store = PostgresStore::connect(&url).await.unwrap();
        assert!(encrypted(&store).await);
    }

    #[tokio::test]
    async fn sslmode_disable_is_plain_text() {
        // The check above can fail: this is the same query seeing `false`.
        let Some(url) = url_with("sslmode_disable_is_plain_text", "sslmode=disable") else {
            return;
        };
        let store = PostgresStore::connect(&url).await.unwrap();
        assert!(!encrypted(&store).await);
    }

    #[tokio::test]
    async fn an_untrusted_certificate_is_a_configuration_error() {
        // The self-signed certificate is in no root store.
        for mode in ["verify-full", "verify-ca"] {
            let Some(url) = url_with(
                "an_untrusted_certificate_is_a_configuration_error",
                &format!("sslmode={mode}"),
            ) else {
                return;
            };
            let text = config_error(&url).await;
            assert!(
                text.starts_with(
                    "TLS to PostgreSQL failed: invalid peer certificate: UnknownIssuer"
                ) && text.contains("sslrootcert="),
                "{text}"
            );
            let error = AuthError::InvalidConfig(text);
            assert_eq!(
                (
                    HttpError::status_for(&error),
                    HttpError::from(&error).problem().code.as_str()
                ),
                (500, "internal_error")
            );
        }
    }

    #[tokio::test]
    async fn a_missing_root_certificate_file_is_a_configuration_error() {
        let Some(url) = url_with(
            "a_missing_root_certificate_file_is_a_configuration_error",
            "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        ) else {
            return;
        };
        let text = config_error(&url).await;
        assert!(text.contains("cannot be read"), "{text}");
    }

    #[tokio::test]
    async fn the_servers_own_certificate_as_root_passes_verify_ca() {
        let Some(base) = url_with("the_servers_own_certificate_as_root_passes_verify_ca", "")
        else {
            return;
        };
        let Some(certificate) = server_certificate().await else {
            return;
        };
        let store = PostgresStore::connect(&format!(
            "{base}sslmode=verify-ca&sslrootcert={certificate}"
        ))
        .await
        .unwrap();
        assert!(encrypted(&store).await);
    }

    #[tokio::test]
    async fn verify_full_checks_the_host_name() {
        // The test server's certificate (Debian's snakeoil) is issued for
        // `localhost`: verify-full passes by that name and fails by IP.
        let Some(base) = url_with("verify_full_checks_the_host_name", "") else {
            return;
        };
        let Some(certificate) = server_certificate().await else {
            return;
        };
        let by_ip = format!("{base}sslmode=verify-full&sslrootcert={certificate}");
        let text = config_error(&by_ip).await;
        assert!(
            text.starts_with(
                "TLS to PostgreSQL failed: invalid peer certificate: certificate not valid for name"
            ) && text.contains("verify-ca"),
            "{text}"
        );
        let Some(by_name) = localhost(&by_ip) else {
            common::skipped("verify_full_checks_the_host_name: the URL's host is not 127.0.0.1");
            return;
        };
        let store = PostgresStore::connect(&by_name).await.unwrap();
        assert!(encrypted(&store).await);
    }

    /// `url` with the host 127.0.0.1 renamed `localhost`.
    fn localhost(url: &str) -> Option<String> {
        let (scheme, rest) = url.split_once("://")?;
        let (credentials, rest) = rest.split_once('@').unwrap_or(("", rest));
        let rest = rest.strip_prefix("127.0.0.1")?;
        let at = if credentials.is_empty() { "" } else { "@" };
        Some(format!("{scheme}://{credentials}{at}localhost{rest}"))
    }
}

#[cfg(not(feature = "postgres-tls"))]
#[tokio::test]
async fn without_the_feature_tls_names_the_feature() {
    let Some(url) = url_with(
        "without_the_feature_tls_names_the_feature",
        "sslmode=require",
    ) else {
        return;
    };
    let text = config_error(&url).await;
    assert!(
        text.starts_with("TLS to PostgreSQL failed") && text.contains("`postgres-tls`"),
        "{text}"
    );
}
