//! # sellout-dashboards
//!
//! Owns what marketing looks at: the **InfluxDB sink** that writes pipeline outputs
//! (sales, cart, sell-out, price, signal, venue and notification figures) as time
//! series, the **catalogue** of those measurements, and the **Grafana provisioning**
//! files (`grafana/`) whose queries the catalogue checks. The live web board will live
//! here too (not yet).
//!
//! It must not read the wall clock for decisions: batching takes a passed
//! [`Clock`](sellout_streams::Clock); only retry backoff and request timeouts use tokio
//! time, which is about talking to a server, not about event time. Point timestamps are
//! the records' event time in milliseconds.
//!
//! # Layout
//! - [`sink`]: the sink task: points, batching, the v2 write client, backoff, disk spill.
//! - [`measurements`]: typed measurements, their points, and the catalogue of names.

pub mod measurements;
pub mod sink;

pub use measurements::{CATALOGUE, IntoPoint, MeasurementSpec};
pub use sink::{
    FieldValue, Point, SendOutcome, SinkConfig, SinkError, SinkHandle, SinkStats, spawn,
};
