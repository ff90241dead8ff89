//! The mail settings (`PUBLIC_URL`, `MAIL_OUTBOX_DIR`, `SMTP_URL`,
//! `MAIL_FROM`, `REQUIRE_EMAIL_VERIFICATION`, `EMAIL_SIGN_UP` and the link
//! lifetimes), and
//! the mailer they choose.

use std::{path::PathBuf, sync::Arc, time::Duration};

use auth_core::{AuthError, OutboxMailer, mail::Mailer};

use crate::config::ConfigError;

/// Where messages go and what their links look like.
#[derive(Clone)]
pub struct MailConfig {
    /// `PUBLIC_URL`: the base of links in messages (default
    /// `http://127.0.0.1:8080`).
    pub public_url: String,
    /// `MAIL_OUTBOX_DIR`: the folder messages are written to, one file
    /// each, when no `SMTP_URL` is set (default `data/outbox`).
    pub outbox_dir: PathBuf,
    /// `SMTP_URL`: `smtp://` or `smtps://` URL of a mail server; when set,
    /// messages go there instead of the outbox.
    pub smtp_url: Option<String>,
    /// `MAIL_FROM`: the sender (default `noreply@localhost`).
    pub from: String,
    /// `REQUIRE_EMAIL_VERIFICATION`: refuse sign-in until the address is
    /// verified (default `false`).
    pub require_email_verification: bool,
    /// `EMAIL_SIGN_UP`: whether the first email sign-in of an unknown
    /// address creates its account (default `true`).
    pub email_sign_up: bool,
    /// `PASSWORD_RESET_TTL_SECS` (default 1800).
    pub password_reset_ttl: Duration,
    /// `EMAIL_VERIFICATION_TTL_SECS` (default 86400; also email-change links).
    pub email_verification_ttl: Duration,
    /// `MAIL_LIMIT_REQUESTS` per `MAIL_LIMIT_WINDOW_SECS` per address and
    /// flow (reset, verification, email change, email sign-in; default 5
    /// per 3600 s; 0 switches the limit off).
    pub limit_requests: u32,
    /// `MAIL_CLIENT_LIMIT_REQUESTS` per `MAIL_LIMIT_WINDOW_SECS` per client,
    /// over all addresses and flows (default 30; 0 switches it off).
    pub client_limit_requests: u32,
    /// See `limit_requests`.
    pub limit_window: Duration,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("public_url", &self.public_url)
            .field("outbox_dir", &self.outbox_dir)
            .field("smtp", &self.smtp_url.as_ref().map(|_| "<set>"))
            .field("from", &self.from)
            .field(
                "require_email_verification",
                &self.require_email_verification,
            )
            .field("email_sign_up", &self.email_sign_up)
            .finish_non_exhaustive()
    }
}

impl MailConfig {
    /// Reads the mail variables through `get` (empty values already unset).
    pub(crate) fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        parsed: &dyn Fn(&'static str, u64) -> Result<u64, ConfigError>,
    ) -> Result<Self, ConfigError> {
        let flag = |variable: &'static str, default: bool| match get(variable)
            .map(|value| value.trim().to_ascii_lowercase())
            .as_deref()
        {
            None => Ok(default),
            Some("false" | "0" | "no") => Ok(false),
            Some("true" | "1" | "yes") => Ok(true),
            Some(_) => Err(ConfigError {
                variable,
                problem: "expected true or false".into(),
            }),
        };
        let require_email_verification = flag("REQUIRE_EMAIL_VERIFICATION", false)?;
        let email_sign_up = flag("EMAIL_SIGN_UP", true)?;
        let public_url = get("PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError {
                variable: "PUBLIC_URL",
                problem: "expected an http:// or https:// URL".into(),
            });
        }
        let smtp_url = get("SMTP_URL");
        if let Some(url) = &smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err(ConfigError {
                variable: "SMTP_URL",
                problem: "expected an smtp:// or smtps:// URL".into(),
            });
        }
        Ok(Self {
            public_url,
            outbox_dir: get("MAIL_OUTBOX_DIR").map_or_else(|| "data/outbox".into(), PathBuf::from),
            smtp_url,
            from: get("MAIL_FROM").unwrap_or_else(|| "noreply@localhost".into()),
            require_email_verification,
            email_sign_up,
            password_reset_ttl: Duration::from_secs(parsed("PASSWORD_RESET_TTL_SECS", 1800)?),
            email_verification_ttl: Duration::from_secs(parsed(
                "EMAIL_VERIFICATION_TTL_SECS",
                86_400,
            )?),
            limit_requests: u32::try_from(parsed("MAIL_LIMIT_REQUESTS", 5)?).map_err(|_| {
                ConfigError {
                    variable: "MAIL_LIMIT_REQUESTS",
                    problem: "too large".into(),
                }
            })?,
            client_limit_requests: u32::try_from(parsed("MAIL_CLIENT_LIMIT_REQUESTS", 30)?)
                .map_err(|_| ConfigError {
                    variable: "MAIL_CLIENT_LIMIT_REQUESTS",
                    problem: "too large".into(),
                })?,
            limit_window: Duration::from_secs(parsed("MAIL_LIMIT_WINDOW_SECS", 3600)?),
        })
    }

    /// The mailer: SMTP when `SMTP_URL` is set, else the outbox folder.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] for an unusable `SMTP_URL` or `MAIL_FROM`.
    pub fn mailer(&self) -> Result<Arc<dyn Mailer>, AuthError> {
        match &self.smtp_url {
            Some(url) => Ok(Arc::new(auth_core::mail::SmtpMailer::from_url(
                url, &self.from,
            )?)),
            None => Ok(Arc::new(OutboxMailer::new(
                self.outbox_dir.clone(),
                self.from.clone(),
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn mail_settings_are_read_checked_and_hidden() {
        let config = Config::from_lookup(|name| match name {
            "PUBLIC_URL" => Some("https://tasks.example.com".to_owned()),
            "SMTP_URL" => Some("smtps://mailer:hunter2@smtp.example.com".to_owned()),
            "REQUIRE_EMAIL_VERIFICATION" => Some("TRUE".to_owned()),
            "PASSWORD_RESET_TTL_SECS" => Some("60".to_owned()),
            _ => None,
        })
        .unwrap();
        let mail = &config.mail;
        assert_eq!(mail.public_url, "https://tasks.example.com");
        assert!(mail.require_email_verification);
        assert_eq!(mail.password_reset_ttl.as_secs(), 60);
        assert!(!format!("{config:?}").contains("hunter2"));
        let defaults = Config::from_lookup(|_| None).unwrap().mail;
        assert_eq!(defaults.outbox_dir, std::path::PathBuf::from("data/outbox"));
        assert!(defaults.smtp_url.is_none());
        assert!(!defaults.require_email_verification);
        assert!(defaults.email_sign_up);
        assert_eq!(defaults.limit_requests, 5);
        for (name, bad) in [
            ("PUBLIC_URL", "tasks.example.com"),
            ("SMTP_URL", "http://smtp.example.com"),
            ("REQUIRE_EMAIL_VERIFICATION", "maybe"),
            ("EMAIL_SIGN_UP", "sometimes"),
            ("MAIL_LIMIT_REQUESTS", "lots"),
        ] {
            let error = Config::from_lookup(|n| (n == name).then(|| bad.to_owned())).unwrap_err();
            assert_eq!(error.variable, name);
        }
    }
}
