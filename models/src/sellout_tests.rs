use super::*;
use crate::history::Labelled;
use crate::history::{HistoryConfig, generate};
use crate::metrics::auc;
use crate::shape::shortfall_z;
use sellout_pipelines::output::SellOutFeatures;

#[test]
fn logistic_minds_the_label_trap_whichever_class_is_larger() {
    // x > 0 means true; once with true the minority, once the majority.
    for threshold in [1.0, -1.0] {
        let rows: Vec<Vec<f64>> = (0..200).map(|i| vec![i as f64 / 50.0 - 2.0]).collect();
        let labels: Vec<bool> = rows.iter().map(|r| r[0] > threshold).collect();
        let m = fit_logistic(&rows, &labels).unwrap();
        assert!(m.probability(&[2.0]) > 0.9, "{threshold}: {m:?}");
        assert!(m.probability(&[-2.0]) < 0.1, "{threshold}: {m:?}");
    }
    // One class only: a constant, no error.
    let m = fit_logistic(&[vec![1.0], vec![2.0]], &[true, true]).unwrap();
    assert!(m.probability(&[0.0]) > 0.5);
}

#[test]
fn logistic_keeps_a_steep_boundary_near_its_unpenalised_slope() {
    // 400 rows of a steep logistic (slope 8 on x), labels from a fixed hash.
    let rows: Vec<Vec<f64>> = (0..400).map(|i| vec![f64::from(i) / 100.0 - 2.0]).collect();
    let labels: Vec<bool> = rows
        .iter()
        .zip(0u64..)
        .map(|(r, i)| {
            let u = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) as f64 / (1u64 << 53) as f64;
            u < 1.0 / (1.0 + (-8.0 * r[0]).exp())
        })
        .collect();
    // The unpenalised fit by Newton's method on (intercept, slope).
    let (mut b, mut w) = (0.0f64, 0.0f64);
    for _ in 0..100 {
        let (mut g, mut h) = ([0.0f64; 2], [0.0f64; 3]);
        for (r, &y) in rows.iter().zip(&labels) {
            let p = 1.0 / (1.0 + (-(b + w * r[0])).exp());
            let e = p - if y { 1.0 } else { 0.0 };
            let v = p * (1.0 - p);
            (g[0], g[1]) = (g[0] + e, g[1] + e * r[0]);
            (h[0], h[1], h[2]) = (h[0] + v, h[1] + v * r[0], h[2] + v * r[0] * r[0]);
        }
        let det = h[0] * h[2] - h[1] * h[1];
        b -= (h[2] * g[0] - h[1] * g[1]) / det;
        w -= (h[0] * g[1] - h[1] * g[0]) / det;
    }
    let m = fit_logistic(&rows, &labels).unwrap();
    // The stored weight is on the standardised feature: back to x's scale.
    let slope = m.weights[0] / m.std[0];
    // A penalty heavy enough to hold the slope back costs the horizons' Brier
    // (`logistic.rs`, `L2_PENALTY`): within a sixth of the unpenalised slope.
    assert!(
        w > 4.0 && slope > 0.85 * w && slope <= 1.01 * w,
        "{slope} vs {w}"
    );
}

#[test]
fn trained_model_ranks_and_scores_snapshots() {
    let config = HistoryConfig {
        seeds: vec![11, 12],
        events: 4,
        sale_days: 10.0,
        scale: 0.3,
        hotness: (0.2, 1.5),
        snapshot_hours: 12.0,
        price_factors: Vec::new(),
    };
    let h = generate(&config).unwrap();
    let (train, cal): (Vec<_>, Vec<_>) = h.snapshots.into_iter().partition(|l| l.seed == 11);
    let model = SellOutModel::train(&train, &cal).unwrap();
    let (p, y): (Vec<f64>, Vec<bool>) = cal
        .iter()
        .map(|l| {
            (
                model.probability(&l.features, l.list_minor, l.time, Horizon::ByStart),
                Horizon::ByStart.label(l.time, l.sold_out_at),
            )
        })
        .unzip();
    assert!(auc(&p, &y) > 0.8, "auc {}", auc(&p, &y));
    let l = &cal[0];
    // Nested events: never less likely over a longer horizon, whatever each
    // horizon's own model says.
    for l in &cal {
        let s = model.score(&l.features, l.list_minor, l.time, None);
        assert!(
            s.within_7d <= s.within_14d && s.within_14d <= s.by_start,
            "{s:?}"
        );
        let by_start = model.probability(&l.features, l.list_minor, l.time, Horizon::ByStart);
        assert!((s.by_start - by_start).abs() < 1e-12, "{s:?} {by_start}");
        // Windows that reach the close ask one question and get one answer.
        let hte = l.features.hours_to_event;
        if Horizon::Days14.effective_hours(hte) == Horizon::ByStart.effective_hours(hte) {
            assert_eq!(s.within_14d, s.by_start, "{s:?} at {hte} h");
        }
        if Horizon::Days7.effective_hours(hte) == Horizon::ByStart.effective_hours(hte) {
            assert_eq!(s.within_7d, s.by_start, "{s:?} at {hte} h");
        }
    }
    // Both cases occur in this history (a 10-day sale).
    assert!(cal.iter().any(|l| l.features.hours_to_event < 7.0 * 24.0));
    assert!(
        cal.iter()
            .any(|l| l.features.hours_to_event > 7.0 * 24.0 + 3.0)
    );
    let mut gone = l.features.clone();
    gone.remaining = 0;
    assert_eq!(
        model.probability(&gone, l.list_minor, l.time, Horizon::Days7),
        1.0
    );
}

