//! The Fluvio demo ([`sellout_fluvio::demo`]) against one embedded log.
//!
//! - Without a cluster: the demo over four partitions (embedded logs standing in for
//!   Fluvio partitions, appended to as the Fluvio transport routes) reconciles, and
//!   with list prices for the shoppers writes exactly the signals of the same demo over
//!   one embedded log (the shape of `sellout demo`); with prices in the loop, the
//!   repricers change prices and shoppers take quotes.
//! - With a cluster (`SELLOUT_FLUVIO`): the demo on fresh topics of two partitions is
//!   the same run as the demo over two embedded logs (records, signals, features,
//!   price changes, revenue), and leaves no topic behind.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sellout_fluvio::demo::{self, DemoOptions, DemoStreams, DemoSummary};
use sellout_fluvio::{Namespaced, WorkerConfig};
use sellout_pipelines::PipelinesConfig;
use sellout_simulator::SimConfig;
use sellout_streams::log::EmbeddedLog;
use sellout_streams::{
    AppendAck, Batch, Fetched, ManualClock, Offset, StreamError, TopicOffsets, Transport,
};
use sellout_streams_fluvio::routing::partition_of;
use sellout_streams_fluvio::{CLUSTER_ENV, FluvioConfig, FluvioTransport};

use common::{Multiset, assert_same, count, open_log, values};

/// A small on-sale and venue day, every fault kind likely, as fast as possible.
fn options() -> DemoOptions {
    DemoOptions {
        // About 75,000 records: sales, social, queue readings, a few beacons.
        sim: SimConfig {
            seed: 11,
            events: 4,
            scale: 0.02,
            sale_days: 1.0,
            on_sale_stagger_hours: 3.0,
            app_share: 0.01,
            beacon_interval_s: 300,
            ..SimConfig::default()
        },
        duration: Duration::ZERO,
        fault_rate: 0.01,
        progress: false,
        price_loop: true,
        stop: None,
    }
}

/// Embedded logs as the partitions of one topic set: appends go to the log of the
/// record's key, as the Fluvio transport routes them. Only appends are routed.
struct Routed(Vec<Arc<EmbeddedLog>>);

impl Routed {
    fn one(&self) -> Result<&Arc<EmbeddedLog>, StreamError> {
        match self.0.as_slice() {
            [one] => Ok(one),
            _ => Err(StreamError::Unavailable(
                "topic-wide reads need one partition".into(),
            )),
        }
    }
}

impl Transport for Routed {
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
        let n = self.0.len() as u32;
        let mut parts: BTreeMap<u32, Batch> = BTreeMap::new();
        for r in batch.iter(0) {
            parts
                .entry(partition_of(r.key, n))
                .or_default()
                .push(r.key, r.time, r.value);
        }
        let mut first = None;
        for (p, b) in parts {
            let ack = self.0[p as usize].append(topic, &b)?;
            first.get_or_insert(ack.base_offset);
        }
        Ok(AppendAck {
            base_offset: first.unwrap_or(0),
            count: batch.len(),
        })
    }
    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        self.one()?.read(topic, from, max_bytes)
    }
    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError> {
        self.one()?.offsets(topic)
    }
    fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError> {
        self.one()?.commit(topic, consumer, offset)
    }
    fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError> {
        self.one()?.committed(topic, consumer)
    }
    fn flush(&self) -> Result<(), StreamError> {
        self.0.iter().try_for_each(|l| l.flush())
    }
    fn topics(&self) -> Result<Vec<String>, StreamError> {
        self.one()?.topics()
    }
}

/// The demo over `n` embedded logs under `dir`: its summary and outputs.
fn embedded(dir: &Path, n: u32, options: &DemoOptions) -> (DemoSummary, Multiset, Multiset) {
    let logs: Vec<Arc<EmbeddedLog>> = (0..n)
        .map(|p| open_log(&dir.join(format!("p{p}"))))
        .collect();
    let streams = DemoStreams {
        ingest: Arc::new(Routed(logs.clone())),
        partitions: logs
            .iter()
            .map(|l| l.clone() as Arc<dyn Transport>)
            .collect(),
    };
    let summary = demo::run(
        &streams,
        &dir.join("work"),
        PipelinesConfig::default(),
        options,
        Arc::new(ManualClock::new(0)),
    )
    .unwrap_or_else(|e| panic!("demo over {n} logs: {e}"));
    let (mut signals, mut features) = (Multiset::new(), Multiset::new());
    for log in &logs {
        count(&mut signals, values(log.as_ref(), "signals"));
        count(&mut features, values(log.as_ref(), "features"));
    }
    (summary, signals, features)
}

