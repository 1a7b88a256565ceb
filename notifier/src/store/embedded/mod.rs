//! The embedded store (the default, no server): a snapshot file plus an append-only
//! log in one directory, and in memory one byte arena of compact records, an
//! id → slot table, the bitmap [`TagIndex`] and the [`ZoneIndex`].
//!
//! Durability: every change is framed (length + CRC) and written to the log before it
//! is applied, so it survives a process crash; `fsync` per change is optional
//! ([`EmbeddedOptions::fsync_each`]), [`EmbeddedStore::sync`] forces one. Opening loads
//! the snapshot, replays the log and cuts a torn tail.
//!
//! Privacy: [`EmbeddedStore::erase`] removes the installation from memory at once (its
//! bytes are zeroed) and logs an erase; [`EmbeddedStore::compact`] rewrites the
//! snapshot without it and empties the log, after which no file holds a trace of it.
//! Schedule compaction (e.g. hourly, and on shutdown) to bound how long that takes.

mod log;
mod ops;
mod query;
mod records;
mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::index::TagIndex;
use crate::zones::ZoneIndex;
use log::Log;
use records::Arena;

/// File name of the snapshot inside the store directory.
pub const SNAPSHOT_FILE: &str = "installations.snap";
/// File name of the log inside the store directory.
pub const LOG_FILE: &str = "installations.log";

/// How the embedded store writes.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedOptions {
    /// `fsync` the log after every change (slower; survives power loss, not just a crash).
    pub fsync_each: bool,
}

/// Installations in a local directory, indexed in memory.
pub struct EmbeddedStore {
    dir: PathBuf,
    inner: RwLock<Inner>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("dir", &self.dir)
            .finish()
    }
}

struct Inner {
    arena: Arena,
    index: TagIndex,
    zones: ZoneIndex,
    log: Log,
    frames: Vec<u8>,
    record: Vec<u8>,
}

/// What opening found, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Installations loaded from the snapshot.
    pub from_snapshot: u64,
    /// Log entries replayed.
    pub replayed: u64,
    /// Bytes cut from a torn log tail.
    pub cut_bytes: u64,
}

impl EmbeddedStore {
    /// Opens (creating) the store in `dir`.
    pub fn open(dir: &Path, options: EmbeddedOptions) -> Result<Self, crate::store::StoreError> {
        Self::open_with_report(dir, options).map(|(s, _)| s)
    }

    /// Opens the store and says what it loaded.
    pub fn open_with_report(
        dir: &Path,
        options: EmbeddedOptions,
    ) -> Result<(Self, OpenReport), crate::store::StoreError> {
        std::fs::create_dir_all(dir)?;
        let mut inner = Inner {
            arena: Arena::new(),
            index: TagIndex::new(),
            zones: ZoneIndex::new(),
            log: Log::open(&dir.join(LOG_FILE), options.fsync_each)?,
            frames: Vec::new(),
            record: Vec::new(),
        };
        let mut report = OpenReport::default();
        if let Some(snap) = snapshot::read(&dir.join(SNAPSHOT_FILE))? {
            report.from_snapshot = snap.count;
            inner.load_snapshot(snap, &dir.join(SNAPSHOT_FILE))?;
        }
        let (replayed, cut) = log::replay(&dir.join(LOG_FILE), |e| inner.apply_entry(e))?;
        report.replayed = replayed;
        report.cut_bytes = cut;
        tracing::info!(
            message = "Opened the installations store.",
            installations = inner.arena.len(),
            replayed,
            cut_bytes = cut
        );
        Ok((
            Self {
                dir: dir.to_path_buf(),
                inner: RwLock::new(inner),
            },
            report,
        ))
    }

    /// The directory holding the store's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// How many installations are stored (expired ones included).
    pub fn len(&self) -> usize {
        self.read().arena.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes in the log since the last compaction: compact when this grows past a
    /// budget (e.g. 256 MiB) as well as on a schedule.
    pub fn log_bytes(&self) -> u64 {
        self.read().log.len()
    }

    /// Forces the log to disk.
    pub fn sync(&self) -> Result<(), crate::store::StoreError> {
        self.write().log.sync()
    }
}
