//! Privacy erasures in the analyst surface: what the archive and SQL do with the
//! `erasures` topic ([`sellout_ingest::erasure`]).
//!
//! Tables with an installation column ([`Table::installation_column`]: `beacons`,
//! `deliveries`) lose the rows of erased installations in three places:
//!
//! - **New files**: compaction leaves them out ([`retain_not_erased`]).
//! - **Files written before the erasure**: [`Archive::apply_erasures`] (run first by
//!   every [`Archive::compact_all`]) scans each file's installation column alone, and
//!   rewrites a file holding an erased id without those rows: same name, same order,
//!   same writer properties, through a temporary file and a rename, so a crash leaves
//!   the old file or the new one. A file whose rows were all erased is deleted. Then
//!   it saves how far the erasures topic was applied (`_erasures.json`, by rename).
//!   A crash before that save means the next compaction scans again and finishes.
//!   Parquet statistics can't prune this scan: the erasures hold digests, not ids, and
//!   a file's min/max spans thousands of installations; reading one dictionary-encoded
//!   column is the cheap scan.
//! - **SQL**: the live tail is filtered when the session opens, and while erasures
//!   are newer than `_erasures.json` the archived part is filtered too (by a function
//!   the SQL text can't name), so a query right after the DELETE shows nothing of the
//!   installation even before the next compaction.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch, StringArray};
use arrow::compute::{cast, concat_batches, filter_record_batch};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sellout_ingest::erasure::Erasures;
use sellout_streams::Offset;
use serde::{Deserialize, Serialize};

use crate::archive::{Archive, ArchiveError, io, remove_if_present, write_atomically, write_batch};
use crate::tables::{Table, TableError};

/// The file (in the archive's directory) saying how far erasures were applied.
pub const APPLIED: &str = "_erasures.json";

/// What applying erasures to the archive's files did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseReport {
    /// The erasures offset applied through (exclusive), afterwards.
    pub applied: Offset,
    /// Files whose installation column was scanned.
    pub scanned: usize,
    /// Files rewritten without the rows of erased installations.
    pub rewritten: Vec<String>,
    /// Files deleted because every row was erased.
    pub removed: Vec<String>,
    /// Rows removed from existing files.
    pub rows_removed: u64,
}

#[derive(Serialize, Deserialize)]
struct Applied {
    applied: Offset,
}

/// Keeps the rows of `batch` (of `table`) whose installation is not erased; returns
/// the batch and how many rows were left out.
pub fn retain_not_erased(
    batch: RecordBatch,
    table: Table,
    erasures: &Erasures,
) -> Result<(RecordBatch, usize), TableError> {
    let Some(column) = table.installation_column() else {
        return Ok((batch, 0));
    };
    if erasures.is_empty() {
        return Ok((batch, 0));
    }
    let ids = batch.column_by_name(column).ok_or_else(|| {
        ArrowError::SchemaError(format!("{} has no column {column}", table.name()))
    })?;
    let keep = not_erased(ids.as_ref(), erasures)?;
    let dropped = keep.false_count();
    if dropped == 0 {
        return Ok((batch, 0));
    }
    Ok((filter_record_batch(&batch, &keep)?, dropped))
}

/// `true` for each id that is null or not erased.
pub(crate) fn not_erased(ids: &dyn Array, erasures: &Erasures) -> Result<BooleanArray, ArrowError> {
    let ids = cast(ids, &DataType::Utf8)?;
    let ids = ids
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| ArrowError::CastError("installation ids are not strings".into()))?;
    Ok(ids
        .iter()
        .map(|id| Some(id.is_none_or(|id| !erasures.contains(id))))
        .collect())
}

