//! SQL over the archive and the live tail as one set of tables (DataFusion).
//!
//! Each table is a view: the table's Parquet partitions in the archive (a listing
//! table with the `date` partition column), `UNION ALL` the records of its stream
//! from the archive's position to the end (the tail, read into memory when the
//! session opens). Queries are read-only: DDL, DML (`INSERT`, `COPY … TO`) and
//! statements (`SET`, …) are refused, so a query can neither write files nor register
//! a table over other paths. Each query runs under a row limit, a time limit and a
//! memory pool ([`SqlLimits::max_memory_bytes`]), and functions that could build a huge
//! value in one call are bounded ([`crate::sql_bounds`]); an error while running (a division by
//! zero, a bad cast) is the query's fault and says so, like a parse error.
//!
//! Erased installations ([`crate::erase`]) are left out of the tail, and out of the
//! archived part too while the archive's files are not yet rewritten for the latest
//! erasures.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext, col};
use sellout_ingest::erasure::Erasures;
use sellout_streams::{Offset, Transport};
use serde::{Deserialize, Serialize};

use crate::archive::{Archive, ArchiveError};
use crate::tables::{Table, TableError, date_of};

/// Bytes fetched per read of a tail.
const FETCH_BYTES: usize = 4 << 20;

/// Limits of one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqlLimits {
    /// Rows returned at most; more are cut and the result says so.
    pub max_rows: usize,
    /// Milliseconds a query may run.
    pub timeout_ms: u64,
    /// Bytes the query's operators (sorts, joins, aggregations) may hold at once.
    pub max_memory_bytes: usize,
    /// Bytes one call of a function like `repeat` or `lpad` may produce (see
    /// [`crate::sql_bounds`]).
    pub max_output_bytes: usize,
}

impl Default for SqlLimits {
    fn default() -> Self {
        Self {
            max_rows: 10_000,
            timeout_ms: 30_000,
            max_memory_bytes: 512 << 20,
            max_output_bytes: 64 << 20,
        }
    }
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The query is not valid SQL, names something unknown, or is not read-only.
    #[error("{0}")]
    Query(String),
    /// The query ran past its time limit.
    #[error("the query ran past its limit of {0} ms")]
    Timeout(u64),
    /// Opening the tables failed.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// A tail could not be read.
    #[error("cannot read the tail of {topic}: {detail}")]
    Tail {
        /// The topic.
        topic: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// Stored records could not become a batch.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The query engine failed while running.
    #[error("query failed: {0}")]
    Engine(String),
}

fn query_error(e: DataFusionError) -> SqlError {
    // Parser errors carry the line and column; planning errors name what is unknown.
    SqlError::Query(e.strip_backtrace().to_string())
}

/// An error while a query ran: the query's fault (arithmetic, casts, parsing values,
/// over its memory) unless the engine itself failed (files, I/O).
fn run_error(e: DataFusionError) -> SqlError {
    let message = e.strip_backtrace().to_string();
    match e.find_root() {
        DataFusionError::ResourcesExhausted(_) => SqlError::Query(format!(
            "the query needs more memory than it may use: {message}"
        )),
        DataFusionError::ArrowError(..)
        | DataFusionError::Execution(_)
        | DataFusionError::Plan(_)
        | DataFusionError::SQL(..)
        | DataFusionError::NotImplemented(_) => SqlError::Query(message),
        _ => SqlError::Engine(message),
    }
}

/// A query's result.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// The result's schema (also for zero rows).
    pub schema: SchemaRef,
    /// True when rows beyond the limit were cut.
    pub truncated: bool,
}

impl QueryResult {
    /// Number of rows returned.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// A read-only SQL session over the archive and the streams' tails.
pub struct SqlSession {
    ctx: SessionContext,
    /// Tail rows per table.
    tails: Vec<(&'static str, usize)>,
}

impl std::fmt::Debug for SqlSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlSession")
            .field("tails", &self.tails)
            .finish_non_exhaustive()
    }
}

