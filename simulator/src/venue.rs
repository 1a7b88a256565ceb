//! The venue day: ticket holders arrive, queue, sit, snack at the interval and leave.
//!
//! When sales close, every seat held becomes an attendee (a purchase of four seats is
//! the buyer and three companions); a share of them has the app, with installation ids
//! derived from the buyer's customer id (`ins-000123` for the buyer, `ins-000123-2` for
//! the second seat of their group). Attendees arrive over the two hours before the
//! start (a few queue outside before doors, a few come late), pass a gate, may visit a
//! stand, sit, and at the interval most go to food stands, bars, toilets or the merch
//! stand; they leave in a wave at the end. App phones report the nearest beacon of
//! their zone every `beacon_interval_s`, with an RSSI and a proximity class consistent
//! with it (immediate ≥ −55 dBm, near ≥ −75 dBm, far below; unknown rarely, when weak).
//!
//! Queues: each stand (and gate) serves `tills × service_rate_per_min` people a minute,
//! one person taking a till `1/service_rate` minutes, first come first served. Joining
//! gives a departure time at once, so waiting ≈ people in line / service rate, and a
//! reading every minute reports the people in line. Attendees balk at a wait beyond
//! their patience and try another stand, so queues form but stay believable.

use std::collections::VecDeque;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sellout_ingest::catalog::{Catalog, ZoneKind};
use sellout_ingest::records::{AnyRecord, BeaconRecord, Id, Proximity, QueueRecord};
use sellout_streams::Timestamp;

use crate::catalog::MINUTE;
use crate::onsale::Holder;
use crate::random::{self, streams};
use crate::sim::{Actor, Outbox};

/// When things happen on an event's day, from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayTimes {
    /// Attendees are known (sales frozen); queue readings start.
    pub open: Timestamp,
    /// Doors open.
    pub doors: Timestamp,
    /// The show starts.
    pub start: Timestamp,
    /// The interval starts.
    pub interval: Timestamp,
    /// The interval ends.
    pub interval_end: Timestamp,
    /// The show ends.
    pub end: Timestamp,
    /// Last queue reading; everyone has left.
    pub close: Timestamp,
}

impl DayTimes {
    /// The timetable of a show starting at `start`.
    pub fn of(start: Timestamp) -> Self {
        Self {
            open: start - 150 * MINUTE,
            doors: start - 120 * MINUTE,
            start,
            interval: start + 55 * MINUTE,
            interval_end: start + 75 * MINUTE,
            end: start + 130 * MINUTE,
            close: start + 190 * MINUTE,
        }
    }
}

/// Where an attendee is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Arriving,
    Gate,
    Stand,
    Seat,
    Exit,
    Gone,
}

/// What an attendee in their seat will do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Trip,
    Interval,
    Leave,
}

const GOES_AT_INTERVAL: u8 = 1;
const INTERVAL_DONE: u8 = 2;
const TRIP_DONE: u8 = 4;
const PRE_DONE: u8 = 8;
const SECOND_DONE: u8 = 16;

struct Attendee {
    /// The app installation, when the attendee has the app.
    installation: Option<Id>,
    /// When the next move happens.
    next: Timestamp,
    t_interval: Timestamp,
    t_trip: Timestamp,
    t_leave: Timestamp,
    zone: u16,
    block: u16,
    stage: Stage,
    pending: Pending,
    flags: u8,
    beacon: u8,
    rssi: i8,
}

/// A first-come-first-served queue with a known service capacity.
struct Stand {
    /// One person at one till, ms.
    per_person_ms: i64,
    /// Between two departures at full load, ms.
    gap_ms: f64,
    last_departure: f64,
    departures: VecDeque<Timestamp>,
    opens: Timestamp,
}

impl Stand {
    /// Joins at `t`; the departure time, or `None` when the wait exceeds `patience`.
    fn join(&mut self, t: Timestamp, patience: i64) -> Option<Timestamp> {
        let start = t.max(self.opens);
        let departure =
            ((start + self.per_person_ms) as f64).max(self.last_departure + self.gap_ms);
        if departure as i64 - t > patience {
            return None;
        }
        self.last_departure = departure;
        let departure = departure as Timestamp;
        self.departures.push_back(departure);
        Some(departure)
    }

