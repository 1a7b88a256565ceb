//! Windows over event time: tumbling and sliding window assignment, session windows,
//! and [`Buckets`], the per-key rolling counts that sliding windows are summed from.
//!
//! Sliding sums are kept as a ring of fixed buckets (e.g. one per minute) rather than
//! one window object per slide, so a key's state is bounded by `span / bucket` whatever
//! the record rate. [`Total`] and [`Latest`] read a running sum or the latest value
//! as of an event time; [`Ticker`] (module `ticker`) is the clock of ticks that jobs
//! close behind the watermark.

use std::collections::VecDeque;

use sellout_ingest::records::Timestamp;
use serde::{Deserialize, Serialize};

mod ticker;

pub use ticker::Ticker;

/// Start of the tumbling window of `size` ms that holds `time` (windows align to 0).
pub fn tumbling_start(time: Timestamp, size: i64) -> Timestamp {
    time - time.rem_euclid(size)
}

/// Starts of the sliding windows of `size` ms, advancing every `slide` ms, that hold
/// `time`, oldest first.
pub fn sliding_starts(time: Timestamp, size: i64, slide: i64) -> impl Iterator<Item = Timestamp> {
    let last = tumbling_start(time, slide);
    let first = last - (size - slide).max(0) / slide * slide;
    (0..)
        .map(move |i| first + i * slide)
        .take_while(move |s| *s <= last)
        .filter(move |s| time < s + size)
}

/// A session window: activity with gaps shorter than `gap` ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Time of the first record.
    pub start: Timestamp,
    /// Time of the last record.
    pub last: Timestamp,
}

impl Session {
    /// A session opened by a record at `time`.
    pub fn new(time: Timestamp) -> Self {
        Self {
            start: time,
            last: time,
        }
    }

    /// Adds a record at `time` if it falls within `gap` of the session (before or
    /// after); returns false when it belongs to a new session.
    pub fn extend(&mut self, time: Timestamp, gap: i64) -> bool {
        if time > self.last + gap || time < self.start - gap {
            return false;
        }
        self.start = self.start.min(time);
        self.last = self.last.max(time);
        true
    }

    /// When the session closes if nothing more arrives.
    pub fn end(&self, gap: i64) -> Timestamp {
        self.last + gap
    }
}

/// Rolling counts in fixed buckets over a bounded span of event time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buckets {
    bucket_ms: i64,
    span_ms: i64,
    /// (bucket start, sum), oldest first, no gaps required.
    buckets: VecDeque<(Timestamp, i64)>,
}

impl Buckets {
    /// Buckets of `bucket_ms` keeping at least `span_ms` of history.
    pub fn new(bucket_ms: i64, span_ms: i64) -> Self {
        Self {
            bucket_ms: bucket_ms.max(1),
            span_ms: span_ms.max(bucket_ms),
            buckets: VecDeque::new(),
        }
    }

    /// Adds `n` at `time`. Nothing expires here: the newest record may run far ahead
    /// of the windows still to be closed (the watermark waits for the slowest source),
    /// so callers expire when they close a window ([`Buckets::expire`]).
    pub fn add(&mut self, time: Timestamp, n: i64) {
        let start = tumbling_start(time, self.bucket_ms);
        match self.buckets.back_mut() {
            Some((s, sum)) if *s == start => *sum += n,
            Some((s, _)) if *s < start => self.buckets.push_back((start, n)),
            None => self.buckets.push_back((start, n)),
            Some(_) => {
                // Out of order within the span: find or insert its bucket.
                let i = self.buckets.partition_point(|(s, _)| *s < start);
                match self.buckets.get_mut(i) {
                    Some((s, sum)) if *s == start => *sum += n,
                    _ => self.buckets.insert(i, (start, n)),
                }
            }
        }
    }

    /// Drops buckets that ended more than the span before `now`: call it with the end
    /// of the oldest window still to be summed.
    pub fn expire(&mut self, now: Timestamp) {
        while let Some((s, _)) = self.buckets.front() {
            if *s + self.bucket_ms <= now - self.span_ms {
                self.buckets.pop_front();
            } else {
                break;
            }
        }
    }

