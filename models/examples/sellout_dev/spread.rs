//! The structural forecast's spread against what the scored runs really sold
//! (`DEV_SPREAD=1`): for each category's snapshot and each horizon of whole days whose
//! end is a snapshot (or a sell-out), the standardised miss `z = (sold − mean) / sd`
//! by age since the on-sale and by horizon. A sell-out caps what is sold, so the
//! tails are counted only where they are observable whatever the outcome: the upper
//! tail `asked ≥ mean + k·sd` where that threshold is within the seats left (a sell-out
//! then exceeds it too), the lower tail where `mean − k·sd` is. A normal forecast
//! puts 15.9% above 1 sd, 2.3% above 2 sd; more means the forecast is too narrow.
//! The log-normal columns ask the same of a log-normal forecast with the same mean
//! and variance (a heavier upper tail). `var z` is over the pairs that neither sold out nor came within a tenth of the
//! capacity of it (a selection on the outcome: read it with the tails).

use std::collections::BTreeMap;

use sellout_models::history::Labelled;
use sellout_models::level::{LevelModel, Path};
use sellout_models::shape::hour_before;

use crate::snapshots::Snapshots;

const HOUR_MS: i64 = 3_600_000;

/// A coarse age since the on-sale.
fn age_bucket(age_h: f64) -> &'static str {
    match age_h {
        a if a < 24.0 => "a day0",
        a if a < 72.0 => "b day1-2",
        a if a < 144.0 => "c day3-5",
        a if a < 216.0 => "d day6-8",
        a if a < 288.0 => "e day9-11",
        a if a < 360.0 => "f day12-14",
        a if a < 504.0 => "g day15-20",
        _ => "h day21+",
    }
}

/// Tail counts of one group.
#[derive(Default)]
struct Tails {
    /// Pairs where the upper 1-sd and 2-sd thresholds are observable, and exceeded.
    up1: (f64, f64),
    up2: (f64, f64),
    /// Same for the lower tail.
    lo1: (f64, f64),
    lo2: (f64, f64),
    /// The upper 1-sd and 2-sd tails of a log-normal forecast with the same mean and
    /// variance (of the seats plus one).
    ln1: (f64, f64),
    ln2: (f64, f64),
    /// Uncensored pairs: n, Σz, Σz².
    n: f64,
    z: f64,
    z2: f64,
}

/// Prints the table (see the module doc) for the scored `data`.
pub fn report(data: &[Labelled], level: &LevelModel, shape: &[f64], diurnal: &[f64]) {
    let index = Snapshots::new(data);
    let mut groups: BTreeMap<(i64, &str), Tails> = BTreeMap::new();
    for l in data {
        let f = &l.features;
        let age_h = index.age_h(l);
        let path = Path::of(f);
        let activity = diurnal.get(hour_before(l.time)).copied().unwrap_or(1.0);
        let left = f64::from(f.remaining);
        for k in [1_i64, 3, 7, 14] {
            let hours = (k * 24) as f64;
            if f.hours_to_event - 3.0 < hours {
                continue;
            }
            let end = l.time + k * 24 * HOUR_MS;
            let (sold, capped) = match l.sold_out_at {
                Some(t) if t <= end => (left, true),
                _ => match index.at(l, end) {
                    Some(b) => (
                        f64::from(b.features.sold) - f64::from(f.sold),
                        b.features.remaining * 10 < b.features.capacity,
                    ),
                    None => continue,
                },
            };
            let fc = level.forecast(&path, shape, activity, f.hours_to_event, hours);
            let sd = (fc.variance + 1.0).sqrt();
            for key in [(k, age_bucket(age_h)), (k, "all")] {
                let g = groups.entry(key).or_default();
                for (kk, slot) in [(1.0, &mut g.up1), (2.0, &mut g.up2)] {
                    if fc.mean + kk * sd <= left {
                        slot.0 += 1.0;
                        slot.1 += f64::from(sold >= fc.mean + kk * sd);
                    }
                }
                for (kk, slot) in [(1.0, &mut g.lo1), (2.0, &mut g.lo2)] {
                    if fc.mean - kk * sd < left {
                        slot.0 += 1.0;
                        slot.1 += f64::from(!capped && sold <= fc.mean - kk * sd);
                    }
                }
                let (mu, s2) = fc.log_normal();
                let median = mu.exp();
                for (kk, slot) in [(1.0, &mut g.ln1), (2.0, &mut g.ln2)] {
                    let threshold = median * (kk * s2.sqrt()).exp() - 1.0;
                    if threshold <= left {
                        slot.0 += 1.0;
                        slot.1 += f64::from(sold >= threshold);
                    }
                }
                if !capped {
                    let z = (sold - fc.mean) / sd;
                    g.n += 1.0;
                    g.z += z;
                    g.z2 += z * z;
                }
            }
        }
    }
    println!(
        "forecast spread (days ahead, age; upper tail >1sd n %, >2sd n %; lower tail <-1sd %, <-2sd %; log-normal upper tail >1sd %, >2sd %; uncensored n, mean z, var z):"
    );
    let pct = |s: (f64, f64)| 100.0 * s.1 / s.0.max(1.0);
    for ((k, age), g) in &groups {
        let mean = g.z / g.n.max(1.0);
        println!(
            "  {k:2}d {age:11} {:6} {:5.1} {:6} {:5.1} | {:5.1} {:5.1} | {:5.1} {:5.1} | {:6} {:6.2} {:6.2}",
            g.up1.0,
            pct(g.up1),
            g.up2.0,
            pct(g.up2),
            pct(g.lo1),
            pct(g.lo2),
            pct(g.ln1),
            pct(g.ln2),
            g.n,
            mean,
            g.z2 / g.n.max(1.0) - mean * mean,
        );
    }
}
