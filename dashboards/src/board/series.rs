//! Bounded series for the board: a fixed-capacity ring and a per-minute series on top
//! of it. Everything the board keeps over time lives in one of these, so memory is
//! bounded by `capacity × (events + categories + zones + stands)` whatever the rate.

use std::collections::VecDeque;

/// Milliseconds per bucket of a [`MinuteSeries`].
pub const MINUTE_MS: i64 = 60_000;

/// A ring buffer that keeps the last `capacity` items.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    capacity: usize,
    items: VecDeque<T>,
}

impl<T> Ring<T> {
    /// An empty ring holding at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            items: VecDeque::with_capacity(capacity.min(64)),
        }
    }

    /// Appends `item`, dropping the oldest when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// The items, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The most recent item.
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    /// The most recent item, mutably.
    pub fn last_mut(&mut self) -> Option<&mut T> {
        self.items.back_mut()
    }

    /// The maximum number of items held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// One value per event-time minute, the last `capacity` minutes that had data.
#[derive(Debug, Clone)]
pub struct MinuteSeries {
    ring: Ring<(i64, f64)>,
}

/// How a new value combines with the value already in its minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// The latest value wins (levels: sold so far, occupancy, queue length).
    Last,
    /// Values add up (counts: abandoned carts in the minute).
    Sum,
}

impl MinuteSeries {
    /// An empty series of at most `capacity` minutes.
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: Ring::new(capacity),
        }
    }

    /// Records `value` at event time `time_ms`. A value for a minute older than the
    /// newest one updates that minute if it is still held, else it is dropped.
    pub fn record(&mut self, time_ms: i64, value: f64, combine: Combine) {
        let minute = time_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        let merge = |slot: &mut f64| match combine {
            Combine::Last => *slot = value,
            Combine::Sum => *slot += value,
        };
        match self.ring.last_mut() {
            Some((t, v)) if *t == minute => merge(v),
            Some((t, _)) if *t > minute => {
                if let Some((_, v)) = self.ring.items.iter_mut().rev().find(|(t, _)| *t == minute) {
                    merge(v);
                }
            }
            _ => self.ring.push((minute, value)),
        }
    }

    /// The (minute start ms, value) pairs, oldest first.
    pub fn points(&self) -> impl DoubleEndedIterator<Item = &(i64, f64)> + ExactSizeIterator {
        self.ring.iter()
    }

    /// The newest (minute, value).
    pub fn last(&self) -> Option<(i64, f64)> {
        self.ring.last().copied()
    }

    /// The value held for the minute starting at `minute`.
    pub fn at(&self, minute: i64) -> Option<f64> {
        self.ring
            .iter()
            .rev()
            .find(|(t, _)| *t == minute)
            .map(|(_, v)| *v)
    }

    /// Number of minutes held.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True when no minute is held.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// The two columns (times, values), for a chart.
    pub fn columns(&self) -> (Vec<i64>, Vec<f64>) {
        self.ring.iter().copied().unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_last_items() {
        let mut ring = Ring::new(3);
        for i in 0..10 {
            ring.push(i);
        }
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), vec![7, 8, 9]);
    }

    #[test]
    fn minute_series_buckets_and_bounds() {
        let mut s = MinuteSeries::new(5);
        s.record(10, 1.0, Combine::Sum);
        s.record(59_999, 2.0, Combine::Sum);
        s.record(60_000, 5.0, Combine::Sum);
        assert_eq!(s.columns(), (vec![0, 60_000], vec![3.0, 5.0]));
        // Late, still held: merged into its minute.
        s.record(30, 1.0, Combine::Sum);
        assert_eq!(s.at(0), Some(4.0));
        for m in 2..100 {
            s.record(m * MINUTE_MS, m as f64, Combine::Last);
        }
        assert_eq!(s.len(), 5);
        assert_eq!(s.last(), Some((99 * MINUTE_MS, 99.0)));
        // Late and gone: dropped.
        s.record(0, 7.0, Combine::Last);
        assert_eq!(s.len(), 5);
    }
}
