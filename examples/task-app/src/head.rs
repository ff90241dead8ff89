//! What both servers refuse from a request's head alone, before routing
//! it and before reading any of its body.

use auth_core::{http::check_content_length, problem::Problem};

/// The longest request target (path and query, and the authority of an
/// absolute URL) the servers serve: 8 KiB, as common proxies allow. (Over
/// 64 KiB, hyper and actix-http refuse the request line themselves, before
/// any application code runs: a bare 414 or 400, and the connection is
/// closed.)
pub const MAX_URI_LENGTH: usize = 8 * 1024;

/// The answer to a request from its head alone, if it gets one: 414
/// `uri_too_long` for a request target (`path_and_query` and, for an
/// absolute URL, `authority`) over [`MAX_URI_LENGTH`] bytes, else 413
/// `payload_too_large` for a `Content-Length` over `body_limit` (the same
/// problem as for a body found too large while reading it).
///
/// After a 413 the server must close the connection: the body is left
/// unread, so a client need not send the 10 GB it announced, and cannot
/// hold the connection by never sending it.
///
/// ```
/// use task_app::head::refused;
///
/// let path = |len: usize| format!("/{}", "a".repeat(len - 1));
/// assert!(refused(Some(&path(8192)), None, Some(b"65536"), 65_536).is_none());
/// let long = refused(Some(&path(8193)), None, None, 65_536).unwrap();
/// assert_eq!((long.status, long.code.as_str()), (414, "uri_too_long"));
/// let large = refused(Some("/"), None, Some(b"10000000000"), 65_536).unwrap();
/// assert_eq!((large.status, large.code.as_str()), (413, "payload_too_large"));
/// ```
pub fn refused(
    path_and_query: Option<&str>,
    authority: Option<&str>,
    content_length: Option<&[u8]>,
    body_limit: usize,
) -> Option<Problem> {
    let target_length = path_and_query.map_or(0, str::len) + authority.map_or(0, str::len);
    if target_length > MAX_URI_LENGTH {
        return Some(Problem::new(
            414,
            "uri_too_long",
            format!("the URL is longer than {MAX_URI_LENGTH} bytes"),
        ));
    }
    check_content_length(content_length, body_limit).err()
}
