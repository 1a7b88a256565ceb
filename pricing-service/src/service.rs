//! [`PricingService`]: the book, audit log, quotes and keys of one replica, and the
//! operations the API and the repricer share (quote, verify, apply a decision, admin
//! limits / freeze / override).
//!
//! Writes go to the topics first and become visible by catching up from them, so the
//! replica that wrote sees exactly what every other replica will see. Decide-and-append
//! is serialised within a replica (the `write` lock) so a repricer decision can't be
//! based on a price an admin override just replaced. Run the repricer in one replica.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::live_catalog::{IntoLiveCatalog, LiveCatalog};
use sellout_ingest::records::Id;
use sellout_pipelines::output::output_id;
use sellout_streams::{Batch, Clock, StreamError, Timestamp, Transport};
use tokio::sync::Semaphore;

use crate::audit::{Actor, AuditEntry, AuditLog};
use crate::auth::{ApiKeys, BadKeyHash};
use crate::book::{BookError, CategoryState, PriceBook};
use crate::change::{
    ChangeReason, DECISIONS_TOPIC, POLICY_TOPIC, PRICES_TOPIC, PolicyChange, PolicyUpdate,
    PriceChange, PriceRange, push_change, push_json,
};
use crate::config::PricingConfig;
use crate::guardrails::{Decision, GuardState, GuardrailKind, Outcome};
use crate::metrics::Metrics;
use crate::quotes::{HoldRegistry, KeyRing, KeyRingError, Quote, QuoteError, QuoteIds};

/// Why the service could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The quote keys are unusable.
    #[error(transparent)]
    QuoteKeys(#[from] KeyRingError),
    /// An API key hash is unusable.
    #[error(transparent)]
    ApiKeys(#[from] BadKeyHash),
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// No such event.
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
    /// No such category.
    #[error("unknown category {category:?} of event {event:?}")]
    UnknownCategory {
        /// The event.
        event: String,
        /// The category.
        category: String,
    },
    /// The request is well-formed but not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the state (e.g. a published range after the sale opened).
    #[error("{0}")]
    Conflict(String),
    /// A topic could not be written or read.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The book could not catch up.
    #[error(transparent)]
    Book(#[from] BookError),
    /// The catalog could not catch up.
    #[error(transparent)]
    Catalog(#[from] sellout_ingest::live_catalog::LiveCatalogError),
    /// The repricer's checkpoint could not be written or read.
    #[error(transparent)]
    Checkpoint(#[from] crate::repricer::CheckpointError),
}

/// New floor, cap and published range of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsRequest {
    /// Lowest price allowed.
    pub floor_minor: i64,
    /// Highest price allowed.
    pub cap_minor: i64,
    /// The range announced to fans (only before the sale opens).
    pub published_range: Option<PriceRange>,
}

/// Who acts, and how the change a decision makes is labelled.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    /// The repricer or an admin.
    pub actor: Actor,
    /// What is done (`reprice`, `override`, `limits`), for the audit.
    pub name: &'a str,
    /// The reason recorded on the price change.
    pub reason: ChangeReason,
    /// Bytes of what triggered it (a signal id): the change id derives from them, so a
    /// replay produces the same id.
    pub trigger: &'a [u8],
}

/// One replica of the pricing service. Build it with [`PricingService::new`].
pub struct PricingService {
    pub(crate) config: PricingConfig,
    catalog: Arc<LiveCatalog>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    book: PriceBook,
    audit: AuditLog,
    holds: HoldRegistry,
    keys: KeyRing,
    pub(crate) api_keys: ApiKeys,
    pub(crate) rates: crate::rate::KeyRates,
    ids: QuoteIds,
    metrics: Metrics,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) streams: Arc<Semaphore>,
    pub(crate) lag: Arc<crate::load::LagMonitor>,
    write: Mutex<()>,
    openapi: std::sync::RwLock<axum::body::Bytes>,
}

impl std::fmt::Debug for PricingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PricingService")
            .field("keys", &self.keys)
            .field("api_keys", &self.api_keys)
            .finish_non_exhaustive()
    }
}

