//! Access tokens: claims, keys and the JWT codec.
//!
//! # Crypto backend
//!
//! jsonwebtoken 11 needs exactly one crypto backend, and panics at run time
//! otherwise. This crate turns that into something that cannot go wrong:
//!
//! | features | backend |
//! |---|---|
//! | `rust-crypto` (default) | RustCrypto, pure Rust |
//! | `aws-lc-rs` (with `default-features = false`) | aws-lc-rs |
//! | both (e.g. `--all-features`) | aws-lc-rs |
//! | neither | compile error |
//!
//! The chosen backend is installed as jsonwebtoken's process-wide default
//! when the first [`JwtKey`] or [`JwtCodec`] is built. If the application
//! installed a `jsonwebtoken::crypto::CryptoProvider` itself before that,
//! its choice stands.
//!
//! RS256 keys sign only when that provider is aws-lc-rs: the RustCrypto
//! `rsa` crate is open to the Marvin timing attack (RUSTSEC-2023-0071), so
//! elsewhere an RS256 signing key is refused
//! ([`JwtAlgorithm::check_signing`]). RS256 verification works on both.

mod claims;
mod codec;
mod issuer_keys;
pub mod jwk;
mod keys;
mod pem_keys;
#[cfg(feature = "remote-jwks")]
pub(crate) mod remote;
mod trusted;

pub use claims::{AccessClaims, REGISTERED_CLAIMS};
pub use codec::{
    ACCESS_TOKEN_TYP, JwtCodec, JwtCodecBuilder, MAX_LEEWAY, MAX_TOKEN_BYTES, TokenCodec,
};
pub use issuer_keys::IssuerKeys;
pub use jwk::{Jwk, Jwks};
pub use keys::{JwtAlgorithm, JwtKey, MIN_HS256_SECRET_BYTES};
pub use pem_keys::MIN_RSA_BITS;
#[cfg(feature = "remote-jwks")]
pub use remote::{RemoteJwks, RemoteJwksBuilder};
pub use trusted::TrustedIssuer;

#[cfg(not(any(feature = "rust-crypto", feature = "aws-lc-rs")))]
compile_error!(
    "auth-core needs a JWT crypto backend: enable the feature `rust-crypto` (the default) or `aws-lc-rs`"
);

/// Installs this crate's crypto backend as jsonwebtoken's default, unless
/// one is installed already (then that one stays: `Err` just says so).
pub(crate) fn install_crypto_provider() {
    #[cfg(feature = "aws-lc-rs")]
    let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    let _already_installed = provider.install_default();
}

/// Whether RSA private-key operations run on aws-lc-rs, which does them in
/// constant time: only when jsonwebtoken's provider in effect is its
/// aws-lc-rs one (an application may have installed another before us).
pub(crate) fn rsa_signs_in_constant_time() -> bool {
    use jsonwebtoken::crypto::CryptoProvider;
    install_crypto_provider();
    #[cfg(feature = "aws-lc-rs")]
    let aws_lc = Some(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);
    #[cfg(not(feature = "aws-lc-rs"))]
    let aws_lc: Option<&CryptoProvider> = None;
    aws_lc.is_some_and(|aws_lc| {
        CryptoProvider::try_get_default().is_some_and(|used| std::ptr::eq(used, aws_lc))
    })
}
