//! The service's API-key calls on the memory store, with a clock the tests
//! move, with and without the cache.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{sync::Arc, time::Duration as StdDuration};

use time::{Duration, OffsetDateTime};

use super::{API_KEY, ApiKeys, CreatedApiKey, key};
use crate::service::test_support;
use crate::{
    AuthError, AuthService, ChangePasswordRequest, Clock as _, CredentialId, CredentialStore,
    JwtCodec, MemoryStore, Password, Principal, SignInRequest,
    clock::ManualClock,
    endpoint::{self, Method, Needs, Request},
    hooked::{Hook, Hooked},
};

const PASSWORD: &str = "correct horse battery";

struct Fixture {
    auth: AuthService,
    store: MemoryStore,
    clock: ManualClock,
}

fn fixture_with(api_keys: ApiKeys, cache: StdDuration) -> Fixture {
    let store = MemoryStore::new();
    let clock = ManualClock::new(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap());
    let auth = AuthService::with_store(store.clone())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .clock(clock.clone())
        .session_cache_ttl(cache)
        .sign_in_throttle(None)
        .client_rate_limit(None)
        .api_keys(api_keys)
        .build()
        .unwrap();
    Fixture { auth, store, clock }
}

/// With the cache on (5 s) or off.
fn fixture(cached: bool) -> Fixture {
    let cache = if cached { 5 } else { 0 };
    fixture_with(ApiKeys::new(), StdDuration::from_secs(cache))
}

/// A user signed up, as a principal, and their access token.
async fn signed_up(auth: &AuthService, email: &str) -> (Principal, String) {
    let session = test_support::signed_up(auth, email, PASSWORD).await;
    let principal = test_support::principal(auth, &session).await;
    (principal, session.access_token.expose_secret().to_owned())
}

/// A new session of a user who signed up.
async fn signed_in(auth: &AuthService, email: &str) -> Principal {
    let session = auth
        .sign_in(SignInRequest {
            email: email.into(),
            password: Password::new(PASSWORD),
        })
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    auth.authenticate(session.access_token.expose_secret())
        .await
        .unwrap()
}

async fn create(auth: &AuthService, principal: &Principal, name: &str) -> CreatedApiKey {
    auth.create_api_key(principal, name, None).await.unwrap()
}

/// The principal of `key`, through the verifier (the application's check).
async fn by_key(auth: &AuthService, key: &CreatedApiKey) -> Result<Principal, AuthError> {
    auth.verifier().authenticate(key.key.expose_secret()).await
}

#[tokio::test]
async fn a_key_has_its_shape_and_is_kept_only_as_a_hash() {
    let Fixture { auth, store, .. } = fixture(false);
    let (ada, _) = signed_up(&auth, "ada@example.com").await;
    let created = auth
        .create_api_key(&ada, "  nightly backup \t", Some(30))
        .await
        .unwrap();
    let key = created.key.expose_secret();
    assert!(key.starts_with("ak_"), "{key}");
    assert_eq!(key.len(), 3 + 22 + 43);
    assert!(
        key[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(created.name, "nightly backup");
    assert_eq!(created.prefix, key[..11]);
    assert_eq!(created.last_used_at, None);
    assert_eq!(
        created.expires_at,
        Some(created.created_at + Duration::days(30))
    );
    assert_eq!(format!("{:?}", created.key), "ApiKeySecret(<redacted>)");
    assert!(!format!("{created:?}").contains(key));
    let json = serde_json::to_value(&created).unwrap();
    assert_eq!(json["key"], key);

    let rows = store.list(ada.user_id(), &API_KEY).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].lookup, key[3..25]);
    let data = String::from_utf8(rows[0].data.clone()).unwrap();
    assert!(!data.contains(&key[25..]), "no secret in {data}");
    let listed = auth.api_keys(ada.user_id()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].prefix.as_str()),
        (created.id.as_str(), created.prefix.as_str())
    );
    let listed = serde_json::to_string(&listed).unwrap();
    assert!(!listed.contains(&key[11..]), "{listed}");
    assert!(!listed.contains("hash"), "{listed}");

    let other = auth.create_api_key(&ada, "other", None).await.unwrap();
    assert_ne!(other.key, created.key);
    assert_eq!(other.expires_at, None);
}

