//! `import-users FILE`: a one-off import of accounts from the systems this
//! app replaces, with their bcrypt or Better Auth password hashes.
//!
//! ```text
//! DATABASE_URL=postgres://… task-api-axum import-users users.jsonl
//! ```
//!
//! The file has one JSON object per line:
//! `{"email": "…", "name": "…", "password_hash": "…", "email_verified": true}`
//! (`name` and `email_verified` are optional). `password_hash` is a bcrypt
//! hash (`$2a$`/`$2b$`/`$2y$`), a Better Auth `saltHex:keyHex` or an
//! Argon2id PHC string. The same configuration as the server is read
//! (`DATABASE_URL`, …) and migrations run first. Each line is reported on
//! stdout (its number and email, or why it was skipped: never a hash);
//! blank lines are skipped. A bad line does not stop the import; the exit
//! code is non-zero if any line failed, and the lines already imported stay
//! (re-running reports them as `email_taken`). Each imported hash is
//! replaced by Argon2id at the user's next sign-in.

use std::io::BufRead;

use auth_core::{password::PasswordHash, service::ImportedUser};
use serde::Deserialize;

use crate::{App, Config};

/// One line of the import file. No `Debug`: it holds a password hash.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    email: String,
    #[serde(default)]
    name: Option<String>,
    password_hash: String,
    #[serde(default)]
    email_verified: bool,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Accounts created.
    pub imported: usize,
    /// Lines that were not imported (each reported).
    pub failed: usize,
}

/// If the command line is `import-users FILE`, runs the import and returns
/// its outcome; `None` for any other command line (serve as usual).
pub async fn from_command_line() -> Option<Result<(), Box<dyn std::error::Error>>> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "import-users" {
        return None;
    }
    let (Some(path), None) = (args.next(), args.next()) else {
        return Some(Err("usage: import-users FILE.jsonl".into()));
    };
    Some(run(std::path::Path::new(&path)).await)
}

async fn run(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let file = std::fs::File::open(path)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    let config = Config::from_env()?;
    let app = App::start(&config).await?;
    let mut out = std::io::stdout().lock();
    let summary = import_lines(&app, std::io::BufReader::new(file), &mut out).await?;
    println!(
        "import-users: {} imported, {} failed",
        summary.imported, summary.failed
    );
    if summary.failed > 0 {
        return Err(format!("{} line(s) not imported", summary.failed).into());
    }
    Ok(())
}

/// Imports each line of `input` into `app`, writing one report line per
/// input line to `report`.
///
/// # Errors
/// Only when `input` cannot be read or `report` written; a bad line is
/// reported and counted, not an error.
pub async fn import_lines(
    app: &App,
    input: impl BufRead,
    mut report: impl std::io::Write,
) -> std::io::Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match import_line(app, &line).await {
            Ok(email) => {
                summary.imported += 1;
                writeln!(report, "line {number}: imported {email}")?;
            }
            Err(why) => {
                summary.failed += 1;
                writeln!(report, "line {number}: not imported: {why}")?;
            }
        }
    }
    Ok(summary)
}

async fn import_line(app: &App, line: &str) -> Result<String, String> {
    // serde_json's messages can quote the input: only its category and
    // position are shown, so that no hash reaches the report.
    let parsed: Line = serde_json::from_str(line).map_err(|e| {
        format!(
            "not a valid line ({:?} error at column {})",
            e.classify(),
            e.column()
        )
    })?;
    let password_hash = PasswordHash::import(&parsed.password_hash).map_err(|e| e.to_string())?;
    let auth = app
        .auth()
        .ok_or("a server that trusts another issuer has no accounts to import into")?;
    let user = auth
        .import_user(ImportedUser {
            email: parsed.email,
            name: parsed.name,
            password_hash,
            email_verified: parsed.email_verified,
        })
        .await
        .map_err(|e| match e {
            auth_core::AuthError::EmailTaken => "email_taken: the address is registered".to_owned(),
            other => other.to_string(),
        })?;
    Ok(user.email.as_str().to_owned())
}