    /// People in line or being served at `t`.
    fn length(&mut self, t: Timestamp) -> usize {
        while self.departures.front().is_some_and(|&d| d <= t) {
            self.departures.pop_front();
        }
        self.departures.len()
    }
}

struct ZoneState {
    zone_id: Id,
    beacons: Vec<Id>,
    stand: Option<Stand>,
}

/// One event's day at its venue.
struct VenueDay {
    rng: ChaCha8Rng,
    venue_id: Id,
    times: DayTimes,
    zones: Vec<ZoneState>,
    gates: Vec<u16>,
    blocks: Vec<u16>,
    /// Zones by kind: food, bar, merch, toilet.
    stands: [Vec<u16>; 4],
    attendees: Vec<Attendee>,
    present: usize,
}

/// Stand kinds in the order of `VenueDay::stands`.
const FOOD: usize = 0;
const BAR: usize = 1;
const MERCH: usize = 2;
const TOILET: usize = 3;

/// Totals of one event's day.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DayTotals {
    pub attendees: u64,
    pub with_app: u64,
}

/// All venue days.
pub(crate) struct Venues {
    seed: u64,
    app_share: f64,
    interval_ms: i64,
    days: Vec<Option<VenueDay>>,
    totals: Vec<DayTotals>,
}

impl Venues {
    pub(crate) fn new(seed: u64, app_share: f64, beacon_interval_s: u32, events: usize) -> Self {
        Self {
            seed,
            app_share,
            interval_ms: i64::from(beacon_interval_s) * 1000,
            days: (0..events).map(|_| None).collect(),
            totals: vec![DayTotals::default(); events],
        }
    }

    /// Opens the day of event `e` with its ticket holders; schedules arrivals and readings.
    pub(crate) fn open(
        &mut self,
        e: usize,
        catalog: &Catalog,
        mut holders: Vec<Holder>,
        out: &mut Outbox,
    ) {
        let event = &catalog.events[e];
        let Some(venue) = catalog.venue(&event.venue_id) else {
            return;
        };
        let times = DayTimes::of(event.start);
        let mut rng = random::stream(self.seed, streams::VENUE + e as u64);
        let mut zones = Vec::with_capacity(venue.zones.len());
        let mut gates = Vec::new();
        let mut blocks = Vec::new();
        let mut stands: [Vec<u16>; 4] = Default::default();
        for (i, z) in venue.zones.iter().enumerate() {
            let i = i as u16;
            match z.kind {
                ZoneKind::Gate => gates.push(i),
                ZoneKind::Seats => blocks.push(i),
                ZoneKind::Food => stands[FOOD].push(i),
                ZoneKind::Bar => stands[BAR].push(i),
                ZoneKind::Merch => stands[MERCH].push(i),
                ZoneKind::Toilet => stands[TOILET].push(i),
            }
            let stand = (z.tills > 0 && z.service_rate_per_min > 0.0).then(|| Stand {
                per_person_ms: (MINUTE as f64 / z.service_rate_per_min) as i64,
                gap_ms: MINUTE as f64 / (z.service_rate_per_min * f64::from(z.tills)),
                last_departure: 0.0,
                departures: VecDeque::new(),
                opens: times.doors,
            });
            zones.push(ZoneState {
                zone_id: z.zone_id.clone(),
                beacons: z.beacons.clone(),
                stand,
            });
        }
        if gates.is_empty() || blocks.is_empty() {
            return;
        }
        // One attendee list per customer: a customer who bought twice brings both groups.
        holders.sort_by_key(|h| h.customer);
        holders.dedup_by(|later, first| {
            let same = later.customer == first.customer;
            if same {
                first.seats += later.seats;
            }
            same
        });
        let seats: usize = holders.iter().map(|h| h.seats as usize).sum();
        let mut attendees = Vec::with_capacity(seats);
        let mut totals = DayTotals::default();
        for h in &holders {
            let block = blocks[rng.random_range(0..blocks.len())];
            let group_arrival = arrival_time(&mut rng, &times);
            for j in 0..h.seats {
                let has_app = random::unit(&mut rng) < self.app_share;
                let installation = has_app.then(|| installation_id(h.customer, j));
                let arrival = (group_arrival + rng.random_range(0..2 * MINUTE)).max(times.open);
                let t_leave = if random::unit(&mut rng) < 0.04 {
                    times.end - rng.random_range(0..30 * MINUTE)
                } else {
                    times.end
                        + (random::exponential(&mut rng, 6.0 * MINUTE as f64) as i64)
                            .min(40 * MINUTE)
                };
                let t_trip = if random::unit(&mut rng) < 0.12 {
                    let t = times.start
                        + rng.random_range(10 * MINUTE..(times.end - times.start - 15 * MINUTE));
                    if (times.interval..times.interval_end).contains(&t) {
                        t + 20 * MINUTE
                    } else {
                        t
                    }
                } else {
                    Timestamp::MAX
                };
                let t_interval = times.interval
                    + (random::exponential(&mut rng, 1.5 * MINUTE as f64) as i64).min(8 * MINUTE);
                let flags = if random::unit(&mut rng) < 0.65 {
                    GOES_AT_INTERVAL
                } else {
                    0
                };
                totals.attendees += 1;
                totals.with_app += u64::from(has_app);
                out.schedule(
                    arrival,
                    Actor::Attendee {
                        event: e as u16,
                        idx: attendees.len() as u32,
                    },
                );
                attendees.push(Attendee {
                    installation,
                    next: arrival,
                    t_interval,
                    t_trip,
                    t_leave,
                    zone: 0,
                    block,
                    stage: Stage::Arriving,
                    pending: Pending::Leave,
                    flags,
                    beacon: 0,
                    rssi: -70,
                });
            }
        }
        self.totals[e] = totals;
        out.schedule(times.open, Actor::QueueTick(e as u16));
        self.days[e] = Some(VenueDay {
            rng,
            venue_id: venue.venue_id.clone(),
            times,
            zones,
            gates,
            blocks,
            stands,
            present: attendees.len(),
            attendees,
        });
    }

