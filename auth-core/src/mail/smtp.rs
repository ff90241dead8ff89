//! A mailer that sends through an SMTP server (feature `smtp`), with lettre.

use std::{fmt, net::IpAddr, time::Duration};

use async_trait::async_trait;
use lettre::{
    Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::{
        Mailbox,
        header::{ContentType, HeaderName, HeaderValue, MIME_VERSION_1_0},
    },
};
use url::{Host, Url};

use super::{Mailer, Message, header_value};
use crate::AuthError;

/// How long one [`SmtpMailer::send`] may take, from connecting to the
/// server's answer to the message, before it gives up.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends messages through an SMTP server, one connection per message.
///
/// Configured by a URL:
///
/// | URL | connection |
/// |---|---|
/// | `smtps://user:password@smtp.example.com` | TLS from the start (port 465 by default) |
/// | `smtp://user:password@smtp.example.com:587?tls=required` | STARTTLS, refused without it (port 587 by default) |
/// | `smtp://smtp.example.com?tls=opportunistic` | STARTTLS when the server offers it |
/// | `smtp://localhost:25` | unencrypted (port 25 by default) |
///
/// User and password are optional and percent-encoded. Credentials are
/// refused on a connection that could be unencrypted (`smtp://` without
/// `?tls=required`) unless the host is a loopback address, since the
/// password would cross the network in clear. A path (`smtp://host/name`)
/// sets the `EHLO` name; the default is `[127.0.0.1]`. Certificates are
/// checked against the Mozilla root list (`webpki-roots`).
///
/// Each send gives up after [`DEFAULT_SMTP_TIMEOUT`] (see
/// [`timeout`](Self::timeout)), so a server that stops answering cannot
/// hold a task forever. Errors: [`AuthError::Unavailable`] when the
/// server cannot be reached, times out, fails TLS or answers "try later"
/// (4xx); [`AuthError::Internal`] when it refuses the message or the
/// login (5xx). The password never appears in `Debug` or in an error.
///
/// Needs a tokio runtime with I/O and time enabled (`#[tokio::main]`
/// has both).
///
/// ```
/// use auth_core::mail::SmtpMailer;
///
/// let mailer = SmtpMailer::from_url(
///     "smtps://auth%40example.com:s3cret@smtp.example.com",
///     "Tasks <auth@example.com>",
/// )?;
/// assert!(!format!("{mailer:?}").contains("s3cret"));
/// assert!(SmtpMailer::from_url("smtp://user:s3cret@smtp.example.com", "auth@example.com").is_err());
/// # Ok::<(), auth_core::AuthError>(())
/// ```
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
    security: &'static str,
    authenticated: bool,
    timeout: Duration,
}

