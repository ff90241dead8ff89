use std::collections::BTreeSet;

use super::*;

#[test]
fn routes_are_listed_once_under_the_prefix() {
    let mut seen = BTreeSet::new();
    for endpoint in endpoints() {
        assert!(endpoint.path().starts_with('/'), "{endpoint:?}");
        assert!(
            seen.insert((endpoint.method(), endpoint.path())),
            "listed twice: {endpoint:?}"
        );
        if endpoint.body() == BodyRule::JsonUnlessHeld {
            // Held means a session or the cookie: a route with neither
            // would always want JSON.
            assert!(endpoint.needs() != Needs::Nothing || endpoint.uses_cookie());
        }
    }
    assert!(find(Method::Post, "/sign-in").is_some());
    assert!(find(Method::Get, "/sign-in").is_none());
}

/// Each entry's OpenAPI stub declares the entry's own method and path, so
/// the document cannot describe a route under another name.
#[cfg(feature = "openapi")]
#[test]
fn each_operation_is_declared_for_its_route() {
    for endpoint in endpoints() {
        let (methods, path, _, _) = (endpoint.operation)();
        assert_eq!(path, endpoint.path(), "{endpoint:?}");
        assert!(
            methods == [crate::openapi::http_method(endpoint.method())],
            "{endpoint:?}"
        );
    }
}

/// Each entry brings the named schemas its operation refers to that the
/// shared document lacks (`schemas:` in `endpoint!`), so that no feature's
/// document can miss one.
#[cfg(feature = "openapi")]
#[test]
fn each_operation_brings_the_schemas_it_refers_to() {
    use utoipa::OpenApi;
    fn refs(value: &serde_json::Value, found: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    found.insert(
                        target
                            .trim_start_matches("#/components/schemas/")
                            .to_owned(),
                    );
                }
                map.values().for_each(|value| refs(value, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|value| refs(value, found)),
            _ => {}
        }
    }
    let shared = crate::openapi::Shared::openapi()
        .components
        .unwrap_or_default();
    for endpoint in endpoints() {
        let own = endpoint.schemas();
        let mut wanted = BTreeSet::new();
        refs(
            &serde_json::to_value(endpoint.operation()).unwrap(),
            &mut wanted,
        );
        for (_, schema) in &own {
            refs(&serde_json::to_value(schema).unwrap(), &mut wanted);
        }
        for name in wanted {
            assert!(
                shared.schemas.contains_key(&name) || own.iter().any(|(own, _)| *own == name),
                "{endpoint:?} refers to `{name}` without bringing it"
            );
        }
    }
}

/// The route table of the module docs (`routes.md`), as [`endpoints()`]
/// lists the routes.
#[cfg(all(
    feature = "oauth",
    feature = "two-factor",
    feature = "passkeys",
    feature = "api-keys"
))]
fn route_table() -> String {
    use std::fmt::Write;
    let mut table =
        String::from("| method | path | needs | setup | feature |\n|---|---|---|---|---|\n");
    for endpoint in endpoints() {
        let feature = endpoint
            .setup()
            .feature()
            .map_or_else(String::new, |feature| format!("`{feature}`"));
        let _ = writeln!(
            table,
            "| `{}` | `{}` | {:?} | {:?} | {feature} |",
            endpoint.method().as_str(),
            endpoint.path(),
            endpoint.needs(),
            endpoint.setup(),
        );
    }
    table
}

/// The docs' table is the list's: a route added, or its setup changed,
/// without the table fails here. With `AUTH_WRITE_ROUTE_TABLE=1` the test
/// writes the table instead.
#[cfg(all(
    feature = "oauth",
    feature = "two-factor",
    feature = "passkeys",
    feature = "api-keys"
))]
#[test]
fn the_route_table_in_the_docs_is_the_endpoint_list() {
    let table = route_table();
    if std::env::var_os("AUTH_WRITE_ROUTE_TABLE").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/endpoint/routes.md");
        std::fs::write(path, &table).unwrap();
        return;
    }
    assert!(
        table == include_str!("routes.md"),
        "auth-core/src/endpoint/routes.md is not the endpoint list's table; \
         rewrite it with `AUTH_WRITE_ROUTE_TABLE=1 cargo test -p auth-core \
         --all-features the_route_table_in_the_docs`.\nExpected:\n{table}"
    );
}

/// The routes that need a part of the service answer 404 on a service
/// without it, as their `setup` says (those of the cargo features have
/// tests of their own beside each part).
#[tokio::test]
async fn routes_without_their_setup_answer_404() {
    let store = crate::MemoryStore::new();
    let auth = AuthService::with_store(store)
        .token_codec(
            crate::JwtCodec::hs256(b"an example secret of 32+ bytes!!", "api", "app").unwrap(),
        )
        .build()
        .unwrap();
    let bodies: [(&str, &[u8]); 7] = [
        ("/jwks", b""),
        (
            "/request-password-reset",
            br#"{"email": "ada@example.com"}"#,
        ),
        (
            "/reset-password",
            br#"{"token": "x", "new_password": "a new passphrase of mine"}"#,
        ),
        (
            "/send-verification-email",
            br#"{"email": "ada@example.com"}"#,
        ),
        ("/verify-email", br#"{"token": "x"}"#),
        ("/email-sign-in", br#"{"email": "ada@example.com"}"#),
        ("/email-sign-in/verify", br#"{"token": "x"}"#),
    ];
    // Left out: `POST /change-email`, which a signed-in user calls.
    let unsigned = |endpoint: &&Endpoint| {
        endpoint.setup().feature().is_none() && endpoint.needs() != Needs::Session
    };
    for endpoint in endpoints().filter(unsigned) {
        let body = bodies.iter().find(|(path, _)| *path == endpoint.path());
        assert_eq!(
            body.is_some(),
            endpoint.setup() != Setup::None,
            "{endpoint:?}"
        );
        let Some((_, body)) = body else { continue };
        let request = Request::new(None).header("content-type", b"application/json");
        let call = endpoint.prepare(&auth, request).await.unwrap();
        let reply = call.run(&auth, body.to_vec()).await;
        assert_eq!(reply.status(), 404, "{endpoint:?}");
    }
}
