//! `sellout-fluvio`: sellout's pipelines as Fluvio workers, the Fluvio benchmark and
//! the Fluvio demo.
//!
//! `sellout serve --transport fluvio`, `sellout bench fluvio` and `sellout demo
//! --transport fluvio` run this binary (found next to `sellout`, then on `$PATH`) with
//! their arguments. The last stdout line is one JSON object (`serve` also prints one
//! at start); logs and progress go to stderr.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use sellout_fluvio::bench::{self, BenchOptions};
use sellout_fluvio::node::RunningNode;
use sellout_fluvio::{IngestNode, Keys, PartitionSet, Shutdown, Worker, WorkerConfig};
use sellout_ingest::live_catalog::LiveCatalog;
use sellout_ingest::records::Topic;
use sellout_streams::{Clock, SystemClock, Transport};
use sellout_streams_fluvio::FluvioTransport;

/// sellout's Fluvio workers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML config file, layered over ./sellout.toml and under SELLOUT__* variables.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory: the catalog and the checkpoints (default ./sellout-data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The Fluvio SC's public address (overrides fluvio.endpoint).
    #[arg(long, global = true, env = "SELLOUT_FLUVIO", value_name = "HOST:PORT")]
    endpoint: Option<String>,
    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// The command.
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the pipelines over a set of partitions until Ctrl-C or SIGTERM; with
    /// `--listen`, serve the HTTP ingest and catalog routes too (or only, with
    /// `--no-pipelines`).
    Serve(ServeArgs),
    /// Raw Fluvio produce beside sellout's ingest, and pipeline throughput by
    /// partitions; the last line is one JSON object.
    Bench(BenchArgs),
    /// A simulated on-sale through ingest, fresh partitioned topics, the pipelines and
    /// the repricers (`sellout demo --transport fluvio`); the last line is one JSON
    /// object.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The partitions this worker runs, e.g. `0,2` or `0-3` (default: all of them).
    #[arg(long)]
    partitions: Option<PartitionSet>,
    /// Process what the topics hold now as a bounded input, checkpoint and exit.
    #[arg(long)]
    drain: bool,
    /// Serve the HTTP ingest and catalog routes on this address (an ingest node).
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Run no pipelines: an ingest node only (needs --listen).
    #[arg(long)]
    no_pipelines: bool,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Records per phase.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Partition counts of the pipeline phase.
    #[arg(long, default_value = "1,2,4", value_delimiter = ',')]
    partitions: Vec<u32>,
    /// Simulated events the records are spread over (more keys: more even partitions).
    #[arg(long, default_value_t = 400)]
    events: usize,
    /// Rounds of raw produce and ingest, alternating; the best of each is reported.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// Concurrent senders of raw produce and of ingest, each with its own events.
    #[arg(long, default_value_t = 1)]
    senders: usize,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Partitions of every topic of the run.
    #[arg(long, default_value_t = 4)]
    partitions: u32,
    /// Wall-clock length; the simulated span is compressed into it (`0s`: as fast
    /// as possible).
    #[arg(long, default_value = "60s", value_parser = sellout_fluvio::demo::parse_duration)]
    duration: std::time::Duration,
    /// Simulator seed (default: `[simulator] seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Multiplies the simulated demand.
    #[arg(long)]
    scale: Option<f64>,
    /// Share of records corrupted on purpose to show dead-lettering (0..1).
    #[arg(long, default_value_t = 0.001)]
    fault_rate: f64,
    /// Keep the run's topics (and its checkpoints and catalog) instead of deleting them.
    #[arg(long)]
    keep: bool,
    /// No progress lines; only the final JSON line on stdout.
    #[arg(long)]
    headless: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = WorkerConfig::load(cli.config.as_deref())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    if let Some(endpoint) = cli.endpoint.filter(|e| !e.is_empty()) {
        config.fluvio.endpoint = endpoint;
    }
    match cli.command {
        Command::Serve(args) => serve(config, args),
        Command::Demo(args) => demo(config, cli.config.as_deref(), args),
        Command::Bench(args) => {
            let report = bench::run(
                &config,
                &BenchOptions {
                    records: args.records,
                    partitions: args.partitions,
                    events: args.events,
                    rounds: args.rounds,
                    senders: args.senders,
                },
            )?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
    }
}

