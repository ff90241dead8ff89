//! The passkey settings: the relying party id `WEBAUTHN_RP_ID` and the
//! comma-separated `WEBAUTHN_ORIGINS`, each defaulting to what
//! `PUBLIC_URL` names. WebAuthn allows no IP address as an RP id, so a
//! loopback `PUBLIC_URL` (the default `http://127.0.0.1:8080`) stands for
//! `localhost` on the same port: open the page at `http://localhost:8080`
//! to use passkeys. Another IP address leaves passkeys off.

use auth_core::service::Passkeys;

use crate::config::ConfigError;

/// The name authenticators show beside the account.
const RP_NAME: &str = "Tasks";

/// The passkey settings, or `None` when `PUBLIC_URL` names an IP address
/// that is not loopback and no RP id is given. Whether the RP id covers
/// the origins is checked when the service is built, which refuses to
/// start otherwise.
pub(crate) fn from_lookup(
    get: &dyn Fn(&str) -> Option<String>,
    public_url: &str,
) -> Result<Option<Passkeys>, ConfigError> {
    let default_origin = public_origin(public_url)?;
    let rp_id = match get("WEBAUTHN_RP_ID") {
        Some(rp_id) => rp_id.trim().to_owned(),
        None => match &default_origin {
            Some(origin) => origin.host_str().unwrap_or_default().to_owned(),
            None => return Ok(None),
        },
    };
    let origins: Vec<String> = match get("WEBAUTHN_ORIGINS") {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(str::to_owned)
            .collect(),
        None => default_origin
            .map(|origin| origin.origin().ascii_serialization())
            .into_iter()
            .collect(),
    };
    if origins.is_empty() {
        return Err(ConfigError {
            variable: "WEBAUTHN_ORIGINS",
            problem: "names no origin (and PUBLIC_URL names an IP address)".into(),
        });
    }
    Ok(Some(Passkeys::new(rp_id, origins).rp_name(RP_NAME)))
}

/// `PUBLIC_URL` as the passkey origin it implies: itself when its host is
/// a domain name, `localhost` for a loopback address, `None` for another
/// IP address.
fn public_origin(public_url: &str) -> Result<Option<url::Url>, ConfigError> {
    let mut url = url::Url::parse(public_url).map_err(|_| ConfigError {
        variable: "PUBLIC_URL",
        problem: "is not a URL".into(),
    })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(_)) => return Ok(Some(url)),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !loopback {
        return Ok(None);
    }
    url.set_host(Some("localhost")).map_err(|_| ConfigError {
        variable: "PUBLIC_URL",
        problem: "has no host".into(),
    })?;
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn settings(vars: &[(&str, &str)], public_url: &str) -> Option<(String, String)> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let get = move |name: &str| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        from_lookup(&get, public_url)
            .unwrap()
            .map(|passkeys| (passkeys.rp_id().to_owned(), format!("{passkeys:?}")))
    }

    #[test]
    fn the_relying_party_comes_from_public_url() {
        let (rp_id, debug) = settings(&[], "https://tasks.example.com").unwrap();
        assert_eq!(rp_id, "tasks.example.com");
        assert!(debug.contains("\"https://tasks.example.com\""), "{debug}");
        let (rp_id, debug) = settings(&[], "http://127.0.0.1:8080").unwrap();
        assert_eq!(rp_id, "localhost");
        assert!(debug.contains("\"http://localhost:8080\""), "{debug}");
        assert!(settings(&[], "http://10.0.0.5:8080").is_none());
    }

    #[test]
    fn the_variables_override_it() {
        let vars = [
            ("WEBAUTHN_RP_ID", "example.com"),
            (
                "WEBAUTHN_ORIGINS",
                "https://a.example.com, https://example.com",
            ),
        ];
        let (rp_id, debug) = settings(&vars, "http://10.0.0.5:8080").unwrap();
        assert_eq!(rp_id, "example.com");
        assert!(
            debug.contains("\"https://a.example.com\", \"https://example.com\""),
            "{debug}"
        );
    }
}
