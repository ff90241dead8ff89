//! The provider's side of a sign-in: discovery, the code exchange, the ID
//! token's checks, and GitHub's user and email endpoints. Nothing here
//! touches a store.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use reqwest::{StatusCode, Url, header};
use serde::{Deserialize, de::DeserializeOwned};
use time::OffsetDateTime;
use tokio::{sync::Mutex, time::Instant};

use super::{Failure, OAuthProvider, ProviderKind, ProviderTokens};
use crate::{
    AuthError, RemoteJwks,
    id::constant_time_eq,
    token::remote::{is_loopback, read_limited},
};

/// The largest body read from a provider.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// Clock leeway on an ID token's `exp` and `iat`.
const LEEWAY_SECS: i64 = 60;

/// The least time between two discovery attempts after one failed.
const RETRY_DISCOVERY: Duration = Duration::from_secs(5);

/// What a provider says about the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    pub(super) subject: String,
    pub(super) email: Option<String>,
    pub(super) email_verified: bool,
    pub(super) name: Option<String>,
    /// The provider's tokens, for an application that keeps them.
    pub(super) tokens: Option<ProviderTokens>,
}

/// A provider's endpoints, discovered once (OpenID Connect) or given.
struct Endpoints {
    issuer: String,
    authorization: Url,
    token: Url,
    userinfo: Option<Url>,
    /// The ID token keys (OpenID Connect only).
    jwks: Option<RemoteJwks>,
    /// `client_secret_post` rather than `client_secret_basic`.
    secret_in_body: bool,
    /// Whether the provider sends `iss` with its answer (RFC 9207).
    sends_iss: bool,
}

/// A configured provider at run time: its settings, its endpoints once
/// known, and the HTTP client.
pub(super) struct Live {
    pub(super) settings: OAuthProvider,
    client: reqwest::Client,
    endpoints: RwLock<Option<Arc<Endpoints>>>,
    /// When discovery was last tried; held while it runs.
    last_try: Mutex<Option<Instant>>,
}

/// `https://`, or `http://` to a loopback host.
pub(super) fn allowed_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|_| format!("{url:?} is not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        _ => Err(format!(
            "{url:?} must be https:// (http:// only to a loopback host)"
        )),
    }
}

impl Live {
    pub(super) fn new(settings: OAuthProvider, timeout: Duration) -> Result<Self, AuthError> {
        let client = crate::token::remote::client(timeout.min(Duration::from_secs(3)), timeout)?;
        let endpoints = match &settings.kind {
            ProviderKind::OpenId { issuer } => {
                allowed_url(issuer).map_err(AuthError::InvalidConfig)?;
                None
            }
            ProviderKind::GitHub {
                authorize,
                token,
                api,
            } => {
                let given = |url: &str| allowed_url(url).map_err(AuthError::InvalidConfig);
                given(api)?;
                Some(Arc::new(Endpoints {
                    issuer: String::new(),
                    authorization: given(authorize)?,
                    token: given(token)?,
                    userinfo: None,
                    jwks: None,
                    secret_in_body: true,
                    sends_iss: false,
                }))
            }
        };
        Ok(Self {
            settings,
            client,
            endpoints: RwLock::new(endpoints),
            last_try: Mutex::new(None),
        })
    }