impl Archive {
    /// The erasures offset the archive's files are clean through (exclusive).
    pub fn erasures_applied(&self) -> Result<Offset, ArchiveError> {
        let path = self.dir().join(APPLIED);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Applied>(&bytes)
                .map(|a| a.applied)
                .map_err(|e| ArchiveError::Io {
                    context: format!("cannot parse {}", path.display()),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(io(format!("cannot read {}", path.display()))(e)),
        }
    }

    /// Saves that the files are clean through erasures offset `applied` (by rename).
    pub fn save_erasures_applied(&self, applied: Offset) -> Result<(), ArchiveError> {
        let json = serde_json::to_vec(&Applied { applied }).unwrap_or_default();
        write_atomically(&self.dir().join(APPLIED), &json)
    }

    /// When `erasures` go past what was applied: rewrites every file holding an erased
    /// installation ([`Archive::rewrite_erased`]), then saves `erasures.end()` as
    /// applied. Does nothing (not even a scan) when nothing new was erased.
    pub fn apply_erasures(&self, erasures: &Erasures) -> Result<EraseReport, ArchiveError> {
        let applied = self.erasures_applied()?;
        let mut report = EraseReport {
            applied,
            ..EraseReport::default()
        };
        if erasures.end() <= applied {
            return Ok(report);
        }
        for table in Table::ALL {
            self.rewrite_erased(table, erasures, &mut report)?;
        }
        self.save_erasures_applied(erasures.end())?;
        report.applied = erasures.end();
        Ok(report)
    }

    /// Rewrites (or deletes) each of `table`'s files that holds a row of an erased
    /// installation, adding what it did to `report`. Saves no position: a crash here
    /// is finished by the next [`Archive::apply_erasures`].
    pub fn rewrite_erased(
        &self,
        table: Table,
        erasures: &Erasures,
        report: &mut EraseReport,
    ) -> Result<(), ArchiveError> {
        let Some(column) = table.installation_column() else {
            return Ok(());
        };
        if erasures.is_empty() {
            return Ok(());
        }
        for path in parquet_files(&self.table_dir(table))? {
            report.scanned += 1;
            if !holds_erased(&path, column, erasures)? {
                continue;
            }
            let batch = read_all(&path, table)?;
            let (kept, dropped) = retain_not_erased(batch, table, erasures)?;
            report.rows_removed += dropped as u64;
            if kept.num_rows() == 0 {
                remove_if_present(&path)?;
                report.removed.push(path.display().to_string());
            } else {
                write_batch(&kept, &path)?;
                report.rewritten.push(path.display().to_string());
            }
        }
        Ok(())
    }
}

/// The `.parquet` files of a table directory's `date=…` partitions, sorted.
fn parquet_files(table_dir: &Path) -> Result<Vec<PathBuf>, ArchiveError> {
    let list = |dir: &Path| -> Result<Vec<PathBuf>, ArchiveError> {
        match fs::read_dir(dir) {
            Ok(entries) => entries
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(io(format!("cannot list {}", dir.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io(format!("cannot list {}", dir.display()))(e)),
        }
    };
    let mut files = Vec::new();
    for partition in list(table_dir)? {
        if !partition.is_dir() {
            continue;
        }
        files.extend(
            list(&partition)?
                .into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "parquet")),
        );
    }
    files.sort();
    Ok(files)
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Write {
        path: path.display().to_string(),
        detail: format!("cannot read back: {e}"),
    }
}

/// True when a row of `path` has an erased id in `column` (only that column is read).
fn holds_erased(path: &Path, column: &str, erasures: &Erasures) -> Result<bool, ArchiveError> {
    let file = fs::File::open(path).map_err(io(format!("cannot open {}", path.display())))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(path, e))?;
    let schema = builder.parquet_schema();
    let Some(leaf) = schema.columns().iter().position(|c| c.name() == column) else {
        return Ok(false);
    };
    let mask = ProjectionMask::leaves(schema, [leaf]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| read_error(path, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| read_error(path, e))?;
        let keep = not_erased(batch.column(0).as_ref(), erasures).map_err(TableError::from)?;
        if keep.false_count() > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Every row of `path` as one batch in `table`'s schema (so a rewrite writes what
/// compaction would have written).
fn read_all(path: &Path, table: Table) -> Result<RecordBatch, ArchiveError> {
    let file = fs::File::open(path).map_err(io(format!("cannot open {}", path.display())))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| read_error(path, e))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(path, e))?;
    let schema = table.schema();
    let batches = batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(TableError::from)?;
    Ok(concat_batches(&schema, &batches).map_err(TableError::from)?)
}

/// `sellout_not_erased(installation_id)`: true unless the installation is erased. Used
/// in the archived part of a SQL view while erasures are pending; never registered by
/// name, so a query can't call it.
pub(crate) fn not_erased_udf(erasures: Arc<Erasures>) -> ScalarUDF {
    ScalarUDF::new_from_impl(NotErased {
        erasures,
        signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
    })
}

#[derive(Debug)]
struct NotErased {
    erasures: Arc<Erasures>,
    signature: Signature,
}

impl PartialEq for NotErased {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.erasures, &other.erasures)
    }
}

impl Eq for NotErased {}

impl std::hash::Hash for NotErased {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.erasures), state);
    }
}

impl ScalarUDFImpl for NotErased {
    fn name(&self) -> &str {
        "sellout_not_erased"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let rows = args.number_rows;
        let [ids] = args.args.as_slice() else {
            return datafusion::common::exec_err!("sellout_not_erased takes one argument");
        };
        let ids = ids.to_array(rows)?;
        Ok(ColumnarValue::Array(Arc::new(not_erased(
            ids.as_ref(),
            &self.erasures,
        )?)))
    }
}
