//! # sellout-streams
//!
//! Owns the **streams transport**: the small [`Transport`] trait every topic reader and
//! writer in sellout goes through, the [`Batch`] wire format records travel in, the
//! [`Clock`] that time-dependent code is handed, and the durable **embedded log**
//! ([`log::EmbeddedLog`]) that is the default transport (no server needed).
//!
//! It knows nothing about sales, beacons or prices: a record here is a key, an event time
//! and opaque value bytes. Typed records live in `sellout-ingest`, which encodes them
//! into batches. A Fluvio transport implements the same trait later.
//!
//! ARCHITECTURE.md first placed the transport inside `sellout-ingest`. It lives in its
//! own crate because it needs none of ingest's heavy dependencies (Arrow, Parquet,
//! axum): the log can be built, fuzzed and benchmarked alone, and later readers of the
//! streams (pipelines, notifier) depend on it directly.
//!
//! It must not read the wall clock for any decision that depends on event time
//! (retention by age takes a [`Clock`]); the only processing-time reads are the fsync
//! interval timer, which is about durability, not logic.
//!
//! # Layout
//! - [`appending`]: appends whose records are handed over in parts
//!   ([`Transport::begin_append`]).
//! - [`batch`]: the batch builder and the byte layout of records inside a batch.
//! - [`clock`]: the clock trait, a system clock, and a manual clock for tests.
//! - [`files`]: small files replaced whole and durably ([`files::write_atomically`]).
//! - [`log`]: the segmented, checksummed, append-only embedded log.
//! - [`refusing`]: a transport refusing chosen appends of another (fault tests, drills).
//! - [`transport`]: the trait, offsets, read results and errors.

pub mod appending;
pub mod batch;
pub mod clock;
pub mod files;
pub mod log;
pub mod refusing;
pub mod transport;

pub use appending::{Appending, Collected};
pub use batch::{Batch, RecordView};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use transport::{AppendAck, Fetched, Offset, StreamError, TopicOffsets, Transport};
