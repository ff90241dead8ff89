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
