//! The event catalog: venues, events and their priced categories.
//!
//! Validation checks records against it (unknown event or category ids are rejected),
//! the simulator generates one, and later the pricing service reads floors, caps and
//! list prices from it. Stored as `catalog.json` in the data directory.

use std::path::Path;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::records::{Id, Timestamp};

/// What kind of place a venue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueKind {
    /// Tens of thousands of places, mostly seated.
    Stadium,
    /// Around ten to twenty thousand places.
    Arena,
    /// A few hundred to a couple of thousand places, mostly standing.
    Club,
}

/// What a zone of a venue is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// An entrance gate.
    Gate,
    /// A food stand.
    Food,
    /// A drinks bar.
    Bar,
    /// A merchandise stand.
    Merch,
    /// Toilets.
    Toilet,
    /// A seating block or standing area.
    Seats,
}

/// A zone of a venue, with the beacons that cover it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// Unique within the venue.
    pub zone_id: Id,
    /// Display name.
    pub name: String,
    /// What the zone is for.
    pub kind: ZoneKind,
    /// Tills (stands) or lanes (gates) serving people, 0 for seats and toilets.
    #[serde(default)]
    pub tills: u32,
    /// People one till or lane serves per minute.
    #[serde(default)]
    pub service_rate_per_min: f64,
    /// Beacons in the zone.
    pub beacons: Vec<Id>,
}

/// A venue and its zones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Venue {
    /// Unique id.
    pub venue_id: Id,
    /// Display name.
    pub name: String,
    /// Stadium, arena or club.
    pub kind: VenueKind,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Zones with beacons.
    pub zones: Vec<Zone>,
}

/// A priced seat category of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Unique within the event.
    pub category_id: Id,
    /// Display name ("Category 1", "Standing", ...).
    pub name: String,
    /// Sellable seats outside quotas.
    pub capacity: u32,
    /// The list (static) price of one seat, in minor units, all-in.
    pub list_price_minor: i64,
    /// The lowest price the category may be sold at.
    pub floor_minor: i64,
    /// The highest price the category may be sold at.
    pub cap_minor: i64,
    /// ISO 4217 currency of the prices.
    pub currency: Id,
}

/// Something being sold: a concert, a match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Unique id.
    pub event_id: Id,
    /// Display name.
    pub name: String,
    /// Where it happens.
    pub venue_id: Id,
    /// When the sale opens.
    #[serde(with = "crate::records::time")]
    pub on_sale: Timestamp,
    /// When the event starts (doors open about two hours before).
    #[serde(with = "crate::records::time")]
    pub start: Timestamp,
    /// Tags such as `genre:rock`, `cc:UK`, `sport:rugby`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Priced categories.
    pub categories: Vec<Category>,
}

impl Event {
    /// Total sellable capacity over all categories.
    pub fn capacity(&self) -> u64 {
        self.categories.iter().map(|c| u64::from(c.capacity)).sum()
    }

    /// The category with this id.
    pub fn category(&self, category_id: &str) -> Option<&Category> {
        self.categories
            .iter()
            .find(|c| c.category_id == category_id)
    }
}

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read or written.
    #[error("catalog file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid catalog.
    #[error("catalog file {path} is not valid: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's complaint, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The catalog is self-contradictory.
    #[error("catalog is inconsistent: {0}")]
    Inconsistent(String),
}

/// Venues and events, indexed for lookups on the ingest path.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Venues.
    pub venues: Vec<Venue>,
    /// Events.
    pub events: Vec<Event>,
    #[serde(skip)]
    event_index: FxHashMap<Id, usize>,
    #[serde(skip)]
    venue_index: FxHashMap<Id, usize>,
}

impl PartialEq for Catalog {
    fn eq(&self, other: &Self) -> bool {
        self.venues == other.venues && self.events == other.events
    }
}

impl Catalog {
    /// Builds a catalog and checks it: unique ids, known venues, floor ≤ list ≤ cap,
    /// one currency per category, the sale opening before the event.
    pub fn new(venues: Vec<Venue>, events: Vec<Event>) -> Result<Self, CatalogError> {
        let mut catalog = Catalog {
            venues,
            events,
            ..Catalog::default()
        };
        catalog.reindex()?;
        Ok(catalog)
    }

    fn reindex(&mut self) -> Result<(), CatalogError> {
        let bad = |m: String| Err(CatalogError::Inconsistent(m));
        self.venue_index.clear();
        self.event_index.clear();
        for (i, v) in self.venues.iter().enumerate() {
            if self.venue_index.insert(v.venue_id.clone(), i).is_some() {
                return bad(format!("venue {} appears twice", v.venue_id));
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            if self.event_index.insert(e.event_id.clone(), i).is_some() {
                return bad(format!("event {} appears twice", e.event_id));
            }
            if !self.venue_index.contains_key(&e.venue_id) {
                return bad(format!(
                    "event {} is at unknown venue {}",
                    e.event_id, e.venue_id
                ));
            }
            if e.on_sale >= e.start {
                return bad(format!("event {} goes on sale after it starts", e.event_id));
            }
            for (j, c) in e.categories.iter().enumerate() {
                if e.categories[..j]
                    .iter()
                    .any(|o| o.category_id == c.category_id)
                {
                    return bad(format!(
                        "category {} of event {} appears twice",
                        c.category_id, e.event_id
                    ));
                }
                if !(0 <= c.floor_minor
                    && c.floor_minor <= c.list_price_minor
                    && c.list_price_minor <= c.cap_minor)
                {
                    return bad(format!(
                        "category {} of event {}: need 0 <= floor ({}) <= list ({}) <= cap ({})",
                        c.category_id, e.event_id, c.floor_minor, c.list_price_minor, c.cap_minor
                    ));
                }
            }
        }
        Ok(())
    }

    /// The event with this id.
    pub fn event(&self, event_id: &str) -> Option<&Event> {
        self.event_index.get(event_id).map(|&i| &self.events[i])
    }

    /// The venue with this id.
    pub fn venue(&self, venue_id: &str) -> Option<&Venue> {
        self.venue_index.get(venue_id).map(|&i| &self.venues[i])
    }

    /// Loads and checks a catalog from a JSON file.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| CatalogError::Io {
            path: shown.clone(),
            source,
        })?;
        let mut catalog: Catalog =
            serde_json::from_slice(&bytes).map_err(|source| CatalogError::Parse {
                path: shown,
                source,
            })?;
        catalog.reindex()?;
        Ok(catalog)
    }

    /// Writes the catalog as pretty JSON, atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), CatalogError> {
        let shown = path.display().to_string();
        let io = |source| CatalogError::Io {
            path: shown.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| CatalogError::Inconsistent(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}
