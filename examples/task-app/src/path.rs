//! Request paths, read alike by both servers.

use std::borrow::Cow;

/// Whether `path` percent-encodes a character that never needs it (RFC 3986
/// "unreserved": letters, digits, `-`, `.`, `_`, `~`).
///
/// Both servers answer such a path with 404 before routing it. actix-web
/// decodes these escapes before it routes and axum does not, so
/// `/api/auth/m%65` would be `/api/auth/me` on one server and unknown on
/// the other; refusing them on both keeps the servers identical, and keeps
/// a proxy rule written for the plain path from being sidestepped by an
/// escaped spelling of it. Clients have no reason to send them.
///
/// ```
/// use task_app::path::needlessly_escaped;
///
/// assert!(needlessly_escaped("/api/auth/m%65"));
/// assert!(needlessly_escaped("/api/%61bc/tasks"));
/// assert!(!needlessly_escaped("/api/abc/tasks"));
/// assert!(!needlessly_escaped("/api/a%2Fb/tasks")); // `/` needs its escape
/// assert!(!needlessly_escaped("/api/%C3%A9/tasks")); // so does non-ASCII
/// ```
pub fn needlessly_escaped(path: &str) -> bool {
    path.as_bytes().windows(3).any(|window| {
        let [percent, high, low] = [window[0], window[1], window[2]];
        percent == b'%'
            && hex_value(high)
                .zip(hex_value(low))
                .map(|(high, low)| high * 16 + low)
                .is_some_and(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
    })
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// A path segment, percent-decoded; `None` when the result is not UTF-8
/// (such a segment names no user and no task).
///
/// ```
/// use task_app::path::decode_segment;
///
/// assert_eq!(decode_segment("a%2Fb").as_deref(), Some("a/b"));
/// assert_eq!(decode_segment("%FF"), None);
/// ```
pub fn decode_segment(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}