    /// Removes the buckets that ended by `until` and returns their sum.
    pub fn take_before(&mut self, until: Timestamp) -> i64 {
        let mut sum = 0;
        while let Some((s, n)) = self.buckets.front() {
            if *s + self.bucket_ms > until {
                break;
            }
            sum += n;
            self.buckets.pop_front();
        }
        sum
    }

    /// The start of the oldest bucket starting at or after `from`.
    pub fn first_from(&self, from: Timestamp) -> Option<Timestamp> {
        self.buckets.iter().map(|(s, _)| *s).find(|s| *s >= from)
    }

    /// Sum of the buckets that start in `[from, to)`.
    pub fn sum(&self, from: Timestamp, to: Timestamp) -> i64 {
        self.buckets
            .iter()
            .rev()
            .skip_while(|(s, _)| *s >= to)
            .take_while(|(s, _)| *s >= from)
            .map(|(_, n)| n)
            .sum()
    }

    /// Sum over the `window_ms` ending at `end` (exclusive), bucket-aligned.
    pub fn window(&self, end: Timestamp, window_ms: i64) -> i64 {
        self.sum(end - window_ms, end)
    }
}

/// A running total read as of an event time: what was added at times before it,
/// whatever order the additions came in (records may be processed ahead of the times
/// read at, while a slow source holds the watermark back).
///
/// Amounts are kept per bucket until [`Total::settle`] folds the buckets that ended
/// by a time into one sum; reads are at bucket-aligned times no older than that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Total {
    settled: i64,
    recent: Buckets,
}

impl Total {
    /// A total kept in buckets of `bucket_ms` until settled.
    pub fn new(bucket_ms: i64) -> Self {
        Self {
            settled: 0,
            recent: Buckets::new(bucket_ms, bucket_ms),
        }
    }

    /// Adds `n` at `time`.
    pub fn add(&mut self, time: Timestamp, n: i64) {
        self.recent.add(time, n);
    }

    /// The sum of what was added at times before `end` (a bucket boundary).
    pub fn before(&self, end: Timestamp) -> i64 {
        self.settled + self.recent.sum(Timestamp::MIN, end)
    }

    /// Folds the buckets that ended by `until` into the settled sum.
    pub fn settle(&mut self, until: Timestamp) {
        self.settled += self.recent.take_before(until);
    }
}

/// The value of the latest record before an event time (by record time; of two at
/// the same time, the one added last), whatever order the records came in.
///
/// One (time, value) is kept per bucket until [`Latest::settle`] keeps only the
/// latest of those that ended by a time; reads are at bucket-aligned times no older
/// than that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest<T> {
    bucket_ms: i64,
    settled: Option<(Timestamp, T)>,
    /// (bucket start, time, value), oldest bucket first.
    recent: VecDeque<(Timestamp, Timestamp, T)>,
}

impl<T> Latest<T> {
    /// Latest values kept per bucket of `bucket_ms` until settled.
    pub fn new(bucket_ms: i64) -> Self {
        Self {
            bucket_ms: bucket_ms.max(1),
            settled: None,
            recent: VecDeque::new(),
        }
    }

    /// Notes `value` at `time`.
    pub fn set(&mut self, time: Timestamp, value: T) {
        let start = tumbling_start(time, self.bucket_ms);
        let i = self.recent.partition_point(|(s, _, _)| *s < start);
        match self.recent.get_mut(i) {
            Some((s, t, v)) if *s == start => {
                if time >= *t {
                    (*t, *v) = (time, value);
                }
            }
            _ => self.recent.insert(i, (start, time, value)),
        }
    }

    /// The latest (time, value) before `end` (a bucket boundary).
    pub fn before(&self, end: Timestamp) -> Option<(Timestamp, &T)> {
        self.recent
            .iter()
            .rev()
            .find(|(s, _, _)| *s < end)
            .map(|(_, t, v)| (*t, v))
            .or(self.settled.as_ref().map(|(t, v)| (*t, v)))
    }

