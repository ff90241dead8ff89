//! Rows as read back from either backend, and their conversion to
//! auth-core's types. The backends differ only in how a time is stored
//! ([`DbTime`]).

use auth_core::{
    AuthError, Email, SessionId, User, UserId,
    password::PasswordHash,
    store::{
        Credential, CredentialId, CredentialKind, OneTimeTokenRecord, RefreshTokenHash,
        RefreshTokenMatch, Session, SessionClient, TokenPurpose, UserRecord,
    },
};
use time::OffsetDateTime;

/// A time as a backend stores it.
pub(crate) trait DbTime: Sized {
    fn into_datetime(self) -> Result<OffsetDateTime, AuthError>;
}

/// The columns of `auth_users` that clients may see.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow<T> {
    id: String,
    email: String,
    email_verified: bool,
    name: Option<String>,
    has_password: bool,
    created_at: T,
    updated_at: T,
}

impl<T: DbTime> UserRow<T> {
    pub(crate) fn into_user(self) -> Result<User, AuthError> {
        Ok(User {
            id: UserId::new(self.id),
            // Written by this crate from an `Email`, so already normalised.
            email: Email::from_stored(self.email),
            email_verified: self.email_verified,
            name: self.name,
            has_password: self.has_password,
            two_factor_enabled: false,
            created_at: self.created_at.into_datetime()?,
            updated_at: self.updated_at.into_datetime()?,
        })
    }
}

/// A user with its password hash, for sign-in.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRecordRow<T> {
    #[sqlx(flatten)]
    user: UserRow<T>,
    password_hash: String,
}

impl<T: DbTime> UserRecordRow<T> {
    pub(crate) fn into_record(self) -> Result<UserRecord, AuthError> {
        Ok(UserRecord {
            user: self.user.into_user()?,
            password_hash: PasswordHash::from_phc(self.password_hash)?,
        })
    }
}

/// A session, and when the looked-up hash was rotated away if it was.
#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow<T> {
    id: String,
    user_id: String,
    refresh_token_hash: Vec<u8>,
    created_at: T,
    expires_at: T,
    revoked_at: Option<T>,
    last_active_at: T,
    user_agent: Option<String>,
    ip: Option<String>,
    /// Absent from queries that read current sessions only.
    #[sqlx(default)]
    rotated_at: Option<T>,
}

impl<T: DbTime> SessionRow<T> {
    pub(crate) fn into_match(mut self) -> Result<RefreshTokenMatch, AuthError> {
        let rotated_at = self.rotated_at.take();
        let session = self.into_session()?;
        Ok(match rotated_at {
            None => RefreshTokenMatch::Current(session),
            Some(rotated_at) => RefreshTokenMatch::Rotated {
                session,
                rotated_at: rotated_at.into_datetime()?,
            },
        })
    }

    /// The session, without `rotated_at`.
    pub(crate) fn into_session(self) -> Result<Session, AuthError> {
        let hash: [u8; 32] = self
            .refresh_token_hash
            .try_into()
            .map_err(|_| AuthError::internal("stored refresh-token hash is not 32 bytes"))?;
        Ok(Session {
            id: SessionId::new(self.id),
            user_id: UserId::new(self.user_id),
            refresh_token_hash: RefreshTokenHash::from_bytes(hash),
            created_at: self.created_at.into_datetime()?,
            expires_at: self.expires_at.into_datetime()?,
            revoked_at: self.revoked_at.map(DbTime::into_datetime).transpose()?,
            last_active_at: self.last_active_at.into_datetime()?,
            user_agent: self.user_agent,
            ip: self
                .ip
                .map(|ip| ip.parse())
                .transpose()
                .map_err(|_| AuthError::internal("stored session ip is not an address"))?,
        })
    }
}

/// A refresh's client as bound to [`sql::TOUCH_SESSION`] and the like:
/// whether to write it at all (`None` leaves the columns as they are),
/// then its user agent and address.
pub(crate) struct ClientColumns {
    pub(crate) set: bool,
    pub(crate) user_agent: Option<String>,
    pub(crate) ip: Option<String>,
}

impl ClientColumns {
    pub(crate) fn of(client: Option<&SessionClient>) -> Self {
        Self {
            set: client.is_some(),
            user_agent: client.and_then(|c| c.user_agent().map(str::to_owned)),
            ip: client.and_then(SessionClient::ip).map(|ip| ip.to_string()),
        }
    }
}

/// A one-time token as a consuming `DELETE … RETURNING` gives it back.
#[derive(sqlx::FromRow)]
pub(crate) struct OneTimeTokenRow<T> {
    purpose: String,
    user_id: String,
    email: String,
    created_at: T,
    expires_at: T,
}

