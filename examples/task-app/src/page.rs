//! The demo page both servers serve at `/`: five static files from
//! `examples/task-app/page/`, compiled into the binary so that a user needs
//! no build step and the server no files at run time.
//!
//! `/reset-password`, `/verify-email` and `/email-sign-in` serve the same
//! `index.html`: they are where the links in the outbox messages point,
//! with the token in the URL fragment, which the browser never sends to
//! the server.
//!
//! The page keeps its access token in memory and its refresh token in the
//! cookie of auth-core's cookie transport (`X-Refresh-Cookie: 1`), so no
//! script ever reads a refresh token.

/// A file of the page and the headers it is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The file's content.
    pub body: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

/// What the page may load and where it may send things: only its own
/// script, style and API, no inline code, never framed. Images may also be
/// `data:` URLs: the two-factor setup's QR code comes as one, an SVG drawn
/// by the server (an `<img>` runs no script in it).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Revalidated on every load: the files change with the binary, and
/// nothing here has a version in its name.
pub const CACHE_CONTROL: &str = "no-cache";

/// The paths served, each answering `GET` and `HEAD`.
pub const PATHS: [&str; 8] = [
    "/",
    "/reset-password",
    "/verify-email",
    "/email-sign-in",
    "/app.js",
    "/passkeys.js",
    "/api-keys.js",
    "/app.css",
];

const INDEX: Asset = Asset {
    body: include_str!("../page/index.html"),
    content_type: "text/html; charset=utf-8",
};

const SCRIPT: Asset = Asset {
    body: include_str!("../page/app.js"),
    content_type: "text/javascript; charset=utf-8",
};

/// The passkey (WebAuthn) part of the script, a module `app.js` imports.
const PASSKEYS: Asset = Asset {
    body: include_str!("../page/passkeys.js"),
    content_type: "text/javascript; charset=utf-8",
};

/// The API keys part of the account panel, a module `app.js` imports.
const API_KEYS: Asset = Asset {
    body: include_str!("../page/api-keys.js"),
    content_type: "text/javascript; charset=utf-8",
};

const STYLE: Asset = Asset {
    body: include_str!("../page/app.css"),
    content_type: "text/css; charset=utf-8",
};

/// The file served at `path` (one of [`PATHS`]), if any.
///
/// ```
/// let index = task_app::page::asset("/verify-email").expect("the page");
/// assert!(index.content_type.starts_with("text/html"));
/// assert_eq!(task_app::page::asset("/index.html"), None);
/// ```
pub fn asset(path: &str) -> Option<Asset> {
    match path {
        "/" | "/reset-password" | "/verify-email" | "/email-sign-in" => Some(INDEX),
        "/app.js" => Some(SCRIPT),
        "/passkeys.js" => Some(PASSKEYS),
        "/api-keys.js" => Some(API_KEYS),
        "/app.css" => Some(STYLE),
        _ => None,
    }
}

impl Asset {
    /// Every header of the answer, `Content-Type` included.
    pub fn headers(&self) -> [(&'static str, &'static str); 5] {
        [
            ("content-type", self.content_type),
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", CACHE_CONTROL),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_has_a_file() {
        for path in PATHS {
            assert!(asset(path).is_some(), "{path}");
        }
        assert_eq!(
            asset("/app.js").map(|a| a.content_type),
            Some(SCRIPT.content_type)
        );
        for module in ["/passkeys.js", "/api-keys.js"] {
            assert_eq!(
                asset(module).map(|a| a.content_type),
                Some(SCRIPT.content_type),
                "{module}"
            );
        }
    }

    /// `app.js` loads the passkey module from this origin, by the path
    /// served, and the page preloads it.
    #[test]
    fn the_passkey_module_is_imported_from_its_path() {
        assert!(
            SCRIPT
                .body
                .contains("import { setUpPasskeys } from './passkeys.js';")
        );
        assert!(
            INDEX
                .body
                .contains(r#"<link rel="modulepreload" href="/passkeys.js">"#)
        );
        assert!(!PASSKEYS.body.contains("import "), "no further imports");
    }

    /// The same for the API keys module.
    #[test]
    fn the_api_keys_module_is_imported_from_its_path() {
        assert!(
            SCRIPT
                .body
                .contains("import { setUpApiKeys } from './api-keys.js';")
        );
        assert!(
            INDEX
                .body
                .contains(r#"<link rel="modulepreload" href="/api-keys.js">"#)
        );
        assert!(!API_KEYS.body.contains("import "), "no further imports");
    }

    /// The policy forbids inline code, so the page must have none: an
    /// inline handler or `<script>` body would simply not run.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let html = INDEX.body;
        assert!(html.contains(r#"<script type="module" src="/app.js"></script>"#));
        assert!(html.contains(r#"<link rel="stylesheet" href="/app.css">"#));
        assert_eq!(html.matches("<script").count(), 1);
        assert!(!html.contains("<style"));
        assert!(!html.contains(" style="));
        let handlers: Vec<&str> = html
            .split_whitespace()
            .filter(|word| word.starts_with("on") && word.contains('='))
            .collect();
        assert!(handlers.is_empty(), "inline event handlers: {handlers:?}");
        assert!(!html.contains("http://") && !html.contains("https://"));
    }

    /// Every field for a code sent or shown elsewhere (the email code,
    /// the authenticator app's and the backup codes) lets the browser
    /// fill it in and brings up a digit keyboard.
    #[test]
    fn code_fields_are_numeric_one_time_codes() {
        let fields: Vec<&str> = INDEX
            .body
            .split("<input")
            .skip(1)
            .filter_map(|rest| rest.split('>').next())
            .filter(|tag| tag.contains(r#"autocomplete="one-time-code""#))
            .collect();
        assert_eq!(fields.len(), 4, "email, app, backup and setup codes");
        for tag in fields {
            assert!(tag.contains(r#"inputmode="numeric""#), "<input{tag}>");
        }
    }

    /// The script keeps to the transport the servers offer and never
    /// stores a token where another script or a later visit could read it.
    #[test]
    fn the_script_uses_the_cookie_transport_and_no_storage() {
        let js = SCRIPT.body;
        assert!(js.contains("'X-Refresh-Cookie': '1'"));
        assert!(js.contains("credentials: 'same-origin'"));
        assert!(js.contains("navigator.locks.request('auth-refresh'"));
        for banned in ["localStorage", "document.cookie", "innerHTML", "eval("] {
            assert!(!js.contains(banned), "{banned}");
        }
        // The passkey module keeps nothing anywhere: its challenges live
        // in memory until their one use.
        for banned in [
            "localStorage",
            "sessionStorage",
            "indexedDB",
            "document.cookie",
            "innerHTML",
            "eval(",
        ] {
            assert!(!PASSKEYS.body.contains(banned), "passkeys.js: {banned}");
            // A new API key lives in its field until the box closes.
            assert!(!API_KEYS.body.contains(banned), "api-keys.js: {banned}");
        }
        // One exception, in this tab only: an OAuth round trip's PKCE
        // verifier, which exchanges nothing without the code the provider
        // sends back to this page.
        let uses: Vec<&str> = js.split("sessionStorage.").skip(1).collect();
        assert_eq!(uses.len(), 3, "set, get and remove the verifier only");
        for usage in uses {
            assert!(
                [
                    "setItem('oauth-verifier'",
                    "getItem('oauth-verifier'",
                    "removeItem('oauth-verifier'"
                ]
                .iter()
                .any(|call| usage.starts_with(call)),
                "sessionStorage.{}",
                usage.chars().take(40).collect::<String>()
            );
        }
    }
}
