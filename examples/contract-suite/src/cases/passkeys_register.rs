//! Adding a passkey: the registration options and ceremony, what breaks
//! it, names, the exclude list, and the round trip from registration to
//! deletion.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    Target,
    webauthn::{ATTESTED_DATA, GET, Passkey, Registration, USER_PRESENT, USER_VERIFIED, b64url},
};

use super::{
    account::expect_no_content,
    passkeys::{
        DEFAULT_NAME, REGISTER, Tamper, add, creation_options, delete, entry_ids,
        expect_client_error, expect_creation_options, expect_refused, expect_registered,
        expect_registration_refused, expect_signed_in_as, list, origin, register, register_options,
        rp_id, sign_in, sign_in_options,
    },
    two_factor::{verified_account, verify_address},
};

/// The whole life of a passkey: a verified user with none asks for
/// options (the RP is `PUBLIC_URL`'s host, nothing to exclude), registers
/// one without a name (201, `Passkey`, never used), sees it listed, signs
/// in with it (an `AuthResponse` whose access token works on `/me` and
/// whose refresh token refreshes; the list then shows `last_used_at`),
/// deletes it (204, the list is empty), and can no longer sign in with
/// it; deleting it again is 404.
pub async fn passkey_register_sign_in_delete(target: &Target) {
    let api = target.api();
    let account = verified_account(&api).await;
    let token = account.access_token.as_str();
    let (reply, entries) = list(&api, token).await;
    reply.check(entries.is_empty(), "a new account has no passkeys");

    let reply = register_options(&api, Some(token)).await;
    let options = expect_creation_options(&reply, &rp_id(target), &account);
    reply.check(
        options.options["excludeCredentials"] == json!([]),
        "a user without passkeys excludes none",
    );
    let mut passkey = Passkey::new(&options.options, 1);
    let registration = passkey.registration(&options.options, &origin(target));
    let credential = passkey.attest(&registration);
    let reply = register(&api, token, &options.challenge_id, &credential, None).await;
    let entry = expect_registered(&reply, DEFAULT_NAME);
    let (reply, entries) = list(&api, token).await;
    // The database may keep less precision than the 201 showed.
    let millis = |entry: &Value, reply: &crate::Reply| {
        let at = crate::client::expect_utc_timestamp(&entry["created_at"], reply, "created_at");
        at.unix_timestamp_nanos() / 1_000_000
    };
    reply.check(
        entries.len() == 1
            && entries[0]["id"] == entry["id"]
            && entries[0]["name"] == entry["name"]
            && entries[0]["last_used_at"].is_null()
            && (millis(&entries[0], &reply) - millis(&entry, &reply)).abs() <= 1,
        &format!("the list shows the new passkey as registered: {entry}"),
    );

    let reply = sign_in(&api, &mut passkey).await;
    expect_signed_in_as(&reply, target, &account, false);
    let session = account.with_session(&reply);
    reply.check(
        session.session_id != account.session_id,
        "a passkey sign-in opens a session of its own",
    );
    let me = api
        .me(&session.access_token)
        .await
        .noted("/me after a passkey sign-in");
    let body = me.expect_json(200);
    me.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the passkey's owner",
    );
    api.refresh(&session.refresh_token)
        .await
        .noted("refresh after a passkey sign-in")
        .expect_auth_response(200, target, &account.email);
    let (reply, entries) = list(&api, token).await;
    let created =
        crate::client::expect_utc_timestamp(&entries[0]["created_at"], &reply, "created_at");
    let used =
        crate::client::expect_utc_timestamp(&entries[0]["last_used_at"], &reply, "last_used_at");
    reply.check(used >= created, "`last_used_at` is set by the sign-in");
    let reply = sign_in(&api, &mut passkey).await.noted("a second sign-in");
    expect_signed_in_as(&reply, target, &account, false);

    let id = entry["id"].as_str().unwrap_or_default();
    expect_no_content(&delete(&api, Some(token), id).await);
    let (reply, entries) = list(&api, token).await;
    reply.check(
        entries.is_empty(),
        "the deleted passkey is gone from the list",
    );
    expect_refused(&sign_in(&api, &mut passkey).await.noted("a deleted passkey"));
    delete(&api, Some(token), id)
        .await
        .noted("delete it again")
        .expect_problem(404, "not_found");
}

