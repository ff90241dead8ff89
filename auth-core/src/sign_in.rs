//! How a sign-in ends: [`SignIn::Complete`], or
//! [`SignIn::SecondFactorRequired`] when the user has a [`SecondFactor`]
//! and the first factor did not already prove two.
//!
//! Every first-factor method (password, email link or code) returns a
//! [`SignIn`]; the second step is
//! [`AuthService::verify_second_factor`](crate::AuthService::verify_second_factor).
//! Over HTTP both variants are a 200, each with its own body, which clients
//! tell apart by `two_factor_required`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{AuthError, AuthResponse, RefreshToken, TokenHash};

pub use crate::service::second_factor::SecondFactor;

/// The opaque token of a pending second-factor challenge: 256 bits from
/// the OS CSPRNG as 43 base64url characters (the shape of a
/// [`RefreshToken`]). The service keeps only its hash. Redacted in
/// `Debug`, zeroed on drop; serialised as the plain token, for its owner.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChallengeToken(RefreshToken);

impl ChallengeToken {
    pub(crate) fn generate() -> Result<Self, AuthError> {
        RefreshToken::generate().map(Self)
    }

    /// A presented token, if it has the shape of one this crate makes.
    pub(crate) fn parse(token: &str) -> Option<Self> {
        RefreshToken::parse(token).map(Self)
    }

    /// The token, to send to its owner (who sends it back with the code).
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Its SHA-256, which is all the service stores.
    pub(crate) fn hash(&self) -> TokenHash {
        self.0.hash()
    }
}

impl fmt::Debug for ChallengeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChallengeToken(<redacted>)")
    }
}

/// The first factor was right, and a second one is needed: no session yet.
/// Serialised as the contract's body, with no tokens:
///
/// ```json
/// {"two_factor_required": true, "challenge_token": "<opaque>", "methods": ["totp"], "expires_in": 300}
/// ```
///
/// Send `challenge_token` back with a code of one of `methods` to
/// [`AuthService::verify_second_factor`](crate::AuthService::verify_second_factor)
/// within `expires_in` seconds. `Debug` redacts the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Wire", try_from = "Wire")]
pub struct SecondFactorRequired {
    /// Names the pending sign-in; single use, void after 5 wrong codes.
    pub challenge_token: ChallengeToken,
    /// The [`SecondFactor::method`]s the user has enabled (`"totp"`,
    /// `"backup_code"`), in the order they were registered.
    pub methods: Vec<String>,
    /// Seconds until the challenge expires (300).
    pub expires_in: u64,
}

/// [`SecondFactorRequired`] as it travels, with the field that tells it
/// from an [`AuthResponse`].
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "The first factor was right and a second one is needed: no tokens yet. \
        Send `challenge_token` with a code of one of `methods` within `expires_in` seconds."
    )
)]
struct Wire {
    /// Always `true`: what tells this body from an `AuthResponse`.
    two_factor_required: bool,
    /// Send it back with the code; single use, void after 5 wrong codes.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    challenge_token: ChallengeToken,
    /// The second factors the user has enabled (`totp`, `backup_code`).
    methods: Vec<String>,
    /// Seconds until the challenge expires.
    expires_in: u64,
}

impl From<SecondFactorRequired> for Wire {
    fn from(required: SecondFactorRequired) -> Self {
        Self {
            two_factor_required: true,
            challenge_token: required.challenge_token,
            methods: required.methods,
            expires_in: required.expires_in,
        }
    }
}

impl TryFrom<Wire> for SecondFactorRequired {
    type Error = &'static str;

    fn try_from(wire: Wire) -> Result<Self, Self::Error> {
        if !wire.two_factor_required {
            return Err("two_factor_required is not true");
        }
        Ok(Self {
            challenge_token: wire.challenge_token,
            methods: wire.methods,
            expires_in: wire.expires_in,
        })
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SecondFactorRequired {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <Wire as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SecondFactorRequired {
    fn name() -> std::borrow::Cow<'static, str> {
        "SecondFactorRequired".into()
    }
}

/// What a first-factor sign-in ends in: [`AuthService::sign_in`](crate::AuthService::sign_in)
/// and [`verify_email_sign_in`](crate::AuthService::verify_email_sign_in).
///
/// Serialised untagged: each variant as its own body, an [`AuthResponse`]
/// or a [`SecondFactorRequired`]. Code written for users without a second
/// factor takes the session with [`signed_in`](Self::signed_in).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "Signed in (`AuthResponse`), or a second factor is required \
        (`SecondFactorRequired`); told apart by `two_factor_required`."
    )
)]
#[serde(untagged)]
#[non_exhaustive]
pub enum SignIn {
    /// Signed in: a session is open.
    Complete(AuthResponse),
    /// The user has a second factor: no session until a code of it is
    /// verified.
    SecondFactorRequired(SecondFactorRequired),
}

impl SignIn {
    /// The session, for code that expects sign-in to be complete (as
    /// [`SignUp::signed_in`](crate::SignUp::signed_in) does for sign-up).
    ///
    /// # Errors
    /// [`AuthError::Internal`] when a second factor is required: the
    /// caller cannot go on without handling
    /// [`SignIn::SecondFactorRequired`], which is a bug of the calling code
    /// rather than anything the client did, so a client sees a 500 with no
    /// details while the log names the cause. The challenge is dropped
    /// unused and expires.
    pub fn signed_in(self) -> Result<AuthResponse, AuthError> {
        match self {
            Self::Complete(response) => Ok(response),
            Self::SecondFactorRequired(_) => Err(AuthError::internal(
                "a second factor is required, and the caller expected a complete sign-in",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required() -> SecondFactorRequired {
        SecondFactorRequired {
            challenge_token: ChallengeToken::generate().unwrap(),
            methods: vec!["totp".into(), "backup_code".into()],
            expires_in: 300,
        }
    }

    #[test]
    fn second_factor_required_is_the_contracts_body() {
        let required = required();
        let json = serde_json::to_value(SignIn::SecondFactorRequired(required.clone())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "two_factor_required": true,
                "challenge_token": required.challenge_token.expose_secret(),
                "methods": ["totp", "backup_code"],
                "expires_in": 300,
            })
        );
        let back: SignIn = serde_json::from_value(json).unwrap();
        assert!(matches!(back, SignIn::SecondFactorRequired(back) if back == required));
        let not_required = serde_json::json!({
            "two_factor_required": false, "challenge_token": "x", "methods": [], "expires_in": 1,
        });
        assert!(serde_json::from_value::<SecondFactorRequired>(not_required).is_err());
    }

    #[test]
    fn debug_redacts_the_challenge_token() {
        let required = required();
        let shown = format!(
            "{required:?} {:?}",
            SignIn::SecondFactorRequired(required.clone())
        );
        assert!(
            !shown.contains(required.challenge_token.expose_secret()),
            "{shown}"
        );
        assert!(shown.contains("ChallengeToken(<redacted>)"), "{shown}");
    }

    #[test]
    fn signed_in_refuses_a_pending_second_factor() {
        let outcome = SignIn::SecondFactorRequired(required()).signed_in();
        assert!(
            matches!(outcome, Err(AuthError::Internal(_))),
            "{outcome:?}"
        );
    }
}
