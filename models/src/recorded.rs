//! Training history from what the system recorded: the pipelines' own sell-out feature
//! snapshots (the `features` topic, archived as Parquet), each labelled from the same
//! record's future — when its category first showed no seats left.
//!
//! Training on these removes the skew between training and serving: the models learn
//! from exactly the features the live pipelines compute (abandonment and sentiment
//! included), not from the simulator's re-computation of them in [`crate::history`].
//!
//! Each event is one group (its `seed`), so the calibration split holds out whole
//! events, as it holds out whole simulated runs there.

use std::collections::BTreeMap;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::Timestamp;
use sellout_pipelines::output::SellOutFeatures;

use crate::history::Labelled;

/// Labels `snapshots` (time, features), in any order. An event in `catalog` closes at
/// its start and its categories' list prices come from there; for one the catalog
/// doesn't know, sales close at its last snapshot and the list price is the first price
/// seen. Returns the labelled rows sorted by event, category and time; snapshots after
/// a category sold out are dropped (their answer is certain).
pub fn label(snapshots: Vec<(Timestamp, SellOutFeatures)>, catalog: &Catalog) -> Vec<Labelled> {
    let mut by_category: BTreeMap<(String, String), Vec<(Timestamp, SellOutFeatures)>> =
        BTreeMap::new();
    for (time, f) in snapshots {
        by_category
            .entry((f.event_id.to_string(), f.category_id.to_string()))
            .or_default()
            .push((time, f));
    }
    let events: Vec<String> = {
        let mut e: Vec<String> = by_category.keys().map(|(e, _)| e.clone()).collect();
        e.dedup();
        e
    };
    let mut rows = Vec::new();
    for ((event_id, category_id), mut snaps) in by_category {
        snaps.sort_by_key(|(t, _)| *t);
        let Some(last) = snaps.last().map(|(t, _)| *t) else {
            continue;
        };
        let event = catalog.event(&event_id);
        let sales_close = event.map_or(last, |e| e.start);
        let list_minor = event
            .and_then(|e| e.category(&category_id))
            .map(|c| c.list_price_minor)
            .or_else(|| snaps.first().map(|(_, f)| f.price_minor))
            .unwrap_or(0);
        let sold_out_at = snaps
            .iter()
            .find(|(_, f)| f.capacity > 0 && f.remaining == 0)
            .map(|(t, _)| *t);
        let seed = events.iter().position(|e| *e == event_id).unwrap_or(0) as u64;
        rows.extend(
            snaps
                .into_iter()
                .filter(|(t, _)| sold_out_at.is_none_or(|s| *t < s))
                .map(|(time, features)| Labelled {
                    seed,
                    time,
                    features,
                    list_minor,
                    sales_close,
                    sold_out_at,
                }),
        );
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(event: &str, category: &str, remaining: u32, hours: f64) -> SellOutFeatures {
        SellOutFeatures {
            event_id: event.into(),
            category_id: category.into(),
            capacity: 100,
            sold: 100 - remaining,
            remaining,
            sales_1m: 0,
            sales_15m: 0,
            sales_1h: 0,
            sales_24h: 0,
            sales_7d: 0,
            hours_since_on_sale: 0.0,
            opening_sold: 0,
            cart_adds_1h: 0,
            abandonment_rate_24h: 0.0,
            buzz_posts_1h: 0,
            buzz_sentiment_1h: 0.0,
            hours_to_event: hours,
            price_minor: 5_000,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn labels_come_from_the_first_sold_out_snapshot_and_events_are_groups() {
        let h = 3_600_000;
        let rows = label(
            vec![
                (3 * h, snap("b", "c1", 0, 7.0)),
                (h, snap("a", "c1", 50, 9.0)),
                (2 * h, snap("a", "c1", 10, 8.0)),
                (h, snap("b", "c1", 40, 9.0)),
                (4 * h, snap("b", "c1", 0, 6.0)),
            ],
            &Catalog::default(),
        );
        // a never sold out; b sold out at 3h, the later snapshot is dropped.
        assert_eq!(rows.len(), 3);
        assert!(
            rows.iter()
                .filter(|r| r.features.event_id == "a")
                .all(|r| r.sold_out_at.is_none() && r.seed == 0)
        );
        let b: Vec<_> = rows.iter().filter(|r| r.features.event_id == "b").collect();
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].sold_out_at, b[0].seed, b[0].sales_close),
            (Some(3 * h), 1, 4 * h)
        );
        assert_eq!(rows[0].list_minor, 5_000);
    }
}
