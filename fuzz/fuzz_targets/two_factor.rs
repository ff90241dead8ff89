//! Two-factor's bodies from the network, through the endpoint list as the
//! adapters run them, against one user with TOTP on: `two-factor/verify`
//! (`CHALLENGE` in the input stands for a live challenge of that user),
//! `two-factor/enable` and `two-factor/setup` with the user's access
//! token. The first byte picks which.
//!
//! Checked: never a 5xx; a verify signs in only with one of the user's
//! codes (a TOTP code within one step, or a backup code), spaces and
//! dashes aside; enable never turns on a setup that does not exist; setup
//! answers 200 only for the right password.
#![no_main]

use std::sync::{
    Mutex, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use auth_core::{
    AuthService, EncryptionKey, MemoryStore, Password, SignIn, SignUpRequest,
    clock::ManualClock,
    endpoint::{self, Method, Reply, Request},
    service::TwoFactor,
};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;
use totp_rs::{Algorithm, Builder, Secret, Totp};

struct Fixture {
    auth: AuthService,
    user: auth_core::UserId,
    bearer: String,
    totp: Totp,
    backup_codes: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        runtime().block_on(async {
            let store = MemoryStore::new();
            let auth = AuthService::with_store(store)
                .token_codec(single_key_codec())
                .password_hasher(small_hasher())
                .clock(ManualClock::new(now()))
                .sign_in_throttle(None)
                .client_rate_limit(None)
                .two_factor(TwoFactor::new("Fuzz", EncryptionKey::from_bytes([7; 32])))
                .build()
                .unwrap();
            let session = auth
                .sign_up(SignUpRequest {
                    email: USER_EMAIL.into(),
                    password: Password::new(USER_PASSWORD),
                    name: None,
                })
                .await
                .and_then(auth_core::SignUp::signed_in)
                .unwrap();
            let bearer = format!("Bearer {}", session.access_token.expose_secret());
            auth.mark_email_verified(&session.user.id, &session.user.email)
                .await
                .unwrap();
            let principal = auth
                .authenticate(session.access_token.expose_secret())
                .await
                .unwrap();
            let setup = auth
                .setup_two_factor(&principal, Some(&Password::new(USER_PASSWORD)))
                .await
                .unwrap();
            let totp = Builder::new()
                .with_algorithm(Algorithm::SHA1)
                .with_digits(6)
                .with_skew(1)
                .with_step_duration(30)
                .with_secret(Secret::try_from_base32(setup.secret.expose_secret()).unwrap())
                .build()
                .unwrap();
            // The step before now, so that now's and the next stay usable.
            let unix = u64::try_from(NOW).unwrap() - 30;
            auth.enable_two_factor(&principal, &totp.generate(unix).to_string())
                .await
                .unwrap();
            Fixture {
                auth,
                user: session.user.id,
                bearer,
                totp,
                backup_codes: setup
                    .backup_codes
                    .iter()
                    .map(|code| digits(code.expose_secret()))
                    .collect(),
            }
        })
    })
}

/// Whether some input's setup answered 200 (then a pending setup exists).
static SET_UP: AtomicBool = AtomicBool::new(false);

/// The live challenge the verify inputs share until it is used up (a
/// right code, or 5 wrong ones): a fresh one per input would pile up in
/// the store, since the fixture's clock never lets them expire.
static CHALLENGE: Mutex<Option<String>> = Mutex::new(None);

async fn live_challenge() -> String {
    if let Some(token) = CHALLENGE.lock().unwrap().clone() {
        return token;
    }
    let fixture = fixture();
    let SignIn::SecondFactorRequired(challenge) =
        fixture.auth.finish_sign_in(&fixture.user).await.unwrap()
    else {
        panic!("two-factor is on")
    };
    let token = challenge.challenge_token.expose_secret().to_owned();
    *CHALLENGE.lock().unwrap() = Some(token.clone());
    token
}

fn digits(code: &str) -> String {
    code.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
}

async fn call(path: &str, request: Request, body: &[u8]) -> Reply {
    let auth = &fixture().auth;
    let route = endpoint::find(Method::Post, path).unwrap();
    let request = request.header("content-type", b"application/json");
    let reply = match route.prepare(auth, request).await {
        Ok(call) => call.run(auth, body.to_vec()).await,
        Err(reply) => reply,
    };
    assert!(reply.status() < 500, "{path} answered {}", reply.status());
    reply
}

/// The `code` of a problem+json reply.
fn problem_code(reply: &Reply) -> Option<String> {
    let body: serde_json::Value = serde_json::from_slice(reply.body()).ok()?;
    body["code"].as_str().map(str::to_owned)
}

/// Whether `typed` is one of the user's codes for `field`.
fn is_a_right_code(field: &str, typed: &str) -> bool {
    let fixture = fixture();
    let typed = digits(typed);
    let unix = u64::try_from(NOW).unwrap();
    match field {
        "code" => [unix - 30, unix, unix + 30]
            .iter()
            .any(|at| fixture.totp.generate(*at).to_string() == typed),
        _ => fixture.backup_codes.contains(&typed),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    runtime().block_on(async {
        match mode % 3 {
            0 => {
                let token = live_challenge().await;
                let body = String::from_utf8_lossy(rest).replace("CHALLENGE", &token);
                let reply = call("/two-factor/verify", Request::new(None), body.as_bytes()).await;
                if body.contains(&token) && matches!(reply.status(), 200 | 401) {
                    // Possibly used up: ask whether it still takes tries.
                    let probe = format!(r#"{{"challenge_token":"{token}","code":"x"}}"#);
                    let again =
                        call("/two-factor/verify", Request::new(None), probe.as_bytes()).await;
                    if problem_code(&again) == Some("invalid_token".to_owned()) {
                        *CHALLENGE.lock().unwrap() = None;
                    }
                }
                if reply.status() == 200 {
                    let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
                    let right = ["code", "backup_code"].iter().any(|field| {
                        parsed[*field]
                            .as_str()
                            .is_some_and(|typed| is_a_right_code(field, typed))
                    });
                    assert!(right, "verify signed in with {body:?}");
                } else {
                    assert!(
                        matches!(reply.status(), 400 | 401 | 413 | 415 | 422),
                        "verify answered {}",
                        reply.status()
                    );
                }
            }
            1 => {
                let request = Request::new(None).header("authorization", fixture.bearer.as_bytes());
                let reply = call("/two-factor/enable", request, rest).await;
                let pending = SET_UP.load(Ordering::SeqCst);
                assert!(
                    matches!(reply.status(), 400 | 413 | 415 | 422)
                        || (reply.status() == 204 && pending),
                    "enable answered {}",
                    reply.status()
                );
            }
            _ => {
                let request = Request::new(None).header("authorization", fixture.bearer.as_bytes());
                let reply = call("/two-factor/setup", request, rest).await;
                if reply.status() == 200 {
                    let parsed: serde_json::Value = serde_json::from_slice(rest).unwrap();
                    assert_eq!(parsed["password"].as_str(), Some(USER_PASSWORD));
                    SET_UP.store(true, Ordering::SeqCst);
                } else {
                    assert!(
                        matches!(reply.status(), 400 | 403 | 413 | 415 | 422),
                        "setup answered {}",
                        reply.status()
                    );
                }
            }
        }
    });
});
