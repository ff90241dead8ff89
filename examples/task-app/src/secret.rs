//! The JWT secret: given, or generated once and kept in a file.

use std::path::Path;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::config::SecretSource;

/// Bytes of randomness in a generated secret (HS256 wants at least 32).
const GENERATED_SECRET_BYTES: usize = 48;

/// The secret to sign access tokens with.
///
/// A [`SecretSource::File`] that does not exist yet is created, readable by
/// the owner only, with a random secret, and a warning says so: tokens then
/// survive restarts, but anyone who can read the file can mint tokens.
///
/// # Errors
/// The file cannot be read or written, or holds too short a secret.
pub fn load_or_create(source: &SecretSource) -> Result<String, std::io::Error> {
    match source {
        SecretSource::Given(secret) => Ok(secret.clone()),
        SecretSource::File(path) => load_or_create_with(path, random_secret),
    }
}

/// The text kept in `path`, or, if there is no such file yet, `make`'s,
/// written there first (owner-only). Used for the HS256 secret and for
/// generated signing keys.
pub(crate) fn load_or_create_with(
    path: &Path,
    make: impl FnOnce() -> Result<String, std::io::Error>,
) -> Result<String, std::io::Error> {
    match std::fs::read_to_string(path) {
        Ok(secret) => Ok(secret.trim().to_owned()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(path, &make()?),
        Err(err) => Err(err),
    }
}

fn random_secret() -> Result<String, std::io::Error> {
    let mut bytes = [0u8; GENERATED_SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Creates the folder of `file` if missing, readable by its owner only: it
/// holds the database (password and refresh-token hashes) and the secret.
pub(crate) fn create_private_dir_for(file: &Path) -> Result<(), std::io::Error> {
    let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) else {
        return Ok(());
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn create(path: &Path, secret: &str) -> Result<String, std::io::Error> {
    create_private_dir_for(path)?;
    // Written whole to a private temporary file, then linked into place:
    // the secret file is never seen half-written (not after a crash either),
    // and of two servers starting at once, the second to link reads the
    // first one's secret instead of overwriting it.
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    // A leftover of a crashed start with the same pid would keep its old
    // permissions if reopened: start from nothing.
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        std::io::Write::write_all(&mut file, secret.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                "generated a secret (a JWT secret or signing key, or the two-factor key) \
                 because its variable is unset, and saved it owner-only to this file; \
                 keep it, and configure one in production"
            );
            Ok(secret.trim().to_owned())
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().to_owned())
        }
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/tasks.db.jwt-secret");
        let source = SecretSource::File(path.clone());
        let first = load_or_create(&source).unwrap();
        assert!(first.len() >= 64, "{}", first.len());
        assert_eq!(load_or_create(&source).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
