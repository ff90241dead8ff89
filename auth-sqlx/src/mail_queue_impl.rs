//! The [`MailQueue`](auth_core::store::MailQueue) both backends share, a
//! macro like [`crate::store_impl`], expanded with `$store`, `$time` and
//! `$to_db` as there, `$claim`, the backend's claim statement, and
//! `$look_first`, whether a claim first reads whether anything is due.
//!
//! Atomicity: every method is one statement (see the SQL in
//! [`crate::sql`]). A claim is one `UPDATE … WHERE id IN (SELECT …)
//! RETURNING`: on PostgreSQL its `SELECT` locks the rows it picks and
//! skips those another claim holds (`FOR UPDATE SKIP LOCKED`); SQLite runs
//! writers one at a time. Either way no row goes to two claims. On
//! SQLite the claim first reads whether any row is due (`$look_first`),
//! so that the worker's poll takes the database's one write lock only
//! when there is something to claim. Rows are read with `fetch_all`, so
//! that every statement runs to completion (see the WAL note on
//! `SqliteStore`).

macro_rules! sql_mail_queue_impl {
    (
        $store:ty,
        time = $time:ty,
        to_db = $to_db:path,
        claim = $claim:expr,
        look_first = $look_first:expr
    ) => {
        #[async_trait]
        impl ::auth_core::store::MailQueue for $store {
            async fn enqueue(
                &self,
                mail: ::auth_core::mail::NewQueuedMail,
            ) -> Result<i64, AuthError> {
                mail.check()?;
                let ids: Vec<i64> = sqlx::query_scalar(sql::ENQUEUE_MAIL)
                    .bind(mail.key.as_str())
                    .bind(mail.payload.as_str())
                    .bind($to_db(mail.created_at))
                    .bind($to_db(mail.not_before))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                ids.into_iter()
                    .next()
                    .ok_or_else(|| AuthError::internal("the queue returned no id"))
            }

            async fn claim_due(
                &self,
                now: OffsetDateTime,
                until: OffsetDateTime,
                limit: u32,
            ) -> Result<Vec<::auth_core::mail::QueuedMail>, AuthError> {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                if $look_first {
                    let due: Vec<i64> = sqlx::query_scalar(sql::ANY_MAIL_DUE)
                        .bind($to_db(now))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_sqlx_error)?;
                    if due.is_empty() {
                        return Ok(Vec::new());
                    }
                }
                let mut claimed = sqlx::query_as::<_, $crate::rows::MailRow<$time>>($claim)
                    .bind($to_db(now))
                    .bind($to_db(until))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .into_iter()
                    .map($crate::rows::MailRow::into_mail)
                    .collect::<Result<Vec<_>, _>>()?;
                // `RETURNING` promises no order.
                claimed.sort_by_key(|mail| mail.id);
                Ok(claimed)
            }

            async fn complete(&self, id: i64) -> Result<bool, AuthError> {
                let deleted = sqlx::query(sql::COMPLETE_MAIL)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(deleted.rows_affected() == 1)
            }

            async fn retry_later(
                &self,
                claimed: &::auth_core::mail::QueuedMail,
                not_before: OffsetDateTime,
            ) -> Result<bool, AuthError> {
                let Some(claim) = claimed.claimed_until else {
                    return Ok(false);
                };
                let updated = sqlx::query(sql::RETRY_MAIL_LATER)
                    .bind(claimed.id)
                    .bind($to_db(claim))
                    .bind($to_db(not_before))
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(updated.rows_affected() == 1)
            }

            async fn cancel(&self, key: &str) -> Result<u64, AuthError> {
                if !storable(key) {
                    return Ok(0);
                }
                let deleted = sqlx::query(sql::CANCEL_MAIL)
                    .bind(key)
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(deleted.rows_affected())
            }

            async fn queue_status(&self) -> Result<::auth_core::mail::MailQueueStatus, AuthError> {
                let (queued, oldest): (i64, Option<$time>) = sqlx::query_as(sql::MAIL_QUEUE_STATUS)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(::auth_core::mail::MailQueueStatus {
                    queued: u64::try_from(queued).unwrap_or(0),
                    oldest: oldest.map(DbTime::into_datetime).transpose()?,
                })
            }
        }
    };
}

pub(crate) use sql_mail_queue_impl;
