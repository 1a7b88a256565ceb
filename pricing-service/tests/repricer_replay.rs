//! The repricer prices by event time and resumes from its checkpoint: the same topics
//! give the same price changes however often it polls, and a repricer killed anywhere
//! (before or after its checkpoint) ends where an uninterrupted one does.

mod common;

use std::path::Path;

use common::{T0, harness};
use sellout_pipelines::output::{
    FEATURES_TOPIC, FeatureBody, RateMetric, SIGNALS_TOPIC, SellOutFeatures, SignalDetail,
    push_feature, push_signal,
};
use sellout_pipelines::{Feature, Signal, SignalKind};
use sellout_pricing::repricer::Repricer;
use sellout_streams::Batch;

const STEP_MS: i64 = 300_000;
const CATEGORIES: [(&str, &str); 3] = [("e1", "c1"), ("e1", "c2"), ("e2", "c1")];
const FLUSHES: usize = 48;
/// The flush after which the killed runs stop; a surge straddles it on e1/c1.
const SPLIT: usize = 20;

/// One flush of the pipelines: its signals are appended before its features.
struct Flush {
    signals: Vec<Signal>,
    features: Vec<Feature>,
}

fn signal(id: u64, kind: SignalKind, time: i64, event: &str, category: Option<&str>) -> Signal {
    Signal {
        id,
        kind,
        time,
        event_id: Some(event.into()),
        category_id: category.map(Into::into),
        venue_id: None,
        zone_id: None,
        detail: SignalDetail::Rate {
            metric: RateMetric::Purchases,
            rate_per_min: 0.0,
            baseline_per_min: 0.0,
            baseline_std: 0.0,
            z: 0.0,
            cusum: 0.0,
            trigger: "test".into(),
        },
    }
}

fn feature(id: u64, time: i64, event: &str, category: &str, sold: u32) -> Feature {
    Feature {
        id,
        time,
        body: FeatureBody::SellOut(SellOutFeatures {
            event_id: event.into(),
            category_id: category.into(),
            capacity: 1_000,
            sold,
            remaining: 1_000 - sold,
            sales_1m: 5,
            sales_15m: 60,
            sales_1h: 200,
            sales_24h: 400,
            sales_7d: 2800,
            hours_since_on_sale: 0.0,
            opening_sold: 0,
            cart_adds_1h: 300,
            abandonment_rate_24h: 0.1,
            buzz_posts_1h: 0,
            buzz_sentiment_1h: 0.0,
            hours_to_event: 500.0,
            price_minor: 10_000,
            currency: "GBP".into(),
        }),
    }
}

/// Seeded flushes: per category, now and then a surge (one or two) or a slump, each
/// followed by a snapshot at its time, and a regular snapshot every step; sometimes a
/// surge about a whole event.
fn flushes() -> Vec<Flush> {
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut id = 0u64;
    let mut fresh = || {
        id += 1;
        id
    };
    (0..FLUSHES)
        .map(|k| {
            let t = T0 + 3_600_000 + k as i64 * STEP_MS;
            let sold = (550 + 8 * k as u32).min(999);
            let mut f = Flush {
                signals: Vec::new(),
                features: Vec::new(),
            };
            for (e, c) in CATEGORIES {
                let straddle = (e, c) == ("e1", "c1") && (k == SPLIT - 1 || k == SPLIT);
                let kinds: &[SignalKind] = match (straddle, next() % 6) {
                    (true, _) => &[SignalKind::Surge],
                    (false, 0) => &[SignalKind::Surge, SignalKind::Surge],
                    (false, 1) => &[SignalKind::Surge],
                    (false, 2) => &[SignalKind::Slump],
                    _ => &[],
                };
                for (i, kind) in kinds.iter().enumerate() {
                    let at = t - 60_000 * (kinds.len() - 1 - i) as i64;
                    f.signals.push(signal(fresh(), *kind, at, e, Some(c)));
                    f.features.push(feature(fresh(), at, e, c, sold));
                }
                f.features.push(feature(fresh(), t, e, c, sold));
            }
            if next() % 9 == 0 {
                f.signals
                    .push(signal(fresh(), SignalKind::Surge, t - 1, "e2", None));
            }
            f
        })
        .collect()
}

fn append(h: &common::Harness, topic: &str, batch: Batch) {
    if !batch.is_empty() {
        h.transport.append(topic, &batch).expect("append");
    }
}

fn append_signals(h: &common::Harness, f: &Flush) {
    let mut b = Batch::new();
    f.signals.iter().for_each(|s| push_signal(&mut b, s));
    append(h, SIGNALS_TOPIC, b);
}

fn append_features(h: &common::Harness, f: &Flush) {
    let mut b = Batch::new();
    f.features.iter().for_each(|x| push_feature(&mut b, x));
    append(h, FEATURES_TOPIC, b);
}

fn drain(r: &mut Repricer) {
    while r.poll().expect("poll") > 0 {}
}

