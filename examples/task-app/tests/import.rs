//! `import-users`: accounts with bcrypt and Better Auth hashes (auth-core's
//! fixtures, made by the real tools) are imported line by line into a
//! SQLite database, bad lines are reported without stopping the import or
//! showing a hash, and the imported users can sign in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::{AuthError, Password, SignInRequest};
use task_app::import::import_lines;

fn first_fixture(file: &str) -> (String, String) {
    let path = format!(
        "{}/../../auth-core/tests/fixtures/legacy/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let first = &json["hashes"][0];
    (
        first["password"].as_str().unwrap().to_owned(),
        first["hash"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn import_users_reports_each_line_and_the_users_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let app = common::sqlite_app(&dir.path().join("import.db")).await;
    let (bcrypt_password, bcrypt_hash) = first_fixture("bcrypt.json");
    let (scrypt_password, scrypt_hash) = first_fixture("better-auth.json");
    let bad_cost = format!("$2b$31${}", &bcrypt_hash[7..]);
    let input = [
        serde_json::json!({"email": "Ada@Example.com", "name": "Ada", "password_hash": bcrypt_hash, "email_verified": true}).to_string(),
        String::new(),
        serde_json::json!({"email": "bob@example.com", "password_hash": scrypt_hash}).to_string(),
        serde_json::json!({"email": "ada@example.com", "password_hash": bcrypt_hash}).to_string(),
        serde_json::json!({"email": "cy@example.com", "password_hash": bad_cost}).to_string(),
        format!(r#"{{"email": "dee@example.com", "password_hash": ["{scrypt_hash}"]}}"#),
        serde_json::json!({"email": "eve@example.com", "password_hash": bcrypt_hash, "role": "admin"}).to_string(),
        "not json".to_owned(),
    ]
    .join("\n");
    let mut report = Vec::new();
    let summary = import_lines(&app, input.as_bytes(), &mut report)
        .await
        .unwrap();
    let report = String::from_utf8(report).unwrap();
    assert_eq!((summary.imported, summary.failed), (2, 5), "{report}");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 7, "{report}");
    assert_eq!(lines[0], "line 1: imported ada@example.com");
    assert_eq!(lines[1], "line 3: imported bob@example.com");
    assert!(
        lines[2].starts_with("line 4: not imported: email_taken"),
        "{report}"
    );
    assert!(lines[3].starts_with("line 5: not imported:") && lines[3].contains("cost 31"));
    for (line, number) in lines[4..].iter().zip(6..) {
        assert!(
            line.starts_with(&format!("line {number}: not imported:")),
            "{report}"
        );
    }
    for secret in [&bcrypt_hash[7..], &scrypt_hash[..32], &scrypt_hash[33..]] {
        assert!(!report.contains(secret), "a hash in the report: {report}");
    }

    for (email, password) in [
        ("ada@example.com", &bcrypt_password),
        ("bob@example.com", &scrypt_password),
    ] {
        let sign_in = |password: &str| {
            app.auth().unwrap().sign_in(SignInRequest {
                email: email.into(),
                password: Password::new(password),
            })
        };
        assert!(matches!(
            sign_in("wrong password").await,
            Err(AuthError::InvalidCredentials)
        ));
        sign_in(password).await.unwrap();
        // The second sign-in checks the Argon2id hash that replaced it.
        sign_in(password).await.unwrap();
    }
}
