//! Learning the structural forecast's constants ([`LevelModel`]) from labelled history:
//! the opening spike's decay (from the last quarter hour's sales of snapshots taken
//! minutes apart early in the sale), the share of the opening still to come when every
//! sale is recent, the first-day prior of the daily level from the opening's size, the
//! day-to-day noise of a day's sales, the prior of the level past the first day, the
//! noise of each reading of the level, and last the horizon bias (`level_bias.rs`).
//! A snapshot's age since the on-sale is known here from its event's first snapshot;
//! serving never needs it.

use std::collections::BTreeMap;

use super::{HOUR_MS, LATER_TERMS, LevelModel, SEATS_PER_PURCHASE, later_prior, later_terms};
use crate::history::Labelled;

impl LevelModel {
    /// Learns the opening decay and the first-day prior from labelled history.
    pub fn fit(data: &[Labelled]) -> Self {
        let mut out = Self::default();
        let mut first: BTreeMap<(u64, &str), i64> = BTreeMap::new();
        for l in data {
            let t = first
                .entry((l.seed, l.features.event_id.as_str()))
                .or_insert(l.time);
            *t = (*t).min(l.time);
        }
        let mut by_key: BTreeMap<(u64, &str, &str), Vec<&Labelled>> = BTreeMap::new();
        for l in data {
            by_key
                .entry((l.seed, &l.features.event_id, &l.features.category_id))
                .or_default()
                .push(l);
        }
        // Decay: ln(s15 later / s15 earlier) = −Δ/τ over pairs early in the sale.
        let (mut dd, mut dl) = (0.0, 0.0);
        // Prior: (ln opening per seat, ln daily level per seat) per category.
        let mut pairs: Vec<(f64, f64)> = Vec::new();
        // Young ratio: (sold at 4 hours − sold now) / sold now, when all is recent.
        let (mut young_num, mut young_den) = (0.0, 0.0);
        // Day noise: day-on-day log ratios past the first day, by days to the event.
        let mut steps: BTreeMap<i64, Vec<(f64, f64)>> = BTreeMap::new();
        // Later prior: (ln sold/cap, ln(1 + days to event), opening/cap, ln next day's sales/cap,
        // counting variance) for snapshots past the first day.
        let mut later: Vec<([f64; LATER_TERMS], f64, f64)> = Vec::new();
        // Day noise above the prior: (regressors, ln day's sales/cap, ln next day's
        // sales/cap, both counting variances).
        let mut read_days: Vec<([f64; LATER_TERMS], f64, f64, f64)> = Vec::new();
        // Hour noise above the prior: (regressors, ln hour's reading/cap, miss, counting).
        let mut read_hours: Vec<([f64; LATER_TERMS], f64, f64, f64)> = Vec::new();
        // Hour noise: (ln next day's sales − the hour's reading, counting variance).
        let diurnal = crate::shape::diurnal_profile(data);
        let mut hours: Vec<(f64, f64)> = Vec::new();
        // Week noise: (ln next day's sales − the week's reading, counting variance).
        let shape = crate::shape::shape_profile(data);
        let mut weeks: Vec<(f64, f64)> = Vec::new();
        let mut middles: Vec<(f64, f64)> = Vec::new();
        let mut earlies: Vec<(f64, f64)> = Vec::new();
        for snaps in by_key.values_mut() {
            snaps.sort_by_key(|l| l.time);
            let Some(start) = snaps
                .first()
                .and_then(|l| first.get(&(l.seed, l.features.event_id.as_str())))
                .copied()
            else {
                continue;
            };
            let age = |l: &Labelled| l.time - start;
            for (i, a) in snaps.iter().enumerate() {
                if age(a) > 2 * HOUR_MS || a.features.sales_15m < 30 {
                    continue;
                }
                for b in &snaps[i + 1..] {
                    let delta = (b.time - a.time) as f64 / 60_000.0;
                    if age(b) > 4 * HOUR_MS || b.features.sales_15m < 20 {
                        continue;
                    }
                    let ratio = f64::from(b.features.sales_15m) / f64::from(a.features.sales_15m);
                    dd += delta * delta;
                    dl += delta * ratio.ln();
                }
            }
            if let (Some(a), Some(b)) =
                (snaps.first(), snaps.iter().rfind(|l| age(l) <= 4 * HOUR_MS))
            {
                let (x, f) = (f64::from(a.features.sold), &a.features);
                if x >= 30.0
                    && f64::from(f.sales_15m) >= 0.98 * x
                    && b.time > a.time
                    && b.features.remaining * 2 >= b.features.capacity
                {
                    young_num += f64::from(b.features.sold) - x;
                    young_den += x;
                }
            }
            let at: BTreeMap<i64, &Labelled> = snaps.iter().map(|l| (l.time, *l)).collect();
            for a in snaps.iter().filter(|l| age(l) >= 30 * HOUR_MS) {
                let Some(b) = at.get(&(a.time + 24 * HOUR_MS)) else {
                    continue;
                };
                let (x, y) = (
                    f64::from(a.features.sales_24h),
                    f64::from(b.features.sales_24h),
                );
                let f = &a.features;
                let cap = f64::from(f.capacity.max(1));
                let terms = later_terms(
                    f64::from(f.sold),
                    f64::from(f.opening_sold),
                    cap,
                    f.hours_to_event,
                );
                if y >= 5.0 && b.features.remaining * 10 >= b.features.capacity {
                    later.push((terms, (y / cap).ln(), SEATS_PER_PURCHASE / y));
                    if x >= 5.0 {
                        read_days.push((
                            terms,
                            (x / cap).ln(),
                            (y / cap).ln(),
                            SEATS_PER_PURCHASE * (1.0 / x + 1.0 / y),
                        ));
                    }
                }
                if y >= 20.0 && b.features.remaining * 10 >= b.features.capacity {
                    let activity = diurnal
                        .get(crate::shape::hour_before(a.time))
                        .copied()
                        .unwrap_or(1.0);
                    let s1h = f64::from(f.sales_1h);
                    let (reading, counting) = out.hour_reading(s1h, activity, 1.0);
                    hours.push(((y.ln() - reading), counting + SEATS_PER_PURCHASE / y));
                    read_hours.push((
                        terms,
                        reading - cap.ln(),
                        y.ln() - reading,
                        counting + SEATS_PER_PURCHASE / y,
                    ));
                    // Past days' sales as a reading of the level, against the next
                    // day's sales at it (the curve's day ahead): the miss and counting.
                    let path = super::Path::of(f);
                    let hte = f.hours_to_event;
                    let ahead = crate::shape::expected_days(&shape, hte, 24.0).max(1e-3);
                    let miss = |sales: f64, back: f64, span: f64| {
                        let days = crate::shape::past_days(&shape, hte, back, span);
                        let (reading, counting) = Self::days_reading(sales, days, 1.0, 0.0);
                        (
                            y.ln() - reading - ahead.ln(),
                            counting + SEATS_PER_PURCHASE / y,
                        )
                    };
                    if let Some((sales, back, span)) = path.middle() {
                        if back > 24.0 {
                            earlies.push(miss(sales, back, span));
                        } else {
                            middles.push(miss(sales, back, span));
                        }
                    }
                    if let Some(week) = path.earlier_week() {
                        weeks.push(miss(week, 24.0, 144.0));
                    }
                }
                if x >= 20.0 && y >= 20.0 {
                    let counting = SEATS_PER_PURCHASE * (1.0 / x + 1.0 / y);
                    let day = (b.features.hours_to_event / 24.0).floor() as i64;
                    steps.entry(day).or_default().push(((y / x).ln(), counting));
                }
            }
            // The opening: sold at the last snapshot of the first 4 hours (from on-sale
            // at the first snapshot's age of a quarter hour); the level: the last day's
            // sales a day and a half in.
            let opening = snaps
                .iter()
                .rfind(|l| age(l) <= 4 * HOUR_MS)
                .map(|l| f64::from(l.features.sold));
            // The level: the mean of the last day's sales at a day and a half, two and
            // a half... up to six and a half days in (whole days apart, so waves in one
            // day weigh less), while a tenth of the seats is left (a category nearly sold out
            // sells little for want of seats, not of shoppers).
            let days: Vec<f64> = (0..6)
                .filter_map(|d| {
                    let at = (30 + 24 * d) * HOUR_MS;
                    snaps
                        .iter()
                        .find(|l| age(l) >= at && age(l) < at + 6 * HOUR_MS)
                        .filter(|l| l.features.remaining * 10 >= l.features.capacity)
                        .map(|l| f64::from(l.features.sales_24h))
                })
                .collect();
            let later = (days.len() >= 2).then(|| days.iter().sum::<f64>() / days.len() as f64);
            if let (Some(o), Some(d)) = (opening, later) {
                let cap = snaps
                    .first()
                    .map_or(1.0, |l| f64::from(l.features.capacity.max(1)));
                pairs.push((((o + 1.0) / cap).ln(), ((d + 1.0) / cap).ln()));
            }
        }
        // Each ratio holds two readings' noise around the day's mean step.
        let (mut excess, mut n) = (0.0, 0.0);
        for v in steps.values().filter(|v| v.len() >= 3) {
            let mean = v.iter().map(|p| p.0).sum::<f64>() / v.len() as f64;
            for (r, counting) in v {
                excess += (r - mean).powi(2) - counting;
                n += 1.0;
            }
        }
        if n > 0.0 {
            out.day_noise = (excess / n / 2.0).clamp(0.0, 1.0);
        }
        if let Some((coef, resid)) = least_squares(&later) {
            let counting = later.iter().map(|r| r.2).sum::<f64>() / later.len() as f64;
            out.later = coef;
            out.later_var = (resid - counting - out.day_noise).max(0.01);
            // A day read above the prior misses the next day by more (waves lift days):
            // its mean squared miss beyond the counting and the next day's own noise.
            let (mut sum, mut n) = (0.0, 0.0);
            for (x, read, next, counting) in &read_days {
                let prior = later_prior(&out.later, x);
                if *read > prior {
                    sum += (read - next).powi(2) - counting - out.day_noise;
                    n += 1.0;
                }
            }
            if n >= 20.0 {
                out.day_noise_up = (sum / n).clamp(0.0, 2.0);
            }
            let all = read_hours.len().max(1) as f64;
            let mean = read_hours.iter().map(|r| r.2).sum::<f64>() / all;
            let (mut sum, mut n) = (0.0, 0.0);
            for (x, read, miss, counting) in &read_hours {
                let prior = later_prior(&out.later, x);
                if *read > prior {
                    sum += (miss - mean).powi(2) - counting;
                    n += 1.0;
                }
            }
            if n >= 20.0 {
                out.hour_noise_up = (sum / n - out.day_noise).clamp(0.01, 5.0);
            }
        }
        if let Some(noise) = reading_noise(&hours, out.day_noise) {
            out.hour_noise = noise;
        }
        if let Some(noise) = reading_noise(&weeks, out.day_noise) {
            out.week_noise = noise;
        }
        if let Some(noise) = reading_noise(&middles, out.day_noise) {
            out.middle_noise = noise;
        }
        if let Some(noise) = reading_noise(&earlies, out.day_noise) {
            out.early_noise = noise;
        }
        if young_den > 0.0 {
            out.young_ratio = (young_num / young_den).clamp(0.0, 20.0);
        }
        if dl < 0.0 && dd > 0.0 {
            out.opening_decay_min = (-dd / dl).clamp(2.0, 600.0);
        }
        if pairs.len() >= 5 {
            let n = pairs.len() as f64;
            let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
            let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
            let sxx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
            let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
            let slope = if sxx > 1e-9 { sxy / sxx } else { 0.0 };
            let slope = slope.clamp(0.0, 2.0);
            let intercept = my - slope * mx;
            let sse: f64 = pairs
                .iter()
                .map(|p| (p.1 - intercept - slope * p.0).powi(2))
                .sum();
            out.prior = [intercept, slope];
            out.prior_sd = (sse / (n - 2.0).max(1.0)).sqrt().clamp(0.05, 3.0);
        }
        // Last: it reads the forecast with every other constant in place.
        if let Some(bias) = out.fit_bias(data, &shape, &diurnal) {
            out.bias = bias;
        }
        out
    }
}

