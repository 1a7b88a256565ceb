//! What pipelines emit: [`Signal`]s (something happened that someone may act on) and
//! [`Feature`]s (series and snapshots that dashboards show and models score), with
//! deterministic ids and their wire form on the `signals` and `features` topics.
//!
//! Ids are derived from the job, the key and the event time that produced an output,
//! never from processing time or a counter, so a replay after a crash produces the same
//! ids and the runner (or any downstream reader) can drop what it already has.

use sellout_ingest::records::{Id, Timestamp, wire};
use sellout_streams::Batch;
use serde::{Deserialize, Serialize};

/// The topic signals are written to.
pub const SIGNALS_TOPIC: &str = "signals";
/// The topic features are written to.
pub const FEATURES_TOPIC: &str = "features";
/// The side output for records later than the allowed lateness.
pub const LATE_TOPIC: &str = "late";

/// A stable 64-bit id (FNV-1a) over the given parts, each length-prefixed so that
/// `["ab", "c"]` and `["a", "bc"]` differ. Stable across builds and platforms.
pub fn output_id(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in (part.len() as u32).to_le_bytes().iter().chain(part.iter()) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// What kind of thing a signal reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// A cart's hold expired with seats in it and no purchase.
    CartAbandoned,
    /// A cart reported abandoned was bought after all.
    CartRecovered,
    /// Sales or cart adds of a category rose well above their baseline.
    Surge,
    /// Sales or cart adds of a category fell well below their baseline.
    Slump,
    /// Social volume or sentiment about an event moved unusually.
    Buzz,
    /// A stand's queue became long.
    QueueLong,
    /// A stand's queue became short again (or is short while many people are near).
    QueueShort,
}

impl SignalKind {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::CartAbandoned => "cart_abandoned",
            SignalKind::CartRecovered => "cart_recovered",
            SignalKind::Surge => "surge",
            SignalKind::Slump => "slump",
            SignalKind::Buzz => "buzz",
            SignalKind::QueueLong => "queue_long",
            SignalKind::QueueShort => "queue_short",
        }
    }
}

/// Which rate a surge or slump is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateMetric {
    /// Tickets purchased per minute.
    Purchases,
    /// Seats added to carts per minute.
    CartAdds,
}

/// Which social measure a buzz signal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuzzMetric {
    /// Posts per minute.
    Volume,
    /// Mean sentiment of the posts of the last minute.
    Sentiment,
}

/// The kind-specific part of a signal. Externally tagged (`{"cart": {...}}`): the
/// wire form (postcard) can't read internally tagged enums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalDetail {
    /// A cart (session) whose hold expired, or that was bought after expiring.
    Cart {
        /// The cart's session id.
        session_id: Id,
        /// The pseudonymous customer, when known.
        customer_id: Option<Id>,
        /// Categories with seats in the cart.
        categories: Vec<Id>,
        /// Seats in the cart.
        quantity: u32,
        /// Value of the cart in minor units.
        value_minor: i64,
        /// Currency of `value_minor`.
        currency: Id,
        /// When the first seat was added (the hold started).
        held_at: Timestamp,
    },
    /// A rate against its adaptive baseline.
    Rate {
        /// Which rate.
        metric: RateMetric,
        /// The rate now, per minute.
        rate_per_min: f64,
        /// The baseline (EWMA) the rate is compared with, per minute.
        baseline_per_min: f64,
        /// The baseline's standard deviation.
        baseline_std: f64,
        /// Standardised distance from the baseline.
        z: f64,
        /// CUSUM statistic when raised.
        cusum: f64,
        /// `z_score` or `cusum`: which test raised it.
        trigger: String,
    },
    /// Social buzz against its baseline.
    Buzz {
        /// Which measure moved.
        metric: BuzzMetric,
        /// The measure now.
        value: f64,
        /// Its baseline.
        baseline: f64,
        /// Standardised distance from the baseline.
        z: f64,
        /// Posts in the last minute.
        posts: u32,
        /// Mean sentiment of those posts in [-1, 1].
        sentiment: f64,
    },
    /// A queue at a stand.
    Queue {
        /// The stand.
        stand_id: Id,
        /// People in line.
        length: u32,
        /// Expected minutes of waiting (length / service rate).
        wait_minutes: f64,
        /// People near the stand's zone now.
        nearby: u32,
        /// True when the length was estimated from beacons, not read.
        estimated: bool,
    },
}

