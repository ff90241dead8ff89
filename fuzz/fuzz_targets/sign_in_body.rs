//! `POST /api/auth/sign-in`: the body as the adapters parse it, then
//! through `AuthService::sign_in` against a store with one account.
#![no_main]

use auth_core::{AuthError, Email, SignInRequest, http::parse_json};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let request = match parse_json::<SignInRequest>(JSON, data) {
        Ok(request) => request,
        Err(problem) => return check_parse_error(&problem),
    };
    runtime().block_on(async {
        let (service, _) = fresh_service().await;
        let right = request.password.expose_secret() == USER_PASSWORD
            && Email::parse(&request.email).is_ok_and(|email| email.as_str() == USER_EMAIL);
        match service.sign_in(request).await {
            Ok(outcome) => {
                assert!(right, "signed in with the wrong credentials");
                // No second factor is registered: every sign-in completes.
                let response = outcome.signed_in().expect("a complete sign-in");
                assert_eq!(response.user.email.as_str(), USER_EMAIL);
            }
            // One error for every wrong email or password: nothing tells
            // which part was wrong.
            Err(AuthError::InvalidCredentials) => {}
            Err(err) => panic!("sign-in answered {err:?}"),
        }
    });
});
