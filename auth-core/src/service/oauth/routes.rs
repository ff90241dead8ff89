//! The routes of OAuth sign-in and linked accounts.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{CallbackParams, STATE_COOKIE, STATE_TTL, Start, is_code_challenge};
use crate::{
    AuthError, AuthService,
    endpoint::{BoxFuture, Endpoint, Input, Reply, endpoint, reply::signed_in},
    http::{HttpError, NO_STORE},
};

/// A provider as `GET /oauth/providers` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderInfo {
    /// The id, as in paths.
    pub id: String,
    /// The name shown on buttons.
    pub name: String,
}

/// An identity linked to the user, as `GET /accounts` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkedAccount {
    /// The provider's id.
    pub provider: String,
    /// The user's id at the provider.
    pub subject: String,
    /// The address the provider gave when it was linked.
    pub email: Option<String>,
    /// When it was linked.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub linked_at: OffsetDateTime,
}

/// The body of `POST /oauth/exchange`.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExchangeRequest {
    /// The `#code=` of the callback's redirect.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub code: String,
    /// The verifier of the `code_challenge` the sign-in was started with;
    /// required then, refused otherwise (RFC 7636 characters).
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 43,
            max_length = 128,
            pattern = "^[A-Za-z0-9._~-]{43,128}$"
        )
    )]
    pub code_verifier: Option<String>,
}

impl std::fmt::Debug for ExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExchangeRequest { code: <redacted> }")
    }
}

/// The answer of `POST /oauth/{provider}/link`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct AuthorizeUrl {
    /// Where to send the browser.
    authorize_url: String,
}

type Answer<'a> = BoxFuture<'a, Result<Reply, HttpError>>;

/// The routes of OAuth sign-in, in the contract's order.
pub(crate) static ENDPOINTS: &[Endpoint] = &[
    endpoint! {
        Get "/oauth/providers",
        needs: Nothing,
        admit_client: false,
        body: None,
        cookie: false,
        setup: OAuth,
        run: providers,
        doc: __path_providers_doc,
        schemas: [ProviderInfo],
    },
    endpoint! {
        Get "/oauth/{provider}/authorize",
        needs: Nothing,
        admit_client: true,
        body: None,
        cookie: false,
        setup: OAuth,
        run: authorize,
        doc: __path_authorize_doc,
    },
    endpoint! {
        Get "/oauth/{provider}/callback",
        needs: Nothing,
        admit_client: true,
        body: None,
        cookie: false,
        setup: OAuth,
        run: callback,
        doc: __path_callback_doc,
    },
    endpoint! {
        Post "/oauth/exchange",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: true,
        setup: OAuth,
        run: exchange,
        doc: __path_exchange_doc,
        schemas: [ExchangeRequest],
    },
    endpoint! {
        Post "/oauth/{provider}/link",
        needs: Session,
        admit_client: true,
        body: EmptyOrJson,
        cookie: false,
        setup: OAuth,
        run: link,
        doc: __path_link_doc,
        schemas: [AuthorizeUrl],
    },
    endpoint! {
        Get "/accounts",
        needs: Session,
        admit_client: false,
        body: None,
        cookie: false,
        setup: OAuth,
        run: accounts,
        doc: __path_accounts_doc,
        schemas: [LinkedAccount],
    },
    endpoint! {
        Delete "/accounts/{provider}",
        needs: Session,
        admit_client: false,
        body: None,
        cookie: false,
        setup: OAuth,
        run: unlink,
        doc: __path_unlink_doc,
    },
];

fn providers(auth: &AuthService, _: Input<()>) -> Answer<'_> {
    Box::pin(async move { Ok(Reply::json(200, &auth.oauth_providers())) })
}

fn authorize(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let provider = input.path_param().unwrap_or_default();
        let (redirect_to, challenge) = start_params(input.query())?;
        let start = Start {
            redirect_to: redirect_to.as_deref(),
            code_challenge: challenge.as_deref(),
        };
        let start = auth.oauth_authorize(provider, start, None).await?;
        let mut reply = Reply::empty(302)
            .with_header("location", start.url)
            .with_header("cache-control", NO_STORE.to_owned());
        if let Some(secret) = start.cookie {
            reply = reply.set_cookie(state_cookie(auth, provider, &secret, STATE_TTL.as_secs()));
        }
        Ok(reply)
    })
}

fn callback(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let provider = input.path_param().unwrap_or_default();
        let cookies = state_cookies(&input);
        let params = callback_params(input.query());
        let url = auth.oauth_callback(provider, &cookies, params).await?;
        Ok(Reply::empty(302)
            .with_header("location", url)
            .with_header("cache-control", NO_STORE.to_owned())
            .with_header("referrer-policy", "no-referrer".to_owned())
            .set_cookie(state_cookie(auth, provider, "", 0)))
    })
}

fn exchange(auth: &AuthService, mut input: Input<ExchangeRequest>) -> Answer<'_> {
    Box::pin(async move {
        let outcome = auth.oauth_exchange(&input.take_body()?).await?;
        Ok(signed_in(auth, input.cookie.as_ref(), &outcome))
    })
}

