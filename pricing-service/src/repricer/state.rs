//! What the repricer knows between records, and its checkpoint.
//!
//! Per category: the latest sell-out features and the recent surge and slump signals
//! (at most [`SIGNALS_KEPT`], oldest first). Signals read but not yet due wait in
//! `pending` until a sell-out feature of their category at or after their time arrives
//! (see the parent module for why). With the read positions of `features` and
//! `signals` this is the whole state: [`State::save`] writes it atomically (a temporary
//! file, `fsync`, rename) and [`State::load`] reads it back, so a restarted repricer
//! goes on exactly where the last checkpoint left it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use sellout_ingest::records::{Id, Timestamp};
use sellout_pipelines::SignalKind;
use sellout_pipelines::output::SellOutFeatures;
use sellout_streams::Offset;
use serde::{Deserialize, Serialize};

/// Surge and slump signals remembered per category.
pub const SIGNALS_KEPT: usize = 32;
/// Signals waiting per category; beyond it the oldest is dropped (it would have been
/// pushed out of the memory's [`SIGNALS_KEPT`] by the newer ones anyway).
const PENDING_KEPT: usize = 256;
/// Version of the checkpoint's layout.
const VERSION: u32 = 1;

/// One category's memory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// The latest sell-out features.
    pub features: Option<SellOutFeatures>,
    /// Recent surges and slumps (kind, event time), oldest first.
    pub signals: VecDeque<(SignalKind, Timestamp)>,
}

impl Memory {
    /// Remembers a signal in time order, keeping the newest [`SIGNALS_KEPT`].
    pub fn remember(&mut self, kind: SignalKind, time: Timestamp) {
        let at = self.signals.partition_point(|(_, t)| *t <= time);
        self.signals.insert(at, (kind, time));
        while self.signals.len() > SIGNALS_KEPT {
            self.signals.pop_front();
        }
    }
}

/// A surge or slump waiting for its category's next sell-out feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// The signal's id (orders signals of the same time).
    pub id: u64,
    /// Surge or slump.
    pub kind: SignalKind,
    /// Its event time.
    pub time: Timestamp,
}

/// Everything the repricer carries from one record to the next.
#[derive(Debug, Default)]
pub struct State {
    /// Next offset of `features` to read.
    pub features_next: Offset,
    /// Next offset of `signals` to read.
    pub signals_next: Offset,
    /// Per (event, category).
    pub memory: FxHashMap<(Id, Id), Memory>,
    /// Signals not yet due, per (event, category), in arrival order.
    pub pending: FxHashMap<(Id, Id), Vec<Pending>>,
}

/// A checkpoint that could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file system refused.
    #[error("repricer checkpoint {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a checkpoint this build reads.
    #[error("repricer checkpoint {path} is damaged or from another version: {detail}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl CheckpointError {
    /// A checkpoint whose position is past the end of its topic: it belongs to other
    /// streams (a replaced log), and using it would skip records.
    pub fn ahead(path: &Path, topic: &str, position: Offset, end: Offset) -> Self {
        CheckpointError::Damaged {
            path: path.to_path_buf(),
            detail: format!(
                "it is at offset {position} of `{topic}`, which ends at {end}: it belongs to \
                 another log; remove it to reprice from the start"
            ),
        }
    }
}

/// The checkpoint file's layout (maps as sorted lists, so the file is deterministic).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    version: u32,
    features_next: Offset,
    signals_next: Offset,
    memory: Vec<(Id, Id, Memory)>,
    pending: Vec<(Id, Id, Vec<Pending>)>,
}

impl State {
    /// Holds a signal until its category's next sell-out feature at or after its time.
    pub fn hold(&mut self, event: &Id, category: &Id, pending: Pending) {
        let queue = self
            .pending
            .entry((event.clone(), category.clone()))
            .or_default();
        if queue.len() >= PENDING_KEPT {
            let oldest = (0..queue.len()).min_by_key(|&i| (queue[i].time, queue[i].id));
            if let Some(i) = oldest {
                queue.remove(i);
            }
        }
        queue.push(pending);
    }

