//! The command line: `sellout <command> [flags]`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// sellout: streaming decisions beside a ticket seller.
#[derive(Debug, Parser)]
#[command(version, about, propagate_version = true)]
pub struct Cli {
    /// A TOML config file, layered over ./sellout.toml and under SELLOUT__* variables.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory shared by all commands (default ./sellout-data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a simulated on-sale and venue day through the whole system on a compressed clock.
    Demo(DemoArgs),
    /// Write simulated records to a file (CloudEvents JSON Lines) or POST them to a server.
    Simulate(SimulateArgs),
    /// Ingest files (JSON, JSON Lines, CloudEvents, Arrow IPC, Parquet) into the streams.
    Ingest(IngestArgs),
    /// Serve ingest, the pricing API and SQL, run the pipelines and the repricer live,
    /// until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Answer a read-only SQL query over the archive and the streams' live tail.
    Sql(SqlArgs),
    /// Compact the streams into the Parquet archive now.
    Archive,
    /// Train the models on Parquet history and save them as the next version.
    Train(TrainArgs),
    /// Evaluate the models on simulator scenarios with known ground truth (fixed
    /// seeds); the last line is one JSON object.
    Eval,
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run a benchmark; the last line printed is one JSON object.
    Bench(BenchArgs),
    /// Print the effective configuration as JSON.
    Config,
    /// Run local APNs and FCM endpoints (with credentials and a config layer for
    /// `serve`) until Ctrl-C/SIGTERM, then print what they accepted; for trials and
    /// fault drills.
    Endpoints(crate::endpoints::EndpointsArgs),
}

/// `sellout demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Wall-clock length of the demo; the simulated span is compressed into it
    /// (e.g. `90s`, `5m`; `0s` runs as fast as possible).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    /// Simulator seed (same seed, same records).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Multiplies the simulated demand (0.05 for a quick look, 1 for full stadiums).
    #[arg(long)]
    pub scale: Option<f64>,
    /// No progress bar; only the final JSON line on stdout.
    #[arg(long)]
    pub headless: bool,
    /// Share of records the demo corrupts on purpose to show dead-lettering (0..1).
    #[arg(long, default_value_t = 0.001)]
    pub fault_rate: f64,
    /// Where the live board listens while the demo runs (a free port by default).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub board_listen: std::net::SocketAddr,
    /// Where the streams are: `embedded` (the log in the data directory, the whole
    /// system) or `fluvio` (fresh topics on the `[fluvio]` cluster: ingest, the
    /// pipelines and the repricers, run by the `sellout-fluvio` binary; see README, Fluvio).
    #[arg(long, value_enum, default_value_t = StreamsTransport::Embedded)]
    pub transport: StreamsTransport,
    /// With `--transport fluvio`: partitions of every topic of the run (default 4).
    #[arg(long)]
    pub partitions: Option<u32>,
    /// With `--transport fluvio`: keep the run's topics instead of deleting them.
    #[arg(long)]
    pub keep: bool,
}

/// `sellout simulate`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["out", "to"])))]
pub struct SimulateArgs {
    /// Write CloudEvents JSON Lines to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// POST CloudEvents batches to this sellout server (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Simulator seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Multiplies the simulated demand.
    #[arg(long)]
    pub scale: Option<f64>,
    /// Stop after this many records.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Start of the first on-sale (RFC 3339). Default: far enough in the past that the
    /// whole simulated span has ended now, so the records ingest as history.
    #[arg(long)]
    pub start: Option<String>,
    /// Records per POST with --to.
    #[arg(long, default_value_t = 2000)]
    pub batch: usize,
    /// An ingest key for `--to` (`sellout key new --kind ingest`).
    #[arg(long, env = "SELLOUT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

/// `sellout ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files to ingest; the format comes from the extension (.json, .jsonl, .ndjson,
    /// .arrow, .arrows, .feather, .ipc, .parquet).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The topic of the records; default: from the file name (`sales.parquet` → sales),
    /// or CloudEvents types for JSON files whose name names no topic.
    #[arg(long)]
    pub topic: Option<String>,
}

