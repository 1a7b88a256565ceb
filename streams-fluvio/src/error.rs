//! [`FluvioError`]: what can go wrong talking to Fluvio, and how it maps onto the
//! streams trait's [`StreamError`].

use sellout_streams::{Offset, StreamError};

/// Why a Fluvio transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FluvioError {
    /// The configuration is inconsistent; the message names the key.
    #[error("invalid Fluvio config: {0}")]
    Config(String),
    /// A topic name Fluvio would refuse.
    #[error("invalid topic name {0:?}: use 1-63 characters of a-z, 0-9 and '-'")]
    InvalidTopic(String),
    /// A consumer name the checkpoints refuse.
    #[error("invalid consumer name {0:?}: use 1-64 characters of a-z, A-Z, 0-9, '-', '_' and '.'")]
    InvalidConsumer(String),
    /// A partition outside the topic.
    #[error("topic {topic} has {partitions} partitions; partition {partition} does not exist")]
    NoSuchPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: u32,
        /// How many the topic has.
        partitions: u32,
    },
    /// A topic-wide read of a topic with several partitions.
    #[error(
        "topic {topic} has {partitions} partitions: read it one partition at a time through FluvioTransport::partition"
    )]
    Partitioned {
        /// The topic.
        topic: String,
        /// How many partitions it has.
        partitions: u32,
    },
    /// Offsets fetched were not contiguous and re-fetching did not fill the hole.
    #[error(
        "offset gap in topic {topic} partition {partition}: records {missing_from}..{missing_to} missing after {attempts} fetches"
    )]
    Gap {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// First missing offset (the one expected).
        missing_from: Offset,
        /// First offset seen after the hole (exclusive end of the missing range).
        missing_to: Offset,
        /// Fetches tried.
        attempts: u32,
    },
    /// A stored record's value is not one record in the batch layout.
    #[error("corrupt record at offset {offset} of topic {topic} partition {partition}: {detail}")]
    Corrupt {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The record's offset.
        offset: Offset,
        /// What was wrong.
        detail: String,
    },
    /// The cluster could not be reached or answered with an error, after every retry.
    #[error("Fluvio {what} failed after {attempts} attempts: {last}")]
    Cluster {
        /// What was being done.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last error's message.
        last: String,
    },
    /// A streams-trait call made through this crate failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The transport's private runtime is gone (dropped while an operation ran).
    #[error("Fluvio transport runtime stopped: {0}")]
    Runtime(String),
}

impl From<FluvioError> for StreamError {
    fn from(e: FluvioError) -> Self {
        match e {
            FluvioError::InvalidTopic(t) => StreamError::InvalidTopic(t),
            FluvioError::InvalidConsumer(c) => StreamError::InvalidConsumer(c),
            FluvioError::Corrupt {
                topic,
                partition,
                offset,
                detail,
            } => StreamError::Corrupt {
                path: format!("fluvio://{topic}/{partition}@{offset}"),
                detail,
            },
            FluvioError::Stream(e) => e,
            other => StreamError::Unavailable(other.to_string()),
        }
    }
}