    /// Moves the category's signals due by `time` into its memory, in (time, id)
    /// order, and returns the memory.
    pub fn release(&mut self, event: &Id, category: &Id, time: Timestamp) -> &mut Memory {
        let key = (event.clone(), category.clone());
        let mut due = Vec::new();
        if let Some(queue) = self.pending.get_mut(&key) {
            queue.retain(|p| {
                let is_due = p.time <= time;
                if is_due {
                    due.push(p.clone());
                }
                !is_due
            });
            if queue.is_empty() {
                self.pending.remove(&key);
            }
        }
        due.sort_by_key(|p| (p.time, p.id));
        let memory = self.memory.entry(key).or_default();
        for p in due {
            memory.remember(p.kind, p.time);
        }
        memory
    }

    /// Writes the state to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let mut memory: Vec<_> = self
            .memory
            .iter()
            .map(|((e, c), m)| (e.clone(), c.clone(), m.clone()))
            .collect();
        memory.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut pending: Vec<_> = self
            .pending
            .iter()
            .map(|((e, c), p)| (e.clone(), c.clone(), p.clone()))
            .collect();
        pending.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let saved = Saved {
            version: VERSION,
            features_next: self.features_next,
            signals_next: self.signals_next,
            memory,
            pending,
        };
        let bytes = serde_json::to_vec(&saved).map_err(|e| CheckpointError::Damaged {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        sellout_streams::files::write_atomically(path, &bytes).map_err(|source| {
            CheckpointError::Io {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// Reads the state at `path`; `None` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<State>, CheckpointError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CheckpointError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let damaged = |detail: String| CheckpointError::Damaged {
            path: path.to_path_buf(),
            detail,
        };
        let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
        if saved.version != VERSION {
            return Err(damaged(format!(
                "version {} (this build reads {VERSION})",
                saved.version
            )));
        }
        Ok(Some(State {
            features_next: saved.features_next,
            signals_next: saved.signals_next,
            memory: saved
                .memory
                .into_iter()
                .map(|(e, c, m)| ((e, c), m))
                .collect(),
            pending: saved
                .pending
                .into_iter()
                .map(|(e, c, p)| ((e, c), p))
                .collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: u64, kind: SignalKind, time: Timestamp) -> Pending {
        Pending { id, kind, time }
    }

    #[test]
    fn signals_join_the_memory_only_when_due_and_in_time_order() {
        let mut s = State::default();
        let (e, c) = (Id::from("e1"), Id::from("c1"));
        s.hold(&e, &c, p(3, SignalKind::Slump, 300));
        s.hold(&e, &c, p(1, SignalKind::Surge, 100));
        s.hold(&e, &c, p(2, SignalKind::Surge, 200));
        let m = s.release(&e, &c, 250);
        let got: Vec<_> = m.signals.iter().copied().collect();
        assert_eq!(got, [(SignalKind::Surge, 100), (SignalKind::Surge, 200)]);
        assert_eq!(s.pending[&(e.clone(), c.clone())].len(), 1, "300 waits");
        let m = s.release(&e, &c, 300);
        assert_eq!(m.signals.back(), Some(&(SignalKind::Slump, 300)));
        assert!(s.pending.is_empty());
    }

    #[test]
    fn the_memory_keeps_the_newest_signals() {
        let mut m = Memory::default();
        for t in (0..SIGNALS_KEPT as i64 + 5).rev() {
            m.remember(SignalKind::Surge, t);
        }
        assert_eq!(m.signals.len(), SIGNALS_KEPT);
        assert_eq!(m.signals.front().map(|s| s.1), Some(5));
        assert_eq!(m.signals.back().map(|s| s.1), Some(SIGNALS_KEPT as i64 + 4));
    }

    #[test]
    fn a_checkpoint_round_trips_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("repricer").join("checkpoint.json");
        assert!(State::load(&path).expect("load").is_none());
        let mut s = State {
            features_next: 7,
            signals_next: 3,
            ..State::default()
        };
        let (e, c) = (Id::from("e1"), Id::from("c1"));
        s.hold(&e, &c, p(9, SignalKind::Slump, 900));
        s.release(&e, &c, 0).remember(SignalKind::Surge, 50);
        s.save(&path).expect("save");
        let back = State::load(&path).expect("load").expect("some");
        assert_eq!((back.features_next, back.signals_next), (7, 3));
        assert_eq!(back.memory, s.memory);
        assert_eq!(back.pending, s.pending);

        std::fs::write(&path, b"{\"version\":1").expect("write");
        let err = State::load(&path).expect_err("damaged");
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
