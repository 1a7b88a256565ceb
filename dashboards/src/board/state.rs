//! [`BoardState`]: what the board knows, folded from the topics by the
//! [`Feed`](crate::feed::Feed) and read by the views. Bounded: events, categories,
//! venues and zones come from the catalog (records about unknown ids are counted and
//! skipped), and every series, history and list is a fixed-size ring.

use std::collections::BTreeMap;

use sellout_ingest::catalog::Catalog;

use super::series::{MinuteSeries, Ring};

/// Minutes kept per series (booking curve, heat map row, queue, buzz...).
pub const SERIES_MINUTES: usize = 240;
/// Price changes kept per category.
pub const PRICE_HISTORY: usize = 100;
/// Signals kept per event.
pub const EVENT_SIGNALS: usize = 50;
/// Alerts kept in the feed.
pub const ALERTS: usize = 200;
/// Zones or stands kept per venue beyond the catalog's (ids seen only on records).
pub const EXTRA_ZONES: usize = 32;

/// A sell-out forecast of one category.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Forecast {
    /// Event time of the features it was made from (ms).
    pub at_ms: i64,
    /// P(sold out within 7 days), when a model is loaded.
    pub p_7d: Option<f64>,
    /// P(sold out within 14 days), when a model is loaded.
    pub p_14d: Option<f64>,
    /// P(sold out before the event starts), when a model is loaded.
    pub p_by_start: Option<f64>,
    /// Expected sell-out time (ms), when the pace covers the seats before sales close.
    pub expected_ms: Option<i64>,
    /// Tickets per hour now (last 15 minutes, scaled).
    pub rate_now_per_h: f64,
    /// Tickets per hour over the last hour.
    pub rate_1h_per_h: f64,
    /// Tickets per hour over the last 24 hours.
    pub rate_24h_per_h: f64,
    /// Seats added to carts over the last hour.
    pub cart_adds_1h: u32,
}

/// One price change as shown.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PriceRow {
    /// When (ms).
    pub time_ms: i64,
    /// Price before (minor units).
    pub old_minor: i64,
    /// New price (minor units).
    pub new_minor: i64,
    /// Why (`repricer`, `override`, `limits`).
    pub reason: String,
    /// What proposed it, in words.
    pub detail: String,
}

/// A signal or price change as shown in lists (no session or customer ids).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlertRow {
    /// When (ms).
    pub time_ms: i64,
    /// Kind (`surge`, `slump`, `buzz`, `queue_long`, `price`...).
    pub kind: String,
    /// The event, when about one.
    pub event_id: Option<String>,
    /// The venue, when about one.
    pub venue_id: Option<String>,
    /// One line for people.
    pub text: String,
}

/// One priced category of an event.
#[derive(Debug, Clone)]
pub struct CategoryState {
    /// Category id.
    pub category_id: String,
    /// Display name.
    pub name: String,
    /// Sellable seats.
    pub capacity: u32,
    /// List price (minor units).
    pub list_minor: i64,
    /// Current price (minor units): the last price change, else the list price.
    pub price_minor: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Seats sold, net of refunds, counted from the `sales` topic.
    pub sold: i64,
    /// Latest forecast, from the latest sell-out features.
    pub forecast: Option<Forecast>,
    /// The latest sell-out features themselves: a sibling's context when another
    /// category of the event is scored.
    pub latest: Option<sellout_pipelines::output::SellOutFeatures>,
    /// Price changes, newest last.
    pub prices: Ring<PriceRow>,
    /// Price per minute.
    pub price_series: MinuteSeries,
}

/// One event on the board.
#[derive(Debug, Clone)]
pub struct EventState {
    /// Event id.
    pub event_id: String,
    /// Display name.
    pub name: String,
    /// Its venue.
    pub venue_id: String,
    /// When sales open (ms).
    pub on_sale_ms: i64,
    /// When it starts (ms).
    pub start_ms: i64,
    /// Its categories, in catalog order.
    pub categories: Vec<CategoryState>,
    /// Seats sold so far, per minute (the booking curve).
    pub booking: MinuteSeries,
    /// Abandoned carts per minute.
    pub abandoned: MinuteSeries,
    /// Abandoned carts in total.
    pub abandoned_total: u64,
    /// Social posts per minute.
    pub buzz_posts: MinuteSeries,
    /// Mean sentiment per minute.
    pub buzz_sentiment: MinuteSeries,
    /// Recent signals.
    pub signals: Ring<AlertRow>,
    /// Event time of the newest record about it (ms).
    pub last_ms: i64,
}

