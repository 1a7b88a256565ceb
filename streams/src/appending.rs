//! Appends whose records are handed over in parts: the [`Appending`] a
//! [`Transport::begin_append`] returns, and [`Collected`], the default that gathers the
//! parts and appends them as one batch at the end.
//!
//! A writer that validates a large input record by record (ingest) hands each part
//! over as soon as it is built; a transport whose appends travel over a network starts
//! sending them at once, so that the writer's work on later parts overlaps the sending
//! of earlier ones. Nothing changes for what a reader sees: the records of one
//! `Appending` are acknowledged together, in the order pushed, as one append.

use crate::batch::Batch;
use crate::transport::{AppendAck, StreamError, Transport};

/// One append in progress, its records handed over in parts.
///
/// Dropped without [`Appending::finish`], the append is abandoned: what was pushed
/// may or may not be stored, as with an append that failed.
pub trait Appending: Send {
    /// Hands over the next records, to follow those pushed before.
    fn push(&mut self, batch: Batch) -> Result<(), StreamError>;

    /// Appends everything pushed, in order, and returns its acknowledgement once it is
    /// as durable as [`Transport::append`] would have made it.
    fn finish(self: Box<Self>) -> Result<AppendAck, StreamError>;
}

/// The default [`Appending`]: collects the parts and appends them with one
/// [`Transport::append`] at `finish` (nothing reaches the transport before).
pub struct Collected<'a, T: ?Sized> {
    transport: &'a T,
    topic: String,
    batch: Batch,
}

impl<'a, T: Transport + ?Sized> Collected<'a, T> {
    /// An empty append to `topic` of `transport`.
    pub fn new(transport: &'a T, topic: &str) -> Self {
        Self {
            transport,
            topic: topic.to_owned(),
            batch: Batch::new(),
        }
    }
}

impl<T: Transport + ?Sized> Appending for Collected<'_, T> {
    fn push(&mut self, batch: Batch) -> Result<(), StreamError> {
        if self.batch.is_empty() {
            self.batch = batch;
        } else {
            self.batch.extend_from(&batch);
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<AppendAck, StreamError> {
        self.transport.append(&self.topic, &self.batch)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::log::{EmbeddedLog, LogConfig};

    fn log(dir: &std::path::Path) -> EmbeddedLog {
        EmbeddedLog::open(dir, LogConfig::default(), Arc::new(ManualClock::new(0))).expect("log")
    }

    fn part(from: i64, n: i64) -> Batch {
        let mut b = Batch::new();
        for t in from..from + n {
            b.push(format!("evt-{}", t % 3).as_bytes(), t, &t.to_le_bytes());
        }
        b
    }

    #[test]
    fn parts_are_appended_once_at_finish_in_the_order_pushed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = log(dir.path());
        let mut a = log.begin_append("sales").expect("begin");
        a.push(part(0, 5)).expect("push");
        a.push(Batch::new()).expect("an empty part");
        a.push(part(5, 7)).expect("push");
        assert_eq!(
            log.offsets("sales").expect("offsets").end,
            0,
            "nothing before finish"
        );
        let ack = a.finish().expect("finish");
        assert_eq!((ack.base_offset, ack.count), (0, 12));
        let fetched = log.read("sales", 0, 1 << 20).expect("read");
        let times: Vec<i64> = fetched.records().map(|r| r.time).collect();
        assert_eq!(times, (0..12).collect::<Vec<_>>());
        assert_eq!(fetched.batches.len(), 1, "one append, one batch");
    }

    #[test]
    fn an_abandoned_append_stores_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = log(dir.path());
        let mut a = log.begin_append("sales").expect("begin");
        a.push(part(0, 3)).expect("push");
        drop(a);
        assert_eq!(log.offsets("sales").expect("offsets").end, 0);
    }

    #[test]
    fn extend_from_keeps_the_time_range_of_both() {
        let mut a = part(10, 3);
        a.extend_from(&part(2, 2));
        assert_eq!((a.len(), a.min_time(), a.max_time()), (5, 2, 12));
        let mut empty = Batch::new();
        empty.extend_from(&part(7, 1));
        assert_eq!((empty.len(), empty.min_time(), empty.max_time()), (1, 7, 7));
    }
}