/// Something a pipeline detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Deterministic id (see [`output_id`]).
    pub id: u64,
    /// What it reports.
    pub kind: SignalKind,
    /// Event time it was detected at.
    pub time: Timestamp,
    /// The event, when it is about one.
    pub event_id: Option<Id>,
    /// The category, when it is about one.
    pub category_id: Option<Id>,
    /// The venue, when it is about one.
    pub venue_id: Option<Id>,
    /// The zone, when it is about one.
    pub zone_id: Option<Id>,
    /// The kind-specific detail.
    pub detail: SignalDetail,
}

impl Signal {
    /// The key the signal is partitioned by: its event, else its venue.
    pub fn key(&self) -> &str {
        self.event_id
            .as_deref()
            .or(self.venue_id.as_deref())
            .unwrap_or("")
    }
}

/// Hours from an event's on-sale that [`SellOutFeatures::opening_sold`] counts: the
/// opening spike has faded by then.
pub const OPENING_HOURS: i64 = 4;

/// The sell-out features of one category at one moment: what the models score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SellOutFeatures {
    /// The event.
    pub event_id: Id,
    /// The category.
    pub category_id: Id,
    /// Sellable seats of the category.
    pub capacity: u32,
    /// Seats sold, net of refunds.
    pub sold: u32,
    /// Seats left (`capacity - sold`, never negative).
    pub remaining: u32,
    /// Tickets sold in the last minute.
    pub sales_1m: u32,
    /// Tickets sold in the last 15 minutes.
    pub sales_15m: u32,
    /// Tickets sold in the last hour.
    pub sales_1h: u32,
    /// Tickets sold in the last 24 hours.
    pub sales_24h: u32,
    /// Tickets sold since the start of the hour 7 days before the snapshot's hour (7
    /// days and the minutes into the current hour; 0 in records written before it).
    #[serde(default)]
    pub sales_7d: u32,
    /// Hours since the event's on-sale (0 in records written before it).
    #[serde(default)]
    pub hours_since_on_sale: f64,
    /// Tickets bought in the first [`OPENING_HOURS`] of the event's on-sale (the
    /// opening), before the snapshot (0 in records written before it).
    #[serde(default)]
    pub opening_sold: u32,
    /// Seats added to carts in the last hour.
    pub cart_adds_1h: u32,
    /// Abandoned carts over carts that ended (abandoned or bought) in the last 24 hours.
    pub abandonment_rate_24h: f64,
    /// Social posts about the event in the last hour.
    pub buzz_posts_1h: u32,
    /// Mean sentiment of those posts in [-1, 1] (0 without posts).
    pub buzz_sentiment_1h: f64,
    /// Hours until the event starts (negative once it has started).
    pub hours_to_event: f64,
    /// Latest unit price seen for the category, in minor units.
    pub price_minor: i64,
    /// Currency of `price_minor`.
    pub currency: Id,
}

/// Occupancy of one zone in one minute: a cell of the venue heat map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneOccupancy {
    /// The venue.
    pub venue_id: Id,
    /// The zone.
    pub zone_id: Id,
    /// Installations present in the zone at the end of the minute.
    pub present: u32,
    /// Installations that left the zone during the minute.
    pub left: u32,
    /// Mean dwell time in seconds of those that left (0 when none left).
    pub mean_dwell_s: f64,
    /// People in line at the zone's stand (read or estimated), if it has one.
    pub queue_length: Option<u32>,
}

/// Social buzz about one event in one minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuzzPoint {
    /// The event.
    pub event_id: Id,
    /// Posts mentioning it.
    pub posts: u32,
    /// Sum of the posts' authors' reach.
    pub reach: u64,
    /// Mean sentiment in [-1, 1] (0 without posts).
    pub sentiment: f64,
    /// Posts with positive sentiment.
    pub positive: u32,
    /// Posts with negative sentiment.
    pub negative: u32,
}

