//! The store implementation both backends share.
//!
//! The backends run the same SQL (see [`crate::sql`]) and differ in
//! their pool type, how a time is stored and how a rotation is made atomic.
//! sqlx has no trait for "a query result's row count" or for binding a
//! type on any database, so instead of a generic type the shared code is a
//! macro, expanded once per backend with:
//!
//! * `$store`: the store type, with a field `pool`;
//! * `$time`: the stored time type (implementing `DbTime`), and `$to_db`,
//!   the conversion of an `OffsetDateTime` to it;
//! * `$list`, the backend's `SELECT` of a user's active sessions (ties
//!   are ordered by a collation only PostgreSQL needs to name);
//! * inherent fns on `$store`: `with_pool(pool)`, its constructor;
//!   `async fn rotate(&self, id, current, next, now, client)`, the
//!   backend's atomic rotation; `async fn reuse(&self, id, rotated, next,
//!   rotated_since, max_reuses, now, client)`, its atomic, bounded reuse
//!   of a rotated hash (both mark the session with `now` and the
//!   `ClientColumns` in the same statement or transaction); `async fn session_owner(&self, id, now)`, the
//!   per-request session check.
//!
//! The one-time token store is a second macro, in
//! [`crate::one_time_impl`].

/// Whether an id can be stored at all. PostgreSQL refuses text with a NUL
/// character (an error, not "no rows"), and this crate never generates
/// one, so such an id is simply not found, on both backends alike.
pub(crate) fn storable(id: &str) -> bool {
    !id.contains('\0')
}

/// Runs a `DELETE … LIMIT $2` with cutoff `$1` until it deletes less than
/// a batch; evaluates to `Ok(total)`. In batches, so that no statement
/// holds the write lock (all of SQLite's, or many PostgreSQL rows) for
/// long while sign-ins and refreshes wait.
macro_rules! delete_in_batches {
    ($pool:expr, $sql:expr, $cutoff:expr) => {{
        let mut total = 0;
        loop {
            let deleted = sqlx::query($sql)
                .bind($cutoff)
                .bind(sql::DELETE_BATCH)
                .execute($pool)
                .await
                .map_err(map_sqlx_error)?
                .rows_affected();
            total += deleted;
            if deleted < sql::DELETE_BATCH as u64 {
                break Ok(total);
            }
        }
    }};
}

