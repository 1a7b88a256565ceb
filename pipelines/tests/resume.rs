//! Where a live runner stops doesn't change what it emits: a runner follows an input
//! that is already all there with [`Runner::poll`] (processing time standing still,
//! so no source goes idle), stops after `k` polls of `m` records, checkpoints, and is
//! reopened and run to the end as a bounded input. For many `(m, k)` its signals and
//! features equal those of one bounded run over the same input, as multisets.
//!
//! The input is one partition of a simulated on-sale at a time (records routed by key,
//! as a partitioned transport routes them), so the topics of one input end at
//! different event times: a live runner can't know that a topic read to its end is
//! finished, a bounded one can, and the two must still agree.

mod support;

use std::path::Path;
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, Topic};
use sellout_pipelines::output::FeatureBody;
use sellout_pipelines::{Engine, Feature, PipelinesConfig, Signal};
use sellout_simulator::{ListPrices, SimConfig, Simulation};
use support::{Setup, ends_spread};

const RECORDS: usize = 60_000;
const PARTS: u64 = 4;

fn sim() -> Simulation {
    let config = SimConfig {
        seed: 7,
        events: 8,
        scale: 0.05,
        sale_days: 2.0,
        on_sale_stagger_hours: 3.0,
        ..SimConfig::default()
    };
    Simulation::new(config, Arc::new(ListPrices)).expect("simulation")
}

fn setup() -> Setup {
    Setup {
        config: PipelinesConfig {
            checkpoint_every_records: 997,
            output_every_records: 101,
            ..PipelinesConfig::default()
        },
        catalog: Arc::new(sim().catalog().clone()),
    }
}

/// The simulated records split by key into [`PARTS`] parts (FNV-1a of the key).
fn parts() -> Vec<Vec<AnyRecord>> {
    let mut parts = vec![Vec::new(); PARTS as usize];
    for record in sim().take(RECORDS) {
        let hash = record.key().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        parts[(hash % PARTS) as usize].push(record);
    }
    parts
}

#[test]
fn a_live_runner_stopped_anywhere_then_drained_matches_a_bounded_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = setup();
    let mut failures = Vec::new();
    let mut trials = 0;
    let parts = parts();
    // The case that matters: in some part one topic ends well over a features tick
    // and the allowed lateness before another, so a live runner that read it to its
    // end holds back ticks that a bounded run releases while it reads on.
    assert!(
        parts.iter().any(|r| ends_spread(r) > 20 * 60_000),
        "no part whose topics end far apart"
    );
    for (p, records) in parts.iter().enumerate() {
        let n = records.len();
        let (t, f) = setup.cuts(
            dir.path(),
            &format!("part{p}"),
            records,
            &[n, 2_503, n / 3 + 17],
        );
        trials += t;
        failures.extend(f);
    }
    assert!(trials > 20);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// 2026-11-01T10:00:00Z.
const T0: i64 = 1_793_527_200_000;
const MINUTE: i64 = 60_000;

fn record(json: &str) -> AnyRecord {
    serde_json::from_str(json).expect("record")
}

fn post(time: i64) -> AnyRecord {
    record(&format!(
        r#"{{"topic": "social", "source": "x", "text": "Who else is going?", "language": "en", "author_reach": 10, "event_ids": ["ev-1"], "time": {time}}}"#
    ))
}

fn purchase(quantity: u32, price: i64, time: i64) -> AnyRecord {
    record(&format!(
        r#"{{"topic": "sales", "kind": "purchase", "event_id": "ev-1", "category_id": "cat-1", "session_id": "s-{time}", "quantity": {quantity}, "unit_price_minor": {price}, "currency": "GBP", "channel": "web", "time": {time}}}"#
    ))
}

