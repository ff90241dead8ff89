//! OAuth and accounts: the account rules (link a verified address, never
//! take an unverified one, never verify an address on a provider's
//! unverified word), linking while signed in, unlinking, and the GitHub
//! preset against the provider's stand-in. See `oauth.rs` for the setup.

use std::path::Path;

use reqwest::Method;
use serde_json::Value;

use crate::{
    Account, Api, Backend, Outbox,
    oidc::{Identity, expect_no_tokens_in},
};

use super::account::expect_verified;
use super::account_tokens::{verification_token, verify_email};
use super::oauth::{OAuthServer, accounts, expect_has_password, expect_linked, tokens_of};

/// A fresh password account whose address is verified.
async fn verified_account(api: &Api, outbox: &Outbox) -> Account {
    let account = api.sign_up().await;
    let token = verification_token(api, outbox, &account, 1).await;
    verify_email(api, &token).await.expect_json(200);
    account
}

/// `GET /api/auth/me` as `token`: the user.
async fn me(api: &Api, token: &str) -> (crate::Reply, Value) {
    let reply = api.me(token).await;
    let user = reply.expect_json(200)["user"].clone();
    (reply, user)
}

/// `DELETE /api/auth/accounts/{provider}`.
async fn unlink(api: &Api, provider: &str, token: Option<&str>) -> crate::Reply {
    api.call(
        Method::DELETE,
        &format!("/api/auth/accounts/{provider}"),
        token,
    )
    .await
}

/// A provider-verified address of a verified account links the identity
/// to it (also in another letter case) and signs that account in; the
/// password still works.
pub async fn oauth_links_a_verified_account(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(binary, backend, "oauth_links_a_verified_account", &[]).await
    else {
        return;
    };
    let api = s.api();
    let account = verified_account(api, &s.server.outbox()).await;
    let identity = Identity::fresh().email(&account.email.to_uppercase());
    let body = s.client.sign_in("mock", &identity, &account.email).await;
    assert_eq!(
        body["user"]["id"],
        account.user_id.as_str(),
        "the existing account"
    );
    let (access, _) = tokens_of(&body);
    let (reply, user) = me(api, &access).await;
    expect_verified(&reply, &user, true);
    expect_has_password(&reply, &user, true);
    let (reply, linked) = accounts(api, &access).await;
    reply.check(linked.len() == 1, "one linked identity");
    expect_linked(&reply, &linked[0], "mock", &identity.sub, &account.email);
    api.new_session(&account).await;
}

/// An account whose address is not verified is not taken by a provider
/// that says it is: `#error=account_exists`, nothing linked, nobody signed
/// in; the account is as it was.
pub async fn oauth_unverified_account_is_not_taken(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(
        binary,
        backend,
        "oauth_unverified_account_is_not_taken",
        &[],
    )
    .await
    else {
        return;
    };
    let api = s.api();
    let account = api.sign_up().await;
    let identity = Identity::fresh().email(&account.email);
    s.client
        .round_trip("mock", None, &identity)
        .await
        .expect_error("account_exists", &s.at("/"));
    let (reply, linked) = accounts(api, &account.access_token).await;
    reply.check(linked.is_empty(), "nothing linked");
    let (reply, user) = me(api, &account.access_token).await;
    expect_verified(&reply, &user, false);
    api.new_session(&account).await;
}

/// When the provider says the address is not verified: an existing
/// account (verified or not) is not taken (`account_exists`); with no
/// account, a new one is made with `email_verified: false`. Linking such an
/// identity while signed in never marks the account's address verified.
pub async fn oauth_unverified_provider_address(binary: &Path, backend: Backend) {
    let Some(s) =
        OAuthServer::start(binary, backend, "oauth_unverified_provider_address", &[]).await
    else {
        return;
    };
    let api = s.api();
    let verified = verified_account(api, &s.server.outbox()).await;
    let unverified = api.sign_up().await;
    for account in [&verified, &unverified] {
        let identity = Identity::fresh().email(&account.email).unverified();
        s.client
            .round_trip("mock", None, &identity)
            .await
            .expect_error("account_exists", &s.at("/"));
        let (reply, linked) = accounts(api, &account.access_token).await;
        reply.check(linked.is_empty(), "nothing linked");
    }

    let newcomer = Identity::fresh().unverified();
    let body = s.client.sign_in("mock", &newcomer, &newcomer.email).await;
    let (access, _) = tokens_of(&body);
    let (reply, user) = me(api, &access).await;
    expect_verified(&reply, &user, false);
    expect_has_password(&reply, &user, false);

    let started = s
        .client
        .start_link("mock", None, &unverified.access_token)
        .await;
    let identity = Identity::fresh().email(&unverified.email).unverified();
    let code = s
        .client
        .finish("mock", &started, &identity)
        .await
        .expect_code();
    let reply = s.client.exchange(&code).await;
    let body = reply.expect_auth_response(200, api.target(), &unverified.email);
    assert_eq!(
        body["user"]["id"],
        unverified.user_id.as_str(),
        "the caller"
    );
    expect_verified(&reply, &body["user"], false);
    let (reply, user) = me(api, &unverified.access_token).await;
    expect_verified(&reply, &user, false);
}

