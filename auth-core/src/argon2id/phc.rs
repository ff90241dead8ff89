//! PHC strings (`$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`): encoding new
//! hashes and parsing stored ones, whose cost is checked before any work.
//!
//! The hasher computes raw Argon2 output into its pooled memory, so the
//! string around it is built and read here, with the `phc` types that
//! `argon2` re-exports (B64 without padding, as the PHC format requires).

use argon2::{
    Algorithm, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt},
};

use crate::AuthError;

/// Salt bytes of a new hash (the PHC format's recommendation).
pub(super) const SALT_LEN: usize = argon2::RECOMMENDED_SALT_LEN;

/// Output bytes of a new hash (`argon2`'s default).
pub(super) const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;

/// The most memory a stored hash may ask for (256 MiB), unless the hasher's
/// own parameters ask for more. Above it the hash is refused unread, so a
/// corrupt or planted row cannot make the server allocate gigabytes.
pub(super) const MAX_STORED_MEMORY_KIB: u32 = 256 * 1024;

/// The most work (memory in KiB × passes) a stored hash may ask for (1 GiB
/// × 1 pass: about a second here), unless the hasher's own ask for more.
/// Caps `t` too, which memory alone does not.
pub(super) const MAX_STORED_WORK: u64 = 1024 * 1024;

/// The PHC string of an Argon2id v19 hash.
pub(super) fn encode(params: &Params, salt: &[u8], output: &[u8]) -> Result<String, AuthError> {
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(AuthError::internal)?,
        salt: Some(Salt::new(salt).map_err(AuthError::internal)?),
        hash: Some(Output::new(output).map_err(AuthError::internal)?),
    };
    Ok(phc.to_string())
}

/// A stored hash, parsed and within the cost limits, ready to recompute.
pub(super) struct Stored {
    pub(super) algorithm: Algorithm,
    pub(super) version: Version,
    /// Includes the stored output length, `keyid` and `data`.
    pub(super) params: Params,
    pub(super) salt: Salt,
    expected: Output,
}

impl Stored {
    /// Parses `phc` and checks its cost against `current` (the hasher's
    /// parameters) and the limits above.
    ///
    /// # Errors
    /// [`AuthError::Internal`] for a string that is not an Argon2 PHC hash
    /// (bad syntax, unknown algorithm or version, no salt or no hash) or
    /// that asks for more than the limits: a stored hash the server cannot
    /// check is a fault to log, not a wrong password.
    pub(super) fn parse(phc: &str, current: &Params) -> Result<Self, AuthError> {
        let parsed = Phc::new(phc).map_err(AuthError::internal)?;
        let algorithm =
            Algorithm::try_from(parsed.algorithm.as_str()).map_err(AuthError::internal)?;
        // No `v=` means the default (v19), as `argon2`'s own verifier reads it.
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(AuthError::internal)?
            .unwrap_or_default();
        let params = Params::try_from(&parsed).map_err(AuthError::internal)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(AuthError::internal(
                "stored password hash has no salt or no output",
            ));
        };
        within_limits(&params, current)?;
        Ok(Self {
            algorithm,
            version,
            params,
            salt,
            expected,
        })
    }

    /// Whether this hash should be replaced by one with `current`'s
    /// parameters: not Argon2id v19, or weaker in any cost.
    pub(super) fn needs_rehash(&self, current: &Params) -> bool {
        self.algorithm != Algorithm::Argon2id
            || self.version != Version::V0x13
            || self.params.m_cost() < current.m_cost()
            || self.params.t_cost() < current.t_cost()
            || self.params.p_cost() < current.p_cost()
    }

    /// Bytes of output to recompute.
    pub(super) fn output_len(&self) -> usize {
        self.expected.len()
    }

    /// Compares the recomputed output with the stored one in constant time
    /// (`Output`'s equality is `ctutils`' `ct_eq`).
    pub(super) fn matches(&self, computed: &[u8]) -> bool {
        Output::new(computed).is_ok_and(|computed| computed == self.expected)
    }
}

fn within_limits(stored: &Params, current: &Params) -> Result<(), AuthError> {
    let work = |p: &Params| u64::from(p.m_cost()) * u64::from(p.t_cost());
    let max_memory = MAX_STORED_MEMORY_KIB.max(current.m_cost());
    let max_work = MAX_STORED_WORK.max(work(current));
    if stored.m_cost() > max_memory || work(stored) > max_work {
        return Err(AuthError::internal(format!(
            "stored password hash asks for m={} KiB, t={}: over the limit of {max_memory} KiB \
             and {max_work} KiB-passes",
            stored.m_cost(),
            stored.t_cost()
        )));
    }
    Ok(())
}