fn serve(config: WorkerConfig, args: ServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !(args.drain && (args.listen.is_some() || args.no_pipelines)),
        "--drain processes a bounded input and exits: drop --listen and --no-pipelines"
    );
    anyhow::ensure!(
        !args.no_pipelines || args.listen.is_some(),
        "--no-pipelines leaves nothing to run: add --listen ADDR (an ingest node)"
    );
    let transport = FluvioTransport::connect(config.fluvio.clone()).with_context(|| {
        format!(
            "cannot reach the Fluvio cluster at {} (fluvio.endpoint, --endpoint or SELLOUT_FLUVIO)",
            config.fluvio.endpoint
        )
    })?;
    let total = topic_partitions(&transport)?;
    let partitions = args.partitions.unwrap_or_else(|| PartitionSet::all(total));
    if let Some(max) = partitions.max().filter(|&m| m >= total) {
        anyhow::bail!(
            "partition {max} does not exist: the topics have {total} partitions (0-{})",
            total - 1
        );
    }
    sellout_fluvio::catalog::open_topic(&transport, "")?;
    let live = sellout_fluvio::catalog::live(
        sellout_fluvio::catalog::load_base(&config.catalog_path())?,
        &transport,
    )?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let shutdown = Arc::new(Shutdown::new());
    let node = match args.listen {
        Some(addr) => Some(start_node(
            &config, &transport, total, &live, &clock, addr, &shutdown,
        )?),
        None => None,
    };
    let worker = if args.no_pipelines {
        None
    } else {
        let open = sellout_fluvio::worker::connect_each(&config.fluvio, &partitions)
            .context("cannot open a connection per partition")?;
        Some(Worker::new(
            config.pipelines.clone(),
            config.data_dir.clone(),
            live.clone(),
            partitions.clone(),
            open,
        ))
    };
    println!(
        "{}",
        serde_json::json!({ "worker": {
            "endpoint": config.fluvio.endpoint,
            "partitions": worker.as_ref().map(|_| partitions.to_string()),
            "topic_partitions": total,
            "drain": args.drain,
            "ingest": node.as_ref().map(|n| n.url()),
        }})
    );
    let reports = match &worker {
        Some(worker) if args.drain => {
            let end = worker.input_end(total)?;
            worker.drain(end)?
        }
        _ => {
            spawn_signal_listener(shutdown.clone())?;
            let every = Duration::from_millis(config.pipelines.poll_interval_ms.max(100));
            std::thread::scope(|s| {
                s.spawn(|| sellout_fluvio::catalog::follow(&live, &transport, every, &shutdown));
                let reports = match &worker {
                    Some(w) => w.serve(clock.clone(), shutdown.clone()),
                    None => {
                        while !shutdown.wait(Duration::from_secs(3600)) {}
                        Ok(Default::default())
                    }
                };
                // The follower and the HTTP server stop too when the pipelines failed.
                shutdown.stop();
                reports
            })?
        }
    };
    let ingest = node.map(|n| n.join()).transpose()?;
    println!(
        "{}",
        serde_json::json!({ "stopped": reports, "ingest": ingest })
    );
    Ok(())
}