/// Linking while signed in: `POST /oauth/{p}/link` with a Bearer (no body,
/// or `{}`) is 200 `{"authorize_url"}` with the state cookie; the round
/// trip links the identity to the caller, ends at `redirect_to#code=`, and
/// the code signs the caller in. `GET /accounts` lists it, and it signs the
/// caller in from then on. The identity cannot be linked to another user,
/// nor a second identity of the provider to the caller (`account_exists`).
/// Without a Bearer: 401.
pub async fn oauth_link_while_signed_in(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(binary, backend, "oauth_link_while_signed_in", &[]).await
    else {
        return;
    };
    let (api, client) = (s.api(), &s.client);
    let account = api.sign_up().await;
    let identity = Identity::fresh();

    client
        .link("mock", None, None)
        .await
        .expect_unauthorized_without_token("missing_token");
    api.get("/api/auth/accounts", None)
        .await
        .expect_unauthorized_without_token("missing_token");

    let settings = s.at("/settings");
    let started = client
        .start_link("mock", Some(&settings), &account.access_token)
        .await;
    started.reply.check(
        started
            .url
            .as_str()
            .starts_with(&format!("{}/authorize?", s.provider.issuer))
            && started.param("code_challenge_method").as_deref() == Some("S256")
            && started.param("nonce").is_some()
            && started.param("state").is_some(),
        "authorize_url is the provider's, with PKCE, state and nonce",
    );
    let landing = client.finish("mock", &started, &identity).await;
    let code = landing.expect_code();
    landing
        .reply
        .check(landing.url.as_str() == settings, "at redirect_to");
    let reply = client.exchange(&code).await;
    let body = reply.expect_auth_response(200, api.target(), &account.email);
    reply.check(body["user"]["id"] == account.user_id.as_str(), "the caller");
    let (access, refresh) = tokens_of(&body);
    let (reply, linked) = accounts(api, &account.access_token).await;
    reply.check(linked.len() == 1, "one linked identity");
    expect_linked(&reply, &linked[0], "mock", &identity.sub, &identity.email);
    let again = client.sign_in("mock", &identity, &account.email).await;
    assert_eq!(
        again["user"]["id"],
        account.user_id.as_str(),
        "the identity signs the caller in"
    );

    // With `{}` as the body, the same.
    let reply = api
        .json(
            Method::POST,
            "/api/auth/oauth/github/link",
            Some(&account.access_token),
            &serde_json::json!({}),
        )
        .await;
    reply.expect_json(200)["authorize_url"]
        .as_str()
        .expect("authorize_url");

    // The identity is someone else's now; the caller has one already.
    let other = api.sign_up().await;
    let started = client.start_link("mock", None, &other.access_token).await;
    client
        .finish("mock", &started, &identity)
        .await
        .expect_error("account_exists", &s.at("/"));
    let (reply, linked) = accounts(api, &other.access_token).await;
    reply.check(linked.is_empty(), "nothing linked to the other user");
    let started = client.start_link("mock", None, &account.access_token).await;
    client
        .finish("mock", &started, &Identity::fresh())
        .await
        .expect_error("account_exists", &s.at("/"));
    let (reply, linked) = accounts(api, &account.access_token).await;
    reply.check(linked.len() == 1, "still the one identity");

    expect_no_tokens_in(
        &client.visited(),
        &[
            &account.access_token,
            &access,
            &refresh,
            &other.access_token,
        ],
    );
}