#[test]
fn expected_sell_out_follows_the_pace() {
    let mut f = crate::pricing::tests::snapshot(100, 100.0);
    f.sales_24h = 240; // 10 an hour
    f.sales_1h = 10;
    let h = expected_sell_out_hours(&f, 10_000, None).unwrap();
    assert!((h - 10.0).abs() < 1e-9, "{h}");
    f.sales_24h = 0;
    f.sales_1h = 0;
    assert!(expected_sell_out_hours(&f, 10_000, None).is_none());
}

#[test]
fn diurnal_profile_reads_the_hour_before_each_snapshot() {
    let base = crate::pricing::tests::snapshot(100, 100.0);
    let row = |hour: i64, sales_1h: u32| Labelled {
        seed: 1,
        // Snapshot at hh:00 covers the hour before: hour − 1.
        time: 1_795_392_000_000 + (hour + 1) * 3_600_000,
        features: SellOutFeatures {
            sales_1h,
            sales_24h: 240,
            sales_7d: 1680,
            hours_since_on_sale: 0.0,
            opening_sold: 0,
            ..base.clone()
        },
        list_minor: 10_000,
        sales_close: 0,
        sold_out_at: None,
    };
    // 1_795_392_000_000 is midnight UTC: hour 20 busy (30 an hour against a daily 10),
    // hour 3 quiet (1 an hour), every other hour unseen.
    let mut data: Vec<Labelled> = (0..6).map(|_| row(20, 30)).collect();
    data.extend((0..6).map(|_| row(3, 1)));
    let profile = diurnal_profile(&data);
    assert_eq!(profile.len(), 24);
    assert!((profile[20] - 3.0).abs() < 1e-9, "{profile:?}");
    assert!((profile[3] - 0.1).abs() < 1e-9, "{profile:?}");
    assert_eq!(profile[12], 1.0);
    // At a busy hour the last hour's pace means less: the structural forecast, which
    // reads the hour as a reading of the daily level, covers fewer seats.
    let level = crate::level::LevelModel {
        hour_noise: 0.1,
        later: vec![-3.0, 0.5, 0.0],
        later_var: 0.1,
        ..crate::level::LevelModel::default()
    };
    let coverage = |diurnal: &[f64]| {
        let row = feature_row(
            &data[0].features,
            10_000,
            data[0].time,
            Horizon::Days7,
            diurnal,
            &[],
            &level,
            &EventContext::alone(&data[0].features),
        );
        let at = SELLOUT_FEATURES
            .iter()
            .position(|n| *n == "ln_coverage_structural")
            .unwrap_or(NF - 1);
        row[at]
    };
    let (busy, plain) = (coverage(&profile), coverage(&[]));
    assert!(busy < plain, "{busy} {plain}");
    // Too few snapshots anywhere: no profile.
    assert!(diurnal_profile(&data[..3]).is_empty());
}

#[test]
fn the_shortfall_is_sharper_for_more_seats_at_the_same_coverage() {
    // 20% more seats forecast than left: near certain for thousands, a toss-up for ten.
    let stadium = shortfall_z(12_000.0, 4_000.0, 10_000.0);
    let box_seats = shortfall_z(12.0, 4.0, 10.0);
    assert!(
        stadium > 3.0 && box_seats.abs() < 1.0,
        "{stadium} {box_seats}"
    );
    // Short of the seats left: negative, and a pace read from more sales is surer.
    assert!(shortfall_z(800.0, 400.0, 1_000.0) < shortfall_z(800.0, 40.0, 1_000.0));
    assert!(shortfall_z(800.0, 40.0, 1_000.0) < 0.0);
    assert_eq!(shortfall_z(f64::NAN, 1.0, 1.0), 0.0);
}

