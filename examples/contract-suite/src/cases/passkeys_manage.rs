//! Passkeys, managed: what the list shows, deleting, the token the routes
//! need, and the OpenAPI document's account of the six routes.

use reqwest::Method;

use crate::{
    Api, Reply, Target,
    webauthn::{Passkey, b64url},
};

use super::{
    account::{REVOKED, delete_me, expect_no_content},
    passkeys::{
        DEFAULT_NAME, PASSKEYS, REGISTER, REGISTER_OPTIONS, SIGN_IN, SIGN_IN_OPTIONS, add,
        creation_options, delete, entry_ids, expect_refused, expect_registered,
        expect_signed_in_as, list, origin, passkey_path, register, sign_in, sign_in_options,
    },
    two_factor::verified_account,
};

/// The list and the registration answer hold nothing of the credential:
/// not the public key (in any of its encodings), the user handle or the
/// counter; no field is named after them.
pub async fn passkey_list_holds_no_secrets(target: &Target) {
    let api = target.api();
    let account = verified_account(&api).await;
    let options = creation_options(&api, &account).await;
    let mut passkey = Passkey::new(&options.options, 2_050_727_965);
    let credential = passkey.attest(&passkey.registration(&options.options, &origin(target)));
    let registered = register(
        &api,
        &account.access_token,
        &options.challenge_id,
        &credential,
        None,
    )
    .await;
    expect_registered(&registered, DEFAULT_NAME);
    expect_signed_in_as(&sign_in(&api, &mut passkey).await, target, &account, false);
    let (listed, _) = list(&api, &account.access_token).await;

    let (x, y) = passkey.public_xy();
    let standard = |bytes: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let secrets = [
        b64url(&x),
        b64url(&y),
        b64url(&passkey.cose_key()),
        standard(&x),
        standard(&passkey.cose_key()),
        hex(&x),
        passkey.user_handle.clone(),
    ];
    for reply in [&registered, &listed] {
        let text = reply.text();
        for secret in &secrets {
            reply.check(
                !text.contains(secret.as_str()),
                &format!("the answer must not carry the credential's data ({secret})"),
            );
        }
        let lower = text.to_ascii_lowercase();
        for word in [
            "public",
            "cose",
            "counter",
            "sign_count",
            "handle",
            "secret",
            "\"key\"",
        ] {
            reply.check(
                !lower.contains(word),
                &format!("no field of a passkey entry is about {word:?}"),
            );
        }
        reply.check(
            !text.contains("205072796"),
            "the counter (2050727965, then 2050727966) is not shown",
        );
    }
}

/// Deleting is the owner's alone: another user's passkey, an unknown id,
/// and ids of other shapes are 404 `not_found` and delete nothing; the
/// passkey still signs its owner in.
pub async fn passkey_delete_is_per_user(target: &Target) {
    let api = target.api();
    let owner = verified_account(&api).await;
    let other = verified_account(&api).await;
    let (mut passkey, entry) = add(&api, &owner, None).await;
    let id = entry["id"].as_str().unwrap_or_default().to_owned();
    delete(&api, Some(&other.access_token), &id)
        .await
        .noted("another user's passkey")
        .expect_problem(404, "not_found");
    let long = "9".repeat(1000);
    for unknown in [
        "0",
        "-1",
        "99999999999",
        "00000000-0000-0000-0000-000000000000",
        "no such passkey",
        long.as_str(),
    ] {
        delete(&api, Some(&owner.access_token), unknown)
            .await
            .noted(format!("an unknown id {unknown:?}"))
            .expect_problem(404, "not_found");
    }
    let (reply, entries) = list(&api, &owner.access_token).await;
    reply.check(entry_ids(&entries) == [id], "the passkey stays");
    let (reply, entries) = list(&api, &other.access_token).await;
    reply.check(entries.is_empty(), "another user's list shows none of it");
    let reply = sign_in(&api, &mut passkey).await;
    expect_signed_in_as(&reply, target, &owner, false);
}

/// Deleting the account deletes its passkeys: they no longer sign in.
pub async fn passkey_goes_with_the_account(target: &Target) {
    let api = target.api();
    let account = verified_account(&api).await;
    let (mut passkey, _) = add(&api, &account, None).await;
    expect_no_content(&delete_me(&api, &account.access_token, &account.password).await);
    expect_refused(
        &sign_in(&api, &mut passkey)
            .await
            .noted("the passkey of a deleted account"),
    );
}

