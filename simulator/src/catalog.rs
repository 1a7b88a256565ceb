//! The generated catalog: four venues with zones and beacons, and events cycling over them.
//!
//! Venues follow `DOMAIN.md`: a 70,000-seat stadium in London, a 15,000 arena in Paris, a
//! 1,500 club in Berlin and the 50,800-place stadium of the box-office example in Madrid.
//! Each has gates (lanes × scans per minute), food stands, bars, merchandise stands
//! (tills × people served per minute), toilets and seating blocks, each zone covered by
//! one to three beacons. Events take the venue's categories (stadiums 4–5, the arena 3,
//! the club 2 including standing), capacities summing to the venue, list prices in minor
//! units around £45–£150, floor 0.6 × list, cap 2.5 × list.

use rand::Rng;
use sellout_ingest::catalog::{
    Catalog, CatalogError, Category, Event, Venue, VenueKind, Zone, ZoneKind,
};
use sellout_ingest::records::Id;
use sellout_streams::Timestamp;

use crate::SimConfig;
use crate::random::{self, streams};

/// Milliseconds in a minute, an hour, a day.
pub(crate) const MINUTE: i64 = 60_000;
pub(crate) const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;

/// A venue's shape: counts of zones and their service capacity.
struct Layout {
    code: &'static str,
    name: &'static str,
    kind: VenueKind,
    city: &'static str,
    country: &'static str,
    /// Country tag for audiences (`cc:UK`).
    cc: &'static str,
    currency: &'static str,
    /// (count, tills or lanes, people per minute per till).
    gates: (u32, u32, f64),
    food: (u32, u32, f64),
    bars: (u32, u32, f64),
    merch: (u32, u32, f64),
    toilets: u32,
    blocks: u32,
    /// (id, name, capacity, list price in major units).
    categories: &'static [(&'static str, &'static str, u32, i64)],
    /// The kind of show held there.
    show: Show,
}

/// What is on at a venue: name, hashtag and tags.
struct Show {
    name: &'static str,
    hashtag: &'static str,
    tags: &'static [&'static str],
}

const LAYOUTS: [Layout; 4] = [
    Layout {
        code: "lon",
        name: "London Stadium North",
        kind: VenueKind::Stadium,
        city: "London",
        country: "GB",
        cc: "cc:UK",
        currency: "GBP",
        gates: (8, 10, 10.0),
        food: (24, 6, 1.5),
        bars: (20, 6, 2.5),
        merch: (6, 4, 1.0),
        toilets: 16,
        blocks: 16,
        categories: &[
            ("cat-1", "Category 1", 8_000, 150),
            ("cat-2", "Category 2", 14_000, 110),
            ("cat-3", "Category 3", 18_000, 85),
            ("cat-4", "Category 4", 14_000, 65),
            ("standing", "Standing (pitch)", 16_000, 95),
        ],
        show: Show {
            name: "The Midnight Arrows: Stadium Tour",
            hashtag: "#MidnightArrows",
            tags: &["genre:rock"],
        },
    },
    Layout {
        code: "par",
        name: "Arena Paris Est",
        kind: VenueKind::Arena,
        city: "Paris",
        country: "FR",
        cc: "cc:FR",
        currency: "EUR",
        gates: (4, 5, 10.0),
        food: (8, 5, 1.5),
        bars: (8, 4, 2.5),
        merch: (3, 3, 1.0),
        toilets: 6,
        blocks: 8,
        categories: &[
            ("floor", "Standing floor", 5_000, 79),
            ("lower", "Lower tier", 6_000, 99),
            ("upper", "Upper tier", 4_000, 59),
        ],
        show: Show {
            name: "Luna Vega Live",
            hashtag: "#LunaVega",
            tags: &["genre:pop"],
        },
    },
    Layout {
        code: "ber",
        name: "Klub Spree",
        kind: VenueKind::Club,
        city: "Berlin",
        country: "DE",
        cc: "cc:DE",
        currency: "EUR",
        gates: (1, 3, 8.0),
        food: (1, 2, 1.5),
        bars: (2, 3, 2.5),
        merch: (1, 1, 1.0),
        toilets: 2,
        blocks: 2,
        categories: &[
            ("standing", "Standing", 1_300, 45),
            ("balcony", "Balcony", 200, 55),
        ],
        show: Show {
            name: "Nordlicht Collective",
            hashtag: "#Nordlicht",
            tags: &["genre:electronic"],
        },
    },
    Layout {
        code: "mad",
        name: "Estadio del Sur",
        kind: VenueKind::Stadium,
        city: "Madrid",
        country: "ES",
        cc: "cc:ES",
        currency: "EUR",
        gates: (6, 10, 10.0),
        food: (18, 6, 1.5),
        bars: (16, 6, 2.5),
        merch: (4, 4, 1.0),
        toilets: 12,
        blocks: 12,
        categories: &[
            ("cat-1", "Categoría 1", 6_000, 150),
            ("cat-2", "Categoría 2", 12_000, 110),
            ("cat-3", "Categoría 3", 16_800, 80),
            ("cat-4", "Categoría 4", 16_000, 45),
        ],
        show: Show {
            name: "Copa Final: Leones v Marineros",
            hashtag: "#CopaFinal",
            tags: &["sport:football"],
        },
    },
];

