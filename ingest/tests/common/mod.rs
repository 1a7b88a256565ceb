//! What the ingest integration tests share: "now" and a one-venue, one-event catalog.

use sellout_ingest::catalog::{Catalog, Category, Event, Venue, VenueKind, Zone, ZoneKind};

/// The tests' "now".
pub const NOW: i64 = 1_795_000_000_000;

/// Riverside Arena with a food court, and `evt-1` on sale with one category.
pub fn catalog() -> Catalog {
    let venue = Venue {
        venue_id: "ven-1".into(),
        name: "Riverside Arena".into(),
        kind: VenueKind::Arena,
        city: "Leeds".into(),
        country: "GB".into(),
        zones: vec![Zone {
            zone_id: "food-1".into(),
            name: "Food court".into(),
            kind: ZoneKind::Food,
            tills: 4,
            service_rate_per_min: 3.0,
            beacons: vec!["b-1".into()],
        }],
    };
    let event = Event {
        event_id: "evt-1".into(),
        name: "The Band".into(),
        venue_id: "ven-1".into(),
        on_sale: NOW - 86_400_000,
        start: NOW + 30 * 86_400_000,
        tags: vec!["genre:rock".into(), "cc:UK".into()],
        categories: vec![Category {
            category_id: "cat-1".into(),
            name: "Category 1".into(),
            capacity: 5000,
            list_price_minor: 9500,
            floor_minor: 6000,
            cap_minor: 20000,
            currency: "GBP".into(),
        }],
    };
    Catalog::new(vec![venue], vec![event]).expect("valid catalog")
}
