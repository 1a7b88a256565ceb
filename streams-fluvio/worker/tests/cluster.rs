//! Against a real Fluvio cluster named by `SELLOUT_FLUVIO` (the SC's public address);
//! each test prints `skipped: no Fluvio cluster at $SELLOUT_FLUVIO (unset)` and passes
//! when it is unset. Topics carry a prefix of their own and are deleted at the end.
//!
//! - Two workers owning partitions {0,1} and {2,3} of 4-partition topics emit exactly
//!   the signals and features of one runner over one embedded log (multisets of the
//!   stored values: kind, ids and every field).
//! - Runners dropped mid-way without a final checkpoint, then restarted from their
//!   checkpoints, end with the same outputs: nothing lost, nothing twice.
//! - `bench fluvio` with two concurrent senders ingests every record (the bench fails
//!   otherwise), reads them all back by partition, and leaves no topic behind.

mod common;

use std::path::Path;
use std::sync::Arc;

use sellout_fluvio::{Namespaced, PartitionSet, Worker};
use sellout_streams::Transport;
use sellout_streams_fluvio::{CLUSTER_ENV, FluvioConfig, FluvioTransport};

use common::{Multiset, assert_same, catalog, count, pipelines, records, values, write};

const PARTITIONS: u32 = 4;

fn cluster() -> Option<FluvioTransport> {
    match std::env::var(CLUSTER_ENV) {
        Ok(endpoint) if !endpoint.is_empty() => {
            let mut cfg = FluvioConfig::at(endpoint);
            cfg.topic.partitions = PARTITIONS;
            Some(FluvioTransport::connect(cfg).unwrap_or_else(|e| panic!("connect: {e}")))
        }
        _ => {
            println!("skipped: no Fluvio cluster at ${CLUSTER_ENV} (unset)");
            None
        }
    }
}

/// Loads the simulated records into topics under `prefix`, routed by key.
fn load(t: &FluvioTransport, prefix: &str, records: &[sellout_ingest::records::AnyRecord]) {
    let target = Namespaced::new(t.clone(), prefix);
    write(records, |topic, batch| {
        target
            .append(topic, batch)
            .unwrap_or_else(|e| panic!("append to {topic}: {e}"));
    });
}

fn worker(t: &FluvioTransport, prefix: &str, dir: &Path, set: &str) -> Worker {
    let (t, prefix) = (t.clone(), prefix.to_owned());
    Worker::new(
        pipelines(),
        dir.to_owned(),
        catalog(),
        set.parse::<PartitionSet>()
            .unwrap_or_else(|e| panic!("{e}")),
        Arc::new(move |p| {
            Arc::new(Namespaced::new(t.partition(p), prefix.clone())) as Arc<dyn Transport>
        }),
    )
}

/// Signals and features over every partition under `prefix`.
fn outputs(t: &FluvioTransport, prefix: &str) -> (Multiset, Multiset) {
    let (mut signals, mut features) = (Multiset::new(), Multiset::new());
    for p in 0..PARTITIONS {
        let view = Namespaced::new(t.partition(p), prefix);
        count(&mut signals, values(&view, "signals"));
        count(&mut features, values(&view, "features"));
    }
    (signals, features)
}

fn drain_all(workers: &[Worker], end: Option<i64>) -> u64 {
    std::thread::scope(|s| {
        let hs: Vec<_> = workers
            .iter()
            .map(|w| s.spawn(move || w.drain(end)))
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("worker panicked"))
                    .unwrap_or_else(|e| panic!("drain: {e}"))
                    .values()
                    .map(|r| r.totals.records)
                    .sum::<u64>()
            })
            .sum()
    })
}

