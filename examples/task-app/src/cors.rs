//! The CORS policy of both servers, decided here so that both answer every
//! cross-origin request alike; each server only moves headers in and out.
//!
//! (Two CORS libraries, one per framework, disagree on the edges: one
//! answers a preflight from an unknown origin with 200, the other with a
//! plain-text 400, and they treat an `OPTIONS` without
//! `Access-Control-Request-Method` differently.)

/// Methods a browser may use cross-origin.
pub const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// Request headers a browser may send cross-origin (`*` would not cover
/// `Authorization`, so both are named).
pub const ALLOWED_HEADERS: &str = "authorization, content-type";
/// Response headers a browser lets the page read, beyond the simple ones.
pub const EXPOSED_HEADERS: &str = "www-authenticate, retry-after";
/// How long a browser may cache a preflight, in seconds.
pub const MAX_AGE_SECS: u32 = 600;

/// What to do with a request, given its CORS headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsAnswer {
    /// A preflight: answer `204 No Content` with these headers, without
    /// routing the request.
    Preflight(Vec<(&'static str, String)>),
    /// Any other request: route it as usual, then add these headers to the
    /// response (including error responses).
    Route(Vec<(&'static str, String)>),
}

/// The exact origins allowed (`CORS_ORIGINS`); no wildcard, no credentials
/// mode (tokens travel in `Authorization`, not cookies).
///
/// ```
/// use task_app::cors::{Cors, CorsAnswer};
///
/// let cors = Cors::new(vec!["http://localhost:3000".into()]);
/// let CorsAnswer::Preflight(headers) =
///     cors.answer("OPTIONS", Some(b"http://localhost:3000"), true)
/// else { panic!("a preflight") };
/// assert!(headers.contains(&("access-control-allow-origin", "http://localhost:3000".into())));
///
/// // Another origin gets no permission, and nothing else changes.
/// let CorsAnswer::Route(headers) = cors.answer("GET", Some(b"http://evil.example"), false)
/// else { panic!("not a preflight") };
/// assert_eq!(headers, [("vary", "origin".to_owned())]);
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// A policy allowing exactly `origins` (as `scheme://host[:port]`).
    pub fn new(origins: Vec<String>) -> Self {
        Self { origins }
    }

    /// The answer to a request with this method, `Origin` header value, and
    /// whether it has an `Access-Control-Request-Method` header.
    ///
    /// A preflight is an `OPTIONS` with both `Origin` and
    /// `Access-Control-Request-Method` (Fetch standard); any other
    /// `OPTIONS` is an ordinary request, so it gets the router's 404 or 405.
    pub fn answer(
        &self,
        method: &str,
        origin: Option<&[u8]>,
        has_request_method: bool,
    ) -> CorsAnswer {
        let allowed = origin.and_then(|origin| {
            self.origins
                .iter()
                .find(|allowed| allowed.as_bytes() == origin)
        });
        if method == "OPTIONS" && origin.is_some() && has_request_method {
            let mut headers = vec![(
                "vary",
                "origin, access-control-request-method, access-control-request-headers".to_owned(),
            )];
            if let Some(origin) = allowed {
                headers.extend([
                    ("access-control-allow-origin", origin.clone()),
                    ("access-control-allow-methods", ALLOWED_METHODS.to_owned()),
                    ("access-control-allow-headers", ALLOWED_HEADERS.to_owned()),
                    ("access-control-max-age", MAX_AGE_SECS.to_string()),
                ]);
            }
            return CorsAnswer::Preflight(headers);
        }
        let mut headers = vec![("vary", "origin".to_owned())];
        if let Some(origin) = allowed {
            headers.extend([
                ("access-control-allow-origin", origin.clone()),
                ("access-control-expose-headers", EXPOSED_HEADERS.to_owned()),
            ]);
        }
        CorsAnswer::Route(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors() -> Cors {
        Cors::new(vec![
            "http://localhost:3000".into(),
            "https://app.example".into(),
        ])
    }

    fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn preflight_from_an_allowed_origin_names_methods_and_headers() {
        let CorsAnswer::Preflight(headers) =
            cors().answer("OPTIONS", Some(b"https://app.example"), true)
        else {
            panic!("expected a preflight");
        };
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(
            header(&headers, "access-control-allow-methods"),
            Some(ALLOWED_METHODS)
        );
        assert_eq!(
            header(&headers, "access-control-allow-headers"),
            Some(ALLOWED_HEADERS)
        );
        assert_eq!(header(&headers, "access-control-max-age"), Some("600"));
    }

    #[test]
    fn unknown_origins_get_no_permission() {
        for method in ["OPTIONS", "GET", "POST"] {
            let (CorsAnswer::Preflight(headers) | CorsAnswer::Route(headers)) =
                cors().answer(method, Some(b"http://localhost:3000.evil.example"), true);
            assert_eq!(header(&headers, "access-control-allow-origin"), None);
            assert!(header(&headers, "vary").is_some_and(|vary| vary.contains("origin")));
        }
    }

    #[test]
    fn options_without_origin_or_request_method_is_routed() {
        assert!(matches!(
            cors().answer("OPTIONS", None, true),
            CorsAnswer::Route(_)
        ));
        assert!(matches!(
            cors().answer("OPTIONS", Some(b"http://localhost:3000"), false),
            CorsAnswer::Route(_)
        ));
    }

    #[test]
    fn ordinary_requests_from_allowed_origins_expose_auth_headers() {
        let CorsAnswer::Route(headers) =
            cors().answer("GET", Some(b"http://localhost:3000"), false)
        else {
            panic!("not a preflight");
        };
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some("http://localhost:3000")
        );
        assert_eq!(
            header(&headers, "access-control-expose-headers"),
            Some(EXPOSED_HEADERS)
        );
    }
}
