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
use std::time::Instant;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use sellout_ingest::ingestor::{CountersSnapshot, Ingestor};
use sellout_ingest::records::{Topic, time};
use sellout_simulator::feed::{self, Chunk, Pace};
use sellout_simulator::{FaultInjector, ListPrices, Simulation};
use sellout_streams::{ManualClock, Transport as _};
use serde::Serialize;

use crate::cli::DemoArgs;
use crate::config::Config;
use crate::market::{Loop, Progress, ShopperPrices};
use crate::wiring;

/// Marks a data directory as made by the demo, so a later demo may replace it.
const DEMO_MARKER: &str = ".sellout-demo";

/// The pipelines' part of the summary.
#[derive(Debug, Serialize)]
struct PipelinesSummary {
    records: u64,
    late: u64,
    signals: BTreeMap<String, u64>,
    features: BTreeMap<String, u64>,
    wall_seconds: f64,
}

/// The pricing part of the summary.
#[derive(Debug, Serialize)]
struct PricingSummary {
    /// Price changes on the `prices` topic.
    price_changes: u64,
    /// Quotes shoppers took when they added seats to a cart (paid at checkout).
    quotes_issued: u64,
    /// Revenue per currency with the repricer in the loop, in minor units.
    revenue_minor: BTreeMap<String, i64>,
    /// The same simulation (same seed) at list prices throughout.
    list_price_revenue_minor: BTreeMap<String, i64>,
    /// Mean over events of dynamic revenue / list-price revenue.
    revenue_vs_list: f64,
}