/// Names: trimmed, 1 to 64 characters (Unicode scalar values), no
/// control characters, `Passkey` when none is given; a name that breaks a
/// rule is 422 `invalid_name` and registers nothing (the list keeps only
/// the accepted ones, in order); a name that is not a string is 400.
pub async fn passkey_names(target: &Target) {
    let api = target.api();
    let account = verified_account(&api).await;
    let token = account.access_token.as_str();
    let long = "é".repeat(64);
    let mut accepted = Vec::new();
    for name in [
        Some("  Work laptop  "),
        Some(long.as_str()),
        None,
        Some("x"),
    ] {
        let (_, entry) = add(&api, &account, name).await;
        accepted.push(entry);
    }
    let names: Vec<Value> = accepted.iter().map(|entry| entry["name"].clone()).collect();
    assert_eq!(
        names,
        [
            json!("Work laptop"),
            json!(long),
            json!(DEFAULT_NAME),
            json!("x")
        ],
        "names as given, trimmed"
    );

    let too_long = "é".repeat(65);
    let too_long_ascii = "x".repeat(65);
    let refused = [
        "",
        "   ",
        too_long.as_str(),
        too_long_ascii.as_str(),
        "bell\u{7}",
        "line\nbreak",
        "tab\there",
        "nul\u{0}",
        "del\u{7f}",
        "c1\u{85}x",
    ];
    let mut last = None;
    for name in refused {
        let options = creation_options(&api, &account).await;
        let passkey = Passkey::new(&options.options, 1);
        let credential = passkey.attest(&passkey.registration(&options.options, &origin(target)));
        register(&api, token, &options.challenge_id, &credential, Some(name))
            .await
            .noted(format!("the name {name:?}"))
            .expect_problem(422, "invalid_name");
        last = Some(passkey);
    }
    let options = creation_options(&api, &account).await;
    let passkey = Passkey::new(&options.options, 1);
    let credential = passkey.attest(&passkey.registration(&options.options, &origin(target)));
    let body = json!({ "challenge_id": options.challenge_id, "credential": credential, "name": 5 });
    api.json(Method::POST, REGISTER, Some(token), &body)
        .await
        .noted("a number for the name")
        .expect_problem(400, "malformed_body");

    let (reply, entries) = list(&api, token).await;
    reply.check(
        entry_ids(&entries) == entry_ids(&accepted),
        "only the passkeys with an acceptable name are registered, oldest first",
    );
    if let Some(mut refused) = last {
        expect_refused(
            &sign_in(&api, &mut refused)
                .await
                .noted("a passkey refused for its name"),
        );
    }
}

/// Adding a passkey needs a verified address: for a user whose address is
/// not verified, the options or the registration are 403
/// `email_not_verified`, and nothing is registered. Once the address is
/// verified as a client does it, a passkey is added and signs in.
pub async fn passkey_needs_a_verified_address(target: &Target) {
    let api = target.api();
    let account = api.sign_up().await;
    let token = account.access_token.as_str();
    let reply = register_options(&api, Some(token))
        .await
        .noted("registration options, the address not verified");
    let mut attempted = None;
    if reply.code() == 200 {
        let options = expect_creation_options(&reply, &rp_id(target), &account);
        let passkey = Passkey::new(&options.options, 1);
        let credential = passkey.attest(&passkey.registration(&options.options, &origin(target)));
        register(&api, token, &options.challenge_id, &credential, None)
            .await
            .noted("registration, the address not verified")
            .expect_problem(403, "email_not_verified");
        attempted = Some(passkey);
    } else {
        reply.expect_problem(403, "email_not_verified");
    }
    let (reply, entries) = list(&api, token).await;
    reply.check(entries.is_empty(), "nothing is registered");
    if let Some(mut passkey) = attempted {
        expect_refused(
            &sign_in(&api, &mut passkey)
                .await
                .noted("the refused passkey"),
        );
    }

    verify_address(&api, &account).await;
    let (mut passkey, _) = add(&api, &account, None).await;
    let reply = sign_in(&api, &mut passkey).await;
    expect_signed_in_as(&reply, target, &account, false);
}

