//! The per-client limit and the trusted-proxy rules that say who the client is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{net::IpAddr, time::Duration};

use auth_core::{
    AuthError,
    client_ip::{ForwardedHeader, TrustedProxies},
    limits::ClientRateLimit,
};
use common::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn resolve(proxies: &TrustedProxies, peer: &str, values: &[&str]) -> Option<IpAddr> {
    proxies.client_ip(Some(ip(peer)), values.iter().map(|value| value.as_bytes()))
}

#[test]
fn a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
    assert_eq!(
        resolve(&proxies, "203.0.113.5", &["198.51.100.1"]),
        Some(ip("203.0.113.5"))
    );
    // Nothing is trusted by default.
    assert_eq!(
        resolve(&TrustedProxies::none(), "127.0.0.1", &["198.51.100.1"]),
        Some(ip("127.0.0.1"))
    );
}

#[test]
fn the_right_most_untrusted_hop_is_the_client() {
    let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.10").unwrap();
    // The client put "1.1.1.1" in itself; the proxies appended the rest.
    assert_eq!(
        resolve(
            &proxies,
            "10.0.0.2",
            &["1.1.1.1, 198.51.100.7", "192.0.2.10,10.0.0.1"]
        ),
        Some(ip("198.51.100.7"))
    );
    // Every hop trusted: the left-most.
    assert_eq!(
        resolve(&proxies, "10.0.0.2", &["10.9.9.9, 10.0.0.1"]),
        Some(ip("10.9.9.9"))
    );
    // No header from a trusted proxy: the proxy itself.
    assert_eq!(resolve(&proxies, "10.0.0.2", &[]), Some(ip("10.0.0.2")));
    // Ports and brackets, as some proxies write them.
    assert_eq!(
        resolve(
            &proxies,
            "10.0.0.2",
            &["[2001:db8::7]:443, 198.51.100.8:5000"]
        ),
        Some(ip("198.51.100.8"))
    );
    assert_eq!(proxies.client_ip(None, [b"198.51.100.7".as_slice()]), None);
}

#[test]
fn forwarded_with_quoted_ipv6_and_ports() {
    let proxies = TrustedProxies::parse("::1, 10.0.0.0/8")
        .unwrap()
        .header(ForwardedHeader::Forwarded);
    assert_eq!(
        proxies.forwarded_header().map(ForwardedHeader::name),
        Some("forwarded")
    );
    assert_eq!(
        resolve(
            &proxies,
            "::1",
            &[r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#]
        ),
        Some(ip("2001:db8:cafe::17"))
    );
    assert_eq!(
        resolve(
            &proxies,
            "::1",
            &[r#"for="10.0.0.9:80", proto=https;for=192.0.2.43"#]
        ),
        Some(ip("192.0.2.43"))
    );
    // X-Forwarded-For is not read when Forwarded is configured.
    let xff = TrustedProxies::parse("::1").unwrap();
    assert_eq!(
        resolve(&xff, "::1", &[r#"for="[2001:db8:cafe::17]""#]),
        Some(ip("::1"))
    );
}

#[test]
fn garbage_headers_fall_back_to_the_proxy_and_never_panic() {
    let xff = TrustedProxies::parse("10.0.0.0/8").unwrap();
    let forwarded = xff.clone().header(ForwardedHeader::Forwarded);
    let garbage = [
        "",
        ",,,",
        "unknown",
        "for=",
        "for=\"",
        "[",
        "[]:",
        "[::1",
        "999.1.1.1",
        "for=_hidden;for=;;;==",
        "🦀, ,\u{0}",
        "1.2.3.4:99999999999999999999",
        &"9".repeat(10_000),
    ];
    for value in garbage {
        for proxies in [&xff, &forwarded] {
            assert_eq!(
                resolve(proxies, "10.0.0.2", &[value]),
                Some(ip("10.0.0.2")),
                "{value:?}"
            );
        }
    }
    let not_utf8: &[u8] = b"\xff\xfe198.51.100.1";
    assert_eq!(
        xff.client_ip(Some(ip("10.0.0.2")), [not_utf8]),
        Some(ip("10.0.0.2"))
    );
}

#[tokio::test]
async fn each_client_has_its_own_budget() {
    let store = auth_core::MemoryStore::new();
    let clock = clock();
    let auth = builder(&store)
        .clock(clock.clone())
        .client_rate_limit(Some(ClientRateLimit::new(3, Duration::from_secs(60))))
        .build()
        .unwrap();
    let client = Some(ip("192.0.2.1"));
    for _ in 0..3 {
        auth.admit_client(client).await.unwrap();
    }
    let refused = auth.admit_client(client).await;
    let Err(AuthError::TooManyAttempts { retry_after }) = refused else {
        panic!("{refused:?}");
    };
    assert!((1..=60).contains(&retry_after.as_secs()));
    auth.admit_client(Some(ip("192.0.2.2"))).await.unwrap();
    // IPv6 clients are counted per /64.
    for n in 0..3 {
        auth.admit_client(Some(ip(&format!("2001:db8:0:1::{n}"))))
            .await
            .unwrap();
    }
    assert!(
        auth.admit_client(Some(ip("2001:db8:0:1::99")))
            .await
            .is_err()
    );
    // Without a peer address: not limited per client (a shared budget
    // would let anyone lock everyone out).
    for _ in 0..10 {
        auth.admit_client(None).await.unwrap();
    }
    clock.advance(time::Duration::seconds(60));
    auth.admit_client(client).await.unwrap();

    let unlimited = builder(&store).client_rate_limit(None).build().unwrap();
    for _ in 0..100 {
        unlimited.admit_client(client).await.unwrap();
    }
}

/// `resolve`, the adapters' entry point, reads the named header only for a
/// trusted peer, and agrees with `client_ip`.
#[test]
fn resolve_reads_the_configured_header_only_for_trusted_peers() {
    let proxies = TrustedProxies::parse("10.0.0.0/8")
        .unwrap()
        .header(ForwardedHeader::Forwarded);
    let mut asked = Vec::new();
    let from_proxy = proxies.resolve(Some(ip("10.1.2.3")), |name| {
        asked.push(name);
        [b"for=198.51.100.7".as_slice()]
    });
    assert_eq!(from_proxy, Some(ip("198.51.100.7")));
    assert_eq!(asked, ["forwarded"]);
    let direct = proxies.resolve(Some(ip("203.0.113.5")), |_| -> [&[u8]; 0] {
        panic!("the header was read for an untrusted peer")
    });
    assert_eq!(direct, Some(ip("203.0.113.5")));
    assert_eq!(proxies.resolve(None, |_| [b"for=1.2.3.4".as_slice()]), None);
}
