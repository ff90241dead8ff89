//! Who the client is, for the per-client rate limit: the peer address, or
//! what a trusted proxy says in `X-Forwarded-For` / `Forwarded`.
//!
//! A forwarding header is believed only when the peer that sent it is in
//! [`TrustedProxies`]; then the header's hops are read from the right
//! (each proxy appends the address it saw) and the first hop that is not
//! a trusted proxy is the client. Hops further left were written by the
//! client itself and could say anything.

use std::{
    net::{IpAddr, Ipv6Addr},
    str::FromStr,
};

use ipnet::IpNet;

use crate::AuthError;

/// Which header the trusted proxies write.
///
/// Only one is read: a proxy that appends to `X-Forwarded-For` passes a
/// client's own `Forwarded` header through untouched, so reading both
/// would let the client choose its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most
    /// cloud load balancers). The default.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:443"`.
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name, lower case.
    pub const fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// The proxies whose forwarding header is believed, and which header that
/// is. The default trusts none: the client is the peer address.
///
/// ```
/// use std::net::IpAddr;
/// use auth_core::client_ip::TrustedProxies;
///
/// let proxies = TrustedProxies::parse("10.0.0.0/8, ::1")?;
/// let peer: IpAddr = "10.1.2.3".parse()?;
/// let header: &[u8] = b"198.51.100.7, 203.0.113.9";
/// // The right-most hop the proxy did not write itself.
/// assert_eq!(proxies.client_ip(Some(peer), [header]), Some("203.0.113.9".parse()?));
/// // From an untrusted peer, the header is ignored.
/// let stranger: IpAddr = "192.0.2.1".parse()?;
/// assert_eq!(proxies.client_ip(Some(stranger), [header]), Some(stranger));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Trusts no proxy.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a comma- or space-separated list of addresses and CIDR
    /// blocks (`10.0.0.0/8, 192.0.2.7, fd00::/8`); empty trusts none.
    ///
    /// # Errors
    /// [`AuthError::InvalidConfig`] naming the entry that is neither.
    pub fn parse(list: &str) -> Result<Self, AuthError> {
        let nets = list
            .split([',', ' ', '\t', '\n'])
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                IpNet::from_str(entry)
                    .map(|net| net.trunc())
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map_err(|_| {
                        AuthError::InvalidConfig(format!(
                            "trusted proxy {entry:?} is neither an IP address nor a CIDR block"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            nets,
            header: ForwardedHeader::default(),
        })
    }

    /// Reads `header` instead of `X-Forwarded-For`.
    pub fn header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// The header to hand to [`client_ip`](Self::client_ip), or `None` when
    /// no proxy is trusted (nothing to read).
    pub fn forwarded_header(&self) -> Option<ForwardedHeader> {
        (!self.nets.is_empty()).then_some(self.header)
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// [`client_ip`](Self::client_ip) for an adapter: `header(name)` gives
    /// the values of the configured forwarding header, and is called only
    /// when `peer` is a trusted proxy, so other requests skip the lookup.
    pub fn resolve<'a, I>(
        &self,
        peer: Option<IpAddr>,
        header: impl FnOnce(&'static str) -> I,
    ) -> Option<IpAddr>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let peer = peer?.to_canonical();
        if !self.trusts(peer) {
            return Some(peer);
        }
        self.client_ip(Some(peer), header(self.header.name()))
    }

    /// The client's address: `peer`, unless `peer` is a trusted proxy, then
    /// the right-most hop of the forwarding header (all its `values`, in
    /// the order they came) that is not a trusted proxy. A hop that is not
    /// an address (`unknown`, an obfuscated `_name`, garbage) stops the
    /// walk: the trusted proxy that wrote it is taken as the client. When
    /// every hop is trusted, the left-most one. `None` without a peer.
    pub fn client_ip<'a>(
        &self,
        peer: Option<IpAddr>,
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Option<IpAddr> {
        let peer = peer?.to_canonical();
        if !self.trusts(peer) {
            return Some(peer);
        }
        let values: Vec<&[u8]> = values.into_iter().collect();
        let mut client = peer;
        for value in values.iter().rev() {
            let Ok(value) = std::str::from_utf8(value) else {
                return Some(client);
            };
            for element in value.rsplit(',') {
                let hop = match self.header {
                    ForwardedHeader::XForwardedFor => parse_node(element),
                    ForwardedHeader::Forwarded => forwarded_for(element).and_then(parse_node),
                };
                match hop {
                    Some(ip) if self.trusts(ip) => client = ip,
                    Some(ip) => return Some(ip),
                    None => return Some(client),
                }
            }
        }
        Some(client)
    }
}

/// The `for=` value of one `Forwarded` element (`for=a;proto=https`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value)
    })
}

/// An address as a hop writes it: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:8080`, optionally in double quotes.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    let node = node
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(node);
    if let Some(rest) = node.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return inside
            .parse::<Ipv6Addr>()
            .ok()
            .map(|v6| IpAddr::V6(v6).to_canonical());
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    let (host, port) = node.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

/// The rate-limit key for a client address: the address for IPv4, its /64
/// for IPv6 (one host usually has a whole /64 to pick addresses from).
pub fn client_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("client:{v4}"),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("client:{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn nodes_parse_with_and_without_ports_and_quotes() {
        for (node, expected) in [
            ("192.0.2.1", "192.0.2.1"),
            (" 192.0.2.1:8080 ", "192.0.2.1"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("[::ffff:192.0.2.1]:80", "192.0.2.1"),
        ] {
            assert_eq!(parse_node(node), Some(ip(expected)), "{node}");
        }
        for garbage in [
            "",
            "unknown",
            "_hidden",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "[192.0.2.1]",
            "192.0.2.1:",
            "192.0.2.1:123456",
            "2001:db8::1:port",
            "\"",
            "\u{0}\u{ffff}",
        ] {
            assert_eq!(parse_node(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn lists_parse_and_bad_entries_are_named() {
        let proxies = TrustedProxies::parse(" 10.0.0.0/8,192.0.2.7  fd00::/8,").unwrap();
        assert!(proxies.trusts(ip("10.200.0.1")));
        assert!(proxies.trusts(ip("::ffff:10.0.0.1")));
        assert!(proxies.trusts(ip("192.0.2.7")));
        assert!(!proxies.trusts(ip("192.0.2.8")));
        assert!(proxies.trusts(ip("fd12::1")));
        assert!(
            TrustedProxies::parse("")
                .unwrap()
                .forwarded_header()
                .is_none()
        );
        let Err(AuthError::InvalidConfig(message)) = TrustedProxies::parse("10.0.0.0/8, proxy")
        else {
            panic!("accepted a host name");
        };
        assert!(message.contains("\"proxy\""), "{message}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn keys_group_ipv6_by_64() {
        assert_eq!(client_key(ip("192.0.2.1")), "client:192.0.2.1");
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa::1")),
            client_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            client_key(ip("2001:db8:1:2::1")),
            client_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(client_key(ip("::ffff:192.0.2.1")), "client:192.0.2.1");
    }
}
