//! Tests of the structural forecast's readings past the first day: the later prior,
//! the last day, the last hour and the week weighed against each other, the days
//! between the opening and the last, and the horizon bias.

use super::tests::spike;
use super::*;

/// A model past the first day whose later prior says 1% of the seats a day at any sold
/// share and days to the event.
fn later_model(hour_noise: f64) -> LevelModel {
    LevelModel {
        day_noise: 0.05,
        later: vec![0.01f64.ln(), 0.0, 0.0],
        later_var: 0.05,
        hour_noise,
        ..LevelModel::default()
    }
}

/// Ten days into a sale of 10,000 seats, 3,000 sold.
fn day_ten(sales_1h: f64, sales_24h: f64) -> Path {
    Path {
        capacity: 10_000.0,
        sold: 3_000.0,
        remaining: 7_000.0,
        sales_15m: sales_1h / 4.0,
        sales_1h,
        sales_24h,
        sales_7d: 7.0 * sales_24h,
        age_hours: 0.0,
        opening: 0.0,
    }
}

#[test]
fn a_quiet_day_leaves_the_level_to_the_prior_not_at_zero() {
    let model = later_model(0.0);
    let (level, var) = model.daily_level(&day_ten(0.0, 0.0), &[], 1.0, 0.0, 240.0);
    // The prior's 100 a day, pulled down by one quiet day but far from zero.
    assert!((1.0..100.0).contains(&level), "{level}");
    assert!(var > 0.0 && var < model.later_var, "{var}");
    let f = model.forecast(&day_ten(0.0, 0.0), &[], 1.0, 240.0, 168.0);
    assert!(f.mean > 7.0, "a week at that level sells seats: {f:?}");
}

#[test]
fn the_last_hour_pulls_a_wave_day_back_towards_the_baseline() {
    // The baseline is 100 seats a day (about 4 an hour); a wave added 300 to the last
    // 24 hours and has faded: the last hour sold at the baseline.
    let wave_day = day_ten(4.0, 400.0);
    let without = later_model(0.0).daily_level(&wave_day, &[], 1.0, 0.0, 240.0);
    let with = later_model(0.1).daily_level(&wave_day, &[], 1.0, 0.0, 240.0);
    assert!(with.0 < without.0, "{with:?} vs {without:?}");
    assert!(with.1 < without.1, "a third reading narrows the level");
    // A quiet hour after a quiet day moves nothing much; a busy hour lifts the level.
    let busy = later_model(0.1).daily_level(&day_ten(40.0, 100.0), &[], 1.0, 0.0, 240.0);
    let calm = later_model(0.1).daily_level(&day_ten(4.0, 100.0), &[], 1.0, 0.0, 240.0);
    assert!(busy.0 > calm.0 * 1.2, "{busy:?} vs {calm:?}");
    assert!((80.0..125.0).contains(&calm.0), "{calm:?}");
}

#[test]
fn the_later_prior_reads_the_opening_share_of_the_seats() {
    // A prior that rises with the opening's share: the same quiet day reads a higher
    // level after a big opening, and an event's path carries its opening.
    let model = LevelModel {
        later: vec![0.01f64.ln(), 0.0, 0.0, 4.0],
        ..later_model(0.0)
    };
    let quiet = day_ten(0.0, 0.0);
    let big = Path {
        opening: 2_500.0,
        ..quiet
    };
    let (small, _) = model.daily_level(&quiet, &[], 1.0, 0.0, 240.0);
    let (large, _) = model.daily_level(&big, &[], 1.0, 0.0, 240.0);
    assert!(large > 1.5 * small, "{large} vs {small}");
    let e = crate::context::EventContext {
        opening_sold: 2_500,
        ..Default::default()
    };
    assert_eq!(Path::of_event(&e).opening, 2_500.0);
}

/// Ten days into the sale with `week` seats sold in the six days before the last.
fn with_week(sales_1h: f64, sales_24h: f64, week: f64) -> Path {
    Path {
        sales_7d: sales_24h + week,
        ..day_ten(sales_1h, sales_24h)
    }
}

