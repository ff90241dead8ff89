//! The helpers of the passkey cases: the routes, the shapes of their
//! answers, and passkeys registered and used as a browser with a platform
//! authenticator would (the software authenticator of [`crate::webauthn`]).
//! The cases are in `passkeys_register.rs` (options and registration),
//! `passkeys_manage.rs` (the list, deleting, tokens, the OpenAPI
//! document), `passkeys_sign_in.rs` (the sign-in ceremony and what
//! breaks it) and `passkeys_server.rs` (those that start their own
//! servers: bad input, the last sign-in method).
//!
//! Adding a passkey is only for a verified address, as two-factor is, so
//! every account that registers one first verifies its address
//! ([`verified_account`](super::two_factor::verified_account)).
//!
//! The relying party id is the one the options name (`rp.id`, checked to
//! be `PUBLIC_URL`'s host), and the origin the client data names is
//! `PUBLIC_URL`'s origin, unless a case configured others.

use reqwest::{Method, Url};
use serde_json::{Value, json};

use crate::{
    Account, Reply, Target,
    client::{Api, expect_utc_timestamp, path_segment},
    webauthn::{ES256, Passkey, from_b64url},
};

/// `POST /api/auth/passkeys/register/options`.
pub(super) const REGISTER_OPTIONS: &str = "/api/auth/passkeys/register/options";
/// `POST /api/auth/passkeys/register`.
pub(super) const REGISTER: &str = "/api/auth/passkeys/register";
/// `GET /api/auth/passkeys`.
pub(super) const PASSKEYS: &str = "/api/auth/passkeys";
/// `POST /api/auth/passkeys/sign-in/options`.
pub(super) const SIGN_IN_OPTIONS: &str = "/api/auth/passkeys/sign-in/options";
/// `POST /api/auth/passkeys/sign-in`.
pub(super) const SIGN_IN: &str = "/api/auth/passkeys/sign-in";

/// The code of every failed ceremony.
pub(super) const INVALID_CREDENTIAL: &str = "invalid_credential";

/// The name a passkey registered without one gets.
pub(super) const DEFAULT_NAME: &str = "Passkey";

/// A named change to a ceremony (a [`Registration`](crate::webauthn::Registration)
/// or an [`Assertion`](crate::webauthn::Assertion)) before it is answered.
pub(super) type Tamper<'a, T> = (&'a str, &'a dyn Fn(&mut T));

/// `DELETE /api/auth/passkeys/{id}`'s path.
pub(super) fn passkey_path(id: &str) -> String {
    format!("{PASSKEYS}/{}", path_segment(id))
}

/// The origin of `target`'s `PUBLIC_URL` (`scheme://host[:port]`): the
/// one origin a server allows by default.
pub(super) fn origin(target: &Target) -> String {
    let url = Url::parse(target.public()).expect("PUBLIC_URL is a URL");
    url.origin().ascii_serialization()
}

/// The host of `target`'s `PUBLIC_URL`: the RP id by default.
pub(super) fn rp_id(target: &Target) -> String {
    let url = Url::parse(target.public()).expect("PUBLIC_URL is a URL");
    url.host_str().unwrap_or_default().to_owned()
}

/// A checked options answer: the challenge's id and the options.
#[derive(Clone, Debug)]
pub(super) struct Options {
    /// `challenge_id`.
    pub(super) challenge_id: String,
    /// `options`.
    pub(super) options: Value,
}

/// Panics unless `value` (of `reply`) is a base64url challenge of at least
/// 16 bytes (WebAuthn §13.4.3).
fn expect_challenge_bytes(reply: &Reply, value: &Value) {
    let bytes = value.as_str().and_then(from_b64url).unwrap_or_default();
    reply.check(
        bytes.len() >= 16,
        &format!("`challenge` is base64url of at least 16 random bytes, got {value}"),
    );
}

