//! SQL both backends run unchanged (sqlx binds `$n` on SQLite too), unless
//! named for one.
//!
//! The statements on sessions and their refresh tokens are in
//! [`session`]; the rows they read back are in [`crate::rows`].

/// The columns of [`UserRow`](crate::rows::UserRow).
macro_rules! user_columns {
    () => {
        "id, email, email_verified, name, \
         (password_hash <> '$none$') AS has_password, created_at, updated_at"
    };
}

/// The columns of [`OneTimeTokenRow`](crate::rows::OneTimeTokenRow).
macro_rules! one_time_token_columns {
    () => {
        "purpose, user_id, email, created_at, expires_at"
    };
}

/// The columns of [`CredentialRow`](crate::rows::CredentialRow).
macro_rules! credential_columns {
    () => {
        "id, kind, lookup, user_id, data, version, created_at, last_used_at, expires_at"
    };
}

/// The columns of [`MailRow`](crate::rows::MailRow).
macro_rules! mail_columns {
    () => {
        "id, ordering_key, payload, created_at, not_before, attempts, claimed_until"
    };
}

/// Whether the queued row `o` is due at `$1`: its time has come, nobody
/// holds it, and it is the oldest row of its key.
macro_rules! mail_due {
    () => {
        "o.not_before <= $1 AND (o.claimed_until IS NULL OR o.claimed_until <= $1) \
         AND NOT EXISTS (SELECT 1 FROM auth_mail_outbox e \
         WHERE e.ordering_key = o.ordering_key AND e.id < o.id)"
    };
}

mod session;

pub(crate) use session::*;

pub(crate) const FIND_USER_BY_EMAIL: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", password_hash FROM auth_users WHERE email = $1"
);

pub(crate) const FIND_USER_BY_ID: &str =
    concat!("SELECT ", user_columns!(), " FROM auth_users WHERE id = $1");

pub(crate) const UPDATE_PASSWORD_HASH: &str =
    "UPDATE auth_users SET password_hash = $2, updated_at = $3 WHERE id = $1";

pub(crate) const UPDATE_NAME: &str = concat!(
    "UPDATE auth_users SET name = $2, updated_at = $3 WHERE id = $1 RETURNING ",
    user_columns!()
);

/// The compare-and-set: only while the email is still `$2`. Another
/// user holding `$3` is a violation of the unique email constraint.
pub(crate) const SET_VERIFIED_EMAIL: &str = concat!(
    "UPDATE auth_users SET email = $3, email_verified = TRUE, updated_at = $4 \
     WHERE id = $1 AND email = $2 RETURNING ",
    user_columns!()
);

/// Sessions, their rotated and sibling hashes and one-time tokens go
/// with the user (`ON DELETE CASCADE`), in this one statement.
pub(crate) const DELETE_USER: &str = "DELETE FROM auth_users WHERE id = $1";

pub(crate) const INSERT_USER: &str = "INSERT INTO auth_users \
     (id, email, email_verified, name, password_hash, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6)";

/// Rows deleted per statement by the cleanups.
pub(crate) const DELETE_BATCH: i64 = 1000;

/// The user's other tokens of this purpose: a newer link voids them.
/// Also `void_one_time_tokens`.
pub(crate) const DELETE_USER_ONE_TIME_TOKENS: &str =
    "DELETE FROM auth_one_time_tokens WHERE user_id = $1 AND purpose = $2";

pub(crate) const INSERT_ONE_TIME_TOKEN: &str = "INSERT INTO auth_one_time_tokens \
     (hash, purpose, user_id, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// Using a token up is this one statement: of concurrent ones, only
/// the one that deletes the row gets it back.
pub(crate) const CONSUME_ONE_TIME_TOKEN: &str = concat!(
    "DELETE FROM auth_one_time_tokens WHERE hash = $1 AND purpose = $2 AND expires_at > $3 \
     RETURNING ",
    one_time_token_columns!()
);

/// One batch of expired tokens.
pub(crate) const DELETE_EXPIRED_ONE_TIME_TOKENS: &str = "DELETE FROM auth_one_time_tokens \
     WHERE hash IN (SELECT hash FROM auth_one_time_tokens WHERE expires_at < $1 LIMIT $2)";

/// Stores a credential at version 1, or nothing if its (kind, lookup)
/// is taken: the unique index decides, also between racing inserts (on
/// PostgreSQL the second waits for the first to commit). A conflict on
/// `id` is still an error.
pub(crate) const INSERT_CREDENTIAL: &str = "INSERT INTO auth_credentials \
     (id, kind, lookup, user_id, data, version, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, 1, $6, $7) ON CONFLICT (kind, lookup) DO NOTHING";

/// One statement that replaces the row with this (kind, lookup), id
/// included, or inserts one: as a delete and an insert, but atomic
/// under races too (a concurrent replacement waits for the row, then
/// replaces the winner's).
pub(crate) const REPLACE_CREDENTIAL: &str = "INSERT INTO auth_credentials \
     (id, kind, lookup, user_id, data, version, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, 1, $6, $7) ON CONFLICT (kind, lookup) DO UPDATE SET \
     id = excluded.id, user_id = excluded.user_id, data = excluded.data, version = 1, \
     created_at = excluded.created_at, last_used_at = NULL, expires_at = excluded.expires_at";