impl<T: DbTime> OneTimeTokenRow<T> {
    pub(crate) fn into_record(self) -> Result<OneTimeTokenRecord, AuthError> {
        Ok(OneTimeTokenRecord {
            purpose: TokenPurpose::from_stored(self.purpose),
            user_id: UserId::new(self.user_id),
            // Written by this crate from an `Email`, so already normalised.
            email: Email::from_stored(self.email),
            created_at: self.created_at.into_datetime()?,
            expires_at: self.expires_at.into_datetime()?,
        })
    }
}

/// A row of `auth_credentials`.
#[derive(sqlx::FromRow)]
pub(crate) struct CredentialRow<T> {
    id: String,
    kind: String,
    lookup: String,
    user_id: Option<String>,
    data: Vec<u8>,
    version: i64,
    created_at: T,
    last_used_at: Option<T>,
    expires_at: Option<T>,
}

impl<T: DbTime> CredentialRow<T> {
    pub(crate) fn into_credential(self) -> Result<Credential, AuthError> {
        Ok(Credential {
            id: CredentialId::new(self.id),
            kind: CredentialKind::from_stored(self.kind),
            lookup: self.lookup,
            user_id: self.user_id.map(UserId::new),
            data: self.data,
            version: u64::try_from(self.version)
                .map_err(|_| AuthError::internal("stored credential version is negative"))?,
            created_at: self.created_at.into_datetime()?,
            last_used_at: self.last_used_at.map(DbTime::into_datetime).transpose()?,
            expires_at: self.expires_at.map(DbTime::into_datetime).transpose()?,
        })
    }
}

/// A row of the mail queue.
#[derive(sqlx::FromRow)]
pub(crate) struct MailRow<T> {
    id: i64,
    ordering_key: String,
    payload: String,
    created_at: T,
    not_before: T,
    attempts: i32,
    claimed_until: Option<T>,
}

impl<T: DbTime> MailRow<T> {
    pub(crate) fn into_mail(self) -> Result<auth_core::mail::QueuedMail, AuthError> {
        Ok(auth_core::mail::QueuedMail {
            id: self.id,
            key: self.ordering_key,
            payload: self.payload,
            created_at: self.created_at.into_datetime()?,
            not_before: self.not_before.into_datetime()?,
            attempts: u32::try_from(self.attempts)
                .map_err(|_| AuthError::internal("stored attempts are negative"))?,
            claimed_until: self.claimed_until.map(DbTime::into_datetime).transpose()?,
        })
    }
}

/// The session columns of [`SessionRow`], for `SELECT … FROM auth_sessions s`.
macro_rules! session_columns {
    () => {
        "s.id, s.user_id, s.refresh_token_hash, s.created_at, s.expires_at, s.revoked_at, \
         s.last_active_at, s.user_agent, s.ip"
    };
}

/// A refresh's mark on its session, as `SET` assignments: the time `$now`
/// and, only if `$set` is true, the user agent `$agent` and address `$ip`.
macro_rules! touch_session {
    ($now:literal, $agent:literal, $ip:literal, $set:literal) => {
        concat!(
            "last_active_at = ",
            $now,
            ", user_agent = CASE WHEN ",
            $set,
            " THEN ",
            $agent,
            " ELSE user_agent END, ip = CASE WHEN ",
            $set,
            " THEN ",
            $ip,
            " ELSE ip END"
        )
    };
}

/// The compare-and-swap of a rotation of the session's main hash: only the
/// main hash `$2` of active session `$1` (at `$4`) becomes `$3`. With
/// `touching`, it also marks the session as [`touch_session`] does.
macro_rules! rotate_main_hash {
    () => {
        rotate_main_hash!(set "")
    };
    (touching $now:literal, $agent:literal, $ip:literal, $set:literal) => {
        rotate_main_hash!(set concat!(", ", touch_session!($now, $agent, $ip, $set)))
    };
    (set $more:expr) => {
        concat!(
            "UPDATE auth_sessions SET refresh_token_hash = $3",
            $more,
            " WHERE id = $1 AND refresh_token_hash = $2 AND revoked_at IS NULL AND expires_at > $4"
        )
    };
}

/// The compare-and-swap of a rotation of a sibling hash: only sibling `$2`
/// of active session `$1` (at `$4`) is deleted.
macro_rules! take_sibling_hash {
    () => {
        "DELETE FROM auth_refresh_token_siblings \
         WHERE refresh_token_hash = $2 AND session_id = $1 AND EXISTS (SELECT 1 FROM auth_sessions \
         WHERE id = $1 AND revoked_at IS NULL AND expires_at > $4)"
    };
}

