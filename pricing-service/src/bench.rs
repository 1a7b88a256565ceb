//! The figures behind `sellout bench pricing`: the real API beside a minimal axum
//! handler, over loopback, in the same run, while prices change at a set rate.
//!
//! Both servers run in the caller's runtime, and the load generator (a small
//! hand-written HTTP/1.1 keep-alive client, so both sides pay the same client cost)
//! drives them with the same connections and duration, in alternating slices so that
//! whatever else the machine is doing weighs on both alike. Price
//! changes flow the whole time through the real path: a surge or slump signal into
//! the rule-based [`Repricer`](crate::repricer::Repricer), guardrails, an append to
//! `prices` and the audit topic, catch-up and snapshot swap. The "sale record to
//! visible price" latency is measured on that path, from the signal being handed to
//! the repricer to the new price being in the snapshot readers get; it does not
//! include the pipelines' own detection time.
//!
//! The baseline answers the same route shape with a fixed body of the same length as
//! the real answer. `p99_ms_at_half_load` paces requests at half of the measured
//! maximum and measures each latency from its *scheduled* send time, so a stall is
//! not hidden by the client waiting (no coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::routing::get;
use sellout_ingest::catalog::{Catalog, Category, Event, Venue, VenueKind};
use sellout_pipelines::output::{RateMetric, SignalDetail};
use sellout_pipelines::{Signal, SignalKind};
use sellout_streams::{SystemClock, Transport};
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};

use crate::auth::{KeyHash, KeyKind, hash_key};
use crate::config::PricingConfig;
use crate::memory::MemoryTransport;
use crate::quotes::QuoteKey;
use crate::repricer::{Repricer, RuleConfig};
use crate::service::PricingService;

const PORTAL_KEY: &str = "bench-portal-key";
const EVENTS: usize = 20;
const CATEGORIES: usize = 8;
/// Warm-up per server before measuring.
const WARM: Duration = Duration::from_millis(500);
/// Alternating slices each phase is cut into.
const SLICES: u32 = 4;

/// How to run the benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Concurrent keep-alive connections of the load generator (default 16).
    pub connections: usize,
    /// How long each measured phase lasts (default 5 s).
    pub phase: Duration,
    /// Price changes applied per second meanwhile (default 1,000).
    pub changes_per_sec: u32,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            connections: 16,
            phase: Duration::from_secs(5),
            changes_per_sec: 1000,
        }
    }
}

/// What [`run`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct PricingBenchFigures {
    /// Always `"pricing"`.
    pub bench: &'static str,
    /// `GET /v1/events/{id}/prices` answered 200 per second at saturation.
    pub price_get_rps: f64,
    /// The minimal fixed-body handler's answers per second, same client, same run.
    pub baseline_rps: f64,
    /// `price_get_rps / baseline_rps` (target ≥ 0.8).
    pub ratio: f64,
    /// 99th percentile latency at half of `price_get_rps`, in ms (target ≤ 2).
    pub p99_ms_at_half_load: f64,
    /// Median latency at half load, in ms.
    pub p50_ms_at_half_load: f64,
    /// The baseline's 99th percentile at the same rate: what the machine itself
    /// allows (on a shared or small machine, scheduling noise shows here too).
    pub baseline_p99_ms_at_half_load: f64,
    /// 99th percentile from a sale signal to the new price being visible, in ms.
    pub sale_to_visible_price_p99_ms: f64,
    /// Median of the same.
    pub sale_to_visible_price_p50_ms: f64,
    /// Price changes applied per second during the run (target: the set rate).
    pub price_changes_per_sec: f64,
    /// Non-200 answers seen (should be 0).
    pub errors: u64,
    /// Connections used.
    pub connections: usize,
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A socket failed.
    #[error("benchmark I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The service could not be set up.
    #[error("benchmark setup: {0}")]
    Setup(String),
}

/// A synthetic catalog: `EVENTS` events of `CATEGORIES` categories.
pub fn bench_catalog() -> Result<Catalog, BenchError> {
    let venue = Venue {
        venue_id: "bench-venue".into(),
        name: "Bench Stadium".into(),
        kind: VenueKind::Stadium,
        city: "London".into(),
        country: "GB".into(),
        zones: vec![],
    };
    let events = (0..EVENTS)
        .map(|e| Event {
            event_id: format!("ev-{e}").into(),
            name: format!("Bench event {e}"),
            venue_id: "bench-venue".into(),
            on_sale: 0,
            start: i64::MAX / 2,
            tags: vec![],
            categories: (0..CATEGORIES)
                .map(|c| Category {
                    category_id: format!("cat-{c}").into(),
                    name: format!("Category {c}"),
                    capacity: 5_000,
                    list_price_minor: 10_000 + 1_000 * c as i64,
                    floor_minor: 1_000,
                    cap_minor: 1_000_000,
                    currency: "GBP".into(),
                })
                .collect(),
        })
        .collect();
    Catalog::new(vec![venue], events).map_err(|e| BenchError::Setup(e.to_string()))
}

