//! Consumer checkpoints, kept in a Fluvio topic of their own, with bounded growth.
//!
//! Why a topic and not Fluvio's named consumer offsets: those are committed through an
//! open consumer stream (commit, then flush) and read back only by starting a stream,
//! which couples checkpointing to one particular reader; and why not a local file:
//! workers on different machines must see each other's positions when partitions move.
//! A topic (`checkpoint_topic`, one partition, created when missing) is shared by every
//! worker, durable like the data, and read with the same contiguity checks.
//!
//! Each commit appends one record: key `topic/partition/consumer`, value the offset
//! (8 bytes, little endian). The latest record of a key wins. A process reads the
//! topic once and then only what was appended since, so lookups stay cheap.
//!
//! **Bounded growth.** Fluvio has no key compaction, so the topic is created with a
//! retention ([`CheckpointSettings`]: rolled segments are dropped after `retention_s`
//! and once the topic outgrows `max_bytes`, oldest first), and two rules keep every
//! live position out of the segments retention drops:
//! - a commit that does not move a position whose record is recent appends nothing;
//! - a process re-appends its own positions (the keys it committed or read) whose
//!   record lies `refresh_after_records` or more behind the topic's head, with its
//!   next commit. So while it commits, each of its positions has a record among the
//!   newest `refresh_after_records` records (plus one commit's worth), well inside the
//!   newest segment or two, which retention never drops first.
//!
//! A process re-appends only its own keys: re-appending another worker's position, read
//! earlier, could put back an older value over a newer one written in between. A
//! process starts reading where retention left the topic, not at offset 0.
//!
//! The decisions are in [`Positions`], which knows nothing of the cluster (unit-tested
//! here); [`Checkpoints`] adds the reads and appends.

use std::collections::{HashMap, HashSet};

use sellout_streams::{Batch, Offset};

use crate::config::CheckpointSettings;
use crate::error::FluvioError;
use crate::session::Conn;
use crate::{reader, writer};

/// Read size when catching up on the checkpoint topic.
const CATCH_UP_BYTES: usize = 4 << 20;

/// The key of one consumer's position on one partition.
pub(crate) fn key(topic: &str, partition: u32, consumer: &str) -> String {
    format!("{topic}/{partition}/{consumer}")
}

/// One position as last seen on the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    /// The consumer's position.
    offset: Offset,
    /// Where its record is on the checkpoint topic.
    at: Offset,
}

/// The positions seen on the checkpoint topic, which of them this process owns, and
/// what a commit must append (no cluster here).
#[derive(Debug, Default)]
pub(crate) struct Positions {
    latest: HashMap<String, Seen>,
    own: HashSet<String>,
    /// One past the newest record seen (read back or appended here).
    head: Offset,
    refresh_after: u64,
}

impl Positions {
    /// No position yet; own positions are re-appended `refresh_after` records behind.
    pub(crate) fn new(refresh_after: u64) -> Self {
        Self {
            refresh_after: refresh_after.max(1),
            ..Self::default()
        }
    }

    /// A record read back (or appended here) at `at`: `key` is at `offset`.
    pub(crate) fn seen(&mut self, key: &str, offset: Offset, at: Offset) {
        let seen = Seen { offset, at };
        match self.latest.get_mut(key) {
            Some(s) if s.at <= at => *s = seen,
            Some(_) => {}
            None => {
                self.latest.insert(key.to_owned(), seen);
            }
        }
        self.head = self.head.max(at + 1);
    }

    /// The position of `key`; a reader of its own position owns it from then on.
    pub(crate) fn get(&mut self, key: &str) -> Option<Offset> {
        self.own.insert(key.to_owned());
        self.latest.get(key).map(|s| s.offset)
    }

    /// What committing `offset` under `key` appends, in order: the commit itself unless
    /// the position did not move and its record is recent, then every other own
    /// position whose record is stale. Empty when nothing needs writing.
    pub(crate) fn plan(&mut self, key: &str, offset: Offset) -> Vec<(String, Offset)> {
        self.own.insert(key.to_owned());
        let mut out = Vec::new();
        if self
            .latest
            .get(key)
            .is_none_or(|s| s.offset != offset || self.stale(s))
        {
            out.push((key.to_owned(), offset));
        }
        let mut refresh: Vec<(String, Offset)> = self
            .own
            .iter()
            .filter(|k| k.as_str() != key)
            .filter_map(|k| {
                let s = self.latest.get(k)?;
                self.stale(s).then(|| (k.clone(), s.offset))
            })
            .collect();
        refresh.sort();
        out.extend(refresh);
        out
    }

    fn stale(&self, s: &Seen) -> bool {
        self.head.saturating_sub(s.at) >= self.refresh_after
    }
}

/// The checkpoints seen so far and where reading the topic stopped.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    next: Option<Offset>,
    positions: Positions,
}

impl Checkpoints {
    /// Nothing read yet; positions refreshed as `settings` say.
    pub(crate) fn new(settings: &CheckpointSettings) -> Self {
        Self {
            next: None,
            positions: Positions::new(settings.refresh_after_records),
        }
    }

