//! Runs a simulation and prints its stats as JSON, with throughput on stderr.
//!
//! `cargo run --release -p sellout-simulator --example summary -- '{"events": 3}'`
//! (the argument is a `SimConfig` in JSON; empty for the defaults).

use std::sync::Arc;
use std::time::Instant;

use sellout_simulator::{ListPrices, SimConfig, Simulation};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config: SimConfig = match std::env::args().nth(1) {
        Some(json) => serde_json::from_str(&json)?,
        None => SimConfig::default(),
    };
    let mut sim = Simulation::new(config, Arc::new(ListPrices))?;
    for e in &sim.truth().events {
        eprintln!(
            "{} hotness {:.2} wtp_ratio {:.2} peak {:.0}/min base {:.2}/min late {:.2}/min",
            e.event_id,
            e.hotness,
            e.wtp_ratio,
            e.curve.opening_peak_per_min,
            e.curve.baseline_per_min,
            e.curve.late_peak_per_min
        );
    }
    let started = Instant::now();
    let mut n = 0u64;
    let mut peak = sim.state_sizes();
    while sim.next().is_some() {
        n += 1;
        if n.is_multiple_of(1_000_000) {
            let s = sim.state_sizes();
            peak.timers = peak.timers.max(s.timers);
            peak.live_sessions = peak.live_sessions.max(s.live_sessions);
            peak.attendees = peak.attendees.max(s.attendees);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{}", serde_json::to_string_pretty(&sim.stats())?);
    eprintln!(
        "{n} records in {secs:.2} s: {:.0} records/s; sizes at the end {:?}; peaks {peak:?}",
        n as f64 / secs,
        sim.state_sizes()
    );
    Ok(())
}
