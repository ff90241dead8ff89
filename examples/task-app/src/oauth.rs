//! The OAuth settings: `OAUTH_PROVIDERS`, and for each `NAME` in it
//! `OAUTH_NAME_ISSUER` (OpenID Connect) or the `github` preset,
//! `OAUTH_NAME_CLIENT_ID`, `OAUTH_NAME_CLIENT_SECRET`, `OAUTH_NAME_SCOPES`
//! and `OAUTH_NAME_DISPLAY_NAME`; `OAUTH_REDIRECT_ORIGINS`. For a stand-in
//! of GitHub (tests, GitHub Enterprise): `OAUTH_GITHUB_AUTHORIZE_URL`,
//! `OAUTH_GITHUB_TOKEN_URL` and `OAUTH_GITHUB_API_URL`.

use auth_core::service::{ClientSecret, OAuth, OAuthProvider};

use crate::config::ConfigError;

const PROVIDERS: &str = "OAUTH_PROVIDERS";

/// The OAuth settings, or `None` when `OAUTH_PROVIDERS` is unset.
pub(crate) fn from_lookup(
    get: &dyn Fn(&str) -> Option<String>,
    public_url: &str,
) -> Result<Option<OAuth>, ConfigError> {
    let Some(names) = get(PROVIDERS) else {
        return Ok(None);
    };
    let wrong = |problem: String| ConfigError {
        variable: PROVIDERS,
        problem,
    };
    let mut oauth = OAuth::new(public_url);
    for name in names
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let prefix = format!("OAUTH_{}_", name.to_ascii_uppercase().replace('-', "_"));
        let var = |key: &str| get(&format!("{prefix}{key}"));
        let required =
            |key: &str| var(key).ok_or_else(|| wrong(format!("{name}: {prefix}{key} is not set")));
        let client_id = required("CLIENT_ID")?;
        let secret = ClientSecret::new(required("CLIENT_SECRET")?);
        let mut provider = match var("ISSUER") {
            Some(issuer) => OAuthProvider::openid(name, issuer, client_id, secret),
            None if name == "github" => {
                let github = OAuthProvider::github(client_id, secret);
                match (var("AUTHORIZE_URL"), var("TOKEN_URL"), var("API_URL")) {
                    (None, None, None) => github,
                    (Some(authorize), Some(token), Some(api)) => {
                        github.github_endpoints(authorize, token, api)
                    }
                    _ => {
                        return Err(wrong(format!(
                            "{prefix}AUTHORIZE_URL, _TOKEN_URL and _API_URL go together"
                        )));
                    }
                }
            }
            None => return Err(wrong(format!("{name}: {prefix}ISSUER is not set"))),
        };
        if let Some(scopes) = var("SCOPES") {
            provider = provider.scopes(scopes.split_whitespace());
        }
        if let Some(display) = var("DISPLAY_NAME") {
            provider = provider.name(display);
        }
        oauth = oauth.provider(provider);
    }
    if let Some(origins) = get("OAUTH_REDIRECT_ORIGINS") {
        oauth = oauth.redirect_origins(
            origins
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty()),
        );
    }
    Ok(Some(oauth))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<OAuth>, ConfigError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        from_lookup(&get, "https://tasks.example.com")
    }

    #[test]
    fn providers_are_read_by_name() {
        assert!(read(&[]).unwrap().is_none());
        let oauth = read(&[
            ("OAUTH_PROVIDERS", "corp-id, github"),
            ("OAUTH_CORP_ID_ISSUER", "https://id.example.com"),
            ("OAUTH_CORP_ID_CLIENT_ID", "a"),
            ("OAUTH_CORP_ID_CLIENT_SECRET", "b"),
            ("OAUTH_GITHUB_CLIENT_ID", "c"),
            ("OAUTH_GITHUB_CLIENT_SECRET", "d"),
        ])
        .unwrap()
        .unwrap();
        let shown = format!("{oauth:?}");
        assert!(
            shown.contains("corp-id") && shown.contains("GitHub"),
            "{shown}"
        );
        assert!(
            !shown.contains("\"b\"") && !shown.contains("\"d\""),
            "{shown}"
        );
    }

    #[test]
    fn missing_parts_are_named() {
        let err = read(&[("OAUTH_PROVIDERS", "corp"), ("OAUTH_CORP_CLIENT_ID", "a")]).unwrap_err();
        assert!(err.problem.contains("OAUTH_CORP_CLIENT_SECRET"), "{err}");
        let err = read(&[
            ("OAUTH_PROVIDERS", "corp"),
            ("OAUTH_CORP_CLIENT_ID", "a"),
            ("OAUTH_CORP_CLIENT_SECRET", "b"),
        ])
        .unwrap_err();
        assert!(err.problem.contains("OAUTH_CORP_ISSUER"), "{err}");
    }
}
