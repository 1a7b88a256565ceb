//! The scheduler: actors on a timer heap, and the iterator of records in time order.
//!
//! Everything that happens is an actor waking at a time: the minute step (arrivals and
//! social volume), each shopping session, each post, each attendee, each venue's queue
//! readings. A min-heap of timers (time, then insertion order) wakes them one at a time;
//! an actor emits records stamped with its wake time and schedules itself or others at
//! that time or later, so records come out in non-decreasing time without sorting.
//! Memory is the heap plus the live actors' state: sessions in flight, attendees of a
//! venue day, never the history.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, Topic, time};
use sellout_streams::Timestamp;
use serde::{Deserialize, Serialize};

use crate::catalog::{self, MINUTE};
use crate::onsale::OnSale;
use crate::price::PriceSource;
use crate::social::{EventPulse, PostKind, Social};
use crate::truth::{self, GroundTruth};
use crate::venue::{DayTimes, Venues};
use crate::{SimConfig, SimError};

/// Who wakes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Actor {
    /// The minute step: arrivals and social volume.
    Step,
    /// A shopping session (slot).
    Session(u32),
    /// A social post to write.
    Post { event: u16, kind: PostKind },
    /// Sales of an event are over: its venue day begins.
    VenueOpen(u16),
    /// Queue readings of an event's venue.
    QueueTick(u16),
    /// An attendee of an event.
    Attendee { event: u16, idx: u32 },
}

/// A wake-up; the heap pops the earliest (then the first scheduled).
#[derive(Debug, Clone, Copy)]
struct Timer {
    time: Timestamp,
    seq: u64,
    actor: Actor,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Timer {}

impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timer {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// What an actor produced: records at its wake time, and timers to add.
#[derive(Default)]
pub(crate) struct Outbox {
    records: VecDeque<AnyRecord>,
    timers: Vec<(Timestamp, Actor)>,
}

impl Outbox {
    /// Emits a record (stamped with the current wake time).
    pub(crate) fn record(&mut self, record: AnyRecord) {
        self.records.push_back(record);
    }

    /// Wakes `actor` at `at` (not before the current wake time).
    pub(crate) fn schedule(&mut self, at: Timestamp, actor: Actor) {
        self.timers.push((at, actor));
    }
}

/// A running simulation: an iterator of records in non-decreasing event time.
pub struct Simulation {
    config: SimConfig,
    catalog: Catalog,
    truth: GroundTruth,
    prices: Arc<dyn PriceSource>,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
    heap: BinaryHeap<Timer>,
    seq: u64,
    out: Outbox,
    onsale: OnSale,
    social: Social,
    venues: Venues,
    emitted: [u64; 4],
    peak_timers: usize,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("config", &self.config)
            .field("now", &self.now)
            .field("sizes", &self.state_sizes())
            .finish_non_exhaustive()
    }
}

/// Sizes of the simulation's live state, to check that memory stays bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSizes {
    /// Timers waiting on the heap.
    pub timers: usize,
    /// Most timers ever waiting at once.
    pub peak_timers: usize,
    /// Records produced but not yet returned.
    pub buffered: usize,
    /// Session slots allocated (live or reusable).
    pub session_slots: usize,
    /// Sessions in flight (including those waiting to be refunded).
    pub live_sessions: usize,
    /// Ticket holders kept for coming venue days (bounded by capacity).
    pub holders: usize,
    /// Attendees of open venue days (bounded by capacity).
    pub attendees: usize,
}

/// Counts of what the simulation produced so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    /// Simulated time reached (RFC 3339).
    pub now: String,
    /// Share of the simulated span done, 0..=1.
    pub progress: f64,
    /// Records returned, by topic.
    pub records: BTreeMap<String, u64>,
    /// Records returned, all topics.
    pub records_total: u64,
    /// Shopping sessions started.
    pub sessions: u64,
    /// Carts created.
    pub carts: u64,
    /// Carts that ended without a purchase (removed or expired).
    pub carts_abandoned: u64,
    /// Of those, carts whose seats were removed on purpose (the rest expired).
    pub carts_removed: u64,
    /// Purchases.
    pub purchases: u64,
    /// Refunds.
    pub refunds: u64,
    /// Per event id.
    pub events: BTreeMap<String, EventStats>,
}

