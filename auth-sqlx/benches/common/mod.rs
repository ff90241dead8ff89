//! What the store benches share: a service with a cheap hasher, and a
//! signed-up user.

use auth_core::{
    AuthResponse, AuthService, JwtCodec, Password, SignUpRequest,
    password::{Argon2Hasher, Argon2Params},
    store::{SessionStore, UserStore},
};
use tokio::runtime::Runtime;

/// A hasher that costs next to nothing, so that a bench times the store
/// and the tokens.
#[allow(dead_code)] // Not every bench uses every helper.
pub(crate) fn cheap_hasher() -> Argon2Hasher {
    Argon2Hasher::new(
        Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        1,
    )
    .unwrap()
}

/// The HS256 codec of the benches.
#[allow(dead_code)]
pub(crate) fn codec() -> JwtCodec {
    JwtCodec::hs256(b"bench-secret-of-at-least-32-bytes", "iss", "aud").unwrap()
}

/// A service over `store` with the [`cheap_hasher`].
#[allow(dead_code)]
pub(crate) fn service<S: UserStore + SessionStore + Clone>(store: S) -> AuthService {
    AuthService::builder(store.clone(), store)
        .token_codec(codec())
        .password_hasher(cheap_hasher())
        .build()
        .unwrap()
}

/// A user signed up on `auth`, with their first tokens.
#[allow(dead_code)]
pub(crate) fn signed_up(runtime: &Runtime, auth: &AuthService) -> AuthResponse {
    runtime.block_on(async {
        auth.sign_up(SignUpRequest {
            email: "bench@example.com".into(),
            password: Password::new("correct horse battery staple"),
            name: None,
        })
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap()
    })
}
