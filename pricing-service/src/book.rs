//! The [`PriceBook`]: the current price of every (event, category), the admin policy
//! that bounds it, and a bounded history, rebuilt from the `prices` and `price-policy`
//! topics and followed live.
//!
//! Readers take an immutable [`Snapshot`] (an `Arc` clone under a lock held for a few
//! nanoseconds) and never block writers or each other. The writer reads whole batches
//! from the transport, applies everything it fetched to a copy (per-event entries are
//! `Arc`s, so only touched events are copied), then swaps the snapshot in one step:
//! a reader sees all of a fetched batch or none of it. Each event's JSON answer is
//! rendered once per change, not once per request.
//!
//! The book validates nothing against guardrails: the topics are authoritative, so a
//! replica replaying them ends with exactly the live book. Undecodable records and
//! records for categories the catalog doesn't know are skipped, logged and counted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::body::Bytes;
use rustc_hash::FxHashMap;
use sellout_ingest::catalog::{Catalog, Category};
use sellout_ingest::records::{Id, Timestamp};
use sellout_streams::{Fetched, Offset, StreamError, Transport};
use serde::Serialize;
use tokio::sync::{Notify, broadcast};

use crate::change::{
    POLICY_TOPIC, PRICES_TOPIC, PolicyChange, PolicyUpdate, PriceChange, PriceRange, decode_json,
};

/// Bytes asked for per read while catching up.
const READ_BYTES: usize = 1 << 20;

/// One category's price and the policy that bounds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryState {
    /// The category.
    pub category_id: Id,
    /// Display name.
    pub name: String,
    /// Sellable seats.
    pub capacity: u32,
    /// The price now, in minor units, all-in.
    pub price_minor: i64,
    /// ISO 4217 currency.
    pub currency: Id,
    /// The catalog's list price.
    pub list_minor: i64,
    /// Lowest price allowed.
    pub floor_minor: i64,
    /// Highest price allowed.
    pub cap_minor: i64,
    /// The range announced to fans.
    pub published_range: Option<PriceRange>,
    /// Frozen by an admin.
    pub frozen: bool,
    /// Manual price set by an admin.
    pub override_minor: Option<i64>,
    /// When the price last changed (`None`: still the list price).
    pub changed_at: Option<Timestamp>,
    /// Changes applied so far.
    pub changes: u64,
    /// The latest changes, oldest first, at most `history_len`.
    #[serde(skip)]
    pub history: Arc<VecDeque<PriceChange>>,
}

/// All categories of one event, with its answer pre-rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPrices {
    /// The event.
    pub event_id: Id,
    /// Its categories, in catalog order.
    pub categories: Vec<CategoryState>,
    /// `GET /v1/events/{id}/prices` answer, rendered when the event last changed.
    pub json: Bytes,
}

impl EventPrices {
    /// The category with this id.
    pub fn category(&self, category_id: &str) -> Option<&CategoryState> {
        self.categories
            .iter()
            .find(|c| c.category_id == category_id)
    }

    fn render(&mut self) {
        #[derive(Serialize)]
        struct View<'a> {
            event_id: &'a str,
            categories: &'a [CategoryState],
        }
        let view = View {
            event_id: &self.event_id,
            categories: &self.categories,
        };
        self.json = Bytes::from(serde_json::to_vec(&view).unwrap_or_default());
    }
}

/// An immutable view of the whole book.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Events by id.
    pub events: FxHashMap<Id, Arc<EventPrices>>,
    /// Next offset to read on `prices`.
    pub prices_offset: Offset,
    /// Next offset to read on `price-policy`.
    pub policy_offset: Offset,
}

impl Snapshot {
    /// The event with this id.
    pub fn event(&self, event_id: &str) -> Option<&Arc<EventPrices>> {
        self.events.get(event_id)
    }

    /// The category of an event.
    pub fn category(&self, event_id: &str, category_id: &str) -> Option<&CategoryState> {
        self.event(event_id)?.category(category_id)
    }
}

/// Why the book could not catch up.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// The transport failed.
    #[error("reading the price topics: {0}")]
    Stream(#[from] StreamError),
}

/// What one [`PriceBook::catch_up`] applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatchUp {
    /// Price changes applied.
    pub changes: u64,
    /// Policy updates applied.
    pub policies: u64,
    /// Records skipped (undecodable, or for an unknown category).
    pub skipped: u64,
}