/// Unlinking: the only sign-in method of an OAuth-only user is 409
/// `last_sign_in_method`; once a second identity (GitHub) is linked, 204,
/// and only the other is listed (which is then the last). A user with a
/// password unlinks with 204. Not linked, or an unknown provider: 404
/// `not_found`; without a Bearer: 401.
pub async fn oauth_unlink_rules(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(binary, backend, "oauth_unlink_rules", &[]).await else {
        return;
    };
    let (api, client) = (s.api(), &s.client);
    let identity = Identity::fresh();
    let body = client.sign_in("mock", &identity, &identity.email).await;
    let (token, _) = tokens_of(&body);
    let token = token.as_str();

    unlink(api, "mock", None)
        .await
        .expect_unauthorized_without_token("missing_token");
    unlink(api, "mock", Some(token))
        .await
        .expect_problem(409, "last_sign_in_method");
    unlink(api, "github", Some(token))
        .await
        .expect_problem(404, "not_found");
    unlink(api, "nope", Some(token)).await.expect_status(404);
    let (reply, linked) = accounts(api, token).await;
    reply.check(linked.len() == 1, "still linked");

    let github = Identity::github();
    let started = client.start_link("github", None, token).await;
    let code = client
        .finish("github", &started, &github)
        .await
        .expect_code();
    let reply = client.exchange(&code).await;
    let linked_in = reply.expect_auth_response(200, api.target(), &identity.email);
    reply.check(linked_in["user"]["id"] == body["user"]["id"], "the caller");
    unlink(api, "mock", Some(token)).await.expect_status(204);
    let (reply, linked) = accounts(api, token).await;
    reply.check(linked.len() == 1, "one identity left");
    expect_linked(&reply, &linked[0], "github", &github.sub, &github.email);
    unlink(api, "mock", Some(token))
        .await
        .expect_problem(404, "not_found");
    unlink(api, "github", Some(token))
        .await
        .expect_problem(409, "last_sign_in_method");

    let account = api.sign_up().await;
    let started = client.start_link("mock", None, &account.access_token).await;
    client
        .finish("mock", &started, &Identity::fresh())
        .await
        .expect_code();
    unlink(api, "mock", Some(&account.access_token))
        .await
        .expect_status(204);
    let (reply, linked) = accounts(api, &account.access_token).await;
    reply.check(linked.is_empty(), "nothing linked");
}

/// The GitHub preset against the stand-in: the primary address (not the
/// verified one listed before it) signs a new user in, verified, no
/// password; `/accounts` lists the numeric id. A primary address GitHub
/// has not verified does not take an existing account (`account_exists`).
/// A denied authorization is `provider_error`.
pub async fn oauth_github_preset(binary: &Path, backend: Backend) {
    let Some(s) = OAuthServer::start(binary, backend, "oauth_github_preset", &[]).await else {
        return;
    };
    let (api, client) = (s.api(), &s.client);
    let identity = Identity::github();
    let body = client.sign_in("github", &identity, &identity.email).await;
    let (access, refresh) = tokens_of(&body);
    let (reply, user) = me(api, &access).await;
    expect_verified(&reply, &user, true);
    expect_has_password(&reply, &user, false);
    let (reply, linked) = accounts(api, &access).await;
    reply.check(linked.len() == 1, "one linked identity");
    expect_linked(&reply, &linked[0], "github", &identity.sub, &identity.email);
    let again = client.sign_in("github", &identity, &identity.email).await;
    assert_eq!(again["user"]["id"], body["user"]["id"], "the same user");

    let account = api.sign_up().await;
    let verified = verified_account(api, &s.server.outbox()).await;
    for existing in [&account, &verified] {
        let unverified = Identity::github().email(&existing.email).unverified();
        client
            .round_trip("github", None, &unverified)
            .await
            .expect_error("account_exists", &s.at("/"));
    }
    let redirect_to = s.at("/signed-in");
    client
        .round_trip(
            "github",
            Some(&redirect_to),
            &Identity::github().fault("access_denied"),
        )
        .await
        .expect_error("provider_error", &redirect_to);
    expect_no_tokens_in(&client.visited(), &[&access, &refresh]);
}

/// Someone signs up through a provider that does not verify addresses,
/// under an address that is not theirs: the account is made unverified.
/// When the address's owner signs in by email, the account is taken back,
/// and the squatter's identity goes with everything else they could use:
/// signing in with it again finds the (now verified) account and is
/// refused (`account_exists`), and the owner sees no linked identity.
pub async fn oauth_identity_goes_when_the_owner_takes_the_account_back(
    binary: &Path,
    backend: Backend,
) {
    let Some(s) = OAuthServer::start(
        binary,
        backend,
        "oauth_identity_goes_when_the_owner_takes_the_account_back",
        &[],
    )
    .await
    else {
        return;
    };
    let api = s.api();
    let squatter = Identity::fresh().unverified();
    let made = s.client.sign_in("mock", &squatter, &squatter.email).await;
    let user_id = made["user"]["id"].clone();
    assert_eq!(
        made["user"]["email_verified"], false,
        "as the provider says"
    );

    api.json(
        Method::POST,
        "/api/auth/email-sign-in",
        None,
        &serde_json::json!({ "email": squatter.email }),
    )
    .await
    .expect_status(202);
    let token = s
        .server
        .outbox()
        .wait_for(&squatter.email, "email_sign_in")
        .await
        .expect_token();
    let owner = api
        .json(
            Method::POST,
            "/api/auth/email-sign-in/verify",
            None,
            &serde_json::json!({ "token": token }),
        )
        .await;
    let body = owner.expect_json(200);
    assert_eq!(body["user"]["id"], user_id, "the same account, taken back");
    let (owner_access, _) = tokens_of(&body);
    let (reply, linked) = accounts(api, &owner_access).await;
    reply.check(linked.is_empty(), "the squatter's identity is gone");

    s.client
        .round_trip("mock", None, &squatter)
        .await
        .expect_error("account_exists", s.public());
}
