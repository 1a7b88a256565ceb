//! `sellout bench pipeline`: every job together on one core over simulated records
//! held as Arrow batches in memory, beside decode-only of the same batches in the
//! same run; then the same engine fed at a fixed rate to measure signal latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sellout_ingest::arrow::{from_batch, to_batch_of};
use sellout_ingest::records::{AnyRecord, Topic};
use sellout_pipelines::Engine;
use sellout_simulator::{ListPrices, Simulation};

use crate::config::Config;

/// Simulated records per Arrow chunk (split per topic).
const CHUNK: usize = 8192;
/// Input rate of the latency phase, records per second.
const PACED_RATE: f64 = 100_000.0;

pub fn run(config: &Config, records: u64) -> anyhow::Result<serde_json::Value> {
    let sim = Simulation::new(config.simulator.clone(), Arc::new(ListPrices))?;
    let catalog = Arc::new(sim.catalog().clone());
    let all: Vec<AnyRecord> = sim.take(usize::try_from(records)?).collect();
    let n = all.len();
    // Arrow batches built before timing: one per topic per chunk of the simulated stream.
    let mut chunks = Vec::new();
    for chunk in all.chunks(CHUNK) {
        let mut per_topic = Vec::new();
        for topic in Topic::ALL {
            let of_topic: Vec<AnyRecord> = chunk
                .iter()
                .filter(|r| r.topic() == topic)
                .cloned()
                .collect();
            if !of_topic.is_empty() {
                per_topic.push((topic, to_batch_of(topic, &of_topic)?));
            }
        }
        chunks.push(per_topic);
    }
    drop(all);

    // Decode only.
    let started = Instant::now();
    let mut decoded = 0usize;
    for chunk in &chunks {
        for (topic, batch) in chunk {
            decoded += from_batch(*topic, batch)
                .into_iter()
                .filter(Result::is_ok)
                .count();
        }
    }
    let decode_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(decoded == n, "decoded {decoded} of {n} records");

    // Decode + every job.
    let mut engine = Engine::new(config.pipelines.clone(), catalog.clone())?;
    let started = Instant::now();
    let mut offsets = [0u64; 4];
    for chunk in &chunks {
        for (topic, record) in merged(chunk) {
            let slot = topic_slot(topic);
            engine.process(topic, offsets[slot], &record, 0);
            offsets[slot] += 1;
        }
        engine.take_outputs();
    }
    engine.finish();
    engine.take_outputs();
    let full_seconds = started.elapsed().as_secs_f64();
    let counts = engine.counts();

    // Latency: records arrive at PACED_RATE; a signal's latency is the time from its
    // triggering record's arrival to its emission. Capped at ~10 s of input.
    let paced_records = n.min((PACED_RATE * 10.0) as usize);
    let mut engine = Engine::new(config.pipelines.clone(), catalog)?;
    let mut latencies_us: Vec<f64> = Vec::new();
    let mut offsets = [0u64; 4];
    let started = Instant::now();
    let mut i = 0usize;
    'paced: for chunk in &chunks {
        for (topic, record) in merged(chunk) {
            if i >= paced_records {
                break 'paced;
            }
            let arrival = started + Duration::from_secs_f64(i as f64 / PACED_RATE);
            while Instant::now() < arrival {
                std::hint::spin_loop();
            }
            let slot = topic_slot(topic);
            engine.process(topic, offsets[slot], &record, 0);
            offsets[slot] += 1;
            let (signals, _) = engine.take_outputs();
            if !signals.is_empty() {
                let latency = arrival.elapsed().as_secs_f64() * 1e6;
                latencies_us.extend(std::iter::repeat_n(latency, signals.len()));
            }
            i += 1;
        }
    }
    latencies_us.sort_by(f64::total_cmp);
    let p99_ms = percentile(&latencies_us, 0.99) / 1000.0;
    let p50_ms = percentile(&latencies_us, 0.50) / 1000.0;

    Ok(serde_json::json!({
        "bench": "pipeline",
        "records": n,
        "jobs": config.pipelines.jobs,
        "records_per_sec_per_core": (n as f64 / full_seconds).round(),
        "decode_only_records_per_sec": (n as f64 / decode_seconds).round(),
        "pipeline_vs_decode_only": decode_seconds / full_seconds,
        "signals": counts.signals,
        "features": counts.features,
        "late": counts.late,
        "paced_records_per_sec": PACED_RATE,
        "paced_records": paced_records,
        "paced_signals": latencies_us.len(),
        "signal_latency_p50_ms": p50_ms,
        "signal_latency_p99_ms": p99_ms,
    }))
}

/// The records of one chunk's per-topic batches, merged back into event-time order
/// (ties in topic order), as the runner merges topics.
fn merged(chunk: &[(Topic, sellout_ingest::arrow::RecordBatch)]) -> Vec<(Topic, AnyRecord)> {
    let mut out: Vec<(Topic, AnyRecord)> = chunk
        .iter()
        .flat_map(|(topic, batch)| {
            from_batch(*topic, batch)
                .into_iter()
                .flatten()
                .map(move |r| (*topic, r))
        })
        .collect();
    out.sort_by_key(|(topic, r)| (r.time(), topic_slot(*topic)));
    out
}

fn topic_slot(topic: Topic) -> usize {
    Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
