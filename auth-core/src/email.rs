//! Email addresses, normalised so that one address is one account.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::AuthError;

/// The longest address SMTP can carry (RFC 5321 §4.5.3.1.3 path limit).
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

/// A syntax-checked email address, trimmed and lowercased.
///
/// `Ada@Example.com ` and `ada@example.com` parse to the same `Email`, so
/// stores can put a unique index on it. The check is deliberately practical
/// rather than full RFC 5322: one `@`; a local part of 1 to 64 printable
/// ASCII characters without quotes, brackets or other specials; and a
/// domain of at least two dot-separated labels of ASCII letters, digits and
/// hyphens. Being ASCII throughout, no invisible, full-width or look-alike
/// character can make a second account of one address. Internationalised
/// domains are accepted in their punycode form (`xn--bcher-kva.de`), which
/// is what browsers' `<input type="email">` submits. Whether the mailbox
/// exists is a question for a confirmation email, not for a parser.
///
/// ```
/// use auth_core::Email;
///
/// let email = Email::parse("  Ada@Example.COM ").unwrap();
/// assert_eq!(email.as_str(), "ada@example.com");
/// assert!(Email::parse("ada@localhost").is_err());
/// assert!(Email::parse("not an email").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Trims, lowercases and checks `input`.
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`] when it is not an email address.
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        let email = input.trim().to_lowercase();
        if is_valid(&email) {
            Ok(Self(email))
        } else {
            Err(AuthError::InvalidEmail)
        }
    }

    /// Wraps an address read back from storage, without checking it again.
    ///
    /// Only for values that [`Email::parse`] produced and a store saved:
    /// re-checking them on every read would lock users out if the rules
    /// ever got stricter. Everything from outside goes through `parse`.
    pub fn from_stored(email: String) -> Self {
        Self(email)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// The OpenAPI document states this rule as `openapi::EMAIL_PATTERN`: keep
// the two in step (`openapi::rule_tests::email_pattern_is_the_parsers_rule`
// compares them).
fn is_valid(email: &str) -> bool {
    if email.len() > MAX_LEN {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= MAX_LOCAL_LEN
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"@\"(),:;<>[\\]".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL_LEN
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        // A top-level domain is never all digits (`a@1.2.3.4` is an IP, not a domain).
        && labels.last().is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    local_ok && domain_ok
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.0).finish()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = AuthError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "ada@example.com",
            "ada.lovelace+todo@mail.example.co.uk",
            "o'brien@example.ie",
            "user_1@sub-domain.example.org",
            "jorg@xn--bcher-kva.de",
            "a!#$%&'*+/=?^_`{|}~-@example.com",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "   ",
            "ada",
            "@example.com",
            "ada@",
            "ada@@example.com",
            "ada@example",
            "ada@exa mple.com",
            "a da@example.com",
            "ada@-example.com",
            "ada@example-.com",
            "ada@example..com",
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
            "\"ada\"@example.com",
            "ada@1.2.3.4",
            "ada\u{0}@example.com",
            "ada@example.com\u{7}",
            "jörg@example.com",
            "ada\u{200B}@example.com",
            "ada\u{202E}@example.com",
            "аda@example.com", // Cyrillic а
            "ada@exam\u{200B}ple.com",
            "jorg@bücher.de",
            "ada@\u{FF45}xample.com",  // full-width e
            "ada@ex\u{0430}mple.com",  // Cyrillic а
            "ada@example.com\u{0345}", // combining mark
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("\tAda@Example.com\n").unwrap(),
            Email::parse("ada@example.com").unwrap()
        );
    }

    #[test]
    fn enforces_length_limits() {
        let local = "a".repeat(65);
        assert!(Email::parse(&format!("{local}@example.com")).is_err());
        let long_domain = format!("ada@{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(long_domain.len() > MAX_LEN);
        assert!(Email::parse(&long_domain).is_err());
        let label = "a".repeat(64);
        assert!(Email::parse(&format!("ada@{label}.com")).is_err());
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<Email>(r#""Ada@Example.com""#).is_ok());
        assert!(serde_json::from_str::<Email>(r#""nope""#).is_err());
    }
}
