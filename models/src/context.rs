//! The event around a category: the seats left and the last day's sales of all its
//! categories still on sale. A category's own pace understates its future when its
//! neighbours sell out first (their shoppers look at it next), so the sell-out model
//! also reads the event's coverage and the category's share of the event's seats left.
//! Siblings that sold out within the last day count by their seats
//! ([`EventContext::recently_sold_out_capacity`]): their shoppers now look at the open
//! categories, which the last day's sales show only in part.

use std::collections::HashMap;

use sellout_pipelines::output::SellOutFeatures;
use serde::{Deserialize, Serialize};

use crate::history::Labelled;

const DAY_MS: i64 = 24 * 3_600_000;

/// The categories of one event still on sale at one snapshot, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventContext {
    /// Seats left over the event's categories on sale.
    pub remaining: u64,
    /// Their sales over the last 24 hours.
    pub sales_24h: u64,
    /// Their seats (capacity).
    #[serde(default)]
    pub capacity: u64,
    /// Their seats sold.
    #[serde(default)]
    pub sold: u64,
    /// Their sales over the last 15 minutes.
    #[serde(default)]
    pub sales_15m: u64,
    /// Their sales over the last hour.
    #[serde(default)]
    pub sales_1h: u64,
    /// Their sales over the last 7 days (as [`SellOutFeatures::sales_7d`]).
    #[serde(default)]
    pub sales_7d: u64,
    /// Seats of the event's categories that sold out within the last 24 hours (not in
    /// the sums above).
    #[serde(default)]
    pub recently_sold_out_capacity: u64,
    /// Their seats sold in the sale's opening hours (as
    /// [`SellOutFeatures::opening_sold`]).
    #[serde(default)]
    pub opening_sold: u64,
}

impl EventContext {
    /// The context of a category scored on its own (its event unknown): itself.
    pub fn alone(f: &SellOutFeatures) -> Self {
        Self {
            remaining: u64::from(f.remaining),
            sales_24h: u64::from(f.sales_24h),
            capacity: u64::from(f.capacity),
            sold: u64::from(f.sold),
            sales_15m: u64::from(f.sales_15m),
            sales_1h: u64::from(f.sales_1h),
            sales_7d: u64::from(f.sales_7d),
            recently_sold_out_capacity: 0,
            opening_sold: u64::from(f.opening_sold),
        }
    }

    /// Adds a sibling category's figures.
    fn add(&mut self, f: &SellOutFeatures) {
        self.remaining += u64::from(f.remaining);
        self.sales_24h += u64::from(f.sales_24h);
        self.capacity += u64::from(f.capacity);
        self.sold += u64::from(f.sold);
        self.sales_15m += u64::from(f.sales_15m);
        self.sales_1h += u64::from(f.sales_1h);
        self.sales_7d += u64::from(f.sales_7d);
        self.opening_sold += u64::from(f.opening_sold);
    }

    /// The context of `f` among `siblings` (the event's categories at the same moment,
    /// `f` itself included or not): sums over those with seats left, and the seats of
    /// those sold out that still sold within the last 24 hours.
    pub fn among<'a>(
        f: &SellOutFeatures,
        siblings: impl IntoIterator<Item = &'a SellOutFeatures>,
    ) -> Self {
        let mut context = Self::alone(f);
        for s in siblings {
            if s.category_id != f.category_id && s.event_id == f.event_id {
                if s.remaining > 0 {
                    context.add(s);
                } else if s.sales_24h > 0 {
                    context.recently_sold_out_capacity += u64::from(s.capacity);
                }
            }
        }
        context
    }
}

