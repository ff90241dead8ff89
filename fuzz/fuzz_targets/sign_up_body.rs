//! `POST /api/auth/sign-up`: the body as the adapters parse it
//! (`auth_core::http::parse_json`), then through `AuthService::sign_up`.
#![no_main]

use auth_core::{SignUpRequest, http::parse_json};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let request = match parse_json::<SignUpRequest>(JSON, data) {
        Ok(request) => request,
        Err(problem) => return check_parse_error(&problem),
    };
    runtime().block_on(async {
        let (service, _) = fresh_service().await;
        match service
            .sign_up(request.clone())
            .await
            .and_then(auth_core::SignUp::signed_in)
        {
            Ok(response) => {
                assert_eq!(
                    response.user.email.as_str(),
                    request.email.trim().to_lowercase(),
                    "sign-up stored another email than it was given"
                );
                let principal = service
                    .authenticate(response.access_token.expose_secret())
                    .await
                    .expect("a fresh access token authenticates");
                assert_eq!(principal.user_id(), &response.user.id);
            }
            Err(err) => check_client_error(&err),
        }
    });
});
