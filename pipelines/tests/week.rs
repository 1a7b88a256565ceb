//! The features job's 7-day sales: each snapshot's `sales_7d` is the count of the
//! category's purchases from the start of the hour 7 days before the snapshot's hour up
//! to the snapshot, whether the runner read the sales far ahead of the ticks (live, a
//! silent source holding the watermark back) or not (bounded); and `opening_sold`
//! counts the purchases of the on-sale's first hours before each snapshot.

use std::path::Path;
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, Topic};
use sellout_pipelines::output::FeatureBody;
use sellout_pipelines::{Engine, Feature, PipelinesConfig};

const T0: i64 = 1_793_527_200_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const WEEK: i64 = 7 * 24 * HOUR;

fn record(json: &str) -> AnyRecord {
    serde_json::from_str(json).expect("record")
}

fn purchase(quantity: u32, time: i64) -> AnyRecord {
    record(&format!(
        r#"{{"topic": "sales", "kind": "purchase", "event_id": "ev-1", "category_id": "cat-1", "session_id": "s-{time}", "quantity": {quantity}, "unit_price_minor": 5000, "currency": "GBP", "channel": "web", "time": {time}}}"#
    ))
}

fn post(time: i64) -> AnyRecord {
    record(&format!(
        r#"{{"topic": "social", "source": "x", "text": "Who else is going?", "language": "en", "author_reach": 10, "event_ids": ["ev-1"], "time": {time}}}"#
    ))
}

/// Purchases over nine days at uneven gaps (under a day, so the category stays
/// active), as (time, quantity), in time order.
fn sales() -> Vec<(i64, u32)> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::new();
    let mut t = T0 + MINUTE;
    while t < T0 + 9 * 24 * HOUR {
        out.push((t, 1 + (next() % 4) as u32));
        t += (7 + next() % 170) as i64 * MINUTE + (next() % 60_000) as i64;
    }
    out
}

/// The features job's snapshots over `records`; `finish`: the social topic is finished
/// after its one post (bounded), else it holds the watermark until the end (live).
fn features(records: &[AnyRecord], finish: bool) -> Vec<Feature> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/catalog.json");
    let catalog = Arc::new(Catalog::load(&path).expect("catalog"));
    let config = PipelinesConfig {
        jobs: vec!["features".into()],
        ..PipelinesConfig::default()
    };
    let mut engine = Engine::new(config, catalog).expect("engine");
    for (offset, r) in (0..).zip(records) {
        engine.process(r.topic(), offset, r, 0);
        if finish && r.topic() == Topic::Social {
            engine.finish_topic(Topic::Social);
        }
    }
    engine.finish();
    engine.take_outputs().1
}

#[test]
fn sales_7d_counts_the_purchases_of_the_week_before_each_snapshot_live_or_bounded() {
    let sales = sales();
    let mut records = vec![post(T0)];
    records.extend(sales.iter().map(|(t, q)| purchase(*q, *t)));
    let bounded = features(&records, true);
    let live = features(&records, false);
    assert_eq!(live, bounded, "a live run equals a bounded one");
    let (mut checked, mut beyond_a_day, mut beyond_the_week) = (0, 0, 0);
    for f in &bounded {
        let FeatureBody::SellOut(s) = &f.body else {
            continue;
        };
        let from = f.time.div_euclid(HOUR) * HOUR - WEEK;
        let expected: u32 = sales
            .iter()
            .filter(|(t, _)| *t >= from && *t < f.time)
            .map(|(_, q)| q)
            .sum();
        let all: u32 = sales
            .iter()
            .filter(|(t, _)| *t < f.time)
            .map(|(_, q)| q)
            .sum();
        assert_eq!(s.sales_7d, expected, "sales_7d at {}", f.time);
        checked += 1;
        beyond_a_day += usize::from(s.sales_7d > s.sales_24h);
        beyond_the_week += usize::from(s.sales_7d < all);
    }
    // Ticks every 15 minutes over nine days; the week's window both outgrows the day
    // and drops what is older than the week.
    assert!(checked > 800, "{checked} snapshots");
    assert!(
        beyond_a_day > 500 && beyond_the_week > 100,
        "{beyond_a_day} {beyond_the_week}"
    );
}

#[test]
fn opening_sold_counts_the_purchases_of_the_on_sales_first_hours_before_each_snapshot() {
    // The golden catalog's ev-1 goes on sale an hour before T0.
    let on_sale = T0 - HOUR;
    let until = on_sale + sellout_pipelines::output::OPENING_HOURS * HOUR;
    let sales = sales();
    let mut records = vec![post(T0)];
    records.extend(sales.iter().map(|(t, q)| purchase(*q, *t)));
    let bounded = features(&records, true);
    assert_eq!(
        features(&records, false),
        bounded,
        "a live run equals a bounded one"
    );
    let (mut during, mut beyond) = (0, 0);
    for f in &bounded {
        let FeatureBody::SellOut(s) = &f.body else {
            continue;
        };
        let expected: u32 = sales
            .iter()
            .filter(|(t, _)| *t < until && *t < f.time)
            .map(|(_, q)| q)
            .sum();
        assert_eq!(s.opening_sold, expected, "opening_sold at {}", f.time);
        let hours = (f.time - on_sale) as f64 / HOUR as f64;
        assert!((s.hours_since_on_sale - hours).abs() < 1e-9, "{s:?}");
        if f.time <= until {
            during += 1;
        } else {
            // Later sales are not the opening's.
            beyond += usize::from(s.sold > s.opening_sold);
        }
    }
    assert!(during > 5 && beyond > 500, "{during} {beyond}");
}
