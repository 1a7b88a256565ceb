//! Where installations live: the [`InstallationStore`] trait and its two backends,
//! [`embedded`] (the default: a local log + snapshot with an in-memory bitmap index)
//! and [`postgres`] (shared by a fleet of notifier instances).

pub mod embedded;
pub mod postgres;

use async_trait::async_trait;

use crate::installation::{Installation, PatchOp, ValidationError};
use crate::tags::TagExpr;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The installation (or patched result) broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No installation has that id.
    #[error("installation not found")]
    NotFound,
    /// Reading or writing the store's files failed.
    #[error("store i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A store file does not hold what it should.
    #[error("corrupt store file {file}: {reason}")]
    Corrupt {
        /// Which file.
        file: String,
        /// What was wrong.
        reason: String,
    },
    /// More installations than `u32` slots.
    #[error("store is full")]
    Full,
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(String),
}

/// How many installations an audience holds, and a few of their ids.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Selection {
    /// Targetable installations matching.
    pub count: u64,
    /// Up to the requested number of matching installation ids.
    pub sample: Vec<String>,
}

/// One page of installations from [`InstallationStore::scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The installations, in the store's order.
    pub installations: Vec<Installation>,
    /// Pass back to get the next page; `None` at the end.
    pub next: Option<String>,
}

/// The operations every installation store offers.
#[async_trait]
pub trait InstallationStore: Send + Sync {
    /// Creates or replaces an installation (validated first).
    async fn upsert(&self, inst: Installation) -> Result<(), StoreError>;
    /// Applies a JSON Patch subset; [`StoreError::NotFound`] when absent.
    async fn patch(&self, id: &str, ops: &[PatchOp]) -> Result<Installation, StoreError>;
    /// One installation, push token included.
    async fn get(&self, id: &str) -> Result<Option<Installation>, StoreError>;
    /// Privacy erase: removes the installation and every index entry; `false` if absent.
    async fn erase(&self, id: &str) -> Result<bool, StoreError>;
    /// Counts targetable installations matching `expr` at `now_ms`, with a sample of ids.
    async fn select(
        &self,
        expr: Option<&TagExpr>,
        now_ms: i64,
        sample: usize,
    ) -> Result<Selection, StoreError>;
    /// Iterates targetable matching installations, `limit` at a time.
    async fn scan(
        &self,
        expr: Option<&TagExpr>,
        now_ms: i64,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError>;
}