/// Number of venue layouts events cycle over.
pub(crate) const VENUES: usize = LAYOUTS.len();

/// What the rest of the simulator needs to know about an event beyond the catalog.
#[derive(Debug, Clone)]
pub(crate) struct EventInfo {
    /// The hashtag posts use.
    pub hashtag: String,
    /// The venue country's main language (`en`, `fr`, `de`, `es`).
    pub language: &'static str,
}

/// Generates the catalog for `config`, with per-event extras in event order.
pub(crate) fn generate(config: &SimConfig) -> Result<(Catalog, Vec<EventInfo>), CatalogError> {
    let mut rng = random::stream(config.seed, streams::CATALOG);
    let venues: Vec<Venue> = LAYOUTS.iter().map(|l| venue(l, &mut rng)).collect();
    let mut events = Vec::with_capacity(config.events);
    let mut infos = Vec::with_capacity(config.events);
    let stagger = (config.on_sale_stagger_hours * HOUR as f64) as i64;
    let sale = (config.sale_days * DAY as f64) as i64;
    for i in 0..config.events {
        let v = i % VENUES;
        let layout = &LAYOUTS[v];
        let on_sale = config.start + i as i64 * stagger;
        // An on-sale at 09:00 gives a show at 19:30 `sale_days` later.
        let start = on_sale + sale + 10 * HOUR + 30 * MINUTE;
        // The first event keeps round prices; later ones are priced around them.
        let factor = if i == 0 {
            1.0
        } else {
            random::uniform(&mut rng, 0.85, 1.2)
        };
        let categories = layout
            .categories
            .iter()
            .map(|&(id, name, capacity, major)| {
                let list = ((major as f64 * factor).round() as i64) * 100;
                Category {
                    category_id: Id::from(id),
                    name: name.to_owned(),
                    capacity,
                    list_price_minor: list,
                    floor_minor: (list as f64 * 0.6).round() as i64,
                    cap_minor: (list as f64 * 2.5).round() as i64,
                    currency: Id::from(layout.currency),
                }
            })
            .collect();
        let round = i / VENUES;
        let name = if round == 0 {
            layout.show.name.to_owned()
        } else {
            format!("{} (date {})", layout.show.name, round + 1)
        };
        let mut tags: Vec<String> = layout.show.tags.iter().map(|t| (*t).to_owned()).collect();
        tags.push(layout.cc.to_owned());
        tags.push(format!("city:{}", layout.city.to_lowercase()));
        tags.push(format!("venue:{}", kind_name(layout.kind)));
        tags.push(format!("weekday:{}", weekday(start)));
        events.push(Event {
            event_id: compact_str::format_compact!("ev-{:03}", i + 1),
            name,
            venue_id: venues[v].venue_id.clone(),
            on_sale,
            start,
            tags,
            categories,
        });
        infos.push(EventInfo {
            hashtag: layout.show.hashtag.to_owned(),
            language: language_of(layout.country),
        });
    }
    Ok((Catalog::new(venues, events)?, infos))
}