#[tokio::test]
async fn a_key_is_its_user_on_the_verifier_only() {
    for cached in [false, true] {
        let Fixture { auth, .. } = fixture(cached);
        let (ada, token) = signed_up(&auth, "ada@example.com").await;
        let created = create(&auth, &ada, "script").await;
        for _ in 0..2 {
            let principal = by_key(&auth, &created).await.unwrap();
            assert_eq!(principal.user_id(), ada.user_id());
            assert_eq!(principal.session_id(), None);
            assert_eq!(
                principal.api_key_id(),
                Some(&CredentialId::new(&created.id))
            );
            assert_eq!(principal.claims().iss, "api");
            assert_eq!(principal.claims().exp, super::NEVER);
        }
        assert!(matches!(
            auth.authenticate(created.key.expose_secret()).await,
            Err(AuthError::ApiKeyNotAllowed)
        ));
        // Access tokens work on both, and are no key.
        let principal = auth.verifier().authenticate(&token).await.unwrap();
        assert_eq!(principal.api_key_id(), None);
        assert_eq!(principal, auth.authenticate(&token).await.unwrap());
        // A key makes no keys.
        let by_key = by_key(&auth, &created).await.unwrap();
        assert!(matches!(
            auth.create_api_key(&by_key, "more", None).await,
            Err(AuthError::ApiKeyNotAllowed)
        ));
    }
}

#[tokio::test]
async fn anything_but_the_key_is_refused() {
    for cached in [false, true] {
        let Fixture { auth, .. } = fixture(cached);
        let (ada, _) = signed_up(&auth, "ada@example.com").await;
        let created = create(&auth, &ada, "script").await;
        // Cached first, so that the cache's check is the one tried.
        by_key(&auth, &created).await.unwrap();
        let key = created.key.expose_secret();
        let mut tampered = Vec::new();
        for at in [3, 24, 25, 40, key.len() - 1] {
            let mut bytes = key.as_bytes().to_vec();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            tampered.push(String::from_utf8(bytes).unwrap());
        }
        let unknown = format!("ak_{}", "A".repeat(65));
        for wrong in tampered.iter().chain([&unknown]) {
            let refused = auth.verifier().authenticate(wrong).await;
            assert!(
                matches!(refused, Err(AuthError::InvalidToken)),
                "{wrong}: {refused:?}"
            );
            assert!(matches!(
                auth.authenticate(wrong).await,
                Err(AuthError::ApiKeyNotAllowed)
            ));
        }
        // Not a key's shape: an ordinary bad token, on both checks.
        for other in [
            format!("{key}A"),
            key[..key.len() - 1].to_owned(),
            format!("AK_{}", &key[3..]),
            format!("{}.", &key[..key.len() - 1]),
            "ak_".to_owned(),
        ] {
            assert!(matches!(
                auth.verifier().authenticate(&other).await,
                Err(AuthError::InvalidToken)
            ));
            assert!(matches!(
                auth.authenticate(&other).await,
                Err(AuthError::InvalidToken)
            ));
        }
        by_key(&auth, &created).await.unwrap();
    }
}

#[tokio::test]
async fn a_deleted_key_stops_at_once() {
    for cached in [false, true] {
        let Fixture { auth, .. } = fixture(cached);
        let (ada, _) = signed_up(&auth, "ada@example.com").await;
        let (bob, _) = signed_up(&auth, "bob@example.com").await;
        let created = create(&auth, &ada, "script").await;
        let kept = create(&auth, &ada, "kept").await;
        by_key(&auth, &created).await.unwrap();
        assert!(matches!(
            auth.delete_api_key(bob.user_id(), &created.id).await,
            Err(AuthError::NotFound)
        ));
        for malformed in [
            "",
            "x",
            "\0",
            &"A".repeat(23),
            &format!("{}.", &created.id[1..]),
        ] {
            assert!(matches!(
                auth.delete_api_key(ada.user_id(), malformed).await,
                Err(AuthError::NotFound)
            ));
        }
        by_key(&auth, &created).await.unwrap();
        auth.delete_api_key(ada.user_id(), &created.id)
            .await
            .unwrap();
        assert!(matches!(
            by_key(&auth, &created).await,
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            auth.delete_api_key(ada.user_id(), &created.id).await,
            Err(AuthError::NotFound)
        ));
        by_key(&auth, &kept).await.unwrap();
        let listed = auth.api_keys(ada.user_id()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, kept.id);
    }
}

