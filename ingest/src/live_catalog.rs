//! The catalog at run time: [`CatalogChange`]s on the `catalog` topic and the
//! [`LiveCatalog`] every component reads.
//!
//! The catalog file is where a process starts; admin edits (a new event, a new
//! category, a venue, a capacity) are appended to the `catalog` topic, and every
//! process rebuilds the same catalog by applying that topic in order on top of its
//! file. So a replica of the pricing service, the ingest validation and the pipelines
//! of another process all learn of a new event from the stream, not from a restart.
//!
//! A change is checked against the current catalog before it is appended
//! ([`Catalog::apply`]); a change that no longer applies when read back (two admins
//! racing) is skipped with a warning and counted, never half-applied.
//!
//! Readers on hot paths take [`LiveCatalog::load`] (a shared `Arc`, one read lock) or
//! keep a [`CatalogReader`] that reloads only when the catalog's version moved.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use sellout_streams::{Batch, Offset, StreamError, Timestamp, Transport};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CatalogError, Event, Venue};
use crate::records::Id;

/// The topic catalog changes are appended to.
pub const CATALOG_TOPIC: &str = "catalog";

/// Bytes read from the topic per fetch.
const READ_BYTES: usize = 1 << 20;

/// One edit of the catalog. Externally tagged (`{"upsert_event": {...}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CatalogChange {
    /// Adds a venue, or replaces one (its events keep referring to it by id).
    UpsertVenue(Venue),
    /// Adds an event, or replaces one. Once its sale has opened, a replacement may add
    /// categories but not remove any, nor move the event to another venue.
    UpsertEvent(Event),
    /// Sets the sellable capacity of one category.
    SetCapacity {
        /// The event.
        event_id: Id,
        /// The category.
        category_id: Id,
        /// New sellable seats.
        capacity: u32,
    },
}

impl CatalogChange {
    /// The key the change is partitioned by (its event, else its venue).
    pub fn key(&self) -> &str {
        match self {
            CatalogChange::UpsertVenue(v) => &v.venue_id,
            CatalogChange::UpsertEvent(e) => &e.event_id,
            CatalogChange::SetCapacity { event_id, .. } => event_id,
        }
    }
}

/// A change as stored on the topic: when it was made and what it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogRecord {
    /// When the change was made.
    pub time: Timestamp,
    /// The change.
    pub change: CatalogChange,
}

impl Catalog {
    /// The catalog with `change` applied, checked as a whole; `now` decides whether an
    /// event's sale has opened. `self` is left as it was.
    pub fn apply(&self, change: &CatalogChange, now: Timestamp) -> Result<Catalog, CatalogError> {
        let bad = |m: String| Err(CatalogError::Inconsistent(m));
        let mut venues = self.venues.clone();
        let mut events = self.events.clone();
        match change {
            CatalogChange::UpsertVenue(v) => {
                match venues.iter_mut().find(|o| o.venue_id == v.venue_id) {
                    Some(old) => *old = v.clone(),
                    None => venues.push(v.clone()),
                }
            }
            CatalogChange::UpsertEvent(e) => {
                match events.iter_mut().find(|o| o.event_id == e.event_id) {
                    Some(old) => {
                        if now >= old.on_sale {
                            if old.venue_id != e.venue_id {
                                return bad(format!(
                                    "event {} is on sale: it can't move from venue {} to {}",
                                    e.event_id, old.venue_id, e.venue_id
                                ));
                            }
                            if let Some(gone) = old
                                .categories
                                .iter()
                                .find(|c| e.category(&c.category_id).is_none())
                            {
                                return bad(format!(
                                    "event {} is on sale: category {} can't be removed (set its capacity to 0 instead)",
                                    e.event_id, gone.category_id
                                ));
                            }
                        }
                        *old = e.clone();
                    }
                    None => events.push(e.clone()),
                }
            }
            CatalogChange::SetCapacity {
                event_id,
                category_id,
                capacity,
            } => {
                let Some(event) = events.iter_mut().find(|e| e.event_id == *event_id) else {
                    return bad(format!("unknown event {event_id}"));
                };
                let Some(category) = event
                    .categories
                    .iter_mut()
                    .find(|c| c.category_id == *category_id)
                else {
                    return bad(format!(
                        "unknown category {category_id} of event {event_id}"
                    ));
                };
                category.capacity = *capacity;
            }
        }
        Catalog::new(venues, events)
    }
}

