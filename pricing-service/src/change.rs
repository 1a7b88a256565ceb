//! The [`PriceChange`] record: one authoritative new price for a category, with its
//! reason, and its wire form on the `prices` topic.
//!
//! The `prices` topic is the source of truth for prices: every change (from the
//! repricer, an admin override, anything) is appended there as JSON, keyed by
//! `event_id`, and every replica's book is rebuilt from it. Money is always minor units
//! (`i64`) beside an ISO 4217 currency, never floating point. The admin settings that
//! bound prices (limits, published range, freeze, override) travel beside it on
//! `price-policy` as [`PolicyUpdate`]s, so a replica rebuilds those too.

use sellout_ingest::records::{Id, Timestamp};
use sellout_streams::Batch;
use serde::{Deserialize, Serialize};

use crate::guardrails::GuardrailKind;

/// The topic price changes are appended to.
pub const PRICES_TOPIC: &str = "prices";
/// The topic admin policy updates (limits, range, freeze, override) are appended to.
pub const POLICY_TOPIC: &str = "price-policy";
/// The topic every repricer decision (including "no change") is appended to.
pub const DECISIONS_TOPIC: &str = "price-decisions";

/// Why a price changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeReason {
    /// The repricer moved the price (model or rule-based fallback).
    Repricer,
    /// An admin set a manual override.
    Override,
    /// A new published range or new limits moved the price back inside them.
    Limits,
}

/// One authoritative price change for a category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceChange {
    /// Deterministic id derived from what caused the change (a replay gives the same id).
    pub id: u64,
    /// The event.
    pub event_id: Id,
    /// The category.
    pub category_id: Id,
    /// The price before, in minor units.
    pub old_minor: i64,
    /// The new price, in minor units.
    pub new_minor: i64,
    /// ISO 4217 currency of both prices.
    pub currency: Id,
    /// Why it changed.
    pub reason: ChangeReason,
    /// What proposed it, in words (`"surge: 3 signals in 15 min, sell-through 0.62"`).
    pub detail: String,
    /// The optimiser (model or rule set) and its version, e.g. `rule-based/1`.
    pub model_version: String,
    /// The guardrail that shaped the new price, if one did.
    pub guardrail: Option<GuardrailKind>,
    /// When it was decided (clock time, ms since the epoch).
    pub time: Timestamp,
}

/// A closed price range, in minor units (`min_minor <= max_minor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceRange {
    /// Lowest price of the range.
    pub min_minor: i64,
    /// Highest price of the range.
    pub max_minor: i64,
}

impl PriceRange {
    /// True when `price` lies inside the range.
    pub fn contains(&self, price: i64) -> bool {
        self.min_minor <= price && price <= self.max_minor
    }
}

/// What an admin changed about a category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyChange {
    /// New floor, cap and published range.
    Limits {
        /// Lowest price allowed.
        floor_minor: i64,
        /// Highest price allowed.
        cap_minor: i64,
        /// The range announced to fans; no price may ever leave it.
        published: Option<PriceRange>,
    },
    /// Freeze (no repricer change) or unfreeze.
    Freeze {
        /// True to freeze.
        frozen: bool,
    },
    /// Set or clear a manual price; while set, the repricer leaves the category alone.
    Override {
        /// The manual price, or `None` to hand the category back to the repricer.
        price_minor: Option<i64>,
    },
}

/// One admin policy update, as appended to [`POLICY_TOPIC`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdate {
    /// The event.
    pub event_id: Id,
    /// The category.
    pub category_id: Id,
    /// When it was made.
    pub time: Timestamp,
    /// What changed.
    pub change: PolicyChange,
}

/// A value on one of our topics could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("undecodable {what} record at offset {offset}: {source}")]
pub struct DecodeError {
    /// Which record type.
    pub what: &'static str,
    /// Its offset.
    pub offset: u64,
    /// The JSON error.
    #[source]
    pub source: serde_json::Error,
}

/// Appends `value` as a JSON record keyed by `key` to `batch`.
pub fn push_json<T: Serialize>(batch: &mut Batch, key: &str, time: Timestamp, value: &T) {
    batch.push_with(key.as_bytes(), time, |buf| {
        // Serialising our own plain structs to a Vec cannot fail.
        let _ = serde_json::to_writer(buf, value);
    });
}

/// Appends a price change to `batch`, keyed by its event.
pub fn push_change(batch: &mut Batch, change: &PriceChange) {
    push_json(batch, &change.event_id, change.time, change);
}

/// Decodes a JSON record read at `offset`.
pub fn decode_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    offset: u64,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    serde_json::from_slice(bytes).map_err(|source| DecodeError {
        what,
        offset,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_round_trips_through_a_batch() {
        let change = PriceChange {
            id: 1,
            event_id: "ev-1".into(),
            category_id: "cat-1".into(),
            old_minor: 9_000,
            new_minor: 9_900,
            currency: "GBP".into(),
            reason: ChangeReason::Repricer,
            detail: "surge".into(),
            model_version: "rule-based/1".into(),
            guardrail: Some(GuardrailKind::MaxStep),
            time: 5,
        };
        let mut batch = Batch::new();
        push_change(&mut batch, &change);
        let record = batch.iter(0).next().expect("one record");
        assert_eq!(record.key, b"ev-1");
        let back: PriceChange = decode_json("price change", 0, record.value).expect("decodes");
        assert_eq!(back, change);
        assert!(decode_json::<PriceChange>("price change", 3, b"{").is_err());
    }
}
