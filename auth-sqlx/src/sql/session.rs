//! The SQL of sessions: their rows, the rotation and reuse of refresh
//! tokens, revocation and cleanup.

/// The session columns of [`SessionRow`](crate::rows::SessionRow), for `SELECT … FROM auth_sessions s`.
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
