//! # sellout-analyst — the analyst surface
//!
//! Questions the dashboards didn't foresee. The [`archive`] compacts the streams into
//! Parquet files partitioned by table and day (the history `sellout sql`, the
//! notebooks and model training read); [`sql`] answers read-only SQL over the archive
//! and the live tail of the streams as one set of tables ([`tables`]); [`format`]
//! renders results as a text table, CSV or JSON; [`deliveries`] is the notifier's
//! outcomes table, read by field name.

pub mod archive;
pub mod deliveries;
pub mod format;
pub mod sql;
pub mod sql_bounds;
pub mod tables;

pub use archive::{Archive, ArchiveConfig, ArchiveError, CompactReport};
pub use format::{Format, render};
pub use sql::{QueryResult, SqlError, SqlLimits, SqlSession};
pub use tables::Table;
