//! Throughput of the embedded log beside a raw sequential write of the same bytes:
//! the figures behind `sellout bench log`.
//!
//! All three measurements end with an fsync (the raw write and the append) or read
//! everything back (the read), so none of them is flattered by the page cache holding
//! dirty data when the clock stops.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::{EmbeddedLog, LogConfig};
use crate::batch::{Batch, RECORD_OVERHEAD};
use crate::clock::ManualClock;
use crate::transport::{StreamError, Transport};

const TOPIC: &str = "bench";
const KEY_LEN: usize = 8;
/// Bytes asked for per read while reading back.
const READ_BYTES: usize = 1 << 20;

/// What [`run`] measured. MB are 10^6 bytes of encoded records (key, value, framing).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogBenchFigures {
    /// Appending with the default fsync policy (batches built with `Batch::push`),
    /// ending with a flush.
    pub append_mb_per_sec: f64,
    /// Writing the same bytes with the same write sizes to a plain file, ending with
    /// an fsync.
    pub raw_write_mb_per_sec: f64,
    /// Reading everything back with `read` and iterating its records.
    pub read_mb_per_sec: f64,
    /// Records appended.
    pub records: u64,
    /// Bytes of records appended.
    pub bytes: u64,
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> StreamError {
    let context = format!("{what} {}", path.display());
    move |e| StreamError::io(context, e)
}

fn mb_per_sec(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

/// Appends about `total_bytes` of records of `record_bytes` each (encoded size, at
/// least 22) in batches of `batch_records` to a fresh log under `dir`, reads them all
/// back, and writes the same bytes raw to a file in `dir`; everything it creates is
/// removed afterwards.
pub fn run(
    dir: &Path,
    total_bytes: u64,
    record_bytes: usize,
    batch_records: usize,
) -> Result<LogBenchFigures, StreamError> {
    let record_bytes = record_bytes.max(RECORD_OVERHEAD + KEY_LEN);
    let batch_records = batch_records.max(1) as u64;
    let records = (total_bytes / record_bytes as u64).max(1);
    let bytes = records * record_bytes as u64;
    let batch_bytes = (batch_records * record_bytes as u64).min(bytes) as usize;

    // Raw: the same bytes, the same write sizes, one final fsync.
    let raw_path = dir.join("log-bench-raw.bin");
    let chunk = vec![0x5a_u8; batch_bytes];
    let mut raw = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&raw_path)
        .map_err(io("creating", &raw_path))?;
    let started = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(batch_bytes as u64) as usize;
        raw.write_all(&chunk[..n])
            .map_err(io("writing", &raw_path))?;
        left -= n as u64;
    }
    raw.sync_data().map_err(io("syncing", &raw_path))?;
    let raw_secs = started.elapsed().as_secs_f64();
    drop(raw);
    std::fs::remove_file(&raw_path).map_err(io("removing", &raw_path))?;

    // Append with the default policy, one final flush.
    let log_dir = dir.join("log-bench");
    if log_dir.exists() {
        std::fs::remove_dir_all(&log_dir).map_err(io("removing", &log_dir))?;
    }
    let log = EmbeddedLog::open(
        &log_dir,
        LogConfig::default(),
        Arc::new(ManualClock::new(0)),
    )?;
    let value = vec![0xa5_u8; record_bytes - RECORD_OVERHEAD - KEY_LEN];
    let mut batch = Batch::with_capacity(batch_bytes);
    let started = Instant::now();
    let mut appended = 0u64;
    while appended < records {
        batch.clear();
        for offset in appended..records.min(appended + batch_records) {
            batch.push(&offset.to_le_bytes(), offset as i64, &value);
        }
        appended += u64::from(log.append(TOPIC, &batch)?.count);
    }
    log.flush()?;
    let append_secs = started.elapsed().as_secs_f64();

    // Read it all back, touching every record.
    let started = Instant::now();
    let mut next = 0;
    let mut seen = 0u64;
    let mut seen_bytes = 0u64;
    loop {
        let fetched = log.read(TOPIC, next, READ_BYTES)?;
        if fetched.is_empty() {
            break;
        }
        for record in fetched.records() {
            seen += 1;
            seen_bytes += (record.key.len() + record.value.len() + RECORD_OVERHEAD) as u64;
        }
        next = fetched.next_offset();
    }
    let read_secs = started.elapsed().as_secs_f64();
    drop(log);
    std::fs::remove_dir_all(&log_dir).map_err(io("removing", &log_dir))?;
    if seen != records || seen_bytes != bytes {
        return Err(StreamError::Corrupt {
            path: log_dir.display().to_string(),
            detail: format!(
                "read back {seen} records ({seen_bytes} bytes) of {records} ({bytes} bytes)"
            ),
        });
    }
    Ok(LogBenchFigures {
        append_mb_per_sec: mb_per_sec(bytes, append_secs),
        raw_write_mb_per_sec: mb_per_sec(bytes, raw_secs),
        read_mb_per_sec: mb_per_sec(bytes, read_secs),
        records,
        bytes,
    })
}
