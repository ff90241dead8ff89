//! Signing in with a passkey: what breaks the ceremony (each a 401
//! `invalid_credential`), single-use challenges, the signature counter,
//! the credential's owner, and user verification as a second factor.
//!
//! A user's failed sign-ins may count toward the sign-in throttle (10 per
//! address by default), so a case spreads its failures over several users.

use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;

use crate::{
    Account, Reply, Target,
    webauthn::{Assertion, CREATE, Passkey, USER_PRESENT, USER_VERIFIED, b64url},
};

use super::{
    passkeys::{
        SIGN_IN, Tamper, add, add_counted, creation_options, expect_refused, expect_signed_in_as,
        origin, rp_id, sign_in, sign_in_options, sign_in_with,
    },
    two_factor::{enrolled, expect_challenge, expect_signed_in, verified_account, verify},
};

/// A user with a passkey.
struct Holder {
    account: Account,
    passkey: Passkey,
}

/// `count` verified users with a passkey each (counters from 1).
async fn holders(api: &crate::Api, count: usize) -> Vec<Holder> {
    let mut holders = Vec::new();
    for _ in 0..count {
        let account = verified_account(api).await;
        let (passkey, _) = add(api, &account, None).await;
        holders.push(Holder { account, passkey });
    }
    holders
}