/// Why the live catalog could not be changed or caught up.
#[derive(Debug, thiserror::Error)]
pub enum LiveCatalogError {
    /// The change does not apply to the current catalog.
    #[error(transparent)]
    Rejected(#[from] CatalogError),
    /// The topic could not be read or written.
    #[error("catalog topic: {0}")]
    Stream(#[from] StreamError),
}

/// The current catalog, shared by every component of a process.
#[derive(Debug)]
pub struct LiveCatalog {
    current: RwLock<Arc<Catalog>>,
    version: AtomicU64,
    /// Next offset to read on the topic; held while catching up, so one at a time.
    offset: Mutex<Offset>,
    skipped: AtomicU64,
}

impl LiveCatalog {
    /// A live catalog starting from `base` (the catalog file) at the topic's start.
    pub fn new(base: Catalog) -> Self {
        Self {
            current: RwLock::new(Arc::new(base)),
            version: AtomicU64::new(0),
            offset: Mutex::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// The catalog now.
    pub fn load(&self) -> Arc<Catalog> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Counts the changes applied so far: a reader that saw version `v` has the
    /// current catalog while `version() == v`.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Changes read back that no longer applied (skipped with a warning).
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Applies everything appended to the topic since the last call; returns how many
    /// changes were applied.
    pub fn catch_up(&self, transport: &dyn Transport) -> Result<usize, LiveCatalogError> {
        let mut offset = self.offset.lock().unwrap_or_else(|p| p.into_inner());
        let mut applied = 0;
        loop {
            let fetched = transport.read(CATALOG_TOPIC, *offset, READ_BYTES)?;
            if fetched.is_empty() {
                break;
            }
            let mut next = self.load();
            for r in fetched.records() {
                let record: CatalogRecord = match serde_json::from_slice(r.value) {
                    Ok(record) => record,
                    Err(error) => {
                        tracing::warn!(message = "Skipped an undecodable catalog record.", offset = r.offset, %error);
                        self.skipped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                match next.apply(&record.change, record.time) {
                    Ok(c) => {
                        next = Arc::new(c);
                        applied += 1;
                    }
                    Err(error) => {
                        tracing::warn!(message = "Skipped a catalog change that no longer applies.", offset = r.offset, %error);
                        self.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = next;
            self.version.fetch_add(1, Ordering::AcqRel);
            *offset = fetched.next_offset();
        }
        Ok(applied)
    }

    /// Checks `change` against the caught-up catalog, appends it and applies it.
    /// Callers that may race (several admin replicas) should serialise their writes;
    /// a change that lost a race is skipped on read-back, never half-applied.
    pub fn change(
        &self,
        transport: &dyn Transport,
        change: CatalogChange,
        now: Timestamp,
    ) -> Result<Arc<Catalog>, LiveCatalogError> {
        self.catch_up(transport)?;
        self.load().apply(&change, now)?;
        let record = CatalogRecord { time: now, change };
        let mut batch = Batch::new();
        batch.push_with(record.change.key().as_bytes(), now, |buf| {
            // Serialising our own plain structs to a Vec cannot fail.
            let _ = serde_json::to_writer(buf, &record);
        });
        transport.append(CATALOG_TOPIC, &batch)?;
        self.catch_up(transport)?;
        Ok(self.load())
    }
}

/// A reader's cached view of a [`LiveCatalog`], reloaded only when it changed: for
/// per-record lookups on hot paths (one atomic load per call).
#[derive(Debug, Clone)]
pub struct CatalogReader {
    live: Arc<LiveCatalog>,
    cached: Arc<Catalog>,
    version: u64,
}

impl CatalogReader {
    /// A reader of `live`.
    pub fn new(live: Arc<LiveCatalog>) -> Self {
        let version = live.version();
        let cached = live.load();
        Self {
            live,
            cached,
            version,
        }
    }

    /// The current catalog.
    pub fn get(&mut self) -> &Arc<Catalog> {
        let v = self.live.version();
        if v != self.version {
            self.cached = self.live.load();
            self.version = v;
        }
        &self.cached
    }
}

/// What a component can be given as its catalog: a fixed one (tests, bounded runs) or
/// the process's live one.
pub trait IntoLiveCatalog {
    /// The live catalog (a fixed catalog becomes one that nobody changes).
    fn into_live(self) -> Arc<LiveCatalog>;
}

impl IntoLiveCatalog for Arc<LiveCatalog> {
    fn into_live(self) -> Arc<LiveCatalog> {
        self
    }
}

impl IntoLiveCatalog for Arc<Catalog> {
    fn into_live(self) -> Arc<LiveCatalog> {
        Arc::new(LiveCatalog::new(Arc::unwrap_or_clone(self)))
    }
}

impl IntoLiveCatalog for Catalog {
    fn into_live(self) -> Arc<LiveCatalog> {
        Arc::new(LiveCatalog::new(self))
    }
}