fn link(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let provider = input.path_param().unwrap_or_default();
        let (redirect_to, challenge) = start_params(input.query())?;
        let start = Start {
            redirect_to: redirect_to.as_deref(),
            code_challenge: challenge.as_deref(),
        };
        let start = auth
            .oauth_authorize(provider, start, Some(input.principal()?))
            .await?;
        let mut reply = Reply::json(
            200,
            &AuthorizeUrl {
                authorize_url: start.url,
            },
        );
        if let Some(secret) = start.cookie {
            reply = reply.set_cookie(state_cookie(auth, provider, &secret, STATE_TTL.as_secs()));
        }
        Ok(reply)
    })
}

fn accounts(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let accounts = auth.linked_accounts(input.principal()?.user_id()).await?;
        Ok(Reply::json(200, &accounts))
    })
}

fn unlink(auth: &AuthService, input: Input<()>) -> Answer<'_> {
    Box::pin(async move {
        let provider = input.path_param().unwrap_or_default();
        auth.unlink_account(input.principal()?.user_id(), provider)
            .await?;
        Ok(Reply::empty(204))
    })
}

/// The one value of `name` in a query; `Err` when given twice.
fn query_value(query: Option<&str>, name: &str) -> Result<Option<String>, ()> {
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key == name {
            if found.is_some() {
                return Err(());
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}

/// `redirect_to` and `code_challenge` of `authorize` and `link`.
fn start_params(query: Option<&str>) -> Result<(Option<String>, Option<String>), HttpError> {
    let redirect_to = query_value(query, "redirect_to").map_err(|()| AuthError::InvalidRedirect)?;
    let challenge =
        query_value(query, "code_challenge")
            .ok()
            .and_then(|challenge| match challenge {
                Some(value) if !is_code_challenge(&value) => None,
                fine => Some(fine),
            });
    let Some(challenge) = challenge else {
        return Err(crate::problem::Problem::new(
            400,
            INVALID_CODE_CHALLENGE,
            "code_challenge must be one S256 challenge: 43 base64url characters".to_owned(),
        )
        .into());
    };
    Ok((redirect_to, challenge))
}

/// The `code` of a malformed `code_challenge`.
const INVALID_CODE_CHALLENGE: &str = "invalid_code_challenge";

/// A callback's parameters; each given twice counts as not given.
fn callback_params(query: Option<&str>) -> CallbackParams {
    let mut params = CallbackParams::default();
    let mut twice = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match key.as_ref() {
            "code" => &mut params.code,
            "state" => &mut params.state,
            "error" => &mut params.error,
            "iss" => &mut params.iss,
            _ => continue,
        };
        if slot.is_some() {
            twice.push(key.into_owned());
        }
        *slot = Some(value.into_owned());
    }
    if twice.iter().any(|key| key == "state") {
        params.state = None;
    }
    if twice.iter().any(|key| key == "code") {
        params.code = None;
    }
    params
}

/// The state cookie's values in the request's `Cookie` headers.
fn state_cookies<T>(input: &Input<T>) -> Vec<String> {
    input
        .headers("cookie")
        .filter_map(|value| std::str::from_utf8(value).ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == STATE_COOKIE)
        .map(|(_, value)| value.to_owned())
        .collect()
}

/// The state cookie, for the callback's path only: `SameSite=Lax` so that
/// the provider's top-level redirect back carries it.
fn state_cookie(auth: &AuthService, provider: &str, value: &str, max_age: u64) -> String {
    let path = auth
        .oauth()
        .map(|(oauth, _)| oauth.callback_path(provider))
        .unwrap_or_default();
    format!(
        "{STATE_COOKIE}={value}; Path={path}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"
    )
}

#[cfg(feature = "openapi")]
const PROVIDER: &str = "A configured provider's id (`GET /oauth/providers`)";

#[cfg(feature = "openapi")]
#[utoipa::path(get, path = "/oauth/providers", tag = "oauth",
    responses((status = 200, description = "The configured providers, for sign-in buttons", body = Vec<ProviderInfo>)))]