impl SmtpMailer {
    /// Checks `url` (see the table above) and `from`, the `From` of every
    /// message (`auth@example.com` or `Name <auth@example.com>`). Nothing
    /// is connected yet.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] for a URL or sender that cannot work;
    /// the message names the problem, never the password.
    pub fn from_url(url: &str, from: &str) -> Result<Self, AuthError> {
        let invalid = |why: &str| AuthError::InvalidConfig(format!("SMTP URL: {why}"));
        // `url::ParseError` names the kind of mistake only, not the input.
        let parsed = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        let mut tls = None;
        for (key, value) in parsed.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required" | "opportunistic") if tls.is_none() => {
                    tls = Some(value.into_owned());
                }
                ("tls", _) => return Err(invalid("`tls` must be `required` or `opportunistic`")),
                _ => return Err(invalid("the only query parameter is `tls`")),
            }
        }
        let (security, default_port) = match (parsed.scheme(), tls.as_deref()) {
            ("smtps", None) => ("tls", 465),
            ("smtps", Some(_)) => return Err(invalid("`tls` is for smtp://; smtps:// is TLS")),
            ("smtp", Some("required")) => ("starttls", 587),
            ("smtp", Some(_)) => ("opportunistic starttls", 587),
            ("smtp", None) => ("none", 25),
            _ => return Err(invalid("the scheme must be smtp:// or smtps://")),
        };
        let host = parsed.host().ok_or_else(|| invalid("no host"))?;
        let loopback = match host {
            // `smtp` is not a scheme the URL standard knows, so an IPv4
            // address arrives as a "domain".
            Host::Domain(name) => {
                name.eq_ignore_ascii_case("localhost")
                    || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
            Host::Ipv4(ip) => IpAddr::V4(ip).is_loopback(),
            Host::Ipv6(ip) => IpAddr::V6(ip).is_loopback(),
        };
        let authenticated = parsed.password().is_some();
        if !parsed.username().is_empty() && !authenticated {
            return Err(invalid(
                "a user needs a password (smtp://user:password@host)",
            ));
        }
        if authenticated && !loopback && matches!(security, "none" | "opportunistic starttls") {
            return Err(invalid(
                "credentials need an encrypted connection: use smtps:// or smtp://…?tls=required",
            ));
        }
        let server = format!("{host}:{}", parsed.port().unwrap_or(default_port));
        let from: Mailbox = from.parse().map_err(|_| {
            AuthError::InvalidConfig(format!(
                "the mail sender {from:?} is not `addr@example.com` or `Name <addr@example.com>`"
            ))
        })?;
        // lettre reads the same URL (credentials, port, TLS, EHLO name);
        // its errors name the part that failed, not the URL.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| invalid(&e.to_string()))?
            // One deadline for the whole send instead (see `send`): lettre's
            // own covers connecting only.
            .timeout(None)
            .build();
        Ok(Self {
            transport,
            from,
            server,
            security,
            authenticated,
            timeout: DEFAULT_SMTP_TIMEOUT,
        })
    }

    /// Sets how long one send may take (default [`DEFAULT_SMTP_TIMEOUT`]).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn email(&self, message: &Message) -> Result<lettre::Message, AuthError> {
        let to: Address = message.to.as_str().parse().map_err(AuthError::internal)?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| AuthError::internal(e.to_string()))?;
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let mut email = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(header_value(&message.subject))
            // Our own Message-ID in the sender's domain: without the
            // `hostname` feature lettre's would end in `@localhost`, which
            // spam filters count against a message.
            .message_id(Some(format!("<{id}@{}>", self.from.email.domain())))
            // MIME 1.0, so that readers apply the charset and the transfer
            // encoding lettre picks for non-ASCII text.
            .header(MIME_VERSION_1_0)
            .header(ContentType::TEXT_PLAIN)
            .body(message.text.clone())
            .map_err(AuthError::internal)?;
        email.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auth-Message"),
            message.kind.as_str().to_owned(),
        ));
        Ok(email)
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &Message) -> Result<(), AuthError> {
        let email = self.email(message)?;
        match tokio::time::timeout(self.timeout, self.transport.send(email)).await {
            Ok(Ok(_response)) => Ok(()),
            // A 5xx or a client-side mistake: trying again will not help.
            Ok(Err(e)) if e.is_permanent() || e.is_client() || e.is_response() => {
                Err(AuthError::internal(SmtpError::new(self, e)))
            }
            Ok(Err(e)) => Err(AuthError::unavailable(SmtpError::new(self, e))),
            Err(_elapsed) => Err(AuthError::unavailable(format!(
                "SMTP server {}: no answer within {:?}",
                self.server, self.timeout
            ))),
        }
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("security", &self.security)
            .field("authenticated", &self.authenticated)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A lettre error with the server it came from, for the logs.
#[derive(Debug)]
struct SmtpError {
    server: String,
    source: lettre::transport::smtp::Error,
}

impl SmtpError {
    fn new(mailer: &SmtpMailer, source: lettre::transport::smtp::Error) -> Self {
        Self {
            server: mailer.server.clone(),
            source,
        }
    }
}

impl fmt::Display for SmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SMTP server {}: {}", self.server, self.source)
    }
}

impl std::error::Error for SmtpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &str = "Tasks <auth@example.com>";

    fn config_error(url: &str) -> String {
        match SmtpMailer::from_url(url, FROM) {
            Err(AuthError::InvalidConfig(why)) => why,
            other => panic!("{url}: expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_documented_urls() {
        for (url, server, security) in [
            (
                "smtps://u:p@smtp.example.com",
                "smtp.example.com:465",
                "tls",
            ),
            (
                "smtp://u:p@smtp.example.com?tls=required",
                "smtp.example.com:587",
                "starttls",
            ),
            (
                "smtp://smtp.example.com:2525?tls=opportunistic",
                "smtp.example.com:2525",
                "opportunistic starttls",
            ),
            ("smtp://localhost", "localhost:25", "none"),
            ("smtp://u:p@127.0.0.1:1025", "127.0.0.1:1025", "none"),
            (
                "smtp://u:p@[::1]:1025/ehlo.example.com",
                "[::1]:1025",
                "none",
            ),
        ] {
            let mailer = SmtpMailer::from_url(url, FROM).unwrap();
            assert_eq!(mailer.server, server, "{url}");
            assert_eq!(mailer.security, security, "{url}");
        }
    }

    #[test]
    fn refuses_what_cannot_work_without_showing_the_password() {
        for url in [
            "http://u:hunter2@smtp.example.com",
            "smtp://u:hunter2@smtp.example.com",
            "smtp://u:hunter2@smtp.example.com?tls=opportunistic",
            "smtp://u:hunter2@smtp.example.com?tls=maybe",
            "smtp://u:hunter2@smtp.example.com?tsl=required",
            "smtps://u:hunter2@smtp.example.com?tls=required",
            "smtp://user@smtp.example.com",
            "smtp://u:hunter2@:25",
            "not a url hunter2",
        ] {
            let why = config_error(url);
            assert!(!why.contains("hunter2"), "{url}: {why}");
        }
        assert!(matches!(
            SmtpMailer::from_url("smtp://localhost", "not an address"),
            Err(AuthError::InvalidConfig(_))
        ));
    }

    #[test]
    fn debug_hides_the_password() {
        let mailer = SmtpMailer::from_url("smtps://ada:hunter2@smtp.example.com", FROM).unwrap();
        let shown = format!("{mailer:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("smtp.example.com:465"), "{shown}");
        assert!(shown.contains("authenticated: true"), "{shown}");
    }
}
