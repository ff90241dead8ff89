//! The [`OneTimeTokenStore`](auth_core::store::OneTimeTokenStore) both backends
//! share, a macro like [`crate::store_impl`], expanded with:
//!
//! * `$store`, `$time` and `$to_db` as there;
//! * `$begin`, the statement that opens a write transaction (SQLite's
//!   `BEGIN IMMEDIATE` takes the write lock up front, so that a second
//!   writer waits for the busy timeout instead of failing on upgrade);
//! * `$lock_user`, a `SELECT` of the user's id that also locks the user's
//!   row where the backend locks rows (PostgreSQL), so that two
//!   replacements for one user run one after the other.
//!
//! Atomicity:
//!
//! * A replacement is one transaction: lock the user, delete the user's
//!   tokens of the purpose, insert the new one. With the user locked, a
//!   concurrent replacement waits and then deletes the token this one
//!   inserted: at most one token per user and purpose survives.
//! * A consumption is one `DELETE … RETURNING`: on PostgreSQL a second
//!   `DELETE` of the row waits for the first and then finds it gone; on
//!   SQLite writers run one at a time. Either way one caller gets the row.
//!   It is read with `fetch_all`, so that the statement runs to
//!   completion on SQLite (see the WAL note on `SqliteStore`).

macro_rules! sql_one_time_token_impl {
    (
        $store:ty,
        time = $time:ty,
        to_db = $to_db:path,
        begin = $begin:expr,
        lock_user = $lock_user:expr
    ) => {
        #[async_trait]
        impl OneTimeTokenStore for $store {
            async fn replace_one_time_token(
                &self,
                token: NewOneTimeToken,
            ) -> Result<(), AuthError> {
                if !storable(token.user_id.as_str()) {
                    return Err(AuthError::UserNotFound);
                }
                let mut transaction = self.pool.begin_with($begin).await.map_err(map_sqlx_error)?;
                let user: Option<String> = sqlx::query_scalar($lock_user)
                    .bind(token.user_id.as_str())
                    .fetch_optional(&mut *transaction)
                    .await
                    .map_err(map_sqlx_error)?;
                if user.is_none() {
                    // Dropping the transaction rolls it back.
                    return Err(AuthError::UserNotFound);
                }
                sqlx::query(sql::DELETE_USER_ONE_TIME_TOKENS)
                    .bind(token.user_id.as_str())
                    .bind(token.purpose.as_str())
                    .execute(&mut *transaction)
                    .await
                    .map_err(map_sqlx_error)?;
                sqlx::query(sql::INSERT_ONE_TIME_TOKEN)
                    .bind(token.hash.as_bytes().as_slice())
                    .bind(token.purpose.as_str())
                    .bind(token.user_id.as_str())
                    .bind(token.email.as_str())
                    .bind($to_db(token.created_at))
                    .bind($to_db(token.expires_at))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|error| {
                        if is_foreign_key_violation(&error) {
                            AuthError::UserNotFound
                        } else {
                            map_sqlx_error(error)
                        }
                    })?;
                transaction.commit().await.map_err(map_sqlx_error)
            }

            async fn consume_one_time_token(
                &self,
                hash: &TokenHash,
                purpose: &TokenPurpose,
                now: OffsetDateTime,
            ) -> Result<Option<OneTimeTokenRecord>, AuthError> {
                if !storable(purpose.as_str()) {
                    return Ok(None);
                }
                sqlx::query_as::<_, OneTimeTokenRow<$time>>(sql::CONSUME_ONE_TIME_TOKEN)
                    .bind(hash.as_bytes().as_slice())
                    .bind(purpose.as_str())
                    .bind($to_db(now))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .into_iter()
                    .next()
                    .map(OneTimeTokenRow::into_record)
                    .transpose()
            }

            async fn void_one_time_tokens(
                &self,
                user_id: &UserId,
                purpose: &TokenPurpose,
            ) -> Result<u64, AuthError> {
                if !storable(user_id.as_str()) || !storable(purpose.as_str()) {
                    return Ok(0);
                }
                let voided = sqlx::query(sql::DELETE_USER_ONE_TIME_TOKENS)
                    .bind(user_id.as_str())
                    .bind(purpose.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(voided.rows_affected())
            }

            async fn delete_expired_one_time_tokens(
                &self,
                expired_before: OffsetDateTime,
            ) -> Result<u64, AuthError> {
                $crate::store_impl::delete_in_batches!(
                    &self.pool,
                    sql::DELETE_EXPIRED_ONE_TIME_TOKENS,
                    $to_db(expired_before)
                )
            }
        }
    };
}

pub(crate) use sql_one_time_token_impl;
