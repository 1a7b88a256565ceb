//! The repricer: `signals` and `features` in, guarded price changes out.
//!
//! For each category it remembers the latest sell-out features and the recent surge
//! and slump signals, asks an [`Optimiser`] for a price when either arrives, passes the
//! proposal through the guardrails ([`crate::guardrails::decide`]) and has the service
//! append the change (if any) to `prices` and the decision to the audit topic.
//!
//! Models plug in through [`Optimiser`]. Until they exist, [`RuleBased`] keeps the loop
//! running end to end: step up on a sustained surge with high sell-through, step down
//! on a slump. The repricer reads the topics as the named consumer `pricing-repricer`
//! and commits its position after acting, and change ids derive from the triggering
//! record's id, so a replay after a crash appends nothing new under a new id.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;
use sellout_ingest::records::{Id, Timestamp};
use sellout_pipelines::output::{
    FEATURES_TOPIC, FeatureBody, SIGNALS_TOPIC, SellOutFeatures, decode_feature, decode_signal,
};
use sellout_pipelines::{Feature, Signal, SignalKind};
use serde::{Deserialize, Serialize};

use crate::audit::Actor;
use crate::change::ChangeReason;
use crate::guardrails::{Decision, Proposal, decide};
use crate::service::{Action, PricingError, PricingService};

/// Consumer name of the repricer on `signals` and `features`.
pub const CONSUMER: &str = "pricing-repricer";
/// Surge and slump signals remembered per category.
const SIGNALS_KEPT: usize = 32;

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

#[derive(Debug, Default)]
struct Memory {
    features: Option<SellOutFeatures>,
    signals: VecDeque<(SignalKind, Timestamp)>,
}

/// The repricing loop of one service.
pub struct Repricer {
    service: Arc<PricingService>,
    optimiser: Box<dyn Optimiser>,
    memory: FxHashMap<(Id, Id), Memory>,
}

impl std::fmt::Debug for Repricer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repricer")
            .field("optimiser", &self.optimiser.version())
            .field("categories", &self.memory.len())
            .finish()
    }
}

impl Repricer {
    /// A repricer writing through `service` with `optimiser`.
    pub fn new(service: Arc<PricingService>, optimiser: Box<dyn Optimiser>) -> Self {
        Self {
            service,
            optimiser,
            memory: FxHashMap::default(),
        }
    }

    /// A repricer with the rule-based fallback from the service's configuration.
    pub fn rule_based(service: Arc<PricingService>) -> Self {
        let rules = RuleBased::new(service.config().rules.clone());
        Self::new(service, Box::new(rules))
    }

    /// Takes in a signal; surges and slumps of known categories trigger a repricing.
    /// A signal about a whole event applies to each of its categories.
    pub fn on_signal(&mut self, signal: &Signal) -> Result<Vec<Decision>, PricingError> {
        if !matches!(signal.kind, SignalKind::Surge | SignalKind::Slump) {
            return Ok(Vec::new());
        }
        let Some(event) = signal.event_id.as_deref() else {
            return Ok(Vec::new());
        };
        let categories: Vec<Id> = match &signal.category_id {
            Some(c) => vec![c.clone()],
            None => self
                .service
                .book()
                .snapshot()
                .event(event)
                .map(|e| e.categories.iter().map(|c| c.category_id.clone()).collect())
                .unwrap_or_default(),
        };
        let mut decisions = Vec::new();
        for category in categories {
            if self
                .service
                .book()
                .snapshot()
                .category(event, &category)
                .is_none()
            {
                continue;
            }
            let memory = self
                .memory
                .entry((event.into(), category.clone()))
                .or_default();
            if memory.signals.len() >= SIGNALS_KEPT {
                memory.signals.pop_front();
            }
            memory.signals.push_back((signal.kind, signal.time));
            decisions.extend(self.reprice(event, &category, &signal.id.to_le_bytes())?);
        }
        Ok(decisions)
    }

    /// Takes in a feature; sell-out features of known categories are remembered and
    /// trigger a repricing.
    pub fn on_feature(&mut self, feature: &Feature) -> Result<Option<Decision>, PricingError> {
        let FeatureBody::SellOut(f) = &feature.body else {
            return Ok(None);
        };
        let snapshot = self.service.book().snapshot();
        if snapshot.category(&f.event_id, &f.category_id).is_none() {
            return Ok(None);
        }
        let key = (f.event_id.clone(), f.category_id.clone());
        self.memory.entry(key).or_default().features = Some(f.clone());
        self.reprice(&f.event_id, &f.category_id, &feature.id.to_le_bytes())
    }

    /// Asks the optimiser about one category and applies the guarded decision.
    pub fn reprice(
        &mut self,
        event: &str,
        category: &str,
        trigger: &[u8],
    ) -> Result<Option<Decision>, PricingError> {
        let empty = Memory::default();
        let memory = self
            .memory
            .get(&(Id::from(event), Id::from(category)))
            .unwrap_or(&empty);
        let optimiser = self.optimiser.as_ref();
        let now = self.service.clock().now_ms();
        let list_minor = self.service.category(event, category)?.list_minor;
        let action = Action {
            actor: Actor::Repricer,
            name: "reprice",
            reason: ChangeReason::Repricer,
            trigger,
        };
        let applied = self
            .service
            .decide_and_apply(event, category, action, |state| {
                let view = MarketView {
                    event_id: event,
                    category_id: category,
                    current_minor: state.current_minor,
                    list_minor,
                    features: memory.features.as_ref(),
                    signals: &memory.signals,
                    now,
                };
                let proposal = optimiser.propose(&view)?;
                Some(decide(&proposal, state, now))
            })?;
        Ok(applied.map(|(d, _)| d))
    }

    /// Reads and handles what arrived on `signals` and `features` since the committed
    /// positions, then commits. Returns the records read.
    pub fn poll(&mut self) -> Result<u64, PricingError> {
        let transport = self.service.transport().clone();
        let mut read = 0;
        for topic in [FEATURES_TOPIC, SIGNALS_TOPIC] {
            let from = transport.committed(topic, CONSUMER)?.unwrap_or(0);
            let fetched = transport.read(topic, from, 1 << 20)?;
            for r in fetched.records() {
                read += 1;
                if topic == SIGNALS_TOPIC {
                    match decode_signal(r.value) {
                        Ok(s) => drop(self.on_signal(&s)?),
                        Err(error) => tracing::warn!(message = "Skipped a signal.", %error),
                    }
                } else {
                    match decode_feature(r.value) {
                        Ok(f) => drop(self.on_feature(&f)?),
                        Err(error) => tracing::warn!(message = "Skipped a feature.", %error),
                    }
                }
            }
            if !fetched.is_empty() {
                transport.commit(topic, CONSUMER, fetched.next_offset())?;
            }
        }
        Ok(read)
    }

    /// Polls every `interval` until `shutdown` resolves. Errors are logged and retried.
    pub async fn run(
        mut self,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            let handle = tokio::task::spawn_blocking(move || {
                let result = self.poll();
                (self, result)
            });
            let result;
            (self, result) = match handle.await {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::error!(message = "Repricer task failed; stopping.", %error);
                    return;
                }
            };
            let idle = match result {
                Ok(n) => n == 0,
                Err(error) => {
                    tracing::warn!(message = "Repricer poll failed.", %error);
                    true
                }
            };
            let pause = if idle { interval } else { Duration::ZERO };
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}
