//! The measurements the sink writes, as typed structs, and their catalogue as data.
//!
//! Names here are a contract with every dashboard and saved query: change one and the
//! Grafana test fails until the dashboards follow. victoria-metrics stores each field as
//! the series `{measurement}_{field}` with the tags as labels.
//!
//! Times are the records' event time in milliseconds. Optional values (`zone` of a
//! signal, `expected_date_ms` of a forecast) are left out of the point when absent.

use crate::sink::{FieldValue, Point};

/// One measurement: its name, tag keys and field keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasurementSpec {
    /// The measurement name.
    pub name: &'static str,
    /// Tag keys (indexed, for grouping and filtering).
    pub tags: &'static [&'static str],
    /// Field keys (the values).
    pub fields: &'static [&'static str],
}

macro_rules! spec {
    ($name:literal, [$($tag:literal),*], [$($field:literal),*]) => {
        MeasurementSpec { name: $name, tags: &[$($tag),*], fields: &[$($field),*] }
    };
}

/// Sales per category: tickets sold, revenue (minor units), sales rate.
pub const SALES: MeasurementSpec = spec!(
    "sales",
    ["event", "category"],
    ["tickets", "revenue_minor", "rate_per_min"]
);
/// Cart activity per event.
pub const CARTS: MeasurementSpec = spec!("carts", ["event"], ["adds_per_min", "abandoned"]);
/// How much of a category is sold.
pub const SOLD: MeasurementSpec = spec!("sold", ["event", "category"], ["sold_pct", "remaining"]);
/// Sell-out forecast per category.
pub const SELLOUT: MeasurementSpec = spec!(
    "sellout",
    ["event", "category"],
    ["p_7d", "p_14d", "p_by_start", "expected_date_ms"]
);
/// An authoritative price change, with its reason as a tag.
pub const PRICE: MeasurementSpec = spec!("price", ["event", "category", "reason"], ["price_minor"]);
/// A detected signal (surge, slump, buzz, long queue...).
pub const SIGNAL: MeasurementSpec = spec!("signal", ["kind", "event", "zone"], ["value", "z"]);
/// Occupancy of a venue zone.
pub const ZONE: MeasurementSpec = spec!("zone", ["venue", "zone"], ["occupancy"]);
/// Queue at a venue stand.
pub const QUEUE: MeasurementSpec = spec!("queue", ["venue", "stand"], ["length", "wait_minutes"]);
/// Notification outcomes per campaign and platform.
pub const NOTIFICATION: MeasurementSpec = spec!(
    "notification",
    ["campaign", "platform", "outcome"],
    ["count"]
);

/// Every measurement the sink writes.
pub const CATALOGUE: &[MeasurementSpec] = &[
    SALES,
    CARTS,
    SOLD,
    SELLOUT,
    PRICE,
    SIGNAL,
    ZONE,
    QUEUE,
    NOTIFICATION,
];

/// The catalogue entry named `name`.
pub fn spec(name: &str) -> Option<&'static MeasurementSpec> {
    CATALOGUE.iter().find(|m| m.name == name)
}

/// A typed measurement that becomes one point.
pub trait IntoPoint {
    /// The catalogue entry this type writes.
    const SPEC: MeasurementSpec;
    /// The point for this value.
    fn to_point(&self) -> Point;
}

fn int(v: i64) -> FieldValue {
    FieldValue::Int(v)
}
fn uint(v: u64) -> FieldValue {
    FieldValue::UInt(v)
}
fn float(v: f64) -> FieldValue {
    FieldValue::Float(v)
}

/// Sales of one category in the window ending at `time_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sales {
    /// Event id.
    pub event: String,
    /// Category id.
    pub category: String,
    /// Event time (ms).
    pub time_ms: i64,
    /// Tickets sold in the window.
    pub tickets: u64,
    /// Revenue in minor currency units.
    pub revenue_minor: i64,
    /// Tickets per minute.
    pub rate_per_min: f64,
}

impl IntoPoint for Sales {
    const SPEC: MeasurementSpec = SALES;
    fn to_point(&self) -> Point {
        Point::new(SALES.name, self.time_ms)
            .tag("event", &self.event)
            .tag("category", &self.category)
            .field("tickets", uint(self.tickets))
            .field("revenue_minor", int(self.revenue_minor))
            .field("rate_per_min", float(self.rate_per_min))
    }
}

/// Cart activity of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Carts {
    /// Event id.
    pub event: String,
    /// Event time (ms).
    pub time_ms: i64,
    /// Cart adds per minute.
    pub adds_per_min: f64,
    /// Carts abandoned in the window.
    pub abandoned: u64,
}

impl IntoPoint for Carts {
    const SPEC: MeasurementSpec = CARTS;
    fn to_point(&self) -> Point {
        Point::new(CARTS.name, self.time_ms)
            .tag("event", &self.event)
            .field("adds_per_min", float(self.adds_per_min))
            .field("abandoned", uint(self.abandoned))
    }
}

/// Share of a category sold.
#[derive(Debug, Clone, PartialEq)]
pub struct Sold {
    /// Event id.
    pub event: String,
    /// Category id.
    pub category: String,
    /// Event time (ms).
    pub time_ms: i64,
    /// Percent sold, 0..=100.
    pub sold_pct: f64,
    /// Seats left.
    pub remaining: u64,
}