macro_rules! sql_store_impls {
    (
        $store:ty,
        pool = $pool:ty,
        time = $time:ty,
        to_db = $to_db:path,
        list_active_sessions = $list:expr
    ) => {
        impl $store {
            /// A store on an existing pool (typically the application's own,
            /// so that auth and application data share connections).
            pub fn new(pool: $pool) -> Self {
                Self::with_pool(pool)
            }

            /// The pool, to run the application's own queries on it.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }
        }
        impl ::std::fmt::Debug for $store {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(::std::stringify!($store))
                    .field("connections", &self.pool.size())
                    .finish_non_exhaustive()
            }
        }

        #[async_trait]
        impl UserStore for $store {
            async fn create_user(&self, new: NewUser) -> Result<User, AuthError> {
                let id = UserId::generate()?;
                sqlx::query(sql::INSERT_USER)
                    .bind(id.as_str())
                    .bind(new.email.as_str())
                    .bind(new.email_verified)
                    .bind(new.name.as_deref())
                    .bind(new.password_hash.as_phc())
                    .bind($to_db(new.created_at))
                    .execute(&self.pool)
                    .await
                    .map_err(|error| {
                        if is_email_conflict(&error) {
                            AuthError::EmailTaken
                        } else {
                            map_sqlx_error(error)
                        }
                    })?;
                Ok(User {
                    id,
                    email: new.email,
                    email_verified: new.email_verified,
                    has_password: new.password_hash.is_set(),
                    two_factor_enabled: false,
                    name: new.name,
                    created_at: new.created_at,
                    updated_at: new.created_at,
                })
            }

            async fn find_user_by_email(
                &self,
                email: &Email,
            ) -> Result<Option<UserRecord>, AuthError> {
                sqlx::query_as::<_, UserRecordRow<$time>>(sql::FIND_USER_BY_EMAIL)
                    .bind(email.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .map(UserRecordRow::into_record)
                    .transpose()
            }

            async fn find_user_by_id(&self, id: &UserId) -> Result<Option<User>, AuthError> {
                if !storable(id.as_str()) {
                    return Ok(None);
                }
                sqlx::query_as::<_, UserRow<$time>>(sql::FIND_USER_BY_ID)
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .map(UserRow::into_user)
                    .transpose()
            }

            async fn update_password_hash(
                &self,
                id: &UserId,
                hash: &PasswordHash,
                updated_at: OffsetDateTime,
            ) -> Result<(), AuthError> {
                if !storable(id.as_str()) {
                    return Err(AuthError::UserNotFound);
                }
                let updated = sqlx::query(sql::UPDATE_PASSWORD_HASH)
                    .bind(id.as_str())
                    .bind(hash.as_phc())
                    .bind($to_db(updated_at))
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                match updated.rows_affected() {
                    0 => Err(AuthError::UserNotFound),
                    _ => Ok(()),
                }
            }

            async fn update_name(
                &self,
                id: &UserId,
                name: Option<&str>,
                updated_at: OffsetDateTime,
            ) -> Result<User, AuthError> {
                if !storable(id.as_str()) {
                    return Err(AuthError::UserNotFound);
                }
                // `fetch_all`, not `fetch_optional`: a write must run to
                // completion on SQLite (see `SqliteStore`).
                sqlx::query_as::<_, UserRow<$time>>(sql::UPDATE_NAME)
                    .bind(id.as_str())
                    .bind(name)
                    .bind($to_db(updated_at))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .into_iter()
                    .next()
                    .ok_or(AuthError::UserNotFound)?
                    .into_user()
            }

            async fn set_verified_email(
                &self,
                id: &UserId,
                current: &Email,
                verified: &Email,
                updated_at: OffsetDateTime,
            ) -> Result<Option<User>, AuthError> {
                if !storable(id.as_str()) {
                    return Ok(None);
                }
                // One statement: the `WHERE` is the compare-and-set (a
                // concurrent change of the email makes it match nothing;
                // PostgreSQL re-checks it after waiting for the row lock),
                // the unique email constraint refuses an address taken.
                sqlx::query_as::<_, UserRow<$time>>(sql::SET_VERIFIED_EMAIL)
                    .bind(id.as_str())
                    .bind(current.as_str())
                    .bind(verified.as_str())
                    .bind($to_db(updated_at))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|error| {
                        if is_email_conflict(&error) {
                            AuthError::EmailTaken
                        } else {
                            map_sqlx_error(error)
                        }
                    })?
                    .into_iter()
                    .next()
                    .map(UserRow::into_user)
                    .transpose()
            }

            async fn delete_user(&self, id: &UserId) -> Result<bool, AuthError> {
                if !storable(id.as_str()) {
                    return Ok(false);
                }
                let deleted = sqlx::query(sql::DELETE_USER)
                    .bind(id.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(deleted.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl SessionStore for $store {
            async fn create_session(&self, new: NewSession) -> Result<Session, AuthError> {
                if !storable(new.user_id.as_str()) {
                    return Err(AuthError::UserNotFound);
                }
                sqlx::query(sql::INSERT_SESSION)
                    .bind(new.id.as_str())
                    .bind(new.user_id.as_str())
                    .bind(new.refresh_token_hash.as_bytes().as_slice())
                    .bind($to_db(new.created_at))
                    .bind($to_db(new.expires_at))
                    .bind(new.client.user_agent())
                    .bind(new.client.ip().map(|ip| ip.to_string()))
                    .execute(&self.pool)
                    .await
                    .map_err(|error| {
                        if is_foreign_key_violation(&error) {
                            AuthError::UserNotFound
                        } else {
                            map_sqlx_error(error)
                        }
                    })?;
                Ok(Session {
                    id: new.id,
                    user_id: new.user_id,
                    refresh_token_hash: new.refresh_token_hash,
                    created_at: new.created_at,
                    expires_at: new.expires_at,
                    revoked_at: None,
                    last_active_at: new.created_at,
                    user_agent: new.client.user_agent().map(str::to_owned),
                    ip: new.client.ip(),
                })
            }

            async fn find_session_by_refresh_token(
                &self,
                hash: &RefreshTokenHash,
            ) -> Result<Option<RefreshTokenMatch>, AuthError> {
                sqlx::query_as::<_, SessionRow<$time>>(sql::FIND_SESSION_BY_REFRESH_TOKEN)
                    .bind(hash.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .map(SessionRow::into_match)
                    .transpose()
            }

            async fn rotate_refresh_token(
                &self,
                id: &SessionId,
                current: &RefreshTokenHash,
                next: &RefreshTokenHash,
                now: OffsetDateTime,
                client: Option<&SessionClient>,
            ) -> Result<bool, AuthError> {
                if !storable(id.as_str()) {
                    return Ok(false);
                }
                self.rotate(id, current, next, $to_db(now), ClientColumns::of(client))
                    .await
                    .map_err(map_sqlx_error)
            }

            #[allow(clippy::too_many_arguments)]
            async fn reuse_refresh_token(
                &self,
                id: &SessionId,
                rotated: &RefreshTokenHash,
                next: &RefreshTokenHash,
                rotated_since: OffsetDateTime,
                max_reuses: u32,
                now: OffsetDateTime,
                client: Option<&SessionClient>,
            ) -> Result<bool, AuthError> {
                if !storable(id.as_str()) {
                    return Ok(false);
                }
                self.reuse(
                    id,
                    rotated,
                    next,
                    $to_db(rotated_since),
                    i64::from(max_reuses),
                    $to_db(now),
                    ClientColumns::of(client),
                )
                .await
                .map_err(map_sqlx_error)
            }

            async fn revoke_session(
                &self,
                id: &SessionId,
                now: OffsetDateTime,
            ) -> Result<(), AuthError> {
                if !storable(id.as_str()) {
                    return Ok(());
                }
                sqlx::query(sql::REVOKE_SESSION)
                    .bind(id.as_str())
                    .bind($to_db(now))
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(())
            }

            async fn revoke_user_sessions(
                &self,
                user_id: &UserId,
                keep: Option<&SessionId>,
                now: OffsetDateTime,
            ) -> Result<u64, AuthError> {
                if !storable(user_id.as_str()) {
                    return Ok(0);
                }
                // An id that cannot be stored is no session's: nothing to spare.
                let keep = keep.map(SessionId::as_str).filter(|id| storable(id));
                let revoked = sqlx::query(sql::REVOKE_USER_SESSIONS)
                    .bind(user_id.as_str())
                    .bind($to_db(now))
                    .bind(keep)
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(revoked.rows_affected())
            }

            async fn revoke_user_session(
                &self,
                user_id: &UserId,
                id: &SessionId,
                now: OffsetDateTime,
            ) -> Result<bool, AuthError> {
                if !storable(user_id.as_str()) || !storable(id.as_str()) {
                    return Ok(false);
                }
                let revoked = sqlx::query(sql::REVOKE_USER_SESSION)
                    .bind(id.as_str())
                    .bind(user_id.as_str())
                    .bind($to_db(now))
                    .execute(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?;
                Ok(revoked.rows_affected() == 1)
            }

            async fn list_active_sessions(
                &self,
                user_id: &UserId,
                now: OffsetDateTime,
            ) -> Result<Vec<Session>, AuthError> {
                if !storable(user_id.as_str()) {
                    return Ok(Vec::new());
                }
                sqlx::query_as::<_, SessionRow<$time>>($list)
                    .bind(user_id.as_str())
                    .bind($to_db(now))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .into_iter()
                    .map(SessionRow::into_session)
                    .collect()
            }

            async fn active_session_owner(
                &self,
                id: &SessionId,
                now: OffsetDateTime,
            ) -> Result<Option<UserId>, AuthError> {
                if !storable(id.as_str()) {
                    return Ok(None);
                }
                self.session_owner(id, now).await
            }

            async fn delete_ended_sessions(
                &self,
                ended_before: OffsetDateTime,
            ) -> Result<u64, AuthError> {
                $crate::store_impl::delete_in_batches!(
                    &self.pool,
                    sql::DELETE_ENDED_SESSIONS,
                    $to_db(ended_before)
                )
            }
        }
    };
}

pub(crate) use delete_in_batches;
pub(crate) use sql_store_impls;