fn with_date(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("date", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

impl SqlSession {
    /// Opens every table: the archive's files plus the tail of each stream.
    pub async fn open(archive: &Archive, transport: &dyn Transport) -> Result<Self, SqlError> {
        Self::open_with(archive, transport, SqlLimits::default()).await
    }

    /// As [`SqlSession::open`], with the memory pool of `limits`.
    pub async fn open_with(
        archive: &Archive,
        transport: &dyn Transport,
        limits: SqlLimits,
    ) -> Result<Self, SqlError> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(limits.max_memory_bytes.max(1 << 20), 1.0)
            .build_arc()
            .map_err(|e| SqlError::Engine(e.to_string()))?;
        let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), runtime);
        crate::sql_bounds::register(&ctx, limits.max_output_bytes);
        let positions = archive.positions()?;
        let erasures = Arc::new(Erasures::load(transport).map_err(|e| SqlError::Tail {
            topic: sellout_ingest::erasure::TOPIC,
            detail: e.to_string(),
        })?);
        // Files not yet rewritten for the newest erasures are filtered while reading.
        let pending = archive.erasures_applied()? < erasures.end();
        let not_erased = crate::erase::not_erased_udf(erasures.clone());
        let mut tails = Vec::new();
        for table in Table::ALL {
            let from = positions.get(table.name()).copied().unwrap_or(0);
            let tail = read_tail(transport, table, from, &erasures)?;
            tails.push((table.name(), tail.num_rows()));
            let archived = listing(archive, table)?;
            let tail_table = MemTable::try_new(tail.schema(), vec![vec![tail]])
                .map_err(|e| SqlError::Engine(e.to_string()))?;
            let view = ctx
                .read_table(archived)
                .and_then(|a| match table.installation_column() {
                    Some(column) if pending => a.filter(not_erased.call(vec![col(column)])),
                    _ => Ok(a),
                })
                .and_then(|a| a.union(ctx.read_table(Arc::new(tail_table))?))
                .map_err(|e| SqlError::Engine(e.to_string()))?;
            ctx.register_table(table.name(), view.into_view())
                .map_err(|e| SqlError::Engine(e.to_string()))?;
        }
        Ok(Self { ctx, tails })
    }

    /// Rows each table's tail holds (records not yet archived).
    pub fn tails(&self) -> &[(&'static str, usize)] {
        &self.tails
    }

    /// Runs one read-only query under `limits`.
    pub async fn query(&self, sql: &str, limits: SqlLimits) -> Result<QueryResult, SqlError> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let run = async {
            let df = self
                .ctx
                .sql_with_options(sql, options)
                .await
                .map_err(query_error)?;
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            let df = df
                .limit(0, Some(limits.max_rows.saturating_add(1)))
                .map_err(query_error)?;
            let batches = df.collect().await.map_err(run_error)?;
            Ok::<_, SqlError>((schema, batches))
        };
        let (schema, batches) = tokio::time::timeout(Duration::from_millis(limits.timeout_ms), run)
            .await
            .map_err(|_| SqlError::Timeout(limits.timeout_ms))??;
        let (batches, truncated) = cut(batches, limits.max_rows);
        Ok(QueryResult {
            batches,
            schema,
            truncated,
        })
    }
}

/// Keeps the first `max_rows` rows.
fn cut(batches: Vec<RecordBatch>, max_rows: usize) -> (Vec<RecordBatch>, bool) {
    let mut left = max_rows;
    let mut out = Vec::new();
    let mut truncated = false;
    for b in batches {
        if left == 0 {
            truncated |= b.num_rows() > 0;
            continue;
        }
        if b.num_rows() > left {
            out.push(b.slice(0, left));
            truncated = true;
            left = 0;
        } else {
            left -= b.num_rows();
            out.push(b);
        }
    }
    (out, truncated)
}

fn listing(archive: &Archive, table: Table) -> Result<Arc<ListingTable>, SqlError> {
    let dir = archive.table_dir(table);
    std::fs::create_dir_all(&dir).map_err(|source| ArchiveError::Io {
        context: format!("cannot create {}", dir.display()),
        source,
    })?;
    let engine = |e: DataFusionError| SqlError::Engine(e.strip_backtrace().to_string());
    let url = ListingTableUrl::parse(format!("{}/", dir.display())).map_err(engine)?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![("date".to_owned(), DataType::Utf8)]);
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(table.schema());
    Ok(Arc::new(ListingTable::try_new(config).map_err(engine)?))
}

/// The records of `table`'s stream from `from` to its end, without erased
/// installations, with the `date` column.
fn read_tail(
    transport: &dyn Transport,
    table: Table,
    from: Offset,
    erasures: &Erasures,
) -> Result<RecordBatch, SqlError> {
    let topic = table.name();
    let tail_error = |detail: String| SqlError::Tail { topic, detail };
    let range = transport
        .offsets(topic)
        .map_err(|e| tail_error(e.to_string()))?;
    let mut values: Vec<Vec<u8>> = Vec::new();
    let mut dates: Vec<String> = Vec::new();
    let mut at = from.max(range.start);
    while at < range.end {
        let fetched = transport
            .read(topic, at, FETCH_BYTES)
            .map_err(|e| tail_error(e.to_string()))?;
        if fetched.is_empty() {
            break;
        }
        for r in fetched.records() {
            values.push(r.value.to_vec());
            dates.push(date_of(r.time));
        }
        at = fetched.next_offset();
    }
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    let batch = table.to_batch(&refs)?;
    let schema = with_date(batch.schema_ref());
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(StringArray::from(dates)));
    let batch = RecordBatch::try_new(schema, columns).map_err(|e| tail_error(e.to_string()))?;
    Ok(crate::erase::retain_not_erased(batch, table, erasures)?.0)
}
