//! `sellout demo`: a simulated on-sale and venue day through the whole system so far.
//!
//! The simulator's records are rendered as JSON Lines (a small share corrupted on
//! purpose), decoded, validated and appended to the embedded log exactly as external
//! input would be, on a compressed clock: the simulated span is stretched or squeezed
//! into `--duration` of wall time. The ingest clock is the simulation's clock, so
//! validation and retention see simulated time. The last line on stdout is one JSON
//! object summarising the run.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sellout_ingest::decode::{self, Format};
use sellout_ingest::ingestor::{CountersSnapshot, Ingestor};
use sellout_ingest::records::{AnyRecord, Topic, time};
use sellout_simulator::{FaultInjector, ListPrices, Simulation};
use sellout_streams::{ManualClock, Transport as _};

use crate::cli::DemoArgs;
use crate::config::Config;
use crate::wiring;

/// Records rendered and ingested together.
const CHUNK_RECORDS: usize = 8192;

/// Marks a data directory as made by the demo, so a later demo may replace it.
const DEMO_MARKER: &str = ".sellout-demo";

/// The final JSON line.
#[derive(Debug, Serialize)]
struct Summary {
    demo: &'static str,
    seed: u64,
    simulated_from: String,
    simulated_to: String,
    wall_seconds: f64,
    records: CountersSnapshot,
    faults_injected: BTreeMap<&'static str, u64>,
    reconciled: bool,
    log_end_offsets: BTreeMap<String, u64>,
    simulation: serde_json::Value,
    data_dir: String,
}

pub fn run(config: &Config, args: DemoArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.fault_rate),
        "--fault-rate must be between 0 and 1, got {}",
        args.fault_rate
    );
    let mut sim_config = config.simulator.clone();
    if let Some(seed) = args.seed {
        sim_config.seed = seed;
    }
    if let Some(scale) = args.scale {
        anyhow::ensure!(scale > 0.0 && scale.is_finite(), "--scale must be positive, got {scale}");
        sim_config.scale = scale;
    }
    let seed = sim_config.seed;
    let mut sim = Simulation::new(sim_config, Arc::new(ListPrices))?;

    prepare_data_dir(config)?;
    sim.catalog().save(&config.catalog_path())?;
    std::fs::write(config.truth_path(), serde_json::to_vec_pretty(sim.truth())?)
        .with_context(|| format!("cannot write {}", config.truth_path().display()))?;

    let (from, to) = sim.horizon();
    let clock = Arc::new(ManualClock::new(from));
    let log = wiring::open_log(config, clock.clone())?;
    let ingestor = wiring::ingestor(config, log.clone(), Arc::new(sim.catalog().clone()), clock.clone());
    let mut faults = FaultInjector::new(seed ^ 0x5e11_0u64, args.fault_rate);
    let mut injected: BTreeMap<&'static str, u64> = BTreeMap::new();

    let show = !args.headless && std::io::stderr().is_terminal();
    let bar = progress_bar(show);
    let started = Instant::now();
    let span_ms = (to - from).max(1) as f64;
    let wall = args.duration.as_secs_f64();
    // Simulated time the wall clock has reached: the compressed clock.
    let sim_target = |elapsed: f64| -> i64 {
        if wall <= 0.0 {
            i64::MAX
        } else {
            from + ((elapsed / wall) * span_ms) as i64
        }
    };

    let mut chunk: [Vec<u8>; 4] = Default::default();
    let mut in_chunk = 0usize;
    let mut records_total = 0u64;
    let mut next: Option<AnyRecord> = sim.next();
    while let Some(record) = next.take() {
        let target = sim_target(started.elapsed().as_secs_f64());
        if record.time() > target {
            flush(&ingestor, &mut chunk, &clock, sim.now())?;
            in_chunk = 0;
            update_bar(&bar, &sim, &ingestor, records_total, started);
            let wait_ms = ((record.time() - target) as f64 / span_ms * wall * 1000.0).clamp(1.0, 200.0);
            std::thread::sleep(Duration::from_millis(wait_ms as u64));
            next = Some(record);
            continue;
        }
        let slot = topic_slot(record.topic());
        let mut line = Vec::with_capacity(256);
        record.write_json(&mut line);
        let (line, code) = faults.maybe_corrupt(record.topic(), line);
        if let Some(code) = code {
            *injected.entry(code).or_default() += 1;
        }
        chunk[slot].extend_from_slice(&line);
        chunk[slot].push(b'\n');
        in_chunk += 1;
        records_total += 1;
        if in_chunk >= CHUNK_RECORDS {
            flush(&ingestor, &mut chunk, &clock, sim.now())?;
            in_chunk = 0;
            update_bar(&bar, &sim, &ingestor, records_total, started);
        }
        next = sim.next();
    }
    flush(&ingestor, &mut chunk, &clock, sim.now())?;
    log.flush()?;
    bar.finish_and_clear();

    let records = ingestor.counters().snapshot();
    let total = records.total();
    let injected_total: u64 = injected.values().sum();
    let mut log_end_offsets = BTreeMap::new();
    for topic in log.topics()? {
        let end = log.offsets(&topic)?.end;
        log_end_offsets.insert(topic, end);
    }
    let appended_total: u64 = Topic::ALL
        .iter()
        .map(|t| log_end_offsets.get(t.as_str()).copied().unwrap_or(0))
        .sum();
    let dead_total = log_end_offsets.get("deadletter").copied().unwrap_or(0);
    let reconciled = total.received == records_total
        && total.accepted + total.rejected == total.received
        && appended_total == total.accepted
        && dead_total == total.rejected
        && total.rejected >= injected_total;
    let summary = Summary {
        demo: "sellout",
        seed,
        simulated_from: time::to_rfc3339(from),
        simulated_to: time::to_rfc3339(to),
        wall_seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        records,
        faults_injected: injected,
        reconciled,
        log_end_offsets,
        simulation: serde_json::to_value(sim.stats())?,
        data_dir: config.data_dir.display().to_string(),
    };
    if !args.headless {
        eprintln!(
            "demo finished: {} records received, {} accepted, {} dead-lettered, reconciled: {} (data in {})",
            total.received,
            total.accepted,
            total.rejected,
            reconciled,
            config.data_dir.display()
        );
    }
    println!("{}", serde_json::to_string(&summary)?);
    anyhow::ensure!(reconciled, "counts do not reconcile: see the summary above");
    Ok(())
}

