//! The demo page both servers serve at `/`: the static files from
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
//! script ever reads a refresh token. localStorage holds only a flag that
//! this browser has such a cookie (so a first visit tries no refresh) and
//! the task list's filter and sort.

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
pub const PATHS: [&str; 15] = [
    "/",
    "/reset-password",
    "/verify-email",
    "/email-sign-in",
    "/app.js",
    "/messages.js",
    "/session.js",
    "/tasks.js",
    "/account.js",
    "/two-factor.js",
    "/oauth.js",
    "/passkeys.js",
    "/api-keys.js",
    "/app.css",
    "/icon.svg",
];

const INDEX: Asset = Asset {
    body: include_str!("../page/index.html"),
    content_type: "text/html; charset=utf-8",
};

const SCRIPT: Asset = Asset {
    body: include_str!("../page/app.js"),
    content_type: "text/javascript; charset=utf-8",
};

/// Serves one of the script's modules as JavaScript.
const fn module(body: &'static str) -> Asset {
    Asset {
        body,
        content_type: "text/javascript; charset=utf-8",
    }
}

/// The status lines and the problem codes in words.
const MESSAGES: Asset = module(include_str!("../page/messages.js"));

/// HTTP, the tokens and their refresh, sign-out, the other tabs.
const SESSION: Asset = module(include_str!("../page/session.js"));

/// The task list.
const TASKS: Asset = module(include_str!("../page/tasks.js"));

/// The account panel, its sessions and password.
const ACCOUNT: Asset = module(include_str!("../page/account.js"));

/// Two-factor authentication on the account panel.
const TWO_FACTOR: Asset = module(include_str!("../page/two-factor.js"));

/// Sign-in with providers and the linked accounts.
const OAUTH: Asset = module(include_str!("../page/oauth.js"));

/// The page's icon, so that no browser asks for `/favicon.ico`.
const ICON: Asset = Asset {
    body: include_str!("../page/icon.svg"),
    content_type: "image/svg+xml",
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
        "/messages.js" => Some(MESSAGES),
        "/session.js" => Some(SESSION),
        "/tasks.js" => Some(TASKS),
        "/account.js" => Some(ACCOUNT),
        "/two-factor.js" => Some(TWO_FACTOR),
        "/oauth.js" => Some(OAUTH),
        "/passkeys.js" => Some(PASSKEYS),
        "/api-keys.js" => Some(API_KEYS),
        "/app.css" => Some(STYLE),
        "/icon.svg" => Some(ICON),
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

    /// Every module of the script, by the path `app.js` imports it from.
    const MODULES: [(&str, Asset); 8] = [
        ("/messages.js", MESSAGES),
        ("/session.js", SESSION),
        ("/tasks.js", TASKS),
        ("/account.js", ACCOUNT),
        ("/two-factor.js", TWO_FACTOR),
        ("/oauth.js", OAUTH),
        ("/passkeys.js", PASSKEYS),
        ("/api-keys.js", API_KEYS),
    ];

    #[test]
    fn every_path_has_a_file() {
        for path in PATHS {
            assert!(asset(path).is_some(), "{path}");
        }
        for (path, module) in MODULES {
            assert_eq!(asset(path), Some(module), "{path}");
            assert_eq!(module.content_type, SCRIPT.content_type, "{path}");
        }
        assert_eq!(
            asset("/icon.svg").map(|a| a.content_type),
            Some("image/svg+xml")
        );
    }

    /// Each module is imported by its served path, preloaded by the page,
    /// and small enough to read (the files of the page stay under 500
    /// lines).
    #[test]
    fn every_module_is_imported_from_its_path_and_preloaded() {
        let all: Vec<&str> = MODULES.iter().map(|(_, module)| module.body).collect();
        let scripts = [SCRIPT.body].into_iter().chain(all.iter().copied());
        for (path, _) in MODULES {
            let name = path.trim_start_matches('/');
            assert!(
                scripts
                    .clone()
                    .any(|js| js.contains(&format!("from './{name}';"))),
                "{path} is imported"
            );
            assert!(
                INDEX
                    .body
                    .contains(&format!(r#"<link rel="modulepreload" href="{path}">"#)),
                "{path} is preloaded"
            );
        }
        for js in scripts {
            assert!(js.lines().count() < 500, "a module under 500 lines");
        }
        // The two feature modules get their helpers from app.js.
        assert!(
            !PASSKEYS.body.contains("import "),
            "passkeys.js imports nothing"
        );
        assert!(
            !API_KEYS.body.contains("import "),
            "api-keys.js imports nothing"
        );
    }

    /// The page names its icon, so that the browser asks no `/favicon.ico`
    /// (a 404 in every first load's console).
    #[test]
    fn the_page_has_an_icon() {
        assert!(
            INDEX
                .body
                .contains(r#"<link rel="icon" href="/icon.svg" type="image/svg+xml">"#)
        );
        assert!(ICON.body.starts_with("<svg ") && !ICON.body.contains("<script"));
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

    /// The calls of `storage.` in `js`, each as its first 40 characters.
    fn uses<'a>(js: &'a str, storage: &str) -> Vec<&'a str> {
        js.split(storage)
            .skip(1)
            .map(|usage| usage.get(..40).unwrap_or(usage))
            .collect()
    }

    /// The script keeps to the transport the servers offer and never
    /// stores a token where another script or a later visit could read it.
    #[test]
    fn the_script_uses_the_cookie_transport_and_no_storage() {
        let session = SESSION.body;
        assert!(session.contains("'X-Refresh-Cookie': '1'"));
        assert!(session.contains("credentials: 'same-origin'"));
        assert!(session.contains("navigator.locks.request('auth-refresh'"));
        let scripts = [("/app.js", SCRIPT)].into_iter().chain(MODULES);
        for (path, module) in scripts {
            for banned in ["indexedDB", "document.cookie", "innerHTML", "eval("] {
                assert!(!module.body.contains(banned), "{path}: {banned}");
            }
            // localStorage holds two things, neither a secret: whether this
            // browser has a cookie session (so a first visit asks no
            // refresh), and the task list's filter and sort.
            for usage in uses(module.body, "localStorage.") {
                let allowed = match path {
                    "/session.js" => usage.contains("(HAS_SESSION"),
                    "/tasks.js" => usage.contains("(VIEW_KEY"),
                    _ => false,
                };
                assert!(allowed, "{path}: localStorage.{usage}");
            }
            // sessionStorage, in this tab only: an OAuth round trip's PKCE
            // verifier, which exchanges nothing without the code the
            // provider sends back to this page.
            let verifier = uses(module.body, "sessionStorage.");
            if path == "/oauth.js" {
                assert_eq!(verifier.len(), 3, "set, get and remove the verifier only");
            }
            for usage in verifier {
                assert!(
                    path == "/oauth.js" && usage.contains("Item('oauth-verifier'"),
                    "{path}: sessionStorage.{usage}"
                );
            }
        }
        assert!(session.contains("const HAS_SESSION = 'signed-in';"));
        assert!(TASKS.body.contains("const VIEW_KEY = 'task-view';"));
    }
}
