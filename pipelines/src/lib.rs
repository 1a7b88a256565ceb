//! # sellout-pipelines
//!
//! Owns the **event-time runtime** and the **streaming jobs**: records from the
//! `sales`, `beacons`, `social` and `queues` topics in; [`Signal`]s on `signals` and
//! [`Feature`]s on `features` out, with deterministic ids so a replay after a crash
//! changes nothing visible.
//!
//! It must not price, notify or draw: it detects and measures; the pricing service,
//! notifier and dashboards act on what it writes. It reads the wall clock nowhere:
//! event time comes from records, processing time from the clock it is given.
//!
//! # Layout
//! - [`output`]: signals, features, their ids and wire form.
//! - [`watermark`]: per-source watermarks, idle sources, the late-record test.
//! - [`timers`]: event-time timers.
//! - [`window`]: tumbling, sliding and session windows; rolling bucket counts;
//!   totals and latest values as of an event time; the tick clock.
//! - [`sentiment`]: the lexicon sentiment scorer (en, fr, de, es) for social posts.
//! - [`detector`]: the adaptive change detector (EWMA z-score, CUSUM) behind surges,
//!   slumps and buzz.
//! - [`job`]: the [`Job`](job::Job) trait and its emitter.
//! - [`jobs`]: the jobs themselves.
//! - [`engine`]: jobs driven by event time, without I/O.
//! - [`checkpoint`]: the checkpoint file.
//! - [`runner`]: the engine over a transport, with checkpoints and exactly-once outputs.
//! - [`config`]: the `[pipelines]` settings.

pub mod checkpoint;
pub mod config;
pub mod detector;
pub mod engine;
pub mod job;
pub mod jobs;
pub mod output;
pub mod runner;
pub mod sentiment;
pub mod timers;
pub mod watermark;
pub mod window;

pub use config::PipelinesConfig;
pub use engine::Engine;
pub use output::{Feature, Signal, SignalKind};
pub use runner::{RunReport, Runner};