/// The live price book. Share it in an `Arc`.
#[derive(Debug)]
pub struct PriceBook {
    current: RwLock<Arc<Snapshot>>,
    writer: Mutex<()>,
    history_len: usize,
    changes_tx: broadcast::Sender<Arc<PriceChange>>,
    poke: Notify,
    ready: AtomicBool,
    applied: AtomicU64,
    skipped: AtomicU64,
}

impl PriceBook {
    /// A book at the catalog's list prices, keeping `history_len` changes per category
    /// and buffering `stream_capacity` changes for live subscribers.
    pub fn new(catalog: &Catalog, history_len: usize, stream_capacity: usize) -> Self {
        let mut snapshot = Snapshot::default();
        sync_catalog(&mut snapshot, catalog);
        Self {
            current: RwLock::new(Arc::new(snapshot)),
            writer: Mutex::new(()),
            history_len: history_len.max(1),
            changes_tx: broadcast::channel(stream_capacity.max(1)).0,
            poke: Notify::new(),
            ready: AtomicBool::new(false),
            applied: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Live price changes, as they become visible (a slow subscriber lags, it never
    /// makes the book wait or grow).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<PriceChange>> {
        self.changes_tx.subscribe()
    }

    /// True once the book has caught up with the topics at least once.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Price changes applied since start, and records skipped.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.applied.load(Ordering::Relaxed),
            self.skipped.load(Ordering::Relaxed),
        )
    }

    /// Wakes [`PriceBook::follow`] now (after a local append), instead of at its next poll.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Reads and applies everything appended to the topics since the last call, one
    /// fetched read at a time, each published as one new snapshot.
    pub fn catch_up(&self, transport: &dyn Transport) -> Result<CatchUp, BookError> {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut total = CatchUp::default();
        loop {
            let base = self.snapshot();
            let policy = read_from(transport, POLICY_TOPIC, base.policy_offset)?;
            let prices = read_from(transport, PRICES_TOPIC, base.prices_offset)?;
            if policy.is_empty() && prices.is_empty() {
                break;
            }
            let mut next = (*base).clone();
            let mut touched: Vec<Id> = Vec::new();
            let mut published = Vec::new();
            for r in policy.records() {
                match decode_json::<PolicyUpdate>("policy update", r.offset, r.value) {
                    Ok(u) if apply_policy(&mut next, &u) => {
                        total.policies += 1;
                        touched.push(u.event_id);
                    }
                    Ok(u) => skip(&mut total, &u.event_id, &u.category_id),
                    Err(error) => {
                        tracing::warn!(message = "Skipped a policy record.", %error);
                        total.skipped += 1;
                    }
                }
            }
            for r in prices.records() {
                match decode_json::<PriceChange>("price change", r.offset, r.value) {
                    Ok(c) if apply_change(&mut next, &c, self.history_len) => {
                        total.changes += 1;
                        touched.push(c.event_id.clone());
                        published.push(Arc::new(c));
                    }
                    Ok(c) => skip(&mut total, &c.event_id, &c.category_id),
                    Err(error) => {
                        tracing::warn!(message = "Skipped a price record.", %error);
                        total.skipped += 1;
                    }
                }
            }
            touched.sort_unstable();
            touched.dedup();
            for id in &touched {
                if let Some(e) = next.events.get_mut(id) {
                    Arc::make_mut(e).render();
                }
            }
            next.policy_offset = policy.next_offset();
            next.prices_offset = prices.next_offset();
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
            for change in published {
                // No subscriber is fine: nobody is watching.
                let _ = self.changes_tx.send(change);
            }
        }
        self.applied.fetch_add(total.changes, Ordering::Relaxed);
        self.skipped.fetch_add(total.skipped, Ordering::Relaxed);
        self.ready.store(true, Ordering::Release);
        Ok(total)
    }

    /// Takes in what the catalog added since the book was built: new events and
    /// categories (at their list price), new names and capacities. Prices, limits and
    /// policy stay what the topics made them. Publishes a snapshot only when something
    /// changed.
    pub fn sync_catalog(&self, catalog: &Catalog) {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = (*self.snapshot()).clone();
        if sync_catalog(&mut next, catalog) {
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        }
    }

