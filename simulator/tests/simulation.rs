//! Black-box behaviour of the simulation: determinism, time order, inventory, the closed
//! price loop, carts, the venue day and social posts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use sellout_ingest::catalog::{Catalog, ZoneKind};
use sellout_ingest::records::{AnyRecord, Proximity, SaleKind, Timestamp};
use sellout_simulator::venue::DayTimes;
use sellout_simulator::{ListPrices, PriceSource, SimConfig, Simulation};

const MINUTE: i64 = 60_000;

/// A short sale with little demand and few phones: quick in debug builds.
fn small(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        sale_days: 2.0,
        scale: 0.03,
        app_share: 0.05,
        beacon_interval_s: 30,
        ..SimConfig::default()
    }
}

fn sales_only(seed: u64) -> SimConfig {
    SimConfig {
        include_venue_day: false,
        include_social: false,
        ..small(seed)
    }
}

fn sim(config: SimConfig) -> Simulation {
    Simulation::new(config, Arc::new(ListPrices)).expect("valid config")
}

#[test]
fn same_seed_same_records_different_seed_different_records() {
    let a: Vec<AnyRecord> = sim(small(7)).take(30_000).collect();
    let b: Vec<AnyRecord> = sim(small(7)).take(30_000).collect();
    assert_eq!(a.len(), 30_000);
    assert_eq!(a, b);
    let c: Vec<AnyRecord> = sim(small(8)).take(30_000).collect();
    assert_ne!(a, c);
    assert_eq!(sim(small(7)).catalog(), sim(small(7)).catalog());
    assert_eq!(sim(small(7)).truth(), sim(small(7)).truth());
}

#[test]
fn records_come_in_time_order_within_the_horizon() {
    let mut s = sim(small(11));
    let (from, to) = s.horizon();
    let mut last = from;
    let mut topics = BTreeMap::new();
    while let Some(r) = s.next() {
        let t = r.time();
        assert!(t >= last, "time went back from {last} to {t}");
        assert!(t <= to && t <= s.now());
        last = t;
        *topics.entry(r.topic()).or_insert(0u64) += 1;
    }
    assert_eq!(topics.len(), 4, "{topics:?}");
    assert!((s.progress() - 1.0).abs() < 1e-9);
    assert_eq!(s.stats().records_total, topics.values().sum::<u64>());
}

#[test]
fn inventory_never_exceeds_capacity_even_when_selling_out() {
    let config = SimConfig {
        sale_days: 1.0,
        scale: 0.5,
        hotness: vec![1.0, 2.0, 3.0],
        ..sales_only(12)
    };
    let mut s = sim(config);
    let catalog = s.catalog().clone();
    let mut net: HashMap<(String, String), i64> = HashMap::new();
    for r in s.by_ref() {
        let AnyRecord::Sales(sale) = r else { continue };
        let capacity = catalog
            .event(&sale.event_id)
            .unwrap()
            .category(&sale.category_id)
            .unwrap()
            .capacity;
        let sold = net
            .entry((sale.event_id.to_string(), sale.category_id.to_string()))
            .or_default();
        match sale.kind {
            SaleKind::Purchase => *sold += i64::from(sale.quantity),
            SaleKind::Refund => *sold -= i64::from(sale.quantity),
            _ => {}
        }
        assert!(*sold >= 0 && *sold <= i64::from(capacity), "{sale:?}");
    }
    let stats = s.stats();
    for ((event, category), sold) in net {
        let c = &stats.events[&event].categories[&category];
        assert_eq!(i64::from(c.sold), sold);
        assert_eq!(c.held, 0, "every hold ended");
    }
    let sold_out = stats
        .events
        .values()
        .filter(|e| e.sold_out_at.is_some())
        .count();
    assert!(sold_out >= 2, "the test needs sell-outs: {stats:?}");
}

/// Answers a constant multiple of the catalog's list prices.
struct Scaled {
    lists: HashMap<(String, String), i64>,
    factor: f64,
}

