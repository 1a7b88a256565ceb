//! Sales profiles learned from history, and what the sell-out model projects with them.
//!
//! - By hour of day ([`diurnal_profile`]): an hour's pace read at 4 a.m. and at 8 p.m.
//!   means different things.
//! - By days to the event ([`shape_profile`], [`expected_days`]): how a category's
//!   daily sales pace changes as the event nears (the late rise), relative to itself.
//!   With it the sell-out model reads the last 24 hours' pace as a forecast of the seats
//!   the rest of the horizon will sell, not as a flat pace: a category selling 150 seats
//!   a day three weeks out may well sell its 6,000 left by the start, because the last
//!   week sells several times the early days' pace.
//! - [`shortfall_z`]: that forecast against the seats left, in standard deviations.
//!
//! The shape is estimated from chained day-on-day ratios: for every category and every pair of its
//! snapshots 24 hours apart (both after the first day, both with at least
//! [`MIN_SALES`] sales in their last 24 hours), `ln(sales_24h later / earlier)` is
//! averaged per day to the event; the levels are the cumulative sums from the farthest
//! day. A category's own level cancels out of each ratio, so hot and cold events teach
//! the same shape; categories that sold out simply stop contributing.

use std::collections::BTreeMap;

use sellout_ingest::records::Timestamp;

use crate::history::Labelled;

/// Fewest sales in the last 24 hours for a snapshot to enter a ratio.
pub const MIN_SALES: u32 = 20;

/// Most days to the event the shape covers (farther days take the last level).
const MAX_DAYS: usize = 120;

const DAY_MS: i64 = 24 * 3_600_000;

/// Day index of a snapshot `hours_to_event` before the start.
fn day(hours_to_event: f64) -> usize {
    ((hours_to_event.max(0.0) / 24.0).floor() as usize).min(MAX_DAYS)
}

/// Relative daily pace by days to the event (index 0: the last day), `ln` scale; empty
/// when history has no usable pairs.
pub fn shape_profile(data: &[Labelled]) -> Vec<f64> {
    let mut by_key: BTreeMap<(u64, &str, &str), Vec<&Labelled>> = BTreeMap::new();
    for l in data {
        by_key
            .entry((l.seed, &l.features.event_id, &l.features.category_id))
            .or_default()
            .push(l);
    }
    let mut sum = vec![0.0f64; MAX_DAYS + 1];
    let mut count = vec![0.0f64; MAX_DAYS + 1];
    for snaps in by_key.values_mut() {
        snaps.sort_by_key(|l| l.time);
        let first = snaps.first().map_or(0, |l| l.time);
        let at: BTreeMap<i64, &Labelled> = snaps.iter().map(|l| (l.time, *l)).collect();
        for a in snaps.iter().filter(|l| l.time >= first + DAY_MS) {
            let Some(b) = at.get(&(a.time + DAY_MS)) else {
                continue;
            };
            let (x, y) = (a.features.sales_24h, b.features.sales_24h);
            if x < MIN_SALES || y < MIN_SALES {
                continue;
            }
            // The step from the day `a` reads to the day `b` reads (one nearer).
            let d = day(b.features.hours_to_event);
            sum[d] += (f64::from(y) / f64::from(x)).ln();
            count[d] += 1.0;
        }
    }
    if count.iter().all(|c| *c == 0.0) {
        return Vec::new();
    }
    // Level of day d relative to day MAX_DAYS: minus the steps from d + 1 up to it.
    let mut level = vec![0.0f64; MAX_DAYS + 1];
    for d in (0..MAX_DAYS).rev() {
        let step = if count[d] >= 3.0 {
            sum[d] / count[d]
        } else {
            0.0
        };
        level[d] = level[d + 1] + step.clamp(-3.0, 3.0);
    }
    level
}

/// Seats the horizon of `horizon_hours` from `hours_to_event` would sell, in units of
/// the last 24 hours' sales (which read the pace of the day just ended): the shape's
/// daily levels over the horizon relative to the current one. With no shape, the flat
/// pace: `horizon_hours / 24`.
pub fn expected_days(shape: &[f64], hours_to_event: f64, horizon_hours: f64) -> f64 {
    curve_days(shape, hours_to_event, horizon_hours, |done, step| {
        hours_to_event - done - step / 2.0
    })
}

/// Days' worth of sales at the current level (the last day's) that the booking curve
/// puts in the `span_hours` ending `back_hours` ago: a past window's sales over it read
/// the current level (the curve rises towards the event, so a raw mean reads low).
pub fn past_days(shape: &[f64], hours_to_event: f64, back_hours: f64, span_hours: f64) -> f64 {
    curve_days(shape, hours_to_event, span_hours, |done, step| {
        hours_to_event + back_hours + done + step / 2.0
    })
}

