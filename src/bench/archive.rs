//! `sellout bench archive`: does archiving slow the pipelines? The same records are
//! run through the pipelines from the embedded log twice — alone, then while the
//! archive compacts every topic on another thread — and the two rates are compared in
//! the same run. Also reports the archive's own rate.

use std::sync::Arc;
use std::time::Instant;

use sellout_analyst::Archive;
use sellout_ingest::records::{AnyRecord, wire};
use sellout_simulator::{ListPrices, Simulation};
use sellout_streams::{Batch, ManualClock, Transport as _};

use crate::config::Config;
use crate::wiring;

/// Records per append.
const BATCH: usize = 4096;

pub fn run(config: &Config, records: u64) -> anyhow::Result<serde_json::Value> {
    let sim = Simulation::new(config.simulator.clone(), Arc::new(ListPrices))?;
    let catalog = Arc::new(sim.catalog().clone());
    let all: Vec<AnyRecord> = sim.take(usize::try_from(records)?).collect();
    let n = all.len();
    let dir = tempfile::tempdir()?;
    let mut bench_config = config.clone();
    bench_config.data_dir = dir.path().to_path_buf();
    let clock = Arc::new(ManualClock::new(
        all.last().map(AnyRecord::time).unwrap_or(0),
    ));
    let log = wiring::open_log(&bench_config, clock)?;
    for chunk in all.chunks(BATCH) {
        for topic in sellout_ingest::records::Topic::ALL {
            let mut batch = Batch::new();
            for r in chunk.iter().filter(|r| r.topic() == topic) {
                batch.push_with(r.key().as_bytes(), r.time(), |buf| {
                    wire::encode_any_into(r, buf)
                });
            }
            if !batch.is_empty() {
                log.append(topic.as_str(), &batch)?;
            }
        }
    }
    log.flush()?;
    drop(all);

    // The pipelines alone (their outputs go to the log too, as in production).
    let alone_seconds = {
        let mut runner = wiring::pipelines(&bench_config, log.clone(), catalog.clone())?;
        let started = Instant::now();
        runner.run_to_end()?;
        started.elapsed().as_secs_f64()
    };
    // Again from scratch (a fresh checkpoint), while the archive compacts the inputs
    // on another thread. Outputs of the first run are already in the log: the
    // second run's are skipped as duplicates, so it appends nothing new.
    std::fs::remove_file(bench_config.pipelines_checkpoint()).ok();
    let archive = Archive::new(bench_config.archive_dir(), bench_config.archive.clone());
    let compactor = {
        let (archive, log) = (archive.clone(), log.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let reports = archive.compact_all(log.as_ref(), None);
            (reports, started.elapsed().as_secs_f64())
        })
    };
    let with_archive_seconds = {
        let mut runner = wiring::pipelines(&bench_config, log.clone(), catalog)?;
        let started = Instant::now();
        runner.run_to_end()?;
        started.elapsed().as_secs_f64()
    };
    let (reports, archive_seconds) = compactor
        .join()
        .map_err(|_| anyhow::anyhow!("the archive thread panicked"))?;
    let reports = reports?;
    let archived_rows: u64 = reports.iter().map(|r| r.records).sum();
    let files: usize = reports.iter().map(|r| r.files.len()).sum();
    Ok(serde_json::json!({
        "bench": "archive",
        "records": n,
        "pipeline_alone_records_per_sec": (n as f64 / alone_seconds).round(),
        "pipeline_with_archive_records_per_sec": (n as f64 / with_archive_seconds).round(),
        "with_archive_vs_alone": alone_seconds / with_archive_seconds,
        "archived_rows": archived_rows,
        "archive_rows_per_sec": (archived_rows as f64 / archive_seconds).round(),
        "archive_files": files,
        "cores": std::thread::available_parallelism().map(usize::from).unwrap_or(1),
    }))
}