    /// Moves attendee `idx` of event `e` up to `now`; app phones report a beacon.
    /// Returns when the attendee acts next, `None` once gone.
    pub(crate) fn run_attendee(
        &mut self,
        e: usize,
        idx: u32,
        now: Timestamp,
        out: &mut Outbox,
    ) -> Option<Timestamp> {
        let interval = self.interval_ms;
        let day = self.days.get_mut(e)?.as_mut()?;
        let i = idx as usize;
        while day.attendees[i].stage != Stage::Gone && day.attendees[i].next <= now {
            day.advance(i);
        }
        let a = &mut day.attendees[i];
        if a.stage == Stage::Gone {
            day.present -= 1;
            return None;
        }
        let Some(installation) = &a.installation else {
            return Some(a.next);
        };
        let zone = &day.zones[a.zone as usize];
        let rng = &mut day.rng;
        if zone.beacons.len() > 1 && random::unit(rng) < 0.1 {
            a.beacon = rng.random_range(0..zone.beacons.len()) as u8;
        }
        let beacon = &zone.beacons[(a.beacon as usize).min(zone.beacons.len() - 1)];
        let rssi = (i32::from(a.rssi) + rng.random_range(-5..=5)).clamp(-95, -40) as i16;
        let proximity = if rssi >= -55 {
            Proximity::Immediate
        } else if rssi >= -75 {
            Proximity::Near
        } else if rssi <= -88 && random::unit(rng) < 0.1 {
            Proximity::Unknown
        } else {
            Proximity::Far
        };
        out.record(AnyRecord::Beacons(BeaconRecord {
            installation_id: installation.clone(),
            venue_id: day.venue_id.clone(),
            zone_id: zone.zone_id.clone(),
            beacon_id: beacon.clone(),
            rssi,
            proximity,
            time: now,
        }));
        Some(now + interval)
    }

