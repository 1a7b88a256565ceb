//! Decoders: bytes in one of the accepted formats → records, or per-record rejections.
//!
//! Every decoder returns a [`Decoded`] and never fails as a whole: input that cannot be
//! decoded at all (a truncated Parquet file, a body that isn't JSON) comes back as one
//! rejection carrying the whole input, so it still reaches the dead-letter stream.
//!
//! Accepted formats ([`Format`]): a JSON object or array of objects, JSON Lines,
//! CloudEvents (structured, batch, binary), Arrow IPC (stream and file), Parquet.

use std::ops::Range;

use crate::records::{AnyRecord, Topic};
use crate::validate::Reason;

/// One record that decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRecord {
    /// Position of the record in its input (line, array element, row), from 0.
    pub index: usize,
    /// The record.
    pub record: AnyRecord,
    /// Where the record's original bytes lie in the input, when it has its own bytes
    /// (JSON, JSON Lines, CloudEvents). `None` for columnar input (Arrow, Parquet),
    /// where a rejected row is dead-lettered as its JSON rendering instead.
    pub span: Option<Range<usize>>,
}

/// One record that did not decode.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeRejection {
    /// Position of the record in its input, from 0.
    pub index: usize,
    /// The topic it was meant for, when known.
    pub topic: Option<Topic>,
    /// Why it was rejected.
    pub reason: Reason,
    /// The record's original bytes (the whole input if nothing could be split off).
    pub original: Vec<u8>,
}

/// What a decoder made of one input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// Records that decoded, in input order.
    pub records: Vec<DecodedRecord>,
    /// Records that did not, in input order.
    pub rejected: Vec<DecodeRejection>,
}

impl Decoded {
    /// Number of records seen: decoded plus rejected.
    pub fn received(&self) -> usize {
        self.records.len() + self.rejected.len()
    }

    /// An input that could not be split into records at all: one rejection holding it whole.
    pub fn whole_input_rejected(topic: Option<Topic>, reason: Reason, input: &[u8]) -> Self {
        Decoded {
            records: Vec::new(),
            rejected: vec![DecodeRejection {
                index: 0,
                topic,
                reason,
                original: input.to_vec(),
            }],
        }
    }
}

/// The input formats, as named by HTTP content types and file extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object, or an array of objects (`application/json`, `.json`).
    Json,
    /// One JSON object per line (`application/x-ndjson`, `application/jsonl`, `.jsonl`, `.ndjson`).
    JsonLines,
    /// A structured-mode CloudEvent (`application/cloudevents+json`).
    CloudEvent,
    /// A batch of structured CloudEvents (`application/cloudevents-batch+json`).
    CloudEventBatch,
    /// Arrow IPC stream format (`application/vnd.apache.arrow.stream`, `.arrows`).
    ArrowStream,
    /// Arrow IPC file format (`application/vnd.apache.arrow.file`, `.arrow`, `.feather`).
    ArrowFile,
    /// Parquet (`application/vnd.apache.parquet`, `application/x-parquet`, `.parquet`).
    Parquet,
}

pub mod arrow_ipc;
pub mod cloudevents;
mod columnar;
mod format;
pub mod json;
pub mod jsonl;
pub mod parquet;

pub use arrow_ipc::{
    encode_arrow_file, encode_arrow_stream, try_encode_arrow_file, try_encode_arrow_stream,
};
pub use cloudevents::{decode_binary, to_structured};
pub use columnar::MAX_ROWS as MAX_COLUMNAR_ROWS;
pub use parquet::{encode_parquet, try_encode_parquet};

/// Decodes `input` in `format` into records of `topic`, or per-record rejections.
///
/// `topic` is the topic of the route the input came in on. Without one, JSON and JSON
/// Lines objects must be structured CloudEvents (their `type` names each record's
/// topic, so one input may mix topics); columnar input (Arrow, Parquet) is rejected
/// whole, since its rows can't say which topic they are for. With one, CloudEvents of
/// another topic's type are rejected with [`Reason::WrongTopic`].
///
/// Total: never panics and never fails as a whole; an empty input holds no records.
/// Binary-mode CloudEvents carry their attributes in headers: see [`decode_binary`].
pub fn decode(
    format: Format,
    topic: Option<Topic>,
    input: &[u8],
    limits: &crate::validate::Limits,
) -> Decoded {
    match format {
        Format::Json => json::decode(topic, input, limits),
        Format::JsonLines => jsonl::decode(topic, input, limits),
        Format::CloudEvent => cloudevents::decode_structured(topic, input, limits),
        Format::CloudEventBatch => cloudevents::decode_batch(topic, input, limits),
        Format::ArrowStream => arrow_ipc::decode_stream(topic, input, limits),
        Format::ArrowFile => arrow_ipc::decode_file(topic, input, limits),
        Format::Parquet => parquet::decode(topic, input, limits),
    }
}
