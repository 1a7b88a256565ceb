//! Last-seen zones from beacon sightings: each installation's latest `(venue, zone,
//! time)`, and per zone the installations ordered by last-seen time, so "seen near
//! zone Z within the last N minutes" is a range query, not a scan.
//!
//! Kept in memory only (sightings are short-lived): a restart forgets them.

use std::collections::BTreeSet;

use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

/// A venue and a zone inside it.
pub type ZoneKey = (String, String);

/// "Seen in this zone within the last `within_ms`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Near {
    /// The venue id.
    pub venue: String,
    /// The zone id inside the venue.
    pub zone: String,
    /// How far back a sighting still counts, in milliseconds.
    pub within_ms: i64,
}

/// Last-seen zone per slot and the per-zone time-ordered sets.
#[derive(Debug, Default)]
pub struct ZoneIndex {
    last: FxHashMap<u32, (ZoneKey, i64)>,
    by_zone: FxHashMap<ZoneKey, BTreeSet<(i64, u32)>>,
}

impl ZoneIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `slot` was seen in `(venue, zone)` at `time_ms`. A sighting older
    /// than the one already held is ignored (sightings may arrive out of order).
    pub fn sighting(&mut self, slot: u32, venue: &str, zone: &str, time_ms: i64) {
        if let Some((_, t)) = self.last.get(&slot)
            && *t > time_ms
        {
            return;
        }
        self.forget(slot);
        let key = (venue.to_string(), zone.to_string());
        self.by_zone
            .entry(key.clone())
            .or_default()
            .insert((time_ms, slot));
        self.last.insert(slot, (key, time_ms));
    }

    /// Removes everything known about `slot` (erase, or the slot being reused).
    pub fn forget(&mut self, slot: u32) {
        if let Some((key, t)) = self.last.remove(&slot) {
            let now_empty = match self.by_zone.get_mut(&key) {
                Some(set) => {
                    set.remove(&(t, slot));
                    set.is_empty()
                }
                None => false,
            };
            if now_empty {
                self.by_zone.remove(&key);
            }
        }
    }

    /// The zone `slot` was last seen in, and when.
    pub fn last_seen(&self, slot: u32) -> Option<(&ZoneKey, i64)> {
        self.last.get(&slot).map(|(k, t)| (k, *t))
    }

    /// Slots last seen in the zone within `[now_ms - within_ms, now_ms]`.
    pub fn near(&self, near: &Near, now_ms: i64) -> RoaringBitmap {
        let key = (near.venue.clone(), near.zone.clone());
        let Some(set) = self.by_zone.get(&key) else {
            return RoaringBitmap::new();
        };
        let from = now_ms.saturating_sub(near.within_ms.max(0));
        set.range((from, 0)..=(now_ms, u32::MAX))
            .map(|(_, s)| *s)
            .collect()
    }

    /// How many slots have a last-seen zone.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Whether no slot has a last-seen zone.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(zone: &str, within_ms: i64) -> Near {
        Near {
            venue: "v1".into(),
            zone: zone.into(),
            within_ms,
        }
    }

    #[test]
    fn moves_between_zones_and_ages_out() {
        let mut z = ZoneIndex::new();
        z.sighting(1, "v1", "north", 1_000);
        z.sighting(2, "v1", "north", 5_000);
        z.sighting(3, "v1", "south", 5_000);
        let got: Vec<u32> = z.near(&near("north", 10_000), 6_000).iter().collect();
        assert_eq!(got, [1, 2]);
        // Only 2 is within 2 s of t=6 s.
        let got: Vec<u32> = z.near(&near("north", 2_000), 6_000).iter().collect();
        assert_eq!(got, [2]);
        // 1 moves south: it leaves north.
        z.sighting(1, "v1", "south", 5_500);
        let got: Vec<u32> = z.near(&near("north", 10_000), 6_000).iter().collect();
        assert_eq!(got, [2]);
        let got: Vec<u32> = z.near(&near("south", 10_000), 6_000).iter().collect();
        assert_eq!(got, [1, 3]);
        // An older sighting does not move it back.
        z.sighting(1, "v1", "north", 4_000);
        assert_eq!(z.last_seen(1).map(|(k, _)| k.1.as_str()), Some("south"));
        // Future sightings (after now) do not count.
        assert!(z.near(&near("south", 10_000), 5_200).contains(3));
        assert!(!z.near(&near("south", 10_000), 5_200).contains(1));
        // The same zone name in another venue is another zone.
        z.sighting(9, "v2", "north", 5_000);
        assert!(!z.near(&near("north", 10_000), 6_000).contains(9));
        z.forget(1);
        z.forget(3);
        assert!(z.near(&near("south", 10_000), 6_000).is_empty());
        assert_eq!(z.len(), 2);
    }
}
