//! Learning the horizon bias of the daily demand's forecast ([`LevelModel::bias`]):
//! how much more or less than forecast the days ahead sold, by how many days ahead.
//! For every category's snapshot past its first day and every later snapshot whole
//! days ahead (up to two weeks) with a tenth of the seats still left (so the seats
//! sold are the seats asked for), the log ratio of the seats sold to the forecast is
//! averaged per day ahead and turned into an arithmetic mean (plus half its spread);
//! those means are regressed on `ln k`. The next day tends to sell less than a
//! level read from a wave-lifted day says, two weeks a little more than the booking
//! curve's average shape projects.

use std::collections::BTreeMap;

use super::{HOUR_MS, LevelModel, Path};
use crate::history::Labelled;
use crate::shape::hour_before;

/// Most days ahead a pair of snapshots may be.
const MAX_DAYS_AHEAD: i64 = 14;

/// Fewest pairs a day ahead needs to enter the fit.
const MIN_PAIRS: usize = 20;

impl LevelModel {
    /// `[intercept, slope]` of the mean log miss on `ln(days ahead)`, learned from
    /// `data` with this model's other constants (and no bias); `None` when history
    /// holds too few pairs.
    pub(super) fn fit_bias(
        &self,
        data: &[Labelled],
        shape: &[f64],
        diurnal: &[f64],
    ) -> Option<[f64; 2]> {
        let mut by_key: BTreeMap<(u64, &str, &str), BTreeMap<i64, &Labelled>> = BTreeMap::new();
        for l in data {
            by_key
                .entry((l.seed, &l.features.event_id, &l.features.category_id))
                .or_default()
                .insert(l.time, l);
        }
        // Log misses per day ahead.
        let mut misses: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for snaps in by_key.values() {
            for a in snaps.values() {
                let path = Path::of(&a.features);
                if path.first_day() || a.features.sales_24h < 5 {
                    continue;
                }
                let activity = diurnal.get(hour_before(a.time)).copied().unwrap_or(1.0);
                for k in 1..=MAX_DAYS_AHEAD {
                    let Some(b) = snaps.get(&(a.time + k * 24 * HOUR_MS)) else {
                        break;
                    };
                    if b.features.remaining * 10 < b.features.capacity {
                        break;
                    }
                    let hours = (k * 24) as f64;
                    let f = self.forecast(&path, shape, activity, a.features.hours_to_event, hours);
                    let sold = f64::from(b.features.sold) - f64::from(a.features.sold);
                    if f.mean >= 5.0 && sold >= 0.0 {
                        let miss = ((sold + 1.0) / (f.mean + 1.0)).ln();
                        misses.entry(k).or_default().push(miss);
                    }
                }
            }
        }
        let mut rows: Vec<([f64; 1], f64, f64)> = Vec::new();
        for (k, v) in misses.iter().filter(|(_, v)| v.len() >= MIN_PAIRS) {
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let var = v.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / n;
            // Each day ahead weighs by its pairs (a copy per MIN_PAIRS of them).
            let copies = (n / MIN_PAIRS as f64).round().max(1.0) as usize;
            let row = ([(*k as f64).ln()], mean + var / 2.0, 0.0);
            rows.extend(std::iter::repeat_n(row, copies));
        }
        let (coef, _) = super::fit::least_squares(&rows)?;
        Some([coef[0].clamp(-1.0, 1.0), coef[1].clamp(-1.0, 1.0)])
    }
}
