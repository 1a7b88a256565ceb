//! The sell-out scoring of the evaluation: every test snapshot, for every horizon,
//! scored by the calibrated model and by the oracle ([`super::oracle`]) against the
//! outcome, and turned into [`SellOutEval`] figures (Brier, ECE, AUC, and the ratio of
//! the model's Brier to the oracle's with its jackknife standard error over the runs).

use std::collections::{BTreeMap, HashMap};

use super::SellOutEval;
use super::oracle::Oracle;
use crate::history;
use crate::metrics::{auc, brier, ece, ratio_with_se};
use crate::sellout::{Horizon, SellOutModel};

/// A snapshot of one event: (seed, event id, time).
type SnapshotKey<'a> = (u64, &'a str, i64);

/// Scores every test snapshot for every horizon against outcome and oracle.
pub fn evaluate_sellout(
    model: &SellOutModel,
    test: &history::History,
    oracle: &mut Oracle,
) -> (SellOutEval, BTreeMap<String, SellOutEval>) {
    // Which categories of each event were still on sale at each snapshot time, with
    // their seats left.
    let mut open: HashMap<SnapshotKey, Vec<(usize, u32)>> = HashMap::new();
    for l in &test.snapshots {
        let index = test
            .truths
            .iter()
            .find(|t| t.seed == l.seed)
            .and_then(|t| t.event(&l.features.event_id))
            .and_then(|e| {
                e.categories
                    .iter()
                    .position(|c| c.category_id == l.features.category_id.as_str())
            });
        if let Some(i) = index {
            open.entry((l.seed, &l.features.event_id, l.time))
                .or_default()
                .push((i, l.features.remaining));
        }
    }
    // The oracle row by row, all horizons at once: its futures are drawn once per
    // (event, snapshot time), and a snapshot's rows are adjacent.
    let oracle_p: Vec<[Option<f64>; 3]> = test
        .snapshots
        .iter()
        .map(|l| {
            let state = open
                .get(&(l.seed, l.features.event_id.as_str(), l.time))
                .map_or(&[][..], Vec::as_slice);
            Horizon::ALL.map(|horizon| {
                (horizon.effective_hours(l.features.hours_to_event) > 0.0)
                    .then(|| oracle.probability(l, horizon, state))
                    .flatten()
            })
        })
        .collect();
    let events = crate::context::contexts(&test.snapshots);
    let mut pooled = Scored::default();
    let mut by_horizon = BTreeMap::new();
    for (h, horizon) in Horizon::ALL.into_iter().enumerate() {
        let mut scored = Scored::default();
        for ((l, o), event) in test.snapshots.iter().zip(&oracle_p).zip(&events) {
            let Some(o) = o[h] else {
                continue;
            };
            scored
                .p
                .push(model.probability_in(&l.features, l.list_minor, l.time, horizon, event));
            scored.q.push(o);
            scored.y.push(horizon.label(l.time, l.sold_out_at));
            scored.run.push(l.seed);
        }
        let name = serde_json::to_value(horizon)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        by_horizon.insert(name, scored.figures());
        pooled.extend(scored);
    }
    (pooled.figures(), by_horizon)
}

/// Scored pairs: the model's and the oracle's probabilities, the outcome and the run.
#[derive(Default)]
struct Scored {
    p: Vec<f64>,
    q: Vec<f64>,
    y: Vec<bool>,
    run: Vec<u64>,
}

impl Scored {
    fn extend(&mut self, other: Scored) {
        self.p.extend(other.p);
        self.q.extend(other.q);
        self.y.extend(other.y);
        self.run.extend(other.run);
    }

    fn figures(&self) -> SellOutEval {
        let (p, q, y) = (&self.p, &self.q, &self.y);
        // Squared errors of model and oracle summed per run.
        let mut runs: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        for (((p, q), y), run) in p.iter().zip(q).zip(y).zip(&self.run) {
            let y = if *y { 1.0 } else { 0.0 };
            let e = runs.entry(*run).or_default();
            e.0 += (p - y).powi(2);
            e.1 += (q - y).powi(2);
        }
        let blocks: Vec<(f64, f64)> = runs.into_values().collect();
        let (ratio, ratio_se) = ratio_with_se(&blocks);
        SellOutEval {
            brier: brier(p, y),
            oracle_brier: brier(q, y),
            brier_vs_oracle: ratio,
            brier_vs_oracle_se: ratio_se,
            ece: ece(p, y, 10),
            oracle_ece: ece(q, y, 10),
            mean_p: p.iter().sum::<f64>() / p.len().max(1) as f64,
            oracle_mean_p: q.iter().sum::<f64>() / q.len().max(1) as f64,
            auc: auc(p, y),
            n: p.len(),
            base_rate: y.iter().filter(|v| **v).count() as f64 / y.len().max(1) as f64,
        }
    }
}
