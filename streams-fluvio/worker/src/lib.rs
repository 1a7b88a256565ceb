//! # sellout-fluvio
//!
//! Owns sellout's **Fluvio workers**: the pipelines (`sellout-pipelines`' [`Runner`]) over
//! a set of partitions of Fluvio topics, one runner per partition, each with its own
//! checkpoint file; several worker processes, on one machine or many, share a topic's
//! partitions. The **ingest node** (`serve --listen`): `sellout serve`'s HTTP ingest and
//! catalog routes appending to Fluvio, with or without pipelines in the same process.
//! The **live catalog** on Fluvio: `catalog.json` plus the one-partition `catalog`
//! topic, followed by every process. `bench fluvio`: raw Fluvio produce beside
//! sellout's ingest path, and pipeline throughput by partition count. And `demo`:
//! `sellout demo` on Fluvio.
//!
//! It is a binary of its own (`sellout-fluvio`, in the `streams-fluvio/` workspace)
//! because the Fluvio client's features would rebuild DataFusion and polars for the main
//! binary; `sellout serve --transport fluvio` and `sellout bench fluvio` run it. It
//! depends on the streams, ingest, pipelines, pricing (API keys, rates and the demo's
//! repricers; it brings no DataFusion or polars) and simulator crates.
//!
//! Why one runner per partition gives the same outputs as one runner over one log:
//! every input record is keyed by its event (or venue) and routed by that key, so one
//! key's records are in one partition, in order; the jobs keep state per key and the
//! bounded runs release timers by event time, so a key's outputs do not depend on the
//! other keys it shares a runner with (`tests/equivalence.rs` checks it, record for
//! record). Outputs go to the same partition index of the output topics, where the
//! runner reads them back after a crash to skip what it already wrote.
//!
//! It reads the wall clock only through the [`sellout_streams::Clock`] it is handed (the
//! live runners' processing time, the demo's pace) and `Instant` only in [`bench`].
//!
//! # Layout
//! - [`auth`]: [`Keys`], API keys and rates of the node's routes (`sellout serve`'s rules).
//! - [`catalog`]: the live catalog: `catalog.json`, the `catalog` topic, the follower.
//! - [`config`]: [`WorkerConfig`] (the parts of `sellout.toml` a worker reads) and
//!   [`PartitionSet`] (`0,2`, `0-3`).
//! - [`namespace`]: [`Namespaced`], a transport whose topic names carry a prefix (tests
//!   and benchmarks share one cluster without seeing each other's records).
//! - [`worker`]: the runners of a partition set, live (`serve`) or bounded (`--drain`),
//!   with reconnects, checkpoints and a graceful stop.
//! - [`node`]: [`IngestNode`], the HTTP ingest and catalog routes over Fluvio.
//! - [`shutdown`]: the stop signal threads wait on.
//! - [`sole_writer`]: [`SoleWriter`], reads at the end of topics only this process
//!   writes answered without a round trip (the demo's pricing topics).
//! - [`bench`]: `sellout-fluvio bench`.
//! - [`demo`]: `sellout-fluvio demo` (`sellout demo --transport fluvio`): the simulated
//!   on-sale through ingest, partitioned topics, per-partition pipelines and repricers;
//!   its price loop is [`demo_market`], its topics on a
//!   cluster [`demo_cluster`], its last line [`demo_summary`].

pub mod auth;
pub mod bench;
pub mod catalog;
pub mod config;
pub mod demo;
pub mod demo_cluster;
pub mod demo_market;
pub mod demo_summary;
pub mod namespace;
pub mod node;
pub mod shutdown;
pub mod sole_writer;
pub mod worker;

pub use auth::Keys;
pub use config::{PartitionSet, WorkerConfig};
pub use namespace::Namespaced;
pub use node::IngestNode;
pub use sellout_pipelines::Runner;
pub use shutdown::Shutdown;
pub use sole_writer::SoleWriter;
pub use worker::{Worker, WorkerError};
