//! The structural forecast's mean against what the scored runs really sold
//! (`DEV_BIAS=1`): per category kind (standing floors against seated tiers) and per
//! age since the on-sale, the seats forecast over the next 7 and 14 days against the
//! seats sold in them. A sell-out caps what is sold, so the forecast is compared as
//! `E[min(asked, left)]` (the forecast taken as normal), not as its raw mean; the raw
//! mean and two of its parts are printed too: the day's reading alone and the later
//! prior alone, each times the booking curve's days and the horizon bias, to tell
//! which one runs high.

use std::collections::BTreeMap;

use sellout_models::history::Labelled;
use sellout_models::level::{LevelModel, Path, later_prior, later_terms};
use sellout_models::sellout::Horizon;
use sellout_models::shape::{expected_days, hour_before};
use sellout_simulator::normal_cdf;

use crate::snapshots::Snapshots;

const HOUR_MS: f64 = 3_600_000.0;

/// Standing floors (the venues' `floor` and `standing` categories) or seated tiers.
fn kind(category_id: &str) -> &'static str {
    if matches!(category_id, "floor" | "standing") {
        "standing"
    } else {
        "seated"
    }
}

/// The venue of an event (the catalog cycles its events over four venues).
fn venue(event_id: &str) -> &'static str {
    let n: usize = event_id.trim_start_matches("ev-").parse().unwrap_or(1);
    ["lon", "par", "ber", "mad"][(n.max(1) - 1) % 4]
}

/// A coarse age since the on-sale, in days.
fn age_bucket(age_h: f64) -> &'static str {
    match age_h {
        a if a < 1.1 => "a0 <1h",
        a if a < 4.1 => "a1 1-4h",
        a if a < 24.0 => "a2 4-24h",
        a if a < 72.0 => "b day1-2",
        a if a < 168.0 => "c day3-6",
        a if a < 336.0 => "d day7-13",
        _ => "e day14+",
    }
}

/// The booking curve's days over `hours` times the horizon bias past the first day: what
/// the forecast multiplies the daily level by.
fn days_bias(level: &LevelModel, shape: &[f64], hte: f64, hours: f64, path: &Path) -> f64 {
    let days = expected_days(shape, hte, hours);
    if path.first_day() {
        return days;
    }
    let k = (hours / 24.0).max(0.25);
    days * (level.bias[0] + level.bias[1] * k.ln())
        .clamp(-1.0, 1.0)
        .exp()
}

/// `E[min(D, left)]` for `D` normal with this mean and variance.
fn capped_mean(mean: f64, variance: f64, left: f64) -> f64 {
    let sd = variance.max(1e-9).sqrt();
    let z = (mean - left) / sd;
    let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let over = sd * density + (mean - left) * normal_cdf(z);
    (mean - over).clamp(0.0, mean.max(0.0))
}

/// Sums of one group: n, raw mean, capped mean, realised, reading-only, prior-only.
#[derive(Default)]
struct Sums {
    n: f64,
    mean: f64,
    capped: f64,
    sold: f64,
    reading: f64,
    prior: f64,
    /// Realised past the first day (what the two parts are compared with).
    sold_later: f64,
    /// Raw mean and realised where the forecast sees no sell-out (mean + 3 sd under
    /// the seats left): a selection on the forecast, not on the outcome.
    free_mean: f64,
    free_sold: f64,
    /// The opening spike's part of the raw mean (the rest is the daily demand's).
    opening: f64,
}

