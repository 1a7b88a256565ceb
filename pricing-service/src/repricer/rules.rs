//! The optimiser seam of the repricer: what an optimiser sees of a category
//! ([`MarketView`]), the [`Optimiser`] trait models implement, and the rule-based
//! fallback ([`RuleBased`]) that keeps the loop running without a trained model.

use std::collections::VecDeque;

use sellout_ingest::records::Timestamp;
use sellout_pipelines::SignalKind;
use sellout_pipelines::output::SellOutFeatures;
use serde::{Deserialize, Serialize};

use crate::guardrails::Proposal;

/// What an optimiser sees of one category.
#[derive(Debug, Clone, Copy)]
pub struct MarketView<'a> {
    /// The event.
    pub event_id: &'a str,
    /// The category.
    pub category_id: &'a str,
    /// The price now.
    pub current_minor: i64,
    /// The catalog's list price.
    pub list_minor: i64,
    /// The latest sell-out features, if any arrived.
    pub features: Option<&'a SellOutFeatures>,
    /// Recent surge and slump signals (kind, event time), oldest first.
    pub signals: &'a VecDeque<(SignalKind, Timestamp)>,
    /// Now.
    pub now: Timestamp,
}

/// Something that proposes prices: a model, or the rule-based fallback.
pub trait Optimiser: Send + Sync {
    /// Name and version, recorded with every change (`rule-based/1`).
    fn version(&self) -> &str;
    /// A price for the category, or `None` for "no opinion now".
    fn propose(&self, view: &MarketView<'_>) -> Option<Proposal>;
}

/// Settings of the rule-based fallback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleConfig {
    /// Step of one move, in percent of the current price (default 5).
    pub step_pct: f64,
    /// Surge signals within the window that make a surge "sustained" (default 2).
    pub surge_signals: usize,
    /// Sell-through (sold / capacity) needed to step up on a surge (default 0.5).
    pub min_sell_through: f64,
    /// Window over which signals count, in seconds (default 900).
    pub window_s: u64,
}

impl Default for RuleConfig {
    fn default() -> Self {
        Self {
            step_pct: 5.0,
            surge_signals: 2,
            min_sell_through: 0.5,
            window_s: 900,
        }
    }
}

/// The fallback optimiser: step up on a sustained surge with high sell-through, step
/// down on a slump (latest signal in the window), otherwise no opinion.
#[derive(Debug, Clone)]
pub struct RuleBased {
    config: RuleConfig,
}

impl RuleBased {
    /// Rules with `config`.
    pub fn new(config: RuleConfig) -> Self {
        Self { config }
    }
}

impl Optimiser for RuleBased {
    fn version(&self) -> &str {
        "rule-based/1"
    }

    fn propose(&self, v: &MarketView<'_>) -> Option<Proposal> {
        let since = v
            .now
            .saturating_sub((self.config.window_s as i64).saturating_mul(1000));
        let recent = || v.signals.iter().filter(|(_, t)| *t >= since);
        let surges = recent().filter(|(k, _)| *k == SignalKind::Surge).count();
        let latest = recent().next_back().map(|(k, _)| *k)?;
        let sell_through = v
            .features
            .filter(|f| f.capacity > 0)
            .map(|f| f64::from(f.sold) / f64::from(f.capacity))
            .unwrap_or(0.0);
        let step = ((v.current_minor as f64) * self.config.step_pct / 100.0).round() as i64;
        let (target, reason) = if latest == SignalKind::Surge
            && surges >= self.config.surge_signals
            && sell_through >= self.config.min_sell_through
        {
            (
                v.current_minor.saturating_add(step.max(1)),
                format!(
                    "sustained surge: {surges} surges in window, sell-through {sell_through:.2}"
                ),
            )
        } else if latest == SignalKind::Slump {
            (
                v.current_minor.saturating_sub(step.max(1)),
                format!("slump, sell-through {sell_through:.2}"),
            )
        } else {
            return None;
        };
        Some(Proposal {
            target_minor: target,
            reason,
            model_version: self.version().to_string(),
        })
    }
}
