//! Email sign-in: one message with a link and a 6-digit code; either signs
//! in, once. The whole method is this file: its settings, its flow on the
//! [`AuthService`], what it keeps in the [`CredentialStore`], and its two
//! routes in the [endpoint list](crate::endpoint).

use std::time::Duration as StdDuration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AuthService, second_factor::FirstFactor};
use crate::{
    AuthError, Credential, CredentialId, CredentialKind, CredentialStore, Email, Message,
    MessageKind, NewCredential, NewUser, OneTimeToken, User,
    endpoint::{BoxFuture, Endpoint, Input, Reply, endpoint, reply::signed_in},
    http::HttpError,
    id::constant_time_eq,
    mail::job::MailJob,
    sign_in::SignIn,
    throttle::address_digest,
};

/// How long a sign-in link and code work by default: 15 minutes.
pub const DEFAULT_EMAIL_SIGN_IN_TTL: StdDuration = StdDuration::from_secs(15 * 60);

/// Wrong codes a sign-in message survives: the 5th wrong one voids it
/// (and its link), so 4 wrong tries still leave the right code usable.
pub const MAX_WRONG_EMAIL_CODES: u32 = 5;

/// Codes tried for one address in [`CODE_WINDOW`], right or wrong, over
/// every message: with [`MAX_WRONG_EMAIL_CODES`] per message alone, an attacker
/// who can have messages sent would get a few guesses more every hour.
pub(crate) const MAX_CODES_PER_ADDRESS: u32 = 20;

/// The window of [`MAX_CODES_PER_ADDRESS`]: a day.
pub(crate) const CODE_WINDOW: StdDuration = StdDuration::from_secs(24 * 3600);

/// The length of a [`OneTimeToken`]'s secret: 256 bits in base64url.
const SECRET_CHARS: usize = 43;

/// The credential kind of a pending email sign-in, one per address.
const KIND: CredentialKind = CredentialKind::new("email_sign_in");

/// Email sign-in's settings, given to
/// [`AccountFlows::email_sign_in`](crate::AccountFlows::email_sign_in). Its
/// state lives in the service's
/// [`credentials`](crate::AuthServiceBuilder::credentials) store.
///
/// ```
/// use auth_core::EmailSignIn;
/// use std::time::Duration;
///
/// // Sign in only: an unknown address is sent nothing.
/// let settings = EmailSignIn::new().sign_up(false).ttl(Duration::from_secs(600));
/// # let _ = settings;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailSignIn {
    sign_up: bool,
    ttl: StdDuration,
}

impl Default for EmailSignIn {
    fn default() -> Self {
        Self::new()
    }
}

impl EmailSignIn {
    /// Sign-up allowed, links and codes good for 15 minutes.
    pub fn new() -> Self {
        Self {
            sign_up: true,
            ttl: DEFAULT_EMAIL_SIGN_IN_TTL,
        }
    }

    /// Whether the first sign-in of an unknown address creates its account
    /// (default `true`); with `false` an unknown address is sent nothing.
    #[must_use]
    pub fn sign_up(mut self, allowed: bool) -> Self {
        self.sign_up = allowed;
        self
    }

    /// How long a link and code work (1 minute to 1 hour).
    #[must_use]
    pub fn ttl(mut self, ttl: StdDuration) -> Self {
        self.ttl = ttl;
        self
    }

    pub(super) fn checked(self) -> Result<Self, AuthError> {
        super::builder::bounded(
            "the email sign-in lifetime",
            self.ttl,
            StdDuration::from_secs(60),
            StdDuration::from_secs(3600),
        )?;
        Ok(self)
    }
}

/// The body of `POST /email-sign-in`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailSignInRequest {
    /// Where to send the link and code.
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::openapi::fields::account_email)
    )]
    pub email: String,
}

/// The body of `POST /email-sign-in/verify`: the link's `token`, or the
/// `email` and the `code` from the message.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailSignInVerifyRequest {
    /// The token of the link (`#token=…`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub token: Option<String>,
    /// The address the code was sent to.
    pub email: Option<String>,
    /// The 6-digit code.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{6}$"))]
    pub code: Option<String>,
}