/// Runs the benchmark in the current runtime (multi-threaded).
pub async fn run(opts: BenchOptions) -> Result<PricingBenchFigures, BenchError> {
    let transport: Arc<dyn Transport> = Arc::new(MemoryTransport::new());
    let config = PricingConfig {
        api_keys: vec![KeyHash {
            kind: KeyKind::Portal,
            sha256: hash_key(PORTAL_KEY),
        }],
        active_quote_key: "bench".into(),
        quote_keys: vec![QuoteKey {
            id: "bench".into(),
            secret_hex: crate::auth::to_hex(&[0x42; 32]),
        }],
        min_interval_s: 0,
        max_step_pct: 50.0,
        max_in_flight: opts.connections.max(1) * 4,
        rules: RuleConfig {
            surge_signals: 1,
            min_sell_through: 0.0,
            ..RuleConfig::default()
        },
        ..PricingConfig::default()
    };
    let service = PricingService::new(config, bench_catalog()?, transport, Arc::new(SystemClock))
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    service
        .catch_up()
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let body_len = service
        .book()
        .snapshot()
        .event("ev-0")
        .map_or(0, |e| e.json.len());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let shutdown = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let real = TcpListener::bind("127.0.0.1:0").await?;
    let real_addr = real.local_addr()?;
    tokio::spawn(crate::api::serve(
        real,
        crate::api::router(service.clone()),
        shutdown(stop_rx.clone()),
    ));
    let fixed = axum::body::Bytes::from(vec![b' '; body_len]);
    let baseline_router = Router::new().route(
        "/v1/events/{event_id}/prices",
        get(move || {
            let body = fixed.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let baseline = TcpListener::bind("127.0.0.1:0").await?;
    let baseline_addr = baseline.local_addr()?;
    tokio::spawn(crate::api::serve(
        baseline,
        baseline_router,
        shutdown(stop_rx.clone()),
    ));

    let changing = Arc::new(AtomicBool::new(true));
    let changer = {
        let (service, changing, rate) = (service.clone(), changing.clone(), opts.changes_per_sec);
        std::thread::spawn(move || apply_changes(service, changing, rate))
    };

    let conns = opts.connections.max(1);
    load(baseline_addr, conns, WARM, None).await?;
    load(real_addr, conns, WARM, None).await?;
    // Slices alternate between the two servers so both see the same machine (on a
    // shared machine, other work comes and goes).
    let slice = opts.phase / SLICES;
    let (mut base, mut max) = (Load::default(), Load::default());
    for _ in 0..SLICES {
        base.merge(load(baseline_addr, conns, slice, None).await?);
        max.merge(load(real_addr, conns, slice, None).await?);
    }
    let half_rate = max.rps() / 2.0;
    let (mut base_half, mut half) = (Load::default(), Load::default());
    for _ in 0..SLICES {
        half.merge(load(real_addr, conns, slice, Some(half_rate)).await?);
        base_half.merge(load(baseline_addr, conns, slice, Some(half_rate)).await?);
    }

    changing.store(false, Ordering::Release);
    let (mut visible, changes_per_sec) = changer
        .join()
        .map_err(|_| BenchError::Setup("price changer panicked".into()))?;
    let _ = stop_tx.send(true);
    let mut latencies = half.latencies_us;
    let mut base_latencies = base_half.latencies_us;
    Ok(PricingBenchFigures {
        bench: "pricing",
        price_get_rps: max.rps(),
        baseline_rps: base.rps(),
        ratio: max.rps() / base.rps().max(1e-9),
        p99_ms_at_half_load: percentile_ms(&mut latencies, 0.99),
        p50_ms_at_half_load: percentile_ms(&mut latencies, 0.50),
        baseline_p99_ms_at_half_load: percentile_ms(&mut base_latencies, 0.99),
        sale_to_visible_price_p99_ms: percentile_ms(&mut visible, 0.99),
        sale_to_visible_price_p50_ms: percentile_ms(&mut visible, 0.50),
        price_changes_per_sec: changes_per_sec,
        errors: base.errors + max.errors + half.errors + base_half.errors,
        connections: conns,
    })
}

fn percentile_ms(us: &mut [u64], q: f64) -> f64 {
    if us.is_empty() {
        return 0.0;
    }
    us.sort_unstable();
    let i = ((us.len() as f64 * q).ceil() as usize).clamp(1, us.len()) - 1;
    us[i] as f64 / 1000.0
}

/// Feeds alternating surge and slump signals through the repricer at `rate` per
/// second, round-robin over every category; returns each signal-to-visible latency
/// (µs) and the rate achieved.
fn apply_changes(
    service: Arc<PricingService>,
    running: Arc<AtomicBool>,
    rate: u32,
) -> (Vec<u64>, f64) {
    let mut repricer = Repricer::rule_based(service.clone());
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let started = Instant::now();
    let mut next = started;
    let mut latencies = Vec::new();
    let mut n: u64 = 0;
    while running.load(Ordering::Acquire) {
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
            continue;
        }
        next += interval;
        let slot = n as usize % (EVENTS * CATEGORIES);
        let (event, category) = (
            format!("ev-{}", slot / CATEGORIES),
            format!("cat-{}", slot % CATEGORIES),
        );
        let round = n / (EVENTS * CATEGORIES) as u64;
        let kind = if round.is_multiple_of(2) {
            SignalKind::Surge
        } else {
            SignalKind::Slump
        };
        n += 1;
        let signal = Signal {
            id: n,
            kind,
            time: service.clock().now_ms(),
            event_id: Some(event.as_str().into()),
            category_id: Some(category.as_str().into()),
            venue_id: None,
            zone_id: None,
            detail: SignalDetail::Rate {
                metric: RateMetric::Purchases,
                rate_per_min: 0.0,
                baseline_per_min: 0.0,
                baseline_std: 0.0,
                z: 0.0,
                cusum: 0.0,
                trigger: "bench".into(),
            },
        };
        let before = service
            .book()
            .snapshot()
            .category(&event, &category)
            .map(|c| c.changes);
        let t0 = Instant::now();
        if let Err(error) = repricer.on_signal(&signal) {
            tracing::warn!(message = "Bench price change failed.", %error);
            continue;
        }
        let after = service
            .book()
            .snapshot()
            .category(&event, &category)
            .map(|c| c.changes);
        if after > before {
            latencies.push(u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
    }
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    (latencies, rate)
}

#[path = "bench_client.rs"]
mod client;
use client::{Load, load};