    /// Resolves at the next [`PriceBook::poke`].
    pub async fn notified(&self) {
        self.poke.notified().await;
    }
}

/// A category as the catalog lists it, before any price change.
fn fresh(c: &Category) -> CategoryState {
    CategoryState {
        category_id: c.category_id.clone(),
        name: c.name.clone(),
        capacity: c.capacity,
        price_minor: c.list_price_minor,
        currency: c.currency.clone(),
        list_minor: c.list_price_minor,
        floor_minor: c.floor_minor,
        cap_minor: c.cap_minor,
        published_range: None,
        frozen: false,
        override_minor: None,
        changed_at: None,
        changes: 0,
        history: Arc::default(),
    }
}

/// Adds the catalog's events and categories `s` lacks and refreshes names and
/// capacities; true when anything changed.
fn sync_catalog(s: &mut Snapshot, catalog: &Catalog) -> bool {
    let mut changed = false;
    for e in &catalog.events {
        let prices = s.events.entry(e.event_id.clone()).or_insert_with(|| {
            Arc::new(EventPrices {
                event_id: e.event_id.clone(),
                categories: Vec::new(),
                json: Bytes::new(),
            })
        });
        let stale = prices.categories.len() != e.categories.len()
            || e.categories.iter().any(|c| {
                prices
                    .category(&c.category_id)
                    .is_none_or(|p| p.capacity != c.capacity || p.name != c.name)
            });
        if !stale && !prices.json.is_empty() {
            continue;
        }
        let prices = Arc::make_mut(prices);
        // Only possible before the sale opened (the catalog refuses it after).
        prices
            .categories
            .retain(|p| e.category(&p.category_id).is_some());
        for c in &e.categories {
            match prices
                .categories
                .iter_mut()
                .find(|p| p.category_id == c.category_id)
            {
                Some(p) => {
                    p.capacity = c.capacity;
                    p.name.clone_from(&c.name);
                }
                None => prices.categories.push(fresh(c)),
            }
        }
        prices.render();
        changed = true;
    }
    changed
}

fn skip(total: &mut CatchUp, event_id: &str, category_id: &str) {
    tracing::warn!(
        message = "Skipped a record for an unknown category.",
        event_id,
        category_id
    );
    total.skipped += 1;
}

/// Reads from `from`, moving to the retained start when `from` was deleted.
fn read_from(transport: &dyn Transport, topic: &str, from: Offset) -> Result<Fetched, StreamError> {
    match transport.read(topic, from, READ_BYTES) {
        Err(StreamError::OffsetRetained { start, .. }) => {
            tracing::warn!(
                message = "Price topic offsets lost to retention.",
                topic,
                from,
                start
            );
            transport.read(topic, start, READ_BYTES)
        }
        other => other,
    }
}

fn category_mut<'a>(
    s: &'a mut Snapshot,
    event: &str,
    category: &str,
) -> Option<&'a mut CategoryState> {
    let e = s.events.get_mut(event)?;
    e.category(category)?;
    Arc::make_mut(e)
        .categories
        .iter_mut()
        .find(|c| c.category_id == category)
}

fn apply_change(s: &mut Snapshot, c: &PriceChange, history_len: usize) -> bool {
    let Some(cat) = category_mut(s, &c.event_id, &c.category_id) else {
        return false;
    };
    cat.price_minor = c.new_minor;
    cat.changed_at = Some(c.time);
    cat.changes += 1;
    let history = Arc::make_mut(&mut cat.history);
    if history.len() >= history_len {
        history.pop_front();
    }
    history.push_back(c.clone());
    true
}

fn apply_policy(s: &mut Snapshot, u: &PolicyUpdate) -> bool {
    let Some(cat) = category_mut(s, &u.event_id, &u.category_id) else {
        return false;
    };
    match &u.change {
        PolicyChange::Limits {
            floor_minor,
            cap_minor,
            published,
        } => {
            cat.floor_minor = *floor_minor;
            cat.cap_minor = *cap_minor;
            cat.published_range = *published;
        }
        PolicyChange::Freeze { frozen } => cat.frozen = *frozen,
        PolicyChange::Override { price_minor } => cat.override_minor = *price_minor,
    }
    true
}
