//! The [`Transport`] trait: what every stream backend offers, and its errors.
//!
//! Deliberately small and synchronous: append a batch and get its offsets back once it
//! is as durable as the backend's policy promises; read from an offset; keep named
//! consumer positions. Async callers hand appends to a writer thread (which is also
//! where back-pressure comes from: a full queue is a 429 upstream, never an OOM).

use crate::appending::{Appending, Collected};
use crate::batch::{Batch, RecordIter, RecordView};

/// Position of a record in its topic, starting at 0 and contiguous.
pub type Offset = u64;

/// What an acknowledged append returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendAck {
    /// Offset of the batch's first record.
    pub base_offset: Offset,
    /// Number of records appended (offsets `base_offset..base_offset + count`).
    pub count: u32,
}

/// The retained range of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicOffsets {
    /// Oldest offset still retained (retention may have removed earlier ones).
    pub start: Offset,
    /// The offset the next appended record will get.
    pub end: Offset,
}

/// One stored batch handed back by a read.
#[derive(Debug, Clone)]
pub struct FetchedBatch {
    /// Offset of the batch's first record.
    pub base_offset: Offset,
    /// Number of records in the batch.
    pub count: u32,
    /// The batch body, in the layout of [`crate::batch`].
    pub bytes: Vec<u8>,
}

/// The result of a read: whole batches, of which the records at or after the
/// requested offset are visible through [`Fetched::records`].
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// Offset the read started from; earlier records of the first batch are skipped.
    pub from: Offset,
    /// The batches, in offset order.
    pub batches: Vec<FetchedBatch>,
}

impl Fetched {
    /// Every record at or after `from`, in offset order.
    pub fn records(&self) -> impl Iterator<Item = RecordView<'_>> {
        let from = self.from;
        self.batches
            .iter()
            .flat_map(|b| RecordIter::new(&b.bytes, b.base_offset, b.count))
            .filter(move |r| r.offset >= from)
    }

    /// The offset after the last record fetched (`from` when nothing was fetched).
    pub fn next_offset(&self) -> Offset {
        self.batches
            .last()
            .map(|b| b.base_offset + u64::from(b.count))
            .unwrap_or(self.from)
            .max(self.from)
    }

    /// True when the read returned no record.
    pub fn is_empty(&self) -> bool {
        self.next_offset() == self.from
    }
}

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The topic name is not one this transport accepts.
    #[error("invalid topic name {0:?}: use 1-64 characters of a-z, 0-9, '-' and '_'")]
    InvalidTopic(String),
    /// A consumer name is not acceptable.
    #[error("invalid consumer name {0:?}: use 1-64 characters of a-z, A-Z, 0-9, '-', '_' and '.'")]
    InvalidConsumer(String),
    /// A read asked for records before the retained start of the topic.
    #[error("offset {requested} of topic {topic} is no longer retained (oldest is {start})")]
    OffsetRetained {
        /// The topic.
        topic: String,
        /// The offset asked for.
        requested: Offset,
        /// The oldest retained offset.
        start: Offset,
    },
    /// A batch is larger than the transport accepts in one append.
    #[error("batch of {bytes} bytes exceeds the limit of {limit} bytes")]
    BatchTooLarge {
        /// Size of the batch.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Stored data failed its checksum or structure check somewhere other than the tail.
    #[error("corrupt data in {path}: {detail}")]
    Corrupt {
        /// The file.
        path: String,
        /// What was wrong.
        detail: String,
    },
    /// The underlying storage failed (disk full, permissions, ...).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The transport was closed or poisoned by an earlier failure.
    #[error("transport unavailable: {0}")]
    Unavailable(String),
}

impl StreamError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// A stream backend: the embedded log, or Fluvio.
pub trait Transport: Send + Sync {
    /// Appends `batch` to `topic` (created on first use) and returns its offsets once
    /// the batch is as durable as the backend's policy promises. Empty batches are
    /// acknowledged with `count == 0` and change nothing.
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError>;

    /// Starts an append to `topic` whose records are handed over in parts
    /// ([`Appending::push`]) and acknowledged together ([`Appending::finish`]), as one
    /// [`Transport::append`] of all of them. A transport that can start sending the
    /// first parts while the caller still builds the next ones overrides this (Fluvio
    /// does); the default collects the parts and appends them at `finish`.
    ///
    /// Callers holding several at once must finish them in one fixed order of topics
    /// (ingest: `sales`, `beacons`, `social`, `queues`): a transport may keep other
    /// appends to a topic waiting until this one's `finish`, and two callers finishing
    /// in opposite orders could then wait for each other.
    fn begin_append<'a>(&'a self, topic: &str) -> Result<Box<dyn Appending + 'a>, StreamError> {
        Ok(Box::new(Collected::new(self, topic)))
    }

    /// Reads whole batches of `topic` starting at the batch holding `from`, up to about
    /// `max_bytes` (at least one batch when any record at or after `from` exists).
    /// Reading at or past the end returns an empty result.
    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError>;

    /// The retained range of `topic` (`0..0` for a topic never written).
    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError>;

    /// Saves `offset` as the position of `consumer` on `topic` (the next offset it will read).
    fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError>;

    /// The saved position of `consumer` on `topic`, if any.
    fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError>;

    /// Forces everything appended so far to stable storage.
    fn flush(&self) -> Result<(), StreamError>;

    /// The names of the topics that exist.
    fn topics(&self) -> Result<Vec<String>, StreamError>;
}