/// The options exclude the user's passkeys (and only theirs), so that an
/// authenticator does not make a second credential for the same account;
/// registering a credential id that is already registered, to the same
/// user or another, is refused with a 4xx (never 201, never 5xx). A
/// second passkey is listed after the first.
pub async fn passkey_exclude_list_and_duplicates(target: &Target) {
    let api = target.api();
    let account = verified_account(&api).await;
    let other = verified_account(&api).await;
    let (first, first_entry) = add(&api, &account, Some("first")).await;

    let options = creation_options(&api, &account).await;
    let excluded = &options.options["excludeCredentials"];
    assert_eq!(
        excluded.as_array().map(|list| list
            .iter()
            .map(|entry| entry["id"].clone())
            .collect::<Vec<_>>()),
        Some(vec![json!(b64url(&first.credential_id))]),
        "the options exclude the user's passkey: {excluded}"
    );
    let mut again = first.clone();
    again.user_handle = options.options["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let credential = again.attest(&again.registration(&options.options, &origin(target)));
    let reply = register(
        &api,
        &account.access_token,
        &options.challenge_id,
        &credential,
        None,
    )
    .await
    .noted("the same credential registered again by its owner");
    expect_client_error(&reply);

    let options = creation_options(&api, &other).await;
    reply.check(
        options.options["excludeCredentials"] == json!([]),
        "another user's options exclude none of this user's passkeys",
    );
    let mut stolen = Passkey::new(&options.options, 1);
    stolen.credential_id = first.credential_id.clone();
    let credential = stolen.attest(&stolen.registration(&options.options, &origin(target)));
    let reply = register(
        &api,
        &other.access_token,
        &options.challenge_id,
        &credential,
        None,
    )
    .await
    .noted("another user registers a credential id that is taken");
    expect_client_error(&reply);
    let (reply, entries) = list(&api, &other.access_token).await;
    reply.check(entries.is_empty(), "the other user registered nothing");

    let (second, second_entry) = add(&api, &account, Some("second")).await;
    let (reply, entries) = list(&api, &account.access_token).await;
    reply.check(
        entry_ids(&entries) == entry_ids(&[first_entry, second_entry]),
        "two passkeys, oldest first",
    );
    let options = creation_options(&api, &account).await;
    let mut excluded: Vec<String> = options.options["excludeCredentials"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|entry| entry["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    excluded.sort();
    let mut expected = vec![b64url(&first.credential_id), b64url(&second.credential_id)];
    expected.sort();
    assert_eq!(excluded, expected, "the options exclude both passkeys");
}

/// Every broken registration is 401 `invalid_credential` and registers
/// nothing: another origin (also `PUBLIC_URL`'s host over https or on
/// another port), another RP id (also its parent domain), the type of a
/// sign-in, a challenge that is not the options', user verification or
/// presence missing. Each attempt spends its challenge: the honest answer
/// to the same options is refused afterwards. A challenge is used once;
/// an unknown one, a sign-in challenge, and another user's registration
/// challenge are refused.
pub async fn passkey_registration_ceremony_failures(target: &Target) {
    let api = target.api();
    let account = verified_account(&api).await;
    let token = account.access_token.as_str();
    let origin = origin(target);
    let https = origin.replacen("http://", "https://", 1);
    let other_port = format!("http://{}:8443", rp_id(target));
    let parent = rp_id(target)
        .split_once('.')
        .map(|(_, parent)| parent.to_owned())
        .unwrap_or_default();
    let tampers: [Tamper<'_, Registration>; 9] = [
        ("another origin", &|r| {
            r.client_data.origin = "http://evil.invalid:8080".into()
        }),
        ("PUBLIC_URL's host over https", &|r| {
            r.client_data.origin.clone_from(&https)
        }),
        ("PUBLIC_URL's host on another port", &|r| {
            r.client_data.origin.clone_from(&other_port)
        }),
        ("another RP id", &|r| r.rp_id = "evil.invalid".into()),
        ("the RP id's parent domain", &|r| {
            r.rp_id.clone_from(&parent)
        }),
        ("the type of a sign-in", &|r| {
            r.client_data.kind = GET.into()
        }),
        ("another challenge", &|r| {
            r.client_data.challenge = b64url(&[7; 32])
        }),
        ("user not verified", &|r| {
            r.flags = USER_PRESENT | ATTESTED_DATA
        }),
        ("user not present", &|r| {
            r.flags = USER_VERIFIED | ATTESTED_DATA
        }),
    ];
    for (what, tamper) in tampers {
        let options = creation_options(&api, &account).await;
        let passkey = Passkey::new(&options.options, 1);
        let honest = passkey.registration(&options.options, &origin);
        let mut broken = honest.clone();
        tamper(&mut broken);
        let reply = register(
            &api,
            token,
            &options.challenge_id,
            &passkey.attest(&broken),
            None,
        )
        .await
        .noted(format!("registration with {what}"));
        expect_registration_refused(&reply);
        let reply = register(
            &api,
            token,
            &options.challenge_id,
            &passkey.attest(&honest),
            None,
        )
        .await
        .noted(format!(
            "the honest answer after one with {what}: the challenge is spent"
        ));
        expect_registration_refused(&reply);
    }
    let (reply, entries) = list(&api, token).await;
    reply.check(entries.is_empty(), "no broken ceremony registered anything");

    // Used once.
    let options = creation_options(&api, &account).await;
    let passkey = Passkey::new(&options.options, 1);
    let credential = passkey.attest(&passkey.registration(&options.options, &origin));
    expect_registered(
        &register(&api, token, &options.challenge_id, &credential, None).await,
        DEFAULT_NAME,
    );
    let other = Passkey::new(&options.options, 1);
    let credential = other.attest(&other.registration(&options.options, &origin));
    expect_registration_refused(
        &register(&api, token, &options.challenge_id, &credential, None)
            .await
            .noted("a used registration challenge"),
    );

    // Unknown, of a sign-in, of another user.
    let options = creation_options(&api, &account).await;
    let passkey = Passkey::new(&options.options, 1);
    let credential = passkey.attest(&passkey.registration(&options.options, &origin));
    expect_registration_refused(
        &register(&api, token, "no-such-challenge", &credential, None)
            .await
            .noted("an unknown challenge id"),
    );
    let sign_in = sign_in_options(&api).await;
    let mut registration = passkey.registration(&options.options, &origin);
    registration.client_data.challenge = sign_in.options["challenge"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    expect_registration_refused(
        &register(
            &api,
            token,
            &sign_in.challenge_id,
            &passkey.attest(&registration),
            None,
        )
        .await
        .noted("a sign-in challenge used to register"),
    );
    let stranger = verified_account(&api).await;
    let theirs = creation_options(&api, &stranger).await;
    let passkey = Passkey::new(&theirs.options, 1);
    let credential = passkey.attest(&passkey.registration(&theirs.options, &origin));
    expect_registration_refused(
        &register(&api, token, &theirs.challenge_id, &credential, None)
            .await
            .noted("another user's registration challenge"),
    );
    let (reply, entries) = list(&api, token).await;
    reply.check(entries.len() == 1, "only the honest registration is listed");
    let (reply, entries) = list(&api, &stranger.access_token).await;
    reply.check(
        entries.is_empty(),
        "nothing was registered to the other user",
    );
}
