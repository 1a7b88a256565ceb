//! Record types: what arrives on the input topics, as Rust types.
//!
//! Each type has an Arrow schema (see [`crate::arrow`]) and a compact binary wire form
//! for the streams ([`wire`]); all three convert without loss. In JSON, times are
//! RFC 3339 strings (integer milliseconds since the epoch are accepted too), money is
//! integer minor units with an ISO 4217 currency, and enums are `snake_case` strings.

mod beacon;
mod queue;
mod sale;
mod social;
pub mod time;
pub mod wire;

pub use beacon::{BeaconRecord, Proximity};
pub use queue::QueueRecord;
pub use sale::{Channel, SaleKind, SaleRecord};
pub use social::SocialRecord;

pub use sellout_streams::Timestamp;
use serde::{Deserialize, Serialize};

/// A short identifier (event, category, session, installation, ...). Ids up to 24
/// bytes are stored inline, so records don't allocate for them.
pub type Id = compact_str::CompactString;

/// The input topics, one per record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Sale records: views, carts, checkouts, purchases, refunds.
    Sales,
    /// Beacon sightings from attendees' phones.
    Beacons,
    /// Social posts that mention events.
    Social,
    /// Queue readings at stands.
    Queues,
}

impl Topic {
    /// Every input topic.
    pub const ALL: [Topic; 4] = [Topic::Sales, Topic::Beacons, Topic::Social, Topic::Queues];

    /// The topic's stream name.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Sales => "sales",
            Topic::Beacons => "beacons",
            Topic::Social => "social",
            Topic::Queues => "queues",
        }
    }

    /// The CloudEvents `type` that carries records of this topic.
    pub fn cloudevent_type(self) -> &'static str {
        match self {
            Topic::Sales => "sellout.sale.v1",
            Topic::Beacons => "sellout.beacon.v1",
            Topic::Social => "sellout.social.v1",
            Topic::Queues => "sellout.queue.v1",
        }
    }

    /// The topic whose records a CloudEvents `type` carries.
    pub fn from_cloudevent_type(ty: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.cloudevent_type() == ty)
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Topic {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topic::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!("unknown topic {s:?}: expected one of sales, beacons, social, queues")
            })
    }
}

/// A record of any input topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "topic", rename_all = "snake_case")]
pub enum AnyRecord {
    /// A sale record.
    Sales(SaleRecord),
    /// A beacon sighting.
    Beacons(BeaconRecord),
    /// A social post.
    Social(SocialRecord),
    /// A queue reading.
    Queues(QueueRecord),
}

impl AnyRecord {
    /// The topic this record belongs on.
    pub fn topic(&self) -> Topic {
        match self {
            AnyRecord::Sales(_) => Topic::Sales,
            AnyRecord::Beacons(_) => Topic::Beacons,
            AnyRecord::Social(_) => Topic::Social,
            AnyRecord::Queues(_) => Topic::Queues,
        }
    }

    /// The record's event time.
    pub fn time(&self) -> Timestamp {
        match self {
            AnyRecord::Sales(r) => r.time,
            AnyRecord::Beacons(r) => r.time,
            AnyRecord::Social(r) => r.time,
            AnyRecord::Queues(r) => r.time,
        }
    }

    /// The routing key: the `event_id` for sales, the venue for beacons and queues,
    /// the first referenced event for social posts.
    pub fn key(&self) -> &str {
        match self {
            AnyRecord::Sales(r) => &r.event_id,
            AnyRecord::Beacons(r) => &r.venue_id,
            AnyRecord::Social(r) => r.event_ids.first().map(|s| s.as_str()).unwrap_or(""),
            AnyRecord::Queues(r) => &r.venue_id,
        }
    }

    /// Appends the record as one JSON object (without the `topic` tag) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing these plain structs into a Vec cannot fail.
        let _ = match self {
            AnyRecord::Sales(r) => serde_json::to_writer(&mut *out, r),
            AnyRecord::Beacons(r) => serde_json::to_writer(&mut *out, r),
            AnyRecord::Social(r) => serde_json::to_writer(&mut *out, r),
            AnyRecord::Queues(r) => serde_json::to_writer(&mut *out, r),
        };
    }

    /// The record as one JSON object (without the `topic` tag).
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            AnyRecord::Sales(r) => serde_json::to_value(r),
            AnyRecord::Beacons(r) => serde_json::to_value(r),
            AnyRecord::Social(r) => serde_json::to_value(r),
            AnyRecord::Queues(r) => serde_json::to_value(r),
        };
        // Serialising these plain structs to a JSON value cannot fail.
        value.unwrap_or(serde_json::Value::Null)
    }
}