/// Counts one reuse of hash `$2`, only if session `$1` rotated it away at
/// or after `$4`, it was reused fewer than `$5` times and the session is
/// active at `$6`. The bound is in the `WHERE`: PostgreSQL re-checks it
/// against the row a concurrent reuse committed, SQLite runs reuses in
/// turn, so no more than `$5` ever match.
macro_rules! count_reuse {
    () => {
        "UPDATE auth_rotated_refresh_tokens SET reuses = reuses + 1 \
         WHERE refresh_token_hash = $2 AND session_id = $1 AND rotated_at >= $4 \
         AND reuses < $5 AND EXISTS (SELECT 1 FROM auth_sessions \
         WHERE id = $1 AND revoked_at IS NULL AND expires_at > $6)"
    };
}

/// The columns of [`UserRow`].
macro_rules! user_columns {
    () => {
        "id, email, email_verified, name, \
         (password_hash <> '$none$') AS has_password, created_at, updated_at"
    };
}

/// The columns of [`OneTimeTokenRow`].
macro_rules! one_time_token_columns {
    () => {
        "purpose, user_id, email, created_at, expires_at"
    };
}

/// The columns of [`CredentialRow`].
macro_rules! credential_columns {
    () => {
        "id, kind, lookup, user_id, data, version, created_at, last_used_at, expires_at"
    };
}

/// The columns of [`MailRow`].
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

/// SQL both backends run unchanged (sqlx binds `$n` on SQLite too), unless
/// named for one.
pub(crate) mod sql {
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

    /// Its last activity is its creation.
    pub(crate) const INSERT_SESSION: &str = "INSERT INTO auth_sessions \
         (id, user_id, refresh_token_hash, created_at, expires_at, last_active_at, user_agent, ip) \
         VALUES ($1, $2, $3, $4, $5, $4, $6, $7)";

    /// One round trip: the session that rotated this hash away (with
    /// `rotated_at`), else the one whose current hash it is, as its main
    /// hash or a sibling. A hash is in one of the three places at most; the
    /// rotated one comes first because PostgreSQL types the `NULL`s of a
    /// `UNION` by the branches before them.
    pub(crate) const FIND_SESSION_BY_REFRESH_TOKEN: &str = concat!(
        "SELECT ",
        session_columns!(),
        ", r.rotated_at FROM auth_rotated_refresh_tokens r \
         JOIN auth_sessions s ON s.id = r.session_id WHERE r.refresh_token_hash = $1 \
         UNION ALL SELECT ",
        session_columns!(),
        ", NULL AS rotated_at FROM auth_sessions s WHERE s.refresh_token_hash = $1 \
         UNION ALL SELECT ",
        session_columns!(),
        ", NULL AS rotated_at FROM auth_refresh_token_siblings t \
         JOIN auth_sessions s ON s.id = t.session_id WHERE t.refresh_token_hash = $1 \
         LIMIT 1"
    );

    /// A rotation of the main hash (SQLite; PostgreSQL's `ROTATE` holds it).
    #[cfg(feature = "sqlite")]
    pub(crate) const ROTATE_MAIN_HASH: &str = rotate_main_hash!();

    /// A rotation of a sibling hash (SQLite; PostgreSQL's `ROTATE` holds it).
    #[cfg(feature = "sqlite")]
    pub(crate) const TAKE_SIBLING_HASH: &str = take_sibling_hash!();

    /// Remembers `$2` as rotated away by session `$1` at `$3`.
    #[cfg(feature = "sqlite")]
    pub(crate) const INSERT_ROTATED_HASH: &str = "INSERT INTO auth_rotated_refresh_tokens \
         (refresh_token_hash, session_id, rotated_at) VALUES ($1, $2, $3)";

    /// Makes `$1` a sibling hash of session `$2`, at `$3`.
    #[cfg(feature = "sqlite")]
    pub(crate) const INSERT_SIBLING_HASH: &str = "INSERT INTO auth_refresh_token_siblings \
         (refresh_token_hash, session_id, created_at) VALUES ($1, $2, $3)";

    /// One reuse counted (SQLite; PostgreSQL's `REUSE` holds it).
    #[cfg(feature = "sqlite")]
    pub(crate) const COUNT_REUSE: &str = count_reuse!();

    /// A refresh's mark on session `$1`: the time `$2` and, if `$5`, the
    /// client (`$3`, `$4`). SQLite runs it in the rotation's or reuse's
    /// transaction; PostgreSQL's `ROTATE` and `REUSE` hold it.
    #[cfg(feature = "sqlite")]
    pub(crate) const TOUCH_SESSION: &str = concat!(
        "UPDATE auth_sessions SET ",
        touch_session!("$2", "$3", "$4", "$5"),
        " WHERE id = $1"
    );

