//! What the columnar decoders (Arrow IPC, Parquet) share: turning record batches into
//! decoded records and rejections, the row cap, and the guard against library panics.

use std::panic::{AssertUnwindSafe, catch_unwind};

use ::arrow::record_batch::RecordBatch;

use super::{DecodeRejection, Decoded, DecodedRecord};
use crate::arrow::{for_each_row, row_json};
use crate::records::Topic;
use crate::validate::Reason;

/// Most rows one columnar input may hold. Rows past it are not decoded: the rest of the
/// input is one rejection. This bounds memory whatever a file's metadata claims (a
/// column of type `Null` can claim any number of rows in a few bytes); Arrow IPC input
/// is held to fewer still (see [`Rows::at_most`]).
pub const MAX_ROWS: usize = 4 * 1024 * 1024;

/// Accumulates the rows of one columnar input.
pub(crate) struct Rows<'a> {
    pub(crate) topic: Topic,
    pub(crate) format: &'static str,
    pub(crate) input: &'a [u8],
    pub(crate) out: Decoded,
    /// Index of the next row.
    next: usize,
    /// Whether the input has been cut short by an error or the cap.
    done: bool,
    /// Most rows taken from this input (at most [`MAX_ROWS`]).
    limit: usize,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(topic: Topic, format: &'static str, input: &'a [u8]) -> Self {
        Rows {
            topic,
            format,
            input,
            out: Decoded::default(),
            next: 0,
            done: false,
            limit: MAX_ROWS,
        }
    }

    /// Takes at most `limit` rows from this input (never more than [`MAX_ROWS`]).
    pub(crate) fn at_most(mut self, limit: usize) -> Self {
        self.limit = limit.min(MAX_ROWS);
        self
    }

    /// Reserves room for `rows` more records, up to the cap and never more than a
    /// record per byte of input: what the metadata claims is not trusted with memory.
    pub(crate) fn reserve(&mut self, rows: usize) {
        let room = (self.limit - self.next).min(self.input.len());
        self.out.records.reserve(rows.min(room));
    }

    /// Adds the rows of `batches`, reserving room for all of them first; false once no
    /// more rows are taken (the cap was hit).
    pub(crate) fn push_all(&mut self, batches: &[RecordBatch]) -> bool {
        self.reserve(
            batches
                .iter()
                .fold(0usize, |n, b| n.saturating_add(b.num_rows())),
        );
        batches.iter().all(|b| self.push(b))
    }

    /// Adds the rows of `batch`; false once no more rows are taken (the cap was hit).
    pub(crate) fn push(&mut self, batch: &RecordBatch) -> bool {
        if self.done {
            return false;
        }
        let room = self.limit - self.next;
        let rows = batch.num_rows();
        let batch = if rows > room {
            batch.slice(0, room)
        } else {
            batch.clone()
        };
        let base = self.next;
        let topic = self.topic;
        let out = &mut self.out;
        out.records.reserve(batch.num_rows());
        for_each_row(topic, &batch, |i, result| match result {
            Ok(record) => out.records.push(DecodedRecord {
                index: base + i,
                record,
                span: None,
            }),
            Err(reason) => out.rejected.push(DecodeRejection {
                index: base + i,
                topic: Some(topic),
                reason,
                original: serde_json::to_vec(&row_json(&batch, i)).unwrap_or_default(),
            }),
        });
        self.next += batch.num_rows();
        if rows > room {
            let limit = self.limit;
            self.fail(format!(
                "the input holds more than {limit} rows; rows from {limit} on were not read: split the input"
            ));
            return false;
        }
        true
    }

    /// Ends the input with one rejection holding the whole input: what decoded before is
    /// kept.
    pub(crate) fn fail(&mut self, detail: String) {
        if self.done {
            return;
        }
        self.done = true;
        self.out.rejected.push(DecodeRejection {
            index: self.next,
            topic: Some(self.topic),
            reason: Reason::Malformed {
                format: self.format,
                detail,
            },
            original: self.input.to_vec(),
        });
    }
}

/// The rejection of columnar input sent without a topic.
pub(crate) fn topic_required(format: &'static str, input: &[u8]) -> Decoded {
    let reason = Reason::Malformed {
        format,
        detail: "a topic is required: columnar rows don't say which topic they belong to \
                 (send them to /v1/records/{topic})"
            .into(),
    };
    Decoded::whole_input_rejected(None, reason, input)
}

/// Runs a columnar decoder, turning a panic inside the Arrow or Parquet libraries on
/// hostile input into a rejection of the whole input.
pub(crate) fn guarded(
    topic: Topic,
    format: &'static str,
    input: &[u8],
    decode: impl FnOnce() -> Decoded,
) -> Decoded {
    match catch_unwind(AssertUnwindSafe(decode)) {
        Ok(decoded) => decoded,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown error".into());
            let reason = Reason::Malformed {
                format,
                detail: format!("the decoder failed on this input: {message}"),
            };
            Decoded::whole_input_rejected(Some(topic), reason, input)
        }
    }
}