    fn cached(&self) -> Option<Arc<Endpoints>> {
        self.endpoints
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The endpoints: discovered on first use and kept; a failed discovery
    /// is tried again at most every 5 s.
    async fn endpoints(&self) -> Result<Arc<Endpoints>, Failure> {
        if let Some(known) = self.cached() {
            return Ok(known);
        }
        let mut last = self.last_try.lock().await;
        if let Some(known) = self.cached() {
            return Ok(known);
        }
        if last.is_some_and(|at| at.elapsed() < RETRY_DISCOVERY) {
            return Err(Failure::Unavailable);
        }
        *last = Some(Instant::now());
        let ProviderKind::OpenId { issuer } = &self.settings.kind else {
            return Err(Failure::Unavailable);
        };
        let found = self.discover(issuer).await.map_err(|why| {
            tracing::warn!(provider = %self.settings.id, "OpenID discovery failed: {why}");
            Failure::Unavailable
        })?;
        let found = Arc::new(found);
        *self
            .endpoints
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&found));
        Ok(found)
    }

    async fn discover(&self, issuer: &str) -> Result<Endpoints, String> {
        #[derive(Deserialize)]
        struct Document {
            issuer: String,
            authorization_endpoint: String,
            token_endpoint: String,
            userinfo_endpoint: Option<String>,
            jwks_uri: String,
            #[serde(default)]
            token_endpoint_auth_methods_supported: Vec<String>,
            #[serde(default)]
            authorization_response_iss_parameter_supported: bool,
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let document: Document = self.get_json(&url, None).await?;
        // OpenID Connect Discovery 1.0 §4.3: the document names its issuer.
        if document.issuer != issuer {
            return Err(format!(
                "the document's issuer {:?} is not the configured one",
                document.issuer
            ));
        }
        let methods = &document.token_endpoint_auth_methods_supported;
        let secret_in_body = !methods.is_empty()
            && !methods.iter().any(|m| m == "client_secret_basic")
            && methods.iter().any(|m| m == "client_secret_post");
        let jwks = RemoteJwks::builder(allowed_url(&document.jwks_uri)?.to_string())
            .issuer(issuer)
            .audience(&self.settings.client_id)
            .allow_http_loopback(true)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Endpoints {
            issuer: document.issuer,
            authorization: allowed_url(&document.authorization_endpoint)?,
            token: allowed_url(&document.token_endpoint)?,
            userinfo: document
                .userinfo_endpoint
                .as_deref()
                .map(allowed_url)
                .transpose()?,
            jwks: Some(jwks),
            secret_in_body,
            sends_iss: document.authorization_response_iss_parameter_supported,
        })
    }

    /// The URL to send the browser to.
    pub(super) async fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        challenge: &str,
        nonce: &str,
    ) -> Result<String, Failure> {
        let endpoints = self.endpoints().await?;
        let mut url = endpoints.authorization.clone();
        let openid = matches!(self.settings.kind, ProviderKind::OpenId { .. });
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &self.settings.scopes.join(" "))
                .append_pair("state", state)
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
            if openid {
                query.append_pair("nonce", nonce);
            }
        }
        Ok(url.into())
    }

    /// Whether the `iss` of the provider's answer (RFC 9207) is acceptable:
    /// the issuer's when sent, and sent when the provider says it sends it.
    /// Discovers the provider first if this server has not yet (another
    /// instance may have sent the user there).
    pub(super) async fn check_iss(&self, iss: Option<&str>) -> Result<(), Failure> {
        let endpoints = self.endpoints().await?;
        let fine = match iss {
            Some(iss) => !endpoints.issuer.is_empty() && iss == endpoints.issuer,
            None => !endpoints.sends_iss,
        };
        if fine {
            Ok(())
        } else {
            Err(self.refused("the answer", "its `iss` is not the issuer's"))
        }
    }

    /// The code exchange and the user's identity.
    pub(super) async fn identity(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<Identity, Failure> {
        let endpoints = self.endpoints().await?;
        let tokens = self
            .exchange(&endpoints, code, redirect_uri, verifier)
            .await?;
        let mut identity = match &self.settings.kind {
            ProviderKind::OpenId { .. } => {
                self.id_token_identity(&endpoints, &tokens, nonce, now)
                    .await
            }
            ProviderKind::GitHub { api, .. } => self.github_identity(api, &tokens).await,
        }?;
        identity.tokens = tokens.access_token.map(|access| {
            let expires_at = tokens
                .expires_in
                .and_then(|secs| i64::try_from(secs).ok())
                .and_then(|secs| now.checked_add(time::Duration::seconds(secs)));
            ProviderTokens::new(access, tokens.refresh_token, expires_at, tokens.scope)
        });
        Ok(identity)
    }

    async fn exchange(
        &self,
        endpoints: &Endpoints,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<TokenResponse, Failure> {
        let settings = &self.settings;
        let mut request = self
            .client
            .post(endpoints.token.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("code_verifier", verifier);
            if endpoints.secret_in_body {
                form.append_pair("client_id", &settings.client_id)
                    .append_pair("client_secret", settings.client_secret.expose());
            }
            form.finish()
        };
        if !endpoints.secret_in_body {
            // RFC 6749 §2.3.1: each part form-encoded, then Basic.
            let part = |value: &str| {
                url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
            };
            let basic = STANDARD.encode(format!(
                "{}:{}",
                part(&settings.client_id),
                part(settings.client_secret.expose())
            ));
            request = request.header(header::AUTHORIZATION, format!("Basic {basic}"));
        }
        let mut response = request.body(body).send().await.map_err(|e| {
            tracing::warn!(provider = %settings.id, "the token request failed: {e}");
            Failure::Unavailable
        })?;
        let status = response.status();
        if status.is_server_error() {
            tracing::warn!(provider = %settings.id, %status, "the token endpoint failed");
            return Err(Failure::Unavailable);
        }
        let body = read_limited(&mut response, MAX_BODY_BYTES)
            .await
            .map_err(|why| self.refused("the token answer", &why))?;
        let tokens: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| self.refused("the token answer", "not the JSON expected"))?;
        if status != StatusCode::OK || tokens.error.is_some() {
            // GitHub answers 200 with an `error`.
            return Err(self.refused(
                "the code",
                &format!(
                    "{status}, {}",
                    tokens.error.as_deref().unwrap_or("no error code")
                ),
            ));
        }
        Ok(tokens)
    }

    fn refused(&self, what: &str, why: &str) -> Failure {
        tracing::warn!(provider = %self.settings.id, "the provider refused {what}: {why}");
        Failure::Provider
    }

    async fn id_token_identity(
        &self,
        endpoints: &Endpoints,
        tokens: &TokenResponse,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<Identity, Failure> {
        let bad = |why: &str| {
            tracing::warn!(provider = %self.settings.id, "refused an ID token: {why}");
            Failure::IdToken
        };
        let (Some(id_token), Some(jwks)) = (&tokens.id_token, &endpoints.jwks) else {
            return Err(bad("none was sent"));
        };
        let keys = jwks.keys_for(id_token).await.map_err(|_| bad("no key"))?;
        let payload = keys
            .verified_payload(id_token)
            .map_err(|_| bad("its header or signature"))?;
        let claims: IdClaims =
            serde_json::from_slice(&payload).map_err(|_| bad("its claims do not parse"))?;
        let client_id = &self.settings.client_id;
        let audience_ok = claims.aud.contains(client_id)
            && (claims.aud.len() == 1 || claims.azp.as_deref() == Some(client_id.as_str()));
        let now = now.unix_timestamp();
        if claims.iss != endpoints.issuer {
            return Err(bad("its issuer"));
        }
        if !audience_ok {
            return Err(bad("its audience"));
        }
        if claims.exp.saturating_add(LEEWAY_SECS) <= now || claims.iat > now + LEEWAY_SECS {
            return Err(bad("its times"));
        }
        if !claims
            .nonce
            .as_deref()
            .is_some_and(|sent| constant_time_eq(sent.as_bytes(), nonce.as_bytes()))
        {
            return Err(bad("its nonce"));
        }
        let mut identity = Identity {
            subject: claims.sub,
            email: claims.email,
            email_verified: claims.email_verified.is_some_and(|v| v.0),
            name: claims.name,
            tokens: None,
        };
        if identity.email.is_none()
            && let (Some(userinfo), Some(access)) = (&endpoints.userinfo, &tokens.access_token)
        {
            let info: UserInfo = self
                .get_json(userinfo.as_str(), Some(access))
                .await
                .map_err(|why| self.refused("the user info", &why))?;
            // OpenID Connect Core §5.3.2: the same subject, or nothing.
            if info.sub == identity.subject {
                identity.email = info.email;
                identity.email_verified = info.email_verified.is_some_and(|v| v.0);
                identity.name = identity.name.or(info.name);
            }
        }
        Ok(identity)
    }

    async fn github_identity(
        &self,
        api: &str,
        tokens: &TokenResponse,
    ) -> Result<Identity, Failure> {
        #[derive(Deserialize)]
        struct GitHubUser {
            id: u64,
            login: String,
            name: Option<String>,
        }
        #[derive(Deserialize)]
        struct GitHubEmail {
            email: String,
            primary: bool,
            verified: bool,
        }
        let access = tokens
            .access_token
            .as_deref()
            .ok_or_else(|| self.refused("the code", "no access token"))?;
        let api = api.trim_end_matches('/');
        let user: GitHubUser = self
            .get_json(&format!("{api}/user"), Some(access))
            .await
            .map_err(|why| self.refused("the user", &why))?;
        let emails: Vec<GitHubEmail> = self
            .get_json(&format!("{api}/user/emails"), Some(access))
            .await
            .map_err(|why| self.refused("the addresses", &why))?;
        let primary = emails.into_iter().find(|email| email.primary);
        Ok(Identity {
            subject: user.id.to_string(),
            email_verified: primary.as_ref().is_some_and(|email| email.verified),
            email: primary.map(|email| email.email),
            name: user.name.or(Some(user.login)),
            tokens: None,
        })
    }

    /// A GET of JSON, with the access token if given.
    async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<T, String> {
        let url = allowed_url(url)?;
        let mut request = self
            .client
            .get(url)
            .header(header::ACCEPT, "application/json")
            // GitHub's API refuses requests without one.
            .header(header::USER_AGENT, "auth-core");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if response.status() != StatusCode::OK {
            return Err(format!("status {}", response.status()));
        }
        let body = read_limited(&mut response, MAX_BODY_BYTES).await?;
        serde_json::from_slice(&body).map_err(|_| "not the JSON expected".to_owned())
    }
}

/// The token endpoint's answer (RFC 6749 §5.1, or GitHub's error in a 200).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    id_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    scope: Option<String>,
    error: Option<String>,
}

