//! Venue flow: beacon sightings become zone occupancy per minute (the heat map),
//! dwell times, and queue lengths per stand; queues that turn long or short become
//! `queue_long` / `queue_short` signals.
//!
//! An installation is *in* the zone of its latest sighting until it is seen elsewhere
//! or stays silent for `presence_timeout_s`; the time between entering and leaving a
//! zone is its dwell. Queue length at a stand is the latest reading from the stand's
//! queue sensor when one is recent (`reading_max_age_s`), else an estimate: app users
//! who have dwelt at the stand's zone for `waiting_dwell_s` or more, scaled up by the
//! share of attendees who run the app. Waiting minutes are length / (tills × service
//! rate per till) from the catalog.
//!
//! Every figure of a minute is read *as of* that minute, from the records before it:
//! a live runner may have processed sightings and readings far newer than the minute
//! it closes (a dry topic holds the watermark back), and its minutes must be those of
//! a bounded run, which closes them as it reads. So an installation keeps its stay as
//! of the last closed minute plus the sightings since (`presence`), and readings are
//! kept back to what the next minute to close may need.
//!
//! Signals use hysteresis and a cool-down per stand (`queue`) so a queue hovering
//! at a threshold doesn't flap: `queue_long` when the wait reaches
//! `long_wait_minutes` (cleared below `long_clear_minutes`), `queue_short` when it
//! falls to `short_wait_minutes` while at least `short_min_nearby` people are in the
//! venue (cleared above `short_clear_minutes`) — the moment for a voucher.
//!
//! The only per-installation state is each installation's presence (its stay and its
//! sightings not yet folded in); an erased installation is dropped from it at once
//! ([`Job::erase`]), so the next checkpoint no longer holds its id, and the runner
//! feeds no later sighting of it.
//!
//! # Layout
//! - `presence`: an installation's stay as of a minute, and its departures.
//! - `queue`: a stand's queue level with hysteresis and cool-down.

mod presence;
mod queue;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use sellout_ingest::catalog::ZoneKind;
use sellout_ingest::erasure::Erasures;
use sellout_ingest::live_catalog::LiveCatalog;
use sellout_ingest::records::{AnyRecord, Id, Timestamp, Topic};
use serde::{Deserialize, Serialize};

use crate::job::{Emitter, Input, Job, RestoreError, load_state, save_state};
use crate::output::{Feature, FeatureBody, Signal, SignalDetail, ZoneOccupancy, output_id};
use crate::window::Ticker;
use presence::Installation;
use queue::Stand;

const MINUTE: i64 = 60_000;

/// Settings of the venue-flow job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VenueConfig {
    /// Seconds without a sighting after which an installation has left its zone.
    pub presence_timeout_s: u32,
    /// Seconds a queue reading stays the stand's length before estimates take over.
    pub reading_max_age_s: u32,
    /// Seconds at a stand's zone after which an app user counts as waiting.
    pub waiting_dwell_s: u32,
    /// Share of attendees running the app (scales beacon counts up to people).
    pub app_share: f64,
    /// Waiting minutes at which a queue is long.
    pub long_wait_minutes: f64,
    /// Waiting minutes below which a long queue is no longer long.
    pub long_clear_minutes: f64,
    /// Waiting minutes at or below which a queue is short.
    pub short_wait_minutes: f64,
    /// Waiting minutes above which a short queue is no longer short.
    pub short_clear_minutes: f64,
    /// People in the venue needed for a short queue to be worth a signal.
    pub short_min_nearby: u32,
    /// Minutes before a stand can raise the same signal again.
    pub cooldown_minutes: u32,
}

impl Default for VenueConfig {
    fn default() -> Self {
        Self {
            presence_timeout_s: 120,
            reading_max_age_s: 300,
            waiting_dwell_s: 60,
            app_share: 0.2,
            long_wait_minutes: 15.0,
            long_clear_minutes: 10.0,
            short_wait_minutes: 3.0,
            short_clear_minutes: 5.0,
            short_min_nearby: 200,
            cooldown_minutes: 10,
        }
    }
}