impl Scaled {
    fn new(catalog: &Catalog, factor: f64) -> Self {
        let lists = catalog
            .events
            .iter()
            .flat_map(|e| {
                e.categories.iter().map(|c| {
                    (
                        (e.event_id.to_string(), c.category_id.to_string()),
                        c.list_price_minor,
                    )
                })
            })
            .collect();
        Self { lists, factor }
    }
}

impl PriceSource for Scaled {
    fn price(&self, event_id: &str, category_id: &str, _at: Timestamp) -> Option<i64> {
        let list = self
            .lists
            .get(&(event_id.to_owned(), category_id.to_owned()))?;
        Some((*list as f64 * self.factor).round() as i64)
    }
}

#[test]
fn higher_prices_sell_fewer_tickets() {
    let config = sales_only(5);
    let list = sim(config.clone());
    let catalog = list.catalog().clone();
    let sold = |s: Simulation| -> (u64, u64) {
        let mut tickets = 0;
        let mut records = 0;
        for r in s {
            records += 1;
            if let AnyRecord::Sales(sale) = r {
                match sale.kind {
                    SaleKind::Purchase => tickets += u64::from(sale.quantity),
                    SaleKind::Refund => tickets -= u64::from(sale.quantity),
                    _ => {}
                }
            }
        }
        (tickets, records)
    };
    let (at_list, _) = sold(list);
    let doubled = Simulation::new(config.clone(), Arc::new(Scaled::new(&catalog, 2.0))).unwrap();
    let first_price = doubled.take(1).next();
    let (at_double, _) =
        sold(Simulation::new(config, Arc::new(Scaled::new(&catalog, 2.0))).unwrap());
    assert!(
        at_double * 2 < at_list,
        "2× list sold {at_double}, list sold {at_list}"
    );
    // Shoppers saw the price the source answered.
    let Some(AnyRecord::Sales(sale)) = first_price else {
        panic!("the on-sale starts with a sale record")
    };
    let list_price = catalog
        .event(&sale.event_id)
        .unwrap()
        .category(&sale.category_id)
        .unwrap()
        .list_price_minor;
    assert_eq!(sale.unit_price_minor, 2 * list_price);
}

#[test]
fn carts_end_in_a_purchase_within_the_hold_or_in_nothing() {
    let config = sales_only(3);
    let hold = i64::from(config.cart_hold_minutes) * MINUTE;
    #[derive(Default)]
    struct Cart {
        added: Option<Timestamp>,
        purchased: Option<Timestamp>,
        last: Timestamp,
        removed: bool,
    }
    let mut carts: HashMap<String, Cart> = HashMap::new();
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut s = sim(config);
    for r in s.by_ref() {
        let AnyRecord::Sales(sale) = r else { continue };
        *kinds.entry(sale.kind.as_str()).or_default() += 1;
        let c = carts.entry(sale.session_id.to_string()).or_default();
        match sale.kind {
            SaleKind::CartAdd => {
                assert!(c.added.is_none(), "one cart per session");
                assert!((1..=10).contains(&sale.quantity));
                c.added = Some(sale.time);
            }
            SaleKind::Purchase => {
                assert!(c.purchased.is_none() && !c.removed);
                assert!(sale.customer_id.is_some(), "buyers are identified");
                c.purchased = Some(sale.time);
            }
            SaleKind::CartRemove => c.removed = true,
            SaleKind::View => assert_eq!(sale.quantity, 0),
            SaleKind::Checkout | SaleKind::Refund => {}
        }
        if sale.kind != SaleKind::Refund {
            c.last = sale.time;
        }
    }
    let mut abandoned = 0;
    for (session, c) in &carts {
        let Some(added) = c.added else {
            assert!(c.purchased.is_none(), "{session} bought without a cart");
            continue;
        };
        // Nothing but a refund after the hold ends.
        assert!(
            c.last <= added + hold,
            "{session} acted after its hold expired"
        );
        match c.purchased {
            Some(t) => assert!(t > added && t <= added + hold),
            None => abandoned += 1,
        }
    }
    assert!(abandoned > 0, "some carts are abandoned");
    assert_eq!(s.stats().carts_abandoned, abandoned);
    for kind in ["view", "cart_add", "cart_remove", "checkout", "purchase"] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} in {kinds:?}"
        );
    }
}

