//! Audience queries on the embedded store (bitmaps only), beacon sightings, slot
//! resolution, and the [`InstallationStore`] impl.

use async_trait::async_trait;
use roaring::RoaringBitmap;

use super::EmbeddedStore;
use crate::installation::{Installation, PatchOp};
use crate::store::{InstallationStore, Page, Selection, StoreError};
use crate::tags::TagExpr;
use crate::zones::Near;

impl EmbeddedStore {
    /// Records a beacon sighting; `false` when the installation is unknown.
    pub fn sighting(
        &self,
        installation_id: &str,
        venue_id: &str,
        zone_id: &str,
        time_ms: i64,
    ) -> bool {
        let mut g = self.write();
        let Some(slot) = g.arena.slot_of(installation_id) else {
            return false;
        };
        g.zones.sighting(slot, venue_id, zone_id, time_ms);
        true
    }

    /// The targetable slots matching `expr` AND seen near `near` (each optional) at
    /// `now_ms`. For "tags OR near", union two calls.
    pub fn select(
        &self,
        expr: Option<&TagExpr>,
        near: Option<&Near>,
        now_ms: i64,
    ) -> RoaringBitmap {
        let g = self.read();
        let mut out = g.index.select(expr, now_ms);
        if let Some(n) = near {
            out &= g.zones.near(n, now_ms);
        }
        out
    }

    /// The installation at `slot` (slots come from [`select`](Self::select); they are
    /// valid until the next change).
    pub fn installation_at(&self, slot: u32) -> Option<Installation> {
        self.read().installation(slot)
    }

    /// Up to `limit` installations for the given slots, in slot order.
    pub fn resolve(&self, slots: &RoaringBitmap, limit: usize) -> Vec<Installation> {
        let g = self.read();
        slots
            .iter()
            .filter_map(|s| g.installation(s))
            .take(limit)
            .collect()
    }

    /// Up to `limit` installation ids for the given slots, in slot order.
    pub fn ids(&self, slots: &RoaringBitmap, limit: usize) -> Vec<String> {
        let g = self.read();
        slots
            .iter()
            .filter_map(|s| g.arena.id_at(s).map(str::to_string))
            .take(limit)
            .collect()
    }

    /// The tag-bitmap bytes and arena bytes held in memory (for the benchmark).
    pub fn memory_breakdown(&self) -> (usize, usize) {
        let g = self.read();
        (g.index.bitmap_bytes(), g.arena.bytes.capacity())
    }
}

#[async_trait]
impl InstallationStore for EmbeddedStore {
    async fn upsert(&self, inst: Installation) -> Result<(), StoreError> {
        EmbeddedStore::upsert(self, inst)
    }

    async fn patch(&self, id: &str, ops: &[PatchOp]) -> Result<Installation, StoreError> {
        EmbeddedStore::patch(self, id, ops)
    }

    async fn get(&self, id: &str) -> Result<Option<Installation>, StoreError> {
        Ok(EmbeddedStore::get(self, id))
    }

    async fn erase(&self, id: &str) -> Result<bool, StoreError> {
        EmbeddedStore::erase(self, id)
    }

    async fn select(
        &self,
        expr: Option<&TagExpr>,
        now_ms: i64,
        sample: usize,
    ) -> Result<Selection, StoreError> {
        let slots = EmbeddedStore::select(self, expr, None, now_ms);
        Ok(Selection {
            count: slots.len(),
            sample: self.ids(&slots, sample),
        })
    }

    /// The cursor is the last slot returned; a change between pages may skip or
    /// repeat an installation that moved (acceptable for sends: deliveries dedupe).
    async fn scan(
        &self,
        expr: Option<&TagExpr>,
        now_ms: i64,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let from = match cursor {
            None => 0,
            Some(c) => c
                .parse::<u32>()
                .ok()
                .and_then(|s| s.checked_add(1))
                .ok_or_else(|| {
                    StoreError::Invalid(crate::installation::ValidationError::new(
                        "cursor",
                        "not a cursor from this store",
                    ))
                })?,
        };
        let mut slots = EmbeddedStore::select(self, expr, None, now_ms);
        slots.remove_range(..from);
        let g = self.read();
        let mut installations = Vec::new();
        let mut last = None;
        for s in slots.iter() {
            if installations.len() >= limit {
                break;
            }
            if let Some(i) = g.installation(s) {
                installations.push(i);
                last = Some(s);
            }
        }
        let next = match last {
            Some(l) if installations.len() >= limit && slots.max() != Some(l) => {
                Some(l.to_string())
            }
            _ => None,
        };
        Ok(Page {
            installations,
            next,
        })
    }
}
