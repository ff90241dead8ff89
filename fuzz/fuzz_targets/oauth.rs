//! OAuth's inputs from the network, through the endpoint list as the
//! adapters run them: `authorize`'s query (`redirect_to`), the callback's
//! query, and the exchange body. The first byte picks which.
//!
//! Checked: never a 5xx; `authorize` sends the browser only to the
//! provider or to an allowed origin (no open redirect); a callback never
//! signs anyone in without the provider (the provider here is a closed
//! loopback port), and ends at the pending `redirect_to` or the public
//! URL; an exchange code the service never issued is refused.
#![no_main]

use std::sync::OnceLock;

use auth_core::{
    AuthService, MemoryStore,
    endpoint::{self, Method, Reply, Request},
    service::{ClientSecret, OAuth, OAuthProvider},
};
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;

const PUBLIC: &str = "https://tasks.example.com";
/// Nothing listens there: a callback that gets that far fails at once.
const PROVIDER: &str = "http://127.0.0.1:1";

fn service() -> &'static AuthService {
    static SERVICE: OnceLock<AuthService> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let _guard = runtime().enter();
        AuthService::with_store(MemoryStore::new())
            .token_codec(single_key_codec())
            .oauth(OAuth::new(PUBLIC).provider(
                OAuthProvider::github("client", ClientSecret::new("secret")).github_endpoints(
                    format!("{PROVIDER}/authorize"),
                    format!("{PROVIDER}/token"),
                    PROVIDER,
                ),
            ))
            .build()
            .unwrap()
    })
}

async fn call(method: Method, path: &str, request: Request, body: &[u8]) -> Reply {
    let auth = service();
    let route = endpoint::find(method, path).unwrap();
    let reply = match route.prepare(auth, request).await {
        Ok(call) => call.run(auth, body.to_vec()).await,
        Err(reply) => reply,
    };
    assert!(reply.status() < 500, "{path} answered {}", reply.status());
    reply
}

fn location(reply: &Reply) -> &str {
    reply
        .headers()
        .iter()
        .find(|(name, _)| *name == "location")
        .map(|(_, value)| value.as_str())
        .unwrap()
}

fn cookie(reply: &Reply) -> Option<String> {
    reply
        .headers()
        .iter()
        .find(|(name, _)| *name == "set-cookie")
        .and_then(|(_, value)| value.split(';').next())
        .map(str::to_owned)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    runtime().block_on(async {
        match mode % 3 {
            0 => {
                let request = Request::new(None).path_param("github").query(&text);
                let reply = call(Method::Get, "/oauth/{provider}/authorize", request, b"").await;
                if reply.status() == 302 {
                    let to = location(&reply);
                    assert!(
                        to.starts_with(&format!("{PROVIDER}/authorize?"))
                            || to.starts_with(&format!("{PUBLIC}/")),
                        "authorize sent the browser to {to}"
                    );
                } else {
                    assert_eq!(reply.status(), 400);
                }
            }
            1 => {
                // A real pending sign-in; `STATE` in the input stands for its state.
                let start = call(
                    Method::Get,
                    "/oauth/{provider}/authorize",
                    Request::new(None).path_param("github"),
                    b"",
                )
                .await;
                let state = location(&start)
                    .split("state=")
                    .nth(1)
                    .and_then(|rest| rest.split('&').next())
                    .unwrap()
                    .to_owned();
                let query = text.replace("STATE", &state);
                let mut request = Request::new(None).path_param("github").query(&query);
                if let Some(cookie) = cookie(&start) {
                    request = request.header("cookie", cookie.as_bytes());
                }
                let reply = call(Method::Get, "/oauth/{provider}/callback", request, b"").await;
                assert_eq!(reply.status(), 302);
                let to = location(&reply);
                assert!(
                    to.starts_with(&format!("{PUBLIC}/#error=")),
                    "callback ended at {to}"
                );
            }
            _ => {
                let request = Request::new(None).header("content-type", b"application/json");
                let reply = call(Method::Post, "/oauth/exchange", request, rest).await;
                assert!(
                    matches!(reply.status(), 400 | 415),
                    "exchange answered {}",
                    reply.status()
                );
            }
        }
    });
});
