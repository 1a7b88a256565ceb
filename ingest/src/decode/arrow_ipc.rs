//! Arrow IPC, stream and file formats.
//!
//! Both read the whole input from memory with bounds checked against its length, so a
//! hostile header can't make the reader allocate more than the input's size; rows read
//! leniently into records ([`crate::arrow`]). The two formats are told apart by the
//! file format's `ARROW1` magic, whichever was announced, since `.arrow` files in the
//! wild are often streams and the other way round.
//!
//! Corrupt or truncated input keeps the batches read before the damage; the rest is one
//! [`Reason::Malformed`] rejection holding the whole input. A file whose footer is lost
//! (truncated) is read as the stream it contains. Compressed IPC buffers (LZ4, ZSTD)
//! are not supported: such input is rejected with the library's error.
//!
//! Uncompressed, every row of our schemas takes at least 8 bytes (its time), so an
//! input announcing more rows than it has bytes is forged (columns of type `Null`, say):
//! rows past one per byte are not read, and the rest is one rejection. Without that, a
//! 2 KB input could make 4 million rejections (found by fuzzing).
//!
//! `arrow-ipc` 59 still panics on some corrupt messages (buffers past the body's end,
//! unsupported type ids); those panics are caught and become the same rejection.
//!
//! [`Reason::Malformed`]: crate::validate::Reason::Malformed

use std::io::Cursor;
use std::sync::Arc;

use ::arrow::array::RecordBatch;
use ::arrow::buffer::Buffer;
use ::arrow::error::ArrowError;
use ::arrow::ipc::convert::fb_to_schema;
use ::arrow::ipc::reader::{FileDecoder, StreamDecoder, read_footer_length};
use ::arrow::ipc::writer::{FileWriter, StreamWriter};
use ::arrow::ipc::{Block, root_as_footer};

use super::Decoded;
use super::columnar::{MAX_ROWS, Rows, guarded, topic_required};
use crate::arrow::{schema, to_batch_of};
use crate::records::{AnyRecord, Topic};
use crate::validate::Limits;

/// Name of the stream format in [`Reason::Malformed`](crate::validate::Reason::Malformed).
pub(crate) const STREAM: &str = "Arrow IPC stream";
/// Name of the file format in [`Reason::Malformed`](crate::validate::Reason::Malformed).
pub(crate) const FILE: &str = "Arrow IPC file";

/// The magic bytes that open and close an Arrow IPC file.
const MAGIC: &[u8] = b"ARROW1";

/// Decodes an Arrow IPC stream of records of `topic` (a file is detected and read too).
pub fn decode_stream(topic: Option<Topic>, input: &[u8], _limits: &Limits) -> Decoded {
    decode(topic, input)
}

/// Decodes an Arrow IPC file of records of `topic` (a stream is detected and read too).
pub fn decode_file(topic: Option<Topic>, input: &[u8], _limits: &Limits) -> Decoded {
    decode(topic, input)
}

fn decode(topic: Option<Topic>, input: &[u8]) -> Decoded {
    let is_file = input.starts_with(MAGIC);
    let format = if is_file { FILE } else { STREAM };
    if input.is_empty() {
        return Decoded::default();
    }
    let Some(topic) = topic else {
        return topic_required(format, input);
    };
    guarded(topic, format, input, || {
        let mut rows = Rows::new(topic, format, input).at_most(input.len());
        if is_file {
            read_file(&mut rows);
        } else {
            read_stream(&mut rows, input);
        }
        rows.out
    })
}

/// Reads the IPC stream `bytes` into `rows`; an error ends `rows`.
fn read_stream(rows: &mut Rows<'_>, bytes: &[u8]) {
    let mut batches = Vec::new();
    let result = stream_batches(bytes, &mut batches);
    rows.push_all(&batches);
    if let Err(e) = result {
        rows.fail(e.to_string());
    }
}