    /// Emits one queue reading per stand of event `e`'s venue; closes the day at the end.
    pub(crate) fn queue_tick(
        &mut self,
        e: usize,
        now: Timestamp,
        out: &mut Outbox,
    ) -> Option<Timestamp> {
        let day = self.days.get_mut(e)?.as_mut()?;
        for zone in &mut day.zones {
            if let Some(stand) = &mut zone.stand {
                let length = stand.length(now) as u32;
                out.record(AnyRecord::Queues(QueueRecord {
                    venue_id: day.venue_id.clone(),
                    zone_id: zone.zone_id.clone(),
                    stand_id: zone.zone_id.clone(),
                    length,
                    time: now,
                }));
            }
        }
        if now + MINUTE > day.times.close {
            // Everyone has left; late timers of this day find nothing and stop.
            self.days[e] = None;
            return None;
        }
        Some(now + MINUTE)
    }

    /// Attendees currently held in memory, over all open days.
    pub(crate) fn attendees_in_memory(&self) -> usize {
        self.days.iter().flatten().map(|d| d.attendees.len()).sum()
    }

    /// Attendees not yet gone, over all open days.
    pub(crate) fn present(&self) -> usize {
        self.days.iter().flatten().map(|d| d.present).sum()
    }

    /// Totals of event `e`'s day (zero before it opens).
    pub(crate) fn totals(&self, e: usize) -> DayTotals {
        self.totals[e]
    }
}

impl VenueDay {
    /// Performs attendee `i`'s next move, at its scheduled time.
    fn advance(&mut self, i: usize) {
        let t = self.attendees[i].next;
        match self.attendees[i].stage {
            Stage::Arriving => {
                let block = self.attendees[i].block;
                let gate = self.gate_of(block);
                let departure = self.zones[gate as usize]
                    .stand
                    .as_mut()
                    .and_then(|s| s.join(t, i64::MAX / 4))
                    .unwrap_or(t + MINUTE);
                let linger = self.rng.random_range(5_000..30_000);
                self.enter(i, gate, Stage::Gate, departure + linger);
            }
            Stage::Gate => {
                let a = &mut self.attendees[i];
                let early = t < self.times.start - 10 * MINUTE;
                if early && a.flags & PRE_DONE == 0 && random::unit(&mut self.rng) < 0.45 {
                    a.flags |= PRE_DONE;
                    let kind = pick(
                        &mut self.rng,
                        &[(FOOD, 0.35), (BAR, 0.40), (MERCH, 0.15), (TOILET, 0.10)],
                    );
                    self.visit(i, kind, t);
                } else {
                    self.seat(i, t);
                }
            }
            Stage::Stand => {
                let a = &mut self.attendees[i];
                let in_interval =
                    a.flags & INTERVAL_DONE != 0 && t < self.times.interval_end + 5 * MINUTE;
                if in_interval && a.flags & SECOND_DONE == 0 && random::unit(&mut self.rng) < 0.25 {
                    a.flags |= SECOND_DONE;
                    let kind = pick(&mut self.rng, &[(TOILET, 0.6), (BAR, 0.4)]);
                    self.visit(i, kind, t);
                } else {
                    self.seat(i, t);
                }
            }
            Stage::Seat => match self.attendees[i].pending {
                Pending::Trip => {
                    self.attendees[i].flags |= TRIP_DONE;
                    let kind = pick(&mut self.rng, &[(BAR, 0.5), (TOILET, 0.5)]);
                    self.visit(i, kind, t);
                }
                Pending::Interval => {
                    self.attendees[i].flags |= INTERVAL_DONE;
                    let kind = pick(
                        &mut self.rng,
                        &[(FOOD, 0.35), (BAR, 0.30), (TOILET, 0.25), (MERCH, 0.10)],
                    );
                    self.visit(i, kind, t);
                }
                Pending::Leave => {
                    let gate = self.gate_of(self.attendees[i].block);
                    let out = t + self.rng.random_range(MINUTE..4 * MINUTE);
                    self.enter(i, gate, Stage::Exit, out);
                }
            },
            Stage::Exit => self.attendees[i].stage = Stage::Gone,
            Stage::Gone => {}
        }
    }

