//! `sellout-fluvio bench`: in one run against one cluster,
//! - the raw `fluvio` client producing exactly the keys and values sellout's ingest
//!   produces, topic by topic, chunk by chunk, every produce confirmed;
//! - sellout's ingest path ([`Ingestor::ingest`]: validation against the catalog, wire
//!   encoding, confirmed appends through the Fluvio transport) on the same records;
//! - the pipelines over pre-loaded topics of 1, 2, 4 … partitions, one runner thread per
//!   partition ([`Worker::drain`]).
//!
//! The records come from the simulator (fixed seed, `events` events). Every phase uses
//! topics of its own (a prefix with the process id) and deletes them at the end.
//! Durations are measured with `Instant`, the benchmark's own clock.
//!
//! # Layout
//! - this module: options, the report, the raw produce and the run;
//! - `ingest`: the ingest phase, by one or several senders;
//! - `pipeline`: the pipeline phase at one partition count.

mod ingest;
mod pipeline;

use std::collections::BTreeMap;
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, Topic, wire};
use sellout_simulator::{ListPrices, SimConfig, Simulation};
use sellout_streams::Batch;
use sellout_streams_fluvio::bench::rate;
use sellout_streams_fluvio::routing::partition_of;
use sellout_streams_fluvio::{FluvioTransport, TransportStats};
use serde::{Deserialize, Serialize};

use crate::config::WorkerConfig;
use ingest::ingest;
use pipeline::pipeline;

/// Records per ingest call (one HTTP request's worth) and per raw chunk.
const CHUNK: usize = 10_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Records per phase.
    pub records: u64,
    /// Partition counts of the pipeline phase.
    pub partitions: Vec<u32>,
    /// Simulated events the records are spread over.
    pub events: usize,
    /// Rounds of raw produce and ingest (the best of each is reported).
    pub rounds: u32,
    /// Concurrent senders of raw produce and of ingest, each with its own events (so
    /// each event's records stay in order), as several sellers post to one ingest node.
    pub senders: usize,
}

/// What one run measured (printed as the last line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FluvioBench {
    /// Always `"fluvio"`.
    pub bench: String,
    /// Records per phase.
    pub records: u64,
    /// Rounds of raw produce and ingest; the best of each is reported.
    pub rounds: u32,
    /// Concurrent senders of raw produce and of ingest (the same for both).
    #[serde(default)]
    pub senders: usize,
    /// Mean bytes of one Fluvio record value.
    pub value_bytes: f64,
    /// The raw client producing the same keys and values, every produce confirmed.
    pub raw_produce_records_per_sec: f64,
    /// sellout's ingest (validate, encode, confirmed appends) into Fluvio.
    pub ingest_records_per_sec: f64,
    /// `ingest_records_per_sec / raw_produce_records_per_sec` (target ≥ 0.7).
    pub ingest_vs_raw: f64,
    /// Pipeline throughput (all partitions together) by partition count.
    pub pipeline_records_per_sec_by_partitions: BTreeMap<u32, f64>,
    /// Records per partition in each pipeline phase (how evenly the keys spread).
    pub pipeline_records_by_partition: BTreeMap<u32, Vec<u64>>,
    /// Rate at the most partitions / (that many × the rate at 1) (target ≥ 0.75
    /// where cores allow).
    pub pipeline_scaling: Option<f64>,
    /// The same for every partition count above 1: where scaling holds and where the
    /// cores run out (`cores`; the cluster shares them on one machine).
    #[serde(default)]
    pub pipeline_scaling_by_partitions: BTreeMap<u32, f64>,
    /// Cores this process may use.
    pub cores: usize,
    /// Gaps re-fetched and reconnects over the run.
    pub repaired: TransportStats,
}

/// Why the benchmark failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The cluster or a stream failed.
    #[error("{0}")]
    Streams(String),
    /// The simulator refused its config.
    #[error("simulator: {0}")]
    Simulator(String),
}

fn streams(e: impl std::fmt::Display) -> BenchError {
    BenchError::Streams(e.to_string())
}

