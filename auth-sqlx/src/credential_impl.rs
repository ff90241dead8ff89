//! The [`CredentialStore`](auth_core::store::CredentialStore) both backends share,
//! a macro like [`crate::store_impl`], expanded with `$store`, `$time` and
//! `$to_db` as there, and `$list`, the backend's `SELECT` of a user's
//! credentials of a kind (ties are ordered by a collation only PostgreSQL
//! needs to name).
//!
//! Atomicity: every method is one statement (see the SQL in
//! [`crate::sql`]). Inserts and replacements race on the unique
//! index of (kind, lookup) (`ON CONFLICT`); updates and consumptions name
//! the version they read in their `WHERE`, which PostgreSQL re-checks after
//! waiting for a concurrent writer's row, and SQLite's writers run one at a
//! time: either way exactly one of racing callers changes the row.

use auth_core::AuthError;

use crate::error::{is_foreign_key_violation, map_sqlx_error};

/// A write naming a user that does not exist is [`AuthError::UserNotFound`].
pub(crate) fn map_write_error(error: sqlx::Error) -> AuthError {
    if is_foreign_key_violation(&error) {
        AuthError::UserNotFound
    } else {
        map_sqlx_error(error)
    }
}

/// The version as stored (`BIGINT`); a version beyond it matches no row.
pub(crate) fn stored_version(version: u64) -> Option<i64> {
    i64::try_from(version).ok()
}

macro_rules! sql_credential_impl {
    ($store:ty, time = $time:ty, to_db = $to_db:path, list = $list:expr) => {
        impl $store {
            /// Runs an insert or replacement of `new` after the checks
            /// every store makes; returns the rows it wrote.
            async fn write_credential(
                &self,
                sql: &'static str,
                new: &::auth_core::store::NewCredential,
            ) -> Result<u64, AuthError> {
                new.check()?;
                if new
                    .user_id
                    .as_ref()
                    .is_some_and(|id| !storable(id.as_str()))
                {
                    return Err(AuthError::UserNotFound);
                }
                let written = sqlx::query(sql)
                    .bind(new.id.as_str())
                    .bind(new.kind.as_str())
                    .bind(new.lookup.as_str())
                    .bind(new.user_id.as_ref().map(UserId::as_str))
                    .bind(new.data.as_slice())
                    .bind($to_db(new.created_at))
                    .bind(new.expires_at.map($to_db))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::credential_impl::map_write_error)?;
                Ok(written.rows_affected())
            }
        }

        #[async_trait]
        impl ::auth_core::store::CredentialStore for $store {
            async fn insert(
                &self,
                new: ::auth_core::store::NewCredential,
            ) -> Result<Option<::auth_core::store::Credential>, AuthError> {
                let written = self.write_credential(sql::INSERT_CREDENTIAL, &new).await?;
                Ok((written == 1).then(|| ::auth_core::store::Credential::from(new)))
            }

            async fn replace(
                &self,
                new: ::auth_core::store::NewCredential,
            ) -> Result<::auth_core::store::Credential, AuthError> {
                self.write_credential(sql::REPLACE_CREDENTIAL, &new).await?;
                Ok(::auth_core::store::Credential::from(new))
            }

            async fn get(
                &self,
                id: &::auth_core::store::CredentialId,
            ) -> Result<Option<::auth_core::store::Credential>, AuthError> {
                if !storable(id.as_str()) {
                    return Ok(None);
                }
                sqlx::query_as::<_, $crate::rows::CredentialRow<$time>>(sql::GET_CREDENTIAL)
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .map($crate::rows::CredentialRow::into_credential)
                    .transpose()
            }

            async fn find(
                &self,
                kind: &::auth_core::store::CredentialKind,
                lookup: &str,
            ) -> Result<Option<::auth_core::store::Credential>, AuthError> {
                let lookup_ok = ::auth_core::store::NewCredential::is_valid_lookup(lookup);
                if !kind.is_valid() || !lookup_ok {
                    return Ok(None);
                }
                sqlx::query_as::<_, $crate::rows::CredentialRow<$time>>(sql::FIND_CREDENTIAL)
                    .bind(kind.as_str())
                    .bind(lookup)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .map($crate::rows::CredentialRow::into_credential)
                    .transpose()
            }

            async fn list(
                &self,
                user_id: &UserId,
                kind: &::auth_core::store::CredentialKind,
            ) -> Result<Vec<::auth_core::store::Credential>, AuthError> {
                if !storable(user_id.as_str()) || !kind.is_valid() {
                    return Ok(Vec::new());
                }
                sqlx::query_as::<_, $crate::rows::CredentialRow<$time>>($list)
                    .bind(user_id.as_str())
                    .bind(kind.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .into_iter()
                    .map($crate::rows::CredentialRow::into_credential)
                    .collect()
            }

            async fn update(
                &self,
                id: &::auth_core::store::CredentialId,
                expected_version: u64,
                data: &[u8],
                last_used_at: Option<OffsetDateTime>,
            ) -> Result<bool, AuthError> {
                let Some(version) = $crate::credential_impl::stored_version(expected_version)
                else {
                    return Ok(false);
                };
                if !storable(id.as_str()) {
                    return Ok(false);
                }
                let updated = sqlx::query(sql::UPDATE_CREDENTIAL)
                    .bind(id.as_str())
                    .bind(version)
                    .bind(data)
                    .bind(last_used_at.map($to_db))
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(updated.rows_affected() == 1)
            }

            async fn consume(
                &self,
                id: &::auth_core::store::CredentialId,
                expected_version: u64,
            ) -> Result<bool, AuthError> {
                let Some(version) = $crate::credential_impl::stored_version(expected_version)
                else {
                    return Ok(false);
                };
                if !storable(id.as_str()) {
                    return Ok(false);
                }
                let consumed = sqlx::query(sql::CONSUME_CREDENTIAL)
                    .bind(id.as_str())
                    .bind(version)
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(consumed.rows_affected() == 1)
            }

            async fn delete(
                &self,
                user_id: &UserId,
                id: &::auth_core::store::CredentialId,
            ) -> Result<bool, AuthError> {
                if !storable(user_id.as_str()) || !storable(id.as_str()) {
                    return Ok(false);
                }
                let deleted = sqlx::query(sql::DELETE_USER_CREDENTIAL)
                    .bind(id.as_str())
                    .bind(user_id.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(deleted.rows_affected() == 1)
            }

            async fn delete_for_user(
                &self,
                user_id: &UserId,
                kind: &::auth_core::store::CredentialKind,
            ) -> Result<u64, AuthError> {
                if !storable(user_id.as_str()) || !kind.is_valid() {
                    return Ok(0);
                }
                let deleted = sqlx::query(sql::DELETE_USER_CREDENTIALS)
                    .bind(user_id.as_str())
                    .bind(kind.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(deleted.rows_affected())
            }

            async fn delete_expired(
                &self,
                expired_before: OffsetDateTime,
            ) -> Result<u64, AuthError> {
                $crate::store_impl::delete_in_batches!(
                    &self.pool,
                    sql::DELETE_EXPIRED_CREDENTIALS,
                    $to_db(expired_before)
                )
            }
        }
    };
}

pub(crate) use sql_credential_impl;