impl std::fmt::Debug for EmailSignInVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSignInVerifyRequest")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// What a pending sign-in keeps: hashes only, and the wrong codes so far.
#[derive(Serialize, Deserialize)]
struct Pending {
    token: String,
    code: String,
    wrong: u32,
}

impl AuthService {
    /// Mails a sign-in link and code to `email`. An unknown address is
    /// answered exactly as a known one (the request only queues a job for
    /// the address; the [mail queue](crate::mail)'s worker looks it up and
    /// makes the link and code) and is sent a message only when
    /// [sign-up](EmailSignIn::sign_up) is allowed. A newer request voids
    /// the older link and code. Limited per address like the other mail.
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`]; [`AuthError::TooManyAttempts`]; the
    /// queue's errors; [`AuthError::NotFound`] when email sign-in is not
    /// set up.
    pub async fn request_email_sign_in(&self, email: &str) -> Result<(), AuthError> {
        self.email_sign_in()?;
        let email = Email::parse(email)?;
        self.limit_mail(&email, "sign_in").await?;
        let job = MailJob::EmailSignIn {
            email: email.as_str().to_owned(),
        };
        self.queue_mail(email.as_str(), job).await
    }

    /// Signs in with a sign-in message's link token, or its address and
    /// code: the first success voids both. It proves the address, so the
    /// user's email becomes verified; an address without an account gets
    /// one (without a password) when sign-up is allowed. An account
    /// that was never verified loses its sessions, password and pending
    /// links first, since whoever made it may not own the address.
    ///
    /// Like [`sign_in`](Self::sign_in), it ends in a session, or in a
    /// challenge when the user has a
    /// [second factor](crate::AuthServiceBuilder::second_factor) enabled.
    ///
    /// # Errors
    /// [`AuthError::InvalidOneTimeToken`] for an unknown, used, expired or
    /// void link or code (see [`MAX_WRONG_EMAIL_CODES`]);
    /// [`AuthError::TooManyAttempts`] past 20 codes tried for one address
    /// in a day;
    /// [`AuthError::NotFound`] when email sign-in is not set up.
    pub async fn verify_email_sign_in(
        &self,
        request: EmailSignInVerifyRequest,
    ) -> Result<SignIn, AuthError> {
        let (method, credentials) = self.email_sign_in()?;
        let (used, factor) = match (&request.token, &request.email, &request.code) {
            (Some(token), _, _) => (
                self.use_link(credentials, token).await?,
                FirstFactor::EmailLink,
            ),
            (None, Some(email), Some(code)) => (
                self.use_code(credentials, email, code).await?,
                FirstFactor::EmailCode,
            ),
            _ => return Err(AuthError::InvalidOneTimeToken),
        };
        let email = Email::parse(&used.lookup).map_err(|_| AuthError::InvalidOneTimeToken)?;
        let user = match &used.user_id {
            Some(id) => self.inner.users.find_user_by_id(id).await?,
            None if method.sign_up => Some(self.user_for(&email).await?),
            None => None,
        };
        // The message went to `email`: a user whose address has changed
        // since then is not signed in by it.
        let user = user
            .filter(|user| user.email == email)
            .ok_or(AuthError::InvalidOneTimeToken)?;
        let user = if user.email_verified {
            user
        } else {
            self.take_over_unverified(&user).await?
        };
        let outcome = self.finish_first_factor(user, factor).await?;
        // The address has proved itself, and the sign-in is complete (a
        // challenge still counts until its code is right).
        if matches!(outcome, SignIn::Complete(_)) {
            Self::clear_throttle(self.inner.throttle.as_ref(), &email).await;
        }
        Ok(outcome)
    }

    /// The owner of an address has just proved it, but the account was
    /// never verified: whoever made it may not be the owner (an attacker
    /// can sign up with someone else's address and wait). Everything that
    /// maker could still use goes: their sessions, their password (now
    /// none; a reset sets one), their second factors, linked OAuth
    /// identities and pending
    /// challenges, and pending reset and email-change links. Then the
    /// address is verified.
    async fn take_over_unverified(&self, user: &User) -> Result<User, AuthError> {
        let hash = crate::PasswordHash::none();
        let users = &self.inner.users;
        let gone = |err: AuthError| match err {
            AuthError::UserNotFound => AuthError::InvalidOneTimeToken,
            err => err,
        };
        users
            .update_password_hash(&user.id, &hash, self.inner.now())
            .await
            .map_err(gone)?;
        self.sign_out_everywhere(&user.id).await?;
        self.remove_second_factors(&user.id).await?;
        self.remove_passkeys(&user.id).await?;
        self.forget_linked_identities(&user.id).await?;
        self.void_tokens(
            &user.id,
            &[
                crate::TokenPurpose::PASSWORD_RESET,
                crate::TokenPurpose::EMAIL_CHANGE,
            ],
        )
        .await?;
        self.mark_email_verified(&user.id, &user.email)
            .await
            .map_err(gone)
    }

    fn email_sign_in(&self) -> Result<(EmailSignIn, &dyn CredentialStore), AuthError> {
        let method = self.settings()?.flows.email_sign_in;
        match (method, &self.inner.credentials) {
            (Some(method), Some(store)) => Ok((method, store.as_ref())),
            _ => Err(AuthError::NotFound),
        }
    }

    /// The worker's part of [`request_email_sign_in`](Self::request_email_sign_in):
    /// a new pending sign-in for `email` (voiding the older), and its
    /// message. `None` for an unknown address without sign-up, or when
    /// email sign-in was turned off since the job was queued.
    pub(super) async fn sign_in_message(&self, email: Email) -> Result<Option<Message>, AuthError> {
        let Ok((method, credentials)) = self.email_sign_in() else {
            return Ok(None);
        };
        let user = self.inner.users.find_user_by_email(&email).await?;
        if user.is_none() && !method.sign_up {
            tracing::debug!("email sign-in asked for an unknown address");
            return Ok(None);
        }
        let id = CredentialId::generate()?;
        let token = OneTimeToken::generate()?;
        let code = six_digits()?;
        let pending = Pending {
            token: token.hash().to_hex(),
            code: code_digest(&id, &code),
            wrong: 0,
        };
        let now = self.inner.now();
        let expires_at = super::expiry(now, method.ttl)?;
        credentials
            .replace(NewCredential {
                id: id.clone(),
                kind: KIND,
                lookup: email.as_str().to_owned(),
                user_id: user.map(|record| record.user.id),
                data: serde_json::to_vec(&pending).map_err(AuthError::internal)?,
                created_at: now,
                expires_at: Some(expires_at),
            })
            .await?;
        let settings = self.settings()?;
        let link = settings.link(
            "email-sign-in",
            &format!("{}{}", id.as_str(), token.expose_secret()),
        );
        let minutes = method.ttl.as_secs() / 60;
        let text = format!(
            "Follow this link to sign in:\n\n{}\n\nOr enter this code: {code}\n\n\
             The link and the code work once, for {minutes} minutes. \
             If you did not ask for this, ignore this message.\n",
            link.expose_secret()
        );
        Ok(Some(Message {
            kind: MessageKind::Custom("email_sign_in"),
            to: email,
            subject: "Your sign-in link and code".to_owned(),
            text,
            link: Some(link),
        }))
    }

    /// Uses up the pending sign-in a link names.
    async fn use_link(
        &self,
        credentials: &dyn CredentialStore,
        token: &str,
    ) -> Result<Credential, AuthError> {
        // The pending sign-in's id, then the 43 characters of the secret:
        // base64url only, so the link survives any mail client.
        let split = token
            .len()
            .checked_sub(SECRET_CHARS)
            .filter(|at| *at > 0 && token.is_char_boundary(*at))
            .ok_or(AuthError::InvalidOneTimeToken)?;
        let (id, secret) = token.split_at(split);
        let secret = OneTimeToken::parse(secret).ok_or(AuthError::InvalidOneTimeToken)?;
        let id = CredentialId::new(id);
        // A wrong code counted at the same moment bumps the version: read
        // again and retry while the row is there.
        for _ in 0..8 {
            let row = self
                .pending(credentials.get(&id).await?)
                .ok_or(AuthError::InvalidOneTimeToken)?;
            let pending = decode(&row)?;
            if !constant_time_eq(pending.token.as_bytes(), secret.hash().to_hex().as_bytes()) {
                return Err(AuthError::InvalidOneTimeToken);
            }
            if credentials.consume(&row.id, row.version).await? {
                return Ok(row);
            }
        }
        Err(AuthError::InvalidOneTimeToken)
    }

    /// Uses up the pending sign-in of `email` if `code` is its code, or
    /// counts a wrong try (compare-and-swap, so racing tries all count).
    async fn use_code(
        &self,
        credentials: &dyn CredentialStore,
        email: &str,
        code: &str,
    ) -> Result<Credential, AuthError> {
        let email = Email::parse(email).map_err(|_| AuthError::InvalidOneTimeToken)?;
        self.inner
            .account_limiter
            .hit(
                &format!("email-code:{}", address_digest(&email)),
                MAX_CODES_PER_ADDRESS,
                CODE_WINDOW,
            )
            .await?
            .into_result()?;
        // Each round loses only to another request's write; a few are plenty.
        for _ in 0..8 {
            let row = self
                .pending(credentials.find(&KIND, email.as_str()).await?)
                .ok_or(AuthError::InvalidOneTimeToken)?;
            let mut pending = decode(&row)?;
            let right = is_six_digits(code)
                && constant_time_eq(
                    pending.code.as_bytes(),
                    code_digest(&row.id, code).as_bytes(),
                );
            if right {
                if credentials.consume(&row.id, row.version).await? {
                    return Ok(row);
                }
                continue;
            }
            pending.wrong += 1;
            let counted = if pending.wrong >= MAX_WRONG_EMAIL_CODES {
                credentials.consume(&row.id, row.version).await?
            } else {
                let data = serde_json::to_vec(&pending).map_err(AuthError::internal)?;
                credentials
                    .update(&row.id, row.version, &data, None)
                    .await?
            };
            if counted {
                return Err(AuthError::InvalidOneTimeToken);
            }
        }
        Err(AuthError::InvalidOneTimeToken)
    }

    /// `row` if it is a pending email sign-in that has not expired.
    fn pending(&self, row: Option<Credential>) -> Option<Credential> {
        let now = self.inner.now();
        row.filter(|row| row.kind == KIND && row.expires_at.is_some_and(|at| at > now))
    }

    /// The account of an address that proved itself: the existing one, or
    /// a new one without a password (a password reset sets one).
    async fn user_for(&self, email: &Email) -> Result<User, AuthError> {
        let users = &self.inner.users;
        if let Some(record) = users.find_user_by_email(email).await? {
            return Ok(record.user);
        }
        let password_hash = crate::PasswordHash::none();
        let created = users
            .create_user(NewUser {
                email: email.clone(),
                email_verified: true,
                name: None,
                password_hash,
                created_at: self.inner.now(),
            })
            .await;
        match created {
            Ok(user) => Ok(user),
            // A sign-up with a password raced this one: that account is
            // the address's, and the address has just proved itself.
            Err(AuthError::EmailTaken) => users
                .find_user_by_email(email)
                .await?
                .map(|record| record.user)
                .ok_or(AuthError::InvalidOneTimeToken),
            Err(err) => Err(err),
        }
    }
}

fn decode(row: &Credential) -> Result<Pending, AuthError> {
    serde_json::from_slice(&row.data).map_err(AuthError::internal)
}

/// A uniformly random 6-digit code.
fn six_digits() -> Result<String, AuthError> {
    // 4 294 000 000 is the largest multiple of 10^6 below 2^32: values
    // above it are drawn again, so every code is equally likely.
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| AuthError::internal(e.to_string()))?;
        let value = u32::from_le_bytes(bytes);
        if value < 4_294_000_000 {
            return Ok(format!("{:06}", value % 1_000_000));
        }
    }
}

fn is_six_digits(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The stored form of a code: SHA-256 over the pending sign-in's id and
/// the code, so equal codes of two addresses differ.
fn code_digest(id: &CredentialId, code: &str) -> String {
    let digest = Sha256::new()
        .chain_update(id.as_str())
        .chain_update(b":")
        .chain_update(code)
        .finalize();
    crate::TokenHash::from_bytes(digest.into()).to_hex()
}

type Answer<'a> = BoxFuture<'a, Result<Reply, HttpError>>;

/// The two routes of email sign-in.
pub(crate) static ENDPOINTS: &[Endpoint] = &[
    endpoint! {
        Post "/email-sign-in",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: false,
        setup: EmailSignIn,
        run: request_route,
        doc: __path_request_doc,
        schemas: [EmailSignInRequest],
    },
    endpoint! {
        Post "/email-sign-in/verify",
        needs: Nothing,
        admit_client: true,
        body: Json,
        cookie: true,
        setup: EmailSignIn,
        run: verify_route,
        doc: __path_verify_doc,
        schemas: [EmailSignInVerifyRequest],
    },
];

fn request_route(auth: &AuthService, mut input: Input<EmailSignInRequest>) -> Answer<'_> {
    Box::pin(async move {
        auth.request_email_sign_in(&input.take_body()?.email)
            .await?;
        Ok(Reply::json(202, &crate::endpoint::Accepted {}))
    })
}

fn verify_route(auth: &AuthService, mut input: Input<EmailSignInVerifyRequest>) -> Answer<'_> {
    Box::pin(async move {
        let outcome = auth.verify_email_sign_in(input.take_body()?).await?;
        Ok(signed_in(auth, input.cookie.as_ref(), &outcome))
    })
}

#[cfg(feature = "openapi")]
#[utoipa::path(
    post, path = "/email-sign-in", tag = "auth",
    request_body = EmailSignInRequest,
    responses(
        (status = 202, description = "Accepted, whether or not the address is registered: a message with a sign-in link and a 6-digit code is mailed if the address has an account, or may get one (`EMAIL_SIGN_UP`). A newer request voids the older link and code", body = crate::openapi::Accepted),
        (status = 400, description = "Not JSON, or `email` missing or mistyped", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Email sign-in is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an email address (`invalid_email`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this address or from this client (`too_many_attempts`); see `Retry-After`", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable; see `Retry-After`", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    )
)]
#[allow(dead_code)] // A description only.
fn request_doc() {}

#[cfg(feature = "openapi")]
#[utoipa::path(
    post, path = "/email-sign-in/verify", tag = "auth",
    request_body(content = EmailSignInVerifyRequest, description = "`{\"token\"}` from the link, or `{\"email\", \"code\"}`"),
    params(("X-Refresh-Cookie" = Option<String>, Header, description = "`1`: the cookie transport for a browser page on this origin. The refresh token then travels only in the `HttpOnly` cookie `__Host-auth_refresh`")),
    responses(
        (status = 200, description = "The address is verified from now on, and: signed in (`AuthResponse`, `Cache-Control: no-store`), or, when the user has a second factor enabled, `{\"two_factor_required\": true, \"challenge_token\", \"methods\", \"expires_in\"}` (`SecondFactorRequired`, also `no-store`) with no tokens and no cookie", body = SignIn, headers(("Set-Cookie" = String, description = "With `X-Refresh-Cookie: 1` and an `AuthResponse` only: `__Host-auth_refresh=<refresh token>; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=<session lifetime in s>`, and the body has no `refresh_token`"))),
        (status = 400, description = "Not JSON or a field mistyped; or an unknown, used, expired or void link or code (`invalid_token`; a code allows 5 wrong tries, then it and its link are void)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "With `X-Refresh-Cookie: 1`, a `Sec-Fetch-Site` other than `same-origin` or `none` (`cross_site_request`)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Email sign-in is not set up on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`too_many_attempts`); see `Retry-After`", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "A store is unreachable; see `Retry-After`", body = crate::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Whole seconds to wait"))),
    )
)]
#[allow(dead_code)] // A description only.
fn verify_doc() {}
