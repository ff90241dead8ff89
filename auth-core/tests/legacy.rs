//! Imported bcrypt and Better Auth hashes: fixtures made by the real tools
//! (`tests/fixtures/legacy/make-fixtures.sh`), verification, and the
//! upgrade to Argon2id on sign-in.
// Test code: a panic is a test failure, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::{
    AuthError, Email, MemoryStore, Password,
    password::{PasswordHash, PasswordHasher, Verification},
    service::ImportedUser,
    store::UserStore,
};
use common::*;
use serde_json::Value;

fn fixtures(file: &str) -> Vec<(String, Option<String>, String)> {
    let path = format!(
        "{}/tests/fixtures/legacy/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["password"].as_str().unwrap().to_owned(),
                h["also_matches"].as_str().map(str::to_owned),
                h["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn verify(hash: &PasswordHash, password: &str) -> Verification {
    cheap_hasher()
        .verify(&Password::new(password), hash)
        .await
        .unwrap()
}

#[tokio::test]
async fn bcrypt_fixtures_verify_with_their_password_only() {
    let all = fixtures("bcrypt.json");
    for prefix in [
        "$2a$04$", "$2a$10$", "$2b$04$", "$2b$10$", "$2y$04$", "$2y$10$",
    ] {
        assert!(
            all.iter().any(|(_, _, h)| h.starts_with(prefix)),
            "{prefix}"
        );
    }
    assert!(all.iter().any(|(p, _, _)| !p.is_ascii()));
    for (password, _, hash) in all {
        let imported = PasswordHash::from_bcrypt(&hash).unwrap();
        assert_eq!(imported.as_phc(), hash);
        assert_eq!(PasswordHash::import(&hash).unwrap(), imported);
        // Read back from storage as any stored hash is.
        let stored = PasswordHash::from_phc(imported.as_phc()).unwrap();
        assert_eq!(
            verify(&stored, &password).await,
            Verification::MatchNeedsRehash
        );
        assert_eq!(
            verify(&stored, &format!("{password}!")).await,
            Verification::Mismatch
        );
    }
}

#[tokio::test]
async fn better_auth_fixtures_verify_with_their_password_only() {
    let all = fixtures("better-auth.json");
    assert!(all.iter().filter(|(_, also, _)| also.is_some()).count() >= 2);
    for (password, also, hash) in all {
        let imported = PasswordHash::from_better_auth_scrypt(&hash).unwrap();
        assert!(imported.as_phc().starts_with("$scrypt-ba$"));
        assert_eq!(PasswordHash::import(&hash).unwrap(), imported);
        let stored = PasswordHash::from_phc(imported.as_phc()).unwrap();
        assert_eq!(
            verify(&stored, &password).await,
            Verification::MatchNeedsRehash
        );
        if let Some(also) = also {
            // NFKC: "ﬁ" is "fi", full-width letters are ASCII.
            assert_eq!(verify(&stored, &also).await, Verification::MatchNeedsRehash);
        }
        assert_eq!(
            verify(&stored, &format!("{password}!")).await,
            Verification::Mismatch
        );
    }
}

#[tokio::test]
async fn bcrypt_refuses_passwords_over_72_bytes_instead_of_truncating() {
    // The fixture's 72-byte password: bcrypt itself ignores any byte after
    // the 72nd, so a longer password with that prefix would match.
    let (password, _, hash) = fixtures("bcrypt.json")
        .into_iter()
        .find(|(p, _, _)| p.len() == 72)
        .unwrap();
    let hash = PasswordHash::from_bcrypt(&hash).unwrap();
    assert_eq!(
        verify(&hash, &password).await,
        Verification::MatchNeedsRehash
    );
    let long = format!("{password}x");
    assert_eq!(verify(&hash, &long).await, Verification::Mismatch);
}

#[test]
fn malformed_legacy_hashes_are_errors_not_panics() {
    let good_bcrypt = "$2b$04$PvToG/sTj7qKntp3XPvc5uiu6sNikXNbaL7OYe0tPJCmNzEZ6L6Fe";
    assert!(PasswordHash::from_bcrypt(good_bcrypt).is_ok());
    let salt = "81ae451cebace3f2412a20c906a84fd7";
    let key = "ab".repeat(64);
    assert!(PasswordHash::from_better_auth_scrypt(&format!("{salt}:{key}")).is_ok());
    let bad_bcrypt = [
        String::new(),
        "$2b$".into(),
        good_bcrypt.replace("$2b$04$", "$2c$04$"),
        good_bcrypt.replace("$2b$04$", "$2b$03$"),
        good_bcrypt.replace("$2b$04$", "$2b$17$"),
        good_bcrypt.replace("$2b$04$", "$2b$99$"),
        good_bcrypt.replace("$2b$04$", "$2b$x4$"),
        good_bcrypt.replace('P', "+"),
        format!("{good_bcrypt}A"),
        good_bcrypt[..59].to_owned(),
        good_bcrypt.replace('P', "é"),
    ];
    for bad in &bad_bcrypt {
        assert!(
            matches!(
                PasswordHash::from_bcrypt(bad),
                Err(AuthError::InvalidConfig(_))
            ),
            "{bad}"
        );
        assert!(PasswordHash::import(bad).is_err(), "{bad}");
    }
    let bad_scrypt = [
        String::new(),
        ":".into(),
        format!("{salt}{key}"),
        format!("{salt}:{}", &key[..126]),
        format!("{}:{key}", &salt[..30]),
        format!("{}:{key}", salt.to_uppercase()),
        format!("{salt}:{}", key.to_uppercase()),
        format!("{salt}:{key}:"),
        format!("{salt}:{}zz", &key[..126]),
        format!("{salt}:{}é", &key[..127]),
    ];
    for bad in &bad_scrypt {
        assert!(
            matches!(
                PasswordHash::from_better_auth_scrypt(bad),
                Err(AuthError::InvalidConfig(_))
            ),
            "{bad}"
        );
        assert!(PasswordHash::import(bad).is_err(), "{bad}");
    }
    assert!(PasswordHash::import("plaintext").is_err());
}

#[tokio::test]
async fn corrupt_stored_legacy_hashes_are_internal_errors() {
    let hasher = cheap_hasher();
    let password = Password::new(PASSWORD);
    for stored in [
        "$2b$04$short",
        "$2b$31$PvToG/sTj7qKntp3XPvc5uiu6sNikXNbaL7OYe0tPJCmNzEZ6L6Fe",
        "$scrypt-ba$abc$def",
        "$scrypt-ba$81ae451cebace3f2412a20c906a84fd7",
    ] {
        let hash = PasswordHash::from_phc(stored).unwrap();
        let result = hasher.verify(&password, &hash).await;
        assert!(matches!(result, Err(AuthError::Internal(_))), "{stored}");
    }
}

async fn import_then_sign_in(store: &MemoryStore, email: &str, hash: &str, password: &str) {
    let auth = builder(store).build().unwrap();
    let imported = auth
        .import_user(ImportedUser {
            email: email.to_uppercase(),
            name: Some(" Imported ".into()),
            password_hash: PasswordHash::import(hash).unwrap(),
            email_verified: true,
        })
        .await
        .unwrap();
    assert_eq!(imported.email.as_str(), email);
    assert_eq!(imported.name.as_deref(), Some("Imported"));
    assert!(imported.email_verified);
    let email = Email::parse(email).unwrap();
    let before = store.find_user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(before.password_hash, PasswordHash::import(hash).unwrap());

    // A wrong password is a 401 and changes nothing.
    let wrong = auth
        .sign_in(sign_in_request(email.as_str(), "wrong password"))
        .await;
    assert!(matches!(wrong, Err(AuthError::InvalidCredentials)));

    let session = auth
        .sign_in(sign_in_request(email.as_str(), password))
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    assert_eq!(session.user.id, imported.id);
    let after = store.find_user_by_email(&email).await.unwrap().unwrap();
    assert!(after.password_hash.as_phc().starts_with("$argon2id$"));
    assert_eq!(
        verify(&after.password_hash, password).await,
        Verification::Match
    );
    // The next sign-in uses the new hash.
    auth.sign_in(sign_in_request(email.as_str(), password))
        .await
        .unwrap();
    let again = store.find_user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(again.password_hash, after.password_hash);
}

#[tokio::test]
async fn imported_users_sign_in_and_are_upgraded_to_argon2id() {
    let store = MemoryStore::new();
    let (password, _, hash) = fixtures("bcrypt.json").remove(1);
    import_then_sign_in(&store, "bcrypt@example.com", &hash, &password).await;
    let (password, _, hash) = fixtures("better-auth.json").remove(1);
    import_then_sign_in(&store, "scrypt@example.com", &hash, &password).await;
}

#[tokio::test]
async fn import_refuses_duplicates_and_bad_emails() {
    let store = MemoryStore::new();
    let auth = builder(&store).build().unwrap();
    let (_, _, hash) = fixtures("bcrypt.json").remove(0);
    let user = |email: &str| ImportedUser {
        email: email.into(),
        name: None,
        password_hash: PasswordHash::import(&hash).unwrap(),
        email_verified: false,
    };
    auth.import_user(user("ada@example.com")).await.unwrap();
    assert!(matches!(
        auth.import_user(user(" ADA@example.com")).await,
        Err(AuthError::EmailTaken)
    ));
    assert!(matches!(
        auth.import_user(user("not an email")).await,
        Err(AuthError::InvalidEmail)
    ));
}

#[tokio::test]
async fn unknown_emails_wait_as_long_as_an_imported_hash_takes() {
    let store = MemoryStore::new();
    let hasher = cheap_hasher();
    let auth = builder(&store)
        .password_hasher(hasher.clone())
        .build()
        .unwrap();
    let (_, _, hash) = fixtures("bcrypt.json").remove(2);
    assert!(hash.starts_with("$2a$10$"), "{hash}");
    auth.import_user(ImportedUser {
        email: "legacy@example.com".into(),
        name: None,
        password_hash: PasswordHash::import(&hash).unwrap(),
        email_verified: true,
    })
    .await
    .unwrap();
    let unknown = sign_in_request("nobody@example.com", "a password");
    let _ = auth.sign_in(unknown.clone()).await;
    let argon_only = hasher.verification_floor();

    // A wrong password against the imported row: bcrypt at cost 10.
    let wrong = auth
        .sign_in(sign_in_request("legacy@example.com", "a password"))
        .await;
    assert!(matches!(wrong, Err(AuthError::InvalidCredentials)));
    let floor = hasher.verification_floor();
    assert!(
        floor > argon_only,
        "{floor:?} after bcrypt, {argon_only:?} before"
    );

    // The unknown address now costs at least what the bcrypt check did
    // (a lower bound the hasher guarantees by sleeping, not a speed claim).
    let started = std::time::Instant::now();
    let result = auth.sign_in(unknown).await;
    assert!(matches!(result, Err(AuthError::InvalidCredentials)));
    assert!(
        started.elapsed() >= floor,
        "{:?} < {floor:?}",
        started.elapsed()
    );
}