    /// Reads what was committed since the last catch-up (the first one starts where
    /// retention left the topic).
    async fn catch_up(&mut self, conn: &Conn) -> Result<(), FluvioError> {
        let topic = conn.config().checkpoint_topic.clone();
        conn.ensure_checkpoint_topic(&topic).await?;
        let mut next = match self.next {
            Some(next) => next,
            None => reader::offsets(conn, &topic, 0).await?.start,
        };
        loop {
            let fetched = reader::read(conn, &topic, 0, next, CATCH_UP_BYTES).await?;
            if fetched.is_empty() {
                self.next = Some(next);
                return Ok(());
            }
            for r in fetched.records() {
                let Ok(bytes) = <[u8; 8]>::try_from(r.value) else {
                    tracing::warn!(
                        message = "Checkpoint record of the wrong size ignored.",
                        offset = r.offset
                    );
                    continue;
                };
                let key = String::from_utf8_lossy(r.key);
                self.positions
                    .seen(&key, u64::from_le_bytes(bytes), r.offset);
            }
            next = fetched.next_offset();
        }
    }

    /// The latest committed position under `key`.
    pub(crate) async fn get(
        &mut self,
        conn: &Conn,
        key: &str,
    ) -> Result<Option<Offset>, FluvioError> {
        self.catch_up(conn).await?;
        Ok(self.positions.get(key))
    }

    /// Commits `offset` under `key` (with any stale own position), confirmed by the
    /// cluster before returning; appends nothing when nothing moved.
    pub(crate) async fn put(
        &mut self,
        conn: &Conn,
        key: String,
        offset: Offset,
    ) -> Result<(), FluvioError> {
        self.catch_up(conn).await?;
        let plan = self.positions.plan(&key, offset);
        if plan.is_empty() {
            return Ok(());
        }
        let topic = conn.config().checkpoint_topic.clone();
        let mut batch = Batch::new();
        for (k, o) in &plan {
            batch.push(k.as_bytes(), 0, &o.to_le_bytes());
        }
        let landed = writer::append(conn, &topic, writer::Target::Partition(0), &batch).await?;
        for ((k, o), l) in plan.iter().zip(&landed) {
            self.positions.seen(k, *o, l.offset);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint topic in memory: every record appended, and where retention cut it.
    struct Topic {
        records: Vec<(String, Offset)>,
    }

    impl Topic {
        fn commit(&mut self, p: &mut Positions, key: &str, offset: Offset) -> usize {
            let plan = p.plan(key, offset);
            for (k, o) in &plan {
                p.seen(k, *o, self.records.len() as u64);
                self.records.push((k.clone(), *o));
            }
            plan.len()
        }

        /// What a fresh reader finds after retention dropped all but the newest `keep`.
        fn after_retention(&self, keep: usize) -> HashMap<String, Offset> {
            let from = self.records.len().saturating_sub(keep);
            let mut latest = HashMap::new();
            for (k, o) in &self.records[from..] {
                latest.insert(k.clone(), *o);
            }
            latest
        }
    }

    #[test]
    fn commits_that_did_not_move_append_nothing() {
        let mut t = Topic {
            records: Vec::new(),
        };
        let mut p = Positions::new(100);
        assert_eq!(t.commit(&mut p, "sales/0/pipelines", 10), 1);
        assert_eq!(t.commit(&mut p, "sales/0/pipelines", 10), 0);
        assert_eq!(t.commit(&mut p, "sales/0/pipelines", 11), 1);
        assert_eq!(t.records.len(), 2);
        assert_eq!(p.get("sales/0/pipelines"), Some(11));
    }

    #[test]
    fn an_idle_position_survives_retention_while_its_owner_commits_elsewhere() {
        let refresh = 50;
        let mut t = Topic {
            records: Vec::new(),
        };
        let mut p = Positions::new(refresh);
        // The `social` position never moves again; `sales` moves on every commit.
        t.commit(&mut p, "social/0/pipelines", 7);
        for i in 0..10_000 {
            t.commit(&mut p, "sales/0/pipelines", i);
        }
        // Every position is among the newest `refresh + 1` records (one commit's worth
        // past the refresh distance), so retention keeping that many loses none.
        let kept = t.after_retention(refresh as usize + 1);
        assert_eq!(kept.get("social/0/pipelines"), Some(&7));
        assert_eq!(kept.get("sales/0/pipelines"), Some(&9_999));
        // And the refreshes cost one record per `refresh` commits, not one per commit.
        let social = t
            .records
            .iter()
            .filter(|(k, _)| k.starts_with("social"))
            .count();
        assert!(
            (10_000 / refresh as usize..=10_000 / refresh as usize + 2).contains(&social),
            "{social} refreshes"
        );
    }

    #[test]
    fn positions_of_other_processes_are_not_re_appended() {
        let mut t = Topic {
            records: Vec::new(),
        };
        let mut mine = Positions::new(10);
        // Another worker's position, read back from the topic but never asked for here.
        mine.seen("sales/1/pipelines", 5, 0);
        t.records.push(("sales/1/pipelines".to_owned(), 5));
        for i in 0..100 {
            t.commit(&mut mine, "sales/0/pipelines", i);
        }
        assert_eq!(
            t.records
                .iter()
                .filter(|(k, _)| k == "sales/1/pipelines")
                .count(),
            1
        );
        // Once this process reads it (the partition moved here), it owns it.
        assert_eq!(mine.get("sales/1/pipelines"), Some(5));
        t.commit(&mut mine, "sales/0/pipelines", 100);
        assert_eq!(t.after_retention(2).get("sales/1/pipelines"), Some(&5));
    }

    #[test]
    fn an_older_record_read_late_does_not_replace_a_newer_one() {
        let mut p = Positions::new(10);
        p.seen("k", 9, 5);
        p.seen("k", 3, 2);
        assert_eq!(p.get("k"), Some(9));
    }
}