    /// Goes to a stand of `kind` near the attendee's block, or back to the seat if the
    /// queues there are too long.
    fn visit(&mut self, i: usize, kind: usize, t: Timestamp) {
        let n = self.stands[kind].len();
        if n == 0 {
            return self.seat(i, t);
        }
        let block = self.attendees[i].block;
        let ordinal = self.blocks.iter().position(|&z| z == block).unwrap_or(0);
        let near = ordinal * n / self.blocks.len().max(1);
        if kind == TOILET {
            let zone = self.stands[kind][(near + self.rng.random_range(0..2)) % n];
            let until = t + self.rng.random_range(2 * MINUTE..6 * MINUTE);
            return self.enter(i, zone, Stage::Stand, until);
        }
        let patience = self.rng.random_range(8 * MINUTE..25 * MINUTE);
        for attempt in 0..2 {
            let pick = if attempt == 0 {
                (near + self.rng.random_range(0..3)) % n
            } else {
                self.rng.random_range(0..n)
            };
            let zone = self.stands[kind][pick];
            let joined = self.zones[zone as usize]
                .stand
                .as_mut()
                .map(|s| s.join(t, patience));
            match joined {
                Some(Some(departure)) => {
                    let until = departure + self.rng.random_range(30_000..150_000);
                    return self.enter(i, zone, Stage::Stand, until);
                }
                // A stand without tills: just a place to be.
                None => {
                    let until = t + self.rng.random_range(2 * MINUTE..5 * MINUTE);
                    return self.enter(i, zone, Stage::Stand, until);
                }
                // Too long a wait: try another stand, then give up.
                Some(None) => {}
            }
        }
        self.seat(i, t);
    }

    /// Sits down and decides what comes next: a trip, the interval, or leaving.
    fn seat(&mut self, i: usize, t: Timestamp) {
        let times = self.times;
        let a = &self.attendees[i];
        let mut next = (a.t_leave.max(t + MINUTE), Pending::Leave);
        if a.flags & TRIP_DONE == 0 && a.t_trip > t && a.t_trip < next.0 {
            next = (a.t_trip, Pending::Trip);
        }
        if a.flags & GOES_AT_INTERVAL != 0
            && a.flags & INTERVAL_DONE == 0
            && t < times.interval_end - 3 * MINUTE
        {
            let at = a.t_interval.max(t + 30_000);
            if at < next.0 {
                next = (at, Pending::Interval);
            }
        }
        let zone = a.block;
        self.attendees[i].pending = next.1;
        self.enter(i, zone, Stage::Seat, next.0);
    }

    /// Enters `zone` until `until`: picks the nearest beacon and a signal level.
    fn enter(&mut self, i: usize, zone: u16, stage: Stage, until: Timestamp) {
        let beacons = self.zones[zone as usize].beacons.len().max(1);
        let seated = stage == Stage::Seat;
        let a = &mut self.attendees[i];
        a.zone = zone;
        a.stage = stage;
        a.next = until;
        a.beacon = self.rng.random_range(0..beacons) as u8;
        a.rssi = if seated {
            self.rng.random_range(-90..=-55)
        } else {
            self.rng.random_range(-82..=-45)
        };
    }

    /// The gate serving a seating block.
    fn gate_of(&self, block: u16) -> u16 {
        let b = self.blocks.iter().position(|&z| z == block).unwrap_or(0);
        self.gates[b * self.gates.len() / self.blocks.len()]
    }
}

/// The installation id of seat `j` of customer `customer`'s group.
pub fn installation_id(customer: u32, j: u32) -> Id {
    if j == 0 {
        compact_str::format_compact!("ins-{customer:06}")
    } else {
        compact_str::format_compact!("ins-{customer:06}-{}", j + 1)
    }
}

/// When a group arrives: a few before doors, most over the two hours before the start
/// with density rising towards it, a few late.
fn arrival_time(rng: &mut ChaCha8Rng, times: &DayTimes) -> Timestamp {
    let u = random::unit(rng);
    if u < 0.06 {
        times.open + rng.random_range(0..(times.doors - times.open))
    } else if u < 0.94 {
        let x = random::unit(rng).sqrt();
        times.doors + (x * (times.start - times.doors) as f64) as i64
    } else {
        times.start + rng.random_range(0..30 * MINUTE)
    }
}

fn pick(rng: &mut ChaCha8Rng, choices: &[(usize, f64)]) -> usize {
    let total: f64 = choices.iter().map(|c| c.1).sum();
    let mut x = random::unit(rng) * total;
    for &(k, w) in choices {
        if x < w {
            return k;
        }
        x -= w;
    }
    choices[choices.len() - 1].0
}