/// `method path` with `token` and, when given, `body` as JSON.
async fn send(
    api: &Api,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Reply {
    match body {
        Some(body) => {
            api.raw(method.clone(), path, token, Some("application/json"), body)
                .await
        }
        None => api.call(method.clone(), path, token).await,
    }
}

/// The four management routes need a token: none is 401 `missing_token`
/// (bare `Bearer` challenge), garbage 401 `invalid_token`, a signed-out
/// session's 401 `session_revoked`; that wins over a broken body. The two
/// sign-in routes need none.
pub async fn passkey_routes_need_token(target: &Target) {
    let api = target.api();
    let signed_out = verified_account(&api).await;
    let (_, entry) = add(&api, &signed_out, None).await;
    api.sign_out(&signed_out.access_token)
        .await
        .expect_status(204);
    let delete_path = passkey_path(entry["id"].as_str().unwrap_or_default());
    let routes = [
        (Method::POST, REGISTER_OPTIONS, Some("{}")),
        (Method::POST, REGISTER_OPTIONS, Some("{")),
        (
            Method::POST,
            REGISTER,
            Some(r#"{"challenge_id": "x", "credential": {}}"#),
        ),
        (Method::POST, REGISTER, Some("{")),
        (Method::GET, PASSKEYS, None),
        (Method::DELETE, delete_path.as_str(), None),
    ];
    for (method, path, body) in routes {
        let what = format!("{method} {path} with {body:?}");
        send(&api, &method, path, None, body)
            .await
            .noted(format!("no token: {what}"))
            .expect_unauthorized_without_token("missing_token");
        send(&api, &method, path, Some("garbage"), body)
            .await
            .noted(format!("a garbage token: {what}"))
            .expect_token_rejected(&["invalid_token"]);
        send(&api, &method, path, Some(&signed_out.access_token), body)
            .await
            .noted(format!("a signed-out session's token: {what}"))
            .expect_token_rejected(REVOKED);
    }
    sign_in_options(&api).await;
}

/// `GET /api/openapi.json` describes the six passkey operations with
/// their success and error statuses; a passkey sign-in's 200 may be
/// `SecondFactorRequired` (without user verification), like every first
/// factor's.
pub async fn openapi_lists_passkey_routes(target: &Target) {
    let api = target.api();
    let reply = api.get("/api/openapi.json", None).await;
    let doc = reply.expect_json(200);
    let item = format!("{PASSKEYS}/{{id}}");
    let operations: [(&str, &str, &[&str]); 6] = [
        (REGISTER_OPTIONS, "post", &["200", "401", "403"]),
        (REGISTER, "post", &["201", "400", "401", "403", "422"]),
        (PASSKEYS, "get", &["200", "401"]),
        (item.as_str(), "delete", &["204", "401", "404", "409"]),
        (SIGN_IN_OPTIONS, "post", &["200"]),
        (SIGN_IN, "post", &["200", "400", "401"]),
    ];
    for (path, method, statuses) in operations {
        let operation = &doc["paths"][path][method];
        reply.check(
            operation.is_object(),
            &format!(
                "the document must describe {} {path}; its paths are {:?}",
                method.to_ascii_uppercase(),
                doc["paths"]
                    .as_object()
                    .map(|paths| paths.keys().collect::<Vec<_>>())
            ),
        );
        for status in statuses {
            reply.check(
                operation["responses"][*status].is_object(),
                &format!(
                    "{} {path} must document a {status} response; it has {:?}",
                    method.to_ascii_uppercase(),
                    operation["responses"]
                        .as_object()
                        .map(|r| r.keys().collect::<Vec<_>>())
                ),
            );
        }
    }
    let schema =
        &doc["paths"][SIGN_IN]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
    let name = schema["$ref"]
        .as_str()
        .and_then(|reference| reference.rsplit('/').next())
        .unwrap_or_default();
    let described = doc["components"]["schemas"][name].to_string();
    reply.check(
        described.contains("SecondFactorRequired"),
        &format!("POST {SIGN_IN}'s 200 ({name}) must include SecondFactorRequired: {described}"),
    );
}