#[test]
fn the_week_narrows_a_steady_level_and_is_not_fooled_by_one_wave_day() {
    let hours = later_model(0.4);
    let week = LevelModel {
        week_noise: 0.03,
        ..hours.clone()
    };
    // Steady at 100 seats a day: the week agrees and narrows the level's variance.
    let steady = with_week(4.0, 100.0, 600.0);
    let (without, with) = (
        hours.daily_level(&steady, &[], 1.0, 0.0, 240.0),
        week.daily_level(&steady, &[], 1.0, 0.0, 240.0),
    );
    assert!(with.1 < 0.7 * without.1, "{with:?} vs {without:?}");
    assert!((90.0..111.0).contains(&with.0), "{with:?}");
    // A wave day of 500 on that week (and a last hour still busy with it): the level
    // stays nearer the week's 100 than the day and hour alone read it.
    let wave = with_week(12.0, 500.0, 600.0);
    let (fooled, read) = (
        hours.daily_level(&wave, &[], 1.0, 0.0, 240.0),
        week.daily_level(&wave, &[], 1.0, 0.0, 240.0),
    );
    assert!(fooled.0 > 200.0, "{fooled:?}");
    let off = |l: f64| (l / 100.0).ln();
    assert!(
        read.0 < 170.0 && off(read.0) < 0.7 * off(fooled.0),
        "{read:?} vs {fooled:?}"
    );
    // A sale younger than the week holds its opening there: the week is not read.
    let young = Path {
        sold: 700.0,
        ..wave
    };
    assert_eq!(
        week.daily_level(&young, &[], 1.0, 0.0, 240.0),
        hours.daily_level(&young, &[], 1.0, 0.0, 240.0)
    );
}

#[test]
fn the_week_reads_the_level_over_the_curve_not_the_raw_mean() {
    // The curve doubles every day towards the event: six earlier days at the current
    // level of 100 a day sold 100 · (1/2 + 1/4 + ... + 1/64) ≈ 98 seats.
    let shape: Vec<f64> = (0..40).map(|d| -(d as f64) * 2f64.ln()).collect();
    let model = LevelModel {
        week_noise: 0.03,
        ..later_model(0.0)
    };
    let sold_week: f64 = (1..=6).map(|d| 100.0 * 0.5f64.powi(d)).sum();
    let days = crate::shape::past_days(&shape, 240.0, 24.0, 144.0);
    assert!((sold_week / days - 100.0).abs() < 1.0, "{days}");
    let p = with_week(4.0, 100.0, sold_week);
    let (curve, _) = model.daily_level(&p, &shape, 1.0, 0.0, 240.0);
    let (flat, _) = model.daily_level(&p, &[], 1.0, 0.0, 240.0);
    assert!((90.0..111.0).contains(&curve), "{curve}");
    assert!(
        flat < 0.6 * curve,
        "a raw mean reads low: {flat} vs {curve}"
    );
}

/// Four days into a sale of 10,000 seats whose opening hours sold 2,000, then 100
/// seats a day until the last day (68 hours at 96 hours old), then `sales_24h`.
fn day_four(sales_1h: f64, sales_24h: f64, age_hours: f64) -> Path {
    let sold = 2_000.0 + 100.0 * 68.0 / 24.0 + sales_24h;
    Path {
        capacity: 10_000.0,
        sold,
        remaining: 10_000.0 - sold,
        sales_15m: sales_1h / 4.0,
        sales_1h,
        sales_24h,
        sales_7d: sold,
        age_hours,
        opening: 2_000.0,
    }
}

#[test]
fn the_days_between_the_opening_and_the_last_read_the_level_before_the_week() {
    let hours = later_model(0.4);
    let middle = LevelModel {
        middle_noise: 0.07,
        ..hours.clone()
    };
    // Steady at 100 a day: the middle days agree and narrow the level.
    let steady = day_four(4.0, 100.0, 96.0);
    let (without, with) = (
        hours.daily_level(&steady, &[], 1.0, 0.0, 400.0),
        middle.daily_level(&steady, &[], 1.0, 0.0, 400.0),
    );
    assert!(with.1 < 0.8 * without.1, "{with:?} vs {without:?}");
    assert!((90.0..111.0).contains(&with.0), "{with:?}");
    // A wave day of 500: the level stays nearer the middle days' 100.
    let wave = day_four(12.0, 500.0, 96.0);
    let (fooled, read) = (
        hours.daily_level(&wave, &[], 1.0, 0.0, 400.0),
        middle.daily_level(&wave, &[], 1.0, 0.0, 400.0),
    );
    assert!(read.0 < 0.85 * fooled.0, "{read:?} vs {fooled:?}");
    // Without the on-sale's age (older records) nothing is read.
    let unknown = day_four(12.0, 500.0, 0.0);
    assert_eq!(
        middle.daily_level(&unknown, &[], 1.0, 0.0, 400.0),
        hours.daily_level(&unknown, &[], 1.0, 0.0, 400.0)
    );
}