fn check_reconciled(s: &DemoSummary) {
    let r = &s.records;
    assert!(s.reconciled, "{s:?}");
    assert_eq!(r.posted, r.accepted + r.dead_letters);
    assert_eq!(s.pipelines_records, r.accepted);
    assert_eq!(
        s.by_partition.iter().map(|p| p.records).sum::<u64>(),
        r.accepted
    );
    assert!(r.dead_letters > 0, "no fault was injected: {r:?}");
    assert_eq!(
        r.dead_letters_by_reason.values().sum::<u64>(),
        r.dead_letters
    );
}

#[test]
fn the_demo_over_four_partitions_reconciles_and_finds_the_signals_of_one_log() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let open = DemoOptions {
        price_loop: false,
        ..options()
    };
    let (one, signals, features) = embedded(&dir.path().join("one"), 1, &open);
    let (four, got_signals, got_features) = embedded(&dir.path().join("four"), 4, &open);
    check_reconciled(&one);
    check_reconciled(&four);
    assert!(
        four.by_partition.iter().all(|p| p.records > 0),
        "a partition got no records: {:?}",
        four.by_partition
    );
    // List prices for the shoppers: the same records, whatever the partitions.
    assert_eq!(one.records.posted, four.records.posted);
    assert_eq!(
        one.records.dead_letters_by_reason,
        four.records.dead_letters_by_reason
    );
    assert_eq!(one.pipelines_records, four.pipelines_records);
    assert_same("signals", &signals, &got_signals);
    // Snapshot features are emitted as each runner's watermark passes, and a source
    // idle in one partition's records is not idle in all of them: the same kinds,
    // not the same count (README, Fluvio: Demo).
    assert!(!features.is_empty() && !got_features.is_empty());
    assert_eq!(
        one.features.keys().collect::<Vec<_>>(),
        four.features.keys().collect::<Vec<_>>()
    );
}

#[test]
fn the_closed_loop_over_partitions_reprices_and_reconciles() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (four, _, _) = embedded(&dir.path().join("four"), 4, &options());
    check_reconciled(&four);
    assert!(four.price_changes > 0, "no repricer changed a price");
    assert!(four.quotes_issued > 0, "no shopper took a quote");
    assert_eq!(
        four.by_partition
            .iter()
            .map(|p| p.price_changes)
            .sum::<u64>(),
        four.price_changes
    );
    assert_ne!(
        four.revenue_minor, four.list_price_revenue_minor,
        "prices in the loop moved no revenue"
    );
}

#[test]
fn the_demo_on_fluvio_matches_embedded_partitions_and_cleans_up() {
    let endpoint = match std::env::var(CLUSTER_ENV) {
        Ok(e) if !e.is_empty() => e,
        _ => {
            println!("skipped: no Fluvio cluster at ${CLUSTER_ENV} (unset)");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // The same demo over two embedded logs routed as Fluvio routes: the same run.
    let (two, signals, features) = embedded(&dir.path().join("two"), 2, &options());
    let config = WorkerConfig {
        data_dir: dir.path().join("data"),
        fluvio: FluvioConfig::at(endpoint.clone()),
        pipelines: PipelinesConfig::default(),
        ..WorkerConfig::default()
    };
    let summary = demo::run_on_cluster(&config, &options(), 2, true, Arc::new(ManualClock::new(0)))
        .unwrap_or_else(|e| panic!("demo on Fluvio: {e}"));
    let prefix = summary.topic_prefix.clone();
    let t = FluvioTransport::connect(FluvioConfig::at(endpoint))
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let (mut got_signals, mut got_features) = (Multiset::new(), Multiset::new());
    for p in 0..2 {
        let view = Namespaced::new(t.partition(p), prefix.clone());
        count(&mut got_signals, values(&view, "signals"));
        count(&mut got_features, values(&view, "features"));
    }
    let deleted = t
        .delete_prefixed(&prefix)
        .unwrap_or_else(|e| panic!("delete: {e}"));
    assert!(deleted > 0, "the demo's topics were deleted");
    // An empty prefix would name every topic on the cluster.
    assert!(t.delete_prefixed("").is_err());
    let left: Vec<String> = t
        .topics()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "topics left behind: {left:?}");
    check_reconciled(&summary);
    assert_eq!(summary.partitions, 2);
    assert_eq!(summary.records.posted, two.records.posted);
    assert_eq!(summary.records.accepted, two.records.accepted);
    assert_eq!(summary.price_changes, two.price_changes);
    assert_eq!(summary.quotes_issued, two.quotes_issued);
    assert_eq!(summary.revenue_minor, two.revenue_minor);
    assert_eq!(summary.signals, two.signals);
    assert_same("signals", &signals, &got_signals);
    assert_same("features", &features, &got_features);
}
