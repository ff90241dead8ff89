//! RemoteJwks configuration checks (the loopback-server tests are still to come).

use auth_core::{AuthError, RemoteJwks};

#[test]
fn http_needs_the_loopback_opt_in_and_a_loopback_host() {
    let build = |url: &str, allow: bool| {
        RemoteJwks::builder(url)
            .issuer("i")
            .audience("a")
            .allow_http_loopback(allow)
            .build()
    };
    assert!(matches!(
        build("http://127.0.0.1:9/jwks", false),
        Err(AuthError::InvalidConfig(_))
    ));
    assert!(build("http://127.0.0.1:9/jwks", true).is_ok());
    assert!(build("http://localhost:9/jwks", true).is_ok());
    assert!(build("http://[::1]:9/jwks", true).is_ok());
    assert!(matches!(
        build("http://example.com/jwks", true),
        Err(AuthError::InvalidConfig(_))
    ));
    assert!(build("https://example.com/jwks", false).is_ok());
}