fn topic_slot(topic: Topic) -> usize {
    Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0)
}

/// Decodes, validates and appends the pending JSON Lines of each topic.
fn flush(ingestor: &Ingestor, chunk: &mut [Vec<u8>; 4], clock: &ManualClock, now: i64) -> anyhow::Result<()> {
    clock.set(now);
    let limits = ingestor.validator().limits().clone();
    for (topic, bytes) in Topic::ALL.into_iter().zip(chunk.iter_mut()) {
        if bytes.is_empty() {
            continue;
        }
        let decoded = decode::decode(Format::JsonLines, Some(topic), bytes, &limits);
        ingestor.ingest(decoded, bytes, "demo")?;
        bytes.clear();
    }
    Ok(())
}

/// Refuses to replace a data directory the demo didn't make; replaces one it did.
fn prepare_data_dir(config: &Config) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    let marker = dir.join(DEMO_MARKER);
    let log_dir = config.log_dir();
    let has_log = log_dir.read_dir().map(|mut d| d.next().is_some()).unwrap_or(false);
    if has_log {
        anyhow::ensure!(
            marker.exists(),
            "{} holds data that a demo did not make; run the demo with --data-dir pointing elsewhere",
            dir.display()
        );
        tracing::info!(message = "Replacing the previous demo's data.", dir = %dir.display());
        std::fs::remove_dir_all(&log_dir).with_context(|| format!("cannot clear {}", log_dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&marker, b"made by sellout demo\n").with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(())
}

fn progress_bar(show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(1000);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {percent:>3}% {msg}") {
        bar.set_style(style);
    }
    bar
}

fn update_bar(bar: &ProgressBar, sim: &Simulation, ingestor: &Ingestor, records: u64, started: Instant) {
    if bar.is_hidden() {
        return;
    }
    let total = ingestor.counters().snapshot().total();
    let rate = records as f64 / started.elapsed().as_secs_f64().max(1e-3);
    bar.set_position((sim.progress() * 1000.0) as u64);
    bar.set_message(format!(
        "sim {} · {} records · {:.0}/s · {} dead-lettered",
        &time::to_rfc3339(sim.now())[..16],
        records,
        rate,
        total.rejected
    ));
}