/// The context of every labelled snapshot, aligned with `data`: its event's snapshots
/// at the same time and seed, and the seats of its categories that sold out within the
/// 24 hours before (history stops snapshotting a category once it sells out; its rows
/// carry when).
pub fn contexts(data: &[Labelled]) -> Vec<EventContext> {
    let mut sums: HashMap<(u64, &str, i64), EventContext> = HashMap::new();
    for l in data.iter().filter(|l| l.features.remaining > 0) {
        let c = sums
            .entry((l.seed, l.features.event_id.as_str(), l.time))
            .or_default();
        c.add(&l.features);
    }
    // When each category sold out, with its seats, by event.
    type SoldOut<'a> = HashMap<&'a str, (i64, u64)>;
    let mut sold_out: HashMap<(u64, &str), SoldOut> = HashMap::new();
    for l in data {
        if let Some(t) = l.sold_out_at {
            sold_out
                .entry((l.seed, l.features.event_id.as_str()))
                .or_default()
                .insert(
                    l.features.category_id.as_str(),
                    (t, u64::from(l.features.capacity)),
                );
        }
    }
    data.iter()
        .map(|l| {
            let mut c = sums
                .get(&(l.seed, l.features.event_id.as_str(), l.time))
                .copied()
                .unwrap_or_else(|| EventContext::alone(&l.features));
            if let Some(cats) = sold_out.get(&(l.seed, l.features.event_id.as_str())) {
                c.recently_sold_out_capacity = cats
                    .iter()
                    .filter(|(id, (t, _))| {
                        **id != l.features.category_id.as_str()
                            && *t <= l.time
                            && *t > l.time - DAY_MS
                    })
                    .map(|(_, (_, cap))| cap)
                    .sum();
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{History, HistoryConfig, generate};

    /// Two events over three days, snapshotted daily.
    fn small_history() -> History {
        generate(&HistoryConfig {
            seeds: vec![4],
            events: 2,
            sale_days: 3.0,
            scale: 0.2,
            hotness: (0.3, 0.6),
            snapshot_hours: 24.0,
            price_factors: Vec::new(),
        })
        .unwrap()
    }

    #[test]
    fn a_snapshot_sees_its_events_open_categories_at_that_moment() {
        let h = small_history();
        let all = contexts(&h.snapshots);
        assert_eq!(all.len(), h.snapshots.len());
        for (l, c) in h.snapshots.iter().zip(&all) {
            let siblings: Vec<&Labelled> = h
                .snapshots
                .iter()
                .filter(|o| {
                    o.seed == l.seed
                        && o.time == l.time
                        && o.features.event_id == l.features.event_id
                })
                .collect();
            let remaining: u64 = siblings
                .iter()
                .map(|o| u64::from(o.features.remaining))
                .sum();
            let sales: u64 = siblings
                .iter()
                .map(|o| u64::from(o.features.sales_24h))
                .sum();
            let opening: u64 = siblings
                .iter()
                .map(|o| u64::from(o.features.opening_sold))
                .sum();
            assert_eq!(
                (c.remaining, c.sales_24h, c.opening_sold),
                (remaining, sales, opening)
            );
            assert!(c.remaining >= u64::from(l.features.remaining));
            let among = EventContext::among(&l.features, siblings.iter().map(|o| &o.features));
            assert_eq!(among, *c);
        }
        assert!(
            all.iter()
                .zip(&h.snapshots)
                .any(|(c, l)| c.remaining > u64::from(l.features.remaining))
        );
    }

    #[test]
    fn history_counts_siblings_sold_out_within_the_day_before() {
        let h = small_history();
        let mut rows = h.snapshots;
        rows.truncate(1);
        let Some(first) = rows.first().cloned() else {
            panic!("no snapshot");
        };
        // A sibling of 300 seats that sold out an hour before, and one a week before.
        let sibling = |id: &str, hours_before: i64| {
            let mut s = first.clone();
            s.features.category_id = id.into();
            s.features.capacity = 300;
            s.time = first.time - 2 * DAY_MS;
            s.sold_out_at = Some(first.time - hours_before * 3_600_000);
            s
        };
        rows.push(sibling("recent", 1));
        rows.push(sibling("long-ago", 24 * 7));
        let all = contexts(&rows);
        assert_eq!(all[0].recently_sold_out_capacity, 300);
        // Not for itself, and not before it sold out.
        assert_eq!(all[1].recently_sold_out_capacity, 0);
    }
}
