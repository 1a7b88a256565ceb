//! The durable embedded log: the default [`Transport`], a segmented, checksummed,
//! append-only log on local disk, one directory per topic.
//!
//! # On disk
//!
//! ```text
//! <dir>/topics/<topic>/<base_offset:020>.log    segments; the last one is active
//! <dir>/consumers/<topic>/<consumer>.pos        committed consumer positions
//! ```
//!
//! Each segment is a run of frames (header, [`Batch`] body, CRC32; see `format.rs`)
//! with contiguous offsets starting at the base offset in its name. A new segment is
//! started when the active one would grow past [`LogConfig::segment_bytes`].
//!
//! # Durability
//!
//! An append writes its whole frame with one `writev` on a file opened for append and
//! is acknowledged after that write returned (and, under [`FsyncPolicy::Always`], after
//! an fsync). So under **every** policy an acknowledged append survives `kill -9` of the
//! process: its bytes are with the operating system. `Always` also survives power loss;
//! `Interval` may lose the last interval of acknowledged appends to a power loss;
//! `Never` leaves it to the OS and to [`Transport::flush`] (after a power loss under
//! `Never`, a sealed segment may come back torn; reading it then reports
//! [`StreamError::Corrupt`]).
//!
//! On open, the last segment of each topic is checked batch by batch (length, CRC,
//! contiguous offsets) and cut at the first bad or incomplete batch: a torn tail from a
//! crash mid-write. What was cut is logged and kept in [`EmbeddedLog::recovery`].
//! Earlier segments are trusted for structure and checked when read: a bad CRC there is
//! [`StreamError::Corrupt`], never garbage.
//!
//! A failed write (a full disk) is cut back to the last committed batch, so the log
//! stays consistent and appends work again once space returns.
//!
//! # Concurrency
//!
//! [`EmbeddedLog`] is `Send + Sync`; share it in an `Arc`. Appends to one topic are
//! serialised; reads use positional reads on their own file handles and see only
//! batches whose write has returned. One process at a time may open a directory.
//!
//! # Privacy
//!
//! Appends never rewrite a record. For privacy erases (an installation's id in
//! `beacons`, `deliveries`, `deadletter` or `late` records), [`EmbeddedLog::redact`] rewrites
//! records of **sealed** segments in place, same lengths, so offsets, the index and
//! every CRC stay valid (`sellout_ingest::erasure::redact_log` drives it from the
//! `erasures` topic), which seals the active segments first when there is a new
//! erasure ([`EmbeddedLog::seal_active`]); records whose id can't be read (`deadletter`'s original bytes) keep
//! them until retention deletes the whole segment, and retention is off by default:
//! set [`LogConfig::retention_max_age_s`] (or `retention_max_bytes`) to bound that.
//! Everything read from the log downstream (archive, SQL, pipelines) applies the
//! `erasures` topic itself too.
//!
//! # Layout
//! - `config.rs`: [`LogConfig`], the `[log]` TOML section, and the policies.
//! - `format.rs`: the frame header and its checksum.
//! - `segment.rs`: segment files, the sparse index, scans and positional reads.
//! - `topic.rs`: one topic's segments, appender, reads and retention.
//! - `redact.rs`: in-place redaction of sealed segments ([`EmbeddedLog::redact`]).
//! - `consumers.rs`: named consumer positions.
//! - `flusher.rs`: the background fsync thread of the `interval` policy.
//! - `tests.rs`, `hostile_tests.rs`: unit tests; the second holds inputs found by fuzzing.
//! - [`bench`](mod@bench): append/read throughput beside a raw sequential write.

pub mod bench;
mod config;
mod consumers;
mod flusher;
mod format;
#[cfg(test)]
mod hostile_tests;
mod redact;
mod segment;
#[cfg(test)]
mod tests;
mod topic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use config::{FsyncMode, FsyncPolicy, LogConfig, Retention};
pub use redact::{RedactReport, Rewrite};

use crate::batch::Batch;
use crate::clock::Clock;
use crate::transport::{AppendAck, Fetched, Offset, StreamError, TopicOffsets, Transport};
use consumers::{Consumers, validate_consumer};
use flusher::Flusher;
use topic::{Topic, sync_dir};

