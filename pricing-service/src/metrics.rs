//! Telemetry in the Prometheus text format, hand-rolled: per-route request counts by
//! status class and latency histograms (labelled by the *matched* route, so ids in
//! paths don't explode the label set), and one counter per thing that happened.
//!
//! Every hot-path update is a relaxed atomic add; a route's entry is created once
//! under a write lock and then only read-locked.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS_S: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_S.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BUCKETS_S.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, b) in BUCKETS_S.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

#[derive(Debug, Default)]
struct RouteStats {
    by_class: [AtomicU64; 5],
    latency: Histogram,
}

/// The counters of one service.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: RwLock<BTreeMap<String, RouteStats>>,
    /// Requests shed with 503 because every slot was busy.
    pub shed: AtomicU64,
    /// Connections answered 503 and closed because `max_connections` were open.
    pub refused_connections: std::sync::Arc<AtomicU64>,
    /// Requests answered 503 because they ran past the request timeout.
    pub timeouts: AtomicU64,
    /// Quotes issued.
    pub quotes_issued: AtomicU64,
    /// Quotes verified valid.
    pub quotes_valid: AtomicU64,
    /// Quotes refused (tampered, unknown key, expired).
    pub quotes_refused: AtomicU64,
    /// Repricer and admin decisions that changed a price.
    pub decisions_changed: AtomicU64,
    /// Decisions that left the price as it was.
    pub decisions_unchanged: AtomicU64,
    /// Live price streams open now.
    pub streams_open: AtomicU64,
}

impl Metrics {
    /// Counts one answered request of `route` (the matched path).
    pub fn request(&self, route: &str, status: u16, took: Duration) {
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        if let Ok(routes) = self.routes.read()
            && let Some(stats) = routes.get(route)
        {
            stats.by_class[class].fetch_add(1, Ordering::Relaxed);
            stats.latency.observe(took);
            return;
        }
        let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
        let stats = routes.entry(route.to_string()).or_default();
        stats.by_class[class].fetch_add(1, Ordering::Relaxed);
        stats.latency.observe(took);
    }

    /// The Prometheus text exposition, with the book's applied and skipped counts.
    pub fn render(&self, book_applied: u64, book_skipped: u64) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# TYPE pricing_http_requests_total counter\n");
        let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
        for (route, stats) in routes.iter() {
            for (i, n) in stats.by_class.iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "pricing_http_requests_total{{route=\"{route}\",status=\"{}xx\"}} {n}",
                        i + 1
                    );
                }
            }
        }
        out.push_str("# TYPE pricing_http_request_duration_seconds histogram\n");
        for (route, stats) in routes.iter() {
            let labels = format!("route=\"{route}\"");
            stats
                .latency
                .render(&mut out, "pricing_http_request_duration_seconds", &labels);
        }
        let counters: [(&str, &str, u64); 10] = [
            (
                "pricing_requests_shed_total",
                "counter",
                self.shed.load(Ordering::Relaxed),
            ),
            (
                "pricing_connections_refused_total",
                "counter",
                self.refused_connections.load(Ordering::Relaxed),
            ),
            (
                "pricing_requests_timed_out_total",
                "counter",
                self.timeouts.load(Ordering::Relaxed),
            ),
            (
                "pricing_quotes_issued_total",
                "counter",
                self.quotes_issued.load(Ordering::Relaxed),
            ),
            (
                "pricing_quotes_valid_total",
                "counter",
                self.quotes_valid.load(Ordering::Relaxed),
            ),
            (
                "pricing_quotes_refused_total",
                "counter",
                self.quotes_refused.load(Ordering::Relaxed),
            ),
            (
                "pricing_decisions_changed_total",
                "counter",
                self.decisions_changed.load(Ordering::Relaxed),
            ),
            (
                "pricing_decisions_unchanged_total",
                "counter",
                self.decisions_unchanged.load(Ordering::Relaxed),
            ),
            (
                "pricing_book_changes_applied_total",
                "counter",
                book_applied,
            ),
            (
                "pricing_book_records_skipped_total",
                "counter",
                book_skipped,
            ),
        ];
        for (name, kind, value) in counters {
            let _ = writeln!(out, "# TYPE {name} {kind}\n{name} {value}");
        }
        let open = self.streams_open.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# TYPE pricing_streams_open gauge\npricing_streams_open {open}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_routes_histograms_and_counters() {
        let m = Metrics::default();
        m.request(
            "/v1/events/{event_id}/prices",
            200,
            Duration::from_micros(300),
        );
        m.request(
            "/v1/events/{event_id}/prices",
            503,
            Duration::from_millis(3),
        );
        m.shed.fetch_add(2, Ordering::Relaxed);
        let text = m.render(5, 0);
        assert!(text.contains(
            "pricing_http_requests_total{route=\"/v1/events/{event_id}/prices\",status=\"2xx\"} 1"
        ));
        assert!(text.contains("status=\"5xx\"} 1"));
        assert!(text.contains("le=\"0.0005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("pricing_requests_shed_total 2"));
        assert!(text.contains("pricing_book_changes_applied_total 5"));
    }
}
