//! `POST /api/auth/refresh`: the body as the adapters parse it, then
//! through `AuthService::refresh` against a store with one live session.
#![no_main]

use auth_core::{AuthError, RefreshRequest, http::parse_json};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let request = match parse_json::<RefreshRequest>(JSON, data) {
        Ok(request) => request,
        Err(problem) => return check_parse_error(&problem),
    };
    runtime().block_on(async {
        let (service, live) = fresh_service().await;
        match service.refresh(&request.refresh_token).await {
            Ok(_) => assert_eq!(request.refresh_token, live, "refreshed with another token"),
            Err(AuthError::InvalidRefreshToken) => {}
            Err(err) => panic!("refresh answered {err:?}"),
        }
        // Whatever was presented, the real token still works once.
        if request.refresh_token != live {
            service
                .refresh(&live)
                .await
                .expect("the live token still refreshes");
        }
    });
});