/// Every change per category: (id, event time, old, new).
fn changes(h: &common::Harness) -> Vec<(u64, i64, i64, i64)> {
    CATEGORIES
        .iter()
        .flat_map(|(e, c)| {
            let history = h.service.category(e, c).expect("category").history;
            history
                .iter()
                .map(|c| (c.id, c.time, c.old_minor, c.new_minor))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn checkpointed(h: &common::Harness, path: &Path) -> Repricer {
    Repricer::rule_based(h.service.clone())
        .with_checkpoint(path.to_path_buf())
        .expect("checkpoint")
}

/// Polls after the signals and after the features of each flush.
fn flush_by_flush(h: &common::Harness, r: &mut Repricer, flushes: &[Flush]) {
    for f in flushes {
        append_signals(h, f);
        drain(r);
        append_features(h, f);
        drain(r);
    }
}

#[test]
fn the_prices_do_not_depend_on_when_the_repricer_reads() {
    let flushes = flushes();

    // Everything first, then one repricer reads it all.
    let all_at_once = harness();
    flushes.iter().for_each(|f| {
        append_signals(&all_at_once, f);
        append_features(&all_at_once, f);
    });
    drain(&mut Repricer::rule_based(all_at_once.service.clone()));

    // A poll after every append.
    let eager = harness();
    flush_by_flush(
        &eager,
        &mut Repricer::rule_based(eager.service.clone()),
        &flushes,
    );

    // A poll every third flush.
    let lazy = harness();
    let mut r = Repricer::rule_based(lazy.service.clone());
    for (k, f) in flushes.iter().enumerate() {
        append_signals(&lazy, f);
        append_features(&lazy, f);
        if k % 3 == 2 {
            drain(&mut r);
        }
    }
    drain(&mut r);

    let reference = changes(&all_at_once);
    let ups = reference.iter().filter(|c| c.3 > c.2).count();
    let downs = reference.iter().filter(|c| c.3 < c.2).count();
    assert!(ups >= 3 && downs >= 3, "{ups} up, {downs} down");
    assert_eq!(changes(&eager), reference);
    assert_eq!(changes(&lazy), reference);
    // "Now" is the triggering record's time, never the (unmoved) processing clock.
    assert!(reference.iter().all(|c| c.1 > T0));
}

#[test]
fn a_killed_repricer_resumes_from_its_checkpoint() {
    let flushes = flushes();
    let dir = tempfile::tempdir().expect("tempdir");

    let uninterrupted = harness();
    let path = dir.path().join("whole.json");
    flush_by_flush(
        &uninterrupted,
        &mut checkpointed(&uninterrupted, &path),
        &flushes,
    );
    let reference = changes(&uninterrupted);

    // Killed after its checkpoint: a new process resumes with the memory it had.
    let killed = harness();
    let path = dir.path().join("killed.json");
    flush_by_flush(
        &killed,
        &mut checkpointed(&killed, &path),
        &flushes[..SPLIT],
    );
    flush_by_flush(
        &killed,
        &mut checkpointed(&killed, &path),
        &flushes[SPLIT..],
    );
    assert_eq!(changes(&killed), reference);

    // Killed after appending a change but before its checkpoint: the replay finds the
    // change already there, appends nothing twice and goes on the same way.
    let torn = harness();
    let path = dir.path().join("torn.json");
    let mut r = checkpointed(&torn, &path);
    flush_by_flush(&torn, &mut r, &flushes[..SPLIT]);
    let before = std::fs::read(&path).expect("checkpoint");
    flush_by_flush(&torn, &mut r, &flushes[SPLIT..SPLIT + 3]);
    drop(r);
    std::fs::write(&path, before).expect("restore the older checkpoint");
    let mut r = checkpointed(&torn, &path);
    drain(&mut r);
    flush_by_flush(&torn, &mut r, &flushes[SPLIT + 3..]);
    assert_eq!(changes(&torn), reference);

    // Without the checkpoint the memory is lost: the surge before the restart no
    // longer counts towards the one after it, and the prices differ. (This is what the
    // checkpoint is for; it also shows the scenario exercises it.)
    let forgetful = harness();
    flush_by_flush(
        &forgetful,
        &mut Repricer::rule_based(forgetful.service.clone()),
        &flushes[..SPLIT],
    );
    flush_by_flush(
        &forgetful,
        &mut Repricer::rule_based(forgetful.service.clone()),
        &flushes[SPLIT..],
    );
    assert_ne!(changes(&forgetful), reference);
}

#[test]
fn a_checkpoint_from_another_log_is_refused_not_followed() {
    let flushes = flushes();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("repricer.json");
    let first = harness();
    flush_by_flush(&first, &mut checkpointed(&first, &path), &flushes[..5]);

    // A new, shorter log under the old checkpoint: reading on would skip records.
    let replaced = harness();
    flush_by_flush(
        &replaced,
        &mut Repricer::rule_based(replaced.service.clone()),
        &flushes[..1],
    );
    let err = checkpointed(&replaced, &path)
        .poll()
        .expect_err("ahead of the topic");
    assert!(err.to_string().contains("belongs to another log"), "{err}");
}
