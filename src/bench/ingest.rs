//! `sellout bench ingest`: decode + validate + append on one core, from JSON Lines and
//! from Arrow IPC, over the same simulated records.

use std::sync::Arc;
use std::time::Instant;

use sellout_ingest::decode::{self, Format};
use sellout_ingest::records::{AnyRecord, Topic};
use sellout_simulator::{ListPrices, Simulation};
use sellout_streams::ManualClock;

use crate::config::Config;
use crate::wiring;

/// Records per decoded input (like one HTTP body).
const CHUNK: usize = 8192;

pub fn run(config: &Config, records: u64) -> anyhow::Result<serde_json::Value> {
    let sim = Simulation::new(config.simulator.clone(), Arc::new(ListPrices))?;
    let catalog = Arc::new(sim.catalog().clone());
    let all: Vec<AnyRecord> = sim.take(usize::try_from(records)?).collect();
    let last_time = all.last().map(AnyRecord::time).unwrap_or(0);
    let mut per_topic: [Vec<AnyRecord>; 4] = Default::default();
    for r in all {
        let slot = Topic::ALL.iter().position(|t| *t == r.topic()).unwrap_or(0);
        per_topic[slot].push(r);
    }
    // Inputs rendered before timing: the benchmark measures ingest, not rendering.
    let mut jsonl: Vec<(Topic, Vec<u8>)> = Vec::new();
    let mut arrow: Vec<(Topic, Vec<u8>)> = Vec::new();
    for (topic, recs) in Topic::ALL.into_iter().zip(&per_topic) {
        for chunk in recs.chunks(CHUNK) {
            let mut bytes = Vec::with_capacity(chunk.len() * 256);
            for r in chunk {
                r.write_json(&mut bytes);
                bytes.push(b'\n');
            }
            jsonl.push((topic, bytes));
            arrow.push((topic, decode::try_encode_arrow_stream(topic, chunk)?));
        }
    }
    let n: usize = per_topic.iter().map(Vec::len).sum();
    let jsonl_bytes: usize = jsonl.iter().map(|(_, b)| b.len()).sum();

    let mut figures = serde_json::json!({ "bench": "ingest", "records": n });
    for (name, inputs, format) in [
        ("jsonl", &jsonl, Format::JsonLines),
        ("arrow", &arrow, Format::ArrowStream),
    ] {
        let dir = tempfile::tempdir()?;
        let mut bench_config = config.clone();
        bench_config.data_dir = dir.path().to_path_buf();
        let clock = Arc::new(ManualClock::new(last_time));
        let log = wiring::open_log(&bench_config, clock.clone())?;
        let ingestor = wiring::ingestor(&bench_config, log.clone(), catalog.clone(), clock)?;
        let limits = ingestor.validator().limits().clone();
        let started = Instant::now();
        let mut accepted = 0u64;
        for (topic, bytes) in inputs {
            let decoded = decode::decode(format, Some(*topic), bytes, &limits);
            accepted += ingestor.ingest(decoded, bytes, "bench")?.accepted;
        }
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            accepted == n as u64,
            "{name}: only {accepted} of {n} records were accepted"
        );
        figures[format!("{name}_records_per_sec")] =
            serde_json::json!((n as f64 / seconds).round());
        figures[format!("{name}_seconds")] = serde_json::json!(seconds);
    }
    figures["jsonl_mb_per_sec"] = serde_json::json!(
        jsonl_bytes as f64 / 1e6 / figures["jsonl_seconds"].as_f64().unwrap_or(f64::INFINITY)
    );
    Ok(figures)
}