/// Decodes the batches of an IPC stream into `batches` (zero-copy views of one aligned
/// copy of `bytes`), stopping at the first error or once [`MAX_ROWS`] rows are read.
fn stream_batches(bytes: &[u8], batches: &mut Vec<RecordBatch>) -> Result<(), ArrowError> {
    let mut buffer = Buffer::from_slice_ref(bytes);
    let mut decoder = StreamDecoder::new();
    let mut total = 0usize;
    while !buffer.is_empty() {
        match decoder.decode(&mut buffer)? {
            Some(batch) => {
                total = total.saturating_add(batch.num_rows());
                batches.push(batch);
                if total > MAX_ROWS {
                    return Ok(());
                }
            }
            None => break,
        }
    }
    decoder.finish()?;
    if decoder.schema().is_none() {
        return Err(ArrowError::IpcError(
            "the stream has no schema message".into(),
        ));
    }
    Ok(())
}

/// Reads an IPC file into `rows`; when its footer can't be read, reads the stream it
/// contains instead.
fn read_file(rows: &mut Rows<'_>) {
    let input = rows.input;
    let mut batches = Vec::new();
    let result = file_batches(input, &mut batches);
    if let Err(footer_error) = result {
        if !batches.is_empty() {
            rows.push_all(&batches);
            rows.fail(footer_error.to_string());
            return;
        }
        // The footer is lost (a truncated file, say): the messages after the header
        // (magic, then zero padding to an 8-byte boundary or more) are a stream; read
        // what they hold, then record the damage.
        let mut start = 8;
        while input
            .get(start..start + 8)
            .is_some_and(|w| w.iter().all(|b| *b == 0))
        {
            start += 8;
        }
        let body = input.get(start..).unwrap_or_default();
        read_stream(rows, body);
        rows.fail(format!(
            "{footer_error} (the batches before the damage were read as a stream)"
        ));
        return;
    }
    rows.push_all(&batches);
}

fn block_range(block: &Block, len: usize) -> Result<(usize, usize), ArrowError> {
    let bad = || {
        ArrowError::IpcError(format!(
            "block at offset {} lies outside the file",
            block.offset()
        ))
    };
    let offset = usize::try_from(block.offset()).map_err(|_| bad())?;
    let meta = usize::try_from(block.metaDataLength()).map_err(|_| bad())?;
    let body = usize::try_from(block.bodyLength()).map_err(|_| bad())?;
    let size = meta.checked_add(body).ok_or_else(bad)?;
    let end = offset.checked_add(size).ok_or_else(bad)?;
    if end > len || meta == 0 {
        return Err(bad());
    }
    Ok((offset, size))
}

/// Decodes the batches of an IPC file into `batches`, stopping at the first error or
/// once [`MAX_ROWS`] rows are read.
fn file_batches(input: &[u8], batches: &mut Vec<RecordBatch>) -> Result<(), ArrowError> {
    let len = input.len();
    if len < 2 * 8 + 4 || !input.ends_with(MAGIC) {
        return Err(ArrowError::IpcError(
            "the file is truncated: its footer is missing".into(),
        ));
    }
    let trailer: [u8; 10] = input[len - 10..]
        .try_into()
        .map_err(|_| ArrowError::IpcError("the file is truncated".into()))?;
    let footer_len = read_footer_length(trailer)?;
    let footer_start = (len - 10)
        .checked_sub(footer_len)
        .filter(|start| *start >= 8)
        .ok_or_else(|| {
            ArrowError::IpcError(format!("footer length {footer_len} exceeds the file"))
        })?;
    let footer = root_as_footer(&input[footer_start..len - 10])
        .map_err(|e| ArrowError::IpcError(format!("unreadable footer: {e}")))?;
    let ipc_schema = footer
        .schema()
        .ok_or_else(|| ArrowError::IpcError("the footer has no schema".into()))?;
    if !ipc_schema.endianness().equals_to_target_endianness() {
        return Err(ArrowError::IpcError(
            "the file's endianness differs from this machine's".into(),
        ));
    }
    let mut decoder = FileDecoder::new(Arc::new(fb_to_schema(ipc_schema)), footer.version());
    let buffer = Buffer::from_slice_ref(input);
    for block in footer.dictionaries().iter().flatten() {
        let (offset, size) = block_range(block, len)?;
        decoder.read_dictionary(block, &buffer.slice_with_length(offset, size))?;
    }
    let mut total = 0usize;
    for block in footer.recordBatches().iter().flatten() {
        let (offset, size) = block_range(block, len)?;
        let data = buffer.slice_with_length(offset, size);
        if let Some(batch) = decoder.read_record_batch(block, &data)? {
            total = total.saturating_add(batch.num_rows());
            batches.push(batch);
            if total > MAX_ROWS {
                break;
            }
        }
    }
    Ok(())
}

