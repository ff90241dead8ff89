//! The client's address, for the per-client rate limit.

use std::net::{IpAddr, SocketAddr};

use crate::AuthState;

use auth_core::client_ip::TrustedProxies;
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

/// The client's address as the [`AuthService`](auth_core::AuthService)'s
/// [trusted proxies](auth_core::client_ip::TrustedProxies) see it: the peer
/// address, or the forwarding header's right-most untrusted hop when the
/// peer is a trusted proxy. Pass it to
/// [`AuthService::admit_client`](auth_core::AuthService::admit_client), as
/// the auth routes do. With a trusted issuer's
/// [`Verifier`](auth_core::Verifier), its own
/// [trusted proxies](auth_core::Verifier::with_trusted_proxies).
///
/// The peer address comes from the `ConnectInfo<SocketAddr>` request
/// extension: serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()` (or insert it
/// yourself). Without it the address is `None`, and the per-client limit
/// is off (an error is logged once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for ClientIp
where
    S: AuthState,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(parts, state.verifier().trusted_proxies())))
    }
}

/// The client's address of a request, as [`ClientIp`] says.
pub(crate) fn client_ip(parts: &Parts, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let headers = &parts.headers;
    proxies.resolve(peer, |name| {
        headers.get_all(name).iter().map(|value| value.as_bytes())
    })
}