/// Prints the table (see the module doc) for the scored `data`.
pub fn report(data: &[Labelled], level: &LevelModel, shape: &[f64], diurnal: &[f64]) {
    let index = Snapshots::new(data);
    let mut groups: BTreeMap<(String, String, &str), Sums> = BTreeMap::new();
    for l in data {
        let f = &l.features;
        let age_h = index.age_h(l) + 0.25;
        for horizon in [Horizon::Days7, Horizon::Days14] {
            let Some(hours) = horizon.hours() else {
                continue;
            };
            // Only horizons that end before the close, whose end is a snapshot.
            if horizon.effective_hours(f.hours_to_event) < hours {
                continue;
            }
            let end = l.time + (hours * HOUR_MS) as i64;
            let sold = match l.sold_out_at {
                Some(t) if t <= end => f64::from(f.remaining),
                _ => match index.at(l, end) {
                    Some(b) => f64::from(b.features.sold) - f64::from(f.sold),
                    None => continue,
                },
            };
            let path = Path::of(f);
            let activity = diurnal.get(hour_before(l.time)).copied().unwrap_or(1.0);
            let fc = level.forecast(&path, shape, activity, f.hours_to_event, hours);
            // The forecast is the spike's rest plus a multiple of the level: two
            // horizons separate them.
            let half = level.forecast(&path, shape, activity, f.hours_to_event, hours / 2.0);
            let spread = days_bias(level, shape, f.hours_to_event, hours, &path)
                - days_bias(level, shape, f.hours_to_event, hours / 2.0, &path);
            let opening = if spread > 1e-9 {
                let per = (fc.mean - half.mean) / spread;
                (fc.mean - per * days_bias(level, shape, f.hours_to_event, hours, &path)).max(0.0)
            } else {
                0.0
            };
            let days = expected_days(shape, f.hours_to_event, hours);
            let k = (hours / 24.0).max(0.25);
            let bias = (level.bias[0] + level.bias[1] * k.ln())
                .clamp(-1.0, 1.0)
                .exp();
            let cap = path.capacity.max(1.0);
            let x = later_terms(path.sold, path.opening, cap, f.hours_to_event);
            let prior = later_prior(&level.later, &x);
            let left = f64::from(f.remaining);
            let name = format!("{horizon:?}");
            let category = format!("{}/{}", venue(&f.event_id), f.category_id);
            let mut keys = vec![
                (
                    name.clone(),
                    kind(&f.category_id).to_owned(),
                    age_bucket(age_h),
                ),
                (name.clone(), kind(&f.category_id).to_owned(), "all"),
            ];
            if !path.first_day() {
                keys.push((name.clone(), category, "later"));
            }
            for key in keys {
                let s = groups.entry(key).or_default();
                s.n += 1.0;
                s.mean += fc.mean;
                s.capped += capped_mean(fc.mean, fc.variance, left);
                s.sold += sold;
                s.opening += opening;
                if fc.mean + 3.0 * fc.variance.sqrt() < left {
                    s.free_mean += fc.mean;
                    s.free_sold += sold;
                }
                if !path.first_day() {
                    s.sold_later += sold;
                    s.reading += (path.sales_24h * days * bias).min(left);
                    s.prior += (cap * prior.clamp(-20.0, 5.0).exp() * days * bias).min(left);
                } else if age_h > 4.1 {
                    // The first day's parts: the last hour read as a day, and the prior
                    // from the opening's size.
                    s.sold_later += sold;
                    let hour = path.sales_1h * 24.0 / activity.max(0.02);
                    s.reading += (hour * days).min(left);
                    let ln = level.prior[0] + level.prior[1] * ((path.sold + 1.0) / cap).ln();
                    s.prior += (cap * ln.clamp(-20.0, 5.0).exp() * days).min(left);
                }
            }
        }
    }
    println!(
        "forecast vs realised (horizon, kind, age, n, sold, capped/sold, raw/sold, reading/sold, prior/sold, the last two capped at the seats left, past day 0 the day's reading and the later prior, on day 0 past 4 h the hour's reading and the opening's prior; free n, free raw/sold: where mean + 3 sd < left; the opening's share of the raw mean):"
    );
    for ((h, kind, age), s) in &groups {
        println!(
            "  {h:7} {kind:14} {age:9} {:6} {:9.0} {:6.3} {:6.3} {:6.3} {:6.3} {:9.0} {:6.3} {:5.2}",
            s.n,
            s.sold,
            s.capped / s.sold.max(1.0),
            s.mean / s.sold.max(1.0),
            s.reading / s.sold_later.max(1.0),
            s.prior / s.sold_later.max(1.0),
            s.free_sold,
            s.free_mean / s.free_sold.max(1.0),
            s.opening / s.mean.max(1.0),
        );
    }
}
