//! What the worker tests share: simulated input, writing it, reading outputs back.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, wire};
use sellout_pipelines::PipelinesConfig;
use sellout_simulator::{ListPrices, SimConfig, Simulation};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};
use sellout_streams_fluvio::routing::partition_of;

/// Input records per test run.
pub const RECORDS: usize = 60_000;

/// Several events on four venues, a fixed seed: on-sales, social posts, venue days.
pub fn sim() -> Simulation {
    let config = SimConfig {
        seed: 7,
        events: 8,
        scale: 0.05,
        sale_days: 2.0,
        on_sale_stagger_hours: 3.0,
        ..SimConfig::default()
    };
    Simulation::new(config, Arc::new(ListPrices)).unwrap_or_else(|e| panic!("simulation: {e}"))
}

/// The simulation's catalog.
pub fn catalog() -> Arc<Catalog> {
    Arc::new(sim().catalog().clone())
}

/// The first [`RECORDS`] simulated records.
pub fn records() -> Vec<AnyRecord> {
    sim().take(RECORDS).collect()
}

/// Pipelines settings that checkpoint and append often, so restarts have work to skip.
pub fn pipelines() -> PipelinesConfig {
    PipelinesConfig {
        checkpoint_every_records: 997,
        output_every_records: 101,
        ..PipelinesConfig::default()
    }
}

/// Appends `records` to their topics through `append`, in batches per topic.
pub fn write(records: &[AnyRecord], mut append: impl FnMut(&str, &Batch)) {
    let mut batches: BTreeMap<&str, Batch> = BTreeMap::new();
    for record in records {
        let topic = record.topic().as_str();
        let batch = batches.entry(topic).or_default();
        batch.push_with(record.key().as_bytes(), record.time(), |buf| {
            wire::encode_any_into(record, buf)
        });
        if batch.len() >= 1000 {
            append(topic, batch);
            batch.clear();
        }
    }
    for (topic, batch) in &batches {
        if !batch.is_empty() {
            append(topic, batch);
        }
    }
}

/// A fresh embedded log in `dir`.
pub fn open_log(dir: &Path) -> Arc<EmbeddedLog> {
    Arc::new(
        EmbeddedLog::open(dir, LogConfig::default(), Arc::new(ManualClock::new(0)))
            .unwrap_or_else(|e| panic!("log: {e}")),
    )
}

/// Every value of `topic`, in offset order, checking that offsets are contiguous.
pub fn values(t: &dyn Transport, topic: &str) -> Vec<Vec<u8>> {
    let start = t
        .offsets(topic)
        .unwrap_or_else(|e| panic!("offsets of {topic}: {e}"))
        .start;
    let mut out = Vec::new();
    let mut next = start;
    loop {
        let fetched = t
            .read(topic, next, 1 << 20)
            .unwrap_or_else(|e| panic!("read {topic}: {e}"));
        if fetched.is_empty() {
            return out;
        }
        for r in fetched.records() {
            assert_eq!(r.offset, next, "offsets of {topic} are not contiguous");
            next += 1;
            out.push(r.value.to_vec());
        }
    }
}

/// A multiset of output values: value → how many times it was written.
pub type Multiset = BTreeMap<Vec<u8>, usize>;

/// Adds `values` to `set`.
pub fn count(set: &mut Multiset, values: Vec<Vec<u8>>) {
    for v in values {
        *set.entry(v).or_default() += 1;
    }
}

/// Outputs of one reference run over one embedded log: signals and features.
pub fn reference(dir: &Path, records: &[AnyRecord]) -> (Multiset, Multiset) {
    let log = open_log(&dir.join("log"));
    write(records, |topic, batch| {
        log.append(topic, batch).unwrap_or_else(|e| panic!("{e}"));
    });
    let mut runner = sellout_pipelines::Runner::open(
        pipelines(),
        catalog(),
        log.clone(),
        dir.join("checkpoint.bin"),
    )
    .unwrap_or_else(|e| panic!("runner: {e}"));
    let report = runner.run_to_end().unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(report.totals.records, records.len() as u64);
    let (mut signals, mut features) = (Multiset::new(), Multiset::new());
    count(&mut signals, values(log.as_ref(), "signals"));
    count(&mut features, values(log.as_ref(), "features"));
    assert!(
        !signals.is_empty() && !features.is_empty(),
        "the reference run found nothing"
    );
    (signals, features)
}

/// The partition of `record` among `partitions`, as the Fluvio transport routes it.
pub fn partition(record: &AnyRecord, partitions: u32) -> u32 {
    partition_of(record.key().as_bytes(), partitions)
}

/// Panics with a readable summary when the two multisets differ.
pub fn assert_same(what: &str, expected: &Multiset, actual: &Multiset) {
    if expected == actual {
        return;
    }
    let missing: usize = expected
        .iter()
        .map(|(v, n)| n.saturating_sub(actual.get(v).copied().unwrap_or(0)))
        .sum();
    let extra: usize = actual
        .iter()
        .map(|(v, n)| n.saturating_sub(expected.get(v).copied().unwrap_or(0)))
        .sum();
    if std::env::var("SELLOUT_TEST_DIFF").is_ok() {
        for (v, n) in expected {
            if actual.get(v).copied().unwrap_or(0) < *n {
                eprintln!("MISSING {}", describe(v));
            }
        }
        for (v, n) in actual {
            if expected.get(v).copied().unwrap_or(0) < *n {
                eprintln!("EXTRA   {}", describe(v));
            }
        }
    }
    panic!(
        "{what} differ: {} expected, {} got; {missing} missing, {extra} extra",
        expected.values().sum::<usize>(),
        actual.values().sum::<usize>()
    );
}

fn describe(v: &[u8]) -> String {
    if let Ok(s) = sellout_pipelines::output::decode_signal(v) {
        return format!("{s:?}");
    }
    match sellout_pipelines::output::decode_feature(v) {
        Ok(f) => format!("{f:?}"),
        Err(_) => format!("{} bytes", v.len()),
    }
}