/// A category of `capacity` seats ten days before its event, past the first day.
fn category(id: &str, capacity: u32, remaining: u32, sales_24h: u32) -> SellOutFeatures {
    SellOutFeatures {
        event_id: "ev".into(),
        category_id: id.into(),
        capacity,
        sold: capacity - remaining,
        remaining,
        sales_1m: 0,
        sales_15m: sales_24h / 96,
        sales_1h: sales_24h / 24,
        sales_24h,
        sales_7d: 7 * sales_24h,
        hours_since_on_sale: 0.0,
        opening_sold: 0,
        cart_adds_1h: 0,
        abandonment_rate_24h: 0.0,
        buzz_posts_1h: 0,
        buzz_sentiment_1h: 0.0,
        hours_to_event: 240.0,
        price_minor: 5_000,
        currency: "EUR".into(),
    }
}

#[test]
fn a_sibling_sold_out_within_the_day_raises_the_spill_forecast() {
    let own = category("a", 1_000, 600, 40);
    let open = category("b", 1_000, 500, 40);
    let level = LevelModel {
        spill: 1.0,
        ..LevelModel::default()
    };
    let spill_z = |siblings: &[SellOutFeatures]| {
        let event = EventContext::among(&own, siblings);
        let row = feature_row(&own, 5_000, 0, Horizon::Days7, &[], &[], &level, &event);
        let at = SELLOUT_FEATURES
            .iter()
            .position(|n| *n == "lnz_structural_spill")
            .unwrap_or(NF - 1);
        (event, row[at])
    };
    let (quiet, before) = spill_z(std::slice::from_ref(&open));
    assert_eq!(quiet.recently_sold_out_capacity, 0);
    // A sibling that sold out today (it still sold in its last 24 hours) counts by its
    // seats; one sold out long ago (no sales in its last day) is in the pace already.
    let (recent, after) = spill_z(&[open.clone(), category("c", 2_000, 0, 300)]);
    assert_eq!(recent.recently_sold_out_capacity, 2_000);
    assert!(after > before + 0.1, "{after} vs {before}");
    let (old, long_ago) = spill_z(&[open, category("c", 2_000, 0, 0)]);
    assert_eq!(old.recently_sold_out_capacity, 0);
    assert!((long_ago - before).abs() < 1e-12);
}

#[test]
fn buzz_and_cart_adds_leave_the_feature_row_alone() {
    let f = crate::pricing::tests::snapshot(100, 100.0);
    let loud = SellOutFeatures {
        buzz_posts_1h: 500,
        cart_adds_1h: 900,
        ..f.clone()
    };
    let level = crate::level::LevelModel::default();
    let row = |f: &SellOutFeatures| {
        feature_row(
            f,
            10_000,
            0,
            Horizon::Days7,
            &[],
            &[],
            &level,
            &EventContext::alone(f),
        )
    };
    assert_eq!(row(&f), row(&loud));
    // The seats left still count, through the shortfalls.
    let fewer = SellOutFeatures {
        remaining: f.remaining / 2,
        ..f.clone()
    };
    assert_ne!(row(&f), row(&fewer));
}

#[test]
fn the_row_reads_the_opening_share_of_the_seats() {
    // Past the first day, a category whose opening hours sold half its seats against
    // one that sold none: the rows differ in the opening's share alone (the level's
    // later prior here has no opening term).
    let mut f = crate::pricing::tests::snapshot(100, 100.0);
    f.capacity = 1_000;
    f.sold = 600;
    f.remaining = 400;
    f.sales_24h = 20;
    f.sales_7d = 140;
    let level = crate::level::LevelModel {
        later: vec![-3.0, 0.5, 0.0],
        later_var: 0.1,
        ..crate::level::LevelModel::default()
    };
    let row = |opening_sold: u32| {
        let g = SellOutFeatures {
            opening_sold,
            ..f.clone()
        };
        let event = EventContext::alone(&g);
        feature_row(&g, 10_000, 0, Horizon::ByStart, &[], &[], &level, &event)
    };
    let (none, half) = (row(0), row(500));
    let at = SELLOUT_FEATURES
        .iter()
        .position(|n| *n == "opening_share")
        .unwrap_or(NF);
    for (k, (a, b)) in none.iter().zip(&half).enumerate() {
        if k == at {
            assert!((b - a - 0.5).abs() < 1e-9, "{a} {b}");
        } else {
            assert_eq!(a, b, "{}", SELLOUT_FEATURES[k]);
        }
    }
}