/// Panics unless `reply` carries a non-empty string `challenge_id` and an
/// `options` object; returns them.
fn expect_options_answer(reply: &Reply) -> Options {
    let body = reply.expect_json(200);
    let challenge_id = body["challenge_id"].as_str().unwrap_or_default();
    reply.check(
        !challenge_id.is_empty(),
        "expected a non-empty string `challenge_id`",
    );
    reply.check(body["options"].is_object(), "expected an `options` object");
    Options {
        challenge_id: challenge_id.to_owned(),
        options: body["options"].clone(),
    }
}

/// `POST register/options` with `{}` and, when given, a Bearer token.
pub(super) async fn register_options(api: &Api, token: Option<&str>) -> Reply {
    api.json(Method::POST, REGISTER_OPTIONS, token, &json!({}))
        .await
        .noted("passkey registration options")
}

/// Panics unless `reply` is 200 registration options for `account` on a
/// server whose RP id is `rp_id`: the RP, a user handle of 1 to 64 bytes
/// that is not the address, a name, a challenge, ES256 offered, a
/// timeout, a list of credentials to exclude, a resident key and user
/// verification required, attestation `none`. Returns them.
pub(super) fn expect_creation_options(reply: &Reply, rp_id: &str, account: &Account) -> Options {
    let answer = expect_options_answer(reply);
    let options = &answer.options;
    reply.check(
        options["rp"]["id"] == rp_id,
        &format!("`rp.id` is {rp_id:?} (PUBLIC_URL's host or WEBAUTHN_RP_ID)"),
    );
    reply.check(
        options["rp"]["name"]
            .as_str()
            .is_some_and(|name| !name.trim().is_empty()),
        "`rp.name` is a non-empty string",
    );
    let handle = options["user"]["id"]
        .as_str()
        .and_then(from_b64url)
        .unwrap_or_default();
    reply.check(
        (1..=64).contains(&handle.len()),
        "`user.id` is base64url of 1 to 64 bytes (WebAuthn's user handle)",
    );
    let email = account.email.as_bytes();
    reply.check(
        !handle.windows(email.len()).any(|window| window == email),
        "the user handle carries no personal data such as the address (WebAuthn §14.6.1)",
    );
    for field in ["name", "displayName"] {
        reply.check(
            options["user"][field].is_string(),
            &format!("`user.{field}` is a string"),
        );
    }
    expect_challenge_bytes(reply, &options["challenge"]);
    let params = options["pubKeyCredParams"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    reply.check(
        params
            .iter()
            .any(|param| param["type"] == "public-key" && param["alg"] == ES256),
        "`pubKeyCredParams` offers ES256 (`{\"type\": \"public-key\", \"alg\": -7}`)",
    );
    reply.check(
        options["timeout"]
            .as_u64()
            .is_some_and(|timeout| timeout > 0),
        "`timeout` is a positive number of milliseconds",
    );
    let excluded = options["excludeCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    reply.check(
        options["excludeCredentials"].is_array()
            && excluded.iter().all(|entry| {
                entry["type"] == "public-key"
                    && entry["id"].as_str().and_then(from_b64url).is_some()
            }),
        "`excludeCredentials` is a list of `{\"type\": \"public-key\", \"id\": <base64url>}`",
    );
    let selection = &options["authenticatorSelection"];
    reply.check(
        selection["residentKey"] == "required" && selection["requireResidentKey"] == true,
        "a resident (discoverable) key is required",
    );
    reply.check(
        selection["userVerification"] == "required",
        "user verification is required at registration",
    );
    reply.check(options["attestation"] == "none", "`attestation` is `none`");
    answer
}

/// Registration options for `account`, checked against `target`'s RP id.
pub(super) async fn creation_options(api: &Api, account: &Account) -> Options {
    let reply = register_options(api, Some(&account.access_token)).await;
    expect_creation_options(&reply, &rp_id(api.target()), account)
}

/// `POST register` with the challenge, `credential` and, when given, `name`.
pub(super) async fn register(
    api: &Api,
    token: &str,
    challenge_id: &str,
    credential: &Value,
    name: Option<&str>,
) -> Reply {
    let mut body = json!({ "challenge_id": challenge_id, "credential": credential });
    if let Some(name) = name {
        body["name"] = json!(name);
    }
    api.json(Method::POST, REGISTER, Some(token), &body)
        .await
        .noted("passkey registration")
}

/// Panics unless `entry` (of `reply`) is a passkey as the list shows it:
/// a non-empty string `id`, `name`, a UTC `created_at`, and a
/// `last_used_at` that is null or a UTC timestamp.
pub(super) fn expect_entry(reply: &Reply, entry: &Value) {
    reply.check(
        entry["id"].as_str().is_some_and(|id| !id.is_empty()),
        &format!("a passkey's `id` is a non-empty string: {entry}"),
    );
    reply.check(
        entry["name"].is_string(),
        &format!("a passkey's `name` is a string: {entry}"),
    );
    expect_utc_timestamp(&entry["created_at"], reply, "created_at");
    if !entry["last_used_at"].is_null() {
        expect_utc_timestamp(&entry["last_used_at"], reply, "last_used_at");
    }
    reply.check(
        entry.get("last_used_at").is_some(),
        &format!("a passkey has `last_used_at` (null until used): {entry}"),
    );
}

/// Panics unless `reply` is a 201 with a new passkey named `name`, never
/// used. Returns the entry.
pub(super) fn expect_registered(reply: &Reply, name: &str) -> Value {
    let entry = reply.expect_json(201);
    expect_entry(reply, &entry);
    reply.check(
        entry["name"] == name,
        &format!("expected the name {name:?}"),
    );
    reply.check(
        entry["last_used_at"].is_null(),
        "a new passkey was never used: `last_used_at: null`",
    );
    entry
}

/// A passkey of `account` (whose address must be verified), registered as
/// an honest browser would with the counter starting at `sign_count`, and
/// its list entry.
pub(super) async fn add_counted(
    api: &Api,
    account: &Account,
    name: Option<&str>,
    sign_count: u32,
) -> (Passkey, Value) {
    let options = creation_options(api, account).await;
    let passkey = Passkey::new(&options.options, sign_count);
    let registration = passkey.registration(&options.options, &origin(api.target()));
    let reply = register(
        api,
        &account.access_token,
        &options.challenge_id,
        &passkey.attest(&registration),
        name,
    )
    .await;
    let entry = expect_registered(&reply, name.map_or(DEFAULT_NAME, str::trim));
    (passkey, entry)
}

/// [`add_counted`] with a counter starting at 1.
pub(super) async fn add(api: &Api, account: &Account, name: Option<&str>) -> (Passkey, Value) {
    add_counted(api, account, name, 1).await
}

/// `GET /api/auth/passkeys` with `token`, checked to be a 200 list of
/// entries, oldest first.
pub(super) async fn list(api: &Api, token: &str) -> (Reply, Vec<Value>) {
    let reply = api
        .get(PASSKEYS, Some(token))
        .await
        .noted("the passkey list");
    let body = reply.expect_json(200);
    reply.check(body.is_array(), "the passkey list is a JSON array");
    let entries = body.as_array().cloned().unwrap_or_default();
    let mut previous = None;
    for entry in &entries {
        expect_entry(&reply, entry);
        let created = expect_utc_timestamp(&entry["created_at"], &reply, "created_at");
        if let Some(previous) = previous {
            reply.check(created >= previous, "passkeys are listed oldest first");
        }
        previous = Some(created);
    }
    (reply, entries)
}

/// The `id`s of a passkey list, in order.
pub(super) fn entry_ids(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| entry["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `DELETE /api/auth/passkeys/{id}` with `token`.
pub(super) async fn delete(api: &Api, token: Option<&str>, id: &str) -> Reply {
    api.call(Method::DELETE, &passkey_path(id), token)
        .await
        .noted(format!("delete passkey {id:?}"))
}

/// `POST sign-in/options` with `{}`, no token.
pub(super) async fn sign_in_options_reply(api: &Api) -> Reply {
    api.json(Method::POST, SIGN_IN_OPTIONS, None, &json!({}))
        .await
        .noted("passkey sign-in options")
}

/// Panics unless `reply` is 200 sign-in options of a server whose RP id
/// is `rp_id`: a challenge, the RP id, a timeout, user verification
/// preferred (not required: without it a passkey is a first factor), and
/// no `allowCredentials` (discoverable credentials). Returns them.
pub(super) fn expect_request_options(reply: &Reply, rp_id: &str) -> Options {
    let answer = expect_options_answer(reply);
    let options = &answer.options;
    expect_challenge_bytes(reply, &options["challenge"]);
    reply.check(options["rpId"] == rp_id, &format!("`rpId` is {rp_id:?}"));
    reply.check(
        options["timeout"]
            .as_u64()
            .is_some_and(|timeout| timeout > 0),
        "`timeout` is a positive number of milliseconds",
    );
    reply.check(
        options["userVerification"] == "preferred",
        "`userVerification` is `preferred`",
    );
    reply.check(
        options.get("allowCredentials").is_none_or(|allowed| {
            allowed.is_null() || allowed.as_array().is_some_and(Vec::is_empty)
        }),
        "`allowCredentials` is empty or absent: discoverable credentials name no user",
    );
    answer
}

/// Sign-in options, checked against `api`'s server's RP id.
pub(super) async fn sign_in_options(api: &Api) -> Options {
    let reply = sign_in_options_reply(api).await;
    expect_request_options(&reply, &rp_id(api.target()))
}

/// `POST sign-in` with the challenge and `credential`.
pub(super) async fn sign_in_with(api: &Api, challenge_id: &str, credential: &Value) -> Reply {
    let body = json!({ "challenge_id": challenge_id, "credential": credential });
    api.json(Method::POST, SIGN_IN, None, &body)
        .await
        .noted("passkey sign-in")
}

/// An honest sign-in with `passkey` (user verified): fresh options, the
/// assertion, the answer.
pub(super) async fn sign_in(api: &Api, passkey: &mut Passkey) -> Reply {
    let options = sign_in_options(api).await;
    let assertion = passkey.assertion(&options.options, &origin(api.target()));
    sign_in_with(api, &options.challenge_id, &passkey.sign(&assertion)).await
}

/// Panics unless `reply` is the 401 `invalid_credential` of a failed
/// sign-in ceremony (sent without a token: a bare `Bearer` challenge).
pub(super) fn expect_refused(reply: &Reply) {
    reply.expect_unauthorized_without_token(INVALID_CREDENTIAL);
}

/// Panics unless `reply` is the 401 `invalid_credential` of a failed
/// registration ceremony (sent with a valid token, so the contract's
/// `WWW-Authenticate` rule for a refused token is not asked of it).
pub(super) fn expect_registration_refused(reply: &Reply) {
    reply.expect_problem(401, INVALID_CREDENTIAL);
}

/// Panics unless `reply` is a problem+json 4xx: never a success, never a
/// 5xx.
pub(super) fn expect_client_error(reply: &Reply) {
    reply.check(
        reply.status.is_client_error(),
        "bad input must be a 4xx, never a success or a 5xx",
    );
    let content_type = reply.header("content-type").unwrap_or_default();
    reply.check(
        crate::client::media_type(&content_type) == "application/problem+json",
        "expected Content-Type application/problem+json",
    );
}

/// Panics unless `reply` is a 200 `AuthResponse` of `account`'s user
/// (same `user.id`) with `two_factor_enabled` = `two_factor`. Returns the
/// body.
pub(super) fn expect_signed_in_as(
    reply: &Reply,
    target: &Target,
    account: &Account,
    two_factor: bool,
) -> Value {
    let body = reply.expect_auth_response(200, target, &account.email);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        &format!("signed in as {:?}, the passkey's owner", account.user_id),
    );
    super::two_factor::expect_two_factor(reply, &body["user"], two_factor);
    body
}
