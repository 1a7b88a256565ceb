//! # sellout-dashboards
//!
//! Owns what marketing looks at: the **InfluxDB sink** that writes pipeline outputs
//! (sales, cart, sell-out, price, signal, venue and notification figures) as time
//! series, the **catalogue** of those measurements, and the **Grafana provisioning**
//! files (`grafana/`) whose queries the catalogue checks, and the **live web board**
//! (sell-out board, event, venue and alerts pages) served by the binary, fed from the
//! streams.
//!
//! It must not read the wall clock for decisions: batching takes a passed
//! [`Clock`](sellout_streams::Clock); only retry backoff and request timeouts use tokio
//! time, which is about talking to a server, not about event time. Point timestamps are
//! the records' event time in milliseconds.
//!
//! # Layout
//! - [`sink`]: the sink task: points, batching, the v2 write client, backoff, disk spill.
//! - [`measurements`]: typed measurements, their points, and the catalogue of names.
//! - [`feed`]: follows `sales`, `deadletter`, `signals`, `features`, `prices` and
//!   `deliveries` from offsets into the board (and, optionally, the sink).
//! - [`board`]: the board's bounded state, its JSON views, and the router serving the
//!   pages, the JSON API, the coalesced live stream (SSE) and the embedded assets
//!   (`assets/`, uPlot vendored in `assets/vendor/`).

pub mod board;
pub mod feed;
pub mod measurements;
pub mod sink;

pub use board::{Board, BoardConfig, board_url, router};
pub use feed::{CatalogSource, Feed, FeedConfig, FeedError, FeedStats};

pub use measurements::{CATALOGUE, IntoPoint, MeasurementSpec};
pub use sink::{
    FieldValue, Point, SendOutcome, SinkConfig, SinkError, SinkHandle, SinkStats, spawn,
};

#[cfg(test)]
mod fixtures;
