//! Passkey cases that start their own servers: bad input (with the
//! sign-in throttle out of the way), the relying party configured apart
//! from `PUBLIC_URL`, and the last way to sign in of a user without a
//! password (made by the OpenID test provider).

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    Api, Backend, Reply, Server, Target,
    oidc::Identity,
    webauthn::{Passkey, b64url, cbor},
};

use super::{
    account::expect_no_content,
    oauth::{OAuthServer, account_of},
    passkeys::{
        INVALID_CREDENTIAL, REGISTER, SIGN_IN, add, creation_options, delete, expect_refused,
        expect_registration_refused, expect_signed_in_as, list, origin, register, sign_in,
        sign_in_options, sign_in_with,
    },
    two_factor::verified_account,
};

/// Panics unless `reply` refuses bad input inside a well-formed body: 400
/// `malformed_body`, or the 401 `invalid_credential` of a failed ceremony.
fn expect_bad_credential(reply: &Reply) {
    match reply.code() {
        400 => {
            reply.expect_problem(400, "malformed_body");
        }
        _ => {
            reply.expect_problem(401, INVALID_CREDENTIAL);
        }
    }
}

/// `credential` with the value at `pointer` (a JSON pointer) replaced by
/// `value`; `/id` stands for both `id` and `rawId` (which name the
/// credential together).
fn with(credential: &Value, pointer: &str, value: Value) -> Value {
    let mut changed = credential.clone();
    let pointers: &[&str] = if pointer == "/id" {
        &["/id", "/rawId"]
    } else {
        &[pointer]
    };
    for pointer in pointers {
        *changed
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer} is in {credential}")) = value.clone();
    }
    changed
}

/// An attestation object (format `none`) around `auth_data`.
fn attestation_object(auth_data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    cbor::map(&mut out, 3);
    cbor::text(&mut out, "fmt");
    cbor::text(&mut out, "none");
    cbor::text(&mut out, "attStmt");
    cbor::map(&mut out, 0);
    cbor::text(&mut out, "authData");
    cbor::bytes(&mut out, auth_data);
    out
}