/// The final JSON line.
#[derive(Debug, Serialize)]
struct Summary {
    demo: &'static str,
    seed: u64,
    simulated_from: String,
    simulated_to: String,
    wall_seconds: f64,
    /// The machine could not keep the pace `--duration` asked for.
    behind_schedule: bool,
    records: CountersSnapshot,
    /// What the pipelines made of the streams.
    pipelines: PipelinesSummary,
    /// Dynamic prices against the list-price run of the same seed.
    pricing: PricingSummary,
    /// Vouchers and reminders: installations, campaigns, outcomes, redemptions.
    notifications: crate::demo_app::NotificationsSummary,
    /// Where the live board was served while the demo ran.
    board: String,
    /// Parquet files written to the archive.
    archived_files: usize,
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
        anyhow::ensure!(
            scale > 0.0 && scale.is_finite(),
            "--scale must be positive, got {scale}"
        );
        sim_config.scale = scale;
    }
    let seed = sim_config.seed;
    let list_config = sim_config.clone();
    let progress = Arc::new(Progress::default());
    let prices = Arc::new(ShopperPrices::new(
        progress.clone(),
        crate::market::one_service,
    ));
    let sim = Simulation::new(sim_config, prices.clone())?;

    prepare_data_dir(config)?;
    sim.catalog().save(&config.catalog_path())?;
    std::fs::write(config.truth_path(), serde_json::to_vec_pretty(sim.truth())?)
        .with_context(|| format!("cannot write {}", config.truth_path().display()))?;

    let (from, to) = sim.horizon();
    let clock = Arc::new(ManualClock::new(from));
    let log = wiring::open_log(config, clock.clone())?;
    let catalog = Arc::new(sim.catalog().clone());
    let ingestor = wiring::ingestor(config, log.clone(), catalog.clone(), clock.clone())?;
    // The closed loop: pipelines and repricer after every chunk, the book as the
    // shoppers' price source.
    let pricing = wiring::pricing(config, log.clone(), catalog.clone(), clock.clone())?;
    prices.connect(vec![pricing.clone()]);
    let mut market = Loop {
        runner: wiring::pipelines(config, log.clone(), catalog.clone())?,
        repricer: wiring::repricer(config, pricing.clone(), &catalog)?,
        progress: progress.clone(),
        prices: prices.clone(),
    };
    let faults = FaultInjector::new(seed ^ 0x0005_e110_u64, args.fault_rate);
    let mut notifier = crate::demo_app::DemoNotifier::new(
        config,
        log.clone(),
        catalog.clone(),
        clock.clone(),
        seed,
    )?;
    // The live board, fed after every chunk and served while the demo runs.
    let board = crate::board::board(config, &catalog);
    let mut feed = crate::board::feed(config, board.clone(), catalog.clone(), None);
    let board_server = crate::board::BoardServer::start(board, args.board_listen)?;
    eprintln!("live board: {}", board_server.url);

    let show = !args.headless && std::io::stderr().is_terminal();
    let bar = progress_bar(show);
    let started = Instant::now();
    // The pace is wall time by definition: the simulated span played in `--duration`.
    let wall: Arc<dyn sellout_streams::Clock> = Arc::new(sellout_streams::SystemClock);
    let pace = Pace {
        from,
        span_ms: (to - from).max(1) as f64,
        wall_ms: args.duration.as_secs_f64() * 1000.0,
        started_ms: wall.now_ms(),
        wall,
    };

    // Two threads, because the machine has at least two cores: this one decodes,
    // validates and appends; the producer simulates, renders and keeps the pace.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
    let sent = progress.clone();
    let producer = std::thread::Builder::new()
        .name("demo-simulator".into())
        .spawn(move || feed::produce(sim, faults, pace, tx, &|at| sent.sent(at)))
        .context("cannot start the simulator thread")?;
    let mut behind = false;
    let mut records_total = 0u64;
    let mut pipelines_seconds = 0.0;
    let consumed = (|| -> anyhow::Result<()> {
        for chunk in &rx {
            clock.set(chunk.sim_now);
            ingestor.ingest_json_lines(&chunk.lines, "demo")?;
            let step = Instant::now();
            market.step(chunk.sim_now)?;
            notifier.step(chunk.sim_now)?;
            feed.poll(log.as_ref())?;
            pipelines_seconds += step.elapsed().as_secs_f64();
            records_total = chunk.records;
            behind |= chunk.behind;
            update_bar(&bar, &chunk, &ingestor, started);
        }
        Ok(())
    })();
    // Shoppers waiting for prices must not wait for a loop that stopped.
    progress.priced(i64::MAX);
    drop(rx);
    let (sim, injected) = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the simulator thread panicked"))?;
    consumed?;
    log.flush()?;
    bar.finish_and_clear();

    // The end of the input: the last timers fire, the repricer sees the last signals.
    let pipelines_started = Instant::now();
    let report = market.runner.run_to_end()?;
    while market.repricer.poll()? > 0 {}
    let notifications = notifier.finish(to)?;
    feed.poll(log.as_ref())?;
    let board_url = board_server.url.clone();
    board_server.stop();
    pipelines_seconds += pipelines_started.elapsed().as_secs_f64();
    if !args.headless {
        eprintln!("archiving the streams and replaying the day at list prices...");
    }
    let archived = crate::sql::archive_of(config).compact_all(log.as_ref(), None)?;
    let mut pricing_summary = pricing_summary(&sim, list_config, log.as_ref())?;
    pricing_summary.quotes_issued = prices.quotes_issued();
    let pipelines = PipelinesSummary {
        records: report.totals.records,
        late: report.totals.late,
        signals: report.signals_written,
        features: report.features_written,
        wall_seconds: round_ms(pipelines_seconds),
    };
    if behind && !args.headless {
        eprintln!(
            "note: this machine could not keep the pace of --duration {}s; the demo ran as fast as it could",
            args.duration.as_secs_f64()
        );
    }

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
        && total.reconciles()
        && appended_total == total.accepted
        && dead_total == total.rejected
        && total.rejected >= injected_total;
    let summary = Summary {
        demo: "sellout",
        seed,
        simulated_from: time::to_rfc3339(from),
        simulated_to: time::to_rfc3339(to),
        wall_seconds: round_ms(started.elapsed().as_secs_f64()),
        behind_schedule: behind,
        records,
        pipelines,
        pricing: pricing_summary,
        notifications,
        board: board_url,
        archived_files: archived.iter().map(|r| r.files.len()).sum(),
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

/// Replays the same simulation at list prices and compares revenue event by event.
fn pricing_summary(
    dynamic: &Simulation,
    list_config: sellout_simulator::SimConfig,
    log: &dyn sellout_streams::Transport,
) -> anyhow::Result<PricingSummary> {
    let mut list = Simulation::new(list_config, Arc::new(ListPrices))?;
    for _ in list.by_ref() {}
    let (dynamic, list) = (dynamic.stats(), list.stats());
    let mut revenue = BTreeMap::new();
    let mut list_revenue = BTreeMap::new();
    let mut ratios = Vec::new();
    for (event, d) in &dynamic.events {
        *revenue.entry(d.currency.clone()).or_insert(0) += d.revenue_minor;
        if let Some(l) = list.events.get(event) {
            *list_revenue.entry(l.currency.clone()).or_insert(0) += l.revenue_minor;
            if l.revenue_minor > 0 {
                ratios.push(d.revenue_minor as f64 / l.revenue_minor as f64);
            }
        }
    }
    Ok(PricingSummary {
        price_changes: log.offsets(sellout_pricing::change::PRICES_TOPIC)?.end,
        quotes_issued: 0,
        revenue_minor: revenue,
        list_price_revenue_minor: list_revenue,
        revenue_vs_list: ratios.iter().sum::<f64>() / ratios.len().max(1) as f64,
    })
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Refuses to replace a data directory the demo didn't make; replaces one it did.
fn prepare_data_dir(config: &Config) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    let marker = dir.join(DEMO_MARKER);
    let log_dir = config.log_dir();
    let has_log = log_dir
        .read_dir()
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if has_log {
        anyhow::ensure!(
            marker.exists(),
            "{} holds data that a demo did not make; run the demo with --data-dir pointing elsewhere",
            dir.display()
        );
        tracing::info!(message = "Replacing the previous demo's data.", dir = %dir.display());
        std::fs::remove_dir_all(&log_dir)
            .with_context(|| format!("cannot clear {}", log_dir.display()))?;
        // The old run's checkpoints (pipelines, notifier, repricer), archive and
        // installations describe the old streams.
        let checkpoints = config.pipelines_checkpoint().parent().map(|d| d.to_owned());
        for dir in checkpoints
            .into_iter()
            .chain([config.archive_dir(), dir.join("installations")])
        {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("cannot clear {}", dir.display()))?;
            }
        }
        for file in [
            dir.join("notifier.checkpoint"),
            config.repricer_checkpoint(),
        ] {
            if file.exists() {
                std::fs::remove_file(&file)
                    .with_context(|| format!("cannot clear {}", file.display()))?;
            }
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&marker, b"made by sellout demo\n")
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(())
}

fn progress_bar(show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(1000);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {percent:>3}% {msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn update_bar(bar: &ProgressBar, chunk: &Chunk, ingestor: &Ingestor, started: Instant) {
    if bar.is_hidden() {
        return;
    }
    let total = ingestor.counters().snapshot().total();
    let rate = chunk.records as f64 / started.elapsed().as_secs_f64().max(1e-3);
    bar.set_position((chunk.progress * 1000.0) as u64);
    let sim_time = time::to_rfc3339(chunk.sim_now);
    bar.set_message(format!(
        "sim {} · {} records · {:.0}/s · {} dead-lettered{}",
        sim_time.get(..16).unwrap_or(&sim_time),
        chunk.records,
        rate,
        total.rejected,
        if chunk.behind {
            " · behind the compressed clock"
        } else {
            ""
        }
    ));
}
