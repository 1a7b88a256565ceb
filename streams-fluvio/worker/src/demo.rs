//! `sellout-fluvio demo` (`sellout demo --transport fluvio`): a simulated on-sale and
//! venue day through ingest, partitioned streams, the pipelines and the repricers, with
//! live prices in the loop; the last stdout line is one JSON object ([`DemoSummary`]).
//!
//! What it does, as `sellout demo` does on the embedded log:
//! - the simulator (seeded) on a compressed clock ([`sellout_simulator::feed`]): records
//!   rendered as JSON Lines with a share corrupted on purpose, decoded and validated by
//!   [`Ingestor::ingest_json_lines`], appended to the streams routed by key (`event_id`, or the venue for
//!   venue-day records), rejects dead-lettered with their reason;
//! - after every chunk, one pipelines [`Runner`](sellout_pipelines::Runner) and one
//!   rule-based repricer per partition ([`crate::demo_market`]), prices appended to the
//!   partition's `prices`; shoppers read prices from the book of their event's
//!   partition, one simulated minute late;
//! - at the end every runner finishes at the end of the whole input (as
//!   [`Worker::drain`](crate::Worker::drain)), the repricers read the last features, and
//!   the counts are reconciled: records posted = accepted + dead-lettered, the input
//!   partitions hold the accepted records, the pipelines read exactly those.
//!
//! What it leaves out, and why: the notifier (vouchers over local APNs/FCM endpoints),
//! the live board and the Parquet archive live in the main binary's crates, which
//! bring TLS, HTTP/2 and DataFusion into this small binary; `sellout demo` on the
//! embedded log shows them. `[pricing]` settings and model-based pricing are not read
//! here: the repricers are rule-based with the default guardrails.
//!
//! [`run`] takes the streams as transports ([`DemoStreams`]), so a test can run it over
//! embedded logs standing in for partitions; [`run_on_cluster`] makes fresh namespaced
//! topics on a Fluvio cluster, runs, and deletes them (unless kept). Wall time is read
//! only through the [`Clock`] handed in (the pace and `wall_seconds`).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sellout_ingest::ingestor::Ingestor;
use sellout_ingest::live_catalog::CATALOG_TOPIC;
use sellout_ingest::records::time;
use sellout_ingest::validate::{Limits, Validator};
use sellout_pipelines::{PipelinesConfig, Runner};
use sellout_pricing::change::{DECISIONS_TOPIC, POLICY_TOPIC, PRICES_TOPIC};
use sellout_pricing::quotes::QuoteKey;
use sellout_pricing::{PricingConfig, PricingService, Repricer};
use sellout_simulator::{FaultInjector, SimConfig, Simulation};
use sellout_streams::{Clock, ManualClock, Transport};

use crate::demo_market::{self, PartitionLoop, Progress, ShopperPrices};
pub use crate::demo_summary::{DemoSummary, PartitionSummary, RecordsSummary};
use crate::demo_summary::{Finished, summarize};
use crate::shutdown::Shutdown;
use crate::sole_writer::SoleWriter;
use sellout_simulator::feed::{self, Chunk, Pace};

/// Wall time between two progress lines on stderr, in milliseconds.
const PROGRESS_EVERY_MS: i64 = 2_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The simulation (seed, scale, events ...).
    pub sim: SimConfig,
    /// Wall time the simulated span is played in (zero: as fast as possible).
    pub duration: Duration,
    /// Share of records corrupted on purpose (0..=1).
    pub fault_rate: f64,
    /// Progress lines on stderr.
    pub progress: bool,
    /// Shoppers see live prices (the closed loop); false: list prices throughout,
    /// while the repricers still run (the records then depend on the seed alone).
    pub price_loop: bool,
    /// Given (Ctrl-C, SIGTERM): stop after the current chunk; the topics are still
    /// deleted.
    pub stop: Option<Arc<Shutdown>>,
}

/// The streams a demo runs over.
pub struct DemoStreams {
    /// Where ingest appends: each record to the partition of its key.
    pub ingest: Arc<dyn Transport>,
    /// Partition `p` of every topic, for `p` in `0..partitions.len()`.
    pub partitions: Vec<Arc<dyn Transport>>,
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// An option is out of range.
    #[error("{0}")]
    Options(String),
    /// The simulator refused its config.
    #[error("simulator: {0}")]
    Simulator(String),
    /// The streams, the pipelines or pricing failed.
    #[error("{0}")]
    Streams(String),
    /// Stopped by a signal before the end.
    #[error("interrupted")]
    Interrupted,
}