/// Bad input to the passkey routes is a 4xx problem, never a 5xx: broken
/// JSON, wrong types and missing fields are 400; a wrong content type
/// 415; a credential over the body limit 413; base64url that is not,
/// CBOR that is not, an attestation object without what it needs,
/// authenticator data too short, client data that is not JSON, a
/// signature that is not DER, a credential of another type: 400 or 401
/// `invalid_credential`. Nothing is registered, nobody is signed in, and
/// the user's passkey signs in afterwards.
pub async fn passkey_bad_input_is_4xx(binary: &Path, backend: Backend) {
    // The refused sign-ins below may count toward the throttle.
    let server = Server::start(binary, backend, &[("SIGN_IN_MAX_FAILURES", "1000")]).await;
    let target = server.target();
    let api = target.api();
    let origin = origin(&target);
    let account = verified_account(&api).await;
    let token = Some(account.access_token.as_str());
    let (mut passkey, _) = add(&api, &account, None).await;
    let json = Some("application/json");
    let huge = "A".repeat(70_000);

    // Registration.
    let options = creation_options(&api, &account).await;
    let fresh = Passkey::new(&options.options, 1);
    let honest = fresh.attest(&fresh.registration(&options.options, &origin));
    let id = options.challenge_id.clone();
    for (what, body) in [
        ("truncated JSON", r#"{"challenge_id": "#.to_owned()),
        ("an array", "[]".to_owned()),
        ("no credential", format!(r#"{{"challenge_id": "{id}"}}"#)),
        ("no challenge id", json!({ "credential": honest }).to_string()),
        ("a number for the challenge id", json!({ "challenge_id": 5, "credential": honest }).to_string()),
        ("a string for the credential", json!({ "challenge_id": id, "credential": "x" }).to_string()),
        ("a credential without a response", json!({ "challenge_id": id, "credential": { "id": "AA", "rawId": "AA", "type": "public-key" } }).to_string()),
        ("a number for the attestation object", json!({ "challenge_id": id, "credential": with(&honest, "/response/attestationObject", json!(5)) }).to_string()),
    ] {
        api.raw(Method::POST, REGISTER, token, json, body)
            .await
            .noted(format!("registration with {what}"))
            .expect_problem(400, "malformed_body");
    }
    let body = json!({ "challenge_id": id, "credential": honest }).to_string();
    api.raw(Method::POST, REGISTER, token, Some("text/plain"), body)
        .await
        .noted("registration as text/plain")
        .expect_problem(415, "unsupported_media_type");
    let oversized = with(&honest, "/response/attestationObject", json!(huge));
    api.json(
        Method::POST,
        REGISTER,
        token,
        &json!({ "challenge_id": id, "credential": oversized }),
    )
    .await
    .noted("a 70 000-byte attestation object")
    .expect_problem(413, "payload_too_large");

    let short_auth_data = attestation_object(&[0; 10]);
    let mut no_auth_data = Vec::new();
    cbor::map(&mut no_auth_data, 1);
    cbor::text(&mut no_auth_data, "fmt");
    cbor::text(&mut no_auth_data, "none");
    let object = crate::webauthn::from_b64url(
        honest["response"]["attestationObject"]
            .as_str()
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    let truncated = &object[..object.len() / 2];
    let bad_credentials: [(&str, &str, Value); 10] = [
        (
            "attestation object not base64url",
            "/response/attestationObject",
            json!("!!not base64url!!"),
        ),
        (
            "client data not base64url",
            "/response/clientDataJSON",
            json!("%%%"),
        ),
        (
            "attestation object not CBOR",
            "/response/attestationObject",
            json!(b64url(&[0xff; 40])),
        ),
        (
            "a truncated attestation object",
            "/response/attestationObject",
            json!(b64url(truncated)),
        ),
        (
            "an empty attestation object",
            "/response/attestationObject",
            json!(""),
        ),
        (
            "authenticator data of 10 bytes",
            "/response/attestationObject",
            json!(b64url(&short_auth_data)),
        ),
        (
            "no authenticator data",
            "/response/attestationObject",
            json!(b64url(&no_auth_data)),
        ),
        (
            "client data that is not JSON",
            "/response/clientDataJSON",
            json!(b64url(b"not json")),
        ),
        (
            "client data that is a JSON array",
            "/response/clientDataJSON",
            json!(b64url(b"[]")),
        ),
        ("a credential of another type", "/type", json!("password")),
    ];
    for (what, pointer, value) in bad_credentials {
        let options = creation_options(&api, &account).await;
        let credential = fresh.attest(&fresh.registration(&options.options, &origin));
        let reply = register(
            &api,
            &account.access_token,
            &options.challenge_id,
            &with(&credential, pointer, value),
            None,
        )
        .await
        .noted(format!("registration with {what}"));
        expect_bad_credential(&reply);
    }
    let (reply, entries) = list(&api, &account.access_token).await;
    reply.check(entries.len() == 1, "no bad registration added a passkey");

    // Sign-in.
    let options = sign_in_options(&api).await;
    let assertion = passkey.assertion(&options.options, &origin);
    let honest = passkey.sign(&assertion);
    let id = options.challenge_id.clone();
    for (what, body) in [
        ("truncated JSON", r#"{"challenge_id": "#.to_owned()),
        ("an array", "[]".to_owned()),
        ("no credential", format!(r#"{{"challenge_id": "{id}"}}"#)),
        ("no challenge id", json!({ "credential": honest }).to_string()),
        ("a number for the challenge id", json!({ "challenge_id": 5, "credential": honest }).to_string()),
        ("a credential without a response", json!({ "challenge_id": id, "credential": { "id": "AA", "rawId": "AA", "type": "public-key" } }).to_string()),
        ("a number for the signature", json!({ "challenge_id": id, "credential": with(&honest, "/response/signature", json!(5)) }).to_string()),
        ("a number for the user handle", json!({ "challenge_id": id, "credential": with(&honest, "/response/userHandle", json!(5)) }).to_string()),
    ] {
        api.raw(Method::POST, SIGN_IN, None, json, body)
            .await
            .noted(format!("sign-in with {what}"))
            .expect_problem(400, "malformed_body");
    }
    let body = json!({ "challenge_id": id, "credential": honest }).to_string();
    api.raw(Method::POST, SIGN_IN, None, Some("text/plain"), body)
        .await
        .noted("sign-in as text/plain")
        .expect_problem(415, "unsupported_media_type");
    let oversized = with(&honest, "/response/signature", json!(huge));
    api.json(
        Method::POST,
        SIGN_IN,
        None,
        &json!({ "challenge_id": id, "credential": oversized }),
    )
    .await
    .noted("a 70 000-byte signature")
    .expect_problem(413, "payload_too_large");
    let long_id = "x".repeat(10_000);
    let reply = sign_in_with(&api, &long_id, &honest)
        .await
        .noted("a 10 000-character challenge id");
    expect_bad_credential(&reply);

    let bad_assertions: [(&str, &str, Value); 10] = [
        (
            "a signature not base64url",
            "/response/signature",
            json!("!!not base64url!!"),
        ),
        (
            "authenticator data not base64url",
            "/response/authenticatorData",
            json!("%%%"),
        ),
        ("a credential id not base64url", "/id", json!("***")),
        (
            "a signature that is not DER",
            "/response/signature",
            json!(b64url(&[0x30; 64])),
        ),
        ("an empty signature", "/response/signature", json!("")),
        (
            "authenticator data of 10 bytes",
            "/response/authenticatorData",
            json!(b64url(&[0; 10])),
        ),
        (
            "client data that is not JSON",
            "/response/clientDataJSON",
            json!(b64url(b"not json")),
        ),
        (
            "a user handle not base64url",
            "/response/userHandle",
            json!("@@@"),
        ),
        ("an empty credential id", "/id", json!("")),
        ("a credential of another type", "/type", json!("password")),
    ];
    for (what, pointer, value) in bad_assertions {
        let options = sign_in_options(&api).await;
        let assertion = passkey.assertion(&options.options, &origin);
        let credential = passkey.sign(&assertion);
        let reply = sign_in_with(
            &api,
            &options.challenge_id,
            &with(&credential, pointer, value),
        )
        .await
        .noted(format!("sign-in with {what}"));
        expect_bad_credential(&reply);
    }
    let reply = sign_in(&api, &mut passkey)
        .await
        .noted("after the bad input");
    expect_signed_in_as(&reply, &target, &account, false);
}

/// `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS` override what `PUBLIC_URL`
/// gives (here an IP address, which cannot be an RP id): the options name
/// `localhost`, each listed origin registers and signs in, and
/// `PUBLIC_URL`'s origin and an origin not listed are refused.
pub async fn passkey_rp_id_and_origins_are_configurable(binary: &Path, backend: Backend) {
    let dev = "http://localhost:5173";
    let other = "http://localhost:3000";
    let public = "http://127.0.0.1:8080";
    let server = Server::start(
        binary,
        backend,
        &[
            ("PUBLIC_URL", public),
            ("WEBAUTHN_RP_ID", "localhost"),
            ("WEBAUTHN_ORIGINS", &format!("{dev},{other}")),
        ],
    )
    .await;
    // The helpers take the RP id and origin from a target's PUBLIC_URL.
    let target = Target {
        public_url: Some(dev.to_owned()),
        ..server.target()
    };
    let api = target.api();
    let account = verified_account(&api).await;
    let (mut passkey, _) = add(&api, &account, None).await;
    assert_eq!(passkey.rp_id, "localhost", "the options' `rp.id`");
    let reply = sign_in(&api, &mut passkey)
        .await
        .noted(format!("from {dev}"));
    expect_signed_in_as(&reply, &target, &account, false);

    let options = creation_options(&api, &account).await;
    let second = Passkey::new(&options.options, 1);
    let credential = second.attest(&second.registration(&options.options, other));
    register(
        &api,
        &account.access_token,
        &options.challenge_id,
        &credential,
        None,
    )
    .await
    .noted(format!("registration from {other}"))
    .expect_status(201);
    for origin in [public, "http://localhost:8080", "http://evil.invalid:5173"] {
        let options = creation_options(&api, &account).await;
        let refused = Passkey::new(&options.options, 1);
        let credential = refused.attest(&refused.registration(&options.options, origin));
        let reply = register(
            &api,
            &account.access_token,
            &options.challenge_id,
            &credential,
            None,
        )
        .await
        .noted(format!("registration from {origin}"));
        expect_registration_refused(&reply);
        let options = sign_in_options(&api).await;
        let assertion = passkey.assertion(&options.options, origin);
        let reply = sign_in_with(&api, &options.challenge_id, &passkey.sign(&assertion))
            .await
            .noted(format!("sign-in from {origin}"));
        expect_refused(&reply);
    }
    let options = sign_in_options(&api).await;
    let assertion = passkey.assertion(&options.options, other);
    let reply = sign_in_with(&api, &options.challenge_id, &passkey.sign(&assertion))
        .await
        .noted(format!("sign-in from {other}"));
    expect_signed_in_as(&reply, &target, &account, false);
}

/// `DELETE /api/auth/accounts/{provider}`.
async fn unlink(api: &Api, provider: &str, token: &str) -> Reply {
    api.call(
        Method::DELETE,
        &format!("/api/auth/accounts/{provider}"),
        Some(token),
    )
    .await
    .noted(format!("unlink {provider}"))
}

/// A passkey counts as a way to sign in: a user without a password (made
/// by the OpenID test provider, which vouches for the address) adds two
/// passkeys, deletes one (204), unlinks the provider (204: a passkey is
/// left), and cannot delete the last passkey (409 `last_sign_in_method`),
/// which still signs in. A user with a password deletes their only
/// passkey (204).
pub async fn passkey_last_sign_in_method(binary: &Path, backend: Backend) {
    let dev = "http://localhost:5173";
    let extra = [
        ("WEBAUTHN_RP_ID", "localhost".to_owned()),
        ("WEBAUTHN_ORIGINS", dev.to_owned()),
    ];
    let Some(s) = OAuthServer::start(binary, backend, "passkey_last_sign_in_method", &extra).await
    else {
        return;
    };
    let target = Target {
        public_url: Some(dev.to_owned()),
        ..s.api().target().clone()
    };
    let api = target.api();
    let identity = Identity::fresh();
    let body = s.client.sign_in("mock", &identity, &identity.email).await;
    let account = account_of(&body, &identity.email);
    let token = account.access_token.as_str();
    let (_, first) = add(&api, &account, Some("first")).await;
    let (mut last, second) = add(&api, &account, Some("second")).await;
    expect_no_content(&delete(&api, Some(token), first["id"].as_str().unwrap_or_default()).await);
    expect_no_content(&unlink(&api, "mock", token).await);
    let second_id = second["id"].as_str().unwrap_or_default();
    delete(&api, Some(token), second_id)
        .await
        .noted("the last passkey of a user without a password or identity")
        .expect_problem(409, "last_sign_in_method");
    let (reply, entries) = list(&api, token).await;
    reply.check(entries.len() == 1, "the last passkey stays");
    let reply = sign_in(&api, &mut last).await.noted("the last passkey");
    expect_signed_in_as(&reply, &target, &account, false);

    let with_password = verified_account(&api).await;
    let (_, only) = add(&api, &with_password, None).await;
    expect_no_content(
        &delete(
            &api,
            Some(&with_password.access_token),
            only["id"].as_str().unwrap_or_default(),
        )
        .await
        .noted("the only passkey of a user with a password"),
    );
}