#[test]
fn two_workers_on_fluvio_match_one_embedded_runner() {
    let Some(t) = cluster() else { return };
    let records = records();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (signals, features) = common::reference(&dir.path().join("reference"), &records);

    let prefix = format!("t{}-eq-", std::process::id());
    load(&t, &prefix, &records);
    // Two workers as two machines would run them: a data directory each.
    let workers = [
        worker(&t, &prefix, &dir.path().join("w1"), "0,1"),
        worker(&t, &prefix, &dir.path().join("w2"), "2-3"),
    ];
    let end = workers[0]
        .input_end(PARTITIONS)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(drain_all(&workers, end), records.len() as u64);
    let (got_signals, got_features) = outputs(&t, &prefix);
    t.delete_prefixed(&prefix)
        .unwrap_or_else(|e| panic!("delete: {e}"));
    assert_same("signals", &signals, &got_signals);
    assert_same("features", &features, &got_features);
}

#[test]
fn runners_dropped_mid_way_resume_from_their_checkpoints() {
    let Some(t) = cluster() else { return };
    let records = records();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (signals, features) = common::reference(&dir.path().join("reference"), &records);

    let prefix = format!("t{}-rs-", std::process::id());
    load(&t, &prefix, &records);
    let data = dir.path().join("worker");
    let first = worker(&t, &prefix, &data, "0-3");
    // Each runner gets part of the way (past checkpoints and past outputs appended
    // after its last checkpoint) and is dropped: no final checkpoint, as in a crash.
    let mut dropped_with_work = 0;
    for (p, steps) in [(0u32, 7usize), (1, 3), (2, 5), (3, 2)] {
        let mut runner = first.open_runner(p).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..steps {
            runner.run_bounded(1_013).unwrap_or_else(|e| panic!("{e}"));
        }
        let report = runner.report();
        if report.checkpoints > 0 {
            dropped_with_work += 1;
        }
        drop(runner);
    }
    assert!(
        dropped_with_work >= 2,
        "the runners checkpointed too little"
    );
    let again = worker(&t, &prefix, &data, "0-3");
    let end = again
        .input_end(PARTITIONS)
        .unwrap_or_else(|e| panic!("{e}"));
    let reports = again.drain(end).unwrap_or_else(|e| panic!("{e}"));
    let skipped: u64 = reports.values().map(|r| r.replayed_skipped).sum();
    let (got_signals, got_features) = outputs(&t, &prefix);
    t.delete_prefixed(&prefix)
        .unwrap_or_else(|e| panic!("delete: {e}"));
    assert_same("signals", &signals, &got_signals);
    assert_same("features", &features, &got_features);
    assert!(
        skipped > 0,
        "no output was written twice only because none was written after a checkpoint"
    );
}

#[test]
fn the_bench_with_two_senders_accounts_for_every_record_and_cleans_up() {
    let Some(t) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = sellout_fluvio::WorkerConfig {
        data_dir: dir.path().to_owned(),
        fluvio: FluvioConfig::at(std::env::var(CLUSTER_ENV).unwrap_or_default()),
        ..sellout_fluvio::WorkerConfig::default()
    };
    let report = sellout_fluvio::bench::run(
        &config,
        &sellout_fluvio::bench::BenchOptions {
            records: 20_000,
            partitions: vec![1, 2],
            events: 40,
            rounds: 1,
            senders: 2,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.records, report.senders), (20_000, 2));
    assert!(report.raw_produce_records_per_sec > 0.0 && report.ingest_records_per_sec > 0.0);
    for parts in [1u32, 2] {
        let counts = &report.pipeline_records_by_partition[&parts];
        assert_eq!(counts.len(), parts as usize);
        assert_eq!(
            counts.iter().sum::<u64>(),
            20_000,
            "{parts} partitions: {counts:?}"
        );
    }
    // Scaling at 2 partitions is the rate at 2 over twice the rate at 1, and the
    // headline figure is the one at the most partitions.
    let rates = &report.pipeline_records_per_sec_by_partitions;
    let at_two = report.pipeline_scaling_by_partitions[&2];
    assert!((at_two - rates[&2] / (2.0 * rates[&1])).abs() < 1e-9);
    assert_eq!(report.pipeline_scaling, Some(at_two));
    let tag = std::process::id();
    let left: Vec<String> = t
        .topics()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|name| {
            [
                format!("br{tag}-"),
                format!("bi{tag}-"),
                format!("bp1-{tag}-"),
                format!("bp2-{tag}-"),
            ]
            .iter()
            .any(|p| name.starts_with(p.as_str()))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