    /// Rotation in one statement: the compare-and-swap of the main hash or
    /// of a sibling (only one can match), the successor made a sibling in
    /// the second case, and the rotated-away hash remembered. Under
    /// concurrent rotations of one hash, PostgreSQL re-checks the `WHERE` of
    /// a waiting `UPDATE` against the row the winner committed, and a
    /// waiting `DELETE` finds the row gone, so exactly one matches. The
    /// session is marked (time `$4`, client `$5`, `$6` if `$7`) by the
    /// main hash's `UPDATE`, or by `touched` after a sibling's: never both,
    /// so no row is updated twice.
    #[cfg(feature = "postgres")]
    pub(crate) const ROTATE: &str = concat!(
        "WITH main AS (",
        rotate_main_hash!(touching "$4", "$5", "$6", "$7"),
        " RETURNING id), sibling AS (",
        take_sibling_hash!(),
        " RETURNING session_id AS id), touched AS (UPDATE auth_sessions SET ",
        touch_session!("$4", "$5", "$6", "$7"),
        " WHERE id IN (SELECT id FROM sibling)), successor AS (\
         INSERT INTO auth_refresh_token_siblings (refresh_token_hash, session_id, created_at) \
         SELECT $3, id, $4 FROM sibling) \
         INSERT INTO auth_rotated_refresh_tokens (refresh_token_hash, session_id, rotated_at) \
         SELECT $2, id, $4 FROM main UNION ALL SELECT $2, id, $4 FROM sibling"
    );

    /// A reuse in one statement: the reuse counted and, only if it was,
    /// `$3` made a sibling of the session and the session marked (time
    /// `$6`, client `$7`, `$8` if `$9`).
    #[cfg(feature = "postgres")]
    pub(crate) const REUSE: &str = concat!(
        "WITH reused AS (",
        count_reuse!(),
        " RETURNING session_id), touched AS (UPDATE auth_sessions SET ",
        touch_session!("$6", "$7", "$8", "$9"),
        " WHERE id IN (SELECT session_id FROM reused)) \
         INSERT INTO auth_refresh_token_siblings (refresh_token_hash, session_id, created_at) \
         SELECT $3, session_id, $6 FROM reused"
    );

    /// Keeps the first revocation time.
    pub(crate) const REVOKE_SESSION: &str =
        "UPDATE auth_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

    /// All active sessions of `$1` but `$3` (none spared when `$3` is NULL).
    pub(crate) const REVOKE_USER_SESSIONS: &str = "UPDATE auth_sessions SET revoked_at = $2 \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         AND ($3 IS NULL OR id <> $3)";

    /// One session, only if it is `$2`'s and active.
    pub(crate) const REVOKE_USER_SESSION: &str = "UPDATE auth_sessions SET revoked_at = $3 \
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3";

    /// Newest first; ties by id, compared bytewise as auth-core's `Ord`
    /// does (SQLite's default `BINARY` collation).
    #[cfg(feature = "sqlite")]
    pub(crate) const LIST_ACTIVE_SESSIONS_SQLITE: &str = concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL \
         AND s.expires_at > $2 ORDER BY s.created_at DESC, s.id DESC"
    );

    /// As on SQLite; the `"C"` collation compares bytes whatever the
    /// database's collation is.
    #[cfg(feature = "postgres")]
    pub(crate) const LIST_ACTIVE_SESSIONS_POSTGRES: &str = concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL \
         AND s.expires_at > $2 ORDER BY s.created_at DESC, s.id COLLATE \"C\" DESC"
    );

    /// A primary-key lookup (PostgreSQL batches it: `session_checks`).
    #[cfg(feature = "sqlite")]
    pub(crate) const ACTIVE_SESSION_OWNER: &str = "SELECT user_id FROM auth_sessions \
         WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2";

    /// One batch of ended sessions; their rotated and sibling hashes go
    /// with them (`ON DELETE CASCADE`).
    pub(crate) const DELETE_ENDED_SESSIONS: &str = "DELETE FROM auth_sessions WHERE id IN \
         (SELECT id FROM auth_sessions WHERE expires_at < $1 OR revoked_at < $1 LIMIT $2)";

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
    /// that finds nothing takes no write lock.
    #[cfg(feature = "sqlite")]
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

    pub(crate) const MAIL_QUEUE_STATUS: &str =
        "SELECT COUNT(*), MIN(created_at) FROM auth_mail_outbox";
}
