//! Investigation aid: where the oracle's by-start Brier loses to the model's. Trains as
//! the evaluation does, then prints both Briers by event and by time since on-sale.

use std::collections::BTreeMap;

use sellout_models::eval::EvalConfig;
use sellout_models::eval::oracle::Oracle;
use sellout_models::history::{self, HistoryConfig};
use sellout_models::sellout::Horizon;
use sellout_models::train;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let c = EvalConfig::default();
    let make = |seeds: &[u64]| {
        history::generate(&HistoryConfig {
            seeds: seeds.to_vec(),
            ..c.history.clone()
        })
    };
    let (tr, cal, test) = (
        make(&c.train_seeds)?,
        make(&c.calibration_seeds)?,
        make(&c.test_seeds)?,
    );
    let bundle = train::train(&tr.snapshots, &cal.snapshots)?;
    let mut oracle = Oracle::new(&test.truths);
    let horizon = Horizon::ByStart;
    let mut by_event: BTreeMap<(u64, String), [f64; 4]> = BTreeMap::new();
    let mut by_age: BTreeMap<i64, [f64; 4]> = BTreeMap::new();
    let mut first: BTreeMap<(u64, String), i64> = BTreeMap::new();
    for l in &test.snapshots {
        let k = (l.seed, l.features.event_id.to_string());
        let t = first.entry(k).or_insert(l.time);
        *t = (*t).min(l.time);
    }
    for l in &test.snapshots {
        let truth = test.truths.iter().find(|t| t.seed == l.seed);
        let Some(event) = truth.and_then(|t| t.event(&l.features.event_id)) else {
            continue;
        };
        // All categories still on sale at this time.
        let state: Vec<(usize, u32)> = test
            .snapshots
            .iter()
            .filter(|o| {
                o.seed == l.seed && o.time == l.time && o.features.event_id == l.features.event_id
            })
            .filter_map(|o| {
                event
                    .categories
                    .iter()
                    .position(|c| c.category_id == o.features.category_id.as_str())
                    .map(|i| (i, o.features.remaining))
            })
            .collect();
        let Some(q) = oracle.probability(l, horizon, &state) else {
            continue;
        };
        let p = bundle
            .sellout
            .probability(&l.features, l.list_minor, l.time, horizon);
        let y = if horizon.label(l.time, l.sold_out_at) {
            1.0
        } else {
            0.0
        };
        let k = (l.seed, l.features.event_id.to_string());
        let age = (l.time - first[&k]) / (24 * 3_600_000);
        for slot in [
            by_event.entry(k.clone()).or_default(),
            by_age.entry(age).or_default(),
        ] {
            slot[0] += (p - y) * (p - y);
            slot[1] += (q - y) * (q - y);
            slot[2] += 1.0;
            slot[3] += y;
        }
    }
    println!("event: n, positives, model brier sum, oracle brier sum (hotness)");
    for ((seed, e), v) in &by_event {
        let hot = test
            .truths
            .iter()
            .find(|t| t.seed == *seed)
            .and_then(|t| t.event(e))
            .map_or(0.0, |t| t.hotness);
        println!(
            "{seed} {e}: {} {} {:.2} {:.2} ({hot:.2})",
            v[2], v[3], v[0], v[1]
        );
    }
    println!("days since on-sale: n, positives, model brier sum, oracle brier sum");
    for (d, v) in &by_age {
        println!("{d}: {} {} {:.2} {:.2}", v[2], v[3], v[0], v[1]);
    }
    Ok(())
}
