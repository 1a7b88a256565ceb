//! # sellout — the one binary
//!
//! CLI and wiring only: every command loads the layered [`config`], opens the data
//! directory, and hands the parts from the library crates to each other. Read this file
//! with `../ARCHITECTURE.md` (or the README's picture) to see record → stream → signal.
//!
//! # Layout
//! - [`cli`]: the commands and their flags.
//! - [`config`]: layered configuration (defaults, `sellout.toml`, `--config`, `SELLOUT__*`).
//! - [`wiring`]: opening the data directory: the log, the catalog, an ingestor.
//! - [`demo`]: `sellout demo`, the whole system on a compressed clock.
//! - [`market`]: the demo's closed loop between shoppers and the price book.
//! - [`simulate`]: `sellout simulate`, records to a file or an ingest URL.
//! - [`ingest_files`]: `sellout ingest FILE...`.
//! - [`serve`]: `sellout serve`, the HTTP routes, the live pipelines and repricer.
//! - [`sql`]: `sellout sql` and `sellout archive`, the analyst surface.
//! - [`keys`]: API keys and the quote-signing key.
//! - [`models`]: `sellout train` and `sellout eval`.
//! - [`optimiser`]: the trained models as the repricer's optimiser.
//! - [`bench`]: `sellout bench <name>`, one JSON object as the last line.
//! - [`notify`], [`demo_app`]: the notifier's wiring, and the demo's attendee app.
//! - [`endpoints`]: `sellout endpoints`, the local APNs and FCM endpoints as a process.
//! - [`fluvio`]: `serve --transport fluvio` and `bench fluvio`, handed to `sellout-fluvio`.
//! - [`board`]: the live board, its feed and the InfluxDB sink.
//! - [`recorded`]: training history from the archive.

/// mimalloc: allocation-heavy paths (HTTP/2 sends, JSON) spent a quarter of their time
/// in glibc's malloc and its arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod board;
mod cli;
mod config;
mod demo;
mod demo_app;
mod endpoints;
mod fluvio;
mod ingest_files;
mod keys;
mod market;
mod models;
mod notify;
mod optimiser;
mod recorded;
mod serve;
mod simulate;
mod sql;
mod wiring;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    // Like git's subcommands: the Fluvio side is a binary of its own (see `fluvio`).
    if let Some(args) = fluvio::worker_args(&cli)? {
        return fluvio::exec(args);
    }
    let mut config = config::Config::load(cli.config.as_deref())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    match cli.command {
        cli::Command::Demo(args) => demo::run(&config, args),
        cli::Command::Simulate(args) => simulate::run(&config, args),
        cli::Command::Ingest(args) => ingest_files::run(&config, args),
        cli::Command::Serve(args) => serve::run(&config, args),
        cli::Command::Bench(args) => bench::run(&config, args),
        cli::Command::Sql(args) => sql::run(&config, args),
        cli::Command::Archive => sql::archive(&config),
        cli::Command::Train(args) => models::train(&config, args),
        cli::Command::Eval => models::eval(),
        cli::Command::Key(cli::KeyCommand::New { kind }) => {
            let key = keys::new_api_key(&config, kind)?;
            eprintln!("This key is shown once; only its SHA-256 is stored.");
            println!("{}", serde_json::json!({ "kind": kind, "key": key }));
            Ok(())
        }
        cli::Command::Endpoints(args) => endpoints::run(args),
        cli::Command::Config => {
            println!("{}", serde_json::to_string_pretty(&config)?);
            Ok(())
        }
    }
}

/// Logs go to stderr (stdout carries results and the final JSON line). `RUST_LOG`
/// overrides the level; `-v` raises it.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,sellout=info",
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
