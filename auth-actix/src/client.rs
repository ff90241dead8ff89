//! The client's address, for the per-client rate limit.

use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use auth_core::client_ip::TrustedProxies;

use crate::{ApiError, authenticated::verifier};

/// The client's address as the [`AuthService`](auth_core::AuthService)'s
/// [trusted proxies](TrustedProxies) see it: the peer
/// address ([`HttpRequest::peer_addr`]), or the forwarding header's
/// right-most untrusted hop when the peer is a trusted proxy. Pass it to
/// [`AuthService::admit_client`](auth_core::AuthService::admit_client), as
/// the auth routes do. With a trusted issuer's
/// [`Verifier`](auth_core::Verifier), its own
/// [trusted proxies](auth_core::Verifier::with_trusted_proxies).
///
/// `None` when actix-web knows no peer address (a Unix socket, or a test
/// request without one): the per-client limit is then off for it (an
/// error is logged once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// The address of `req`, resolved through `proxies`
    /// ([`AuthService::trusted_proxies`](auth_core::AuthService::trusted_proxies)).
    pub fn of(req: &HttpRequest, proxies: &TrustedProxies) -> Self {
        let peer = req.peer_addr().map(|addr| addr.ip());
        Self(proxies.resolve(peer, |name| {
            req.headers().get_all(name).map(|value| value.as_bytes())
        }))
    }
}

impl FromRequest for ClientIp {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            verifier(req)
                .map(|verifier| Self::of(req, verifier.trusted_proxies()))
                .map_err(ApiError::from),
        )
    }
}
