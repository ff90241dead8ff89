//! Passkey bodies from the network, through the endpoint list as the
//! adapters run them: `passkeys/sign-in` and, with the user's access
//! token, `passkeys/register`. The first byte picks which. In the rest,
//! `CHALLENGE` stands for a fresh challenge id and `CREDENTIAL` for a
//! genuine answer to it from the test authenticator, so that mutations
//! land around a real credential as well as in random JSON.
//!
//! Checked: never a 5xx; a sign-in succeeds, and a registration too, only
//! when the signed bytes (`clientDataJSON`, `authenticatorData` and the
//! signature, or the attestation object) are the genuine ones.
#![no_main]

use std::sync::{Mutex, OnceLock};

use auth_core::{
    AuthService, MemoryStore, Password, SignUpRequest,
    clock::ManualClock,
    endpoint::{self, Method, Reply, Request},
    service::Passkeys,
    testing::SoftAuthenticator,
};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://example.com";

struct Fixture {
    auth: AuthService,
    user: auth_core::UserId,
    bearer: String,
    /// The user's registered passkey.
    authenticator: Mutex<SoftAuthenticator>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        runtime().block_on(async {
            let store = MemoryStore::new();
            let auth = AuthService::builder(store.clone(), store.clone())
                .token_codec(single_key_codec())
                .password_hasher(small_hasher())
                .clock(ManualClock::new(now()))
                .credentials(store)
                .client_rate_limit(None)
                .passkeys(Passkeys::new(RP_ID, [ORIGIN]))
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
            auth.mark_email_verified(&session.user.id, &session.user.email)
                .await
                .unwrap();
            let principal = auth
                .authenticate(session.access_token.expose_secret())
                .await
                .unwrap();
            let mut authenticator = SoftAuthenticator::new(RP_ID, ORIGIN);
            let options = auth.passkey_registration_options(&principal).await.unwrap();
            let created = authenticator.create(&options.options);
            auth.register_passkey(
                &principal,
                &options.challenge_id,
                &serde_json::from_value(created).unwrap(),
                None,
            )
            .await
            .unwrap();
            Fixture {
                auth,
                user: session.user.id,
                bearer: format!("Bearer {}", session.access_token.expose_secret()),
                authenticator: Mutex::new(authenticator),
            }
        })
    })
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

/// Whether `body`'s credential carries `genuine`'s bytes at each of
/// `fields` (under `response`), compared after base64url decoding.
fn carries(body: &str, genuine: &Value, fields: &[&str]) -> bool {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let Ok(sent) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    let bytes = |value: &Value| {
        value
            .as_str()
            .and_then(|text| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok())
    };
    fields.iter().all(|field| {
        let sent = bytes(&sent["credential"]["response"][*field]);
        sent.is_some() && sent == bytes(&genuine["response"][*field])
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let text = String::from_utf8_lossy(rest);
    runtime().block_on(async {
        if mode % 2 == 0 {
            let options = fixture.auth.passkey_sign_in_options().await.unwrap();
            let genuine = fixture.authenticator.lock().unwrap().get(&options.options);
            let body = text
                .replace("CHALLENGE", &options.challenge_id)
                .replace("CREDENTIAL", &genuine.to_string());
            let reply = call("/passkeys/sign-in", Request::new(None), body.as_bytes()).await;
            if reply.status() == 200 {
                let fields = ["clientDataJSON", "authenticatorData", "signature"];
                assert!(carries(&body, &genuine, &fields), "signed in with {body:?}");
            } else {
                assert!(
                    matches!(reply.status(), 400 | 401 | 413 | 415 | 422),
                    "sign-in answered {}",
                    reply.status()
                );
            }
        } else {
            let principal = fixture.auth.authenticate(&fixture.bearer[7..]).await.unwrap();
            let options = fixture
                .auth
                .passkey_registration_options(&principal)
                .await
                .unwrap();
            let genuine = SoftAuthenticator::new(RP_ID, ORIGIN).create(&options.options);
            let body = text
                .replace("CHALLENGE", &options.challenge_id)
                .replace("CREDENTIAL", &genuine.to_string());
            let request = Request::new(None).header("authorization", fixture.bearer.as_bytes());
            let reply = call("/passkeys/register", request, body.as_bytes()).await;
            if reply.status() == 201 {
                let fields = ["clientDataJSON", "attestationObject"];
                assert!(carries(&body, &genuine, &fields), "registered {body:?}");
                // Keep the exclude list short: forget it again.
                let info: Value = serde_json::from_slice(reply.body()).unwrap();
                fixture
                    .auth
                    .delete_passkey(&fixture.user, info["id"].as_str().unwrap())
                    .await
                    .unwrap();
            } else {
                assert!(
                    matches!(reply.status(), 400 | 401 | 413 | 415 | 422),
                    "register answered {}",
                    reply.status()
                );
            }
        }
    });
});
