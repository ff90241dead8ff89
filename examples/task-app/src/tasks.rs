//! Tasks: the request and response bodies, their rules, and the store.
//! Every query names the user, so one user's request can never read or
//! change another user's rows; a task that is not the user's is "not found".

use std::sync::Arc;

use auth_core::{
    AuthError, Principal, UserId, http::HttpError, openapi::trimmed_text_pattern, problem::Problem,
};
use serde::{Deserialize, Deserializer, Serialize};
use sqlx::{PgPool, SqlitePool};
use time::OffsetDateTime;
use utoipa::{
    IntoParams, ToSchema,
    openapi::{Object, ObjectBuilder, Type, schema::SchemaType},
};

use crate::inline_reads::{self, InlineReads};

/// The longest title, in characters (Unicode scalar values), after trimming.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// A task as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// Positive, assigned by the database.
    pub id: i64,
    /// The owner.
    pub user_id: String,
    /// 1 to 200 characters, trimmed.
    pub title: String,
    /// At most 1000 characters.
    pub description: Option<String>,
    /// Whether the task is done.
    pub completed: bool,
    /// RFC 3339, UTC, microsecond precision.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// RFC 3339, UTC; changes on every update.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `POST /api/{user_id}/tasks` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewTask {
    /// Trimmed, then 1 to 200 characters.
    #[schema(schema_with = title_schema)]
    pub title: String,
    /// At most 1000 characters.
    #[serde(default)]
    #[schema(schema_with = new_description_schema)]
    pub description: Option<String>,
}

/// `PUT /api/{user_id}/tasks/{id}` body: omitted optional fields keep their
/// value; `"description": null` clears the description.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TaskUpdate {
    /// Trimmed, then 1 to 200 characters.
    #[schema(schema_with = title_schema)]
    pub title: String,
    /// Absent: unchanged. `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = updated_description_schema)]
    pub description: Option<Option<String>>,
    /// Absent: unchanged.
    #[serde(default)]
    pub completed: Option<bool>,
}

/// The schema of `title`: [`valid_title`]'s rule as a `pattern`, since a
/// `minLength` and `maxLength` would count the whitespace that is trimmed.
fn title_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(trimmed_text_pattern(1, MAX_TITLE_CHARS, NUL)))
        .description(Some(format!(
            "Surrounding whitespace is trimmed; then 1 to {MAX_TITLE_CHARS} characters \
             (Unicode scalar values), none of them NUL, as `pattern` states: a title of only \
             whitespace is refused. Otherwise 422 `validation_failed`."
        )))
        .build()
}

/// The schema of a `description`: [`valid_description`]'s rule.
fn description_schema(what: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(MAX_DESCRIPTION_CHARS))
        .pattern(Some(format!("^[^{NUL}]*$")))
        .description(Some(format!(
            "{what}At most {MAX_DESCRIPTION_CHARS} characters (Unicode scalar values), none of \
             them NUL; not trimmed. Otherwise 422 `validation_failed`."
        )))
        .build()
}

fn new_description_schema() -> Object {
    description_schema("Optional. ")
}

fn updated_description_schema() -> Object {
    description_schema("Absent: unchanged. `null`: cleared. ")
}

/// NUL, as the inside of an ECMA-262 character class: what [`no_nul`] refuses.
const NUL: &str = "\\u0000";

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusFilter {
    /// Every task (the default).
    #[default]
    All,
    /// Not completed.
    Pending,
    /// Completed.
    Completed,
}

/// How a list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Newest first, ties broken by id, descending (the default).
    #[default]
    Created,
    /// By title, ascending (code-point order), then id.
    Title,
}

/// The query of `GET /api/{user_id}/tasks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `all` (default), `pending` or `completed`; any other value is 422
    /// `validation_failed`.
    #[param(schema_with = status_schema, required = false)]
    pub status: StatusFilter,
    /// `created` (default, newest first) or `title`; any other value is
    /// 422 `validation_failed`.
    #[param(schema_with = sort_schema, required = false)]
    pub sort: SortOrder,
}