impl PricingService {
    /// A replica over `transport`, with `catalog`'s list prices until the topics say
    /// otherwise. Call [`PricingService::catch_up`] (or spawn `follow`) before serving.
    pub fn new(
        config: PricingConfig,
        catalog: impl IntoLiveCatalog,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, SetupError> {
        let keys = KeyRing::new(&config.active_quote_key, &config.quote_keys)?;
        let api_keys = ApiKeys::from_hashes(&config.api_keys)?;
        let seed = format!("{}-{}", std::process::id(), clock.now_ms());
        let catalog = catalog.into_live();
        Ok(Arc::new(Self {
            book: PriceBook::new(&catalog.load(), config.history_len, config.stream_buffer),
            audit: AuditLog::new(config.audit_len),
            holds: HoldRegistry::new(),
            keys,
            rates: crate::rate::KeyRates::new(config.rate_limits, api_keys.len()),
            api_keys,
            ids: QuoteIds::new(seed.as_bytes()),
            metrics: Metrics::default(),
            slots: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            streams: Arc::new(Semaphore::new(config.max_streams.max(1))),
            lag: Arc::default(),
            write: Mutex::new(()),
            openapi: std::sync::RwLock::new(crate::openapi::document().to_string().into()),
            catalog,
            transport,
            clock,
            config,
        }))
    }

    /// The settings.
    pub fn config(&self) -> &PricingConfig {
        &self.config
    }
    /// The catalog now (it follows the `catalog` topic).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load()
    }
    /// The live catalog, to share with the other components of the process.
    pub fn live_catalog(&self) -> &Arc<LiveCatalog> {
        &self.catalog
    }
    /// The price book.
    pub fn book(&self) -> &PriceBook {
        &self.book
    }
    /// The audit window.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }
    /// Unexpired quotes.
    pub fn holds(&self) -> &HoldRegistry {
        &self.holds
    }
    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
    /// The transport.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }
    /// The OpenAPI document served at `/openapi.json`.
    pub fn openapi_json(&self) -> axum::body::Bytes {
        self.openapi
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Adds the routes of components served beside this API (ingest, SQL, notifier) to
    /// the document at `/openapi.json` (see [`crate::openapi::merge`]).
    pub fn extend_openapi(&self, fragment: &serde_json::Value) {
        let mut doc: serde_json::Value = serde_json::from_slice(&self.openapi_json())
            .unwrap_or_else(|_| crate::openapi::document());
        crate::openapi::merge(&mut doc, fragment);
        *self.openapi.write().unwrap_or_else(|p| p.into_inner()) = doc.to_string().into();
    }

    /// The request slots; holding them all makes the API shed (used by tests).
    pub fn slots(&self) -> &Arc<Semaphore> {
        &self.slots
    }

    /// Applies everything appended to the catalog, price, policy and audit topics.
    pub fn catch_up(&self) -> Result<(), PricingError> {
        if self.catalog.catch_up(self.transport.as_ref())? > 0 {
            self.book.sync_catalog(&self.catalog.load());
        }
        self.book.catch_up(self.transport.as_ref())?;
        self.audit.catch_up(self.transport.as_ref())?;
        Ok(())
    }

    /// Follows the topics until `shutdown` resolves (every `follow_poll_ms`, or at
    /// once after a local write).
    pub async fn follow(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        let poll = Duration::from_millis(self.config.follow_poll_ms.max(1));
        tokio::pin!(shutdown);
        loop {
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.catch_up()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(message = "Catch-up failed.", %error),
                Err(error) => tracing::warn!(message = "Catch-up task failed.", %error),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(poll) => {}
                () = self.book.notified() => {}
            }
        }
    }

    /// The current state of a category, or why there is none.
    pub fn category(&self, event: &str, category: &str) -> Result<CategoryState, PricingError> {
        let snap = self.book.snapshot();
        let e = snap
            .event(event)
            .ok_or_else(|| PricingError::UnknownEvent(event.into()))?;
        e.category(category)
            .cloned()
            .ok_or_else(|| PricingError::UnknownCategory {
                event: event.into(),
                category: category.into(),
            })
    }

    /// What the guardrails know about `cat` now.
    pub fn guard_state(&self, event: &str, cat: &CategoryState) -> GuardState {
        let now = self.clock.now_ms();
        GuardState {
            current_minor: cat.price_minor,
            last_change_at: cat.changed_at,
            floor_minor: cat.floor_minor,
            cap_minor: cat.cap_minor,
            published: cat.published_range,
            max_step_pct: self.config.max_step_pct,
            min_interval_ms: (self.config.min_interval_s as i64).saturating_mul(1000),
            frozen: cat.frozen,
            override_minor: cat.override_minor,
            held_quotes: self
                .holds
                .held_at(event, &cat.category_id, cat.price_minor, now),
            hold_blocks_raises: self.config.hold_blocks_raises,
        }
    }

