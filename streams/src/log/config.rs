//! [`LogConfig`]: the `[log]` section of the app's TOML config, and the typed policies
//! ([`FsyncPolicy`], [`Retention`]) the log resolves it into.
//!
//! The TOML shape is flat so that every knob is one line (and one `SELLOUT__LOG__*`
//! environment variable); the doc comments on the fields are the user docs.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// The embedded log's settings (the `[log]` section of `sellout.toml`).
///
/// ```toml
/// [log]
/// fsync = "interval"            # "always" | "interval" | "never"
/// fsync_interval_ms = 100
/// segment_bytes = 67108864      # 64 MiB
/// max_batch_bytes = 16777216    # 16 MiB
/// retention_max_bytes = 10737418240   # optional, per topic
/// retention_max_age_s = 604800        # optional, by event time
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// When appended batches are forced to stable storage (fsync).
    ///
    /// - `"always"`: before each append is acknowledged. Acknowledged records survive a
    ///   power loss. Slowest: one fsync per batch.
    /// - `"interval"` (default): a background flusher fsyncs every `fsync_interval_ms`.
    ///   A power loss may lose the last interval of acknowledged records.
    /// - `"never"`: left to the operating system (and to explicit flushes).
    ///
    /// Under every policy an acknowledged append survives the process being killed
    /// (`kill -9`, a panic, an OOM kill): the bytes were handed to the operating system
    /// before the acknowledgement.
    pub fsync: FsyncMode,
    /// With `fsync = "interval"`: milliseconds between background fsyncs (at least 1).
    pub fsync_interval_ms: u64,
    /// Size in bytes at which a topic's active segment file is closed and a new one is
    /// started. Retention deletes whole segments, so this is also its granularity.
    pub segment_bytes: u64,
    /// Largest batch (encoded records, in bytes) one append may carry; larger appends
    /// are rejected. At most 4 GiB - 1.
    pub max_batch_bytes: u64,
    /// Per topic: once a topic's segments add up to more than this many bytes, its
    /// oldest segments are deleted. Unset: no size limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_max_bytes: Option<u64>,
    /// Per topic: segments whose newest record (by event time) is older than this many
    /// seconds before "now" are deleted, oldest first. "Now" is the clock the log was
    /// opened with (simulated time in the demo). Unset: no age limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_max_age_s: Option<u64>,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            fsync: FsyncMode::Interval,
            fsync_interval_ms: 100,
            segment_bytes: 64 << 20,
            max_batch_bytes: 16 << 20,
            retention_max_bytes: None,
            retention_max_age_s: None,
        }
    }
}

impl LogConfig {
    /// The fsync policy these settings describe.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        match self.fsync {
            FsyncMode::Always => FsyncPolicy::Always,
            FsyncMode::Interval => FsyncPolicy::Interval {
                ms: self.fsync_interval_ms.max(1),
            },
            FsyncMode::Never => FsyncPolicy::Never,
        }
    }

    /// These settings with `policy` as the fsync policy.
    pub fn with_fsync(mut self, policy: FsyncPolicy) -> Self {
        match policy {
            FsyncPolicy::Always => self.fsync = FsyncMode::Always,
            FsyncPolicy::Interval { ms } => {
                self.fsync = FsyncMode::Interval;
                self.fsync_interval_ms = ms;
            }
            FsyncPolicy::Never => self.fsync = FsyncMode::Never,
        }
        self
    }

    /// The retention limits these settings describe.
    pub fn retention(&self) -> Retention {
        Retention {
            max_bytes: self.retention_max_bytes,
            max_age_ms: self
                .retention_max_age_s
                .map(|s| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)),
        }
    }

    /// The batch size limit, capped by what the on-disk header can describe.
    pub(crate) fn batch_limit(&self) -> usize {
        usize::try_from(self.max_batch_bytes.min(u64::from(u32::MAX))).unwrap_or(usize::MAX)
    }
}

/// The `fsync` setting as written in TOML; see [`LogConfig::fsync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FsyncMode {
    /// Fsync before each acknowledgement.
    Always,
    /// Fsync in the background every `fsync_interval_ms`.
    #[default]
    Interval,
    /// Leave it to the operating system.
    Never,
}

/// When appends reach stable storage. Every policy survives `kill -9` of the process
/// for acknowledged appends; only `Always` also survives power loss for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Fsync each append before returning its acknowledgement.
    Always,
    /// A background flusher fsyncs topics written since its last pass every `ms`.
    Interval {
        /// Milliseconds between passes.
        ms: u64,
    },
    /// Never fsync on our own (only [`crate::Transport::flush`] does).
    Never,
}

/// Per-topic retention limits, applied by deleting whole non-active segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// Delete the oldest segments while the topic is larger than this.
    pub max_bytes: Option<u64>,
    /// Delete the oldest segments while their newest event time is older than
    /// `clock.now_ms() - max_age_ms`.
    pub max_age_ms: Option<Timestamp>,
}

impl Retention {
    /// True when no limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.max_bytes.is_none() && self.max_age_ms.is_none()
    }
}