/// A query parameter of one of `values`, the first the default: what
/// [`ListQuery::parse`] takes.
fn one_of<const N: usize>(values: [&str; N]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .default(values.first().map(|value| serde_json::Value::from(*value)))
        .build()
}

fn status_schema() -> Object {
    one_of(["all", "pending", "completed"])
}

fn sort_schema() -> Object {
    one_of(["created", "title"])
}

impl ListQuery {
    /// Parses a raw query string (`status=pending&sort=title`); other
    /// parameters are ignored.
    ///
    /// ```
    /// use task_app::tasks::{ListQuery, SortOrder, StatusFilter};
    ///
    /// let query = ListQuery::parse(Some("status=pending&sort=title")).unwrap();
    /// assert_eq!((query.status, query.sort), (StatusFilter::Pending, SortOrder::Title));
    /// assert_eq!(ListQuery::parse(None).unwrap(), ListQuery::default());
    /// assert_eq!(ListQuery::parse(Some("status=done")).unwrap_err().status, 422);
    /// ```
    ///
    /// # Errors
    /// A 422 [`Problem`] for an unknown `status` or `sort` value.
    pub fn parse(query: Option<&str>) -> Result<Self, Problem> {
        let mut parsed = Self::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*key {
                "status" => {
                    parsed.status = match &*value {
                        "all" => StatusFilter::All,
                        "pending" => StatusFilter::Pending,
                        "completed" => StatusFilter::Completed,
                        _ => {
                            return Err(Problem::validation_failed(
                                "status must be all, pending or completed",
                            ));
                        }
                    }
                }
                "sort" => {
                    parsed.sort = match &*value {
                        "created" => SortOrder::Created,
                        "title" => SortOrder::Title,
                        _ => {
                            return Err(Problem::validation_failed(
                                "sort must be created or title",
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(parsed)
    }
}

/// Parses the `{id}` of a task path: anything but a positive integer names
/// no task, so it is a 404 like any other missing task.
///
/// ```
/// assert_eq!(task_app::tasks::parse_task_id("42").unwrap(), 42);
/// for bad in ["0", "-1", "abc", "1.5", "99999999999999999999", "+1", ""] {
///     assert_eq!(task_app::tasks::parse_task_id(bad).unwrap_err().status, 404);
/// }
/// ```
///
/// # Errors
/// A 404 [`Problem`].
pub fn parse_task_id(raw: &str) -> Result<i64, Problem> {
    raw.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
        .ok_or_else(task_not_found)
}

/// The user whose tasks a request may touch: the signed-in user, when the
/// path's `{user_id}` is theirs. `path_user` is `None` when the segment
/// does not percent-decode to UTF-8; that names nobody, so it is a 403
/// like any other user's path.
///
/// The servers call this right after authentication and before looking at
/// anything else, so the answers come in the contract's order: 401 (no
/// valid token), then 403 (another user's path), then 404 or body errors.
///
/// # Errors
/// [`AuthError::Forbidden`].
pub fn owner(principal: &Principal, path_user: Option<&str>) -> Result<UserId, AuthError> {
    principal.require_user(path_user.ok_or(AuthError::Forbidden)?)?;
    Ok(principal.user_id().clone())
}

fn task_not_found() -> Problem {
    Problem::not_found("no such task")
}

/// PostgreSQL cannot store NUL in text, and no task needs one.
fn no_nul(field: &str, text: &str) -> Result<(), Problem> {
    if text.contains('\0') {
        return Err(Problem::validation_failed(format!(
            "{field} must not contain NUL characters"
        )));
    }
    Ok(())
}

fn valid_title(title: &str) -> Result<String, Problem> {
    no_nul("title", title)?;
    let title = title.trim();
    let chars = title.chars().count();
    if chars == 0 || chars > MAX_TITLE_CHARS {
        return Err(Problem::validation_failed(format!(
            "title must have 1 to {MAX_TITLE_CHARS} characters after trimming"
        )));
    }
    Ok(title.to_owned())
}

fn valid_description(description: Option<String>) -> Result<Option<String>, Problem> {
    match description {
        Some(text) if text.chars().count() > MAX_DESCRIPTION_CHARS => {
            Err(Problem::validation_failed(format!(
                "description must have at most {MAX_DESCRIPTION_CHARS} characters"
            )))
        }
        Some(text) => no_nul("description", &text).map(|()| Some(text)),
        None => Ok(None),
    }
}

/// The row as stored: times in microseconds since the epoch.
#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    user_id: String,
    title: String,
    description: Option<String>,
    completed: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<inline_reads::Row> for TaskRow {
    fn from(row: inline_reads::Row) -> Self {
        let (id, user_id, title, description, completed, created_at, updated_at) = row;
        Self {
            id,
            user_id,
            title,
            description,
            completed,
            created_at,
            updated_at,
        }
    }
}

impl TaskRow {
    fn into_task(self) -> Result<Task, HttpError> {
        Ok(Task {
            id: self.id,
            user_id: self.user_id,
            title: self.title,
            description: self.description,
            completed: self.completed,
            created_at: from_micros(self.created_at)?,
            updated_at: from_micros(self.updated_at)?,
        })
    }
}

fn to_micros(time: OffsetDateTime) -> i64 {
    // i64 microseconds reach the year 294 247; the clamp is unreachable.
    i64::try_from(time.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(micros: i64) -> Result<OffsetDateTime, HttpError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|_| auth_core::AuthError::internal("task timestamp out of range").into())
}

/// Now, to the microsecond (what the database keeps).
fn now_micros() -> i64 {
    to_micros(OffsetDateTime::now_utc())
}

fn db_error(error: sqlx::Error) -> HttpError {
    auth_sqlx::map_sqlx_error(error).into()
}

/// Every statement's text, shared by both backends (`$n` placeholders and
/// `RETURNING` work on SQLite and PostgreSQL alike). Only the greater-of
/// function is spelt per backend (`MAX` in SQLite, `GREATEST` in
/// PostgreSQL): it keeps `updated_at` from moving back if the clock does.
mod sql {
    macro_rules! columns {
        () => {
            "id, user_id, title, description, completed, created_at, updated_at"
        };
    }

    macro_rules! list {
        ($filter:literal, $order:literal $(, $limit:literal)?) => {
            concat!(
                "SELECT ",
                columns!(),
                " FROM tasks WHERE user_id = $1",
                $filter,
                " ORDER BY ",
                $order
                $(, $limit)?
            )
        };
    }

    macro_rules! lists {
        ($status:expr, $sort:expr $(, $limit:literal)?) => {{
            use super::{SortOrder::*, StatusFilter::*};
            match ($status, $sort) {
                (All, Created) => list!("", "created_at DESC, id DESC" $(, $limit)?),
                (All, Title) => list!("", "title ASC, id ASC" $(, $limit)?),
                (Pending, Created) => {
                    list!(" AND completed = FALSE", "created_at DESC, id DESC" $(, $limit)?)
                }
                (Pending, Title) => list!(" AND completed = FALSE", "title ASC, id ASC" $(, $limit)?),
                (Completed, Created) => {
                    list!(" AND completed = TRUE", "created_at DESC, id DESC" $(, $limit)?)
                }
                (Completed, Title) => list!(" AND completed = TRUE", "title ASC, id ASC" $(, $limit)?),
            }
        }};
    }

    pub(super) fn list(status: super::StatusFilter, sort: super::SortOrder) -> &'static str {
        lists!(status, sort)
    }

    /// As [`list`], stopping one row past what the inline read takes
    /// (`INLINE_ROWS + 1`), so that SQLite never reads a long list for it.
    pub(super) fn list_bounded(
        status: super::StatusFilter,
        sort: super::SortOrder,
    ) -> &'static str {
        const _: () = assert!(crate::inline_reads::INLINE_ROWS == 200);
        lists!(status, sort, " LIMIT 201")
    }

    pub(super) const INSERT: &str = concat!(
        "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at) \
         VALUES ($1, $2, $3, FALSE, $4, $4) RETURNING ",
        columns!()
    );

    pub(super) const GET: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM tasks WHERE id = $1 AND user_id = $2"
    );

    /// `$4`: whether the description was sent; `$5`: its new value.
    macro_rules! update {
        ($greatest:literal) => {
            concat!(
                "UPDATE tasks SET title = $3, \
                 description = CASE WHEN $4 THEN $5 ELSE description END, \
                 completed = COALESCE($6, completed), updated_at = ",
                $greatest,
                "($7, updated_at) WHERE id = $1 AND user_id = $2 RETURNING ",
                columns!()
            )
        };
    }
    pub(super) const UPDATE_SQLITE: &str = update!("MAX");
    pub(super) const UPDATE_POSTGRES: &str = update!("GREATEST");

    macro_rules! toggle {
        ($greatest:literal) => {
            concat!(
                "UPDATE tasks SET completed = NOT completed, updated_at = ",
                $greatest,
                "($3, updated_at) WHERE id = $1 AND user_id = $2 RETURNING ",
                columns!()
            )
        };
    }
    pub(super) const TOGGLE_SQLITE: &str = toggle!("MAX");
    pub(super) const TOGGLE_POSTGRES: &str = toggle!("GREATEST");

    pub(super) const DELETE: &str = "DELETE FROM tasks WHERE id = $1 AND user_id = $2";
}

/// The row of a one-row `INSERT/UPDATE … RETURNING`, fetched with
/// `fetch_all`: `fetch_one`/`fetch_optional` stop SQLite's statement after
/// its first row, so the statement commits when it is reset instead of
/// when it finishes, and SQLite never runs its WAL auto-checkpoint: the
/// `-wal` file then grows by every write, without bound.
fn returned(rows: Vec<TaskRow>) -> Option<TaskRow> {
    rows.into_iter().next()
}

/// The task store, on the same database as the auth tables (tasks
/// reference `auth_users` and go when their user goes).
#[derive(Debug, Clone)]
pub enum TaskStore {
    /// SQLite; build it with [`TaskStore::sqlite`].
    Sqlite {
        /// The pool every write and the fallback reads go through.
        pool: SqlitePool,
        /// The list's reads on the calling thread, when the database is a
        /// file ([`crate::inline_reads`]).
        reads: Option<Arc<InlineReads>>,
    },
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Runs the same sqlx call on whichever pool the store has, with the
/// backend's statement text.
macro_rules! on_pool {
    ($store:expr, $sql:expr, |$query:ident, $pool:ident| $body:expr) => {
        on_pool!($store, sqlite = $sql, postgres = $sql, |$query, $pool| {
            $body
        })
    };
    ($store:expr, sqlite = $sqlite:expr, postgres = $postgres:expr, |$query:ident, $pool:ident| $body:expr) => {
        match $store {
            TaskStore::Sqlite { pool: $pool, .. } => {
                let $query = sqlx::query_as::<_, TaskRow>($sqlite);
                $body
            }
            TaskStore::Postgres($pool) => {
                let $query = sqlx::query_as::<_, TaskRow>($postgres);
                $body
            }
        }
    };
}

impl TaskStore {
    /// The store on a SQLite pool, reading lists on the calling thread
    /// when the database is a file.
    pub fn sqlite(pool: SqlitePool) -> Self {
        let reads = InlineReads::new(&pool.connect_options()).map(Arc::new);
        Self::Sqlite { pool, reads }
    }

    /// The user's tasks, filtered and ordered in SQL.
    ///
    /// # Errors
    /// 503 or 500 when the database fails.
    pub async fn list(&self, user: &UserId, query: ListQuery) -> Result<Vec<Task>, HttpError> {
        if let Self::Sqlite {
            reads: Some(reads), ..
        } = self
            && let Some(rows) =
                reads.list(sql::list_bounded(query.status, query.sort), user.as_str())
        {
            return rows
                .into_iter()
                .map(TaskRow::from)
                .map(TaskRow::into_task)
                .collect();
        }
        let sql = sql::list(query.status, query.sort);
        let rows = on_pool!(self, sql, |q, pool| q
            .bind(user.as_str())
            .fetch_all(pool)
            .await)
        .map_err(db_error)?;
        rows.into_iter().map(TaskRow::into_task).collect()
    }

    /// Creates a task for the user.
    ///
    /// # Errors
    /// 422 for a title or description that breaks the rules; 503 or 500
    /// when the database fails.
    pub async fn create(&self, user: &UserId, new: NewTask) -> Result<Task, HttpError> {
        let title = valid_title(&new.title)?;
        let description = valid_description(new.description)?;
        let row = on_pool!(self, sql::INSERT, |q, pool| q
            .bind(user.as_str())
            .bind(&title)
            .bind(description.as_deref())
            .bind(now_micros())
            .fetch_all(pool)
            .await)
        .map_err(db_error)?;
        returned(row)
            .ok_or_else(|| AuthError::internal("INSERT … RETURNING returned no row"))?
            .into_task()
    }

    /// One of the user's tasks.
    ///
    /// # Errors
    /// 404 when the user has no task with this id (whoever else may).
    pub async fn get(&self, user: &UserId, id: i64) -> Result<Task, HttpError> {
        let row = on_pool!(self, sql::GET, |q, pool| q
            .bind(id)
            .bind(user.as_str())
            .fetch_optional(pool)
            .await)
        .map_err(db_error)?;
        row.ok_or_else(task_not_found)?.into_task()
    }

    /// Replaces a task's title, and its description and completion when
    /// given.
    ///
    /// # Errors
    /// 422 for values that break the rules, 404 as for [`get`](Self::get).
    pub async fn update(
        &self,
        user: &UserId,
        id: i64,
        update: TaskUpdate,
    ) -> Result<Task, HttpError> {
        let title = valid_title(&update.title)?;
        let (description_sent, description) = match update.description {
            None => (false, None),
            Some(description) => (true, valid_description(description)?),
        };
        let row = on_pool!(
            self,
            sqlite = sql::UPDATE_SQLITE,
            postgres = sql::UPDATE_POSTGRES,
            |q, pool| q
                .bind(id)
                .bind(user.as_str())
                .bind(&title)
                .bind(description_sent)
                .bind(description.as_deref())
                .bind(update.completed)
                .bind(now_micros())
                .fetch_all(pool)
                .await
        )
        .map_err(db_error)?;
        returned(row).ok_or_else(task_not_found)?.into_task()
    }

    /// Flips a task's `completed`.
    ///
    /// # Errors
    /// 404 as for [`get`](Self::get).
    pub async fn toggle_completed(&self, user: &UserId, id: i64) -> Result<Task, HttpError> {
        let row = on_pool!(
            self,
            sqlite = sql::TOGGLE_SQLITE,
            postgres = sql::TOGGLE_POSTGRES,
            |q, pool| q
                .bind(id)
                .bind(user.as_str())
                .bind(now_micros())
                .fetch_all(pool)
                .await
        )
        .map_err(db_error)?;
        returned(row).ok_or_else(task_not_found)?.into_task()
    }

    /// Deletes a task.
    ///
    /// # Errors
    /// 404 as for [`get`](Self::get).
    pub async fn delete(&self, user: &UserId, id: i64) -> Result<(), HttpError> {
        let deleted = match self {
            Self::Sqlite { pool, .. } => sqlx::query(sql::DELETE)
                .bind(id)
                .bind(user.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
            Self::Postgres(pool) => sqlx::query(sql::DELETE)
                .bind(id)
                .bind(user.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
        }
        .map_err(db_error)?;
        if deleted == 0 {
            return Err(task_not_found().into());
        }
        Ok(())
    }

    /// One round trip to the database, for `/healthz`.
    ///
    /// # Errors
    /// 503 or 500 when the database does not answer.
    pub async fn ping(&self) -> Result<(), HttpError> {
        match self {
            Self::Sqlite { pool, .. } => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            Self::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        }
        .map_err(db_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_counted_in_characters() {
        assert_eq!(valid_title("  Buy milk ").unwrap(), "Buy milk");
        assert_eq!(valid_title(&"é".repeat(200)).unwrap().chars().count(), 200);
        for bad in [String::new(), "   ".to_owned(), "x".repeat(201)] {
            assert_eq!(valid_title(&bad).unwrap_err().status, 422, "{bad:?}");
        }
        assert!(valid_description(Some("ü".repeat(1000))).is_ok());
        assert!(valid_description(Some("x".repeat(1001))).is_err());
        assert_eq!(valid_title("a\0b").unwrap_err().status, 422);
        assert_eq!(
            valid_description(Some("a\0".into())).unwrap_err().status,
            422
        );
    }

    #[tokio::test]
    async fn only_the_signed_in_users_own_path_is_theirs() {
        use auth_core::{AuthService, JwtCodec, MemoryStore};
        let store = MemoryStore::new();
        let codec = JwtCodec::hs256(&[7; 32], "tests", "tests").unwrap();
        let auth = AuthService::builder(store.clone(), store)
            .token_codec(codec)
            .build()
            .unwrap();
        let request =
            serde_json::from_str(r#"{"email": "a@example.com", "password": "long enough"}"#)
                .unwrap();
        let signed_up = auth
            .sign_up(request)
            .await
            .and_then(auth_core::SignUp::signed_in)
            .unwrap();
        let principal = auth
            .authenticate(signed_up.access_token.expose_secret())
            .await
            .unwrap();
        let own = principal.user_id().as_str().to_owned();
        assert_eq!(owner(&principal, Some(&own)).unwrap(), signed_up.user.id);
        for other in [Some("someone-else"), Some(""), None] {
            assert!(matches!(
                owner(&principal, other),
                Err(AuthError::Forbidden)
            ));
        }
    }

    /// A property of a schema of the served document.
    fn property(schema: &str, name: &str) -> serde_json::Value {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        doc["components"]["schemas"][schema]["properties"][name].clone()
    }

    fn regex(field: &serde_json::Value) -> regex::Regex {
        regex::Regex::new(field["pattern"].as_str().unwrap()).unwrap()
    }

    /// The document's `title` pattern accepts a title if and only if
    /// [`valid_title`] does: whitespace-only titles, NUL, and the length
    /// after trimming.
    #[test]
    fn title_pattern_is_valid_titles_rule() {
        let field = property("NewTask", "title");
        assert_eq!(property("TaskUpdate", "title"), field);
        assert!(field.get("minLength").is_none() && field.get("maxLength").is_none());
        let pattern = regex(&field);
        let max = MAX_TITLE_CHARS;
        let mut titles = vec![
            String::new(),
            "   ".to_owned(),
            " \t\n\r\u{B}\u{C} ".to_owned(),
            "\u{85}\u{A0}\u{1680}\u{2000}\u{200A}\u{2028}\u{2029}\u{202F}\u{205F}\u{3000}"
                .to_owned(),
            "a".to_owned(),
            " Buy milk ".to_owned(),
            "\u{3000}a\u{3000}".to_owned(),
            "\u{FEFF}".to_owned(),
            "\u{200B}".to_owned(),
            "line\nbreak".to_owned(),
            "a\0b".to_owned(),
            "\0".to_owned(),
            " \0 ".to_owned(),
            "x".repeat(max),
            "x".repeat(max + 1),
            format!(" \t{} \n", "t".repeat(max)),
            format!(" {} ", "t".repeat(max + 1)),
            "📝".repeat(max),
            "📝".repeat(max + 1),
            "é".repeat(max),
            format!("a{}b", " ".repeat(max - 2)),
            format!("a{}b", " ".repeat(max - 1)),
        ];
        // Every character alone, around a word and inside one, through all
        // the whitespace `trim` knows (the last is U+3000).
        let chars = (0..=0x3100)
            .chain([0xFEFF, 0x1_F4DD, 0xE_0001, 0x10_FFFF])
            .filter_map(char::from_u32);
        for c in chars {
            titles.extend([format!("{c}"), format!("{c}ab{c}"), format!("a{c}b")]);
        }
        for title in &titles {
            assert_eq!(
                pattern.is_match(title),
                valid_title(title).is_ok(),
                "{title:?}"
            );
        }
    }

    /// The document's `description` (`maxLength`, counted in code points
    /// as JSON Schema does, and `pattern`) is [`valid_description`]'s rule.
    #[test]
    fn description_schema_is_valid_descriptions_rule() {
        let field = property("NewTask", "description");
        assert_eq!(
            property("TaskUpdate", "description")["pattern"],
            field["pattern"]
        );
        assert_eq!(
            property("TaskUpdate", "description")["maxLength"],
            field["maxLength"]
        );
        let pattern = regex(&field);
        let max = usize::try_from(field["maxLength"].as_u64().unwrap()).unwrap();
        for description in [
            String::new(),
            "  ".to_owned(),
            "\n\t".to_owned(),
            "d".repeat(MAX_DESCRIPTION_CHARS),
            "d".repeat(MAX_DESCRIPTION_CHARS + 1),
            "ü".repeat(MAX_DESCRIPTION_CHARS),
            "📝".repeat(MAX_DESCRIPTION_CHARS),
            "📝".repeat(MAX_DESCRIPTION_CHARS + 1),
            "a\0".to_owned(),
            "\0".to_owned(),
        ] {
            let in_schema = description.chars().count() <= max && pattern.is_match(&description);
            assert_eq!(
                in_schema,
                valid_description(Some(description.clone())).is_ok(),
                "{description:?}"
            );
        }
    }

    /// The list's query parameters list exactly the values
    /// [`ListQuery::parse`] takes, and the task id's `minimum` is
    /// [`parse_task_id`]'s.
    #[test]
    fn parameters_are_what_the_parsers_take() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let list = &doc["paths"]["/api/{user_id}/tasks"]["get"]["parameters"];
        for (name, values, others) in [
            (
                "status",
                &["all", "pending", "completed"][..],
                &["", "done", "All", "all "][..],
            ),
            (
                "sort",
                &["created", "title"][..],
                &["", "nope", "Title", "id"][..],
            ),
        ] {
            let parameter = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|parameter| parameter["name"] == name)
                .unwrap();
            assert_eq!(parameter["in"], "query");
            assert_eq!(parameter["required"], false);
            assert_eq!(parameter["schema"]["enum"], serde_json::json!(values));
            assert_eq!(parameter["schema"]["default"], values[0]);
            for value in values {
                assert!(ListQuery::parse(Some(&format!("{name}={value}"))).is_ok());
            }
            for value in others {
                let refused = ListQuery::parse(Some(&format!("{name}={value}"))).unwrap_err();
                assert_eq!(refused.status, 422, "{name}={value}");
            }
        }
        assert_eq!(ListQuery::parse(None).unwrap().status, StatusFilter::All);
        assert_eq!(ListQuery::parse(None).unwrap().sort, SortOrder::Created);
        let task = &doc["paths"]["/api/{user_id}/tasks/{id}"]["get"]["parameters"];
        let id = task
            .as_array()
            .into_iter()
            .flatten()
            .find(|parameter| parameter["name"] == "id")
            .unwrap();
        assert_eq!(id["schema"]["minimum"], 1);
        assert_eq!(parse_task_id("1").unwrap(), 1);
        assert!(parse_task_id("0").is_err());
        assert_eq!(parse_task_id(&i64::MAX.to_string()).unwrap(), i64::MAX);
    }

    #[test]
    fn update_tells_null_from_absent() {
        let absent: TaskUpdate = serde_json::from_str(r#"{"title": "t"}"#).unwrap();
        assert_eq!(absent.description, None);
        let null: TaskUpdate =
            serde_json::from_str(r#"{"title": "t", "description": null}"#).unwrap();
        assert_eq!(null.description, Some(None));
    }
}