/// What an engine running `config` emits for `records` (in that order, processing
/// time standing still), finishing the topic `silent` after its last record when
/// `finish` (as a bounded run does) and the input at the end. Without it, `silent`
/// holds the watermark back, so every record is processed before the timers due
/// between them fire (as in a live runner that read `silent` to its end).
fn engine_outputs(
    config: PipelinesConfig,
    records: &[AnyRecord],
    silent: Topic,
    finish: bool,
) -> (Vec<Signal>, Vec<Feature>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/catalog.json");
    let catalog = Arc::new(Catalog::load(&path).expect("catalog"));
    let mut engine = Engine::new(config, catalog).expect("engine");
    for (offset, r) in (0..).zip(records) {
        engine.process(r.topic(), offset, r, 0);
        if finish && r.topic() == silent {
            engine.finish_topic(silent);
        }
    }
    engine.finish();
    engine.take_outputs()
}

fn only(job: &str) -> PipelinesConfig {
    PipelinesConfig {
        jobs: vec![job.into()],
        ..PipelinesConfig::default()
    }
}

/// A sale after a tick that a live runner processed before the tick fired (a silent
/// social feed held the watermark back) is not in that tick's figures: the snapshot is
/// the one a bounded run gives, where the tick fires before that sale is seen.
#[test]
fn a_sale_processed_ahead_of_a_tick_is_not_in_its_figures() {
    let records = [
        post(T0),
        purchase(2, 5_000, T0 + MINUTE),
        purchase(3, 7_000, T0 + 20 * MINUTE),
    ];
    let (_, live) = engine_outputs(only("features"), &records, Topic::Social, false);
    let (_, bounded) = engine_outputs(only("features"), &records, Topic::Social, true);
    assert_eq!(live, bounded);
    let [
        Feature {
            time,
            body: FeatureBody::SellOut(f),
            ..
        },
    ] = live.as_slice()
    else {
        panic!("one tick expected: {live:?}");
    };
    assert_eq!(*time, T0 + 15 * MINUTE, "the 10:15 tick");
    assert_eq!((f.sold, f.sales_15m, f.price_minor), (2, 2, 5_000));
}

/// A category idle for `active_hours` and then busy again starts afresh, whether the
/// sales after the idle spell were processed before the minute that found it idle
/// closed (live, a silent source holding the watermark) or after (bounded).
#[test]
fn an_idle_category_restarts_the_same_however_far_ahead_its_next_sales_were_read() {
    let mut config = only("surges");
    config.surges.active_hours = 1;
    let mut records = vec![post(T0)];
    // A steady sale a minute, two hours of nothing, then a rush.
    records.extend((1..=45).map(|m| purchase(1, 5_000, T0 + m * MINUTE + 10_000)));
    for m in 0..10 {
        for s in 0..20 {
            records.push(purchase(1, 5_000, T0 + (165 + m) * MINUTE + s * 1_000));
        }
    }
    let (live, _) = engine_outputs(config.clone(), &records, Topic::Social, false);
    let (bounded, _) = engine_outputs(config, &records, Topic::Social, true);
    assert!(!bounded.is_empty(), "the idle spell is a slump");
    assert_eq!(live, bounded);
}

/// The same for an event's buzz: an event idle for `active_hours` starts afresh with
/// its next post, however far ahead of the minute that found it idle it was read.
#[test]
fn an_idle_event_restarts_its_buzz_the_same_however_far_ahead_its_next_posts_were_read() {
    let mut config = only("buzz");
    config.buzz.active_hours = 1;
    // A sale stands in for the silent source holding the watermark back.
    let mut records = vec![purchase(1, 5_000, T0)];
    records.extend((1..=45).map(|m| post(T0 + m * MINUTE + 10_000)));
    for m in 0..10 {
        records.extend((0..30).map(|s| post(T0 + (165 + m) * MINUTE + s * 1_000)));
    }
    let (live, _) = engine_outputs(config.clone(), &records, Topic::Sales, false);
    let (bounded, _) = engine_outputs(config, &records, Topic::Sales, true);
    assert!(!bounded.is_empty(), "the idle spell and the rush are buzz");
    assert_eq!(live, bounded);
}
