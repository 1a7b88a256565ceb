//! `sellout bench <name>`: benchmarks. Each prints one JSON object as its last line.
//!
//! Benchmarks report numbers; they never assert them (tests check behaviour). Run them
//! from a release build: `cargo run --release -- bench <name>`.

mod archive;
mod ingest;
mod notifier;
mod pipeline;

use crate::cli::BenchArgs;
use crate::config::Config;

pub fn run(config: &Config, args: BenchArgs) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; benchmark figures are only meaningful from --release"
        );
    }
    let figures = match args.name.as_str() {
        "ingest" => ingest::run(config, args.records.unwrap_or(1_000_000))?,
        "pipeline" => pipeline::run(config, args.records.unwrap_or(4_000_000))?,
        "log" => log(args.records.unwrap_or(2_000_000))?,
        "pricing" => pricing()?,
        "archive" => archive::run(config, args.records.unwrap_or(2_000_000))?,
        "notifier" => notifier::run(config, args.records.unwrap_or(10_000_000))?,
        other => {
            anyhow::bail!(
                "unknown benchmark {other:?}: choose ingest, log, pipeline, pricing, archive or notifier"
            )
        }
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// The pricing API under load beside a fixed-body handler, while prices change at
/// 1,000/s (see `sellout_pricing::bench`).
fn pricing() -> anyhow::Result<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let figures = runtime.block_on(sellout_pricing::bench::run(
        sellout_pricing::bench::BenchOptions::default(),
    ))?;
    Ok(serde_json::to_value(figures)?)
}

/// Append and read throughput of the embedded log beside a raw sequential write.
fn log(records: u64) -> anyhow::Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    let record_bytes = 200;
    let figures = sellout_streams::log::bench::run(
        dir.path(),
        records * record_bytes as u64,
        record_bytes,
        1000,
    )?;
    let mut value = serde_json::to_value(figures)?;
    value["bench"] = "log".into();
    value["append_vs_raw"] =
        serde_json::json!(figures.append_mb_per_sec / figures.raw_write_mb_per_sec.max(1e-9));
    Ok(value)
}
