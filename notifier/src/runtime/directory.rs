//! Where the runtime finds its audiences: the embedded store (its bitmap index and
//! zones, the default) or a store shared by a fleet of notifier instances (PostgreSQL
//! behind [`InstallationStore`]) together with this instance's own last-seen zones.
//!
//! With a shared store, tag expressions are evaluated by the store (SQL over a GIN
//! index), proximity by the zones this instance learnt from the `beacons` topic (every
//! instance follows it), and "tags AND near" by checking the few installations near a
//! zone against the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::Installation;
use crate::store::embedded::EmbeddedStore;
use crate::store::{InstallationStore, StoreError};
use crate::tags::TagExpr;
use crate::zones::{Near, ZoneIndex};

/// Installations fetched per page from a shared store.
const PAGE: usize = 5_000;

/// The installations an audience is chosen from; see the module docs.
pub enum Directory {
    /// The embedded store (bitmaps and zones in memory).
    Embedded(Arc<EmbeddedStore>),
    /// A store shared by several instances, and this instance's zones.
    Shared {
        /// The shared store.
        store: Arc<dyn InstallationStore>,
        /// Last-seen zones by installation, learnt from beacons.
        zones: Mutex<SharedZones>,
    },
}

/// Last-seen zones of a shared directory, by a local slot per installation id.
#[derive(Debug, Default)]
pub struct SharedZones {
    index: ZoneIndex,
    slots: HashMap<String, u32>,
    ids: Vec<String>,
}

impl Directory {
    /// A directory over a shared store.
    pub fn shared(store: Arc<dyn InstallationStore>) -> Self {
        Directory::Shared {
            store,
            zones: Mutex::new(SharedZones::default()),
        }
    }

    /// The store behind the installations routes.
    pub fn store(&self) -> Arc<dyn InstallationStore> {
        match self {
            Directory::Embedded(s) => s.clone(),
            Directory::Shared { store, .. } => store.clone(),
        }
    }

    /// Records a beacon sighting; false when the installation is unknown (embedded
    /// store only: a shared directory can't tell without asking the store).
    pub fn sighting(&self, installation: &str, venue: &str, zone: &str, time_ms: i64) -> bool {
        match self {
            Directory::Embedded(s) => s.sighting(installation, venue, zone, time_ms),
            Directory::Shared { zones, .. } => {
                let mut z = zones.lock().unwrap_or_else(|p| p.into_inner());
                let slot = match z.slots.get(installation) {
                    Some(s) => *s,
                    None => {
                        let Ok(slot) = u32::try_from(z.ids.len()) else {
                            return false;
                        };
                        z.ids.push(installation.to_owned());
                        z.slots.insert(installation.to_owned(), slot);
                        slot
                    }
                };
                z.index.sighting(slot, venue, zone, time_ms);
                true
            }
        }
    }

    /// Targetable installations matching `expr` and seen `near` (each optional), at
    /// most `limit`.
    pub async fn select(
        &self,
        expr: Option<&TagExpr>,
        near: Option<&Near>,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<Installation>, StoreError> {
        match self {
            Directory::Embedded(s) => {
                let bitmap = s.select(expr, near, now_ms);
                Ok(s.resolve(&bitmap, limit))
            }
            Directory::Shared { store, zones } => {
                if let Some(near) = near {
                    let ids: Vec<String> = {
                        let z = zones.lock().unwrap_or_else(|p| p.into_inner());
                        z.index
                            .near(near, now_ms)
                            .iter()
                            .filter_map(|slot| z.ids.get(slot as usize).cloned())
                            .collect()
                    };
                    let mut out = Vec::new();
                    for id in ids {
                        if out.len() >= limit {
                            break;
                        }
                        if let Some(i) = store.get(&id).await?
                            && targetable(&i, now_ms)
                            && expr
                                .is_none_or(|e| e.matches(&|t: &str| i.tags.iter().any(|x| x == t)))
                        {
                            out.push(i);
                        }
                    }
                    return Ok(out);
                }
                let mut out = Vec::new();
                let mut cursor: Option<String> = None;
                loop {
                    let page = store.scan(expr, now_ms, cursor.as_deref(), PAGE).await?;
                    out.extend(page.installations);
                    if out.len() >= limit || page.next.is_none() {
                        out.truncate(limit);
                        return Ok(out);
                    }
                    cursor = page.next;
                }
            }
        }
    }

    /// Erases an installation (a dead token): store, indexes and zones.
    pub async fn erase(&self, installation: &str) -> Result<bool, StoreError> {
        match self {
            Directory::Embedded(s) => s.erase(installation),
            Directory::Shared { store, zones } => {
                {
                    let mut z = zones.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(slot) = z.slots.remove(installation) {
                        z.index.forget(slot);
                        if let Some(id) = z.ids.get_mut(slot as usize) {
                            id.clear();
                        }
                    }
                }
                store.erase(installation).await
            }
        }
    }
}

fn targetable(i: &Installation, now_ms: i64) -> bool {
    i.expiration_ms.is_none_or(|t| t > now_ms)
}