/// Starts the ingest node on `addr` over `transport` (see `sellout_fluvio::node`).
fn start_node(
    config: &WorkerConfig,
    transport: &FluvioTransport,
    total: u32,
    live: &Arc<LiveCatalog>,
    clock: &Arc<dyn Clock>,
    addr: std::net::SocketAddr,
    shutdown: &Arc<Shutdown>,
) -> anyhow::Result<RunningNode> {
    let keys = Arc::new(Keys::load(config, clock.clone())?);
    if keys.is_empty() {
        tracing::warn!(
            message = "No API keys configured: every ingest and catalog request will be \
                       refused (401). Make one with `sellout key new --kind ingest`."
        );
    }
    let parts: Vec<Arc<dyn Transport>> = (0..total)
        .map(|p| Arc::new(transport.partition(p)) as Arc<dyn Transport>)
        .collect();
    let node = IngestNode::open(
        config,
        Arc::new(transport.clone()),
        &parts,
        live.clone(),
        keys,
        clock.clone(),
    )
    .context("cannot read the partitions' tails to recognise re-sent records")?;
    RunningNode::start(node, addr, 2, shutdown.clone())
        .with_context(|| format!("cannot serve on {addr}"))
}

/// `sellout-fluvio demo`: `sellout demo` over Fluvio topics (see `sellout_fluvio::demo`).
fn demo(
    config: WorkerConfig,
    explicit: Option<&std::path::Path>,
    args: DemoArgs,
) -> anyhow::Result<()> {
    let mut sim = sellout_fluvio::demo::simulator_config(explicit)?;
    if let Some(seed) = args.seed {
        sim.seed = seed;
    }
    if let Some(scale) = args.scale {
        anyhow::ensure!(
            scale > 0.0 && scale.is_finite(),
            "--scale must be positive, got {scale}"
        );
        sim.scale = scale;
    }
    // Ctrl-C or SIGTERM stops after the current chunk, and the topics are deleted.
    let shutdown = Arc::new(Shutdown::new());
    spawn_signal_listener(shutdown.clone())?;
    let options = sellout_fluvio::demo::DemoOptions {
        sim,
        duration: args.duration,
        fault_rate: args.fault_rate,
        progress: !args.headless,
        price_loop: true,
        stop: Some(shutdown),
    };
    let summary = sellout_fluvio::demo::run_on_cluster(
        &config,
        &options,
        args.partitions,
        args.keep,
        Arc::new(SystemClock),
    )?;
    if !args.headless {
        eprintln!(
            "demo finished: {} records posted, {} accepted, {} dead-lettered over {} partitions, reconciled: {}",
            summary.records.posted,
            summary.records.accepted,
            summary.records.dead_letters,
            summary.partitions,
            summary.reconciled
        );
    }
    println!("{}", serde_json::to_string(&summary)?);
    anyhow::ensure!(
        summary.reconciled,
        "counts do not reconcile: see the summary above"
    );
    Ok(())
}

/// The partition count every input and output topic shares (created when missing).
fn topic_partitions(transport: &FluvioTransport) -> anyhow::Result<u32> {
    let topics = Topic::ALL
        .iter()
        .map(|t| t.as_str())
        .chain(["signals", "features", "late"]);
    let mut seen: Option<(String, u32)> = None;
    for topic in topics {
        let n = transport.partitions(topic)?;
        match &seen {
            None => seen = Some((topic.to_owned(), n)),
            Some((first, m)) if *m != n => anyhow::bail!(
                "topic {topic} has {n} partitions but {first} has {m}: the topics a worker joins \
                 must share a partition count, so that one event lands at one index in each"
            ),
            Some(_) => {}
        }
    }
    Ok(seen.map_or(1, |(_, n)| n))
}

/// Gives `shutdown` on Ctrl-C or SIGTERM, from a thread of its own.
fn spawn_signal_listener(shutdown: Arc<Shutdown>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal listener")?;
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            rt.block_on(async {
                #[cfg(unix)]
                {
                    let mut term = match tokio::signal::unix::signal(
                        tokio::signal::unix::SignalKind::terminate(),
                    ) {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::warn!(message = "No SIGTERM handler.", error = %e);
                            let _ = tokio::signal::ctrl_c().await;
                            return;
                        }
                    };
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = tokio::signal::ctrl_c().await;
                }
            });
            tracing::info!(message = "Stopping: checkpointing every partition.");
            shutdown.stop();
        })
        .context("cannot start the signal listener")?;
    Ok(())
}

/// Logs go to stderr; `RUST_LOG` overrides the level, `-v` raises it.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,sellout_fluvio=info",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
