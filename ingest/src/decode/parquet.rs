//! Parquet, read from memory with the Arrow reader.
//!
//! Any compression the `parquet` crate is built with (snappy, zstd, lz4) is read; rows
//! read leniently into records ([`crate::arrow`]), so files written by pyarrow (strings,
//! snappy) and polars (large strings, zstd) decode alike. A file that can't be opened
//! (truncated: its footer is gone) is one rejection; a file damaged further in keeps the
//! batches read before the damage, and the rest is one [`Reason::Malformed`] rejection
//! holding the whole input.
//!
//! Known limit: the `parquet` crate sizes some allocations from the footer's metadata
//! before it can check them against the input; a forged footer can therefore still make
//! it ask for a large allocation.
//!
//! [`Reason::Malformed`]: crate::validate::Reason::Malformed

use ::arrow::error::ArrowError;
use ::parquet::arrow::ArrowWriter;
use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use ::parquet::basic::Compression;
use ::parquet::file::properties::WriterProperties;
use bytes::Bytes;

use super::Decoded;
use super::columnar::{Rows, guarded, topic_required};
use crate::arrow::{schema, to_batch_of};
use crate::records::{AnyRecord, Topic};
use crate::validate::Limits;

/// Name of the format in [`Reason::Malformed`](crate::validate::Reason::Malformed).
pub(crate) const FORMAT: &str = "Parquet";

/// Rows per batch read from a row group.
const BATCH_ROWS: usize = 8192;

/// Decodes a Parquet file of records of `topic`.
pub fn decode(topic: Option<Topic>, input: &[u8], _limits: &Limits) -> Decoded {
    if input.is_empty() {
        return Decoded::default();
    }
    let Some(topic) = topic else {
        return topic_required(FORMAT, input);
    };
    guarded(topic, FORMAT, input, || {
        let mut rows = Rows::new(topic, FORMAT, input);
        if let Err(e) = read(&mut rows) {
            rows.fail(e);
        }
        rows.out
    })
}

fn read(rows: &mut Rows<'_>) -> Result<(), String> {
    let bytes = Bytes::copy_from_slice(rows.input);
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| e.to_string())?;
    // Room for the rows the footer announces, unless it claims more than a row per
    // byte of input (then the records vector grows as rows really arrive).
    let announced = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    if announced <= rows.input.len() {
        rows.reserve(announced);
    }
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| e.to_string())?;
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        if !rows.push(&batch) {
            break;
        }
    }
    Ok(())
}

/// Records of one topic as a Parquet file (snappy) in the topic's canonical schema.
///
/// # Panics
/// If `records` mixes topics (use [`try_encode_parquet`] to get an error instead).
/// No records give an empty file (no bytes).
pub fn encode_parquet(records: &[AnyRecord]) -> Vec<u8> {
    let Some(first) = records.first() else {
        return Vec::new();
    };
    match try_encode_parquet(first.topic(), records) {
        Ok(bytes) => bytes,
        Err(e) => panic!("encode_parquet: {e}"),
    }
}

/// Records of `topic` as a Parquet file (snappy, one row group per million rows).
pub fn try_encode_parquet(topic: Topic, records: &[AnyRecord]) -> Result<Vec<u8>, ArrowError> {
    let batch = to_batch_of(topic, records)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), schema(topic), Some(properties))
        .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
    writer
        .write(&batch)
        .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
    writer
        .into_inner()
        .map_err(|e| ArrowError::ExternalError(Box::new(e)))
}