/// The claims of an ID token this crate reads (OpenID Connect Core §2).
#[derive(Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    aud: Audience,
    azp: Option<String>,
    exp: i64,
    iat: i64,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<Flag>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    email: Option<String>,
    email_verified: Option<Flag>,
    name: Option<String>,
}

/// `aud`: one string or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, client_id: &str) -> bool {
        match self {
            Self::One(aud) => aud == client_id,
            Self::Many(auds) => auds.iter().any(|aud| aud == client_id),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(auds) => auds.len(),
        }
    }
}

/// A boolean some providers send as the string `"true"`.
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Bool(bool),
            Text(String),
        }
        Ok(Self(match Either::deserialize(deserializer)? {
            Either::Bool(value) => value,
            Either::Text(text) => text == "true",
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(allowed_url("https://id.example.com").is_ok());
        assert!(allowed_url("http://127.0.0.1:9000").is_ok());
        assert!(allowed_url("http://localhost/x").is_ok());
        for url in [
            "http://id.example.com",
            "ftp://127.0.0.1",
            "id.example.com",
            "",
        ] {
            assert!(allowed_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn audiences_and_flags_parse_both_ways() {
        let claims: IdClaims = serde_json::from_str(
            r#"{"iss":"i","sub":"s","aud":["a","b"],"exp":2,"iat":1,"email_verified":"true"}"#,
        )
        .unwrap();
        assert!(claims.aud.contains("b") && claims.aud.len() == 2);
        assert!(claims.email_verified.unwrap().0);
        let claims: IdClaims = serde_json::from_str(
            r#"{"iss":"i","sub":"s","aud":"a","exp":2,"iat":1,"email_verified":false}"#,
        )
        .unwrap();
        assert!(claims.aud.contains("a") && !claims.email_verified.unwrap().0);
    }
}