/// A torn tail cut off a segment when the log was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The topic.
    pub topic: String,
    /// The segment file that was cut.
    pub segment: PathBuf,
    /// Bytes removed from its end.
    pub bytes_truncated: u64,
    /// What was wrong with the first byte cut.
    pub reason: String,
}

/// Why retention deleted a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionReason {
    /// The topic was larger than `retention_max_bytes`.
    Size,
    /// The segment's newest event time was older than `retention_max_age_s`.
    Age,
}

/// One segment deleted by retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedSegment {
    /// The topic.
    pub topic: String,
    /// The deleted file.
    pub segment: PathBuf,
    /// Offset of its first record.
    pub base_offset: Offset,
    /// Its size.
    pub bytes: u64,
    /// Why it went.
    pub reason: RetentionReason,
}

/// What one [`EmbeddedLog::enforce_retention`] pass deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// The deleted segments, oldest first within each topic.
    pub deleted: Vec<DeletedSegment>,
}

impl RetentionReport {
    /// Bytes freed.
    pub fn bytes_deleted(&self) -> u64 {
        self.deleted.iter().map(|d| d.bytes).sum()
    }
}

/// Size and extent of one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicStats {
    /// The retained range.
    pub offsets: TopicOffsets,
    /// Segment files.
    pub segments: usize,
    /// Bytes on disk (committed frames).
    pub bytes: u64,
}

/// The durable embedded log (see the module docs).
#[derive(Debug)]
pub struct EmbeddedLog {
    inner: Arc<Inner>,
    flusher: Option<Flusher>,
    /// Held for the log's lifetime: see [`EmbeddedLog::open`].
    _lock: std::fs::File,
}

/// The state shared with the flusher thread.
pub(crate) struct Inner {
    topics_dir: PathBuf,
    config: LogConfig,
    fsync: FsyncPolicy,
    retention: Retention,
    clock: Arc<dyn Clock>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    consumers: Consumers,
    recovery: Vec<Recovery>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("topics_dir", &self.topics_dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Checks a topic name: 1-64 characters of a-z, 0-9, '-' and '_'.
pub fn validate_topic(name: &str) -> Result<(), StreamError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(StreamError::InvalidTopic(name.to_string()))
    }
}

fn poisoned() -> StreamError {
    StreamError::Unavailable("topic table lock poisoned by an earlier panic".to_string())
}

impl EmbeddedLog {
    /// Opens (or creates) the log in `dir`, cutting torn tails, and starts the flusher
    /// thread when the policy is `interval`. `clock` is "now" for retention by age.
    pub fn open(dir: &Path, config: LogConfig, clock: Arc<dyn Clock>) -> Result<Self, StreamError> {
        let fsync = config.fsync_policy();
        let topics_dir = dir.join("topics");
        let consumers_dir = dir.join("consumers");
        for d in [&topics_dir, &consumers_dir] {
            std::fs::create_dir_all(d)
                .map_err(|e| StreamError::io(format!("creating directory {}", d.display()), e))?;
        }
        // One process at a time: opening cuts torn tails, which would cut another
        // process's append in flight. The OS releases the lock when the process ends.
        let lock_path = dir.join("LOCK");
        let lock = std::fs::File::create(&lock_path)
            .map_err(|e| StreamError::io(format!("creating {}", lock_path.display()), e))?;
        if let Err(e) = lock.try_lock() {
            return Err(match e {
                std::fs::TryLockError::WouldBlock => StreamError::Unavailable(format!(
                    "the log in {} is open in another process (a running `sellout serve`?)",
                    dir.display()
                )),
                std::fs::TryLockError::Error(e) => {
                    StreamError::io(format!("locking {}", lock_path.display()), e)
                }
            });
        }
        let mut topics = BTreeMap::new();
        let mut recovery = Vec::new();
        let listing = std::fs::read_dir(&topics_dir)
            .map_err(|e| StreamError::io(format!("listing {}", topics_dir.display()), e))?;
        for entry in listing {
            let entry = entry
                .map_err(|e| StreamError::io(format!("listing {}", topics_dir.display()), e))?;
            let path = entry.path();
            let name = entry.file_name().to_str().map(str::to_string);
            match name {
                Some(name) if validate_topic(&name).is_ok() && path.is_dir() => {
                    let (topic, cut) = Topic::open(path, &name, fsync)?;
                    recovery.extend(cut);
                    topics.insert(name, Arc::new(topic));
                }
                _ => {
                    tracing::warn!(message = "Ignoring a stray entry among the topics.", path = %path.display())
                }
            }
        }
        let inner = Arc::new(Inner {
            topics_dir,
            retention: config.retention(),
            config,
            fsync,
            clock,
            topics: RwLock::new(topics),
            consumers: Consumers::new(consumers_dir),
            recovery,
        });
        let flusher = match fsync {
            FsyncPolicy::Interval { ms } => Some(Flusher::start(
                Arc::clone(&inner),
                Duration::from_millis(ms),
            )?),
            FsyncPolicy::Always | FsyncPolicy::Never => None,
        };
        Ok(Self {
            inner,
            flusher,
            _lock: lock,
        })
    }