/// Runs the benchmark against the cluster of `config.fluvio`.
pub fn run(config: &WorkerConfig, options: &BenchOptions) -> Result<FluvioBench, BenchError> {
    let (catalog, records) = simulate(options)?;
    let n = records.len() as u64;
    let tag = std::process::id();
    let widest = options.partitions.iter().copied().max().unwrap_or(1).max(1);
    let mut repaired = TransportStats::default();

    // Raw produce and ingest write topics of the widest partition count.
    let mut cfg = config.fluvio.clone();
    cfg.topic.partitions = widest;
    let transport = FluvioTransport::connect(cfg.clone()).map_err(streams)?;

    // Each sender posts the records of its own events, in order, a chunk at a time.
    let senders = options.senders.max(1);
    let mut by_sender: Vec<Vec<AnyRecord>> = vec![Vec::new(); senders];
    for r in &records {
        let s = partition_of(r.key().as_bytes(), senders as u32);
        by_sender[s as usize].push(r.clone());
    }
    let chunks: Vec<Vec<&[AnyRecord]>> = by_sender
        .iter()
        .map(|rs| rs.chunks(CHUNK).collect())
        .collect();
    // The raw client's appends: per chunk, one batch per topic, as ingest makes them.
    let mut appends: Vec<Vec<(usize, Batch)>> = Vec::new();
    let mut value_bytes = 0usize;
    for sender in &chunks {
        let mut mine = Vec::new();
        for chunk in sender {
            let mut per_topic: BTreeMap<usize, Batch> = BTreeMap::new();
            for r in chunk.iter() {
                let slot = Topic::ALL.iter().position(|t| *t == r.topic()).unwrap_or(0);
                let b = per_topic.entry(slot).or_default();
                let before = b.bytes().len();
                b.push_with(r.key().as_bytes(), r.time(), |buf| {
                    wire::encode_any_into(r, buf)
                });
                value_bytes += b.bytes().len() - before;
            }
            mine.extend(per_topic);
        }
        appends.push(mine);
    }
    // Rounds alternate raw and ingest on fresh topics; the best of each counts (the
    // cluster shares the machine, so single runs are noisy).
    let (mut raw_secs, mut ingest_secs) = (f64::INFINITY, f64::INFINITY);
    for round in 0..options.rounds.max(1) {
        let raw_prefix = format!("br{tag}-{round}-");
        let names: Vec<String> = Topic::ALL
            .iter()
            .map(|t| format!("{raw_prefix}{}", t.as_str()))
            .collect();
        for name in &names {
            transport.partitions(name).map_err(streams)?;
        }
        let secs = sellout_streams_fluvio::bench::raw_produce_concurrently(
            &cfg,
            appends
                .iter()
                .map(|mine| {
                    mine.iter()
                        .map(|(slot, b)| (names[*slot].as_str(), b))
                        .collect()
                })
                .collect(),
        )
        .map_err(streams)?;
        raw_secs = raw_secs.min(secs);
        let ingest_prefix = format!("bi{tag}-{round}-");
        ingest_secs = ingest_secs.min(ingest(
            &transport,
            &ingest_prefix,
            &catalog,
            &config.limits,
            &chunks,
        )?);
        for prefix in [&raw_prefix, &ingest_prefix] {
            delete_topics(&transport, prefix);
        }
    }
    drop(appends);
    repaired = add(repaired, transport.stats());

    let mut by_partitions = BTreeMap::new();
    let mut balance = BTreeMap::new();
    for &parts in &options.partitions {
        let parts = parts.max(1);
        let (rate, counts, stats) = pipeline(config, parts, tag, &catalog, &records)?;
        by_partitions.insert(parts, rate);
        balance.insert(parts, counts);
        repaired = add(repaired, stats);
    }
    let raw_rate = rate(n, raw_secs);
    let ingest_rate = rate(n, ingest_secs);
    let scaling_by: BTreeMap<u32, f64> = match by_partitions.get(&1) {
        Some(&one) if one > 0.0 => by_partitions
            .iter()
            .filter(|(n, _)| **n > 1)
            .map(|(&n, &at)| (n, at / (f64::from(n) * one)))
            .collect(),
        _ => BTreeMap::new(),
    };
    let scaling = scaling_by.last_key_value().map(|(_, s)| *s);
    Ok(FluvioBench {
        bench: "fluvio".to_owned(),
        records: n,
        rounds: options.rounds.max(1),
        senders,
        value_bytes: value_bytes as f64 / n.max(1) as f64,
        raw_produce_records_per_sec: raw_rate,
        ingest_records_per_sec: ingest_rate,
        ingest_vs_raw: if raw_rate > 0.0 {
            ingest_rate / raw_rate
        } else {
            0.0
        },
        pipeline_records_per_sec_by_partitions: by_partitions,
        pipeline_records_by_partition: balance,
        pipeline_scaling: scaling,
        pipeline_scaling_by_partitions: scaling_by,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        repaired,
    })
}

/// The simulated records (at most `options.records`) and their catalog.
fn simulate(options: &BenchOptions) -> Result<(Arc<Catalog>, Vec<AnyRecord>), BenchError> {
    let config = SimConfig {
        seed: 42,
        events: options.events.clamp(1, 999),
        sale_days: 2.0,
        // Every on-sale at once: the first records come from every event, so they
        // spread over every partition.
        on_sale_stagger_hours: 0.0,
        ..SimConfig::default()
    };
    let sim = Simulation::new(config, Arc::new(ListPrices))
        .map_err(|e| BenchError::Simulator(e.to_string()))?;
    let catalog = Arc::new(sim.catalog().clone());
    let records: Vec<AnyRecord> = sim.take(options.records as usize).collect();
    Ok((catalog, records))
}

/// Deletes every topic under `prefix` (its prefix ends with '-', so no other run's):
/// the phase's own and what the pipelines made (`erasures`). Best effort: a leftover
/// topic only costs disk on a test cluster.
fn delete_topics(transport: &FluvioTransport, prefix: &str) {
    if let Err(e) = transport.delete_prefixed(prefix) {
        tracing::debug!(message = "Cannot list topics to delete.", error = %e);
    }
}

fn add(a: TransportStats, b: TransportStats) -> TransportStats {
    TransportStats {
        reconnects: a.reconnects + b.reconnects,
        gap_refetches: a.gap_refetches + b.gap_refetches,
        resends_avoided: a.resends_avoided + b.resends_avoided,
    }
}