/// The measure a feature carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureBody {
    /// Sell-out features of a category.
    SellOut(SellOutFeatures),
    /// Occupancy of a zone over a minute.
    Occupancy(ZoneOccupancy),
    /// Buzz about an event over a minute.
    Buzz(BuzzPoint),
}

impl FeatureBody {
    /// The `snake_case` name of the measure.
    pub fn type_name(&self) -> &'static str {
        match self {
            FeatureBody::SellOut(_) => "sell_out",
            FeatureBody::Occupancy(_) => "occupancy",
            FeatureBody::Buzz(_) => "buzz",
        }
    }
}

/// One feature record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// Deterministic id (see [`output_id`]).
    pub id: u64,
    /// Event time the feature describes (the end of its minute, or the snapshot time).
    pub time: Timestamp,
    /// The measure.
    pub body: FeatureBody,
}

impl Feature {
    /// The key the feature is partitioned by: its event, else its venue.
    pub fn key(&self) -> &str {
        match &self.body {
            FeatureBody::SellOut(f) => &f.event_id,
            FeatureBody::Occupancy(o) => &o.venue_id,
            FeatureBody::Buzz(b) => &b.event_id,
        }
    }
}

/// Appends signals to a batch in their wire form.
pub fn push_signal(batch: &mut Batch, signal: &Signal) {
    batch.push_with(signal.key().as_bytes(), signal.time, |buf| {
        wire::encode_into(signal, buf)
    });
}

/// Appends features to a batch in their wire form.
pub fn push_feature(batch: &mut Batch, feature: &Feature) {
    batch.push_with(feature.key().as_bytes(), feature.time, |buf| {
        wire::encode_into(feature, buf)
    });
}

/// Decodes a value read from the `signals` topic.
pub fn decode_signal(bytes: &[u8]) -> Result<Signal, wire::WireError> {
    wire::decode_value("signals", bytes)
}

/// Decodes a value read from the `features` topic.
pub fn decode_feature(bytes: &[u8]) -> Result<Feature, wire::WireError> {
    wire::decode_value("features", bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_length_prefixed() {
        assert_eq!(output_id(&[b"ab", b"c"]), output_id(&[b"ab", b"c"]));
        assert_ne!(output_id(&[b"ab", b"c"]), output_id(&[b"a", b"bc"]));
        // A fixed value: ids are stored, so the function must never change.
        assert_eq!(output_id(&[]), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn signals_and_features_round_trip_on_the_wire_and_in_json() {
        let signal = Signal {
            id: 7,
            kind: SignalKind::CartAbandoned,
            time: 1_795_000_000_000,
            event_id: Some("ev-1".into()),
            category_id: None,
            venue_id: None,
            zone_id: None,
            detail: SignalDetail::Cart {
                session_id: "s-1".into(),
                customer_id: None,
                categories: vec!["cat-1".into()],
                quantity: 2,
                value_minor: 9000,
                currency: "GBP".into(),
                held_at: 1_794_999_400_000,
            },
        };
        let mut batch = Batch::new();
        push_signal(&mut batch, &signal);
        let mut buf = Vec::new();
        wire::encode_into(&signal, &mut buf);
        assert_eq!(decode_signal(&buf).unwrap(), signal);
        let json = serde_json::to_string(&signal).unwrap();
        assert!(json.contains("\"kind\":\"cart_abandoned\""), "{json}");
        assert_eq!(serde_json::from_str::<Signal>(&json).unwrap(), signal);

        let feature = Feature {
            id: 9,
            time: 5,
            body: FeatureBody::Buzz(BuzzPoint {
                event_id: "ev-1".into(),
                posts: 3,
                reach: 10,
                sentiment: 0.5,
                positive: 2,
                negative: 0,
            }),
        };
        let mut buf = Vec::new();
        wire::encode_into(&feature, &mut buf);
        assert_eq!(decode_feature(&buf).unwrap(), feature);
    }
}
