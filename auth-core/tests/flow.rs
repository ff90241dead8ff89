//! The auth service end to end on the in-memory stores.
// Test code: a panic is a test failure, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::http::HttpError;
use std::{collections::HashSet, time::Duration};

use auth_core::{
    AuthError, AuthService, Email, JwtCodec, MemoryStore, Password, SignUpRequest, User,
    password::{Argon2Hasher, Argon2Params, PasswordPolicy},
    store::UserStore,
};
use common::*;
use serde_json::json;

#[tokio::test]
async fn the_whole_flow() {
    let store = MemoryStore::new();
    let clock = clock();
    let auth = builder(&store).clock(clock.clone()).build().unwrap();

    // Sign-up.
    let signed_up = auth
        .sign_up(SignUpRequest {
            email: " Ada@Example.com ".into(),
            password: Password::new(PASSWORD),
            name: Some("  Ada Lovelace ".into()),
        })
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
    assert_eq!(signed_up.user.email.as_str(), "ada@example.com");
    assert_eq!(signed_up.user.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(signed_up.token_type, "Bearer");
    assert_eq!(signed_up.expires_in, 900);

    // Sign-in, with the email in another case.
    let session = auth
        .sign_in(sign_in_request("ADA@example.COM", PASSWORD))
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    assert_eq!(session.user.id, signed_up.user.id);

    // Authenticate.
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(principal.user_id(), &signed_up.user.id);
    assert_eq!(auth.current_user(&principal).await.unwrap(), signed_up.user);

    // Refresh: new refresh token, same session.
    let refreshed = auth
        .refresh(session.refresh_token.expose_secret())
        .await
        .unwrap();
    assert_ne!(refreshed.refresh_token, session.refresh_token);
    let refreshed_principal = auth
        .authenticate(refreshed.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(refreshed_principal.session_id(), principal.session_id());

    // Reuse of the old refresh token, after the reuse interval, revokes
    // the whole session.
    clock.advance(time::Duration::seconds(11));
    let reuse = auth.refresh(session.refresh_token.expose_secret()).await;
    assert!(
        matches!(reuse, Err(AuthError::RefreshTokenReused)),
        "{reuse:?}"
    );
    let successor = auth.refresh(refreshed.refresh_token.expose_secret()).await;
    assert!(
        matches!(successor, Err(AuthError::SessionRevoked)),
        "{successor:?}"
    );
    for token in [&session.access_token, &refreshed.access_token] {
        let result = auth.authenticate(token.expose_secret()).await;
        assert!(
            matches!(result, Err(AuthError::SessionRevoked)),
            "{result:?}"
        );
    }

    // The sign-up session is separate and still works; sign it out.
    let principal = auth
        .authenticate(signed_up.access_token.expose_secret())
        .await
        .unwrap();
    auth.sign_out(&principal).await.unwrap();
    let after = auth
        .authenticate(signed_up.access_token.expose_secret())
        .await;
    assert!(matches!(after, Err(AuthError::SessionRevoked)), "{after:?}");
    let refresh_after = auth.refresh(signed_up.refresh_token.expose_secret()).await;
    assert!(
        matches!(refresh_after, Err(AuthError::SessionRevoked)),
        "{refresh_after:?}"
    );
    // Signing out twice is harmless.
    auth.sign_out(&principal).await.unwrap();
}

#[tokio::test]
async fn sign_up_validates_before_hashing() {
    let store = MemoryStore::new();
    let hasher = CountingHasher::new(cheap_hasher());
    let auth = builder(&store)
        .password_hasher(hasher.clone())
        .build()
        .unwrap();
    let attempt = |email: &str, password: String, name: Option<String>| {
        auth.sign_up(SignUpRequest {
            email: email.into(),
            password: Password::new(password),
            name,
        })
    };

    let cases = [
        ("not-an-email", "a".repeat(8), None, "invalid_email"),
        ("a@example.com", "a".repeat(7), None, "password_too_short"),
        ("a@example.com", "a".repeat(129), None, "password_too_long"),
        (
            "a@example.com",
            "a".repeat(100_000),
            None,
            "password_too_long",
        ),
        (
            "a@example.com",
            "Password1".into(),
            None,
            "password_too_common",
        ),
        (
            "longname@example.com",
            "LongName@Example.com".into(),
            None,
            "password_too_common",
        ),
        (
            "longname@example.com",
            "longname".into(),
            None,
            "password_too_common",
        ),
        (
            "a@example.com",
            "a".repeat(8),
            Some("x".repeat(101)),
            "invalid_name",
        ),
        (
            "a@example.com",
            "a".repeat(8),
            Some("bad\u{7}name".into()),
            "invalid_name",
        ),
    ];
    for (email, password, name, code) in cases {
        let err = attempt(email, password.clone(), name).await.unwrap_err();
        assert_eq!(HttpError::from(&err).problem().code.as_str(), code);
        assert_eq!(HttpError::status_for(&err), 422);
        assert!(!hasher.has_hashed(&password), "{code}: hashed bad input");
    }
    assert_eq!(hasher.counts().1, 0, "nothing may be verified either");

    // The boundaries themselves are accepted.
    attempt("eight@example.com", "🦀".repeat(8), None)
        .await
        .unwrap();
    attempt("max@example.com", "a".repeat(128), Some("x".repeat(100)))
        .await
        .unwrap();
    // An app can switch the common-password check off.
    let lenient = builder(&MemoryStore::new())
        .password_policy(PasswordPolicy::default().allow_common_passwords())
        .build()
        .unwrap();
    lenient
        .sign_up(sign_up_request("lenient@example.com", "password1"))
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap();
}

#[tokio::test]
async fn duplicate_emails_are_refused_whatever_their_case() {
    let (auth, _) = service();
    sign_up(&auth, "grace@example.com").await;
    for email in [
        "grace@example.com",
        "Grace@Example.COM",
        "  grace@example.com\t",
    ] {
        let err = auth
            .sign_up(sign_up_request(email, PASSWORD))
            .await
            .and_then(auth_core::SignUp::signed_in)
            .unwrap_err();
        assert!(matches!(err, AuthError::EmailTaken), "{email}: {err:?}");
        assert_eq!(HttpError::status_for(&err), 409);
    }
}

#[tokio::test]
async fn unknown_email_and_wrong_password_are_indistinguishable() {
    let store = MemoryStore::new();
    let hasher = CountingHasher::new(cheap_hasher());
    let auth = builder(&store)
        .password_hasher(hasher.clone())
        .build()
        .unwrap();
    sign_up(&auth, "ada@example.com").await;
    let verifies_before = hasher.counts().1;

    let wrong_password = auth
        .sign_in(sign_in_request("ada@example.com", "not the password"))
        .await
        .unwrap_err();
    let unknown_email = auth
        .sign_in(sign_in_request("nobody@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(wrong_password, AuthError::InvalidCredentials));
    assert!(matches!(unknown_email, AuthError::InvalidCredentials));
    assert_eq!(wrong_password.to_string(), unknown_email.to_string());
    assert_eq!(
        HttpError::from(&wrong_password).problem().code.as_str(),
        HttpError::from(&unknown_email).problem().code.as_str()
    );

    // Both paths verified exactly one hash (the unknown email a dummy one),
    // which is what makes their timing alike.
    let verifies = hasher.counts().1;
    assert_eq!(verifies - verifies_before, 2);
    auth.sign_in(sign_in_request("other@example.com", PASSWORD))
        .await
        .unwrap_err();
    // Two hashes in all: the sign-up's, and one dummy made once and reused.
    assert_eq!(hasher.counts(), (2, verifies + 1));
}

#[tokio::test]
async fn sign_in_does_not_apply_sign_up_rules() {
    let store = MemoryStore::new();
    let hasher = CountingHasher::new(cheap_hasher());
    let auth = builder(&store)
        .password_hasher(hasher.clone())
        .build()
        .unwrap();
    sign_up(&auth, "ada@example.com").await;
    let before = hasher.counts();
    for (email, password) in [
        ("not an email", PASSWORD.to_owned()),
        ("ada@example.com", "short".to_owned()),
        ("ada@example.com", String::new()),
        ("ada@example.com", "a".repeat(129)),
        ("ada@example.com", "a".repeat(1_000_000)),
    ] {
        let err = auth
            .sign_in(sign_in_request(email, &password))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidCredentials),
            "{email}: {err:?}"
        );
    }
    // Overlong passwords and impossible emails never reach the hasher.
    assert_eq!(
        hasher.counts().1 - before.1,
        2,
        "only the two short passwords were verified"
    );
}

#[tokio::test]
async fn access_tokens_expire_by_the_service_clock() {
    let store = MemoryStore::new();
    let clock = clock();
    let codec = JwtCodec::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(auth_core::JwtKey::hs256("k", SECRET).unwrap())
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    let auth = builder(&store)
        .token_codec(codec)
        .clock(clock.clone())
        .build()
        .unwrap();
    let session = sign_up(&auth, "clock@example.com").await;
    let token = session.access_token.expose_secret();

    clock.advance(time::Duration::seconds(899));
    auth.authenticate(token).await.unwrap();
    clock.advance(time::Duration::seconds(1));
    let expired = auth.authenticate(token).await.unwrap_err();
    assert!(matches!(expired, AuthError::TokenExpired), "{expired:?}");
    assert_eq!(
        HttpError::from(&expired).problem().code.as_str(),
        "token_expired"
    );

    // The refresh token outlives it and brings a fresh access token.
    let refreshed = auth
        .refresh(session.refresh_token.expose_secret())
        .await
        .unwrap();
    auth.authenticate(refreshed.access_token.expose_secret())
        .await
        .unwrap();
}

#[tokio::test]
async fn leeway_extends_expiry_by_at_most_its_length() {
    let store = MemoryStore::new();
    let clock = clock();
    let auth = builder(&store).clock(clock.clone()).build().unwrap(); // default leeway: 30 s
    let token = sign_up(&auth, "leeway@example.com").await.access_token;
    clock.advance(time::Duration::seconds(900 + 29));
    auth.authenticate(token.expose_secret()).await.unwrap();
    clock.advance(time::Duration::seconds(1));
    assert!(matches!(
        auth.authenticate(token.expose_secret()).await,
        Err(AuthError::TokenExpired)
    ));
}

#[tokio::test]
async fn sessions_have_an_absolute_lifetime() {
    let store = MemoryStore::new();
    let clock = clock();
    let auth = builder(&store)
        .clock(clock.clone())
        .session_ttl(Duration::from_secs(3600))
        .access_token_ttl(Duration::from_secs(900))
        .build()
        .unwrap();
    let mut session = sign_up(&auth, "lifetime@example.com").await;
    // Refreshing every 15 minutes does not extend the session.
    for _ in 0..3 {
        clock.advance(time::Duration::minutes(15));
        session = auth
            .refresh(session.refresh_token.expose_secret())
            .await
            .unwrap();
    }
    // The last access token is cut to the session's end: 10 minutes left.
    clock.advance(time::Duration::minutes(5));
    let last = auth
        .refresh(session.refresh_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(
        last.expires_in, 600,
        "the access token must not outlive its session"
    );
    clock.advance(time::Duration::minutes(10));
    let over = auth
        .refresh(last.refresh_token.expose_secret())
        .await
        .unwrap_err();
    assert!(matches!(over, AuthError::SessionExpired), "{over:?}");
    let access = auth
        .authenticate(last.access_token.expose_secret())
        .await
        .unwrap_err();
    assert_eq!(HttpError::status_for(&access), 401, "{access:?}");
}

#[tokio::test]
async fn sessions_last_thirty_days_by_default() {
    let store = MemoryStore::new();
    let clock = clock();
    let auth = builder(&store).clock(clock.clone()).build().unwrap();
    let session = sign_up(&auth, "thirty@example.com").await;
    clock.advance(time::Duration::days(30) - time::Duration::seconds(1));
    let last = auth
        .refresh(session.refresh_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(
        last.expires_in, 1,
        "the access token is cut to the session's end"
    );
    clock.advance(time::Duration::seconds(1));
    let over = auth.refresh(last.refresh_token.expose_secret()).await;
    assert!(matches!(over, Err(AuthError::SessionExpired)), "{over:?}");
}

#[tokio::test]
async fn ended_sessions_can_be_deleted() {
    let store = MemoryStore::new();
    let clock = clock();
    let auth = builder(&store).clock(clock.clone()).build().unwrap();
    let gone = sign_up(&auth, "gone@example.com").await;
    let kept = sign_up(&auth, "kept@example.com").await;
    let principal = auth
        .authenticate(gone.access_token.expose_secret())
        .await
        .unwrap();
    auth.sign_out(&principal).await.unwrap();

    let week = Duration::from_secs(7 * 24 * 3600);
    assert_eq!(
        auth.delete_ended_sessions(week).await.unwrap(),
        0,
        "too recent"
    );
    clock.advance(time::Duration::days(8));
    assert_eq!(auth.delete_ended_sessions(week).await.unwrap(), 1);
    let refresh = auth.refresh(gone.refresh_token.expose_secret()).await;
    assert!(
        matches!(refresh, Err(AuthError::InvalidRefreshToken)),
        "{refresh:?}"
    );
    auth.refresh(kept.refresh_token.expose_secret())
        .await
        .unwrap();
    assert!(auth.delete_ended_sessions(Duration::MAX).await.is_err());
}

#[tokio::test]
async fn stored_timestamps_have_microsecond_precision() {
    // The system clock has nanoseconds; PostgreSQL keeps microseconds. The
    // service cuts them so that what a store returns equals what it got.
    let (auth, _) = service();
    for i in 0..20 {
        let user = sign_up(&auth, &format!("micro{i}@example.com")).await.user;
        assert_eq!(
            user.created_at.nanosecond() % 1_000,
            0,
            "{}",
            user.created_at
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_ups_with_one_email_make_one_account() {
    let (auth, store) = service();
    let racers: Vec<_> = (0..20)
        .map(|i| {
            let auth = auth.clone();
            let email = if i % 2 == 0 {
                "Same@Example.com"
            } else {
                "same@example.com"
            };
            tokio::spawn(async move {
                auth.sign_up(sign_up_request(email, PASSWORD))
                    .await
                    .and_then(auth_core::SignUp::signed_in)
            })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut taken = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(response) => {
                ids.insert(response.user.id);
            }
            Err(AuthError::EmailTaken) => taken += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!((ids.len(), taken), (1, 19));
    let email = Email::parse("same@example.com").unwrap();
    let stored = store.find_user_by_email(&email).await.unwrap().unwrap();
    assert!(ids.contains(&stored.user.id));
}

#[tokio::test]
async fn stateless_mode_skips_the_session_check() {
    let store = MemoryStore::new();
    let auth = builder(&store).check_sessions(false).build().unwrap();
    let session = sign_up(&auth, "stateless@example.com").await;
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    auth.sign_out(&principal).await.unwrap();
    // The access token lives on until it expires; the refresh token does not.
    auth.authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    assert!(matches!(
        auth.refresh(session.refresh_token.expose_secret()).await,
        Err(AuthError::SessionRevoked)
    ));
}

#[tokio::test]
async fn sign_out_everywhere_revokes_every_session_of_the_user() {
    let (auth, _) = service();
    let first = sign_up(&auth, "everywhere@example.com").await;
    let second = auth
        .sign_in(sign_in_request("everywhere@example.com", PASSWORD))
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    let other = sign_up(&auth, "bystander@example.com").await;
    assert_eq!(auth.sign_out_everywhere(&first.user.id).await.unwrap(), 2);
    for session in [&first, &second] {
        assert!(
            auth.authenticate(session.access_token.expose_secret())
                .await
                .is_err()
        );
    }
    auth.authenticate(other.access_token.expose_secret())
        .await
        .unwrap();
}

#[tokio::test]
async fn malformed_and_unknown_refresh_tokens_are_refused() {
    let (auth, _) = service();
    sign_up(&auth, "refresh@example.com").await;
    let unknown = auth_core::store::RefreshToken::generate().unwrap();
    for token in ["", "x", &"a".repeat(10_000), unknown.expose_secret()] {
        let err = auth.refresh(token).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidRefreshToken), "{err:?}");
    }
}

#[tokio::test]
async fn weaker_hashes_are_upgraded_on_sign_in() {
    let store = MemoryStore::new();
    let weak = builder(&store).build().unwrap();
    sign_up(&weak, "upgrade@example.com").await;
    let email = Email::parse("upgrade@example.com").unwrap();
    let before = store.find_user_by_email(&email).await.unwrap().unwrap();
    assert!(before.password_hash.as_phc().contains("m=64,t=1,p=1"));

    let stronger = Argon2Hasher::new(
        Argon2Params {
            memory_kib: 128,
            iterations: 2,
            parallelism: 1,
        },
        2,
    )
    .unwrap();
    let strong = builder(&store).password_hasher(stronger).build().unwrap();
    strong
        .sign_in(sign_in_request("upgrade@example.com", PASSWORD))
        .await
        .unwrap();
    let after = store.find_user_by_email(&email).await.unwrap().unwrap();
    assert!(
        after.password_hash.as_phc().contains("m=128,t=2,p=1"),
        "hash was not upgraded"
    );
    // The new hash still verifies, with either service.
    strong
        .sign_in(sign_in_request("upgrade@example.com", PASSWORD))
        .await
        .unwrap();
    weak.sign_in(sign_in_request("upgrade@example.com", PASSWORD))
        .await
        .unwrap();
}

#[tokio::test]
async fn custom_claims_reach_the_principal_but_cannot_shadow_registered_ones() {
    let store = MemoryStore::new();
    let auth = builder(&store)
        .custom_claims(|user: &User| {
            let mut claims = serde_json::Map::new();
            claims.insert("role".into(), json!("admin"));
            claims.insert("email".into(), json!(user.email.as_str()));
            claims.insert("sub".into(), json!("someone-else"));
            claims
        })
        .build()
        .unwrap();
    let session = sign_up(&auth, "claims@example.com").await;
    let principal = auth
        .authenticate(session.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(principal.user_id(), &session.user.id);
    assert_eq!(principal.claims().custom.get("role"), Some(&json!("admin")));
    assert_eq!(
        principal.claims().custom.get("email"),
        Some(&json!("claims@example.com"))
    );
    assert_eq!(principal.claims().iss, ISSUER);
    assert_eq!(principal.claims().aud, AUDIENCE);
}

#[test]
fn the_builder_refuses_bad_configuration() {
    let store = MemoryStore::new();
    let refused = |builder: auth_core::service::AuthServiceBuilder| match builder.build() {
        Err(AuthError::InvalidConfig(reason)) => reason,
        other => panic!("expected InvalidConfig, got {other:?}"),
    };
    refused(AuthService::builder(store.clone(), store.clone()));
    refused(builder(&store).access_token_ttl(Duration::ZERO));
    refused(builder(&store).session_ttl(Duration::ZERO));
    refused(
        builder(&store)
            .session_ttl(Duration::from_secs(600))
            .access_token_ttl(Duration::from_secs(900)),
    );
    refused(builder(&store).access_token_ttl(Duration::from_millis(500)));
    refused(builder(&store).access_token_ttl(Duration::from_secs(24 * 3600 + 1)));
    refused(builder(&store).session_ttl(Duration::from_secs(401 * 24 * 3600)));
    // Far beyond what time arithmetic can hold: refused, never a panic later.
    refused(builder(&store).session_ttl(Duration::from_secs(400_000_000_000)));
    refused(builder(&store).session_ttl(Duration::MAX));
    refused(builder(&store).refresh_reuse_interval(Duration::from_secs(61)));
    refused(builder(&store).max_name_chars(0));
    assert!(PasswordPolicy::new(0, 8).is_err());

    for codec in [
        JwtCodec::hs256(b"only 31 bytes of secret........", ISSUER, AUDIENCE),
        JwtCodec::hs256(SECRET, "", AUDIENCE),
        JwtCodec::hs256(SECRET, ISSUER, "  "),
        JwtCodec::builder()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .key(auth_core::JwtKey::hs256("k", SECRET).unwrap())
            .leeway(Duration::from_secs(61))
            .build(),
    ] {
        assert!(
            matches!(codec, Err(AuthError::InvalidConfig(_))),
            "{codec:?}"
        );
    }
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let (auth, _) = service();
    let response = sign_up(&auth, "debug@example.com").await;
    let printed = format!("{response:?} {auth:?}");
    assert!(!printed.contains(response.access_token.expose_secret()));
    assert!(!printed.contains(response.refresh_token.expose_secret()));
    assert!(!printed.contains(std::str::from_utf8(SECRET).unwrap()));
    assert!(printed.contains("<redacted>"));
    // The JSON for the client does carry them, in the contract's shape.
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["access_token"], response.access_token.expose_secret());
    assert_eq!(
        json["refresh_token"],
        response.refresh_token.expose_secret()
    );
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["user"]["email"], "debug@example.com");
    assert!(json["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn default_hasher_uses_owasp_parameters() {
    let store = MemoryStore::new();
    let auth = AuthService::builder(store.clone(), store.clone())
        .token_codec(codec())
        .build()
        .unwrap();
    sign_up(&auth, "owasp@example.com").await;
    let email = Email::parse("owasp@example.com").unwrap();
    let record = store.find_user_by_email(&email).await.unwrap().unwrap();
    assert!(
        record
            .password_hash
            .as_phc()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{:?}",
        record.password_hash.as_phc()
    );
}

/// A token whose `sid` names a live session of another user (or of no user)
/// must not pass: the session vouches only for its own user, with the
/// session cache on or off.
#[tokio::test]
async fn a_session_vouches_only_for_its_own_user() {
    use auth_core::{UserId, token::TokenCodec as _};
    for cache in [Duration::ZERO, Duration::from_secs(5)] {
        let store = MemoryStore::new();
        let auth = builder(&store).session_cache_ttl(cache).build().unwrap();
        let alice = sign_up(&auth, "alice@example.com").await;
        let bob = sign_up(&auth, "bob@example.com").await;
        // Alice's own token works (and, with the cache on, is remembered).
        let principal = auth
            .authenticate(alice.access_token.expose_secret())
            .await
            .unwrap();
        for sub in [bob.user.id.clone(), UserId::new("no-such-user")] {
            let mut claims = principal.claims().clone();
            claims.sub = sub;
            let forged = codec().issue(&claims).unwrap();
            let result = auth.authenticate(&forged).await;
            assert!(
                matches!(result, Err(AuthError::InvalidToken)),
                "cache {cache:?}: sub {:?} on alice's session gave {result:?}",
                claims.sub
            );
        }
    }
}