impl IntoPoint for Sold {
    const SPEC: MeasurementSpec = SOLD;
    fn to_point(&self) -> Point {
        Point::new(SOLD.name, self.time_ms)
            .tag("event", &self.event)
            .tag("category", &self.category)
            .field("sold_pct", float(self.sold_pct))
            .field("remaining", uint(self.remaining))
    }
}

/// A sell-out forecast for a category.
#[derive(Debug, Clone, PartialEq)]
pub struct Sellout {
    /// Event id.
    pub event: String,
    /// Category id.
    pub category: String,
    /// Event time (ms).
    pub time_ms: i64,
    /// Probability of selling out within 7 days.
    pub p_7d: f64,
    /// Probability of selling out within 14 days.
    pub p_14d: f64,
    /// Probability of selling out before the event starts.
    pub p_by_start: f64,
    /// Expected sell-out time (ms), when one is forecast.
    pub expected_date_ms: Option<i64>,
}

impl IntoPoint for Sellout {
    const SPEC: MeasurementSpec = SELLOUT;
    fn to_point(&self) -> Point {
        let point = Point::new(SELLOUT.name, self.time_ms)
            .tag("event", &self.event)
            .tag("category", &self.category)
            .field("p_7d", float(self.p_7d))
            .field("p_14d", float(self.p_14d))
            .field("p_by_start", float(self.p_by_start));
        match self.expected_date_ms {
            Some(ms) => point.field("expected_date_ms", int(ms)),
            None => point,
        }
    }
}

/// An authoritative price change.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    /// Event id.
    pub event: String,
    /// Category id.
    pub category: String,
    /// Why the price moved (a tag, so panels can split by it).
    pub reason: String,
    /// Event time (ms).
    pub time_ms: i64,
    /// The new price in minor currency units.
    pub price_minor: i64,
}

impl IntoPoint for Price {
    const SPEC: MeasurementSpec = PRICE;
    fn to_point(&self) -> Point {
        Point::new(PRICE.name, self.time_ms)
            .tag("event", &self.event)
            .tag("category", &self.category)
            .tag("reason", &self.reason)
            .field("price_minor", int(self.price_minor))
    }
}

/// A detected signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Signal kind (surge, slump, buzz, long_queue...).
    pub kind: String,
    /// Event id.
    pub event: String,
    /// Venue zone, for venue signals.
    pub zone: Option<String>,
    /// Event time (ms).
    pub time_ms: i64,
    /// The measured value.
    pub value: f64,
    /// Its z-score against the baseline.
    pub z: f64,
}

impl IntoPoint for Signal {
    const SPEC: MeasurementSpec = SIGNAL;
    fn to_point(&self) -> Point {
        Point::new(SIGNAL.name, self.time_ms)
            .tag("kind", &self.kind)
            .tag("event", &self.event)
            .tag("zone", self.zone.clone().unwrap_or_default())
            .field("value", float(self.value))
            .field("z", float(self.z))
    }
}

/// Occupancy of one venue zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneOccupancy {
    /// Venue id.
    pub venue: String,
    /// Zone id.
    pub zone: String,
    /// Event time (ms).
    pub time_ms: i64,
    /// People in the zone.
    pub occupancy: u64,
}

impl IntoPoint for ZoneOccupancy {
    const SPEC: MeasurementSpec = ZONE;
    fn to_point(&self) -> Point {
        Point::new(ZONE.name, self.time_ms)
            .tag("venue", &self.venue)
            .tag("zone", &self.zone)
            .field("occupancy", uint(self.occupancy))
    }
}

/// The queue at one stand.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// Venue id.
    pub venue: String,
    /// Stand id.
    pub stand: String,
    /// Event time (ms).
    pub time_ms: i64,
    /// People queueing.
    pub length: u64,
    /// Estimated wait in minutes.
    pub wait_minutes: f64,
}

impl IntoPoint for Queue {
    const SPEC: MeasurementSpec = QUEUE;
    fn to_point(&self) -> Point {
        Point::new(QUEUE.name, self.time_ms)
            .tag("venue", &self.venue)
            .tag("stand", &self.stand)
            .field("length", uint(self.length))
            .field("wait_minutes", float(self.wait_minutes))
    }
}

/// Notification outcomes of a campaign on a platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Campaign id.
    pub campaign: String,
    /// Platform (apns, fcm).
    pub platform: String,
    /// Outcome (delivered, failed, pruned...).
    pub outcome: String,
    /// Event time (ms).
    pub time_ms: i64,
    /// How many notifications had this outcome.
    pub count: u64,
}

impl IntoPoint for Notification {
    const SPEC: MeasurementSpec = NOTIFICATION;
    fn to_point(&self) -> Point {
        Point::new(NOTIFICATION.name, self.time_ms)
            .tag("campaign", &self.campaign)
            .tag("platform", &self.platform)
            .tag("outcome", &self.outcome)
            .field("count", uint(self.count))
    }
}

#[cfg(test)]
#[path = "measurements_tests.rs"]
mod tests;
