//! # sellout-pricing
//!
//! Owns the **live price book**, the **guarded repricer**, **signed quotes** and the
//! **HTTP API** the sales portal calls.
//!
//! The `prices` topic is the source of truth: every price change is appended there
//! (beside admin policy on `price-policy` and every decision on `price-decisions`),
//! and every replica rebuilds its book from those topics and follows them live. A
//! replica never changes a price in memory first: it appends, then catches up, so the
//! replica that wrote and every other one see the same book. Catalog edits (events,
//! categories, capacity, venues) follow the same path through the `catalog` topic and
//! the process's shared [`LiveCatalog`](sellout_ingest::live_catalog::LiveCatalog),
//! which the replica's catch-up keeps current for ingest and the pipelines too.
//!
//! It must not detect (signals and features come from `sellout-pipelines`), must not
//! read the wall clock for any decision (a [`Clock`](sellout_streams::Clock) is passed
//! in; only the benchmark measures real time), and must never let a price leave the
//! published range of its category or change a price a shopper was quoted under them.
//!
//! # Wiring (what the binary calls)
//! 1. [`PricingService::new`]`(config, catalog, transport, clock)`, then
//!    `service.catch_up()` (or wait for `/readyz`).
//! 2. `tokio::spawn(service.clone().follow(shutdown))`: follow the topics.
//! 3. `tokio::spawn(`[`Repricer::rule_based`]`(service.clone()).run(interval, shutdown))`
//!    in **one** replica.
//! 4. [`api::serve`]`(listener, `[`api::router`]`(service), `[`api::shutdown_signal`]`())`.
//! 5. `sellout bench pricing`: [`bench::run`]`(BenchOptions::default())`.
//!
//! # Layout
//! - [`change`]: the [`PriceChange`](change::PriceChange) and policy records and the topics.
//! - [`book`]: the [`PriceBook`](book::PriceBook): snapshots, history, catch-up.
//! - [`guardrails`]: the pure `decide(proposal, state, now)` and its rules.
//! - [`repricer`]: signals and features in, guarded changes out; [`Optimiser`](repricer::Optimiser), [`RuleBased`](repricer::RuleBased).
//! - [`quotes`]: signed quotes, the key ring, the hold registry.
//! - [`auth`]: API keys as hashes, portal and admin kinds.
//! - [`rate`]: request rates per key (token buckets, 429 with `Retry-After`).
//! - [`audit`]: the audit topic and its queryable window.
//! - [`service`]: one replica: the operations the API and the repricer share.
//! - [`api`]: the axum router, errors, auth, shedding, timeouts, SSE.
//! - [`openapi`]: the OpenAPI 3.1 document, and merging other components' routes into it.
//! - [`metrics`]: Prometheus counters and histograms.
//! - [`load`]: the runtime's scheduling lag, to shed on a saturated CPU.
//! - [`connections`]: a listener bounding open connections (503 beyond).
//! - [`config`]: the settings, [`PricingConfig`](config::PricingConfig).
//! - [`memory`]: an in-memory transport for tests and the benchmark.
//! - [`bench`]: the figures behind `sellout bench pricing`.
//! - [`shoppers`]: the service as the simulator's price source (the demos' closed loop).

pub mod api;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod book;
pub mod change;
pub mod config;
pub mod connections;
pub mod guardrails;
pub mod load;
pub mod memory;
pub mod metrics;
pub mod openapi;
pub mod quotes;
pub mod rate;
pub mod repricer;
pub mod service;
pub mod shoppers;

pub use api::{AppState, router};
pub use config::PricingConfig;
pub use repricer::Repricer;
pub use service::PricingService;