    /// Forgets what was noted before `until` (a bucket boundary), settled or not.
    pub fn forget_before(&mut self, until: Timestamp) {
        self.settle(until);
        self.settled = None;
    }

    /// Keeps only the latest of the buckets that ended by `until`.
    pub fn settle(&mut self, until: Timestamp) {
        while let Some((s, _, _)) = self.recent.front() {
            if *s + self.bucket_ms > until {
                break;
            }
            if let Some((_, t, v)) = self.recent.pop_front()
                && self.settled.as_ref().is_none_or(|(st, _)| t >= *st)
            {
                self.settled = Some((t, v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tumbling_and_sliding_assignment() {
        assert_eq!(tumbling_start(61_000, 60_000), 60_000);
        assert_eq!(tumbling_start(-1, 60_000), -60_000);
        let s: Vec<_> = sliding_starts(65_000, 60_000, 20_000).collect();
        assert_eq!(s, vec![20_000, 40_000, 60_000]);
        let s: Vec<_> = sliding_starts(60_000, 60_000, 60_000).collect();
        assert_eq!(s, vec![60_000]);
        for t in [0, 1, 19_999, 20_000, 123_456] {
            for start in sliding_starts(t, 60_000, 20_000) {
                assert!(start <= t && t < start + 60_000);
            }
            assert_eq!(sliding_starts(t, 60_000, 20_000).count(), 3);
        }
    }

    #[test]
    fn sessions_extend_within_the_gap_only() {
        let mut s = Session::new(1_000);
        assert!(s.extend(5_000, 10_000));
        assert!(s.extend(500, 10_000));
        assert!(!s.extend(15_001, 10_000));
        assert_eq!((s.start, s.last, s.end(10_000)), (500, 5_000, 15_000));
    }

    #[test]
    fn buckets_sum_windows_and_take_out_of_order_adds() {
        let mut b = Buckets::new(60_000, 3_600_000);
        b.add(0, 1);
        b.add(60_000, 2);
        b.add(30_000, 4);
        b.add(180_000, 8);
        assert_eq!(b.window(240_000, 240_000), 15);
        assert_eq!(b.window(240_000, 60_000), 8);
        assert_eq!(b.window(120_000, 120_000), 7);
        b.add(10_000_000, 1);
        assert_eq!(
            b.window(240_000, 240_000),
            15,
            "adds far ahead expire nothing"
        );
        b.expire(3_660_000);
        assert_eq!(
            b.window(240_000, 240_000),
            10,
            "the bucket that ended an hour before expired"
        );
        b.expire(10_020_000);
        assert_eq!(b.window(10_020_000, 100_000_000), 1, "old buckets expired");
    }
}

#[cfg(test)]
mod as_of_tests {
    use super::*;

    #[test]
    fn a_total_counts_what_came_before_whatever_the_order() {
        let mut t = Total::new(60_000);
        t.add(200_000, 5);
        t.add(10_000, 1);
        t.add(70_000, -2);
        assert_eq!(t.before(60_000), 1);
        assert_eq!(t.before(120_000), -1);
        assert_eq!(t.before(240_000), 4);
        t.settle(120_000);
        assert_eq!((t.before(120_000), t.before(240_000)), (-1, 4));
    }

    #[test]
    fn latest_is_by_record_time_not_arrival() {
        let mut l = Latest::new(60_000);
        assert_eq!(l.before(i64::MAX), None);
        l.set(130_000, 3);
        l.set(10_000, 1);
        l.set(70_000, 2);
        l.set(65_000, 9);
        assert_eq!(l.before(60_000), Some((10_000, &1)));
        assert_eq!(l.before(120_000), Some((70_000, &2)), "older in its minute");
        assert_eq!(l.before(180_000), Some((130_000, &3)));
        l.settle(120_000);
        assert_eq!(l.before(120_000), Some((70_000, &2)));
        assert_eq!(l.before(180_000), Some((130_000, &3)));
    }
}