#[test]
fn venue_day_beacons_come_from_ticket_holders_and_queues_form_at_the_interval() {
    let config = SimConfig {
        events: 1,
        app_share: 0.1,
        ..small(21)
    };
    let mut s = sim(config);
    let catalog = s.catalog().clone();
    let event = &catalog.events[0];
    let venue = catalog.venue(&event.venue_id).unwrap();
    let day = DayTimes::of(event.start);
    let kinds: HashMap<&str, ZoneKind> = venue
        .zones
        .iter()
        .map(|z| (z.zone_id.as_str(), z.kind))
        .collect();
    let mut seats: HashMap<String, i64> = HashMap::new();
    let mut installations = BTreeSet::new();
    let mut beacons = 0u64;
    let mut before_doors: Vec<u32> = Vec::new();
    let mut at_interval: Vec<u32> = Vec::new();
    let mut gate_peak = (0u32, 0i64);
    for r in s.by_ref() {
        match r {
            AnyRecord::Sales(sale) => {
                let delta = match sale.kind {
                    SaleKind::Purchase => i64::from(sale.quantity),
                    SaleKind::Refund => -i64::from(sale.quantity),
                    _ => 0,
                };
                if let Some(customer) = &sale.customer_id {
                    *seats.entry(customer.to_string()).or_default() += delta;
                }
            }
            AnyRecord::Beacons(b) => {
                beacons += 1;
                assert_eq!(b.venue_id, venue.venue_id);
                assert!(b.time >= day.open && b.time <= day.close);
                let zone = venue
                    .zones
                    .iter()
                    .find(|z| z.zone_id == b.zone_id)
                    .expect("known zone");
                assert!(zone.beacons.contains(&b.beacon_id));
                assert!((-95..=-40).contains(&b.rssi));
                match b.proximity {
                    Proximity::Immediate => assert!(b.rssi >= -55),
                    Proximity::Near => assert!((-75..-55).contains(&b.rssi)),
                    Proximity::Far => assert!(b.rssi < -75),
                    Proximity::Unknown => assert!(b.rssi <= -88),
                }
                // ins-000123 is customer cus-000123's phone; ins-000123-2 the second seat's.
                let rest = b
                    .installation_id
                    .strip_prefix("ins-")
                    .expect("installation id");
                let (customer, seat) = match rest.split_once('-') {
                    Some((c, k)) => (c, k.parse::<i64>().unwrap()),
                    None => (rest, 1),
                };
                let held = seats.get(&format!("cus-{customer}")).copied().unwrap_or(0);
                assert!(seat <= held, "{} holds {held} seats", b.installation_id);
                installations.insert(b.installation_id.clone());
            }
            AnyRecord::Queues(q) => {
                let kind = kinds[q.zone_id.as_str()];
                if kind == ZoneKind::Gate && q.length > gate_peak.0 {
                    gate_peak = (q.length, q.time);
                }
                if matches!(kind, ZoneKind::Food | ZoneKind::Bar) {
                    if q.time < day.doors {
                        before_doors.push(q.length);
                    } else if (day.interval..day.interval_end).contains(&q.time) {
                        at_interval.push(q.length);
                    }
                }
            }
            AnyRecord::Social(_) => {}
        }
    }
    let stats = s.stats();
    let sold = stats.events[event.event_id.as_str()].tickets_sold;
    assert!(sold > 1000, "sold {sold}");
    assert_eq!(stats.events[event.event_id.as_str()].attendees, sold);
    let with_app = stats.events[event.event_id.as_str()].app_attendees;
    assert_eq!(installations.len() as u64, with_app, "every phone reports");
    assert!(with_app as f64 > 0.05 * sold as f64 && (with_app as f64) < 0.15 * sold as f64);
    // A phone reports every 30 s for hours.
    assert!(
        beacons > with_app * 200,
        "{beacons} sightings from {with_app} phones"
    );
    let mean = |v: &[u32]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len().max(1) as f64;
    assert!(!before_doors.is_empty() && !at_interval.is_empty());
    assert!(
        mean(&at_interval) > mean(&before_doors) + 1.0,
        "interval {} vs before doors {}",
        mean(&at_interval),
        mean(&before_doors)
    );
    // Gates are busiest as people arrive, not during the show.
    assert!(gate_peak.0 > 0 && (day.open..day.start + 30 * MINUTE).contains(&gate_peak.1));
    assert_eq!(s.attendees_present(), 0, "everyone left");
    assert_eq!(s.state_sizes().attendees, 0, "the day's state is freed");
}