/// Every broken sign-in is 401 `invalid_credential` and opens no session:
/// another origin (also `PUBLIC_URL`'s host over https or on another
/// port), another RP id, the type of a registration, a challenge that is
/// not the options' (made up, or of other options), a signature that does
/// not verify, user presence missing, a credential id never registered.
/// Each attempt spends its challenge: an honest answer to the same
/// options is refused afterwards. The passkeys still sign in afterwards.
pub async fn passkey_sign_in_ceremony_failures(target: &Target) {
    let api = target.api();
    let mut holders = holders(&api, 3).await;
    let origin = origin(target);
    let https = origin.replacen("http://", "https://", 1);
    let other_port = format!("http://{}:8443", rp_id(target));
    let other_challenge = sign_in_options(&api).await.options["challenge"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let unknown_id = b64url(b"never registered");
    let tampers: [Tamper<'_, Assertion>; 10] = [
        ("another origin", &|a| {
            a.client_data.origin = "http://evil.invalid:8080".into()
        }),
        ("PUBLIC_URL's host over https", &|a| {
            a.client_data.origin.clone_from(&https)
        }),
        ("PUBLIC_URL's host on another port", &|a| {
            a.client_data.origin.clone_from(&other_port)
        }),
        ("another RP id", &|a| a.rp_id = "evil.invalid".into()),
        ("the type of a registration", &|a| {
            a.client_data.kind = CREATE.into()
        }),
        ("a made-up challenge", &|a| {
            a.client_data.challenge = b64url(&[7; 32])
        }),
        ("the challenge of other options", &|a| {
            a.client_data.challenge.clone_from(&other_challenge)
        }),
        ("a signature that does not verify", &|a| {
            a.wrong_signature = true
        }),
        ("user presence missing", &|a| a.flags = USER_VERIFIED),
        ("a credential id never registered", &|a| {
            a.credential_id = crate::webauthn::from_b64url(&unknown_id).unwrap_or_default();
        }),
    ];
    for (index, (what, tamper)) in tampers.into_iter().enumerate() {
        let holder = &mut holders[index % 3];
        let options = sign_in_options(&api).await;
        let honest = holder.passkey.assertion(&options.options, &origin);
        let mut broken = honest.clone();
        tamper(&mut broken);
        let reply = sign_in_with(&api, &options.challenge_id, &holder.passkey.sign(&broken))
            .await
            .noted(format!("sign-in with {what}"));
        expect_refused(&reply);
        let retry = holder.passkey.assertion(&options.options, &origin);
        let reply = sign_in_with(&api, &options.challenge_id, &holder.passkey.sign(&retry))
            .await
            .noted(format!(
                "an honest sign-in after one with {what}: the challenge is spent"
            ));
        expect_refused(&reply);
    }
    for holder in &mut holders {
        let reply = sign_in(&api, &mut holder.passkey)
            .await
            .noted("after the failures");
        expect_signed_in_as(&reply, target, &holder.account, false);
    }
}

/// A challenge signs in once: used again (with a new honest assertion) it
/// is refused, and of two sign-ins at once on one challenge exactly one
/// succeeds. An unknown challenge id, and a registration challenge used
/// to sign in, are refused.
pub async fn passkey_challenges_are_single_use(target: &Target) {
    let api = target.api();
    let mut holders = holders(&api, 2).await;
    let origin = origin(target);
    let holder = &mut holders[0];

    let first = sign_in_options(&api).await;
    let second = sign_in_options(&api).await;
    assert_ne!(
        first.challenge_id, second.challenge_id,
        "each options call has its own id"
    );
    assert_ne!(
        first.options["challenge"], second.options["challenge"],
        "each options call has its own challenge"
    );
    let assertion = holder.passkey.assertion(&first.options, &origin);
    let reply = sign_in_with(&api, &first.challenge_id, &holder.passkey.sign(&assertion)).await;
    expect_signed_in_as(&reply, target, &holder.account, false);
    let assertion = holder.passkey.assertion(&first.options, &origin);
    expect_refused(
        &sign_in_with(&api, &first.challenge_id, &holder.passkey.sign(&assertion))
            .await
            .noted("a used sign-in challenge"),
    );

    let assertion = holder.passkey.assertion(&second.options, &origin);
    expect_refused(
        &sign_in_with(&api, "no-such-challenge", &holder.passkey.sign(&assertion))
            .await
            .noted("an unknown challenge id"),
    );
    let registration = creation_options(&api, &holder.account).await;
    let mut assertion = holder.passkey.assertion(&second.options, &origin);
    assertion.client_data.challenge = registration.options["challenge"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    expect_refused(
        &sign_in_with(
            &api,
            &registration.challenge_id,
            &holder.passkey.sign(&assertion),
        )
        .await
        .noted("a registration challenge used to sign in"),
    );

    let holder = &mut holders[1];
    let shared = sign_in_options(&api).await;
    let mut requests = JoinSet::new();
    for _ in 0..2 {
        let assertion = holder.passkey.assertion(&shared.options, &origin);
        let body = json!({
            "challenge_id": shared.challenge_id,
            "credential": holder.passkey.sign(&assertion),
        });
        let api = api.clone();
        requests.spawn(async move {
            api.json(Method::POST, SIGN_IN, None, &body)
                .await
                .noted("one of two sign-ins at once on one challenge")
        });
    }
    let mut replies: Vec<Reply> = Vec::new();
    while let Some(reply) = requests.join_next().await {
        replies.push(reply.expect("a concurrent sign-in"));
    }
    let winners = replies.iter().filter(|reply| reply.code() == 200).count();
    assert_eq!(
        winners,
        1,
        "exactly one of two sign-ins on one challenge succeeds:\n{}",
        replies
            .iter()
            .map(Reply::describe)
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    for reply in &replies {
        if reply.code() == 200 {
            expect_signed_in_as(reply, target, &holder.account, false);
        } else {
            expect_refused(reply);
        }
    }
}

/// The signature counter must go up when the authenticator keeps one: a
/// passkey registered at 10 signs in at 11; 11 again, 5 and 0 are refused
/// (a cloned authenticator) and do not move the stored counter, so 12
/// and then 100 sign in. An authenticator without a counter (always 0)
/// signs in again and again.
pub async fn passkey_sign_counter_must_go_up(target: &Target) {
    let api = target.api();
    let origin = origin(target);
    let account = verified_account(&api).await;
    let (mut passkey, _) = add_counted(&api, &account, None, 10).await;

    let mut at = async |count: u32| {
        let options = sign_in_options(&api).await;
        let mut assertion = passkey.assertion(&options.options, &origin);
        assertion.sign_count = count;
        sign_in_with(&api, &options.challenge_id, &passkey.sign(&assertion))
            .await
            .noted(format!("sign-in with the counter at {count}"))
    };
    expect_signed_in_as(&at(11).await, target, &account, false);
    for count in [11, 5, 0] {
        expect_refused(&at(count).await);
    }
    expect_signed_in_as(&at(12).await, target, &account, false);
    expect_signed_in_as(&at(100).await, target, &account, false);

    let counterless = verified_account(&api).await;
    let (mut passkey, _) = add_counted(&api, &counterless, None, 0).await;
    for _ in 0..3 {
        let reply = sign_in(&api, &mut passkey)
            .await
            .noted("a counter that stays 0");
        expect_signed_in_as(&reply, target, &counterless, false);
    }
}

/// A passkey signs in its owner only: each of two users' passkeys signs
/// in that user; an assertion naming the other user's handle, or a user
/// handle nobody has, is refused, and so is one user's key signing for
/// the other's credential id.
pub async fn passkey_is_bound_to_its_owner(target: &Target) {
    let api = target.api();
    let origin = origin(target);
    let mut holders = holders(&api, 2).await;
    for holder in &mut holders {
        let reply = sign_in(&api, &mut holder.passkey).await;
        expect_signed_in_as(&reply, target, &holder.account, false);
    }
    let (a, b) = holders.split_at_mut(1);
    let (a, b) = (&mut a[0], &mut b[0]);
    assert_ne!(
        a.passkey.user_handle, b.passkey.user_handle,
        "each user has a handle of their own"
    );

    let options = sign_in_options(&api).await;
    let mut assertion = a.passkey.assertion(&options.options, &origin);
    assertion.user_handle = Some(b.passkey.user_handle.clone());
    expect_refused(
        &sign_in_with(&api, &options.challenge_id, &a.passkey.sign(&assertion))
            .await
            .noted("a passkey naming another user's handle"),
    );
    let options = sign_in_options(&api).await;
    let mut assertion = a.passkey.assertion(&options.options, &origin);
    assertion.user_handle = Some(b64url(b"nobody's handle"));
    expect_refused(
        &sign_in_with(&api, &options.challenge_id, &a.passkey.sign(&assertion))
            .await
            .noted("a user handle nobody has"),
    );
    let options = sign_in_options(&api).await;
    let mut assertion = b.passkey.assertion(&options.options, &origin);
    assertion.credential_id.clone_from(&a.passkey.credential_id);
    assertion.user_handle = Some(a.passkey.user_handle.clone());
    expect_refused(
        &sign_in_with(&api, &options.challenge_id, &b.passkey.sign(&assertion))
            .await
            .noted("one user's key signing for the other's credential"),
    );

    for holder in [a, b] {
        let reply = sign_in(&api, &mut holder.passkey).await;
        expect_signed_in_as(&reply, target, &holder.account, false);
    }
}

/// User verification as a second factor: without it, a passkey is a
/// first factor like a password: a user without two-factor is signed in,
/// a user with TOTP two-factor gets the same `SecondFactorRequired` the
/// password sign-in gives, which a TOTP code finishes. With it, the user
/// with two-factor is signed in at once. A registration without user
/// verification is refused (the options require it).
pub async fn passkey_user_verification_and_two_factor(target: &Target) {
    let api = target.api();
    let origin = origin(target);
    let plain = verified_account(&api).await;
    let (mut passkey, _) = add(&api, &plain, None).await;
    let options = sign_in_options(&api).await;
    let mut assertion = passkey.assertion(&options.options, &origin);
    assertion.flags = USER_PRESENT;
    let reply = sign_in_with(&api, &options.challenge_id, &passkey.sign(&assertion))
        .await
        .noted("no user verification, no two-factor");
    expect_signed_in_as(&reply, target, &plain, false);

    let mut enrolled = enrolled(&api).await;
    let account = enrolled.account.clone();
    let (mut passkey, _) = add(&api, &account, None).await;
    let reply = sign_in(&api, &mut passkey)
        .await
        .noted("user verified, with two-factor: two factors at once");
    expect_signed_in_as(&reply, target, &account, true);

    let options = sign_in_options(&api).await;
    let mut assertion = passkey.assertion(&options.options, &origin);
    assertion.flags = USER_PRESENT;
    let reply = sign_in_with(&api, &options.challenge_id, &passkey.sign(&assertion))
        .await
        .noted("no user verification, with two-factor: one factor");
    let challenge = expect_challenge(&reply);
    let (_, code) = enrolled.totp.next_code().await;
    let reply = verify(&api, &challenge, "code", &code).await;
    let body = expect_signed_in(&reply, target, &account.email);
    reply.check(
        body["user"]["id"] == account.user_id.as_str(),
        "the passkey's owner",
    );

    let options = creation_options(&api, &account).await;
    let unverified = Passkey::new(&options.options, 1);
    let mut registration = unverified.registration(&options.options, &origin);
    registration.flags &= !USER_VERIFIED;
    super::passkeys::register(
        &api,
        &account.access_token,
        &options.challenge_id,
        &unverified.attest(&registration),
        None,
    )
    .await
    .noted("a registration without user verification")
    .expect_problem(401, super::passkeys::INVALID_CREDENTIAL);
}
