//! The Parquet archive: streams compacted into files partitioned hive-style by table
//! and day, e.g. `archive/sales/date=2026-11-22/part-000000000000-000000999999.parquet`.
//!
//! Compaction reads a topic from the archive's position for it, in chunks that end on
//! multiples of `chunk_records` offsets (the first chunk after a partial one ends on
//! the next multiple), splits each chunk by UTC day, sorts each day's rows by time
//! (then offset), and writes one file per chunk and day, named by the chunk's offset
//! range, through a temporary file and a rename. Then it saves the new position
//! (`_positions.json`, also by rename). Re-running compaction over the same offsets
//! writes the same files, byte for byte: a crash between a file and the position
//! costs a rewrite, never a duplicate. Records after the position are the live
//! tail, which [`crate::sql`] reads from the streams.
//!
//! Privacy erasures ([`sellout_ingest::erasure`]) are applied here too: rows of erased
//! installations are left out of every new file, and [`Archive::compact_all`] first
//! rewrites existing files that still hold one (see [`crate::erase`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use sellout_ingest::erasure::{ErasureError, Erasures};
use sellout_streams::{Offset, StreamError, Transport};
use serde::{Deserialize, Serialize};

use crate::erase::{EraseReport, retain_not_erased};
use crate::tables::{Table, TableError, date_of};

/// Bytes fetched per read while compacting.
const FETCH_BYTES: usize = 4 << 20;
/// Rows per Parquet row group (the unit of pruning by statistics).
const ROW_GROUP_ROWS: usize = 128 * 1024;
const POSITIONS: &str = "_positions.json";

/// Archive settings (`[archive]` in `sellout.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// Offsets per chunk: chunks end on multiples of it, so files stay comparable
    /// across runs. One chunk becomes one file per day it spans.
    pub chunk_records: u64,
    /// Seconds between background compactions while `sellout serve` runs.
    pub interval_s: u64,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            chunk_records: 1_000_000,
            interval_s: 60,
        }
    }
}

/// Why compaction failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Reading the stream failed.
    #[error("archive: cannot read {topic}: {source}")]
    Stream {
        /// The topic.
        topic: &'static str,
        /// The error.
        #[source]
        source: StreamError,
    },
    /// The stream no longer holds records the archive hasn't got (retention ran first).
    #[error(
        "archive: {topic} offsets {from}..{start} were removed by retention before they were archived"
    )]
    Gap {
        /// The topic.
        topic: &'static str,
        /// The archive's position.
        from: Offset,
        /// The stream's oldest retained offset.
        start: Offset,
    },
    /// Stored records could not become a batch.
    #[error("archive: {0}")]
    Table(#[from] TableError),
    /// The erasures topic could not be read.
    #[error("archive: {0}")]
    Erasures(#[from] ErasureError),
    /// Writing Parquet failed.
    #[error("archive: cannot write {path}: {detail}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The file system failed.
    #[error("archive: {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ArchiveError {
    let context = context.into();
    move |source| ArchiveError::Io { context, source }
}

/// What one compaction of one table did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactReport {
    /// The table.
    pub table: String,
    /// Offsets archived by this run.
    pub records: u64,
    /// Files written.
    pub files: Vec<String>,
    /// Rows of erased installations left out of the files written.
    pub erased_rows: u64,
    /// The archive's position afterwards (the first offset of the tail).
    pub position: Offset,
}

/// The archive directory.
#[derive(Debug, Clone)]
pub struct Archive {
    dir: PathBuf,
    config: ArchiveConfig,
}

