//! `sellout ingest FILE...`: files into the streams through the same decoders,
//! validation and dead-lettering as HTTP input.
//!
//! JSON Lines files are read in chunks of whole lines, so files larger than memory
//! ingest in bounded memory; Arrow and Parquet files are read whole. Validation uses the
//! system clock and the catalog of the data directory.

use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use sellout_ingest::decode::{self, Decoded, Format};
use sellout_ingest::ingestor::{IngestReport, Ingestor};
use sellout_ingest::records::Topic;
use sellout_ingest::validate::Reason;
use sellout_streams::{SystemClock, Transport as _};

use crate::cli::IngestArgs;
use crate::config::Config;
use crate::wiring;

/// Bytes of JSON Lines decoded and ingested together.
const CHUNK_BYTES: usize = 4 << 20;

pub fn run(config: &Config, args: IngestArgs) -> anyhow::Result<()> {
    let topic: Option<Topic> = args
        .topic
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let clock = Arc::new(SystemClock);
    let log = wiring::open_log(config, clock.clone())?;
    let catalog = wiring::load_catalog(config)?;
    let ingestor = wiring::ingestor(config, log.clone(), catalog, clock)?;
    let mut total = IngestReport::default();
    let mut files = Vec::new();
    for path in &args.files {
        let report = ingest_file(&ingestor, path, topic)
            .with_context(|| format!("cannot ingest {}", path.display()))?;
        tracing::info!(
            message = "Ingested a file.",
            path = %path.display(),
            received = report.received,
            accepted = report.accepted,
            rejected = report.rejected
        );
        for r in report.rejections.iter().take(5) {
            eprintln!(
                "{}: record {} rejected: {}",
                path.display(),
                r.index,
                r.reason
            );
        }
        files.push(serde_json::json!({
            "path": path.display().to_string(),
            "received": report.received,
            "accepted": report.accepted,
            "rejected": report.rejected,
        }));
        total.absorb(report);
    }
    log.flush()?;
    println!(
        "{}",
        serde_json::json!({
            "ingest": files,
            "received": total.received,
            "accepted": total.accepted,
            "rejected": total.rejected,
            "rejected_by_reason": ingestor.counters().snapshot().rejected_by_reason,
        })
    );
    Ok(())
}

fn ingest_file(
    ingestor: &Ingestor,
    path: &Path,
    topic: Option<Topic>,
) -> anyhow::Result<IngestReport> {
    let format = Format::from_path(path)
        .with_context(|| "unknown file format: use .json, .jsonl, .ndjson, .arrow, .arrows, .feather, .ipc or .parquet")?;
    let topic = topic.or_else(|| topic_from_name(path));
    let limits = ingestor.validator().limits().clone();
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if format != Format::JsonLines {
        anyhow::ensure!(
            topic.is_some()
                || matches!(
                    format,
                    Format::Json | Format::CloudEvent | Format::CloudEventBatch
                ),
            "cannot tell the topic of {}: name it sales.*, beacons.*, social.* or queues.*, or pass --topic",
            path.display()
        );
        let bytes = std::fs::read(path)?;
        return Ok(ingestor.ingest(
            decode::decode(format, topic, &bytes, &limits),
            &bytes,
            &source,
        )?);
    }
    let mut file = std::fs::File::open(path)?;
    let mut report = IngestReport::default();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES * 2);
    let mut base_index = 0usize;
    // True while the rest of an oversized line is being skipped.
    let mut skipping = false;
    loop {
        let start = buf.len();
        buf.resize(start + CHUNK_BYTES, 0);
        let n = file.read(&mut buf[start..])?;
        buf.truncate(start + n);
        let eof = n == 0;
        if skipping {
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    buf.drain(..=i);
                    skipping = false;
                }
                None => buf.clear(),
            }
        }
        let cut = match buf.iter().rposition(|&b| b == b'\n') {
            _ if eof => buf.len(),
            Some(i) => i + 1,
            None if buf.len() > CHUNK_BYTES.max(limits.max_record_bytes) => {
                // One line longer than any record may be: dead-letter its head, skip the rest.
                let head = &buf[..limits.max_record_bytes.min(buf.len())];
                let reason = Reason::Oversized {
                    bytes: buf.len(),
                    limit: limits.max_record_bytes,
                };
                let mut decoded = Decoded::whole_input_rejected(topic, reason, head);
                shift_indexes(&mut decoded, base_index);
                base_index += 1;
                report.absorb(ingestor.ingest(decoded, head, &source)?);
                buf.clear();
                skipping = true;
                continue;
            }
            None => continue,
        };
        if cut > 0 {
            let chunk = &buf[..cut];
            let mut decoded = decode::decode(Format::JsonLines, topic, chunk, &limits);
            let seen = decoded.received();
            shift_indexes(&mut decoded, base_index);
            base_index += seen;
            report.absorb(ingestor.ingest(decoded, chunk, &source)?);
            buf.drain(..cut);
        }
        if eof {
            return Ok(report);
        }
    }
}

/// Makes chunk-relative record positions file-relative.
fn shift_indexes(decoded: &mut Decoded, base: usize) {
    for r in &mut decoded.records {
        r.index += base;
    }
    for r in &mut decoded.rejected {
        r.index += base;
    }
}

/// `sales.parquet`, `beacons-2026-11-22.arrow` → the topic its name starts with.
fn topic_from_name(path: &Path) -> Option<Topic> {
    let stem = path.file_name()?.to_str()?;
    Topic::ALL
        .into_iter()
        .find(|t| stem.starts_with(t.as_str()))
}
