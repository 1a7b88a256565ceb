//! Batching: the open batch (closed by size or by linger on the passed clock) and the
//! bounded in-memory queue of closed batches waiting for the store.
//!
//! Linger is measured on the [`Clock`](sellout_streams::Clock) the sink is given, from
//! the first point of a batch; a clock that jumps backwards never holds a batch longer
//! than `linger_ms` of forward time after the jump (the start is reset to the jump).

use std::collections::VecDeque;

/// A closed batch: newline-separated line protocol and its point count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Newline-separated line protocol (each line ends with `\n`).
    pub payload: Vec<u8>,
    /// How many points the payload holds.
    pub points: u32,
}

/// The batch being filled.
#[derive(Debug)]
pub struct OpenBatch {
    payload: Vec<u8>,
    points: u32,
    started_ms: i64,
    max_points: u32,
    linger_ms: i64,
}

impl OpenBatch {
    /// An empty batch closing at `max_points` points or `linger_ms` after its first point.
    pub fn new(max_points: u32, linger_ms: i64) -> Self {
        Self {
            payload: Vec::new(),
            points: 0,
            started_ms: 0,
            max_points: max_points.max(1),
            linger_ms: linger_ms.max(0),
        }
    }

    /// Adds one encoded line (without newline) at clock time `now_ms`.
    pub fn push(&mut self, line: &str, now_ms: i64) {
        if self.points == 0 {
            self.started_ms = now_ms;
        }
        self.payload.extend_from_slice(line.as_bytes());
        self.payload.push(b'\n');
        self.points += 1;
    }

    /// Whether the batch should be closed at clock time `now_ms`.
    pub fn is_due(&mut self, now_ms: i64) -> bool {
        if self.points == 0 {
            return false;
        }
        if now_ms < self.started_ms {
            self.started_ms = now_ms;
        }
        self.points >= self.max_points || now_ms - self.started_ms >= self.linger_ms
    }

    /// Closes the batch (if it holds any point) and starts an empty one.
    pub fn take(&mut self) -> Option<Batch> {
        if self.points == 0 {
            return None;
        }
        let points = std::mem::replace(&mut self.points, 0);
        let payload = std::mem::take(&mut self.payload);
        Some(Batch { payload, points })
    }

    /// Points in the open batch.
    pub fn len(&self) -> u32 {
        self.points
    }

    /// Whether the open batch holds no point.
    pub fn is_empty(&self) -> bool {
        self.points == 0
    }
}

/// Closed batches kept in memory, bounded by a point count.
#[derive(Debug)]
pub struct MemoryQueue {
    batches: VecDeque<Batch>,
    points: u64,
    max_points: u64,
}

impl MemoryQueue {
    /// A queue holding at most `max_points` points.
    pub fn new(max_points: u64) -> Self {
        Self {
            batches: VecDeque::new(),
            points: 0,
            max_points,
        }
    }

    /// Queues `batch`, or hands it back when it would exceed the bound.
    pub fn push(&mut self, batch: Batch) -> Result<(), Batch> {
        if self.points + u64::from(batch.points) > self.max_points {
            return Err(batch);
        }
        self.points += u64::from(batch.points);
        self.batches.push_back(batch);
        Ok(())
    }

    /// The oldest batch.
    pub fn front(&self) -> Option<&Batch> {
        self.batches.front()
    }

    /// Removes and returns the oldest batch.
    pub fn pop(&mut self) -> Option<Batch> {
        let batch = self.batches.pop_front()?;
        self.points -= u64::from(batch.points);
        Some(batch)
    }

    /// Points queued.
    pub fn points(&self) -> u64 {
        self.points
    }

    /// Whether no batch is queued.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sellout_streams::{Clock, ManualClock};

    #[test]
    fn closes_by_size() {
        let clock = ManualClock::new(1_000);
        let mut open = OpenBatch::new(3, 10_000);
        for _ in 0..2 {
            open.push("m f=1i 1", clock.now_ms());
        }
        assert!(!open.is_due(clock.now_ms()));
        open.push("m f=1i 1", clock.now_ms());
        assert!(open.is_due(clock.now_ms()));
        let batch = open.take().unwrap();
        assert_eq!(batch.points, 3);
        assert_eq!(batch.payload, b"m f=1i 1\nm f=1i 1\nm f=1i 1\n");
        assert!(open.take().is_none());
    }

    #[test]
    fn closes_by_linger_on_the_passed_clock_and_survives_a_backward_jump() {
        let clock = ManualClock::new(1_000);
        let mut open = OpenBatch::new(100, 500);
        assert!(!open.is_due(clock.now_ms()), "an empty batch is never due");
        open.push("m f=1i 1", clock.now_ms());
        clock.advance(499);
        assert!(!open.is_due(clock.now_ms()));
        clock.advance(1);
        assert!(open.is_due(clock.now_ms()));
        open.take();

        open.push("m f=1i 1", clock.now_ms());
        clock.set(0);
        assert!(!open.is_due(clock.now_ms()));
        clock.advance(500);
        assert!(open.is_due(clock.now_ms()));
    }

    #[test]
    fn memory_queue_is_bounded_by_points() {
        let mut q = MemoryQueue::new(5);
        let b = |n| Batch {
            payload: vec![],
            points: n,
        };
        assert!(q.push(b(3)).is_ok());
        assert_eq!(q.push(b(3)), Err(b(3)));
        assert!(q.push(b(2)).is_ok());
        assert_eq!(q.points(), 5);
        assert_eq!(q.pop(), Some(b(3)));
        assert_eq!(q.points(), 2);
    }
}
