//! Display names: trimmed, bounded, and free of invisible characters.

use crate::AuthError;

pub(crate) fn normalise_name(
    name: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, AuthError> {
    let Some(name) = name else { return Ok(None) };
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > max_chars || name.chars().any(is_hidden_or_control) {
        return Err(AuthError::InvalidName { max: max_chars });
    }
    Ok(Some(name.to_owned()))
}

/// A name that must be given (a passkey's, an API key's): trimmed, then 1
/// to `max_chars` characters, none of them hidden or a control.
#[cfg(any(feature = "passkeys", feature = "api-keys"))]
pub(crate) fn required_name(name: &str, max_chars: usize) -> Result<String, AuthError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > max_chars || name.chars().any(is_hidden_or_control)
    {
        return Err(AuthError::InvalidName { max: max_chars });
    }
    Ok(name.to_owned())
}

/// [`is_hidden_or_control`] as the inside of an ECMA-262 character class,
/// for the OpenAPI `pattern` of names (`openapi::fields`). Keep the two in
/// step: `openapi::rule_tests::name_pattern_is_the_services_rule` compares
/// the pattern with [`normalise_name`] over all of Unicode. Astral code
/// points are written as themselves (no escape for them means the same in
/// ECMA-262, Python and Rust), the others as `\uXXXX`.
#[cfg(feature = "openapi")]
pub(crate) const HIDDEN_OR_CONTROL_CLASS: &str = concat!(
    "\\u0000-\\u001F\\u007F-\\u009F",
    "\\u00AD\\u034F\\u061C\\u0600-\\u0605\\u06DD\\u070F\\u0890-\\u0891\\u08E2",
    "\\u115F-\\u1160\\u17B4-\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2028-\\u202E",
    "\\u2060-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB",
    "\u{110BD}\u{110CD}\u{13430}-\u{1343F}\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}",
    "\u{E0000}-\u{E0FFF}",
);

/// Characters a display name may not contain: controls (Cc), line and
/// paragraph separators (Zl, Zp), format characters (Cf, such as bidi
/// controls and zero-width joiners) and the other default-ignorable code
/// points, which render as nothing and let one name pass for another.
/// From Unicode 16's DerivedCoreProperties and UnicodeData.
fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{0600}'..='\u{0605}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(normalise_name(None, 5).unwrap(), None);
        assert_eq!(normalise_name(Some("   ".into()), 5).unwrap(), None);
        assert_eq!(
            normalise_name(Some(" Ada ".into()), 5).unwrap(),
            Some("Ada".into())
        );
        assert_eq!(
            normalise_name(Some("Zoë🦀".into()), 4).unwrap(),
            Some("Zoë🦀".into())
        );
        assert!(normalise_name(Some("Adaaaa".into()), 5).is_err());
        assert!(normalise_name(Some("A\u{0}da".into()), 5).is_err());
        assert!(normalise_name(Some("Ada\u{202E}".into()), 5).is_err());
        assert!(normalise_name(Some("A\u{200B}da".into()), 5).is_err());
        for hidden in [
            '\u{061C}',
            '\u{2028}',
            '\u{00AD}',
            '\u{034F}',
            '\u{180E}',
            '\u{E0041}',
            '\u{FFF9}',
            '\u{3164}',
        ] {
            assert!(
                normalise_name(Some(format!("A{hidden}da")), 10).is_err(),
                "{hidden:?}"
            );
        }
        // Visible non-ASCII names are fine.
        assert!(normalise_name(Some("Åsa Ñúñez 李".into()), 20).is_ok());
    }
}