/// Least squares of `y` on an intercept and `N` regressors: the coefficients
/// (intercept first) and the residual variance; `None` with too few rows or a
/// singular design.
pub(super) fn least_squares<const N: usize>(
    rows: &[([f64; N], f64, f64)],
) -> Option<(Vec<f64>, f64)> {
    let k = N + 1;
    if rows.len() < 5 * k {
        return None;
    }
    let mut a = vec![0.0f64; k * k];
    let mut coef = vec![0.0f64; k];
    let mut v = vec![1.0f64; k];
    for (x, y, _) in rows {
        v[1..].copy_from_slice(x);
        for i in 0..k {
            for j in 0..k {
                a[i * k + j] += v[i] * v[j];
            }
            coef[i] += v[i] * y;
        }
    }
    crate::linalg::solve_spd(&a, &mut coef, k)?;
    let fitted = |x: &[f64; N]| coef[0] + coef[1..].iter().zip(x).map(|(c, v)| c * v).sum::<f64>();
    let sse: f64 = rows.iter().map(|(x, y, _)| (y - fitted(x)).powi(2)).sum();
    Some((coef.clone(), sse / (rows.len() - k) as f64))
}

/// The noise of a log-scale level reading beyond its counting noise and the day-to-day
/// noise: the readings' (reading, counting variance) pairs' excess spread, clamped;
/// `None` with fewer than 20 readings.
fn reading_noise(readings: &[(f64, f64)], day_noise: f64) -> Option<f64> {
    if readings.len() < 20 {
        return None;
    }
    let n = readings.len() as f64;
    let mean = readings.iter().map(|h| h.0).sum::<f64>() / n;
    let excess = readings
        .iter()
        .map(|(r, counting)| (r - mean).powi(2) - counting)
        .sum::<f64>()
        / n;
    Some((excess - day_noise).clamp(0.01, 5.0))
}
