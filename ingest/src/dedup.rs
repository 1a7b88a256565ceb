//! Re-sent records: the [`Resends`] window that makes a retried input append nothing
//! twice.
//!
//! HTTP ingest is at-least-once from the sender's side: a sender whose request died
//! with the server (a crash, a `kill -9`, a reset connection) cannot know whether its
//! records were appended, so it sends them again. The window remembers a
//! fingerprint of the last [`Limits::dedup_window`](crate::validate::Limits) records
//! appended to each input topic; a record identical in key, event time and value to one
//! of them is the same record sent again, and is counted as a duplicate instead of
//! being appended. On start the window is refilled from the tail of each topic, so
//! records appended just before a crash are recognised after it; on partitioned
//! topics (Fluvio) from the tail of each partition ([`Resends::refill_parts`]).
//!
//! Fingerprints are 64-bit SipHash values under keys drawn per process (an outsider
//! cannot craft a record that collides with someone else's). A record is claimed
//! before its batch is appended and released again if the append fails, so a retry
//! after a refused append is accepted.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Mutex;

use rustc_hash::FxHashSet;
use sellout_streams::{StreamError, Transport};

use crate::records::Topic;

/// Bytes fetched per read while refilling a window.
const REFILL_FETCH_BYTES: usize = 4 << 20;

/// The fingerprints of one topic's most recent records.
#[derive(Debug, Default)]
struct Window {
    seen: FxHashSet<u64>,
    order: VecDeque<u64>,
}

impl Window {
    fn insert(&mut self, fingerprint: u64, capacity: usize) -> bool {
        if !self.seen.insert(fingerprint) {
            return false;
        }
        self.order.push_back(fingerprint);
        while self.order.len() > capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }

    fn remove(&mut self, fingerprint: u64) {
        if self.seen.remove(&fingerprint)
            && let Some(i) = self.order.iter().rposition(|f| *f == fingerprint)
        {
            self.order.remove(i);
        }
    }
}

/// Per input topic, the fingerprints of the last `capacity` records appended.
#[derive(Debug)]
pub struct Resends {
    capacity: usize,
    hasher: RandomState,
    windows: [Mutex<Window>; 4],
}

impl Resends {
    /// An empty window of `capacity` records per topic (0 turns it off).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            hasher: RandomState::new(),
            windows: Default::default(),
        }
    }

    /// A window filled with the last `capacity` records of each input topic.
    pub fn refill(capacity: usize, transport: &dyn Transport) -> Result<Self, StreamError> {
        Self::refill_parts(capacity, &[transport])
    }

    /// A window filled from the tails of the partitions of partitioned topics: `parts`
    /// holds one transport per partition (each reading its partition of every topic).
    /// A re-sent record is routed by its key to the partition of its original, so the
    /// tail of each partition is where its original is: each part gives its last
    /// `capacity / parts.len()` records (rounded up), and the window of a topic holds
    /// `capacity` fingerprints in all, as with one partition.
    pub fn refill_parts(capacity: usize, parts: &[&dyn Transport]) -> Result<Self, StreamError> {
        let resends = Self::new(capacity);
        if capacity == 0 || parts.is_empty() {
            return Ok(resends);
        }
        let share = capacity.div_ceil(parts.len());
        for topic in Topic::ALL {
            let mut window = resends.lock(topic);
            for part in parts {
                resends.refill_from(&mut window, *part, topic, share)?;
            }
        }
        Ok(resends)
    }

    /// Adds the fingerprints of the last `share` records of `topic` on `transport`.
    fn refill_from(
        &self,
        window: &mut Window,
        transport: &dyn Transport,
        topic: Topic,
        share: usize,
    ) -> Result<(), StreamError> {
        let offsets = transport.offsets(topic.as_str())?;
        let mut from = offsets.end.saturating_sub(share as u64).max(offsets.start);
        while from < offsets.end {
            let fetched = transport.read(topic.as_str(), from, REFILL_FETCH_BYTES)?;
            if fetched.is_empty() {
                break;
            }
            for r in fetched.records() {
                window.insert(self.fingerprint(r.key, r.time, r.value), self.capacity);
            }
            from = fetched.next_offset();
        }
        Ok(())
    }

    /// True when the window is on.
    pub fn is_on(&self) -> bool {
        self.capacity > 0
    }

    /// The fingerprint of one record.
    pub fn fingerprint(&self, key: &[u8], time: i64, value: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(key);
        h.write_i64(time);
        h.write(value);
        h.finish()
    }

    /// Claims each of `fingerprints` for `topic`, in order, under one lock; returns
    /// the positions of those seen already (re-sends, also of an earlier one in the
    /// same slice). One lock per part rather than per record: its release is a fence
    /// that made every record wait for the window's cache misses (in a profile of
    /// `bench fluvio`, claiming took 46% of the ingest thread's CPU, most of it there).
    pub fn claim_all(&self, topic: Topic, fingerprints: &[u64]) -> Vec<usize> {
        if !self.is_on() {
            return Vec::new();
        }
        let mut window = self.lock(topic);
        fingerprints
            .iter()
            .enumerate()
            .filter(|&(_, f)| !window.insert(*f, self.capacity))
            .map(|(i, _)| i)
            .collect()
    }

    /// Releases the claims of a batch whose append failed.
    pub fn release(&self, topic: Topic, fingerprints: &[u64]) {
        if !self.is_on() {
            return;
        }
        let mut window = self.lock(topic);
        for f in fingerprints {
            window.remove(*f);
        }
    }

    fn lock(&self, topic: Topic) -> std::sync::MutexGuard<'_, Window> {
        let slot = Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0);
        // A poisoned window only means another thread panicked mid-insert; the set is
        // still a set.
        self.windows[slot]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
