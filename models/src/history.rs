//! Training history from the simulator: sell-out feature snapshots of every category at
//! fixed times, each labelled with when (if ever) the category sold out, plus the ground
//! truth of each run for oracle evaluation.
//!
//! Features are computed here from the simulator's records in a simplified way that
//! matches [`SellOutFeatures`]' definitions (net sold, sales over the last 1 minute,
//! 15 minutes, 1 hour, 24 hours and the week, cart adds over the last hour, the
//! event's posts over the last hour, hours to the event and since its on-sale, the
//! opening hours' purchases, the latest price) — running the whole
//! pipelines engine would cost more and add nothing to the labels. Abandonment rate and
//! sentiment are left at 0: the models here don't use them.
//!
//! Snapshots: at 15 minutes, 30 minutes, 1, 2 and 4 hours after each on-sale (hot events
//! sell out in the first hour), then every `snapshot_hours` until sales close. Categories
//! already sold out are not snapshotted (their answer is certain).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use sellout_ingest::records::{AnyRecord, SaleKind, Timestamp};
use sellout_pipelines::output::{OPENING_HOURS, SellOutFeatures};
use sellout_simulator::{
    GroundTruth, ListPrices, PriceSource, SeededPriceChanges, SimConfig, Simulation,
};
use serde::{Deserialize, Serialize};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const WEEK: i64 = 7 * 24 * HOUR;

/// What history to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// One simulation per seed.
    pub seeds: Vec<u64>,
    /// Events per simulation (they cycle over the four venues).
    pub events: usize,
    /// Days between on-sale and the event.
    pub sale_days: f64,
    /// Arrival scale of the simulator.
    pub scale: f64,
    /// Hotness range the events' hotness is drawn from (seeded), `[lo, hi]`.
    pub hotness: (f64, f64),
    /// Hours between regular snapshots.
    pub snapshot_hours: f64,
    /// Seeded daily price changes (each event's prices move together to list times
    /// one of these factors, [`SeededPriceChanges`]); empty: list prices throughout.
    /// The sell-out oracle assumes list prices, so the evaluation keeps this empty.
    #[serde(default)]
    pub price_factors: Vec<f64>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            seeds: vec![101, 102, 103],
            events: 4,
            sale_days: 21.0,
            scale: 0.5,
            hotness: (0.1, 1.2),
            snapshot_hours: 6.0,
            price_factors: Vec::new(),
        }
    }
}

/// One feature snapshot with its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labelled {
    /// Simulation seed it comes from.
    pub seed: u64,
    /// Snapshot time.
    pub time: Timestamp,
    /// The features at that time.
    pub features: SellOutFeatures,
    /// The category's list price.
    pub list_minor: i64,
    /// When sales close.
    pub sales_close: Timestamp,
    /// When the category first sold out, if it did.
    pub sold_out_at: Option<Timestamp>,
}

/// Labelled snapshots and the ground truth of each run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// All snapshots, by seed then time.
    pub snapshots: Vec<Labelled>,
    /// Ground truth per seed.
    pub truths: Vec<GroundTruth>,
}

struct Cat {
    event: usize,
    id: sellout_ingest::records::Id,
    capacity: u32,
    list: i64,
    price: i64,
    sold: i64,
    sales: VecDeque<(Timestamp, u32)>,
    adds: VecDeque<(Timestamp, u32)>,
    sold_out_at: Option<Timestamp>,
    /// Tickets bought in the event's opening hours.
    opening: u32,
}

fn window_sum(q: &VecDeque<(Timestamp, u32)>, now: Timestamp, span: i64) -> u32 {
    q.iter()
        .rev()
        .take_while(|(t, _)| *t >= now - span)
        .map(|(_, n)| n)
        .sum()
}