impl EventState {
    /// Seats sold over all categories.
    pub fn sold(&self) -> i64 {
        self.categories.iter().map(|c| c.sold).sum()
    }

    /// Seats over all categories.
    pub fn capacity(&self) -> u64 {
        self.categories.iter().map(|c| u64::from(c.capacity)).sum()
    }

    /// The category `id`.
    pub fn category_mut(&mut self, id: &str) -> Option<&mut CategoryState> {
        self.categories.iter_mut().find(|c| c.category_id == id)
    }
}

/// A zone of a venue on the heat map.
#[derive(Debug, Clone)]
pub struct ZoneState {
    /// Zone id.
    pub zone_id: String,
    /// Display name.
    pub name: String,
    /// People present at the end of each minute.
    pub occupancy: MinuteSeries,
}

/// A stand's queue.
#[derive(Debug, Clone)]
pub struct StandState {
    /// Stand id.
    pub stand_id: String,
    /// People in line per minute.
    pub length: MinuteSeries,
    /// Latest expected wait (minutes).
    pub wait_minutes: f64,
}

/// Voucher notifications about a venue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Vouchers {
    /// Handed to the push services (delivered + failed + pruned).
    pub sent: u64,
    /// Accepted by the push services.
    pub delivered: u64,
    /// Failed or pruned.
    pub failed: u64,
    /// Redeemed at a stand (`redeemed` records of the `deliveries` topic).
    pub redeemed: u64,
}

/// One venue.
#[derive(Debug, Clone)]
pub struct VenueState {
    /// Venue id.
    pub venue_id: String,
    /// Display name.
    pub name: String,
    /// Zones, catalog ones first.
    pub zones: Vec<ZoneState>,
    /// Stands with queues, by id.
    pub stands: BTreeMap<String, StandState>,
    /// Voucher notification outcomes.
    pub vouchers: Vouchers,
}

impl VenueState {
    /// The zone `id`, added when unknown and there is room.
    pub fn zone_mut(&mut self, id: &str, catalog_zones: usize) -> Option<&mut ZoneState> {
        if let Some(i) = self.zones.iter().position(|z| z.zone_id == id) {
            return self.zones.get_mut(i);
        }
        if self.zones.len() >= catalog_zones + EXTRA_ZONES {
            return None;
        }
        self.zones.push(ZoneState {
            zone_id: id.to_string(),
            name: id.to_string(),
            occupancy: MinuteSeries::new(SERIES_MINUTES),
        });
        self.zones.last_mut()
    }

    /// The stand `id`, added when there is room.
    pub fn stand_mut(&mut self, id: &str) -> Option<&mut StandState> {
        if !self.stands.contains_key(id) && self.stands.len() >= self.zones.len() + EXTRA_ZONES {
            return None;
        }
        Some(
            self.stands
                .entry(id.to_string())
                .or_insert_with(|| StandState {
                    stand_id: id.to_string(),
                    length: MinuteSeries::new(SERIES_MINUTES),
                    wait_minutes: 0.0,
                }),
        )
    }
}

/// Whole-system counters behind the KPIs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Records read from `sales`.
    pub sales_records: u64,
    /// Purchase records (each closes a cart).
    pub purchases: u64,
    /// Abandoned-cart signals.
    pub abandoned: u64,
    /// Records read from `deadletter`.
    pub deadlettered: u64,
    /// Records accepted on the input topics (`sales`, `beacons`, `social`, `queues`),
    /// from their offsets.
    pub accepted_inputs: u64,
    /// Records read from `signals`.
    pub signals: u64,
    /// Records read from `features`.
    pub features: u64,
    /// Records read from `prices`.
    pub price_changes: u64,
    /// Records read from `deliveries`.
    pub deliveries: u64,
    /// Deliveries accepted by a push service.
    pub delivered: u64,
    /// Deliveries failed or pruned.
    pub delivery_failed: u64,
    /// Records that could not be decoded (all topics).
    pub undecodable: u64,
    /// Records about an event, venue or category not in the catalog.
    pub unknown_ids: u64,
}

