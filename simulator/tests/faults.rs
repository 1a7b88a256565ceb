//! Injected faults are what they claim: checked by parsing the lines, and by running them
//! through the ingest decoder and validator, which must reject each with the promised code.

use std::collections::BTreeMap;
use std::sync::Arc;

use sellout_ingest::decode::{self, Format};
use sellout_ingest::records::{AnyRecord, Topic};
use sellout_ingest::validate::{Limits, Validator};
use sellout_simulator::{FaultInjector, ListPrices, SimConfig, Simulation};
use serde_json::Value;

/// A few records of every topic.
fn samples() -> (Simulation, Vec<AnyRecord>) {
    let config = SimConfig {
        events: 1,
        sale_days: 1.0,
        scale: 0.02,
        app_share: 0.02,
        beacon_interval_s: 60,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(config, Arc::new(ListPrices)).unwrap();
    let mut per_topic: BTreeMap<Topic, Vec<AnyRecord>> = BTreeMap::new();
    for r in sim.by_ref() {
        let v = per_topic.entry(r.topic()).or_default();
        if v.len() < 60 {
            v.push(r);
        }
    }
    assert_eq!(per_topic.len(), 4);
    (sim, per_topic.into_values().flatten().collect())
}

#[test]
fn corrupted_lines_are_rejected_with_the_promised_code() {
    let (sim, records) = samples();
    let validator = Validator::new(Arc::new(sim.catalog().clone()), Limits::default());
    let mut injector = FaultInjector::new(99, 1.0);
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &records {
        let mut line = Vec::new();
        r.write_json(&mut line);
        let now = r.time();
        // The line is valid before corruption.
        let decoded = decode::decode(
            Format::JsonLines,
            Some(r.topic()),
            &line,
            validator.limits(),
        );
        assert_eq!(
            decoded.records.len(),
            1,
            "{}",
            String::from_utf8_lossy(&line)
        );
        assert_eq!(validator.check(&decoded.records[0].record, now), Ok(()));

        let (bad, code) = injector.maybe_corrupt(r.topic(), line.clone());
        let code = code.expect("rate 1 always corrupts");
        *seen.entry(code).or_default() += 1;
        let parsed = serde_json::from_slice::<Value>(&bad);
        match code {
            "malformed" => assert!(parsed.is_err()),
            "missing_field" => assert!(parsed.unwrap().get("time").is_none()),
            _ => assert!(parsed.is_ok()),
        }
        let decoded = decode::decode(Format::JsonLines, Some(r.topic()), &bad, validator.limits());
        let got = match (decoded.rejected.first(), decoded.records.first()) {
            (Some(rejection), _) => rejection.reason.code(),
            (None, Some(ok)) => match validator.check(&ok.record, now) {
                Err(reason) => reason.code(),
                Ok(()) => "accepted",
            },
            (None, None) => "nothing decoded",
        };
        assert_eq!(got, code, "{}", String::from_utf8_lossy(&bad));
    }
    for code in [
        "malformed",
        "missing_field",
        "out_of_range",
        "time_in_future",
        "unknown_event",
        "unknown_venue",
    ] {
        assert!(seen.contains_key(code), "{code} never injected: {seen:?}");
    }
    assert_eq!(
        injector.injected().values().sum::<u64>(),
        records.len() as u64
    );
}

#[test]
fn the_rate_is_respected_and_seeded() {
    let line = br#"{"source":"x","text":"hi","language":"en","author_reach":3,"event_ids":["ev-001"],"time":"2026-11-23T09:00:00.000Z"}"#;
    let run = |seed| {
        let mut injector = FaultInjector::new(seed, 0.1);
        (0..10_000)
            .map(|_| injector.maybe_corrupt(Topic::Social, line.to_vec()).1)
            .collect::<Vec<_>>()
    };
    let a = run(1);
    assert_eq!(a, run(1));
    assert_ne!(a, run(2));
    let corrupted = a.iter().filter(|c| c.is_some()).count();
    assert!((800..1200).contains(&corrupted), "{corrupted}");
}
