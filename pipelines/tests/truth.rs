//! The jobs against the simulator's ground truth: what the simulation knows happened
//! is what the pipelines detect.

use std::sync::Arc;

use sellout_ingest::records::Topic;
use sellout_pipelines::{Engine, PipelinesConfig, SignalKind};
use sellout_simulator::{ListPrices, SimConfig, Simulation};

#[test]
fn every_expired_cart_of_a_simulated_on_sale_is_reported_abandoned_once() {
    let config = SimConfig {
        events: 3,
        scale: 0.05,
        sale_days: 3.0,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(config, Arc::new(ListPrices)).expect("simulation");
    let mut engine =
        Engine::new(PipelinesConfig::default(), Arc::new(sim.catalog().clone())).expect("engine");
    let mut offsets = [0u64; 4];
    let mut abandoned = std::collections::BTreeSet::new();
    let mut duplicates = 0;
    for record in sim.by_ref() {
        let slot = Topic::ALL
            .iter()
            .position(|t| *t == record.topic())
            .unwrap_or(0);
        engine.process(record.topic(), offsets[slot], &record, 0);
        offsets[slot] += 1;
        for s in engine.take_outputs().0 {
            if s.kind == SignalKind::CartAbandoned && !abandoned.insert(s.id) {
                duplicates += 1;
            }
        }
    }
    engine.finish();
    for s in engine.take_outputs().0 {
        if s.kind == SignalKind::CartAbandoned && !abandoned.insert(s.id) {
            duplicates += 1;
        }
    }
    let stats = sim.stats();
    let expired = stats.carts_abandoned - stats.carts_removed;
    assert!(expired > 100, "too few abandoned carts to judge: {stats:?}");
    assert_eq!(duplicates, 0);
    assert_eq!(
        abandoned.len() as u64,
        expired,
        "carts {}, removed {}",
        stats.carts,
        stats.carts_removed
    );
    assert_eq!(
        engine.counts().late,
        0,
        "the simulator's records come in time order"
    );
}
