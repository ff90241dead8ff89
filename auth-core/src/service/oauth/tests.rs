//! The account rules, redirects and codes, without a provider: identities
//! are handed to the rules as a provider would have vouched for them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::service::test_support;
use crate::{CredentialStore, JwtCodec, MemoryStore, SignUpRequest, UserStore};

fn service(store: &MemoryStore) -> AuthService {
    service_keeping(store, None)
}

/// A service with `corp` (OpenID Connect) and `github`, keeping provider
/// tokens with `key` if given.
fn service_keeping(store: &MemoryStore, key: Option<crate::EncryptionKey>) -> AuthService {
    let mut oauth = OAuth::new("https://tasks.example.com")
        .provider(OAuthProvider::openid(
            "corp",
            "https://id.example.com",
            "client",
            ClientSecret::new("secret"),
        ))
        .provider(OAuthProvider::github("client", ClientSecret::new("secret")));
    if let Some(key) = key {
        oauth = oauth.keep_provider_tokens(key);
    }
    AuthService::with_store(store.clone())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .oauth(oauth)
        .build()
        .unwrap()
}

fn identity(subject: &str, email: &str, verified: bool) -> Identity {
    Identity {
        subject: subject.into(),
        email: Some(email.into()),
        email_verified: verified,
        name: Some("Ada".into()),
        tokens: None,
    }
}

async fn sign_up(auth: &AuthService, email: &str, verified: bool) -> UserId {
    let user = auth
        .sign_up(SignUpRequest {
            email: email.into(),
            password: crate::Password::new("correct horse battery staple"),
            name: None,
        })
        .await
        .unwrap()
        .user()
        .clone();
    if verified {
        auth.mark_email_verified(&user.id, &user.email)
            .await
            .unwrap();
    }
    user.id
}

fn exchange(code: &str, code_verifier: Option<&str>) -> ExchangeRequest {
    ExchangeRequest {
        code: code.to_owned(),
        code_verifier: code_verifier.map(str::to_owned),
    }
}

fn to(redirect_to: &str) -> Start<'_> {
    Start {
        redirect_to: Some(redirect_to),
        code_challenge: None,
    }
}

