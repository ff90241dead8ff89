//! The helpers of the two-factor cases: the routes, the shapes of their
//! answers, and users with two-factor on. The cases are in
//! `two_factor_setup.rs` (setup, enable, disable, backup codes),
//! `two_factor_sign_in.rs` (the challenge and `two-factor/verify`) and
//! `two_factor_server.rs` (those that start their own servers: OAuth,
//! bad input, limits, logs, storage).
//!
//! Two-factor is only for a verified address (403 `email_not_verified`
//! otherwise), so every account that sets it up first verifies its
//! address as a client would ([`verify_address`], [`verified_account`]),
//! or comes from the OpenID test provider with a verified one.
//!
//! Codes are computed as an authenticator app would ([`crate::totp`]). A
//! server accepts each time step once, and only a step later than the last
//! one it accepted (the enabling code counts); one step of drift either
//! way leaves three steps usable at a time, so [`Totp::next_code`] waits
//! for the clock when a case has used them up.

use reqwest::{Method, Url};
use serde_json::{Value, json};

use crate::{
    Account, Reply, Target,
    client::Api,
    totp::{Totp, base32_decode},
};

use super::{
    account::{expect_no_content, expect_no_store, expect_verified},
    account_tokens::{verification_token, verify_email},
};

/// `POST /api/auth/two-factor/setup`.
pub(super) const SETUP: &str = "/api/auth/two-factor/setup";
/// `POST /api/auth/two-factor/enable`.
pub(super) const ENABLE: &str = "/api/auth/two-factor/enable";
/// `POST /api/auth/two-factor/disable`.
pub(super) const DISABLE: &str = "/api/auth/two-factor/disable";
/// `POST /api/auth/two-factor/backup-codes`.
pub(super) const BACKUP_CODES: &str = "/api/auth/two-factor/backup-codes";
/// `POST /api/auth/two-factor/verify`.
pub(super) const VERIFY: &str = "/api/auth/two-factor/verify";

/// How many backup codes a set has.
const BACKUP_CODE_COUNT: usize = 10;

/// `POST path` with `body` and, when given, a Bearer token.
pub(super) async fn post(api: &Api, path: &str, token: Option<&str>, body: &Value) -> Reply {
    api.json(Method::POST, path, token, body).await
}

/// `POST /api/auth/two-factor/verify` with the challenge and `code` in
/// `field` (`code` or `backup_code`).
pub(super) async fn verify(api: &Api, challenge: &str, field: &str, code: &str) -> Reply {
    let mut body = json!({ "challenge_token": challenge });
    body[field] = json!(code);
    post(api, VERIFY, None, &body)
        .await
        .noted(format!("verify with {field} {code:?}"))
}

/// Panics unless `user` (of `reply`) has `two_factor_enabled` = `enabled`.
pub(super) fn expect_two_factor(reply: &Reply, user: &Value, enabled: bool) {
    reply.check(
        user["two_factor_enabled"] == enabled,
        &format!("expected `user.two_factor_enabled`: {enabled} (a boolean)"),
    );
}

/// Panics unless `/me` with `token` shows `two_factor_enabled` = `enabled`.
pub(super) async fn expect_me_two_factor(api: &Api, token: &str, enabled: bool) {
    let me = api.me(token).await;
    let body = me.expect_json(200);
    expect_two_factor(&me, &body["user"], enabled);
}

/// Panics unless `reply` is a 200 `SecondFactorRequired`: exactly
/// `two_factor_required: true`, a challenge token of 256 bits, the methods
/// `["totp", "backup_code"]` and `expires_in: 300`; no tokens, no user;
/// `Cache-Control: no-store`. Returns the challenge token.
pub(super) fn expect_challenge(reply: &Reply) -> String {
    let body = reply.expect_json(200);
    expect_no_store(reply);
    reply.check(
        body["two_factor_required"] == true,
        "expected `two_factor_required: true`: the user has two-factor on",
    );
    let token = body["challenge_token"].as_str().unwrap_or_default();
    reply.check(
        token.len() >= 43,
        "a challenge token has at least 256 bits (43+ characters)",
    );
    reply.check(
        body["methods"] == json!(["totp", "backup_code"]),
        "expected `methods: [\"totp\", \"backup_code\"]`",
    );
    reply.check(body["expires_in"] == 300, "expected `expires_in: 300`");
    for field in ["access_token", "refresh_token", "user", "token_type"] {
        reply.check(
            body.get(field).is_none(),
            &format!("a challenge carries no `{field}`: no session before the second factor"),
        );
    }
    token.to_owned()
}