/// `sellout serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides server.listen).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Serve the routes only, without following the streams with the pipelines.
    #[arg(long)]
    pub no_pipelines: bool,
    /// Don't run the repricer here (a read replica: another process reprices).
    #[arg(long)]
    pub no_repricer: bool,
    /// Don't run the notifier here (another process sends the notifications).
    #[arg(long)]
    pub no_notifier: bool,
    /// Where the streams are: `embedded` (the log in the data directory) or `fluvio`
    /// (this process becomes a Fluvio pipelines worker, and with `--listen` an ingest
    /// node: the `sellout-fluvio` binary, configured by `[fluvio]`; see README, Fluvio).
    #[arg(long, value_enum, default_value_t = StreamsTransport::Embedded)]
    pub transport: StreamsTransport,
    /// With `--transport fluvio`: the partitions this worker runs, e.g. `0,2` or `0-3`
    /// (default: all of them).
    #[arg(long, value_name = "SET")]
    pub partitions: Option<String>,
    /// With `--transport fluvio`: process what the topics hold now, checkpoint, exit.
    #[arg(long)]
    pub drain: bool,
}

/// The streams transport `sellout serve` runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StreamsTransport {
    /// The embedded log in the data directory.
    Embedded,
    /// A Fluvio cluster (`[fluvio]`), through the `sellout-fluvio` worker binary.
    Fluvio,
}

/// `sellout sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query, e.g. "SELECT kind, COUNT(*) FROM signals GROUP BY kind". Tables:
    /// sales, beacons, social, queues, signals, features, prices (each with a `date` column).
    pub query: String,
    /// Output: `table`, `csv` or `json`.
    #[arg(long, default_value = "table")]
    pub format: sellout_analyst::Format,
    /// Rows returned at most (more are cut, with a note on stderr).
    #[arg(long, default_value_t = 10_000)]
    pub max_rows: usize,
}

/// `sellout train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Parquet training history (default `<data_dir>/history`; generated from the
    /// simulator with fixed seeds when it holds none). An archive directory (one with
    /// a `features/` table, as `sellout archive` writes) is read as recorded history.
    #[arg(long, value_name = "DIR", conflicts_with = "archive")]
    pub history: Option<PathBuf>,
    /// Train on what this data directory recorded: the pipelines' sell-out features in
    /// its archive and the log's tail not archived yet, labelled from their own future.
    #[arg(long)]
    pub archive: bool,
    /// The model registry (default `<data_dir>/models`).
    #[arg(long, value_name = "DIR")]
    pub registry: Option<PathBuf>,
}

/// `sellout key`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a new API key; prints it once, stores only its SHA-256.
    New {
        /// `portal` (prices, quotes), `admin` (catalog, limits, audit, SQL) or
        /// `ingest` (posting records).
        #[arg(long, value_parser = parse_key_kind)]
        kind: sellout_pricing::auth::KeyKind,
    },
}

fn parse_key_kind(s: &str) -> Result<sellout_pricing::auth::KeyKind, String> {
    match s {
        "portal" => Ok(sellout_pricing::auth::KeyKind::Portal),
        "admin" => Ok(sellout_pricing::auth::KeyKind::Admin),
        "ingest" => Ok(sellout_pricing::auth::KeyKind::Ingest),
        other => Err(format!(
            "unknown key kind {other:?}: use portal, admin or ingest"
        )),
    }
}

/// `sellout bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which benchmark: `ingest`, `log`, `pipeline`, `pricing`, `archive`, `notifier`,
    /// or `fluvio` (run by the `sellout-fluvio` binary against `SELLOUT_FLUVIO`).
    pub name: String,
    /// Records to use (default depends on the benchmark).
    #[arg(long)]
    pub records: Option<u64>,
}

pub use sellout_simulator::feed::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(
            parse_duration("90s"),
            Ok(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            parse_duration("5m"),
            Ok(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            parse_duration("250ms"),
            Ok(std::time::Duration::from_millis(250))
        );
        assert_eq!(parse_duration("2"), Ok(std::time::Duration::from_secs(2)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
