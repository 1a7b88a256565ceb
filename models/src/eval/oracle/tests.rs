use super::*;
use crate::history::{HistoryConfig, generate};

fn small_history() -> crate::history::History {
    generate(&HistoryConfig {
        seeds: vec![7],
        events: 2,
        sale_days: 6.0,
        scale: 0.3,
        hotness: (0.4, 0.9),
        snapshot_hours: 24.0,
        price_factors: Vec::new(),
    })
    .unwrap()
}

/// Every category of the snapshot's event with the snapshot's seats left for its own
/// category and `seats` for the others.
fn state(l: &Labelled, event: &EventTruth, seats: u32) -> Option<Vec<(usize, u32)>> {
    let c = event
        .categories
        .iter()
        .position(|k| k.category_id == l.features.category_id.as_str())?;
    Some(
        (0..event.categories.len())
            .map(|k| (k, if k == c { l.features.remaining } else { seats }))
            .collect(),
    )
}

#[test]
fn neighbours_selling_out_raise_a_categorys_probability() {
    let h = small_history();
    let mut oracle = Oracle::with_paths(&h.truths, 32, 0);
    let mut raised = 0;
    for l in h
        .snapshots
        .iter()
        .filter(|l| l.features.hours_to_event > 48.0)
    {
        let Some(event) = h.truths[0].event(&l.features.event_id) else {
            continue;
        };
        let (Some(plenty), Some(scarce)) = (state(l, event, u32::MAX / 2), state(l, event, 1))
        else {
            continue;
        };
        // Neighbours that can't run out versus neighbours down to their last seat.
        let plenty = oracle.probability(l, Horizon::ByStart, &plenty);
        let scarce = oracle.probability(l, Horizon::ByStart, &scarce);
        let (Some(plenty), Some(scarce)) = (plenty, scarce) else {
            continue;
        };
        assert!(scarce + 0.05 >= plenty, "{scarce} < {plenty} at {l:?}");
        if scarce > plenty + 0.05 {
            raised += 1;
        }
    }
    assert!(
        raised > 0,
        "no category gained from its neighbours selling out"
    );
}

#[test]
fn the_oracle_knows_the_past_but_not_the_realised_future() {
    let h = small_history();
    let truth = &h.truths[0];
    let event = &truth.events[0];
    let open = event.curve.on_sale;
    // Snapshots of the first event in its first two days, 7-day horizon.
    let rows: Vec<&Labelled> = h
        .snapshots
        .iter()
        .filter(|l| l.features.event_id == event.event_id.as_str())
        .filter(|l| l.time > open + 3_600_000 && l.time < open + 48 * 3_600_000)
        .collect();
    assert!(!rows.is_empty());
    let probabilities = |truths: &[GroundTruth]| -> Vec<f64> {
        let mut oracle = Oracle::with_paths(truths, 64, 0);
        rows.iter()
            .map(|l| {
                let s = state(l, &truths[0].events[0], u32::MAX / 2).unwrap();
                oracle.probability(l, Horizon::Days7, &s).unwrap()
            })
            .collect()
    };
    let base = probabilities(&h.truths);
    // A huge social spike after every snapshot: the realised future, unknowable.
    let mut later = h.truths.clone();
    later[0].events[0]
        .social_spikes
        .push(spike(open + 60 * 3_600_000));
    assert_eq!(probabilities(&later), base);
    // The same spike before them (its arrivals still to come): known, and it matters.
    let mut earlier = h.truths.clone();
    earlier[0].events[0]
        .social_spikes
        .push(spike(open + 3_600_000 / 2));
    let raised = probabilities(&earlier);
    assert!(
        raised.iter().zip(&base).all(|(r, b)| r + 1e-9 >= *b)
            && raised.iter().zip(&base).any(|(r, b)| *r > b + 0.01),
        "{raised:?} vs {base:?}"
    );
}

fn spike(time: Timestamp) -> sellout_simulator::truth::SocialSpike {
    sellout_simulator::truth::SocialSpike {
        time,
        posts_per_min: 50.0,
        post_decay_min: 45.0,
        arrival_boost: 40.0,
        arrival_lag_min: 600.0,
    }
}

#[test]
fn the_seat_tail_is_the_compound_poisson_tail() {
    // One seat per cart: the Poisson tail, summed here term by term.
    let one = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let poisson_tail = |mean: f64, n: u32| {
        let mut term = (-mean).exp();
        let mut below = 0.0;
        for k in 0..n {
            below += term;
            term *= mean / f64::from(k + 1);
        }
        1.0 - below
    };
    for (mean, need) in [(5.0, 8), (12.0, 3), (0.4, 2), (20.0, 20)] {
        let got = tail(mean, f64::from(need), &one);
        let want = poisson_tail(mean, need);
        assert!((got - want).abs() < 1e-9, "{mean} {need}: {got} vs {want}");
    }
    // Two seats per cart: at least 2k seats is at least k sessions.
    let two = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let got = tail(6.0, 9.0, &two);
    assert!((got - poisson_tail(6.0, 5)).abs() < 1e-9, "{got}");
    assert_eq!(tail(3.0, 0.0, &one), 1.0);
    assert_eq!(tail(0.0, 1.0, &one), 0.0);
}