fn venue(l: &Layout, rng: &mut impl Rng) -> Venue {
    let mut zones = Vec::new();
    let mut add = |kind: ZoneKind, prefix: &str, label: &str, count: u32, tills: u32, rate: f64| {
        for n in 1..=count {
            let zone_id = compact_str::format_compact!("{prefix}-{n:02}");
            let beacons = (1..=rng.random_range(1..=3u32))
                .map(|b| compact_str::format_compact!("{}-{zone_id}-b{b}", l.code))
                .collect();
            zones.push(Zone {
                zone_id,
                name: format!("{label} {n}"),
                kind,
                tills,
                service_rate_per_min: rate,
                beacons,
            });
        }
    };
    add(
        ZoneKind::Gate,
        "gate",
        "Gate",
        l.gates.0,
        l.gates.1,
        l.gates.2,
    );
    add(
        ZoneKind::Food,
        "food",
        "Food stand",
        l.food.0,
        l.food.1,
        l.food.2,
    );
    add(ZoneKind::Bar, "bar", "Bar", l.bars.0, l.bars.1, l.bars.2);
    add(
        ZoneKind::Merch,
        "merch",
        "Merchandise",
        l.merch.0,
        l.merch.1,
        l.merch.2,
    );
    add(ZoneKind::Toilet, "wc", "Toilets", l.toilets, 0, 0.0);
    add(ZoneKind::Seats, "block", "Block", l.blocks, 0, 0.0);
    Venue {
        venue_id: compact_str::format_compact!("{}-{}", l.code, kind_name(l.kind)),
        name: l.name.to_owned(),
        kind: l.kind,
        city: l.city.to_owned(),
        country: l.country.to_owned(),
        zones,
    }
}

fn kind_name(kind: VenueKind) -> &'static str {
    match kind {
        VenueKind::Stadium => "stadium",
        VenueKind::Arena => "arena",
        VenueKind::Club => "club",
    }
}

fn language_of(country: &str) -> &'static str {
    match country {
        "FR" => "fr",
        "DE" => "de",
        "ES" => "es",
        _ => "en",
    }
}

/// Lower-case English weekday of a time (the Unix epoch was a Thursday).
fn weekday(t: Timestamp) -> &'static str {
    const DAYS: [&str; 7] = ["thu", "fri", "sat", "sun", "mon", "tue", "wed"];
    DAYS[t.div_euclid(DAY).rem_euclid(7) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_sum_to_venues_and_prices_are_ordered() {
        let config = SimConfig {
            events: 4,
            ..SimConfig::default()
        };
        let (catalog, infos) = generate(&config).unwrap();
        let expected = [70_000, 15_000, 1_500, 50_800];
        for (e, want) in catalog.events.iter().zip(expected) {
            assert_eq!(e.capacity(), want, "{}", e.event_id);
            for c in &e.categories {
                assert!(c.floor_minor < c.list_price_minor && c.list_price_minor < c.cap_minor);
                assert!(
                    (3_000..=20_000).contains(&c.list_price_minor),
                    "{}",
                    c.list_price_minor
                );
            }
            assert!(e.tags.iter().any(|t| t.starts_with("cc:")));
        }
        assert_eq!(infos[1].language, "fr");
        for v in &catalog.venues {
            for z in &v.zones {
                assert!((1..=3).contains(&z.beacons.len()));
                assert!(
                    z.beacons
                        .iter()
                        .all(|b| b.len() <= 24 && !b.is_heap_allocated())
                );
            }
        }
        assert_eq!(weekday(crate::DEFAULT_START), "mon");
    }
}
