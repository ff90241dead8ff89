//! The list of common passwords that new passwords are checked against
//! (OWASP ASVS 5.0 6.2.4); where it comes from is in `data/README.md`.

use std::{collections::HashSet, sync::LazyLock};

/// One password a line, lower case.
const LIST: &str = include_str!("../data/common-passwords.txt");

/// Built on first use: about 12,000 entries, well under a millisecond.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| LIST.lines().collect());

/// Whether `password`, compared case-insensitively, is on the list.
pub(crate) fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_large_lower_case_and_checked_case_insensitively() {
        assert!(COMMON.len() >= 10_000, "{}", COMMON.len());
        assert!(
            LIST.lines()
                .all(|line| line == line.to_lowercase() && !line.is_empty())
        );
        for common in [
            "password",
            "PassWord1",
            "12345678",
            "QWERTYUIOP",
            "iloveyou",
        ] {
            assert!(is_common(common), "{common}");
        }
        assert!(!is_common("correct horse battery staple"));
    }
}
