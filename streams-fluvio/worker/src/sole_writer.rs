//! [`SoleWriter`]: a transport that remembers where the topics only it writes end, so
//! reading at their end costs no round trip.
//!
//! The pricing service catches up on its topics (`prices`, `price-policy`,
//! `price-decisions`, `catalog`) before every decision; on a local log that is a few
//! memory reads, on Fluvio a round trip per topic (the reader asks the SPU for the
//! partition's end first), which made the demo's repricers wait on the network for
//! reads that find nothing. When this process is the only writer of a topic (the
//! demo's fresh topics), the end it last saw plus its own appends is the end: a read
//! from there is answered empty at once. Anything else goes to the inner transport.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sellout_streams::{AppendAck, Batch, Fetched, Offset, StreamError, TopicOffsets, Transport};

/// `inner`, answering reads at the known end of `topics` without asking it. Only for
/// topics no other process or transport appends to.
pub struct SoleWriter {
    inner: Arc<dyn Transport>,
    topics: Vec<String>,
    ends: Mutex<HashMap<String, Offset>>,
}

impl std::fmt::Debug for SoleWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoleWriter")
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl SoleWriter {
    /// Wraps `inner`; `topics` are the ones only this wrapper appends to.
    pub fn new(inner: Arc<dyn Transport>, topics: &[&str]) -> Self {
        Self {
            inner,
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            ends: Mutex::new(HashMap::new()),
        }
    }

    fn sole(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t == topic)
    }

    fn known_end(&self, topic: &str) -> Option<Offset> {
        self.ends
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(topic)
            .copied()
    }

    fn learn(&self, topic: &str, end: Offset) {
        let mut ends = self.ends.lock().unwrap_or_else(|p| p.into_inner());
        let e = ends.entry(topic.to_owned()).or_insert(end);
        *e = (*e).max(end);
    }
}

impl Transport for SoleWriter {
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
        let ack = self.inner.append(topic, batch)?;
        // Only when the end was known just before: the batch then ends the topic.
        if self.sole(topic) && self.known_end(topic) == Some(ack.base_offset) {
            self.learn(topic, ack.base_offset + u64::from(ack.count));
        }
        Ok(ack)
    }

    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        if !self.sole(topic) {
            return self.inner.read(topic, from, max_bytes);
        }
        if self.known_end(topic).is_some_and(|end| from >= end) {
            return Ok(Fetched {
                from,
                batches: Vec::new(),
            });
        }
        let fetched = self.inner.read(topic, from, max_bytes)?;
        if fetched.is_empty() {
            self.learn(topic, from);
        }
        Ok(fetched)
    }

    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError> {
        let offsets = self.inner.offsets(topic)?;
        if self.sole(topic) {
            self.learn(topic, offsets.end);
        }
        Ok(offsets)
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
    use std::sync::atomic::{AtomicU64, Ordering};

    use sellout_streams::ManualClock;
    use sellout_streams::log::{EmbeddedLog, LogConfig};

    use super::*;

    /// Counts the reads that reach the log.
    struct Counting(Arc<EmbeddedLog>, AtomicU64);

    impl Transport for Counting {
        fn append(&self, t: &str, b: &Batch) -> Result<AppendAck, StreamError> {
            self.0.append(t, b)
        }
        fn read(&self, t: &str, from: Offset, max: usize) -> Result<Fetched, StreamError> {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.read(t, from, max)
        }
        fn offsets(&self, t: &str) -> Result<TopicOffsets, StreamError> {
            self.0.offsets(t)
        }
        fn commit(&self, t: &str, c: &str, o: Offset) -> Result<(), StreamError> {
            self.0.commit(t, c, o)
        }
        fn committed(&self, t: &str, c: &str) -> Result<Option<Offset>, StreamError> {
            self.0.committed(t, c)
        }
        fn flush(&self) -> Result<(), StreamError> {
            self.0.flush()
        }
        fn topics(&self) -> Result<Vec<String>, StreamError> {
            self.0.topics()
        }
    }

    fn batch(n: u8) -> Batch {
        let mut b = Batch::new();
        for i in 0..n {
            b.push(b"k", i64::from(i), &[i]);
        }
        b
    }

    #[test]
    fn reads_at_the_known_end_stay_local_and_new_records_are_read() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log = Arc::new(
            EmbeddedLog::open(
                dir.path(),
                LogConfig::default(),
                Arc::new(ManualClock::new(0)),
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        log.append("prices", &batch(2))
            .unwrap_or_else(|e| panic!("{e}"));
        let counting = Arc::new(Counting(log.clone(), AtomicU64::new(0)));
        let t = SoleWriter::new(counting.clone(), &["prices"]);
        let reads = || counting.1.load(Ordering::Relaxed);
        let got = t
            .read("prices", 0, 1 << 20)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.records().count(), 2);
        // The first read at the end asks the log; then the end is known.
        assert!(t.read("prices", 2, 1 << 20).is_ok_and(|f| f.is_empty()));
        assert_eq!(reads(), 2);
        assert!(t.read("prices", 2, 1 << 20).is_ok_and(|f| f.is_empty()));
        assert_eq!(reads(), 2);
        // Its own append moves the known end: the new records are read.
        t.append("prices", &batch(3))
            .unwrap_or_else(|e| panic!("{e}"));
        let got = t
            .read("prices", 2, 1 << 20)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.records().count(), 3);
        assert!(t.read("prices", 5, 1 << 20).is_ok_and(|f| f.is_empty()));
        assert_eq!(reads(), 3);
        // Other topics always go to the log.
        log.append("signals", &batch(1))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(t.read("signals", 1, 1 << 20).is_ok_and(|f| f.is_empty()));
        assert!(t.read("signals", 1, 1 << 20).is_ok_and(|f| f.is_empty()));
        assert_eq!(reads(), 5);
    }
}