fn streams(e: impl std::fmt::Display) -> DemoError {
    DemoError::Streams(e.to_string())
}

/// Runs the demo over `streams`, with checkpoints under `work_dir`.
pub fn run(
    streams_: &DemoStreams,
    work_dir: &Path,
    pipelines: PipelinesConfig,
    options: &DemoOptions,
    wall: Arc<dyn Clock>,
) -> Result<DemoSummary, DemoError> {
    if !(0.0..=1.0).contains(&options.fault_rate) {
        return Err(DemoError::Options(format!(
            "--fault-rate must be between 0 and 1, got {}",
            options.fault_rate
        )));
    }
    let n = u32::try_from(streams_.partitions.len())
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| DemoError::Options("a demo needs at least one partition".into()))?;
    let started_ms = wall.now_ms();
    let seed = options.sim.seed;
    let progress = Arc::new(Progress::default());
    let prices = Arc::new(ShopperPrices::new(
        progress.clone(),
        demo_market::by_partition,
    ));
    let sim = Simulation::new(options.sim.clone(), prices.clone())
        .map_err(|e| DemoError::Simulator(e.to_string()))?;
    let catalog = Arc::new(sim.catalog().clone());
    std::fs::create_dir_all(work_dir)
        .map_err(|e| streams(format!("cannot create {}: {e}", work_dir.display())))?;
    let (from, to) = sim.horizon();
    let clock = Arc::new(ManualClock::new(from));
    let limits = Limits {
        // A re-send window refilled from a topic-wide tail needs single-partition
        // topics (see README, Fluvio).
        dedup_window: 0,
        ..Limits::default()
    };
    let ingestor = Ingestor::new(
        streams_.ingest.clone(),
        Validator::new(catalog.clone(), limits),
        clock.clone(),
    )
    .map_err(streams)?;
    let pricing = pricing_config()?;
    let mut loops = Vec::with_capacity(n as usize);
    let mut services = Vec::with_capacity(n as usize);
    // One partition at a time: opening touches (and on Fluvio creates) every topic.
    for (p, part) in (0..n).zip(&streams_.partitions) {
        // This process alone writes the pricing topics of its fresh topic set.
        let sole = Arc::new(SoleWriter::new(
            part.clone(),
            &[PRICES_TOPIC, POLICY_TOPIC, DECISIONS_TOPIC, CATALOG_TOPIC],
        ));
        let service = PricingService::new(pricing.clone(), catalog.clone(), sole, clock.clone())
            .map_err(streams)?;
        service.catch_up().map_err(streams)?;
        let runner = Runner::open(
            pipelines.clone(),
            catalog.clone(),
            part.clone(),
            work_dir.join(format!("partition-{p}.checkpoint")),
        )
        .map_err(streams)?;
        loops.push(PartitionLoop {
            partition: p,
            runner,
            repricer: Repricer::rule_based(service.clone()),
        });
        services.push(service);
    }
    if options.price_loop {
        prices.connect(services);
    }

    let pace = Pace {
        from,
        span_ms: (to - from).max(1) as f64,
        wall_ms: options.duration.as_secs_f64() * 1000.0,
        started_ms,
        wall: wall.clone(),
    };
    let faults = FaultInjector::new(seed ^ 0x0005_e110_u64, options.fault_rate);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
    let sent = progress.clone();
    let producer = std::thread::Builder::new()
        .name("demo-simulator".into())
        .spawn(move || feed::produce(sim, faults, pace, tx, &|at| sent.sent(at)))
        .map_err(|e| streams(format!("cannot start the simulator thread: {e}")))?;
    let mut behind = false;
    let mut posted = 0u64;
    let mut next_line = started_ms;
    let consumed = (|| -> Result<(), DemoError> {
        for chunk in &rx {
            if options.stop.as_ref().is_some_and(|s| s.is_stopped()) {
                return Err(DemoError::Interrupted);
            }
            clock.set(chunk.sim_now);
            ingestor
                .ingest_json_lines(&chunk.lines, "demo")
                .map_err(streams)?;
            demo_market::step(&mut loops, &prices, &progress, chunk.sim_now).map_err(streams)?;
            posted = chunk.records;
            behind |= chunk.behind;
            let now = wall.now_ms();
            if options.progress && now >= next_line {
                next_line = now + PROGRESS_EVERY_MS;
                progress_line(&chunk, &ingestor, (now - started_ms) as f64 / 1000.0);
            }
        }
        Ok(())
    })();
    // Shoppers waiting for prices must not wait for a loop that stopped.
    progress.priced(i64::MAX);
    drop(rx);
    let (sim, injected) = producer
        .join()
        .map_err(|_| streams("the simulator thread panicked"))?;
    consumed?;
    streams_.ingest.flush().map_err(streams)?;

    // The end of the input: the last timers fire, the repricers read the last outputs.
    let parts: Vec<&dyn Transport> = streams_.partitions.iter().map(|t| t.as_ref()).collect();
    let end = sellout_pipelines::runner::input_end(&parts).map_err(streams)?;
    let reports = std::sync::Mutex::new(BTreeMap::new());
    demo_market::each(&mut loops, |l| {
        let report =
            l.runner
                .run_to_end_at(end)
                .map_err(|source| demo_market::StepError::Pipelines {
                    partition: l.partition,
                    source,
                })?;
        if let Ok(mut r) = reports.lock() {
            r.insert(l.partition, report);
        }
        l.drain_repricer()
    })
    .map_err(streams)?;
    let reports = reports.into_inner().unwrap_or_else(|p| p.into_inner());

    summarize(Finished {
        options,
        sim: &sim,
        injected: &injected,
        counters: ingestor.counters().snapshot(),
        partitions: &streams_.partitions,
        reports: &reports,
        posted,
        behind,
        horizon: (from, to),
        wall_seconds: ((wall.now_ms() - started_ms) as f64 / 1000.0).max(0.0),
        quotes_issued: prices.quotes_issued(),
    })
}

