//! # sellout-simulator
//!
//! A closed-loop, seeded simulator of on-sales and venue days. It owns the generated
//! **catalog** (venues, events, categories), the **ground truth** of its demand model,
//! and a time-ordered stream of input records ([`AnyRecord`]): shoppers viewing, carting
//! and buying, social posts that lead and follow demand, beacon sightings and queue
//! readings on the event day. Shoppers read the *current* price through a
//! [`PriceSource`] at every decision, so a pricing service can close the loop.
//!
//! It must not read the wall clock or the operating system's entropy: the same
//! [`SimConfig`] and the same price answers give the same records, bit for bit. It keeps
//! memory proportional to what is active (open sessions, attendees in the venue), never
//! to the history, so it streams tens of millions of records. It does no I/O.
//!
//! # Layout
//! - [`SimConfig`], [`SimError`] (here): what to simulate.
//! - [`price`]: the closed loop: [`PriceSource`] and [`ListPrices`].
//! - [`catalog`]: venues with zones and beacons, events with priced categories.
//! - [`truth`]: the demand model's true parameters and formulas ([`GroundTruth`]).
//! - [`waves`]: the laws announcements and social spikes are drawn from.
//! - [`onsale`]: shopping sessions, carts with holds, inventory, refunds.
//! - [`social`]: posts in four languages that lead and follow demand.
//! - [`venue`]: the event day: attendees moving between zones, beacons, queues.
//! - [`faults`]: [`FaultInjector`], invalid input of known kinds for dead-letter demos.
//! - [`feed`]: the demos' simulator thread: a compressed clock, JSON Lines in chunks.
//! - [`sim`]: the scheduler: [`Simulation`], an iterator of records, and [`SimStats`].
//! - `random`: small distributions on seeded generators.

pub mod catalog;
pub mod faults;
pub mod feed;
pub mod onsale;
pub mod price;
mod random;
pub mod sim;
pub mod social;
pub mod truth;
pub mod venue;
pub mod waves;

pub use faults::FaultInjector;
pub use price::{ListPrices, PriceSource, SeededPriceChanges};
pub use random::normal_cdf;
pub use sim::{SimStats, Simulation, StateSizes};
pub use truth::GroundTruth;

pub use sellout_ingest::records::AnyRecord;
use sellout_streams::Timestamp;
use serde::{Deserialize, Serialize};

/// 2026-11-23T09:00:00Z, the default opening of the first sale.
pub const DEFAULT_START: Timestamp = 1_795_424_400_000;

/// What to simulate. Every field has a default, so an empty config is a full run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Seed of every random choice; the same seed and price answers give the same records.
    pub seed: u64,
    /// Number of events; they cycle over the venues (London stadium, Paris arena,
    /// Berlin club, Madrid stadium).
    pub events: usize,
    /// When the first event goes on sale: RFC 3339 in config files (integer milliseconds
    /// since the Unix epoch are accepted too). Never the wall clock: the default is
    /// 2026-11-23T09:00:00Z.
    #[serde(with = "sellout_ingest::records::time")]
    pub start: Timestamp,
    /// Days between an event's on-sale and its start.
    pub sale_days: f64,
    /// Hours between the on-sales of consecutive events.
    pub on_sale_stagger_hours: f64,
    /// Multiplies shopper arrival rates and social volume (1.0 = the realistic default).
    pub scale: f64,
    /// How hot each event is (0.1 = sleepy, 1.0 = sells a stadium out within the hour).
    /// Empty: the first event is hot (1.0), the others are drawn from the seed.
    pub hotness: Vec<f64>,
    /// Share of attendees with the app (they emit beacon sightings), 0..=1.
    pub app_share: f64,
    /// Seconds between two beacon sightings of one phone.
    pub beacon_interval_s: u32,
    /// Minutes a cart holds its seats before they are released.
    pub cart_hold_minutes: u32,
    /// Share of purchases refunded later.
    pub refund_rate: f64,
    /// Simulate each event's day at the venue (beacons, queues).
    pub include_venue_day: bool,
    /// Simulate social posts.
    pub include_social: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            events: 3,
            start: DEFAULT_START,
            sale_days: 28.0,
            on_sale_stagger_hours: 24.0,
            scale: 1.0,
            hotness: Vec::new(),
            app_share: 0.2,
            beacon_interval_s: 10,
            cart_hold_minutes: 10,
            refund_rate: 0.01,
            include_venue_day: true,
            include_social: true,
        }
    }
}

impl SimConfig {
    /// Checks ranges; the message names the field.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if self.events == 0 || self.events > 999 {
            return bad(format!("events must be 1..=999, got {}", self.events));
        }
        if !(self.sale_days.is_finite() && (0.5..=400.0).contains(&self.sale_days)) {
            return bad(format!(
                "sale_days must be 0.5..=400, got {}",
                self.sale_days
            ));
        }
        if !(self.on_sale_stagger_hours.is_finite()
            && (0.0..=24.0 * 365.0).contains(&self.on_sale_stagger_hours))
        {
            return bad(format!(
                "on_sale_stagger_hours must be 0..=8760, got {}",
                self.on_sale_stagger_hours
            ));
        }
        if !(self.scale.is_finite() && self.scale > 0.0 && self.scale <= 1000.0) {
            return bad(format!(
                "scale must be positive and at most 1000, got {}",
                self.scale
            ));
        }
        if let Some(h) = self
            .hotness
            .iter()
            .find(|h| !(h.is_finite() && (0.0..=5.0).contains(*h)))
        {
            return bad(format!("hotness values must be 0..=5, got {h}"));
        }
        if !(0.0..=1.0).contains(&self.app_share) {
            return bad(format!("app_share must be 0..=1, got {}", self.app_share));
        }
        if !(1..=3600).contains(&self.beacon_interval_s) {
            return bad(format!(
                "beacon_interval_s must be 1..=3600, got {}",
                self.beacon_interval_s
            ));
        }
        if !(1..=120).contains(&self.cart_hold_minutes) {
            return bad(format!(
                "cart_hold_minutes must be 1..=120, got {}",
                self.cart_hold_minutes
            ));
        }
        if !(0.0..=0.5).contains(&self.refund_rate) {
            return bad(format!(
                "refund_rate must be 0..=0.5, got {}",
                self.refund_rate
            ));
        }
        // Far enough from the ends of i64 milliseconds that no arithmetic overflows.
        if !(0..=32_503_680_000_000).contains(&self.start) {
            return bad("start must be between 1970 and 3000".into());
        }
        Ok(())
    }
}

/// Why a simulation could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A config value is out of range.
    #[error("invalid simulator config: {0}")]
    Config(String),
    /// The generated catalog failed its own checks (a bug in the generator).
    #[error("generated catalog is invalid: {0}")]
    Catalog(#[from] sellout_ingest::catalog::CatalogError),
}