#[test]
fn a_day_read_above_the_prior_weighs_less_than_one_below_it() {
    let even = later_model(0.0);
    let lifted = LevelModel {
        day_noise_up: 0.2,
        ..even.clone()
    };
    // The prior says 100 a day: a day of 300 moves the level less when days read
    // above the prior are known to be noisier; a day below it reads as before.
    above_weighs_less(&even, &lifted, &day_ten(12.0, 300.0), &day_ten(2.0, 50.0));
}

/// Reading `up` (above the prior of 100 a day), `lifted` moves the level less than
/// `even` but still above the prior; reading `down` (below it), both agree.
fn above_weighs_less(even: &LevelModel, lifted: &LevelModel, up: &Path, down: &Path) {
    let (plain, robust) = (
        even.daily_level(up, &[], 1.0, 0.0, 240.0),
        lifted.daily_level(up, &[], 1.0, 0.0, 240.0),
    );
    assert!(
        robust.0 < plain.0 && robust.0 > 100.0,
        "{robust:?} vs {plain:?}"
    );
    assert_eq!(
        lifted.daily_level(down, &[], 1.0, 0.0, 240.0),
        even.daily_level(down, &[], 1.0, 0.0, 240.0)
    );
}

#[test]
fn the_middle_days_end_at_the_last_day_then_at_the_week() {
    // Four days in: from the opening hours to the last day.
    let young = day_four(4.0, 100.0, 96.0);
    let (sales, back, span) = young.middle().unwrap();
    assert_eq!((back, span), (24.0, 68.0));
    assert!((sales - 100.0 * 68.0 / 24.0).abs() < 1e-9, "{sales}");
    // Ten days in, with the week read: from the opening hours to the week.
    let old = Path {
        sold: 3_000.0,
        sales_7d: 700.0,
        age_hours: 240.0,
        opening: 2_000.0,
        ..day_ten(4.0, 100.0)
    };
    assert!(old.earlier_week().is_some());
    assert_eq!(old.middle(), Some((300.0, 168.0, 68.0)));
    // Unknown age, or too short a span: none.
    assert_eq!(day_four(4.0, 100.0, 0.0).middle(), None);
    assert_eq!(day_four(4.0, 100.0, 30.0).middle(), None);
}

#[test]
fn the_horizon_bias_scales_the_days_ahead_past_the_first_day_only() {
    let plain = later_model(0.0);
    let biased = LevelModel {
        bias: [0.0, 0.1],
        ..plain.clone()
    };
    let day = day_ten(4.0, 100.0);
    let f = |m: &LevelModel, hours: f64| m.forecast(&day, &[], 1.0, 400.0, hours).mean;
    // ln 1 = 0: the next day is unchanged; two weeks sell e^(0.1 ln 14) ≈ 1.30 times more.
    assert!((f(&biased, 24.0) - f(&plain, 24.0)).abs() < 1e-9);
    let ratio = f(&biased, 336.0) / f(&plain, 336.0);
    assert!((ratio - 14f64.powf(0.1)).abs() < 0.01, "{ratio}");
    // The first day's forecast reads the opening: no bias.
    let first = spike(50_000.0, 30.0, 45.0);
    let g = |m: &LevelModel| m.forecast(&first, &[], 1.0, 500.0, 336.0).mean;
    assert_eq!(g(&biased), g(&plain));
}

#[test]
fn an_hour_read_above_the_prior_weighs_less_than_one_below_it() {
    let even = later_model(0.1);
    let lifted = LevelModel {
        hour_noise_up: 0.5,
        ..even.clone()
    };
    // The prior and the day say 100 a day; a busy hour (40, a 960 daily pace) lifts
    // the level less when hours read above the prior are known to be noisier; a quiet
    // hour below the prior reads as before.
    above_weighs_less(&even, &lifted, &day_ten(40.0, 100.0), &day_ten(1.0, 100.0));
}
