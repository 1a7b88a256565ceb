//! [`PricingConfig`]: the `[pricing]` settings. Its doc comments are the user docs.

use serde::{Deserialize, Serialize};

use crate::auth::KeyHash;
use crate::quotes::QuoteKey;
use crate::repricer::RuleConfig;

/// Settings of the pricing service. Every field has a default; unknown fields are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricingConfig {
    /// How long a quote is honoured, in seconds (default 600: the 10-minute seat hold).
    pub quote_ttl_s: u64,
    /// Most seats one quote may cover (default 10: the cart limit).
    pub max_quote_quantity: u32,
    /// Largest move of one price change, in percent of the current price (default 10).
    pub max_step_pct: f64,
    /// Shortest time between two changes of one category, in seconds (default 300).
    pub min_interval_s: u64,
    /// Refuse raises while shoppers hold unexpired quotes at the current price
    /// (default true; see the guardrails docs for the trade-off).
    pub hold_blocks_raises: bool,
    /// Requests served at once; more are shed with 503 and `Retry-After` (default 512).
    pub max_in_flight: usize,
    /// Connections open at once; more are answered 503 with `Retry-After` and closed
    /// (default 1024; see [`crate::connections`]).
    pub max_connections: usize,
    /// Request rates per key, by kind: over it, 429 with `Retry-After`.
    pub rate_limits: crate::rate::RateLimits,
    /// Shed new requests with 503 and `Retry-After` while the runtime runs its tasks
    /// more than this many milliseconds late, sustained (a saturated CPU; default 200;
    /// 0: off). See [`crate::load`].
    pub max_scheduling_lag_ms: u64,
    /// Live price streams (SSE) open at once; more are shed (default 1000).
    pub max_streams: usize,
    /// Seconds a shed client is told to wait in `Retry-After` (default 1).
    pub retry_after_s: u32,
    /// Largest request body, in bytes (default 64 KiB).
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 503, in milliseconds (default 2000).
    pub request_timeout_ms: u64,
    /// Price changes kept per category for the history route (default 100).
    pub history_len: usize,
    /// Changes buffered for each live stream before a slow one skips ahead (default 1024).
    pub stream_buffer: usize,
    /// Audit entries kept in memory for the audit query (default 10,000; the
    /// `price-decisions` topic keeps them all).
    pub audit_len: usize,
    /// How often replicas poll the topics when nothing pokes them, in ms (default 100).
    pub follow_poll_ms: u64,
    /// The rule-based fallback optimiser.
    pub rules: RuleConfig,
    /// API keys, as SHA-256 hashes with their kind.
    pub api_keys: Vec<KeyHash>,
    /// The quote key that signs new quotes.
    pub active_quote_key: String,
    /// Quote keys: the active one and any retired ones still verifying quotes.
    pub quote_keys: Vec<QuoteKey>,
}

impl Default for PricingConfig {
    fn default() -> Self {
        Self {
            quote_ttl_s: 600,
            max_quote_quantity: 10,
            max_step_pct: 10.0,
            min_interval_s: 300,
            hold_blocks_raises: true,
            max_in_flight: 512,
            max_connections: 1024,
            rate_limits: crate::rate::RateLimits::default(),
            max_scheduling_lag_ms: 200,
            max_streams: 1000,
            retry_after_s: 1,
            max_body_bytes: 64 * 1024,
            request_timeout_ms: 2000,
            history_len: 100,
            stream_buffer: 1024,
            audit_len: 10_000,
            follow_poll_ms: 100,
            rules: RuleConfig::default(),
            api_keys: Vec::new(),
            active_quote_key: String::new(),
            quote_keys: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_gives_the_defaults_and_typos_fail() {
        let config: PricingConfig = serde_json::from_str("{}").expect("defaults");
        assert_eq!(config, PricingConfig::default());
        assert_eq!((config.quote_ttl_s, config.max_body_bytes), (600, 65_536));
        let typo = serde_json::from_str::<PricingConfig>(r#"{"quote_ttl": 60}"#);
        assert!(typo.unwrap_err().to_string().contains("unknown field"));
    }
}
