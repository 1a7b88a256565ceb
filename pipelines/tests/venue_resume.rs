//! The venue job, stopped anywhere, emits what one bounded run does: a live runner
//! over the on-sale and the venue day of one event (beacons and queue readings) stops
//! after `k` polls of `m` records, checkpoints, and is reopened and drained; its
//! signals and features equal a bounded run's as multisets.
//!
//! The sales topic ends when the venue opens (sales are frozen) while beacons and
//! queue readings go on for hours, so a live runner that read the sales to their end
//! holds the watermark back and processes the venue day far ahead of the minutes it
//! closes: presence, dwell and queue lengths must still be those as of each minute.

mod support;

use std::sync::Arc;

use sellout_ingest::records::{AnyRecord, Topic};
use sellout_pipelines::jobs::venue::VenueConfig;
use sellout_pipelines::output::{FeatureBody, decode_feature, decode_signal};
use sellout_pipelines::{PipelinesConfig, SignalKind};
use sellout_simulator::{ListPrices, SimConfig, Simulation};
use support::{Setup, ends_spread};

/// The on-sale of [`sim`] (about 2,800 records) and the first two hours of its venue
/// day: queue readings from the opening, then about 150 installations' sightings.
const RECORDS: usize = 14_800;

fn sim() -> Simulation {
    let config = SimConfig {
        seed: 11,
        events: 1,
        scale: 0.002,
        sale_days: 0.5,
        beacon_interval_s: 60,
        include_social: false,
        ..SimConfig::default()
    };
    Simulation::new(config, Arc::new(ListPrices)).expect("simulation")
}

#[test]
fn a_live_venue_day_stopped_anywhere_then_drained_matches_a_bounded_run() {
    let mut sim = sim();
    let setup = Setup {
        config: PipelinesConfig {
            checkpoint_every_records: 997,
            output_every_records: 101,
            // Thresholds scaled down to the few attendees simulated, so that stand
            // queues estimated from who waits where turn long and short.
            venue: VenueConfig {
                long_wait_minutes: 0.3,
                long_clear_minutes: 0.2,
                short_wait_minutes: 0.0,
                short_clear_minutes: 0.1,
                short_min_nearby: 20,
                cooldown_minutes: 2,
                ..VenueConfig::default()
            },
            ..PipelinesConfig::default()
        },
        catalog: Arc::new(sim.catalog().clone()),
    };
    let records: Vec<AnyRecord> = sim.by_ref().take(RECORDS).collect();
    let count = |topic: Topic| records.iter().filter(|r| r.topic() == topic).count();
    let (beacons, queues, sales) = (
        count(Topic::Beacons),
        count(Topic::Queues),
        count(Topic::Sales),
    );
    assert!(
        beacons > 1_000 && queues > 100 && sales > 100,
        "not a venue day: {sales} sales, {beacons} beacons, {queues} queue readings"
    );
    assert!(
        ends_spread(&records) > 60 * 60_000,
        "the venue day runs on well past the sales"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    // The venue job has something to say: occupancy minutes and queue signals.
    let (signals, features) = setup.bounded(&dir.path().join("coverage"), &records);
    let queue_signals = signals
        .keys()
        .filter_map(|v| decode_signal(v).ok())
        .filter(|s| matches!(s.kind, SignalKind::QueueLong | SignalKind::QueueShort))
        .count();
    let occupancy = features
        .keys()
        .filter_map(|v| decode_feature(v).ok())
        .filter(|f| matches!(f.body, FeatureBody::Occupancy(_)))
        .count();
    assert!(
        queue_signals > 0 && occupancy > 1_000,
        "{queue_signals} queue signals, {occupancy} occupancy features"
    );
    let n = records.len();
    let (trials, failures) =
        setup.cuts(dir.path(), "venue", &records, &[n, 997, 2_503, n / 3 + 17]);
    assert!(trials > 20);
    assert!(
        failures.is_empty(),
        "{} of {trials} cuts differ: {failures:#?}",
        failures.len()
    );
}