impl VenueConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.app_share > 0.0 && self.app_share <= 1.0) {
            return Err(format!(
                "venue.app_share must be in (0, 1], got {}",
                self.app_share
            ));
        }
        if self.long_clear_minutes > self.long_wait_minutes
            || self.short_clear_minutes < self.short_wait_minutes
        {
            return Err("venue: long_clear_minutes must be <= long_wait_minutes and short_clear_minutes >= short_wait_minutes".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Departures {
    left: u32,
    dwell_ms: i64,
}

/// A queue reading: (time, stand, length).
type Reading = (Timestamp, Id, u32);

#[derive(Debug, Serialize, Deserialize)]
struct State {
    installations: FxHashMap<Id, Installation>,
    /// Readings per (venue, zone), oldest first, back to what the next minute needs.
    readings: BTreeMap<(Id, Id), VecDeque<Reading>>,
    stands: BTreeMap<(Id, Id), Stand>,
    minutes: Ticker,
}

impl Default for State {
    fn default() -> Self {
        Self {
            installations: FxHashMap::default(),
            readings: BTreeMap::new(),
            stands: BTreeMap::new(),
            minutes: Ticker::new(MINUTE),
        }
    }
}

/// The venue-flow job.
#[derive(Debug)]
pub struct Venue {
    config: VenueConfig,
    catalog: Arc<LiveCatalog>,
    allowed_lateness_ms: i64,
    state: State,
}

impl Venue {
    /// The job over `catalog`; minutes close `allowed_lateness_ms` behind the watermark.
    pub fn new(config: VenueConfig, catalog: Arc<LiveCatalog>, allowed_lateness_ms: i64) -> Self {
        Self {
            config,
            catalog,
            allowed_lateness_ms,
            state: State::default(),
        }
    }

    /// Closes the minute ending at `tick`; returns whether anyone is in a venue at
    /// it, and the time of the oldest sighting read ahead of it.
    fn tick(&mut self, tick: Timestamp, out: &mut Emitter) -> (bool, Option<Timestamp>) {
        let timeout = i64::from(self.config.presence_timeout_s) * 1000;
        let waiting = i64::from(self.config.waiting_dwell_s) * 1000;
        let state = &mut self.state;
        // Who is where at the tick, and the stays that ended before it (this minute's
        // departures, and any of earlier minutes skipped while nobody was in).
        let mut present: BTreeMap<(Id, Id), (u32, u32)> = BTreeMap::new();
        let mut departures: BTreeMap<(Id, Id), Departures> = BTreeMap::new();
        let mut next_sighting: Option<Timestamp> = None;
        state.installations.retain(|_, installation| {
            let stay = installation.close(tick, timeout, |s, _| {
                let d = departures
                    .entry((s.venue_id.clone(), s.zone_id.clone()))
                    .or_default();
                d.left += 1;
                d.dwell_ms += (s.last_seen - s.entered).max(0);
            });
            if let Some(s) = stay {
                let cell = present
                    .entry((s.venue_id.clone(), s.zone_id.clone()))
                    .or_default();
                cell.0 += 1;
                if tick - s.entered >= waiting {
                    cell.1 += 1;
                }
            }
            if let Some(t) = installation.next_sighting() {
                next_sighting = Some(next_sighting.map_or(t, |n| n.min(t)));
            }
            !installation.is_empty()
        });
        let mut in_venue: BTreeMap<&Id, u32> = BTreeMap::new();
        for ((venue, _), (n, _)) in &present {
            *in_venue.entry(venue).or_default() += n;
        }
        let scale = 1.0 / self.config.app_share;
        // Every zone of every venue with someone in it, so empty zones show as 0.
        let venues: Vec<Id> = in_venue.keys().map(|v| (*v).clone()).collect();
        for venue_id in &venues {
            let catalog = self.catalog.load();
            let Some(venue) = catalog.venue(venue_id) else {
                continue;
            };
            let people_in_venue =
                (f64::from(in_venue.get(venue_id).copied().unwrap_or(0)) * scale).round() as u32;
            for zone in &venue.zones {
                let key = (venue_id.clone(), zone.zone_id.clone());
                let (here, waiting_here) = present.get(&key).copied().unwrap_or((0, 0));
                let gone = departures.get(&key).copied().unwrap_or_default();
                let is_stand =
                    matches!(zone.kind, ZoneKind::Food | ZoneKind::Bar | ZoneKind::Merch);
                let queue = is_stand.then(|| {
                    let max_age = i64::from(self.config.reading_max_age_s) * 1000;
                    // The latest reading before the tick: later ones belong to later minutes.
                    let reading = self.state.readings.get(&key).and_then(|r| {
                        r.iter()
                            .rev()
                            .find(|(at, _, _)| *at < tick && *at >= tick - max_age)
                    });
                    match reading {
                        Some((_, stand, length)) => (stand.clone(), *length, false),
                        None => (
                            zone.zone_id.clone(),
                            (f64::from(waiting_here) * scale).round() as u32,
                            true,
                        ),
                    }
                });
                out.feature(Feature {
                    id: output_id(&[
                        b"venue",
                        venue_id.as_bytes(),
                        zone.zone_id.as_bytes(),
                        &tick.to_le_bytes(),
                    ]),
                    time: tick,
                    body: FeatureBody::Occupancy(ZoneOccupancy {
                        venue_id: venue_id.clone(),
                        zone_id: zone.zone_id.clone(),
                        present: here,
                        left: gone.left,
                        mean_dwell_s: if gone.left > 0 {
                            gone.dwell_ms as f64 / 1000.0 / f64::from(gone.left)
                        } else {
                            0.0
                        },
                        queue_length: queue.as_ref().map(|q| q.1),
                    }),
                });
                if let Some((stand_id, length, estimated)) = queue {
                    let rate = f64::from(zone.tills.max(1)) * zone.service_rate_per_min.max(0.1);
                    let wait = f64::from(length) / rate;
                    self.queue_signal(
                        &key,
                        tick,
                        stand_id,
                        length,
                        wait,
                        people_in_venue,
                        estimated,
                        out,
                    );
                }
            }
        }
        // Later minutes read readings from their own minute back by the maximum age.
        let keep_from = tick + MINUTE - i64::from(self.config.reading_max_age_s) * 1000;
        self.state.readings.retain(|_, readings| {
            while readings.front().is_some_and(|(t, _, _)| *t < keep_from) {
                readings.pop_front();
            }
            !readings.is_empty()
        });
        (!present.is_empty(), next_sighting)
    }

    #[allow(clippy::too_many_arguments)]
    fn queue_signal(
        &mut self,
        key: &(Id, Id),
        tick: Timestamp,
        stand_id: Id,
        length: u32,
        wait: f64,
        nearby: u32,
        estimated: bool,
        out: &mut Emitter,
    ) {
        let stand = self.state.stands.entry(key.clone()).or_default();
        let kind = stand.update(&self.config, tick, wait, nearby);
        if let Some(kind) = kind {
            out.signal(Signal {
                id: output_id(&[
                    b"venue",
                    kind.as_str().as_bytes(),
                    key.0.as_bytes(),
                    key.1.as_bytes(),
                    &tick.to_le_bytes(),
                ]),
                kind,
                time: tick,
                event_id: None,
                category_id: None,
                venue_id: Some(key.0.clone()),
                zone_id: Some(key.1.clone()),
                detail: SignalDetail::Queue {
                    stand_id,
                    length,
                    wait_minutes: (wait * 10.0).round() / 10.0,
                    nearby,
                    estimated,
                },
            });
        }
    }
}

impl Job for Venue {
    fn name(&self) -> &'static str {
        "venue"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Beacons, Topic::Queues]
    }

    fn on_record(&mut self, input: &Input<'_>, _out: &mut Emitter) {
        let time = input.record.time();
        match input.record {
            AnyRecord::Beacons(b) => {
                let timeout = i64::from(self.config.presence_timeout_s) * 1000;
                self.state
                    .installations
                    .entry(b.installation_id.clone())
                    .or_default()
                    .see(time, &b.venue_id, &b.zone_id, timeout);
            }
            AnyRecord::Queues(q) => {
                // Kept until a closed minute makes them too old for the next one.
                let readings = self
                    .state
                    .readings
                    .entry((q.venue_id.clone(), q.zone_id.clone()))
                    .or_default();
                let at = readings.partition_point(|(t, _, _)| *t <= time);
                readings.insert(at, (time, q.stand_id.clone(), q.length));
            }
            AnyRecord::Sales(_) | AnyRecord::Social(_) => return,
        }
        self.state.minutes.start_by(time);
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Emitter) {
        while let Some(tick) = self.state.minutes.due(watermark, self.allowed_lateness_ms) {
            let (anyone, next_sighting) = self.tick(tick, out);
            // Skip silent hours at once: with nobody in any venue there is nothing to
            // tick until the minute of the next sighting (one read ahead, or to come).
            if !anyone {
                self.state.minutes.stop();
                if let Some(t) = next_sighting {
                    self.state.minutes.start(t);
                }
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        save_state(&self.state)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), RestoreError> {
        self.state = load_state(self.name(), bytes)?;
        Ok(())
    }

    fn erase(&mut self, erasures: &Erasures) {
        // Its presence goes without a departure: the zone's counts simply lose it.
        self.state
            .installations
            .retain(|id, _| !erasures.contains(id));
    }
}