/// The curve's days' worth at the current level over `span_hours`, walked a day at a
/// time; `mid(done, step)` is the hours to the event at the middle of each step. With no
/// shape, the flat pace: `span_hours / 24`.
fn curve_days(
    shape: &[f64],
    hours_to_event: f64,
    span_hours: f64,
    mid: impl Fn(f64, f64) -> f64,
) -> f64 {
    if span_hours <= 0.0 {
        return 0.0;
    }
    if shape.is_empty() {
        return span_hours / 24.0;
    }
    let level = |h: f64| shape.get(day(h)).or(shape.last()).copied().unwrap_or(0.0);
    let now = level(hours_to_event + 12.0);
    let mut total = 0.0;
    let mut done = 0.0;
    while done < span_hours {
        let step = (span_hours - done).min(24.0);
        total += step / 24.0 * (level(mid(done, step)) - now).clamp(-5.0, 5.0).exp();
        done += step;
    }
    total
}

/// The hour of day (UTC, 0..24) of the hour before `at`: the hour `sales_1h` covers.
pub fn hour_before(at: Timestamp) -> usize {
    ((at - 1_800_000).div_euclid(3_600_000)).rem_euclid(24) as usize
}

/// Sales activity by hour of day relative to the daily mean, learned from history:
/// the mean over snapshots of `sales_1h / (sales_24h / 24)` at each hour (1 where
/// fewer than 5 snapshots saw that hour), past the first day (whose 24 hours hold the
/// opening spike). An hour's pace read at 4 a.m. and at 8 p.m. means different things; this
/// lets the model read the last hour's pace as a daily one.
pub fn diurnal_profile(data: &[Labelled]) -> Vec<f64> {
    let mut sum = [0.0f64; 24];
    let mut count = [0.0f64; 24];
    for l in data {
        let day = f64::from(l.features.sales_24h);
        // On the first day the last 24 hours hold the opening spike, not a day.
        if day >= 24.0 && !crate::level::Path::of(&l.features).first_day() {
            let h = hour_before(l.time);
            sum[h] += f64::from(l.features.sales_1h) / (day / 24.0);
            count[h] += 1.0;
        }
    }
    // Hours seen too rarely keep the daily mean (1).
    let raw: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, c)| if *c >= 5.0 { s / c } else { 1.0 })
        .collect();
    if raw.iter().all(|r| *r == 1.0) {
        return Vec::new();
    }
    raw.iter().map(|r| r.max(0.02)).collect()
}

/// How many standard deviations the seats the pace would sell (`expected`) stand above
/// the seats left: the pace was read from `counted` seats (carts of about 2.3 seats),
/// so its level is uncertain, and seats come in carts (compound Poisson).
pub fn shortfall_z(expected: f64, counted: f64, left: f64) -> f64 {
    let purchases = counted / 2.3 + 1.0;
    let variance = expected * 3.3 + expected * expected / purchases + 1.0;
    let z = (expected - left) / variance.sqrt();
    if z.is_finite() {
        z.clamp(-10.0, 10.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rising_pace_is_learned_and_projected() {
        use sellout_pipelines::output::SellOutFeatures;
        // Two categories of different sizes whose daily sales double every 2 days
        // (a factor √2 a day) over 20 days.
        let mut data = Vec::new();
        for (k, scale) in [(0, 40.0), (1, 400.0)] {
            for step in 0..80 {
                let hours = 500.0 - 6.0 * f64::from(step);
                let rate = scale * 2f64.powf(-hours / 48.0) * 2f64.powf(500.0 / 48.0) / 8.0;
                data.push(Labelled {
                    seed: 1,
                    time: i64::from(step) * 6 * 3_600_000,
                    features: SellOutFeatures {
                        event_id: "ev".into(),
                        category_id: format!("c{k}").as_str().into(),
                        capacity: 1_000_000,
                        sold: 0,
                        remaining: 1_000_000,
                        sales_1m: 0,
                        sales_15m: 0,
                        sales_1h: 0,
                        sales_24h: rate.round() as u32,
                        sales_7d: 7 * (rate.round() as u32),
                        hours_since_on_sale: 0.0,
                        opening_sold: 0,
                        cart_adds_1h: 0,
                        abandonment_rate_24h: 0.0,
                        buzz_posts_1h: 0,
                        buzz_sentiment_1h: 0.0,
                        hours_to_event: hours,
                        price_minor: 100,
                        currency: "EUR".into(),
                    },
                    list_minor: 100,
                    sales_close: 0,
                    sold_out_at: None,
                });
            }
        }
        let shape = shape_profile(&data);
        // One day nearer: √2 the pace.
        let step = shape[5] - shape[6];
        assert!((step - 0.5f64 * 2f64.ln()).abs() < 0.05, "{step}");
        // Ten days ahead from day 15 sell more than ten flat days, less than ten at the
        // end's pace.
        let days = expected_days(&shape, 15.0 * 24.0, 240.0);
        assert!(days > 10.0 * 1.5 && days < 10.0 * 2f64.powf(5.0), "{days}");
        assert_eq!(expected_days(&[], 100.0, 48.0), 2.0);
    }
}