/// Records of one topic as an Arrow IPC stream in the topic's canonical schema.
///
/// # Panics
/// If `records` mixes topics (use [`try_encode_arrow_stream`] to get an error instead).
/// No records give an empty stream (no bytes).
pub fn encode_arrow_stream(records: &[AnyRecord]) -> Vec<u8> {
    let Some(first) = records.first() else {
        return Vec::new();
    };
    match try_encode_arrow_stream(first.topic(), records) {
        Ok(bytes) => bytes,
        Err(e) => panic!("encode_arrow_stream: {e}"),
    }
}

/// Records of `topic` as an Arrow IPC stream (schema, one batch, end marker).
pub fn try_encode_arrow_stream(topic: Topic, records: &[AnyRecord]) -> Result<Vec<u8>, ArrowError> {
    let batch = to_batch_of(topic, records)?;
    let mut writer = StreamWriter::try_new(Vec::new(), &schema(topic))?;
    writer.write(&batch)?;
    writer.into_inner()
}

/// Records of one topic as an Arrow IPC file in the topic's canonical schema.
///
/// # Panics
/// If `records` mixes topics (use [`try_encode_arrow_file`] to get an error instead).
/// No records give an empty file (no bytes).
pub fn encode_arrow_file(records: &[AnyRecord]) -> Vec<u8> {
    let Some(first) = records.first() else {
        return Vec::new();
    };
    match try_encode_arrow_file(first.topic(), records) {
        Ok(bytes) => bytes,
        Err(e) => panic!("encode_arrow_file: {e}"),
    }
}

/// Records of `topic` as an Arrow IPC file.
pub fn try_encode_arrow_file(topic: Topic, records: &[AnyRecord]) -> Result<Vec<u8>, ArrowError> {
    let batch = to_batch_of(topic, records)?;
    let mut writer = FileWriter::try_new(Cursor::new(Vec::new()), &schema(topic))?;
    writer.write(&batch)?;
    Ok(writer.into_inner()?.into_inner())
}

/// Record batches in Arrow IPC stream form (for writers of many batches).
pub fn encode_stream_batches(batches: &[RecordBatch]) -> Result<Vec<u8>, ArrowError> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let mut writer = StreamWriter::try_new(Vec::new(), &first.schema())?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.into_inner()
}

#[cfg(test)]
mod tests {
    use ::arrow::array::{ArrayRef, NullArray};
    use ::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn rows_announced_past_the_input_size_are_not_read() {
        // Found by fuzzing (fuzz/corpus/decode_arrow_file/): columns of type Null claim
        // any number of rows in no bytes; each row became a rejection, and reserving
        // room for 4 million of them asked for 800 MB.
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Null, true)]));
        let column: ArrayRef = Arc::new(NullArray::new(100_000));
        let batch = RecordBatch::try_new(schema, vec![column]).expect("batch");
        let input = encode_stream_batches(&[batch]).expect("encode");
        assert!(input.len() < 2_000, "{} bytes", input.len());
        let decoded = decode_stream(Some(Topic::Sales), &input, &Limits::default());
        assert!(decoded.records.is_empty());
        assert!(
            decoded.received() <= input.len() + 1,
            "{} rows",
            decoded.received()
        );
        let last = decoded.rejected.last().expect("a rejection");
        assert!(
            last.reason.to_string().contains("were not read"),
            "{}",
            last.reason
        );
        assert_eq!(last.original, input);
    }
}
