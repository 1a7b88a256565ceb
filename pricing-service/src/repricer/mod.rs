//! The repricer: `signals` and `features` in, guarded price changes out.
//!
//! For each category it remembers the latest sell-out features and the recent surge
//! and slump signals, asks an [`Optimiser`] for a price, passes the proposal through
//! the guardrails ([`crate::guardrails::decide`]) and has the service append the
//! change (if any) to `prices` and the decision to the audit topic.
//!
//! **Event time, so a replay prices the same way.** "Now" of a decision is the event
//! time of the record that triggered it, never the processing clock, and the order of
//! decisions depends only on what is in the topics, never on when [`Repricer::poll`]
//! happened to read them:
//! - Sell-out features trigger decisions, in their topic's order. The pipelines emit a
//!   snapshot right after every surge or slump, so a signal never waits for a tick.
//! - Signals are context. Read after the features (the pipelines append each batch of
//!   signals before its features, so every signal due by a feature is there by then),
//!   they wait in the state until a sell-out feature of their category at or after
//!   their time, then join its memory in (time, id) order.
//! - The whole state (memory, waiting signals, read positions) is checkpointed
//!   atomically after every poll that read something ([`Repricer::with_checkpoint`]),
//!   so a killed repricer resumes with the memory it had; change ids derive from the
//!   triggering record's id, so a decision replayed after a crash appends nothing.
//!
//! [`Repricer::on_signal`] acts on a signal at once (at its own time), for callers that
//! hand the repricer single signals (the bench, tests).
//!
//! Models plug in through [`Optimiser`]; [`RuleBased`] keeps the loop running without
//! one. It reads the topics as the named consumer `pricing-repricer` and commits there
//! too, so lag shows like any other consumer's.
//!
//! # Layout
//! - `rules`: [`MarketView`], [`Optimiser`], [`RuleBased`] and [`RuleConfig`].
//! - `state`: the memory per category, waiting signals and the checkpoint.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sellout_ingest::records::{Id, Timestamp};
use sellout_pipelines::output::{
    FEATURES_TOPIC, FeatureBody, SIGNALS_TOPIC, decode_feature, decode_signal,
};
use sellout_pipelines::{Feature, Signal, SignalKind};

use crate::audit::Actor;
use crate::change::ChangeReason;
use crate::guardrails::{Decision, decide};
use crate::service::{Action, PricingError, PricingService};

mod rules;
mod state;

pub use rules::{MarketView, Optimiser, RuleBased, RuleConfig};
pub use state::{CheckpointError, SIGNALS_KEPT};
use state::{Memory, Pending, State};

/// Consumer name of the repricer on `signals` and `features`.
pub const CONSUMER: &str = "pricing-repricer";
/// Bytes read per fetch.
const FETCH_BYTES: usize = 1 << 20;

/// The repricing loop of one service.
pub struct Repricer {
    service: Arc<PricingService>,
    optimiser: Box<dyn Optimiser>,
    state: State,
    /// Where the state is checkpointed; without one, positions come from the consumer
    /// commits and the memory starts empty on every start.
    checkpoint: Option<PathBuf>,
    /// Whether the read positions are known (from the checkpoint or the commits).
    positioned: bool,
    /// Whether the checkpoint's positions were checked against the topics' ends.
    verified: bool,
}

impl std::fmt::Debug for Repricer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repricer")
            .field("optimiser", &self.optimiser.version())
            .field("categories", &self.state.memory.len())
            .field("checkpoint", &self.checkpoint)
            .finish()
    }
}

impl Repricer {
    /// A repricer writing through `service` with `optimiser`.
    pub fn new(service: Arc<PricingService>, optimiser: Box<dyn Optimiser>) -> Self {
        Self {
            service,
            optimiser,
            state: State::default(),
            checkpoint: None,
            positioned: false,
            verified: false,
        }
    }

    /// A repricer with the rule-based fallback from the service's configuration.
    pub fn rule_based(service: Arc<PricingService>) -> Self {
        let rules = RuleBased::new(service.config().rules.clone());
        Self::new(service, Box::new(rules))
    }

    /// Checkpoints the state at `path` after every poll that read something, and
    /// resumes from the checkpoint there if there is one. A damaged checkpoint is an
    /// error, never silently an empty memory.
    pub fn with_checkpoint(mut self, path: PathBuf) -> Result<Self, PricingError> {
        if let Some(state) = State::load(&path)? {
            tracing::info!(
                message = "Restored the repricer checkpoint.",
                path = %path.display(),
                categories = state.memory.len(),
                features_next = state.features_next,
                signals_next = state.signals_next
            );
            self.state = state;
            self.positioned = true;
        }
        self.checkpoint = Some(path);
        Ok(self)
    }

