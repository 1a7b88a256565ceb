//! Streaming at scale: a million records with bounded state, and (ignored) throughput.

use std::sync::Arc;
use std::time::Instant;

use sellout_simulator::{ListPrices, SimConfig, Simulation};

#[test]
fn streams_a_million_records_with_bounded_state() {
    // One stadium, a short sale, many phones: beacons dominate, as on a real day.
    let config = SimConfig {
        events: 1,
        sale_days: 1.0,
        scale: 0.1,
        app_share: 0.5,
        beacon_interval_s: 5,
        include_social: false,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(config, Arc::new(ListPrices)).unwrap();
    let capacity = sim.catalog().events[0].capacity() as usize;
    let mut n = 0usize;
    let mut last = i64::MIN;
    let mut worst = sim.state_sizes();
    while n < 1_000_000 {
        let record = sim
            .next()
            .expect("the run is longer than a million records");
        assert!(record.time() >= last);
        last = record.time();
        n += 1;
        if n.is_multiple_of(10_000) {
            let s = sim.state_sizes();
            // Timers: one per live session or attendee, plus a handful of steps.
            assert!(s.timers <= s.live_sessions + s.attendees + 1_000, "{s:?}");
            assert!(s.buffered <= 10_000, "{s:?}");
            assert!(s.attendees <= capacity && s.holders <= capacity, "{s:?}");
            assert!(s.session_slots <= 100_000, "{s:?}");
            worst.timers = worst.timers.max(s.timers);
            worst.session_slots = worst.session_slots.max(s.session_slots);
        }
    }
    assert!(worst.timers <= capacity + 100_000, "{worst:?}");
}

#[test]
#[ignore = "throughput measurement: cargo test --release -p sellout-simulator -- --ignored"]
fn throughput_of_a_default_run() {
    let mut sim = Simulation::new(SimConfig::default(), Arc::new(ListPrices)).unwrap();
    let started = Instant::now();
    let mut n = 0u64;
    while sim.next().is_some() {
        n += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = sim.stats();
    println!(
        "default run: {n} records in {seconds:.2} s = {:.0} records/s; by topic {:?}; peak timers {}",
        n as f64 / seconds,
        stats.records,
        sim.state_sizes().peak_timers
    );
    assert_eq!(n, stats.records_total);
}