    /// The torn tails cut when this log was opened.
    pub fn recovery(&self) -> &[Recovery] {
        &self.inner.recovery
    }

    /// The settings the log was opened with.
    pub fn config(&self) -> &LogConfig {
        &self.inner.config
    }

    /// Applies the retention limits to every topic now (also done on each segment roll).
    pub fn enforce_retention(&self) -> Result<RetentionReport, StreamError> {
        let now = self.inner.clock.now_ms();
        let mut report = RetentionReport::default();
        for topic in self.inner.all_topics()? {
            report
                .deleted
                .extend(topic.enforce_retention(&self.inner.retention, now)?);
        }
        for d in &report.deleted {
            tracing::info!(
                message = "Retention deleted a segment.",
                topic = %d.topic,
                segment = %d.segment.display(),
                bytes = d.bytes,
                reason = ?d.reason,
            );
        }
        Ok(report)
    }

    /// Gives each record of `topic`'s sealed segments holding offsets at or after
    /// `from` to `rewrite`, and writes the replacements it returns (same key and value
    /// lengths) in place: offsets, index and CRCs stay valid (see `redact.rs`). The
    /// active segment is left alone; the report says where it starts.
    pub fn redact(
        &self,
        topic: &str,
        from: Offset,
        rewrite: &mut Rewrite<'_>,
    ) -> Result<RedactReport, StreamError> {
        validate_topic(topic)?;
        match self.inner.topic(topic)? {
            Some(t) => t.redact_sealed(from, rewrite),
            None => Ok(RedactReport {
                sealed_end: from,
                ..RedactReport::default()
            }),
        }
    }

    /// Seals `topic`'s active segment if it holds anything, so [`EmbeddedLog::redact`]
    /// reaches its records too; returns whether it did (false for a topic never
    /// written or an empty active segment).
    pub fn seal_active(&self, topic: &str) -> Result<bool, StreamError> {
        validate_topic(topic)?;
        match self.inner.topic(topic)? {
            Some(t) => t.seal_active(),
            None => Ok(false),
        }
    }

    /// Bytes `topic` takes on disk (0 for a topic never written).
    pub fn disk_usage(&self, topic: &str) -> Result<u64, StreamError> {
        Ok(self.stats(topic)?.bytes)
    }

    /// Size, segment count and retained range of `topic`.
    pub fn stats(&self, topic: &str) -> Result<TopicStats, StreamError> {
        validate_topic(topic)?;
        match self.inner.topic(topic)? {
            Some(t) => t.stats(),
            None => Ok(TopicStats::default()),
        }
    }
}

impl Drop for EmbeddedLog {
    fn drop(&mut self) {
        if let Some(mut flusher) = self.flusher.take() {
            flusher.stop();
            // A clean shutdown leaves nothing for a power loss to take.
            self.inner.sync_dirty();
        }
    }
}