/// The pricing settings of the demo: defaults, and a quote-signing key made for this
/// run from the system's random source (kept in memory only).
fn pricing_config() -> Result<PricingConfig, DemoError> {
    let mut secret = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut secret))
        .map_err(|e| streams(format!("cannot read the system's random source: {e}")))?;
    let secret_hex = secret.iter().map(|b| format!("{b:02x}")).collect();
    Ok(PricingConfig {
        active_quote_key: "demo".into(),
        quote_keys: vec![QuoteKey {
            id: "demo".into(),
            secret_hex,
        }],
        ..PricingConfig::default()
    })
}

fn progress_line(chunk: &Chunk, ingestor: &Ingestor, elapsed_s: f64) {
    let total = ingestor.counters().snapshot().total();
    let sim_time = time::to_rfc3339(chunk.sim_now);
    eprintln!(
        "demo: {:>3.0}% · sim {} · {} records · {:.0}/s · {} dead-lettered{}",
        chunk.progress * 100.0,
        sim_time.get(..16).unwrap_or(&sim_time),
        chunk.records,
        chunk.records as f64 / elapsed_s.max(1e-3),
        total.rejected,
        if chunk.behind {
            " · behind the compressed clock"
        } else {
            ""
        }
    );
}

/// The work directory of a run: checkpoints and the catalog.
pub fn work_dir(data_dir: &Path, prefix: &str) -> PathBuf {
    data_dir
        .join("fluvio-demo")
        .join(prefix.trim_end_matches('-'))
}

pub use sellout_simulator::feed::parse_duration;

/// The `[simulator]` table of the config layers `sellout` reads (defaults →
/// `./sellout.toml` → `explicit` → `SELLOUT__SIMULATOR__*`), so a seed configured
/// there gives the same records here as in `sellout demo`.
pub fn simulator_config(explicit: Option<&Path>) -> Result<SimConfig, DemoError> {
    use figment::providers::{Env, Format as _, Serialized, Toml};
    let mut figment =
        figment::Figment::from(Serialized::default("simulator", SimConfig::default()))
            .merge(Toml::file("sellout.toml"));
    if let Some(path) = explicit {
        figment = figment.merge(Toml::file(path));
    }
    figment
        .merge(Env::prefixed("SELLOUT__").split("__"))
        .extract_inner::<SimConfig>("simulator")
        .map_err(|e| DemoError::Options(format!("invalid [simulator] configuration: {e}")))
}

pub use crate::demo_cluster::run_on_cluster;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulator_table_is_read_and_typos_fail() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[simulator]\nseed = 9\nevents = 2\n[fluvio]\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let sim = simulator_config(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((sim.seed, sim.events), (9, 2));
        assert_eq!(sim.scale, SimConfig::default().scale);
        std::fs::write(&path, "[simulator]\nsed = 9\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(simulator_config(Some(&path)).is_err());
    }
}
