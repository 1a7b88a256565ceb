//! # sellout-analyst — the analyst surface
//!
//! Questions the dashboards didn't foresee. The [`archive`] compacts the streams into
//! Parquet files partitioned by table and day (the history `sellout sql`, the
//! notebooks and model training read); [`sql`] answers read-only SQL over the archive
//! and the live tail of the streams as one set of tables ([`tables`]); [`format`]
//! renders results as a text table, CSV or JSON; [`deliveries`] is the notifier's
//! outcomes table, read by field name; [`erase`] applies privacy erasures of
//! installations to the archive's files and to SQL.
//!
//! # Layout
//! - [`archive`]: compaction of the streams into hive-partitioned Parquet files.
//! - [`erase`]: erasures applied to new files, existing files and SQL views.
//! - [`sql`]: the read-only SQL session over archive and tail.
//! - [`sql_bounds`]: output bounds of functions that could build huge values.
//! - [`tables`]: the tables, their schemas and record → batch conversion.
//! - [`deliveries`]: the notifier's outcomes table.
//! - [`format`]: text table, CSV and JSON rendering.

pub mod archive;
pub mod deliveries;
pub mod erase;
pub mod format;
pub mod sql;
pub mod sql_bounds;
pub mod tables;

pub use archive::{Archive, ArchiveConfig, ArchiveError, CompactReport};
pub use erase::EraseReport;
pub use format::{Format, render};
pub use sql::{QueryResult, SqlError, SqlLimits, SqlSession};
pub use tables::Table;
