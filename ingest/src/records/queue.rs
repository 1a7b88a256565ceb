//! Queue readings: how many people wait at a stand.

use serde::{Deserialize, Serialize};

use super::{Id, Timestamp};

/// The length of one stand's queue at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueRecord {
    /// The venue.
    pub venue_id: Id,
    /// The zone the stand is in.
    pub zone_id: Id,
    /// The stand (food, drink, merchandise, ...).
    pub stand_id: Id,
    /// People waiting.
    pub length: u32,
    /// Event time.
    #[serde(with = "super::time")]
    pub time: Timestamp,
}