#[test]
fn social_posts_come_in_four_languages_and_mention_known_events() {
    let config = SimConfig {
        include_venue_day: false,
        ..small(4)
    };
    let mut s = sim(config);
    let catalog = s.catalog().clone();
    let mut languages: BTreeMap<String, u64> = BTreeMap::new();
    let mut negated = 0;
    let mut reaches = Vec::new();
    for r in s.by_ref() {
        let AnyRecord::Social(post) = r else { continue };
        *languages.entry(post.language.to_string()).or_default() += 1;
        assert!(post.event_ids.iter().all(|e| catalog.event(e).is_some()));
        let text = post.text.to_lowercase();
        if [
            "not happy",
            "pas content",
            "nicht gut",
            "no me gusta",
            "not bad",
            "pas mal",
            "nicht schlecht",
        ]
        .iter()
        .any(|p| text.contains(p))
        {
            negated += 1;
        }
        reaches.push(post.author_reach);
    }
    for l in ["en", "fr", "de", "es"] {
        assert!(
            languages.get(l).copied().unwrap_or(0) > 0,
            "no {l} posts: {languages:?}"
        );
    }
    assert!(negated > 0);
    reaches.sort_unstable();
    let median = reaches[reaches.len() / 2];
    let max = *reaches.last().unwrap();
    assert!(
        max > 50 * median,
        "reach is heavy-tailed: median {median}, max {max}"
    );
}

#[test]
fn expected_arrivals_from_the_truth_match_the_sessions() {
    let config = SimConfig {
        scale: 0.2,
        ..sales_only(9)
    };
    let s = sim(config);
    let truth = s.truth().clone();
    let (from, to) = s.horizon();
    let expected: f64 = truth
        .events
        .iter()
        .map(|e| {
            (from..to)
                .step_by(MINUTE as usize)
                .map(|t| e.arrival_rate(t + MINUTE / 2, truth.scale))
                .sum::<f64>()
        })
        .sum();
    let mut s = s;
    for _ in s.by_ref() {}
    let sessions = s.stats().sessions as f64;
    assert!(
        (sessions - expected).abs() < 0.03 * expected + 50.0,
        "{sessions} sessions, {expected:.0} expected"
    );
    // The first event is hot and sells out within hours at this scale.
    assert!(s.stats().events["ev-001"].sold_out_at.is_some());
}

#[test]
fn config_defaults_and_checks() {
    let config: SimConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(config, SimConfig::default());
    assert_eq!(config.start, sellout_simulator::DEFAULT_START);
    let json = serde_json::to_string(&config).unwrap();
    assert!(
        json.contains("\"start\":\"2026-11-23T09:00:00.000Z\""),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<SimConfig>(&json).unwrap(), config);
    assert!(serde_json::from_str::<SimConfig>(r#"{"sead": 1}"#).is_err());
    for bad in [
        SimConfig {
            events: 0,
            ..SimConfig::default()
        },
        SimConfig {
            scale: -1.0,
            ..SimConfig::default()
        },
        SimConfig {
            app_share: 1.5,
            ..SimConfig::default()
        },
        SimConfig {
            beacon_interval_s: 0,
            ..SimConfig::default()
        },
    ] {
        assert!(Simulation::new(bad, Arc::new(ListPrices)).is_err());
    }
}
