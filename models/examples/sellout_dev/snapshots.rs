//! The scored snapshots indexed for the dev example's tables (`bias.rs`, `spread.rs`):
//! each event's first snapshot (its on-sale) and each category's snapshot at a time, to
//! read what a category sold over a window.

use std::collections::HashMap;

use sellout_models::history::Labelled;

/// `data` by event and by (category, time).
pub struct Snapshots<'a> {
    first: HashMap<(u64, &'a str), i64>,
    at: HashMap<(u64, &'a str, &'a str, i64), &'a Labelled>,
}

impl<'a> Snapshots<'a> {
    pub fn new(data: &'a [Labelled]) -> Self {
        let mut first: HashMap<(u64, &str), i64> = HashMap::new();
        let mut at = HashMap::new();
        for l in data {
            let f = &l.features;
            let t = first.entry((l.seed, f.event_id.as_str())).or_insert(l.time);
            *t = (*t).min(l.time);
            at.insert(
                (l.seed, f.event_id.as_str(), f.category_id.as_str(), l.time),
                l,
            );
        }
        Self { first, at }
    }

    /// Hours from the event's first snapshot to `l`.
    pub fn age_h(&self, l: &Labelled) -> f64 {
        let first = self
            .first
            .get(&(l.seed, l.features.event_id.as_str()))
            .copied()
            .unwrap_or(l.time);
        (l.time - first) as f64 / 3_600_000.0
    }

    /// The snapshot of `l`'s category at `time`.
    pub fn at(&self, l: &Labelled, time: i64) -> Option<&'a Labelled> {
        let f = &l.features;
        self.at
            .get(&(l.seed, f.event_id.as_str(), f.category_id.as_str(), time))
            .copied()
    }
}
