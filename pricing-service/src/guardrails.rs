//! Guardrails: the pure rules every proposed price passes before it may become a
//! [`PriceChange`](crate::change::PriceChange), and the [`Decision`] they produce.
//!
//! [`decide`] takes a proposal, the category's guard state and "now", and returns a
//! decision that is either a change (maybe shaped by a guardrail) or "no change" with
//! the guardrail and reason that stopped it. It does no I/O and reads no clock, so
//! every rule is tested on plain values. The order, and why:
//!
//! 1. **Freeze** (admin): nothing moves.
//! 2. **Override** (admin): the manual price stands; the repricer does not fight it.
//! 3. **Minimum interval** between changes: prices don't flicker.
//! 4. **Maximum step** (%): one change moves the price at most this far.
//! 5. **Floor / cap**, then the **published range**: the band the price is clamped into
//!    last, so no price ever leaves the range announced to fans, whatever the steps.
//! 6. **Quote held**: a *raise* is refused while shoppers hold unexpired quotes at the
//!    current price. Quotes are honoured at their quoted price until expiry whatever
//!    the book does (see [`crate::quotes`]); this rule additionally keeps the price a
//!    shopper was shown from rising under them while they are still deciding. Cuts are
//!    allowed (they only help shoppers). The cost, documented and chosen: under
//!    constant quoting a raise waits until a quiet moment (no quote at the current
//!    price for one quote lifetime), so `hold_blocks_raises` can turn it off.

use sellout_ingest::records::Timestamp;
use serde::{Deserialize, Serialize};

use crate::change::PriceRange;

/// Which guardrail shaped or stopped a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailKind {
    /// Clamped up to the category's floor.
    Floor,
    /// Clamped down to the category's cap.
    Cap,
    /// Clamped into the published price range.
    PublishedRange,
    /// Limited to the maximum step per change.
    MaxStep,
    /// Too soon after the previous change.
    MinInterval,
    /// The category is frozen by an admin.
    Freeze,
    /// A manual override holds the price.
    Override,
    /// Shoppers hold unexpired quotes at the current price.
    QuoteHeld,
}

impl GuardrailKind {
    /// The `snake_case` name (metrics labels, audit queries).
    pub fn as_str(self) -> &'static str {
        match self {
            GuardrailKind::Floor => "floor",
            GuardrailKind::Cap => "cap",
            GuardrailKind::PublishedRange => "published_range",
            GuardrailKind::MaxStep => "max_step",
            GuardrailKind::MinInterval => "min_interval",
            GuardrailKind::Freeze => "freeze",
            GuardrailKind::Override => "override",
            GuardrailKind::QuoteHeld => "quote_held",
        }
    }
}

/// A price an optimiser would like, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The price wanted, in minor units.
    pub target_minor: i64,
    /// Why, in words.
    pub reason: String,
    /// The optimiser and its version.
    pub model_version: String,
}

/// Everything [`decide`] needs to know about one category.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardState {
    /// The price now, in minor units.
    pub current_minor: i64,
    /// When the price last changed (`None`: never since the list price).
    pub last_change_at: Option<Timestamp>,
    /// Lowest price allowed.
    pub floor_minor: i64,
    /// Highest price allowed.
    pub cap_minor: i64,
    /// The range announced to fans, if one was.
    pub published: Option<PriceRange>,
    /// Largest move per change, in percent of the current price.
    pub max_step_pct: f64,
    /// Shortest time between two changes, in milliseconds.
    pub min_interval_ms: i64,
    /// Frozen by an admin.
    pub frozen: bool,
    /// A manual price set by an admin.
    pub override_minor: Option<i64>,
    /// Unexpired quotes held at the current price.
    pub held_quotes: u64,
    /// Whether held quotes block raises (see the module docs).
    pub hold_blocks_raises: bool,
}

/// What happens to the price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// The price changes.
    Changed {
        /// The price before.
        old_minor: i64,
        /// The price after.
        new_minor: i64,
    },
    /// The price stays.
    NoChange {
        /// Why, in words.
        reason: String,
    },
}

