//! A transport that refuses chosen appends to one topic of another transport, and
//! passes everything else through: what a full disk or an unreachable cluster looks like
//! to a writer, for tests and fault drills of how writers recover.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::batch::Batch;
use crate::transport::{AppendAck, Fetched, Offset, StreamError, TopicOffsets, Transport};

/// Wraps `inner`, refusing appends to `topic` while [`RefusingAppends::refuse`] is on,
/// and the one append chosen with [`RefusingAppends::refuse_nth`]. A refused append
/// stores nothing and fails with an I/O error ("no space left on device").
pub struct RefusingAppends {
    inner: Arc<dyn Transport>,
    topic: String,
    refusing: AtomicBool,
    /// Appends to `topic` tried so far (refused ones included).
    tried: AtomicU64,
    /// The append to refuse, counted from 1 (0: none).
    nth: AtomicU64,
}

impl std::fmt::Debug for RefusingAppends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefusingAppends")
            .field("topic", &self.topic)
            .field("tried", &self.tried())
            .finish_non_exhaustive()
    }
}

impl RefusingAppends {
    /// Passes everything through until told to refuse.
    pub fn new(inner: Arc<dyn Transport>, topic: impl Into<String>) -> Self {
        Self {
            inner,
            topic: topic.into(),
            refusing: AtomicBool::new(false),
            tried: AtomicU64::new(0),
            nth: AtomicU64::new(0),
        }
    }

    /// Refuses every append to the topic while `on`.
    pub fn refuse(&self, on: bool) {
        self.refusing.store(on, Ordering::Release);
    }

    /// Refuses the `n`-th append to the topic (counted from 1 since creation) once.
    pub fn refuse_nth(&self, n: u64) {
        self.nth.store(n, Ordering::Release);
    }

    /// Appends to the topic tried so far, refused ones included.
    pub fn tried(&self) -> u64 {
        self.tried.load(Ordering::Acquire)
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &Arc<dyn Transport> {
        &self.inner
    }
}

impl Transport for RefusingAppends {
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
        if topic == self.topic {
            let n = self.tried.fetch_add(1, Ordering::AcqRel) + 1;
            if self.refusing.load(Ordering::Acquire) || n == self.nth.load(Ordering::Acquire) {
                return Err(StreamError::io(
                    format!("append to {topic}"),
                    std::io::Error::other("no space left on device"),
                ));
            }
        }
        self.inner.append(topic, batch)
    }
    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        self.inner.read(topic, from, max_bytes)
    }
    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError> {
        self.inner.offsets(topic)
    }
    fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError> {
        self.inner.commit(topic, consumer, offset)
    }
    fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError> {
        self.inner.committed(topic, consumer)
    }
    fn flush(&self) -> Result<(), StreamError> {
        self.inner.flush()
    }
    fn topics(&self) -> Result<Vec<String>, StreamError> {
        self.inner.topics()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::log::{EmbeddedLog, LogConfig};

    fn one() -> Batch {
        let mut b = Batch::new();
        b.push(b"k", 1, b"v");
        b
    }

    #[test]
    fn refuses_what_it_is_told_to_and_stores_nothing_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = EmbeddedLog::open(
            dir.path(),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log");
        let t = RefusingAppends::new(Arc::new(log), "sales");
        t.refuse_nth(2);
        assert!(t.append("sales", &one()).is_ok());
        let refused = t.append("sales", &one()).expect_err("the 2nd is refused");
        assert!(refused.to_string().contains("no space left"), "{refused}");
        assert!(t.append("sales", &one()).is_ok(), "only once");
        assert!(t.append("beacons", &one()).is_ok(), "other topics pass");
        t.refuse(true);
        assert!(t.append("sales", &one()).is_err());
        assert!(t.append("beacons", &one()).is_ok());
        t.refuse(false);
        assert!(t.append("sales", &one()).is_ok());
        assert_eq!(t.tried(), 5);
        assert_eq!(
            t.offsets("sales").expect("offsets").end,
            3,
            "refused appends stored nothing"
        );
    }
}