pub(crate) const GET_CREDENTIAL: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM auth_credentials WHERE id = $1"
);

pub(crate) const FIND_CREDENTIAL: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM auth_credentials WHERE kind = $1 AND lookup = $2"
);

/// Oldest first; ties by id, bytewise (SQLite's `BINARY` collation).
#[cfg(feature = "sqlite")]
pub(crate) const LIST_CREDENTIALS_SQLITE: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM auth_credentials WHERE user_id = $1 AND kind = $2 ORDER BY created_at, id"
);

/// As on SQLite, with the bytewise `"C"` collation named.
#[cfg(feature = "postgres")]
pub(crate) const LIST_CREDENTIALS_POSTGRES: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM auth_credentials WHERE user_id = $1 AND kind = $2 \
     ORDER BY created_at, id COLLATE \"C\""
);

/// The compare-and-swap: only at version `$2`. PostgreSQL re-checks the
/// `WHERE` of a waiting update against the winner's row, so of
/// concurrent ones exactly one matches; SQLite runs them in turn.
pub(crate) const UPDATE_CREDENTIAL: &str = "UPDATE auth_credentials \
     SET data = $3, last_used_at = COALESCE($4, last_used_at), version = version + 1 \
     WHERE id = $1 AND version = $2";

/// Using a credential up, only at version `$2`: one winner, as above.
pub(crate) const CONSUME_CREDENTIAL: &str =
    "DELETE FROM auth_credentials WHERE id = $1 AND version = $2";

/// One credential, only if `$2` owns it.
pub(crate) const DELETE_USER_CREDENTIAL: &str =
    "DELETE FROM auth_credentials WHERE id = $1 AND user_id = $2";

pub(crate) const DELETE_USER_CREDENTIALS: &str =
    "DELETE FROM auth_credentials WHERE user_id = $1 AND kind = $2";

/// One batch of expired credentials.
pub(crate) const DELETE_EXPIRED_CREDENTIALS: &str = "DELETE FROM auth_credentials \
     WHERE id IN (SELECT id FROM auth_credentials WHERE expires_at < $1 LIMIT $2)";

pub(crate) const ENQUEUE_MAIL: &str = "INSERT INTO auth_mail_outbox \
     (ordering_key, payload, created_at, not_before) VALUES ($1, $2, $3, $4) RETURNING id";

/// Whether any row is due: SQLite reads this first, so that a poll
/// that finds nothing takes no write lock. Not gated: the queue's shared
/// code names it on PostgreSQL too, where it is never run.
pub(crate) const ANY_MAIL_DUE: &str = concat!(
    "SELECT o.id FROM auth_mail_outbox o WHERE ",
    mail_due!(),
    " LIMIT 1"
);

/// The claim, one statement: SQLite runs writers one at a time, so no
/// two claims interleave.
#[cfg(feature = "sqlite")]
pub(crate) const CLAIM_MAIL_SQLITE: &str = concat!(
    "UPDATE auth_mail_outbox SET attempts = attempts + 1, claimed_until = $2 \
     WHERE id IN (SELECT o.id FROM auth_mail_outbox o WHERE ",
    mail_due!(),
    " ORDER BY o.id LIMIT $3) RETURNING ",
    mail_columns!()
);

/// The claim, one statement: the due rows are locked as they are
/// picked, and rows another claim holds locked are skipped, not waited
/// for (`SKIP LOCKED`); should a row be claimed and committed by
/// another between the pick and the update, the repeated `WHERE` (which
/// PostgreSQL re-checks against the committed row) leaves it out.
#[cfg(feature = "postgres")]
pub(crate) const CLAIM_MAIL_POSTGRES: &str = concat!(
    "UPDATE auth_mail_outbox SET attempts = attempts + 1, claimed_until = $2 \
     WHERE id IN (SELECT o.id FROM auth_mail_outbox o WHERE ",
    mail_due!(),
    " ORDER BY o.id LIMIT $3 FOR UPDATE SKIP LOCKED) \
     AND (claimed_until IS NULL OR claimed_until <= $1) RETURNING ",
    mail_columns!()
);

pub(crate) const COMPLETE_MAIL: &str = "DELETE FROM auth_mail_outbox WHERE id = $1";

/// Only while the claim is still `$2` (compare-and-swap).
pub(crate) const RETRY_MAIL_LATER: &str = "UPDATE auth_mail_outbox \
     SET not_before = $3, claimed_until = NULL WHERE id = $1 AND claimed_until = $2";

pub(crate) const CANCEL_MAIL: &str = "DELETE FROM auth_mail_outbox WHERE ordering_key = $1";

pub(crate) const MAIL_QUEUE_STATUS: &str = "SELECT COUNT(*), MIN(created_at) FROM auth_mail_outbox";
