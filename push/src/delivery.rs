//! Delivery outcomes and the retry policy both senders share.
//!
//! A send ends in one [`Delivery`]: delivered, pruned (the device token is dead and the
//! caller should forget it) or failed (with the provider's reason). Retries use
//! exponential backoff with full jitter; the jitter is derived deterministically from
//! the notification id and the attempt number, so a run replays the same way.

use std::time::Duration;

/// The class of a finished send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The provider accepted the notification (HTTP 200).
    Delivered,
    /// The device token is gone or invalid: remove the installation.
    Pruned,
    /// Not delivered; `reason` says why (provider reason, or retries exhausted).
    Failed,
}

/// The result of one send, after all retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Delivered, pruned or failed.
    pub outcome: Outcome,
    /// HTTP requests made (0 when rejected before sending).
    pub attempts: u32,
    /// The last HTTP status seen, if any request got an answer.
    pub status: Option<u16>,
    /// The provider's reason string (`Unregistered`, `UNREGISTERED`, ...) or ours.
    pub reason: Option<String>,
}

impl Delivery {
    /// A delivery that never left the process (bad input caught client-side).
    pub(crate) fn rejected(outcome: Outcome, reason: String) -> Self {
        Self {
            outcome,
            attempts: 0,
            status: None,
            reason: Some(reason),
        }
    }
}

/// How often and how patiently a send is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total requests allowed for one notification (first try included); at least 1.
    pub max_attempts: u32,
    /// Backoff ceiling for the first retry, in milliseconds (doubles each retry).
    pub base_delay_ms: u64,
    /// Upper bound for any single backoff, `Retry-After` included, in milliseconds.
    pub max_delay_ms: u64,
    /// Seed mixed into the jitter so two senders do not retry in lockstep.
    pub seed: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay_ms: 100,
            max_delay_ms: 60_000,
            seed: 0x5e11_0075_u64,
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `retry` (1 = first retry) of notification `id`.
    ///
    /// Full jitter: uniform in `[0, min(max, base * 2^(retry-1))]`; a `Retry-After` from
    /// the provider is a floor (capped at `max_delay_ms`).
    pub fn backoff(&self, id: &[u8; 16], retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let ceiling = self
            .base_delay_ms
            .saturating_mul(1u64 << exp)
            .min(self.max_delay_ms);
        let jitter = if ceiling == 0 {
            0
        } else {
            mix(self.seed, id, retry) % (ceiling + 1)
        };
        let floor = retry_after
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
            .min(self.max_delay_ms);
        Duration::from_millis(jitter.max(floor))
    }
}

/// splitmix64 over the seed, the id and the attempt: a cheap deterministic "random".
fn mix(seed: u64, id: &[u8; 16], retry: u32) -> u64 {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&id[..8]);
    hi.copy_from_slice(&id[8..]);
    let mut z = seed
        ^ u64::from_le_bytes(lo)
        ^ u64::from_le_bytes(hi).rotate_left(17)
        ^ u64::from(retry).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Formats 16 bytes as a lowercase UUID string (8-4-4-4-12), as `apns-id` wants.
pub fn uuid_string(id: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, b) in id.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Parses a UUID string (any case, with dashes at the canonical places) into 16 bytes.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut n = 0;
    let mut i = 0;
    while i < 36 {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b[i] != b'-' {
                return None;
            }
            i += 1;
            continue;
        }
        let hi = hex_val(b[i])?;
        let lo = hex_val(*b.get(i + 1)?)?;
        *out.get_mut(n)? = (hi << 4) | lo;
        n += 1;
        i += 2;
    }
    Some(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Reads a `Retry-After` header given in seconds (the form APNs and Google use).
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trips() {
        let id = [
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        let s = uuid_string(&id);
        assert_eq!(s, "12345678-9abc-def0-0102-030405060708");
        assert_eq!(parse_uuid(&s), Some(id));
        assert_eq!(parse_uuid(&s.to_uppercase()), Some(id));
        assert_eq!(parse_uuid("12345678-9abc-def0-0102-03040506070"), None);
        assert_eq!(parse_uuid("12345678x9abc-def0-0102-030405060708"), None);
    }

    #[test]
    fn backoff_is_bounded_deterministic_and_honours_retry_after() {
        let p = RetryPolicy::default();
        let id = [7u8; 16];
        for retry in 1..10 {
            let d = p.backoff(&id, retry, None);
            let cap = (p.base_delay_ms << (retry - 1)).min(p.max_delay_ms);
            assert!(d.as_millis() <= u128::from(cap), "retry {retry}: {d:?}");
            assert_eq!(d, p.backoff(&id, retry, None));
        }
        let d = p.backoff(&id, 1, Some(Duration::from_secs(3)));
        assert!(d >= Duration::from_secs(3));
        let d = p.backoff(&id, 1, Some(Duration::from_secs(3600)));
        assert_eq!(d, Duration::from_millis(p.max_delay_ms));
        // Different ids spread out.
        let spread: std::collections::HashSet<_> =
            (0u8..50).map(|i| p.backoff(&[i; 16], 3, None)).collect();
        assert!(spread.len() > 10);
    }
}