/// The whole board.
#[derive(Debug, Clone, Default)]
pub struct BoardState {
    /// Events by id.
    pub events: BTreeMap<String, EventState>,
    /// Venues by id.
    pub venues: BTreeMap<String, VenueState>,
    /// Catalog zones per venue (extra zones are bounded beyond these).
    pub catalog_zones: BTreeMap<String, usize>,
    /// Alerts, newest last.
    pub alerts: Option<Ring<AlertRow>>,
    /// Counters.
    pub counters: Counters,
    /// Event time of the newest record read (ms).
    pub as_of_ms: i64,
}

impl BoardState {
    /// An empty board with the catalog's events and venues.
    pub fn new(catalog: &Catalog) -> Self {
        let mut state = Self::default();
        state.sync_catalog(catalog);
        state
    }

    /// Adds the catalog's events, categories, venues and zones not yet on the board
    /// (a live catalog grows; what was shown stays).
    pub fn sync_catalog(&mut self, catalog: &Catalog) {
        for v in &catalog.venues {
            self.catalog_zones
                .insert(v.venue_id.to_string(), v.zones.len());
            let venue = self
                .venues
                .entry(v.venue_id.to_string())
                .or_insert_with(|| VenueState {
                    venue_id: v.venue_id.to_string(),
                    name: v.name.clone(),
                    zones: Vec::new(),
                    stands: BTreeMap::new(),
                    vouchers: Vouchers::default(),
                });
            for z in &v.zones {
                if !venue.zones.iter().any(|s| s.zone_id == z.zone_id) {
                    venue.zones.push(ZoneState {
                        zone_id: z.zone_id.to_string(),
                        name: z.name.clone(),
                        occupancy: MinuteSeries::new(SERIES_MINUTES),
                    });
                }
            }
        }
        for e in &catalog.events {
            let event = self
                .events
                .entry(e.event_id.to_string())
                .or_insert_with(|| EventState {
                    event_id: e.event_id.to_string(),
                    name: e.name.clone(),
                    venue_id: e.venue_id.to_string(),
                    on_sale_ms: e.on_sale,
                    start_ms: e.start,
                    categories: Vec::new(),
                    booking: MinuteSeries::new(SERIES_MINUTES),
                    abandoned: MinuteSeries::new(SERIES_MINUTES),
                    abandoned_total: 0,
                    buzz_posts: MinuteSeries::new(SERIES_MINUTES),
                    buzz_sentiment: MinuteSeries::new(SERIES_MINUTES),
                    signals: Ring::new(EVENT_SIGNALS),
                    last_ms: 0,
                });
            for c in &e.categories {
                if !event
                    .categories
                    .iter()
                    .any(|s| s.category_id == c.category_id)
                {
                    event.categories.push(CategoryState {
                        category_id: c.category_id.to_string(),
                        name: c.name.clone(),
                        capacity: c.capacity,
                        list_minor: c.list_price_minor,
                        price_minor: c.list_price_minor,
                        currency: c.currency.to_string(),
                        sold: 0,
                        forecast: None,
                        latest: None,
                        prices: Ring::new(PRICE_HISTORY),
                        price_series: MinuteSeries::new(SERIES_MINUTES),
                    });
                }
            }
        }
    }

    /// Appends an alert to the capped feed.
    pub fn alert(&mut self, row: AlertRow) {
        self.alerts
            .get_or_insert_with(|| Ring::new(ALERTS))
            .push(row);
    }

    /// Moves the board's clock (event time) forward.
    pub fn saw(&mut self, time_ms: i64) {
        self.as_of_ms = self.as_of_ms.max(time_ms);
    }
}
