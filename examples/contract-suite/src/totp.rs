//! TOTP codes as an authenticator app computes them (RFC 6238 with the
//! parameters the contract names: HMAC-SHA-1, 6 digits, 30 s steps), from
//! the base32 secret that `two-factor/setup` returns, so that the cases can
//! enrol and sign in without a phone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha1::Sha1;

/// The length of a step, in seconds.
pub const STEP_SECS: u64 = 30;

/// How close to the end of a step [`Totp::next_code`] stops offering the
/// previous step's code: a request sent later may reach the server after
/// the step has turned, when that code is two steps old.
const LATE_IN_STEP: Duration = Duration::from_secs(5);

/// The RFC 4648 base32 alphabet.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Decodes RFC 4648 base32 (upper or lower case, `=` padding optional);
/// `None` when a character is outside the alphabet.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in text.trim_end_matches('=').bytes() {
        let value = BASE32
            .iter()
            .position(|&letter| letter == byte.to_ascii_uppercase())?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// The 6-digit code of `key` for time step `step` (RFC 4226's HOTP with
/// the step as counter).
pub fn code_at(key: &[u8], step: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let word = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", word % 1_000_000)
}

/// The current step and how far into it the clock is.
pub fn now() -> (u64, Duration) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970");
    let step = since.as_secs() / STEP_SECS;
    (step, since - Duration::from_secs(step * STEP_SECS))
}

/// An authenticator for one secret that remembers the last step it gave
/// a code for, as a server remembers the last step it accepted: each
/// [`next_code`](Self::next_code) is for a later step than the one before.
#[derive(Clone, Debug)]
pub struct Totp {
    key: Vec<u8>,
    last_step: Option<u64>,
}

impl Totp {
    /// An authenticator for the base32 `secret`; panics if it is not base32.
    pub fn new(secret: &str) -> Self {
        let key =
            base32_decode(secret).unwrap_or_else(|| panic!("the secret {secret:?} is not base32"));
        Self {
            key,
            last_step: None,
        }
    }

    /// The secret's bytes.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The code for `step`, without remembering it.
    pub fn at(&self, step: u64) -> String {
        code_at(&self.key, step)
    }

    /// The code for the current step moved by `offset` steps.
    pub fn offset(&self, offset: i64) -> String {
        let (step, _) = now();
        self.at(step.saturating_add_signed(offset))
    }

    /// The last step a code was given for.
    pub fn last_step(&self) -> Option<u64> {
        self.last_step
    }

    /// Records that the code for `step` was used (accepted by the server).
    pub fn mark_used(&mut self, step: u64) {
        self.last_step = Some(self.last_step.map_or(step, |last| last.max(step)));
    }

    /// The code for the earliest step the server accepts now (one step of
    /// drift either way) that is later than the last one given; waits for
    /// the clock when all three are used up. Returns the step and its code.
    pub async fn next_code(&mut self) -> (u64, String) {
        loop {
            let (now, into) = now();
            let earliest = if into + LATE_IN_STEP < Duration::from_secs(STEP_SECS) {
                now - 1
            } else {
                now
            };
            let step = self
                .last_step
                .map_or(earliest, |last| earliest.max(last + 1));
            if step <= now + 1 {
                self.last_step = Some(step);
                return (step, self.at(step));
            }
            let wait = Duration::from_secs(STEP_SECS) - into + Duration::from_millis(200);
            tokio::time::sleep(wait).await;
        }
    }

    /// A code that no step within two of the current one has: wrong now
    /// and for the next minute, whatever the drift allowance.
    pub fn wrong_code(&self) -> String {
        let (now, _) = now();
        let near: Vec<String> = (now.saturating_sub(3)..=now + 3)
            .map(|step| self.at(step))
            .collect();
        let mut guess: u32 = self.at(now).parse().unwrap_or_default();
        loop {
            guess = (guess + 123_457) % 1_000_000;
            let code = format!("{guess:06}");
            if !near.contains(&code) {
                return code;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret and times, last 6 digits.
    #[test]
    fn rfc_6238_vectors() {
        let key = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code_at(key, time / STEP_SECS), code, "time {time}");
        }
    }

    #[test]
    fn base32_round_trip() {
        // "12345678901234567890" in base32, as authenticator apps get it.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(
            base32_decode(secret).as_deref(),
            Some(&b"12345678901234567890"[..])
        );
        assert_eq!(
            base32_decode(&secret.to_ascii_lowercase()).as_deref(),
            Some(&b"12345678901234567890"[..])
        );
        assert_eq!(base32_decode("MZXW6===").as_deref(), Some(&b"foo"[..]));
        assert_eq!(base32_decode("MZXW6").as_deref(), Some(&b"foo"[..]));
        assert!(base32_decode("MZXW1").is_none());
    }

    #[test]
    fn next_codes_are_for_later_steps() {
        let mut totp = Totp::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let (first, second) = crate::__private::block_on(async {
            (totp.next_code().await.0, totp.next_code().await.0)
        });
        assert!(second > first);
        let (now, _) = now();
        assert!(first + 1 >= now && second <= now + 1);
        let wrong = totp.wrong_code();
        assert!((now - 2..=now + 2).all(|step| totp.at(step) != wrong));
    }
}
