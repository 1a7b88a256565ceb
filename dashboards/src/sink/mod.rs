//! The InfluxDB sink: points in through a bounded channel, batched, written with the
//! `influxdb2` client's v2 write API, retried with exponential backoff, and spilled to
//! disk while the store is away, so an outage loses no point.
//!
//! The path of a point: [`SinkHandle::send`] encodes it and `try_send`s the line to the
//! sink task; the task fills an [`OpenBatch`](buffer::OpenBatch) closed by size or by
//! linger (on the passed clock), and queues closed batches in a bounded memory queue.
//! Batches that don't fit the queue go to the [`Spill`](spill::Spill). When the channel
//! is full the producer never waits: its line goes to an overflow batch that is spilled
//! (by the producer, when full, or by the task on its next tick). The task writes spilled
//! batches first, oldest first, then queued ones. A failed write is retried after
//! `backoff_initial_ms`, doubling to `backoff_max_ms`; new batches meanwhile fill the
//! memory queue, then the spill. Only when the disk budget is spent are points dropped,
//! and then they are counted in [`SinkStats::dropped`].
//!
//! Delivery is at least once: a write whose answer is lost (a timeout after the store
//! stored it) is sent again. InfluxDB keeps one value per series and timestamp, so such
//! a repeat changes nothing there.
//!
//! # Layout
//! - [`point`]: the line-protocol point and its encoding.
//! - [`buffer`]: the open batch and the bounded memory queue.
//! - [`spill`]: the framed, checksummed, append-only disk spill.
//! - [`store`]: the `influxdb2` write client, its timeout and failure classes.
//! - [`writer`]: the sink task (batching, writing, backoff, spilling) and its handle.

pub mod buffer;
pub mod point;
pub mod spill;
pub mod store;
pub mod writer;

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

pub use point::{FieldValue, Point, PointError};
pub use writer::{SendOutcome, SinkHandle, spawn};

/// How the sink reaches the store and how much it may hold.
#[derive(Clone)]
pub struct SinkConfig {
    /// Base URL of the store, e.g. `http://127.0.0.1:8086` (InfluxDB 2 or victoria-metrics).
    pub url: String,
    /// InfluxDB organisation (ignored by victoria-metrics).
    pub org: String,
    /// InfluxDB bucket (`sellout`; ignored by victoria-metrics).
    pub bucket: String,
    /// API token; empty for none. Never logged: `Debug` redacts it.
    pub token: String,
    /// Points per batch at most.
    pub batch_points: u32,
    /// How long (on the passed clock) a batch may wait for more points.
    pub linger_ms: i64,
    /// Capacity of the channel from producers to the sink task, in points.
    pub channel_capacity: usize,
    /// Points held in memory in closed batches before batches go to disk.
    pub max_buffered_points: u64,
    /// Where spill segments live.
    pub spill_dir: PathBuf,
    /// Disk budget of the spill in bytes; beyond it points are dropped and counted.
    pub max_spill_bytes: u64,
    /// Size at which a spill segment is closed and a new one started.
    pub spill_segment_bytes: u64,
    /// First retry delay after a failed write.
    pub backoff_initial_ms: u64,
    /// Longest retry delay.
    pub backoff_max_ms: u64,
    /// Timeout of one write request.
    pub request_timeout_ms: u64,
    /// After the last handle is dropped, how long to keep trying to write before the
    /// rest is spilled for the next run.
    pub shutdown_grace_ms: u64,
}

impl SinkConfig {
    /// Defaults for everything but where the store and the spill are.
    pub fn new(url: impl Into<String>, spill_dir: impl Into<PathBuf>) -> Self {
        Self {
            url: url.into(),
            org: "sellout".to_string(),
            bucket: "sellout".to_string(),
            token: String::new(),
            batch_points: 5_000,
            linger_ms: 1_000,
            channel_capacity: 20_000,
            max_buffered_points: 100_000,
            spill_dir: spill_dir.into(),
            max_spill_bytes: 1 << 30,
            spill_segment_bytes: 8 << 20,
            backoff_initial_ms: 100,
            backoff_max_ms: 10_000,
            request_timeout_ms: 10_000,
            shutdown_grace_ms: 5_000,
        }
    }
}

impl fmt::Debug for SinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkConfig")
            .field("url", &self.url)
            .field("org", &self.org)
            .field("bucket", &self.bucket)
            .field(
                "token",
                &if self.token.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("batch_points", &self.batch_points)
            .field("linger_ms", &self.linger_ms)
            .field("channel_capacity", &self.channel_capacity)
            .field("max_buffered_points", &self.max_buffered_points)
            .field("spill_dir", &self.spill_dir)
            .field("max_spill_bytes", &self.max_spill_bytes)
            .field("spill_segment_bytes", &self.spill_segment_bytes)
            .field("backoff_initial_ms", &self.backoff_initial_ms)
            .field("backoff_max_ms", &self.backoff_max_ms)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("shutdown_grace_ms", &self.shutdown_grace_ms)
            .finish()
    }
}

/// Why the sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The store URL is not an absolute `http` URL (or `https` with the `tls` feature).
    #[error("sink url `{url}` is not usable: {reason}")]
    BadUrl {
        /// The configured URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The spill directory could not be opened.
    #[error(transparent)]
    Spill(#[from] spill::SpillError),
}

/// What the sink has done so far: counters for the lead to print or export as metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SinkStats {
    /// Points the store acknowledged (replayed ones included).
    pub written: u64,
    /// Write attempts that failed and will be tried again.
    pub retried: u64,
    /// Points appended to the disk spill.
    pub spilled: u64,
    /// Points from the disk spill the store acknowledged.
    pub replayed: u64,
    /// Points lost: spill budget spent, store rejected the batch, or sink gone.
    pub dropped: u64,
    /// Points that could not be encoded (no writable field); never sent.
    pub invalid: u64,
    /// Points waiting on disk now.
    pub spill_pending: u64,
    /// The last error seen, if any.
    pub last_error: Option<String>,
}

/// The live counters behind [`SinkStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    written: AtomicU64,
    retried: AtomicU64,
    spilled: AtomicU64,
    replayed: AtomicU64,
    dropped: AtomicU64,
    invalid: AtomicU64,
    spill_pending: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, error: String) {
        let mut slot = self.last_error.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(error);
    }

    pub(crate) fn snapshot(&self) -> SinkStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SinkStats {
            written: get(&self.written),
            retried: get(&self.retried),
            spilled: get(&self.spilled),
            replayed: get(&self.replayed),
            dropped: get(&self.dropped),
            invalid: get(&self.invalid),
            spill_pending: get(&self.spill_pending),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_redacts_the_token() {
        let mut config = SinkConfig::new("http://127.0.0.1:1", "/tmp/spill");
        config.token = "sekrit-token".to_string();
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("sekrit") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
