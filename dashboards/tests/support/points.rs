//! The test points: every measurement in turn, a unique event time per point, and the
//! samples victoria-metrics should hold for them.

use std::collections::BTreeMap;

use sellout_dashboards::measurements::{
    Carts, IntoPoint, Notification, Price, Queue, Sales, Sellout, Signal, Sold, ZoneOccupancy,
};
use sellout_dashboards::{FieldValue, Point};

use super::Sample;

/// Every measurement's series in the export.
pub const ALL: &str = "(sales|carts|sold|sellout|price|signal|zone|queue|notification)_.*";

/// 2026-11-01T00:00:00Z: in the past (the export ends at "now") and within retention.
pub const BASE_MS: i64 = 1_793_491_200_000;

/// The `i`-th test point: measurements in turn, a unique time per point.
pub fn point(i: u64, time_ms: i64) -> Point {
    let e = format!("e{}", i % 3);
    let c = format!("c{}", i % 4);
    let x = i as f64 / 4.0;
    match i % 9 {
        0 => Sales {
            event: e,
            category: c,
            time_ms,
            tickets: i,
            revenue_minor: -(i as i64),
            rate_per_min: x,
        }
        .to_point(),
        1 => Carts {
            event: e,
            time_ms,
            adds_per_min: x,
            abandoned: i,
        }
        .to_point(),
        2 => Sold {
            event: e,
            category: c,
            time_ms,
            sold_pct: x,
            remaining: i,
        }
        .to_point(),
        3 => Sellout {
            event: e,
            category: c,
            time_ms,
            p_7d: x,
            p_14d: x + 1.0,
            p_by_start: x + 2.0,
            expected_date_ms: i.is_multiple_of(2).then_some(time_ms),
        }
        .to_point(),
        4 => Price {
            event: e,
            category: c,
            reason: format!("surge, {}=x y", i % 2),
            time_ms,
            price_minor: i as i64,
        }
        .to_point(),
        5 => Signal {
            kind: "surge".into(),
            event: e,
            zone: i.is_multiple_of(2).then(|| format!("z{}", i % 5)),
            time_ms,
            value: x,
            z: -x,
        }
        .to_point(),
        6 => ZoneOccupancy {
            venue: "v1".into(),
            zone: format!("z{}", i % 5),
            time_ms,
            occupancy: i,
        }
        .to_point(),
        7 => Queue {
            venue: "v1".into(),
            stand: format!("s{}", i % 5),
            time_ms,
            length: i,
            wait_minutes: x,
        }
        .to_point(),
        _ => Notification {
            campaign: "k1".into(),
            platform: if i.is_multiple_of(2) { "apns" } else { "fcm" }.into(),
            outcome: "delivered".into(),
            time_ms,
            count: i,
        }
        .to_point(),
    }
}

/// The samples the store should hold for `points`: one per field.
pub fn expected(points: &[Point]) -> Vec<Sample> {
    let mut samples = Vec::new();
    for p in points {
        let labels: BTreeMap<String, String> = p
            .tags
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        for (field, value) in &p.fields {
            let v = match *value {
                FieldValue::Int(i) => i as f64,
                FieldValue::UInt(u) => u as f64,
                FieldValue::Float(f) => f,
                FieldValue::Bool(b) => f64::from(u8::from(b)),
            };
            samples.push((
                format!("{}_{field}", p.measurement),
                labels.clone(),
                p.timestamp_ms,
                v,
            ));
        }
    }
    samples.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    samples
}