/// Runs the simulations and collects labelled snapshots.
pub fn generate(config: &HistoryConfig) -> Result<History, sellout_simulator::SimError> {
    let mut history = History::default();
    for &seed in &config.seeds {
        let (lo, hi) = config.hotness;
        let hotness: Vec<f64> = (0..config.events)
            .map(|i| {
                let u = (splitmix(seed ^ (i as u64).wrapping_mul(0x9e37)) >> 11) as f64
                    / (1u64 << 53) as f64;
                (lo + (hi - lo) * u).clamp(0.0, 5.0)
            })
            .collect();
        let sim_config = SimConfig {
            seed,
            events: config.events,
            sale_days: config.sale_days,
            scale: config.scale,
            hotness,
            include_venue_day: false,
            ..SimConfig::default()
        };
        let prices: Arc<dyn PriceSource> = if config.price_factors.is_empty() {
            Arc::new(ListPrices)
        } else {
            // The catalog comes from the config alone: read it from a list-price twin.
            let twin = Simulation::new(sim_config.clone(), Arc::new(ListPrices))?;
            Arc::new(SeededPriceChanges::new(
                seed,
                twin.catalog(),
                &config.price_factors,
            ))
        };
        let mut sim = Simulation::new(sim_config, prices)?;
        let run = collect(&mut sim, config.snapshot_hours, seed);
        history.snapshots.extend(run);
        history.truths.push(sim.truth().clone());
    }
    Ok(history)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Consumes one simulation, snapshotting as its records pass the schedule.
fn collect(sim: &mut Simulation, snapshot_hours: f64, seed: u64) -> Vec<Labelled> {
    let catalog = sim.catalog().clone();
    let truth = sim.truth().clone();
    let mut cats = Vec::new();
    let mut index = BTreeMap::new();
    for (e, event) in catalog.events.iter().enumerate() {
        for c in &event.categories {
            index.insert((event.event_id.clone(), c.category_id.clone()), cats.len());
            cats.push(Cat {
                event: e,
                id: c.category_id.clone(),
                capacity: c.capacity,
                list: c.list_price_minor,
                price: c.list_price_minor,
                sold: 0,
                sales: VecDeque::new(),
                adds: VecDeque::new(),
                sold_out_at: None,
                opening: 0,
            });
        }
    }
    // The schedule of snapshot times per event, ascending; merged into one list.
    let step = ((snapshot_hours.max(0.25)) * HOUR as f64) as i64;
    let mut schedule: Vec<(Timestamp, usize)> = Vec::new();
    for (e, t) in truth.events.iter().enumerate() {
        let open = t.curve.on_sale;
        for m in [15, 30, 60, 120, 240] {
            schedule.push((open + m * MINUTE, e));
        }
        let mut at = open + step;
        while at < t.curve.sales_close {
            if at > open + 240 * MINUTE {
                schedule.push((at, e));
            }
            at += step;
        }
    }
    schedule.sort_unstable();
    let mut posts: Vec<VecDeque<Timestamp>> = vec![VecDeque::new(); catalog.events.len()];
    let mut out = Vec::new();
    let mut next = 0;
    let snap = |now: Timestamp,
                e: usize,
                cats: &mut Vec<Cat>,
                posts: &mut Vec<VecDeque<Timestamp>>,
                out: &mut Vec<Labelled>| {
        let event = &catalog.events[e];
        while posts[e].front().is_some_and(|t| *t < now - HOUR) {
            posts[e].pop_front();
        }
        for c in cats.iter_mut().filter(|c| c.event == e) {
            let hour = now.div_euclid(HOUR) * HOUR;
            while c.sales.front().is_some_and(|(t, _)| *t < hour - WEEK) {
                c.sales.pop_front();
            }
            while c.adds.front().is_some_and(|(t, _)| *t < now - HOUR) {
                c.adds.pop_front();
            }
            let sold = c.sold.clamp(0, i64::from(c.capacity)) as u32;
            if sold >= c.capacity {
                continue;
            }
            out.push(Labelled {
                seed,
                time: now,
                features: SellOutFeatures {
                    event_id: event.event_id.clone(),
                    category_id: c.id.clone(),
                    capacity: c.capacity,
                    sold,
                    remaining: c.capacity - sold,
                    sales_1m: window_sum(&c.sales, now, MINUTE),
                    sales_15m: window_sum(&c.sales, now, 15 * MINUTE),
                    sales_1h: window_sum(&c.sales, now, HOUR),
                    sales_24h: window_sum(&c.sales, now, 24 * HOUR),
                    // As the features job: from the start of the hour a week back.
                    sales_7d: window_sum(&c.sales, now, now - (hour - WEEK)),
                    hours_since_on_sale: (now - event.on_sale) as f64 / HOUR as f64,
                    opening_sold: c.opening,
                    cart_adds_1h: window_sum(&c.adds, now, HOUR),
                    abandonment_rate_24h: 0.0,
                    buzz_posts_1h: posts[e].len() as u32,
                    buzz_sentiment_1h: 0.0,
                    hours_to_event: (event.start - now) as f64 / HOUR as f64,
                    price_minor: c.price,
                    currency: event
                        .categories
                        .first()
                        .map(|k| k.currency.clone())
                        .unwrap_or_default(),
                },
                list_minor: c.list,
                sales_close: truth.events[e].curve.sales_close,
                sold_out_at: None,
            });
        }
    };
    for record in sim.by_ref() {
        let now = record.time();
        while next < schedule.len() && schedule[next].0 <= now {
            let (at, e) = schedule[next];
            snap(at, e, &mut cats, &mut posts, &mut out);
            next += 1;
        }
        match record {
            AnyRecord::Sales(s) => {
                let Some(&k) = index.get(&(s.event_id.clone(), s.category_id.clone())) else {
                    continue;
                };
                let c = &mut cats[k];
                match s.kind {
                    SaleKind::Purchase => {
                        c.sold += i64::from(s.quantity);
                        c.price = s.unit_price_minor;
                        c.sales.push_back((s.time, s.quantity));
                        if s.time < catalog.events[c.event].on_sale + OPENING_HOURS * HOUR {
                            c.opening += s.quantity;
                        }
                        if c.sold >= i64::from(c.capacity) && c.sold_out_at.is_none() {
                            c.sold_out_at = Some(s.time);
                        }
                    }
                    SaleKind::Refund => c.sold -= i64::from(s.quantity),
                    SaleKind::CartAdd => c.adds.push_back((s.time, s.quantity)),
                    _ => {}
                }
            }
            AnyRecord::Social(p) => {
                for id in &p.event_ids {
                    if let Some(e) = catalog.events.iter().position(|ev| ev.event_id == *id) {
                        posts[e].push_back(p.time);
                    }
                }
            }
            _ => {}
        }
    }
    while next < schedule.len() {
        let (at, e) = schedule[next];
        snap(at, e, &mut cats, &mut posts, &mut out);
        next += 1;
    }
    for l in &mut out {
        if let Some(&k) = index.get(&(l.features.event_id.clone(), l.features.category_id.clone()))
        {
            l.sold_out_at = cats[k].sold_out_at;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_has_snapshots_and_both_outcomes() {
        let started = std::time::Instant::now();
        let config = HistoryConfig {
            seeds: vec![5],
            events: 4,
            sale_days: 7.0,
            scale: 0.3,
            hotness: (0.2, 1.5),
            snapshot_hours: 12.0,
            price_factors: Vec::new(),
        };
        let h = generate(&config).unwrap();
        eprintln!("{} snapshots in {:?}", h.snapshots.len(), started.elapsed());
        assert!(h.snapshots.len() > 50);
        assert_eq!(h.truths.len(), 1);
        assert!(h.snapshots.iter().any(|s| s.sold_out_at.is_some()));
        assert!(h.snapshots.iter().any(|s| s.sold_out_at.is_none()));
        assert!(h.snapshots.iter().all(|s| s.features.remaining > 0));
    }
}