impl Archive {
    /// The archive at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>, config: ArchiveConfig) -> Self {
        Self {
            dir: dir.into(),
            config,
        }
    }

    /// The archive's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory holding `table`'s partitions.
    pub fn table_dir(&self, table: Table) -> PathBuf {
        self.dir.join(table.name())
    }

    /// The first offset not yet archived, per table name.
    pub fn positions(&self) -> Result<BTreeMap<String, Offset>, ArchiveError> {
        let path = self.dir.join(POSITIONS);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Io {
                context: format!("cannot parse {}", path.display()),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(io(format!("cannot read {}", path.display()))(e)),
        }
    }

    /// The first offset of `table` not yet archived.
    pub fn position(&self, table: Table) -> Result<Offset, ArchiveError> {
        Ok(self.positions()?.get(table.name()).copied().unwrap_or(0))
    }

    fn save_position(&self, table: Table, position: Offset) -> Result<(), ArchiveError> {
        let mut positions = self.positions()?;
        positions.insert(table.name().to_owned(), position);
        let path = self.dir.join(POSITIONS);
        let json = serde_json::to_vec_pretty(&positions).unwrap_or_default();
        write_atomically(&path, &json)
    }

    /// Applies erasures not applied yet to the files already written (see
    /// [`Archive::apply_erasures`]), then compacts every table up to the end of its
    /// stream (or `until`, exclusive, when given: at most that offset of every topic),
    /// leaving erased installations out.
    pub fn compact_all(
        &self,
        transport: &dyn Transport,
        until: Option<Offset>,
    ) -> Result<Vec<CompactReport>, ArchiveError> {
        let erasures = Erasures::load(transport)?;
        let erased: EraseReport = self.apply_erasures(&erasures)?;
        if !erased.rewritten.is_empty() || !erased.removed.is_empty() {
            tracing::info!(
                message = "Erasures applied to the archive.",
                rewritten = erased.rewritten.len(),
                removed = erased.removed.len(),
                rows = erased.rows_removed
            );
        }
        Table::ALL
            .into_iter()
            .map(|t| self.compact_with(transport, t, until, &erasures))
            .collect()
    }

    /// Compacts `table` from the archive's position to the end of its stream (or to
    /// `until`, exclusive), leaving out erased installations (files written before an
    /// erasure are rewritten by [`Archive::compact_all`]).
    pub fn compact(
        &self,
        transport: &dyn Transport,
        table: Table,
        until: Option<Offset>,
    ) -> Result<CompactReport, ArchiveError> {
        let erasures = Erasures::load(transport)?;
        self.compact_with(transport, table, until, &erasures)
    }

    /// As [`Archive::compact`], with the erasures already read.
    pub fn compact_with(
        &self,
        transport: &dyn Transport,
        table: Table,
        until: Option<Offset>,
        erasures: &Erasures,
    ) -> Result<CompactReport, ArchiveError> {
        let topic = table.name();
        let stream = |source| ArchiveError::Stream { topic, source };
        let range = transport.offsets(topic).map_err(stream)?;
        let end = until.map_or(range.end, |u| u.min(range.end));
        let mut from = self.position(table)?;
        if from < range.start && from < end {
            return Err(ArchiveError::Gap {
                topic,
                from,
                start: range.start,
            });
        }
        let mut report = CompactReport {
            table: topic.to_owned(),
            ..CompactReport::default()
        };
        let chunk = self.config.chunk_records.max(1);
        while from < end {
            let to = ((from / chunk + 1) * chunk).min(end);
            let (files, erased) = self.write_chunk(transport, table, from, to, erasures)?;
            self.save_position(table, to)?;
            report.records += to - from;
            report.files.extend(files);
            report.erased_rows += erased;
            from = to;
        }
        report.position = from;
        if report.records > 0 {
            tracing::info!(
                message = "Archived.",
                table = topic,
                records = report.records,
                files = report.files.len()
            );
        }
        Ok(report)
    }

    /// Writes offsets `from..to` of `table`, one file per day; returns the files and
    /// the rows of erased installations left out.
    fn write_chunk(
        &self,
        transport: &dyn Transport,
        table: Table,
        from: Offset,
        to: Offset,
        erasures: &Erasures,
    ) -> Result<(Vec<String>, u64), ArchiveError> {
        let topic = table.name();
        // (date, time, offset, value), sorted so each day's rows are in time order.
        let mut rows: Vec<(String, i64, Offset, Vec<u8>)> = Vec::new();
        let mut at = from;
        while at < to {
            let fetched = transport
                .read(topic, at, FETCH_BYTES)
                .map_err(|source| ArchiveError::Stream { topic, source })?;
            if fetched.is_empty() {
                break;
            }
            for r in fetched.records().filter(|r| r.offset < to) {
                if r.offset != at {
                    return Err(ArchiveError::Stream {
                        topic,
                        source: StreamError::Corrupt {
                            path: topic.to_owned(),
                            detail: format!("expected offset {at}, the stream gave {}", r.offset),
                        },
                    });
                }
                rows.push((date_of(r.time), r.time, r.offset, r.value.to_vec()));
                at += 1;
            }
        }
        rows.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        let mut files = Vec::new();
        let mut erased = 0;
        let mut start = 0;
        while start < rows.len() {
            let date = rows[start].0.clone();
            let len = rows[start..].iter().take_while(|r| r.0 == date).count();
            let values: Vec<&[u8]> = rows[start..start + len]
                .iter()
                .map(|r| r.3.as_slice())
                .collect();
            let dir = self.table_dir(table).join(format!("date={date}"));
            let path = dir.join(format!("part-{from:012}-{:012}.parquet", to - 1));
            let batch = table.to_batch(&values)?;
            let (batch, left_out) = retain_not_erased(batch, table, erasures)?;
            erased += left_out as u64;
            if batch.num_rows() > 0 {
                write_batch(&batch, &path)?;
                files.push(path.display().to_string());
            } else {
                // Every row was erased: no file (nor one a crashed earlier run left).
                remove_if_present(&path)?;
            }
            start += len;
        }
        Ok((files, erased))
    }
}

/// Removes `path` unless it is already absent.
pub(crate) fn remove_if_present(path: &Path) -> Result<(), ArchiveError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(io(format!("cannot remove {}", path.display()))(e))
        }
        _ => Ok(()),
    }
}

/// Writes `batch` as the Parquet file `path` (sorted by time as given, page
/// statistics, Snappy), through a temporary file and a rename. Compaction and erasure
/// rewrites both come here, so a rewritten file has the same writer properties.
pub(crate) fn write_batch(batch: &RecordBatch, path: &Path) -> Result<(), ArchiveError> {
    let time_column = batch.schema().index_of("time").ok();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_sorting_columns(time_column.map(|i| {
            vec![SortingColumn {
                column_idx: i as i32,
                descending: false,
                nulls_first: false,
            }]
        }))
        .build();
    let write_error = |e: &dyn std::fmt::Display| ArchiveError::Write {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, Arc::clone(batch.schema_ref()), Some(props))
        .map_err(|e| write_error(&e))?;
    writer.write(batch).map_err(|e| write_error(&e))?;
    writer.close().map_err(|e| write_error(&e))?;
    write_atomically(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ArchiveError> {
    sellout_streams::files::write_atomically(path, bytes)
        .map_err(io(format!("cannot write {}", path.display())))
}