    /// Runs `decide` on the category's current state under the write lock, then
    /// appends the change (if any) to `prices`, the decision to the audit topic, and
    /// catches up.
    pub fn decide_and_apply(
        &self,
        event: &str,
        category: &str,
        action: Action<'_>,
        decide: impl FnOnce(&GuardState) -> Option<Decision>,
    ) -> Result<Option<(Decision, Option<PriceChange>)>, PricingError> {
        let _write = self.write.lock().unwrap_or_else(|p| p.into_inner());
        self.catch_up()?;
        let cat = self.category(event, category)?;
        // A replay (after a crash before the repricer committed its position) gives
        // the same change id: the change is already in the book, so do nothing.
        let id = change_id(event, category, action.trigger);
        if cat.history.iter().any(|c| c.id == id) {
            return Ok(None);
        }
        let state = self.guard_state(event, &cat);
        let Some(decision) = decide(&state) else {
            return Ok(None);
        };
        let change = self.apply_locked(event, &cat, action, &decision)?;
        Ok(Some((decision, change)))
    }

    /// Appends the change a decision makes (if any) and its audit entry, then catches
    /// up. The caller holds the write lock.
    fn apply_locked(
        &self,
        event: &str,
        cat: &CategoryState,
        action: Action<'_>,
        decision: &Decision,
    ) -> Result<Option<PriceChange>, PricingError> {
        let category = cat.category_id.as_str();
        let change = match decision.outcome {
            Outcome::Changed {
                old_minor,
                new_minor,
            } => Some(PriceChange {
                id: output_id(&[
                    b"price",
                    event.as_bytes(),
                    category.as_bytes(),
                    action.trigger,
                ]),
                event_id: event.into(),
                category_id: cat.category_id.clone(),
                old_minor,
                new_minor,
                currency: cat.currency.clone(),
                reason: action.reason,
                detail: decision.proposal_reason.clone(),
                model_version: decision.model_version.clone(),
                guardrail: decision.guardrail,
                time: decision.time,
            }),
            Outcome::NoChange { .. } => None,
        };
        if let Some(c) = &change {
            let mut batch = Batch::new();
            push_change(&mut batch, c);
            self.transport.append(PRICES_TOPIC, &batch)?;
            self.metrics
                .decisions_changed
                .fetch_add(1, Ordering::Relaxed);
        } else {
            self.metrics
                .decisions_unchanged
                .fetch_add(1, Ordering::Relaxed);
        }
        self.audit_entry(
            event,
            category,
            action.actor,
            action.name,
            decision,
            change.as_ref(),
        )?;
        self.catch_up()?;
        self.book.poke();
        Ok(change)
    }

    fn audit_entry(
        &self,
        event: &str,
        category: &str,
        actor: Actor,
        action: &str,
        decision: &Decision,
        change: Option<&PriceChange>,
    ) -> Result<(), PricingError> {
        let entry = AuditEntry {
            event_id: event.into(),
            category_id: category.into(),
            actor,
            action: action.into(),
            decision: decision.clone(),
            change_id: change.map(|c| c.id),
        };
        let mut batch = Batch::new();
        push_json(&mut batch, event, decision.time, &entry);
        self.transport.append(DECISIONS_TOPIC, &batch)?;
        Ok(())
    }

    fn append_policy(
        &self,
        event: &str,
        category: &str,
        change: PolicyChange,
    ) -> Result<(), PricingError> {
        let update = PolicyUpdate {
            event_id: Id::from(event),
            category_id: Id::from(category),
            time: self.clock.now_ms(),
            change,
        };
        let mut batch = Batch::new();
        push_json(&mut batch, event, update.time, &update);
        self.transport.append(POLICY_TOPIC, &batch)?;
        self.book.catch_up(self.transport.as_ref())?;
        Ok(())
    }

    fn admin_decision(
        &self,
        reason: String,
        guardrail: GuardrailKind,
        outcome: Outcome,
        proposed: i64,
    ) -> Decision {
        Decision {
            outcome,
            guardrail: Some(guardrail),
            proposed_minor: proposed,
            proposal_reason: reason,
            model_version: "admin".into(),
            time: self.clock.now_ms(),
        }
    }
}

#[path = "service_admin.rs"]
mod admin;
#[path = "service_quotes.rs"]
mod quoting;
pub use quoting::QuoteRequest;

/// The deterministic id of the change `trigger` causes in a category.
fn change_id(event: &str, category: &str, trigger: &[u8]) -> u64 {
    output_id(&[b"price", event.as_bytes(), category.as_bytes(), trigger])
}
