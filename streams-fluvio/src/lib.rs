//! # sellout-streams-fluvio
//!
//! Owns the **Fluvio transport**: the streams trait of `sellout-streams` over a Fluvio
//! cluster, for when one machine is not enough. Topics are created on first use with
//! the configured partitions and replication; records are keyed by `event_id` and
//! routed by a stable hash of it, so one event's records stay in one partition, in
//! order; pipeline workers each consume a set of partitions through
//! [`FluvioTransport::partition`] views.
//!
//! Guarantees it keeps (and why, where the client does not):
//! - **Confirmed delivery, stored once**: every produce is awaited (`.wait()`), with
//!   bounded retries; every record's Fluvio key carries a tag (producer id, sequence),
//!   so a re-send after a lost confirmation (a restarting SPU) first looks for what
//!   landed and never stores a record twice ([`writer`]; `codec` has the key layout).
//! - **Offset contiguity**: a fetched record whose offset is not the next expected one
//!   is a gap, re-fetched a bounded number of times, then a loud error naming topic,
//!   partition and missing range; never skipped ([`contiguity`]; NOTES.md has the
//!   client's silent-skip trap).
//! - **Reconnect**: a lost connection or restarted SPU costs a reconnect with backoff;
//!   reads resume from the offset asked for, appends re-send only unconfirmed records.
//! - **Checkpoints** in a topic of their own, shared by workers on any machine
//!   (`checkpoint` says why not Fluvio's named consumer offsets), bounded: created
//!   with a retention (`[fluvio.checkpoint]`, default 7 days, 1 MiB segments, 64 MiB
//!   at most), unmoved commits skipped, and each process's positions re-appended near
//!   the head so retention never drops a live one.
//!
//! The trait is synchronous and the client is async: the transport owns a private
//! tokio runtime and its methods wait on a channel, so they may be called from any
//! thread, a tokio worker included ([`bridge`]). It reads no clock for logic; `Instant`
//! appears only in [`bench`] and as network timeouts.
//!
//! Tests that need a cluster find it through `SELLOUT_FLUVIO` (the SC's public address,
//! e.g. `SELLOUT_FLUVIO=127.0.0.1:9003`) and print `skipped: no Fluvio cluster at
//! $SELLOUT_FLUVIO (unset)` and pass when it is unset.
//!
//! # Layout
//! - `appending`: appends whose parts are sent as they are pushed.
//! - [`bench`]: raw client vs transport produce throughput, read throughput by partitions.
//! - `bridge`: the private runtime and the sync → async call.
//! - `checkpoint`: consumer positions in the checkpoint topic, and its bound.
//! - `codec`: one sellout record as one Fluvio record; the tagged Fluvio key.
//! - [`config`]: [`FluvioConfig`] (`[fluvio]` in `sellout.toml`).
//! - [`contiguity`]: the gap check and bounded re-fetch, testable without a cluster.
//! - [`error`]: [`FluvioError`] and its mapping onto `StreamError`.
//! - `reader`: bounded reads and offsets of one partition.
//! - [`routing`]: key → partition.
//! - `session`: the connection, reconnects and the retry loop; producers; topic creation.
//! - [`transport`]: [`FluvioTransport`] and [`PartitionView`].
//! - [`writer`]: confirmed appends.

mod appending;
pub mod bench;
mod bridge;
mod checkpoint;
mod codec;
pub mod config;
pub mod contiguity;
pub mod error;
mod reader;
pub mod routing;
mod session;
pub mod transport;
pub mod writer;

pub use config::{CheckpointSettings, FluvioConfig};
pub use error::FluvioError;
pub use session::TransportStats;
pub use transport::{FluvioTransport, PartitionView};
pub use writer::Landed;

/// The environment variable naming a local cluster's SC address for tests and benches.
pub const CLUSTER_ENV: &str = "SELLOUT_FLUVIO";