#[tokio::test]
async fn a_key_ends_with_its_lifetime_cached_or_not() {
    for cached in [false, true] {
        let Fixture { auth, clock, .. } = fixture(cached);
        let (ada, _) = signed_up(&auth, "ada@example.com").await;
        let created = auth.create_api_key(&ada, "a day", Some(1)).await.unwrap();
        let expires_at = created.expires_at.unwrap();
        clock.advance(Duration::seconds(24 * 3600 - 2));
        let principal = by_key(&auth, &created).await.unwrap();
        assert_eq!(principal.claims().exp, expires_at.unix_timestamp());
        clock.advance(Duration::seconds(1));
        by_key(&auth, &created).await.unwrap();
        clock.advance(Duration::seconds(1));
        assert!(matches!(
            by_key(&auth, &created).await,
            Err(AuthError::InvalidToken)
        ));
        // Listed until the cleanup deletes it.
        assert_eq!(auth.api_keys(ada.user_id()).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_key_outlives_the_sessions_but_not_its_user() {
    for cached in [false, true] {
        let Fixture { auth, .. } = fixture(cached);
        let (ada, token) = signed_up(&auth, "ada@example.com").await;
        let created = create(&auth, &ada, "script").await;
        by_key(&auth, &created).await.unwrap();
        auth.change_password(
            &ada,
            ChangePasswordRequest {
                current_password: Password::new(PASSWORD),
                new_password: Password::new("another fine passphrase"),
            },
        )
        .await
        .unwrap();
        auth.sign_out(&ada).await.unwrap();
        auth.sign_out_everywhere(ada.user_id()).await.unwrap();
        assert!(auth.authenticate(&token).await.is_err());
        by_key(&auth, &created).await.unwrap();

        let (bob, _) = signed_up(&auth, "bob@example.com").await;
        let bobs = create(&auth, &bob, "bob's").await;
        by_key(&auth, &bobs).await.unwrap();
        auth.delete_account(&bob, Some(&Password::new(PASSWORD)))
            .await
            .unwrap();
        assert!(matches!(
            by_key(&auth, &bobs).await,
            Err(AuthError::InvalidToken)
        ));
        by_key(&auth, &created).await.unwrap();
    }
}

#[tokio::test]
async fn last_use_is_written_once_a_minute() {
    for cached in [false, true] {
        let Fixture { auth, store, clock } = fixture(cached);
        let (ada, _) = signed_up(&auth, "ada@example.com").await;
        let created = create(&auth, &ada, "script").await;
        let id = CredentialId::new(&created.id);
        let stored = async || store.get(&id).await.unwrap().unwrap();
        let first = clock.now();
        by_key(&auth, &created).await.unwrap();
        let row = stored().await;
        assert_eq!((row.version, row.last_used_at), (2, Some(first)));
        for _ in 0..5 {
            clock.advance(Duration::seconds(10));
            by_key(&auth, &created).await.unwrap();
        }
        assert_eq!(stored().await.version, 2, "not within the minute");
        clock.advance(Duration::seconds(10));
        let second = clock.now();
        by_key(&auth, &created).await.unwrap();
        let row = stored().await;
        assert_eq!((row.version, row.last_used_at), (3, Some(second)));
        let listed = auth.api_keys(ada.user_id()).await.unwrap();
        assert_eq!(listed[0].last_used_at, Some(second));
    }
}

#[tokio::test]
async fn names_lifetimes_and_the_cap_are_checked() {
    let Fixture { auth, clock, .. } = fixture_with(
        ApiKeys::new().max_per_user(2).max_expires_in_days(10),
        StdDuration::ZERO,
    );
    let (ada, _) = signed_up(&auth, "ada@example.com").await;
    let long = "é".repeat(65);
    for name in [
        "",
        " \t\n ",
        long.as_str(),
        "a\nb",
        "tab\there",
        "\u{85}x\u{9f}",
    ] {
        assert!(
            matches!(
                auth.create_api_key(&ada, name, None).await,
                Err(AuthError::InvalidName { max: 64 })
            ),
            "{name:?}"
        );
    }
    for days in [0, -1, 11, i64::MAX, i64::MIN] {
        assert!(
            matches!(
                auth.create_api_key(&ada, "k", Some(days)).await,
                Err(AuthError::InvalidExpiry { max_days: 10 })
            ),
            "{days}"
        );
    }
    assert!(auth.api_keys(ada.user_id()).await.unwrap().is_empty());
    let first = auth
        .create_api_key(&ada, &"é".repeat(64), Some(1))
        .await
        .unwrap();
    assert_eq!(first.name.chars().count(), 64);
    auth.create_api_key(&ada, "🦀 ops", Some(10)).await.unwrap();
    assert!(matches!(
        auth.create_api_key(&ada, "third", None).await,
        Err(AuthError::TooManyApiKeys)
    ));
    // An expired key does not count (a day on, making one needs a fresh
    // sign-in).
    clock.advance(Duration::seconds(24 * 3600));
    let ada = signed_in(&auth, "ada@example.com").await;
    auth.create_api_key(&ada, "third", None).await.unwrap();
    assert_eq!(auth.api_keys(ada.user_id()).await.unwrap().len(), 3);
    // Another user has a cap of their own.
    let (bob, _) = signed_up(&auth, "bob@example.com").await;
    auth.create_api_key(&bob, "bob's", None).await.unwrap();
}

#[test]
fn the_settings_are_checked() {
    let build = |api_keys: ApiKeys| {
        let store = MemoryStore::new();
        AuthService::with_store(store)
            .token_codec(
                JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap(),
            )
            .api_keys(api_keys)
            .build()
    };
    for prefix in ["", "AK_", "a-b_", "ak.", "é", "abcdefghijklmnopq"] {
        assert!(
            matches!(
                build(ApiKeys::new().prefix(prefix)),
                Err(AuthError::InvalidConfig(_))
            ),
            "{prefix:?}"
        );
    }
    for prefix in ["a", "tak_", "acme_live_", "abcdefghijklmnop", "0_"] {
        assert!(build(ApiKeys::new().prefix(prefix)).is_ok(), "{prefix:?}");
    }
    for settings in [
        ApiKeys::new().max_per_user(0),
        ApiKeys::new().max_per_user(1001),
        ApiKeys::new().max_expires_in_days(0),
        ApiKeys::new().max_expires_in_days(3651),
    ] {
        assert!(matches!(build(settings), Err(AuthError::InvalidConfig(_))));
    }
    let store = MemoryStore::new();
    let without_store = AuthService::builder(store.clone(), store)
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .api_keys(ApiKeys::new())
        .build();
    assert!(matches!(without_store, Err(AuthError::InvalidConfig(_))));
}

#[tokio::test]
async fn a_custom_prefix_makes_and_takes_its_keys() {
    let Fixture { auth, .. } = fixture_with(ApiKeys::new().prefix("todo_"), StdDuration::ZERO);
    let (ada, _) = signed_up(&auth, "ada@example.com").await;
    let created = create(&auth, &ada, "script").await;
    let key = created.key.expose_secret();
    assert!(key.starts_with("todo_") && key.len() == 5 + 65, "{key}");
    assert_eq!(created.prefix, key[..13]);
    by_key(&auth, &created).await.unwrap();
    let as_default = format!("ak_{}", &key[5..]);
    assert!(matches!(
        auth.verifier().authenticate(&as_default).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn without_api_keys_a_key_is_an_ordinary_bad_token() {
    let store = MemoryStore::new();
    let auth = AuthService::with_store(store)
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .build()
        .unwrap();
    let (ada, _) = signed_up(&auth, "ada@example.com").await;
    let key = format!("ak_{}", "A".repeat(65));
    assert!(matches!(
        auth.authenticate(&key).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        auth.verifier().authenticate(&key).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        auth.create_api_key(&ada, "k", None).await,
        Err(AuthError::NotFound)
    ));
    assert!(matches!(
        auth.api_keys(ada.user_id()).await,
        Err(AuthError::NotFound)
    ));
}

#[test]
fn shapes_parse_one_way() {
    let key = key::generate("ak_").unwrap();
    let text = key.expose_secret();
    assert_eq!(key::id_part("ak_", text), Some(key.id_part("ak_")));
    assert_eq!(key.id_part("ak_").len(), key::ID_CHARS);
    assert_eq!(key.shown_prefix("ak_"), &text[..11]);
    assert_eq!(key::id_part("a", text), None, "another prefix's");
    assert_eq!(key::id_part("ak_", &text[1..]), None);
    assert!(key::is_credential_id(
        CredentialId::generate().unwrap().as_str()
    ));
    assert!(!key::is_credential_id(&"A".repeat(21)));
    assert!(!key::is_credential_id(&format!("{}=", "A".repeat(21))));
}

/// Each auth route that needs a session refuses a key (a good one, or
/// anything of a key's shape) with 403 `api_key_not_allowed` before it
/// looks at the body; `GET /me` takes a good one.
#[tokio::test]
async fn routes_refuse_keys_except_me() {
    let Fixture { auth, .. } = fixture(true);
    let (ada, _) = signed_up(&auth, "ada@example.com").await;
    let created = create(&auth, &ada, "script").await;
    let unknown = format!("ak_{}", "A".repeat(65));
    let mut refusing = 0;
    for endpoint in endpoint::endpoints() {
        for key in [created.key.expose_secret(), unknown.as_str()] {
            let bearer = format!("Bearer {key}");
            // No content type: a route that got as far as the body would
            // answer 415.
            let request = Request::new(None)
                .header("authorization", bearer.as_bytes())
                .path_param(&created.id);
            let answer = match endpoint.prepare(&auth, request).await {
                Ok(call) => call.run(&auth, Vec::new()).await,
                Err(reply) => reply,
            };
            let body: serde_json::Value = serde_json::from_slice(answer.body()).unwrap_or_default();
            let what = format!("{endpoint:?} with {key}: {body}");
            match endpoint.needs() {
                Needs::Session | Needs::SessionIfSent => {
                    assert_eq!(answer.status(), 403, "{what}");
                    assert_eq!(body["code"], "api_key_not_allowed", "{what}");
                    refusing += 1;
                }
                Needs::SessionOrApiKey if key == unknown => {
                    assert_eq!(answer.status(), 401, "{what}");
                }
                Needs::SessionOrApiKey => {
                    assert_eq!(answer.status(), 200, "{what}");
                    assert_eq!(body["user"]["id"], ada.user_id().as_str(), "{what}");
                }
                _ => assert_ne!(body["code"], "api_key_not_allowed", "{what}"),
            }
        }
    }
    assert!(refusing >= 2 * 10, "{refusing}");
    assert_eq!(
        endpoint::find(Method::Get, "/me").map(endpoint::Endpoint::needs),
        Some(Needs::SessionOrApiKey)
    );
    by_key(&auth, &created).await.unwrap();
}

/// The three routes, through the endpoint list: 201 with `no-store`, the
/// list, 204 then 404.
#[tokio::test]
async fn the_routes_make_list_and_delete() {
    let Fixture { auth, clock, .. } = fixture(false);
    let (_, token) = signed_up(&auth, "ada@example.com").await;
    let bearer = format!("Bearer {token}");
    let call = async |method: Method, path: &str, param: Option<&str>, body: &[u8]| {
        let mut request = Request::new(None)
            .header("authorization", bearer.as_bytes())
            .header("content-type", b"application/json");
        if let Some(param) = param {
            request = request.path_param(param);
        }
        let endpoint = endpoint::find(method, path).unwrap();
        match endpoint.prepare(&auth, request).await {
            Ok(call) => call.run(&auth, body.to_vec()).await,
            Err(reply) => reply,
        }
    };
    let made = call(
        Method::Post,
        "/api-keys",
        None,
        br#"{"name": " ci ", "expires_in_days": 7}"#,
    )
    .await;
    assert_eq!(made.status(), 201);
    assert!(
        made.headers()
            .iter()
            .any(|(name, value)| *name == "cache-control" && value == "no-store")
    );
    let made: serde_json::Value = serde_json::from_slice(made.body()).unwrap();
    assert_eq!(made["name"], "ci");
    clock.advance(Duration::seconds(1));
    for (body, status) in [
        (&br#"{"name": "x", "expires_in_days": 1.5}"#[..], 400),
        (br#"{"name": "x", "expires_in_days": "7"}"#, 400),
        (br#"{"name": "x", "expires_in_days": 1e40}"#, 400),
        (br#"{"expires_in_days": 7}"#, 400),
        (br#"{"name": null}"#, 400),
        (br#"[]"#, 400),
        (br#"{"name": "x", "expires_in_days": 0}"#, 422),
        (br#"{"name": "x", "expires_in_days": -3}"#, 422),
        (br#"{"name": "x", "expires_in_days": 366}"#, 422),
        (br#"{"name": "x", "expires_in_days": 99999999999999}"#, 422),
        (br#"{"name": ""}"#, 422),
        (br#"{"name": "x", "expires_in_days": null}"#, 201),
    ] {
        let reply = call(Method::Post, "/api-keys", None, body).await;
        assert_eq!(reply.status(), status, "{}", String::from_utf8_lossy(body));
    }
    let listed = call(Method::Get, "/api-keys", None, b"").await;
    assert_eq!(listed.status(), 200);
    let listed: serde_json::Value = serde_json::from_slice(listed.body()).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["id"], made["id"], "oldest first");
    assert!(listed[0].get("key").is_none());
    let id = made["id"].as_str().unwrap();
    let gone = call(Method::Delete, "/api-keys/{id}", Some(id), b"").await;
    assert_eq!(gone.status(), 204);
    let again = call(Method::Delete, "/api-keys/{id}", Some(id), b"").await;
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn making_a_key_needs_a_recent_sign_in() {
    let Fixture { auth, clock, .. } = fixture(false);
    let (ada, _) = signed_up(&auth, "ada@example.com").await;
    create(&auth, &ada, "fresh").await;
    // A token stolen later in the session (here, its holder after 11
    // minutes) cannot mint a key that would outlive sign-out and a reset.
    clock.advance(Duration::minutes(11));
    let stale = auth.create_api_key(&ada, "late", None).await;
    assert!(
        matches!(stale, Err(AuthError::ReauthenticationRequired)),
        "{stale:?}"
    );
    assert_eq!(auth.api_keys(ada.user_id()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn hidden_characters_are_refused_in_names() {
    let Fixture { auth, .. } = fixture(false);
    let (ada, _) = signed_up(&auth, "ada@example.com").await;
    for name in [
        "backup\u{202E}exe.",
        "a\u{200B}b",
        "\u{2066}ci",
        "x\u{FEFF}",
    ] {
        let refused = auth.create_api_key(&ada, name, None).await;
        assert!(
            matches!(refused, Err(AuthError::InvalidName { max: 64 })),
            "{name:?}: {refused:?}"
        );
    }
    assert!(auth.api_keys(ada.user_id()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_key_deleted_by_another_process_is_forgotten_at_its_next_last_use() {
    let Fixture { auth, store, clock } = fixture(true);
    let (ada, _) = signed_up(&auth, "ada@example.com").await;
    let key = create(&auth, &ada, "ci").await;
    by_key(&auth, &key).await.unwrap();
    // Another process deletes it straight in the shared store; this
    // process still has it cached.
    let id = CredentialId::new(&key.id);
    assert!(store.delete(ada.user_id(), &id).await.unwrap());
    by_key(&auth, &key).await.unwrap();
    // A minute on, the last-use write finds it gone and the cache lets go
    // at once (the cache's own lifetime is 5 s, but it is asked before).
    clock.advance(Duration::seconds(61));
    let _ = by_key(&auth, &key).await;
    assert!(matches!(
        by_key(&auth, &key).await,
        Err(AuthError::InvalidToken)
    ));
}

/// Yields before each insert and list, so that racing tasks interleave
/// between the cap's count and the insert as they do on a database.
struct Yielding;

#[async_trait::async_trait]
impl Hook for Yielding {
    async fn before(&self, method: &'static str) -> Result<(), AuthError> {
        if matches!(method, "insert" | "list") {
            tokio::task::yield_now().await;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_never_pass_the_cap() {
    let store = MemoryStore::new();
    let auth = AuthService::with_store(store.clone())
        .token_codec(JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap())
        .session_cache_ttl(StdDuration::ZERO)
        .client_rate_limit(None)
        .credentials(Hooked::new(Arc::new(store), Yielding))
        .api_keys(ApiKeys::new().max_per_user(3))
        .build()
        .unwrap();
    let (ada, _) = signed_up(&auth, "ada@example.com").await;
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let (auth, ada) = (auth.clone(), ada.clone());
            tokio::spawn(async move { auth.create_api_key(&ada, &format!("k{n}"), None).await })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => made += 1,
            Err(AuthError::TooManyApiKeys) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    let kept = auth.api_keys(ada.user_id()).await.unwrap().len();
    assert_eq!(kept, made, "every key answered 201 is kept, no other");
    assert!((1..=3).contains(&kept), "{kept} keys");
}