    /// The categories a signal is about: its own, or each of its event's.
    fn categories_of(&self, signal: &Signal) -> Vec<(Id, Id)> {
        let Some(event) = signal.event_id.as_ref() else {
            return Vec::new();
        };
        let snapshot = self.service.book().snapshot();
        let categories: Vec<Id> = match &signal.category_id {
            Some(c) => vec![c.clone()],
            None => snapshot
                .event(event)
                .map(|e| e.categories.iter().map(|c| c.category_id.clone()).collect())
                .unwrap_or_default(),
        };
        categories
            .into_iter()
            .filter(|c| snapshot.category(event, c).is_some())
            .map(|c| (event.clone(), c))
            .collect()
    }

    /// Acts on a surge or slump at once, at the signal's time: remembers it for each
    /// category it is about (its own, or all of its event's) and reprices them.
    pub fn on_signal(&mut self, signal: &Signal) -> Result<Vec<Decision>, PricingError> {
        if !matches!(signal.kind, SignalKind::Surge | SignalKind::Slump) {
            return Ok(Vec::new());
        }
        let mut decisions = Vec::new();
        for (event, category) in self.categories_of(signal) {
            self.state
                .release(&event, &category, signal.time)
                .remember(signal.kind, signal.time);
            let trigger = signal.id.to_le_bytes();
            decisions.extend(self.reprice(&event, &category, &trigger, signal.time)?);
        }
        Ok(decisions)
    }

    /// Holds a surge or slump until its categories' next sell-out features.
    fn hold(&mut self, signal: &Signal) {
        if !matches!(signal.kind, SignalKind::Surge | SignalKind::Slump) {
            return;
        }
        for (event, category) in self.categories_of(signal) {
            let pending = Pending {
                id: signal.id,
                kind: signal.kind,
                time: signal.time,
            };
            self.state.hold(&event, &category, pending);
        }
    }

    /// Takes in a sell-out feature of a known category: the signals due by its time
    /// join the memory, the feature replaces the last one, and the category is
    /// repriced as of the feature's time.
    pub fn on_feature(&mut self, feature: &Feature) -> Result<Option<Decision>, PricingError> {
        let FeatureBody::SellOut(f) = &feature.body else {
            return Ok(None);
        };
        let snapshot = self.service.book().snapshot();
        if snapshot.category(&f.event_id, &f.category_id).is_none() {
            return Ok(None);
        }
        self.state
            .release(&f.event_id, &f.category_id, feature.time)
            .features = Some(f.clone());
        let trigger = feature.id.to_le_bytes();
        self.reprice(&f.event_id, &f.category_id, &trigger, feature.time)
    }

    /// Asks the optimiser about one category as of `now` (event time) and applies the
    /// guarded decision.
    pub fn reprice(
        &mut self,
        event: &str,
        category: &str,
        trigger: &[u8],
        now: Timestamp,
    ) -> Result<Option<Decision>, PricingError> {
        let empty = Memory::default();
        let memory = self
            .state
            .memory
            .get(&(Id::from(event), Id::from(category)))
            .unwrap_or(&empty);
        let optimiser = self.optimiser.as_ref();
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

    /// Reads what arrived on `features`, then on `signals` up to their end, holds the
    /// signals, acts on the features in order, then checkpoints and commits. Returns
    /// the records read.
    pub fn poll(&mut self) -> Result<u64, PricingError> {
        let transport = self.service.transport().clone();
        if !self.positioned {
            self.state.features_next = transport.committed(FEATURES_TOPIC, CONSUMER)?.unwrap_or(0);
            self.state.signals_next = transport.committed(SIGNALS_TOPIC, CONSUMER)?.unwrap_or(0);
            self.positioned = true;
        }
        if let Some(path) = self.checkpoint.as_ref().filter(|_| !self.verified) {
            for (topic, at) in [
                (FEATURES_TOPIC, self.state.features_next),
                (SIGNALS_TOPIC, self.state.signals_next),
            ] {
                let end = transport.offsets(topic)?.end;
                if at > end {
                    return Err(CheckpointError::ahead(path, topic, at, end).into());
                }
            }
            self.verified = true;
        }
        let features = transport.read(FEATURES_TOPIC, self.state.features_next, FETCH_BYTES)?;
        let mut read = 0;
        // After the features: every signal appended before them is read now.
        loop {
            let signals = transport.read(SIGNALS_TOPIC, self.state.signals_next, FETCH_BYTES)?;
            if signals.is_empty() {
                break;
            }
            for r in signals.records() {
                read += 1;
                match decode_signal(r.value) {
                    Ok(s) => self.hold(&s),
                    Err(error) => tracing::warn!(message = "Skipped a signal.", %error),
                }
            }
            self.state.signals_next = signals.next_offset();
        }
        for r in features.records() {
            read += 1;
            match decode_feature(r.value) {
                Ok(f) => drop(self.on_feature(&f)?),
                Err(error) => tracing::warn!(message = "Skipped a feature.", %error),
            }
        }
        if !features.is_empty() {
            self.state.features_next = features.next_offset();
        }
        if read > 0 {
            if let Some(path) = &self.checkpoint {
                self.state.save(path)?;
            }
            transport.commit(FEATURES_TOPIC, CONSUMER, self.state.features_next)?;
            transport.commit(SIGNALS_TOPIC, CONSUMER, self.state.signals_next)?;
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