/// Counts of one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventStats {
    /// Currency of the revenue.
    pub currency: String,
    /// Sellable seats.
    pub capacity: u64,
    /// Tickets sold, net of refunds.
    pub tickets_sold: u64,
    /// Revenue net of refunds, minor units.
    pub revenue_minor: i64,
    /// When every category had sold out (RFC 3339), if it did.
    pub sold_out_at: Option<String>,
    /// Attendees on the day (0 before the venue day opens).
    pub attendees: u64,
    /// Attendees with the app.
    pub app_attendees: u64,
    /// Per category id.
    pub categories: BTreeMap<String, CategoryStats>,
}

/// Counts of one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryStats {
    /// Sellable seats.
    pub capacity: u32,
    /// Sold, net of refunds.
    pub sold: u32,
    /// Held in carts now.
    pub held: u32,
    /// Revenue net of refunds, minor units.
    pub revenue_minor: i64,
    /// When it first sold out (RFC 3339), if it did.
    pub sold_out_at: Option<String>,
}

impl Simulation {
    /// Builds the catalog and ground truth for `config`; shoppers will ask `price_source`.
    pub fn new(config: SimConfig, price_source: Arc<dyn PriceSource>) -> Result<Self, SimError> {
        config.validate()?;
        let (catalog, infos) = catalog::generate(&config)?;
        let truth = truth::generate(&config, &catalog);
        let from = config.start;
        let to = catalog
            .events
            .iter()
            .map(|e| {
                let day = DayTimes::of(e.start);
                if config.include_venue_day {
                    day.close
                } else {
                    day.end
                }
            })
            .max()
            .unwrap_or(from);
        let times: Vec<(Timestamp, Timestamp)> = catalog
            .events
            .iter()
            .map(|e| {
                let day = DayTimes::of(e.start);
                (day.doors, day.end)
            })
            .collect();
        let onsale = OnSale::new(&config, &catalog, &truth);
        let social = Social::new(config.seed, config.scale, &infos, &truth.events, &times);
        let venues = Venues::new(
            config.seed,
            config.app_share,
            config.beacon_interval_s,
            catalog.events.len(),
        );
        let mut sim = Self {
            config,
            catalog,
            truth,
            prices: price_source,
            from,
            to,
            now: from,
            heap: BinaryHeap::new(),
            seq: 0,
            out: Outbox::default(),
            onsale,
            social,
            venues,
            emitted: [0; 4],
            peak_timers: 0,
        };
        sim.push(from, Actor::Step);
        if sim.config.include_venue_day {
            for (e, event) in sim.catalog.events.iter().enumerate() {
                let open = DayTimes::of(event.start).open;
                sim.heap.push(Timer {
                    time: open,
                    seq: sim.seq,
                    actor: Actor::VenueOpen(e as u16),
                });
                sim.seq += 1;
            }
        }
        Ok(sim)
    }

    /// The generated catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The true parameters of the demand.
    pub fn truth(&self) -> &GroundTruth {
        &self.truth
    }

    /// The config it runs.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The simulated span: the first on-sale to the end of the last event's day.
    pub fn horizon(&self) -> (Timestamp, Timestamp) {
        (self.from, self.to)
    }

    /// Simulated time reached: no later record will be earlier than this.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Share of the simulated span done, 0..=1.
    pub fn progress(&self) -> f64 {
        let span = (self.to - self.from).max(1) as f64;
        ((self.now - self.from) as f64 / span).clamp(0.0, 1.0)
    }

    /// Sizes of the live state.
    pub fn state_sizes(&self) -> StateSizes {
        StateSizes {
            timers: self.heap.len(),
            peak_timers: self.peak_timers,
            buffered: self.out.records.len(),
            session_slots: self.onsale.session_slots(),
            live_sessions: self.onsale.live_sessions(),
            holders: self.onsale.holders(),
            attendees: self.venues.attendees_in_memory(),
        }
    }

    /// Attendees still in (or on their way to) a venue.
    pub fn attendees_present(&self) -> usize {
        self.venues.present()
    }

