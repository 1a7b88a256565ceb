//! Request rates per API key: a token bucket for each configured key.
//!
//! Each key kind has its own limit ([`RateLimits`]): a key may send `per_second`
//! requests on average with bursts of up to `burst`. A request over its key's budget is
//! answered 429 with `Retry-After` (the seconds until a token is back), and one key
//! running hot never takes another key's budget. Buckets refill on the service's clock;
//! a clock that steps back refills nothing rather than panicking or granting a burst.

use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::auth::KeyKind;

/// One limit: average rate and burst.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per second, on average.
    pub per_second: f64,
    /// Requests allowed at once after a quiet spell (the bucket's size).
    pub burst: f64,
}

/// The limit of each key kind; `None`: unlimited (other guards still apply).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Portal keys (default unlimited: the sales portal is one trusted high-volume
    /// client; load shedding protects the service from it).
    pub portal: Option<RateLimit>,
    /// Admin keys (default 100/s, bursts of 200).
    pub admin: Option<RateLimit>,
    /// Ingest keys (default unlimited: the ingest slots bound them).
    pub ingest: Option<RateLimit>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            portal: None,
            admin: Some(RateLimit {
                per_second: 100.0,
                burst: 200.0,
            }),
            ingest: None,
        }
    }
}

impl RateLimits {
    fn of(&self, kind: KeyKind) -> Option<RateLimit> {
        match kind {
            KeyKind::Portal => self.portal,
            KeyKind::Admin => self.admin,
            KeyKind::Ingest => self.ingest,
        }
        .filter(|l| l.per_second > 0.0 && l.burst >= 1.0)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

/// One bucket per configured key, by the key's position in the configuration.
#[derive(Debug)]
pub struct KeyRates {
    limits: RateLimits,
    buckets: Vec<Mutex<Option<Bucket>>>,
}

impl KeyRates {
    /// Buckets for `keys` configured keys.
    pub fn new(limits: RateLimits, keys: usize) -> Self {
        Self {
            limits,
            buckets: (0..keys).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// Takes a token for key `index` of `kind` at `now_ms`; `Err(seconds)` to wait
    /// when its budget is spent.
    pub fn take(&self, index: usize, kind: KeyKind, now_ms: i64) -> Result<(), u64> {
        let Some(limit) = self.limits.of(kind) else {
            return Ok(());
        };
        let Some(slot) = self.buckets.get(index) else {
            return Ok(());
        };
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = slot.get_or_insert(Bucket {
            tokens: limit.burst,
            updated_ms: now_ms,
        });
        let elapsed_s = now_ms.saturating_sub(bucket.updated_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed_s * limit.per_second).min(limit.burst);
        bucket.updated_ms = bucket.updated_ms.max(now_ms);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / limit.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }

    /// The limit of `kind`, if any (for error messages).
    pub fn limit_of(&self, kind: KeyKind) -> Option<RateLimit> {
        self.limits.of(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates() -> KeyRates {
        let limits = RateLimits {
            portal: Some(RateLimit {
                per_second: 2.0,
                burst: 3.0,
            }),
            admin: None,
            ingest: None,
        };
        KeyRates::new(limits, 2)
    }

    #[test]
    fn a_burst_then_the_rate_and_each_key_on_its_own_budget() {
        let r = rates();
        for _ in 0..3 {
            assert!(r.take(0, KeyKind::Portal, 0).is_ok());
        }
        assert_eq!(r.take(0, KeyKind::Portal, 0), Err(1));
        // Another key is untouched by the first one's burst.
        assert!(r.take(1, KeyKind::Portal, 0).is_ok());
        // Half a second later one token is back (2 per second).
        assert!(r.take(0, KeyKind::Portal, 500).is_ok());
        assert!(r.take(0, KeyKind::Portal, 500).is_err());
        // Unlimited kinds and unknown indices pass.
        assert!((0..1000).all(|_| r.take(0, KeyKind::Admin, 0).is_ok()));
        assert!(r.take(7, KeyKind::Portal, 0).is_ok());
    }

    #[test]
    fn a_clock_stepping_back_grants_nothing() {
        let r = rates();
        for _ in 0..3 {
            assert!(r.take(0, KeyKind::Portal, 10_000).is_ok());
        }
        assert!(
            r.take(0, KeyKind::Portal, 0).is_err(),
            "no refill backwards"
        );
        assert!(r.take(0, KeyKind::Portal, 9_000).is_err());
        assert!(
            r.take(0, KeyKind::Portal, 10_500).is_ok(),
            "refills from the latest time"
        );
    }
}