#[allow(dead_code)] // A description only.
fn providers_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(get, path = "/oauth/{provider}/authorize", tag = "oauth",
    params(
        ("provider" = String, Path, description = PROVIDER, pattern = "^[a-z0-9_-]{1,32}$"),
        ("redirect_to" = Option<String>, Query, description = "Where the sign-in ends: an absolute URL on an allowed origin (`OAUTH_REDIRECT_ORIGINS`), without fragment; default `PUBLIC_URL`", max_length = 2048),
        ("code_challenge" = Option<String>, Query, description = "The S256 challenge of a verifier the front end keeps: the exchange then needs that `code_verifier`, so a `#code=` planted in the page by someone else cannot be exchanged", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 302, description = "To the provider; or, when it cannot be reached, to `redirect_to#error=provider_unavailable`", headers(
            ("Location" = String, description = "The provider's authorization URL (code flow, PKCE `S256`, `state`, `nonce`)"),
            ("Set-Cookie" = String, description = "`__Secure-auth_oauth_state=<secret>; Path=<callback path>; Max-Age=600; HttpOnly; Secure; SameSite=Lax`"))),
        (status = 400, description = "`redirect_to` not allowed or given twice (`invalid_redirect`); `code_challenge` malformed or given twice (`invalid_code_challenge`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider, or OAuth is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn authorize_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(get, path = "/oauth/{provider}/callback", tag = "oauth",
    params(
        ("provider" = String, Path, description = PROVIDER, pattern = "^[a-z0-9_-]{1,32}$"),
        ("code" = Option<String>, Query, description = "The provider's code"),
        ("state" = Option<String>, Query, description = "Must match the state cookie's pending sign-in"),
        ("error" = Option<String>, Query, description = "The provider's refusal"),
        ("iss" = Option<String>, Query, description = "The provider's issuer (RFC 9207), checked when sent"),
    ),
    responses(
        (status = 302, description = "To `redirect_to#code=<exchange code>` (single use, 60 s), or `#error=` one of `invalid_state`, `provider_error`, `provider_unavailable`, `invalid_id_token`, `account_exists`; without a valid state cookie to `PUBLIC_URL#error=invalid_state`. Clears the state cookie", headers(("Location" = String, description = "Where the sign-in ends"))),
        (status = 404, description = "No such provider, or OAuth is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn callback_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/oauth/exchange", tag = "oauth",
    request_body = ExchangeRequest,
    params(("X-Refresh-Cookie" = Option<String>, Header, description = "`1`: the cookie transport for a browser page on this origin")),
    responses(
        (status = 200, description = "Signed in (`AuthResponse`), or `SecondFactorRequired` when the user has a second factor", body = crate::sign_in::SignIn),
        (status = 400, description = "Not JSON or `code` missing; or an unknown, used or expired code, or a `code_verifier` missing, wrong or not asked for (`invalid_token`; the code is used up)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The address must be verified first (`email_not_verified`); or a cross-site cookie-transport request (`cross_site_request`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "OAuth is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ))]
#[allow(dead_code)] // A description only.
fn exchange_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(post, path = "/oauth/{provider}/link", tag = "oauth",
    params(
        ("provider" = String, Path, description = PROVIDER, pattern = "^[a-z0-9_-]{1,32}$"),
        ("redirect_to" = Option<String>, Query, description = "As for `authorize`", max_length = 2048),
        ("code_challenge" = Option<String>, Query, description = "As for `authorize`", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 200, description = "Send the browser to `authorize_url`: the round trip links the identity to the caller and ends at `redirect_to#code=` (or `#error=account_exists` when it is another user's)", body = AuthorizeUrl, headers(("Set-Cookie" = String, description = "The state cookie, as for `authorize`"))),
        (status = 400, description = "`redirect_to` not allowed (`invalid_redirect`), `code_challenge` malformed (`invalid_code_challenge`), or a body that is not JSON", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The session signed in more than 10 minutes ago or has ended (`reauthentication_required`): sign in again to link an identity", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider, or OAuth is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`)", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ),
    security(("bearer" = [])))]
#[allow(dead_code)] // A description only.
fn link_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(get, path = "/accounts", tag = "oauth",
    responses(
        (status = 200, description = "The identities linked to the caller, oldest first", body = Vec<LinkedAccount>),
        (status = 401, description = "No valid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "OAuth is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ),
    security(("bearer" = [])))]
#[allow(dead_code)] // A description only.
fn accounts_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(delete, path = "/accounts/{provider}", tag = "oauth",
    params(("provider" = String, Path, description = PROVIDER)),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "No valid access token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No identity of this provider is linked, or OAuth is not set up", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller has no password and no other identity (`last_sign_in_method`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A store is unreachable", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    ),
    security(("bearer" = [])))]
#[allow(dead_code)] // A description only.
fn unlink_doc() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_params_refuse_repeats() {
        let params = callback_params(Some("code=a&state=s&iss=http%3A%2F%2Fi&x=1"));
        assert_eq!(params.code.as_deref(), Some("a"));
        assert_eq!(params.iss.as_deref(), Some("http://i"));
        let params = callback_params(Some("code=a&state=s&state=t"));
        assert_eq!((params.code.as_deref(), params.state), (Some("a"), None));
        assert!(query_value(Some("redirect_to=a&redirect_to=b"), "redirect_to").is_err());
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let (to, found) = start_params(Some(&format!("code_challenge={challenge}"))).unwrap();
        assert_eq!((to, found.as_deref()), (None, Some(challenge)));
        for bad in ["code_challenge=short", "code_challenge=a&code_challenge=b"] {
            assert_eq!(start_params(Some(bad)).unwrap_err().status(), 400, "{bad}");
        }
        assert_eq!(query_value(None, "redirect_to").unwrap(), None);
    }
}