fn refused(outcome: Result<UserId, Result<Failure, AuthError>>) -> Failure {
    match outcome {
        Err(Ok(failure)) => failure,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_new_identity_makes_an_account_without_password() {
    let store = MemoryStore::new();
    let auth = service(&store);
    let id = auth
        .user_of("corp", &identity("s1", "Ada@Example.com", false))
        .await
        .unwrap();
    let user = store.find_user_by_id(&id).await.unwrap().unwrap();
    assert_eq!(user.email.as_str(), "ada@example.com");
    assert!(!user.email_verified, "as the provider says");
    assert!(!user.has_password);
    assert_eq!(user.name.as_deref(), Some("Ada"));
    // The same subject finds the same account, whatever address it sends now.
    let again = auth
        .user_of("corp", &identity("s1", "other@example.com", true))
        .await
        .unwrap();
    assert_eq!(again, id);
    // The same subject at another provider is another identity.
    let github = auth
        .user_of("github", &identity("s1", "gh@example.com", true))
        .await
        .unwrap();
    assert_ne!(github, id);
}

#[tokio::test]
async fn an_existing_address_links_only_when_both_sides_verified_it() {
    let store = MemoryStore::new();
    let auth = service(&store);
    let verified = sign_up(&auth, "ver@example.com", true).await;
    let unverified = sign_up(&auth, "unver@example.com", false).await;

    let linked = auth
        .user_of("corp", &identity("a", "ver@example.com", true))
        .await
        .unwrap();
    assert_eq!(linked, verified);
    assert_eq!(auth.linked_accounts(&verified).await.unwrap().len(), 1);

    for (subject, email, provider_says) in [
        ("b", "ver@example.com", false),
        ("c", "unver@example.com", true),
        ("d", "unver@example.com", false),
    ] {
        let failure = refused(
            auth.user_of("corp", &identity(subject, email, provider_says))
                .await,
        );
        assert_eq!(failure, Failure::AccountExists, "{email} {provider_says}");
    }
    let user = store.find_user_by_id(&unverified).await.unwrap().unwrap();
    assert!(!user.email_verified, "never verified by a provider");
    assert!(auth.linked_accounts(&unverified).await.unwrap().is_empty());
}

#[tokio::test]
async fn linking_refuses_another_users_identity_or_a_second_of_one_provider() {
    let store = MemoryStore::new();
    let auth = service(&store);
    let ada = sign_up(&auth, "ada@example.com", true).await;
    let bob = sign_up(&auth, "bob@example.com", false).await;
    let ada_corp = identity("ada-sub", "ada@corp.example", true);
    assert_eq!(
        auth.link_identity("corp", &ada_corp, &ada).await.unwrap(),
        ada
    );
    // Linking again to the same user is fine; to another is not.
    assert_eq!(
        auth.link_identity("corp", &ada_corp, &ada).await.unwrap(),
        ada
    );
    assert_eq!(
        refused(auth.link_identity("corp", &ada_corp, &bob).await),
        Failure::AccountExists
    );
    let other = identity("other-sub", "ada2@corp.example", true);
    assert_eq!(
        refused(auth.link_identity("corp", &other, &ada).await),
        Failure::AccountExists
    );
    // An address with no valid lookup, or no address at all, is the provider's fault.
    let mut nameless = identity("", "x@example.com", true);
    assert_eq!(
        refused(auth.user_of("corp", &nameless).await),
        Failure::Provider
    );
    nameless.subject = "new".into();
    nameless.email = None;
    assert_eq!(
        refused(auth.user_of("corp", &nameless).await),
        Failure::Provider
    );
}

fn pending(code_challenge: Option<&str>) -> Pending {
    Pending {
        provider: "corp".into(),
        redirect_to: "https://tasks.example.com/".into(),
        link: None,
        code_challenge: code_challenge.map(str::to_owned),
    }
}

#[tokio::test]
async fn exchange_codes_work_once() {
    let store = MemoryStore::new();
    let auth = service(&store);
    let id = auth
        .user_of("corp", &identity("s", "ada@example.com", true))
        .await
        .unwrap();
    let code = auth.exchange_code(&pending(None), &id).await.unwrap();
    let SignIn::Complete(response) = auth.oauth_exchange(&exchange(&code, None)).await.unwrap()
    else {
        panic!("no second factor is registered");
    };
    assert_eq!(response.user.id, id);
    for code in [code.as_str(), "", &"x".repeat(43), &"x".repeat(10_000)] {
        assert!(matches!(
            auth.oauth_exchange(&exchange(code, None)).await,
            Err(AuthError::InvalidOneTimeToken)
        ));
    }
}

#[tokio::test]
async fn a_front_ends_challenge_binds_its_exchange_code() {
    let store = MemoryStore::new();
    let auth = service(&store);
    let id = auth
        .user_of("corp", &identity("s", "ada@example.com", true))
        .await
        .unwrap();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = base64url(&Sha256::digest(verifier.as_bytes()));
    assert!(is_code_challenge(&challenge));
    // A wrong or missing verifier uses the code up.
    for sent in [None, Some("another verifier of the right length, 43 ch")] {
        let code = auth
            .exchange_code(&pending(Some(&challenge)), &id)
            .await
            .unwrap();
        assert!(matches!(
            auth.oauth_exchange(&exchange(&code, sent)).await,
            Err(AuthError::InvalidOneTimeToken)
        ));
        assert!(
            auth.oauth_exchange(&exchange(&code, Some(verifier)))
                .await
                .is_err()
        );
    }
    let code = auth
        .exchange_code(&pending(Some(&challenge)), &id)
        .await
        .unwrap();
    assert!(
        auth.oauth_exchange(&exchange(&code, Some(verifier)))
            .await
            .is_ok()
    );
    // A page that always sends its verifier refuses a planted code.
    let planted = auth.exchange_code(&pending(None), &id).await.unwrap();
    assert!(matches!(
        auth.oauth_exchange(&exchange(&planted, Some(verifier)))
            .await,
        Err(AuthError::InvalidOneTimeToken)
    ));
}

#[tokio::test]
async fn the_last_way_to_sign_in_stays() {
    let store = MemoryStore::new();
    let auth = service(&store);
    let id = auth
        .user_of("corp", &identity("s", "ada@example.com", true))
        .await
        .unwrap();
    assert!(matches!(
        auth.unlink_account(&id, "corp").await,
        Err(AuthError::LastSignInMethod)
    ));
    assert!(matches!(
        auth.unlink_account(&id, "github").await,
        Err(AuthError::NotFound)
    ));
    auth.link_identity("github", &identity("gh", "ada@example.com", true), &id)
        .await
        .unwrap();
    auth.unlink_account(&id, "corp").await.unwrap();
    let left: Vec<_> = auth
        .linked_accounts(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|account| account.provider)
        .collect();
    assert_eq!(left, ["github"]);
    // With a password, the last identity may go.
    let with_password = sign_up(&auth, "pw@example.com", true).await;
    auth.link_identity(
        "corp",
        &identity("pw", "pw@example.com", true),
        &with_password,
    )
    .await
    .unwrap();
    auth.unlink_account(&with_password, "corp").await.unwrap();
}

#[tokio::test]
async fn redirects_stay_on_allowed_origins() {
    let store = MemoryStore::new();
    let auth = service(&store);
    let (oauth, _) = auth.oauth().unwrap();
    assert_eq!(
        oauth.redirect_to(None).unwrap(),
        "https://tasks.example.com/"
    );
    assert_eq!(
        oauth
            .redirect_to(Some("https://tasks.example.com/app?x=1"))
            .unwrap(),
        "https://tasks.example.com/app?x=1"
    );
    for bad in [
        "https://evil.example/",
        "//evil.example/",
        "/relative",
        "javascript:alert(1)",
        "https://tasks.example.com@evil.example/",
        "https://user@tasks.example.com/",
        "https://tasks.example.com/#frag",
        "http://tasks.example.com/",
        "https://tasks.example.com:444/",
        "https:\\\\evil.example",
        &format!("https://tasks.example.com/{}", "a".repeat(2100)),
    ] {
        assert!(
            matches!(
                oauth.redirect_to(Some(bad)),
                Err(AuthError::InvalidRedirect)
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        auth.oauth_authorize("nope", Start::default(), None).await,
        Err(AuthError::NotFound)
    ));
}

#[tokio::test]
async fn a_pending_sign_in_is_found_by_its_cookie_once() {
    let store = MemoryStore::new();
    let auth = service(&store);
    // GitHub's endpoints are known without discovery: no network here.
    let start = auth
        .oauth_authorize("github", to("https://tasks.example.com/app"), None)
        .await
        .unwrap();
    let secret = start.cookie.expect("a cookie");
    let state = derive(&secret).state;
    assert!(
        start.url.contains(&format!("state={state}")),
        "{}",
        start.url
    );
    assert!(
        !start.url.contains(&secret),
        "the secret never leaves the cookie"
    );
    assert!(start.url.contains("code_challenge_method=S256"));
    // Another provider's callback does not find it, and uses it up.
    assert!(
        auth.take_pending("corp", std::slice::from_ref(&secret))
            .await
            .unwrap()
            .is_none()
    );
    let start = auth
        .oauth_authorize("github", to("https://tasks.example.com/app"), None)
        .await
        .unwrap();
    let secret = start.cookie.unwrap();
    let cookies = ["bogus".to_owned(), secret];
    let (_, pending) = auth
        .take_pending("github", &cookies)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.redirect_to, "https://tasks.example.com/app");
    assert!(
        auth.take_pending("github", &cookies)
            .await
            .unwrap()
            .is_none()
    );
    // A wrong state ends at redirect_to with invalid_state.
    let start = auth
        .oauth_authorize("github", Start::default(), None)
        .await
        .unwrap();
    let url = auth
        .oauth_callback(
            "github",
            &[start.cookie.unwrap()],
            CallbackParams {
                code: Some("c".into()),
                state: Some("wrong".into()),
                ..CallbackParams::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(url, "https://tasks.example.com/#error=invalid_state");
    let url = auth
        .oauth_callback("github", &[], CallbackParams::default())
        .await
        .unwrap();
    assert_eq!(url, "https://tasks.example.com/#error=invalid_state");
}

#[tokio::test]
async fn a_link_begun_before_signing_out_everywhere_cannot_finish() {
    let store = MemoryStore::new();
    let auth = service(&store);
    let ada = test_support::signed_up(&auth, "ada@example.com", "correct horse battery").await;
    let principal = test_support::principal(&auth, &ada).await;
    let link = async || {
        let start = auth
            .oauth_authorize("github", Start::default(), Some(&principal))
            .await
            .unwrap();
        start.cookie.expect("a cookie")
    };
    let kept = link().await;
    assert!(
        auth.take_pending("github", &[kept])
            .await
            .unwrap()
            .is_some(),
        "a link's state is found while the session lives"
    );
    let voided = link().await;
    auth.sign_out_everywhere(principal.user_id()).await.unwrap();
    assert!(
        auth.take_pending("github", &[voided])
            .await
            .unwrap()
            .is_none(),
        "signing out everywhere voids the pending link"
    );
}

#[test]
fn settings_are_checked() {
    let build = |oauth: OAuth| {
        AuthService::with_store(MemoryStore::new())
            .token_codec(
                JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap(),
            )
            .oauth(oauth)
            .build()
    };
    let secret = || ClientSecret::new("s");
    for oauth in [
        OAuth::new("not a url"),
        OAuth::new("https://a.example").provider(OAuthProvider::openid(
            "Bad Id",
            "https://id.example",
            "c",
            secret(),
        )),
        OAuth::new("https://a.example").provider(OAuthProvider::openid(
            "corp",
            "http://id.example",
            "c",
            secret(),
        )),
        OAuth::new("https://a.example")
            .provider(OAuthProvider::github("c", secret()))
            .provider(OAuthProvider::github("c", secret())),
        OAuth::new("https://a.example").provider(OAuthProvider::github("", secret())),
        OAuth::new("https://a.example").redirect_origins(["nope"]),
        OAuth::new("https://a.example").provider_timeout(Duration::from_secs(60)),
        // A `Secure` cookie is not kept over plain HTTP but for loopback.
        OAuth::new("http://tasks.example.com"),
    ] {
        assert!(
            matches!(build(oauth.clone()), Err(AuthError::InvalidConfig(_))),
            "{oauth:?}"
        );
    }
    assert_eq!(
        format!("{:?}", secret()),
        "ClientSecret(<redacted>)",
        "never printed"
    );
}

#[tokio::test]
async fn provider_tokens_are_kept_sealed_only_when_asked() {
    let store = MemoryStore::new();
    let plain = service(&store);
    let mut ada = identity("s", "ada@example.com", true);
    ada.tokens = Some(ProviderTokens::new(
        "at-secret".into(),
        None,
        None,
        Some("email".into()),
    ));
    let id = plain.user_of("corp", &ada).await.unwrap();
    assert_eq!(plain.provider_tokens(&id, "corp").await.unwrap(), None);

    let key = crate::EncryptionKey::generate().unwrap();
    let keeping = service_keeping(&store, Some(key.clone()));
    let tokens = ada.tokens.clone().unwrap();
    keeping
        .keep_tokens(&key, "corp", "s", &tokens)
        .await
        .unwrap();
    let kept = keeping.provider_tokens(&id, "corp").await.unwrap().unwrap();
    assert_eq!(kept.access_token(), "at-secret");
    assert_eq!(kept.scope(), Some("email"));
    let row = store.find(&IDENTITY, "corp:s").await.unwrap().unwrap();
    assert!(
        !String::from_utf8_lossy(&row.data).contains("at-secret"),
        "sealed at rest"
    );
    assert_eq!(keeping.provider_tokens(&id, "github").await.unwrap(), None);
}

#[test]
fn a_public_path_is_in_the_callback_and_the_cookie_path() {
    let auth = AuthService::with_store(MemoryStore::new())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .oauth(
            OAuth::new("https://example.com/tasks/")
                .provider(OAuthProvider::github("c", ClientSecret::new("s"))),
        )
        .build()
        .unwrap();
    let (oauth, _) = auth.oauth().unwrap();
    assert_eq!(
        oauth.callback_url("github"),
        "https://example.com/tasks/api/auth/oauth/github/callback"
    );
    assert_eq!(
        oauth.callback_path("github"),
        "/tasks/api/auth/oauth/github/callback"
    );
    assert_eq!(oauth.landing(), "https://example.com/tasks/");
}