impl Inner {
    fn topic(&self, name: &str) -> Result<Option<Arc<Topic>>, StreamError> {
        Ok(self
            .topics
            .read()
            .map_err(|_| poisoned())?
            .get(name)
            .cloned())
    }

    fn all_topics(&self) -> Result<Vec<Arc<Topic>>, StreamError> {
        Ok(self
            .topics
            .read()
            .map_err(|_| poisoned())?
            .values()
            .cloned()
            .collect())
    }

    fn topic_or_create(&self, name: &str) -> Result<Arc<Topic>, StreamError> {
        if let Some(topic) = self.topic(name)? {
            return Ok(topic);
        }
        let mut topics = self.topics.write().map_err(|_| poisoned())?;
        if let Some(topic) = topics.get(name) {
            return Ok(Arc::clone(topic));
        }
        let dir = self.topics_dir.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| {
            StreamError::io(format!("creating topic directory {}", dir.display()), e)
        })?;
        if self.fsync != FsyncPolicy::Never {
            sync_dir(&self.topics_dir)?;
        }
        let (topic, _) = Topic::open(dir, name, self.fsync)?;
        let topic = Arc::new(topic);
        topics.insert(name.to_string(), Arc::clone(&topic));
        Ok(topic)
    }

    /// Fsyncs the topics appended to since the last pass (the flusher's job).
    pub(crate) fn sync_dirty(&self) {
        let Ok(topics) = self.all_topics() else {
            return;
        };
        for topic in topics.iter().filter(|t| t.is_dirty()) {
            if let Err(error) = topic.sync() {
                tracing::error!(message = "Failed to fsync a topic.", %error, topic = %topic.name);
            }
        }
    }
}

impl Transport for EmbeddedLog {
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
        validate_topic(topic)?;
        if batch.is_empty() {
            let end = match self.inner.topic(topic)? {
                Some(t) => t.offsets()?.end,
                None => 0,
            };
            return Ok(AppendAck {
                base_offset: end,
                count: 0,
            });
        }
        let limit = self.inner.config.batch_limit();
        if batch.bytes().len() > limit {
            return Err(StreamError::BatchTooLarge {
                bytes: batch.bytes().len(),
                limit,
            });
        }
        let t = self.inner.topic_or_create(topic)?;
        let (ack, rolled) = t.append(batch, self.inner.config.segment_bytes)?;
        if rolled && !self.inner.retention.is_unlimited() {
            // The append itself succeeded; a retention failure is only worth a warning.
            match t.enforce_retention(&self.inner.retention, self.inner.clock.now_ms()) {
                Ok(deleted) => {
                    for d in deleted {
                        tracing::info!(
                            message = "Retention deleted a segment.",
                            topic = %d.topic,
                            segment = %d.segment.display(),
                            bytes = d.bytes,
                            reason = ?d.reason,
                        );
                    }
                }
                Err(error) => {
                    tracing::warn!(message = "Retention failed on segment roll.", %error, topic)
                }
            }
        }
        Ok(ack)
    }

    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        validate_topic(topic)?;
        match self.inner.topic(topic)? {
            Some(t) => t.read(from, max_bytes),
            None => Ok(Fetched {
                from,
                batches: Vec::new(),
            }),
        }
    }

    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError> {
        validate_topic(topic)?;
        match self.inner.topic(topic)? {
            Some(t) => t.offsets(),
            None => Ok(TopicOffsets::default()),
        }
    }

    fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError> {
        validate_topic(topic)?;
        validate_consumer(consumer)?;
        self.inner.consumers.commit(topic, consumer, offset)
    }

    fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError> {
        validate_topic(topic)?;
        validate_consumer(consumer)?;
        self.inner.consumers.committed(topic, consumer)
    }

    fn flush(&self) -> Result<(), StreamError> {
        let mut result = Ok(());
        for topic in self.inner.all_topics()? {
            if let Err(e) = topic.sync()
                && result.is_ok()
            {
                result = Err(e);
            }
        }
        result
    }

    fn topics(&self) -> Result<Vec<String>, StreamError> {
        Ok(self
            .inner
            .topics
            .read()
            .map_err(|_| poisoned())?
            .keys()
            .cloned()
            .collect())
    }
}