    /// What was produced so far.
    pub fn stats(&self) -> SimStats {
        let c = self.onsale.counters();
        let mut events = BTreeMap::new();
        for (e, event) in self.catalog.events.iter().enumerate() {
            let cats = self.onsale.category_totals(e);
            let day = self.venues.totals(e);
            let categories = cats
                .iter()
                .map(|k| {
                    let stats = CategoryStats {
                        capacity: k.capacity,
                        sold: k.sold,
                        held: k.held,
                        revenue_minor: k.revenue_minor,
                        sold_out_at: k.sold_out_at.map(time::to_rfc3339),
                    };
                    (k.category_id.clone(), stats)
                })
                .collect();
            let stats = EventStats {
                currency: event
                    .categories
                    .first()
                    .map(|k| k.currency.to_string())
                    .unwrap_or_default(),
                capacity: event.capacity(),
                tickets_sold: self.onsale.tickets_sold(e),
                revenue_minor: cats.iter().map(|k| k.revenue_minor).sum(),
                sold_out_at: self.onsale.sold_out_at(e).map(time::to_rfc3339),
                attendees: day.attendees,
                app_attendees: day.with_app,
                categories,
            };
            events.insert(event.event_id.to_string(), stats);
        }
        SimStats {
            now: time::to_rfc3339(self.now),
            progress: self.progress(),
            records: Topic::ALL
                .iter()
                .zip(self.emitted)
                .map(|(t, n)| (t.as_str().to_owned(), n))
                .collect(),
            records_total: self.emitted.iter().sum(),
            sessions: c.sessions,
            carts: c.carts,
            carts_abandoned: c.carts_abandoned,
            carts_removed: c.carts_removed,
            purchases: c.purchases,
            refunds: c.refunds,
            events,
        }
    }

    fn push(&mut self, time: Timestamp, actor: Actor) {
        self.heap.push(Timer {
            time,
            seq: self.seq,
            actor,
        });
        self.seq += 1;
    }

    /// Wakes the earliest actor; `false` when the simulation is over.
    fn wake(&mut self) -> bool {
        let Some(&top) = self.heap.peek() else {
            return false;
        };
        if top.time > self.to {
            self.heap = BinaryHeap::new();
            return false;
        }
        self.now = self.now.max(top.time);
        let again = self.run(top.time, top.actor);
        match again {
            Some(t) => {
                debug_assert!(t >= top.time, "{:?} rescheduled into the past", top.actor);
                if let Some(mut slot) = self.heap.peek_mut() {
                    // Re-arming the top in place costs one sift instead of a pop and a push.
                    slot.time = t;
                    slot.seq = self.seq;
                    self.seq += 1;
                }
            }
            None => {
                self.heap.pop();
            }
        }
        let mut timers = std::mem::take(&mut self.out.timers);
        for (t, actor) in timers.drain(..) {
            debug_assert!(t >= top.time, "{actor:?} scheduled into the past");
            self.push(t, actor);
        }
        self.out.timers = timers;
        self.peak_timers = self.peak_timers.max(self.heap.len());
        true
    }

    /// Runs one actor at `now`; returns when it wakes again.
    fn run(&mut self, now: Timestamp, actor: Actor) -> Option<Timestamp> {
        match actor {
            Actor::Step => {
                self.onsale.arrivals(now, &mut self.out);
                if self.config.include_social {
                    for e in 0..self.catalog.events.len() {
                        let pulse = EventPulse {
                            purchases: self.onsale.take_minute_purchases(e),
                            sold_out_at: self.onsale.sold_out_at(e),
                            tickets: self.onsale.tickets_sold(e),
                        };
                        self.social
                            .step(e, now, &self.truth.events[e], pulse, &mut self.out);
                    }
                }
                let next = now + MINUTE;
                (next <= self.to).then_some(next)
            }
            Actor::Session(slot) => {
                self.onsale
                    .run_session(slot, now, &*self.prices, &mut self.out)
            }
            Actor::Post { event, kind } => {
                let e = usize::from(event);
                let ratio = if kind == PostKind::Buzz {
                    self.onsale.price_ratio(e, now, &*self.prices)
                } else {
                    1.0
                };
                self.social.post(e, kind, now, ratio, &mut self.out);
                None
            }
            Actor::VenueOpen(event) => {
                let e = usize::from(event);
                let holders = self.onsale.take_holders(e);
                self.venues.open(e, &self.catalog, holders, &mut self.out);
                None
            }
            Actor::QueueTick(event) => {
                self.venues
                    .queue_tick(usize::from(event), now, &mut self.out)
            }
            Actor::Attendee { event, idx } => {
                self.venues
                    .run_attendee(usize::from(event), idx, now, &mut self.out)
            }
        }
    }
}

impl Iterator for Simulation {
    type Item = AnyRecord;

    fn next(&mut self) -> Option<AnyRecord> {
        loop {
            if let Some(record) = self.out.records.pop_front() {
                let slot = match record.topic() {
                    Topic::Sales => 0,
                    Topic::Beacons => 1,
                    Topic::Social => 2,
                    Topic::Queues => 3,
                };
                self.emitted[slot] += 1;
                return Some(record);
            }
            if !self.wake() {
                return None;
            }
        }
    }
}
