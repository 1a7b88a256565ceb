//! Beacon sightings: an attendee's phone reporting the nearest beacon.

use serde::{Deserialize, Serialize};

use super::{Id, Timestamp};

/// The phone's coarse distance estimate to the beacon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proximity {
    /// Within about half a metre.
    Immediate,
    /// Within a few metres.
    Near,
    /// Further away.
    Far,
    /// The phone could not tell.
    Unknown,
}

impl Proximity {
    /// Every proximity class.
    pub const ALL: [Proximity; 4] = [
        Proximity::Immediate,
        Proximity::Near,
        Proximity::Far,
        Proximity::Unknown,
    ];

    /// The `snake_case` name used in JSON and Arrow.
    pub fn as_str(self) -> &'static str {
        match self {
            Proximity::Immediate => "immediate",
            Proximity::Near => "near",
            Proximity::Far => "far",
            Proximity::Unknown => "unknown",
        }
    }

    /// Parses the `snake_case` name.
    pub fn parse(s: &str) -> Option<Proximity> {
        Proximity::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// One sighting of a beacon by an app installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconRecord {
    /// The app installation (pseudonymous) that saw the beacon.
    pub installation_id: Id,
    /// The venue.
    pub venue_id: Id,
    /// The zone the beacon is in (gate, stand, bar, seating block, ...).
    pub zone_id: Id,
    /// The beacon.
    pub beacon_id: Id,
    /// Received signal strength in dBm (-120..=0).
    pub rssi: i16,
    /// Coarse distance.
    pub proximity: Proximity,
    /// Event time.
    #[serde(with = "super::time")]
    pub time: Timestamp,
}