/// Panics unless `reply` is a 200 `AuthResponse` for `email` whose user
/// has two-factor on. Returns the body.
pub(super) fn expect_signed_in(reply: &Reply, target: &Target, email: &str) -> Value {
    let body = reply.expect_auth_response(200, target, email);
    expect_two_factor(reply, &body["user"], true);
    body
}

/// A password sign-in of `account`, checked to be a challenge; its token.
pub(super) async fn challenge(api: &Api, account: &Account) -> String {
    let reply = api
        .sign_in(&account.email, &account.password)
        .await
        .noted("password sign-in of a user with two-factor");
    expect_challenge(&reply)
}

/// `true` when `code` has the shape of a backup code: 16 digits in groups
/// of four joined by `-`.
fn is_backup_code(code: &str) -> bool {
    let groups: Vec<&str> = code.split('-').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|group| group.len() == 4 && group.bytes().all(|b| b.is_ascii_digit()))
}

/// Panics unless `codes` (of `reply`) is a set of 10 distinct backup codes
/// like `1234-5678-9012-3456`. Returns them.
pub(super) fn expect_backup_codes(reply: &Reply, codes: &Value) -> Vec<String> {
    let codes: Vec<String> = codes
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .map(|code| code.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    reply.check(
        codes.len() == BACKUP_CODE_COUNT,
        &format!("expected {BACKUP_CODE_COUNT} backup codes"),
    );
    reply.check(
        codes.iter().all(|code| is_backup_code(code)),
        "a backup code is 16 digits in groups of four (`1234-5678-9012-3456`)",
    );
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    reply.check(distinct.len() == codes.len(), "the backup codes differ");
    codes
}

/// What `two-factor/setup` returned, checked.
#[derive(Clone, Debug)]
pub(super) struct Setup {
    /// The base32 secret.
    pub(super) secret: String,
    /// An authenticator for it.
    pub(super) totp: Totp,
    /// The backup codes.
    pub(super) backup_codes: Vec<String>,
}

/// Panics unless `reply` is a 200 setup for `email`: a base32 secret (no
/// padding) of at least 128 bits; an `otpauth://totp/<issuer>:<email>` URL
/// with that secret and the issuer (and, if it names them, SHA1, 6 digits,
/// 30 s); an SVG QR code as a `data:` URL; 10 backup codes; no-store.
pub(super) fn expect_setup(reply: &Reply, email: &str) -> Setup {
    let body = reply.expect_json(200);
    expect_no_store(reply);
    let secret = body["secret"].as_str().unwrap_or_default().to_owned();
    reply.check(
        !secret.is_empty()
            && secret
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
        "`secret` is base32 (A-Z, 2-7) without padding",
    );
    let key = base32_decode(&secret).unwrap_or_default();
    reply.check(
        key.len() >= 16,
        "the secret has at least 128 bits (RFC 4226)",
    );

    let url = body["otpauth_url"].as_str().unwrap_or_default();
    let parsed = Url::parse(url);
    reply.check(parsed.is_ok(), "`otpauth_url` is a URL");
    let parsed = parsed.unwrap();
    reply.check(
        parsed.scheme() == "otpauth" && parsed.host_str() == Some("totp"),
        "`otpauth_url` starts with otpauth://totp/",
    );
    let label = percent_decode(parsed.path().trim_start_matches('/'));
    let (issuer, account) = label.split_once(':').unwrap_or_default();
    reply.check(
        !issuer.trim().is_empty() && account.trim().eq_ignore_ascii_case(email),
        &format!("the label of `otpauth_url` is `<issuer>:{email}`, got {label:?}"),
    );
    let param = |name: &str| {
        parsed
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    reply.check(
        param("secret").as_deref() == Some(secret.as_str()),
        "`otpauth_url` carries the secret",
    );
    reply.check(
        param("issuer").as_deref() == Some(issuer),
        "`otpauth_url` names the label's issuer in `issuer=`",
    );
    for (name, value) in [("algorithm", "SHA1"), ("digits", "6"), ("period", "30")] {
        reply.check(
            param(name).is_none_or(|given| given.eq_ignore_ascii_case(value)),
            &format!("`otpauth_url` says {name}={value}, if anything"),
        );
    }

    let qr = body["qr_code_data_url"].as_str().unwrap_or_default();
    let svg = qr
        .strip_prefix("data:image/svg+xml;base64,")
        .and_then(|data| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(data).ok()
        })
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    reply.check(
        svg.contains("<svg"),
        "`qr_code_data_url` is a base64 SVG (data:image/svg+xml;base64,...)",
    );

    let backup_codes = expect_backup_codes(reply, &body["backup_codes"]);
    Setup {
        totp: Totp::new(&secret),
        secret,
        backup_codes,
    }
}

/// `%XX` escapes of a URL path decoded (lossy UTF-8).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `two-factor/setup` with `{"password"}` as `account`, checked.
pub(super) async fn setup(api: &Api, account: &Account) -> Setup {
    let reply = post(
        api,
        SETUP,
        Some(&account.access_token),
        &json!({ "password": account.password }),
    )
    .await;
    expect_setup(&reply, &account.email)
}

/// `two-factor/enable` with `code` as `account`.
pub(super) async fn enable(api: &Api, account: &Account, code: &str) -> Reply {
    post(
        api,
        ENABLE,
        Some(&account.access_token),
        &json!({ "code": code }),
    )
    .await
    .noted(format!("enable with {code:?}"))
}

/// A user with two-factor on, and what they need to sign in.
#[derive(Clone, Debug)]
pub(super) struct Enrolled {
    /// The account, with the session that enabled two-factor.
    pub(super) account: Account,
    /// Their authenticator.
    pub(super) totp: Totp,
    /// Their backup codes not used yet.
    pub(super) backup_codes: Vec<String>,
}

impl Enrolled {
    /// A backup code not used yet (taken from the list).
    pub(super) fn backup_code(&mut self) -> String {
        assert!(
            !self.backup_codes.is_empty(),
            "the case used every backup code"
        );
        self.backup_codes.remove(0)
    }
}

/// Verifies `account`'s address as a client would: `send-verification-email`
/// with its Bearer token, the link of the first `email_verification`
/// message to it, and `verify-email` with the link's token; checked to be
/// a 200 whose user has `email_verified: true`.
pub(super) async fn verify_address(api: &Api, account: &Account) {
    let outbox = api.target().outbox();
    let token = verification_token(api, &outbox, account, 1).await;
    let reply = verify_email(api, &token)
        .await
        .noted("verify the address, as two-factor needs");
    let body = reply.expect_json(200);
    expect_verified(&reply, &body["user"], true);
}

/// A new password account whose address is verified: one that may set
/// two-factor up.
pub(super) async fn verified_account(api: &Api) -> Account {
    let account = api.sign_up().await;
    verify_address(api, &account).await;
    account
}

/// Sets up and enables two-factor for `account`, whose address must be
/// verified (see [`verified_account`]); its session stays.
pub(super) async fn enroll(api: &Api, account: Account) -> Enrolled {
    let Setup {
        mut totp,
        backup_codes,
        ..
    } = setup(api, &account).await;
    let (_, code) = totp.next_code().await;
    expect_no_content(&enable(api, &account, &code).await);
    Enrolled {
        account,
        totp,
        backup_codes,
    }
}

/// A new account, its address verified, with two-factor on.
pub(super) async fn enrolled(api: &Api) -> Enrolled {
    let account = verified_account(api).await;
    enroll(api, account).await
}
