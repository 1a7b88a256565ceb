//! Tests of the structural forecast's types and its first day: the shortfall's law,
//! the opening still to come, the least-squares fit and the first-day forecast against
//! what the next week sells. The readings past the first day are tested in
//! `level_later_tests.rs`.

use super::fit::least_squares;
use super::*;
use crate::history::{HistoryConfig, generate};
use crate::sellout::Horizon;
use std::collections::BTreeMap;

/// A category's path `age_min` minutes into a pure exponential opening spike of
/// `total` seats decaying in `tau` minutes.
pub(super) fn spike(total: f64, tau: f64, age_min: f64) -> Path {
    let cum = |a: f64| total * (1.0 - (-a.max(0.0) / tau).exp());
    let sold = cum(age_min);
    Path {
        capacity: 1_000_000.0,
        sold,
        remaining: 1_000_000.0 - sold,
        sales_15m: sold - cum(age_min - 15.0),
        sales_1h: sold - cum(age_min - 60.0),
        sales_24h: sold,
        sales_7d: sold,
        age_hours: 0.0,
        opening: 0.0,
    }
}

#[test]
fn the_shortfall_reads_a_heavier_upper_tail_than_a_normal_law() {
    let f = Forecast {
        mean: 100.0,
        variance: 400.0,
    };
    // Seats left two standard deviations above the mean are reached more often than
    // a normal law says (z above −2), two below less often (z above 2).
    assert!(f.shortfall_z(140.0) > -1.9, "{}", f.shortfall_z(140.0));
    assert!(f.shortfall_z(60.0) > 2.3, "{}", f.shortfall_z(60.0));
    // The mean of the law is the forecast's: its median is below it.
    let (mu, s2) = f.log_normal();
    assert!(((mu + s2 / 2.0).exp() - 101.0).abs() < 1e-9);
    assert!(f.shortfall_z(100.0) < 0.0 && f.shortfall_z(95.0) > 0.0);
}

#[test]
fn the_opening_still_to_come_is_read_from_the_last_quarter_hour_at_any_age() {
    let model = LevelModel {
        opening_decay_min: 30.0,
        // No daily demand: the forecast is the spike alone.
        prior: [-40.0, 0.0],
        ..LevelModel::default()
    };
    for age in [20.0, 45.0, 90.0] {
        let p = spike(50_000.0, 30.0, age);
        let left = 50_000.0 - p.sold;
        let f = model.forecast(&p, &[], 1.0, 500.0, 168.0);
        assert!(
            (f.mean - left).abs() < 0.01 * left,
            "{age}: {} vs {left}",
            f.mean
        );
        // More seats left than the spike brings: short; fewer: over.
        assert!(f.shortfall_z(left * 1.5) < -3.0 && f.shortfall_z(left * 0.5) > 3.0);
    }
}

#[test]
fn least_squares_recovers_a_plane() {
    let rows: Vec<([f64; 2], f64, f64)> = (0..40)
        .map(|i| {
            let (a, b) = (f64::from(i) * 0.1, f64::from(i % 7));
            ([a, b], 1.5 - 2.0 * a + 0.25 * b, 0.0)
        })
        .collect();
    let (coef, resid) = least_squares(&rows).unwrap();
    for (c, want) in coef.iter().zip([1.5, -2.0, 0.25]) {
        assert!((c - want).abs() < 1e-9, "{coef:?}");
    }
    assert!(resid < 1e-12);
    assert!(least_squares(&rows[..5]).is_none());
}

#[test]
fn the_first_day_forecast_recovers_what_the_next_week_sells() {
    let config = HistoryConfig {
        events: 4,
        sale_days: 14.0,
        scale: 0.3,
        hotness: (0.1, 0.5),
        snapshot_hours: 12.0,
        ..HistoryConfig::default()
    };
    let train = generate(&HistoryConfig {
        seeds: vec![21, 22, 23, 24],
        ..config.clone()
    })
    .unwrap();
    let test = generate(&HistoryConfig {
        seeds: vec![31, 32],
        ..config
    })
    .unwrap();
    let model = LevelModel::fit(&train.snapshots);
    // The opening decays over tens of minutes, not hours or seconds.
    assert!((10.0..60.0).contains(&model.opening_decay_min), "{model:?}");
    assert!(
        model.prior[1] > 0.2,
        "events that open big keep selling: {model:?}"
    );
    // From the 4-hour snapshot of every category that does not sell out within the
    // week: the forecast of the week's seats against what it sold.
    let (mut forecast, mut sold, mut n) = (0.0, 0.0, 0);
    let mut firsts: BTreeMap<(u64, &str), i64> = BTreeMap::new();
    for l in &test.snapshots {
        let t = firsts
            .entry((l.seed, l.features.event_id.as_str()))
            .or_insert(l.time);
        *t = (*t).min(l.time);
    }
    for l in &test.snapshots {
        let first = firsts[&(l.seed, l.features.event_id.as_str())];
        if l.time != first + 225 * 60_000 || Horizon::Days7.label(l.time, l.sold_out_at) {
            continue;
        }
        let week = l.time + 168 * HOUR_MS;
        let Some(later) = test.snapshots.iter().find(|o| {
            o.seed == l.seed
                && o.features.category_id == l.features.category_id
                && o.features.event_id == l.features.event_id
                && o.time >= week
        }) else {
            continue;
        };
        let f = model.forecast(
            &Path::of(&l.features),
            &[],
            1.0,
            l.features.hours_to_event,
            168.0,
        );
        forecast += f.mean;
        sold += f64::from(later.features.sold - l.features.sold);
        n += 1;
    }
    assert!(n >= 8, "{n} categories");
    let ratio = forecast / sold;
    eprintln!("{n} categories: forecast {forecast:.0}, sold {sold:.0}; {model:?}");
    assert!(
        (0.85..1.18).contains(&ratio),
        "forecast {forecast} vs sold {sold}"
    );
}
