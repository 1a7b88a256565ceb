//! Event-time timers: keyed wake-ups that fire when the watermark passes their time.
//!
//! One timer per (time, key); scheduling the same pair twice keeps one. Jobs keep a
//! queue each and pop what is due on every watermark advance; the head check is O(1),
//! so a watermark that moves on every record costs nothing when no timer is due.

use std::collections::BTreeSet;

use sellout_ingest::records::Timestamp;
use serde::{Deserialize, Serialize};

/// A queue of event-time timers keyed by `K`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timers<K: Ord> {
    queue: BTreeSet<(Timestamp, K)>,
}

impl<K: Ord> Default for Timers<K> {
    fn default() -> Self {
        Self {
            queue: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone> Timers<K> {
    /// Schedules `key` to fire at `time`.
    pub fn schedule(&mut self, time: Timestamp, key: K) {
        self.queue.insert((time, key));
    }

    /// Cancels the timer of `key` at `time`, if any.
    pub fn cancel(&mut self, time: Timestamp, key: &K) {
        self.queue.remove(&(time, key.clone()));
    }

    /// The earliest timer's time.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.queue.first().map(|(t, _)| *t)
    }

    /// Removes and returns the earliest timer due at or before `watermark`.
    pub fn pop_due(&mut self, watermark: Timestamp) -> Option<(Timestamp, K)> {
        if self.next_due()? <= watermark {
            self.queue.pop_first()
        } else {
            None
        }
    }

    /// Number of pending timers.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True without pending timers.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_time_order_once_due() {
        let mut t: Timers<&str> = Timers::default();
        t.schedule(30, "c");
        t.schedule(10, "a");
        t.schedule(10, "a");
        t.schedule(20, "b");
        t.cancel(20, &"b");
        assert_eq!(t.len(), 2);
        assert_eq!(t.pop_due(9), None);
        assert_eq!(t.pop_due(30), Some((10, "a")));
        assert_eq!(t.pop_due(30), Some((30, "c")));
        assert!(t.is_empty());
    }
}