/// The result of [`decide`]: auditable on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Change or not.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The guardrail that shaped or stopped it.
    pub guardrail: Option<GuardrailKind>,
    /// What the optimiser proposed.
    pub proposed_minor: i64,
    /// Why the proposal was made (the optimiser's reason, or the admin action).
    pub proposal_reason: String,
    /// The optimiser and version.
    pub model_version: String,
    /// When it was decided.
    pub time: Timestamp,
}

impl Decision {
    /// The new price when the decision is a change.
    pub fn new_price(&self) -> Option<i64> {
        match self.outcome {
            Outcome::Changed { new_minor, .. } => Some(new_minor),
            Outcome::NoChange { .. } => None,
        }
    }
}

/// The band every price is clamped into: floor..cap intersected with the published
/// range (when the two don't overlap, the published range wins: it was promised).
pub fn band(state: &GuardState) -> (i64, i64) {
    let (mut lo, mut hi) = (state.floor_minor, state.cap_minor.max(state.floor_minor));
    if let Some(r) = state.published {
        lo = lo.max(r.min_minor);
        hi = hi.min(r.max_minor);
        if lo > hi {
            (lo, hi) = (r.min_minor, r.max_minor);
        }
    }
    (lo, hi)
}

/// Applies the guardrails (in the order of the module docs) to `proposal`.
pub fn decide(proposal: &Proposal, state: &GuardState, now: Timestamp) -> Decision {
    let current = state.current_minor;
    let decision = |outcome, guardrail| Decision {
        outcome,
        guardrail,
        proposed_minor: proposal.target_minor,
        proposal_reason: proposal.reason.clone(),
        model_version: proposal.model_version.clone(),
        time: now,
    };
    let no = |reason: String, g: Option<GuardrailKind>| decision(Outcome::NoChange { reason }, g);

    if state.frozen {
        return no("category is frozen".into(), Some(GuardrailKind::Freeze));
    }
    if let Some(price) = state.override_minor {
        return no(
            format!("manual override holds the price at {price}"),
            Some(GuardrailKind::Override),
        );
    }
    if let Some(last) = state.last_change_at {
        let since = now.saturating_sub(last);
        if since < state.min_interval_ms {
            return no(
                format!(
                    "last change {since} ms ago, minimum interval {} ms",
                    state.min_interval_ms
                ),
                Some(GuardrailKind::MinInterval),
            );
        }
    }

    let mut guardrail = None;
    let mut target = proposal.target_minor;
    let step = ((current as f64) * state.max_step_pct.max(0.0) / 100.0).floor() as i64;
    if target > current.saturating_add(step) {
        target = current.saturating_add(step);
        guardrail = Some(GuardrailKind::MaxStep);
    } else if target < current.saturating_sub(step) {
        target = current.saturating_sub(step);
        guardrail = Some(GuardrailKind::MaxStep);
    }
    let clamped = clamp_into_band(target, state);
    if clamped.0 != target {
        (target, guardrail) = (clamped.0, clamped.1);
    }

    if target == current {
        let reason = match guardrail {
            Some(g) => format!("{} keeps the price at {current}", g.as_str()),
            None => format!("proposal equals the current price {current}"),
        };
        return no(reason, guardrail);
    }
    if target > current && state.hold_blocks_raises && state.held_quotes > 0 {
        return no(
            format!(
                "{} unexpired quotes held at {current}: no raise until they expire",
                state.held_quotes
            ),
            Some(GuardrailKind::QuoteHeld),
        );
    }
    decision(
        Outcome::Changed {
            old_minor: current,
            new_minor: target,
        },
        guardrail,
    )
}

/// Clamps `price` into the band, saying which limit bit.
pub fn clamp_into_band(price: i64, state: &GuardState) -> (i64, Option<GuardrailKind>) {
    let (lo, hi) = band(state);
    let published_bites = |p: i64| state.published.is_some_and(|r| !r.contains(p));
    if price < lo {
        let g = if published_bites(price) && lo != state.floor_minor {
            GuardrailKind::PublishedRange
        } else {
            GuardrailKind::Floor
        };
        (lo, Some(g))
    } else if price > hi {
        let g = if published_bites(price) && hi != state.cap_minor {
            GuardrailKind::PublishedRange
        } else {
            GuardrailKind::Cap
        };
        (hi, Some(g))
    } else {
        (price, None)
    }
}

#[cfg(test)]
#[path = "guardrails_tests.rs"]
mod tests;
