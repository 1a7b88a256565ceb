//! Presence as of a minute: an installation's stay (zone, entered, last seen) built
//! from its sightings *before* the minute being closed, whatever was read ahead.
//!
//! A live runner may process sightings far newer than the minute it closes next (a
//! dry topic holds the watermark), so an installation keeps its stay as of the last
//! closed minute plus the sightings since, and [`Installation::close`] folds in only
//! those before the minute it closes. Sightings are kept back to the oldest minute
//! still to close, no further; within one minute, a sighting between two of the same
//! zone less than the presence timeout apart changes nothing and is dropped.
//!
//! A stay ends when the installation is seen in another zone (at that sighting) or
//! goes unseen for longer than the presence timeout (at its last sighting plus the
//! timeout); a sighting after such a silence starts a new stay, even in the same zone.

use std::collections::VecDeque;

use sellout_ingest::records::{Id, Timestamp};
use serde::{Deserialize, Serialize};

use super::MINUTE;
use crate::window::tumbling_start;

/// One installation in one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Stay {
    /// The venue of the zone.
    pub venue_id: Id,
    /// The zone.
    pub zone_id: Id,
    /// The first sighting of the stay.
    pub entered: Timestamp,
    /// The latest sighting of the stay.
    pub last_seen: Timestamp,
}

/// A sighting: (time, venue, zone).
type Sighting = (Timestamp, Id, Id);

/// One installation's stay as of the last closed minute and its sightings since.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Installation {
    /// The stay as of the last closed minute (from the sightings before it).
    stay: Option<Stay>,
    /// Sightings not yet folded into the stay, oldest first.
    recent: VecDeque<Sighting>,
}

impl Installation {
    /// Notes a sighting at `time` in `zone_id` of `venue_id`.
    pub fn see(&mut self, time: Timestamp, venue_id: &Id, zone_id: &Id, timeout_ms: i64) {
        let at = self.recent.partition_point(|(t, _, _)| *t <= time);
        if at == self.recent.len() && at >= 2 {
            // In order: the previous sighting is redundant when it lies between two of
            // the same zone, in the same minute, within the timeout of each other (no
            // tick falls between them and no gap among them reaches the timeout).
            let (first, last) = (&self.recent[at - 2], &self.recent[at - 1]);
            let same = |s: &Sighting| s.1 == *venue_id && s.2 == *zone_id;
            if same(first)
                && same(last)
                && tumbling_start(first.0, MINUTE) == tumbling_start(time, MINUTE)
                && time - first.0 <= timeout_ms
            {
                self.recent[at - 1].0 = time;
                return;
            }
        }
        self.recent
            .insert(at, (time, venue_id.clone(), zone_id.clone()));
    }

    /// Folds in the sightings before `tick` and ends a stay silent for longer than
    /// `timeout_ms` by then; `depart` hears of each stay that ended, with when. Returns
    /// the stay at `tick`, if any.
    pub fn close(
        &mut self,
        tick: Timestamp,
        timeout_ms: i64,
        mut depart: impl FnMut(&Stay, Timestamp),
    ) -> Option<&Stay> {
        while self.recent.front().is_some_and(|(t, _, _)| *t < tick) {
            let Some((time, venue_id, zone_id)) = self.recent.pop_front() else {
                break;
            };
            match &mut self.stay {
                Some(s) if s.last_seen.saturating_add(timeout_ms) < time => {
                    depart(s, s.last_seen.saturating_add(timeout_ms));
                }
                Some(s) if s.venue_id == venue_id && s.zone_id == zone_id => {
                    s.last_seen = s.last_seen.max(time);
                    continue;
                }
                Some(s) => depart(s, time),
                None => {}
            }
            self.stay = Some(Stay {
                venue_id,
                zone_id,
                entered: time,
                last_seen: time,
            });
        }
        if let Some(s) = &self.stay
            && s.last_seen.saturating_add(timeout_ms) < tick
        {
            depart(s, s.last_seen.saturating_add(timeout_ms));
            self.stay = None;
        }
        self.stay.as_ref()
    }

    /// The time of the oldest sighting not yet folded in.
    pub fn next_sighting(&self) -> Option<Timestamp> {
        self.recent.front().map(|(t, _, _)| *t)
    }

    /// True when there is nothing left to know: no stay, no sighting to come.
    pub fn is_empty(&self) -> bool {
        self.stay.is_none() && self.recent.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: i64 = 120_000;

    fn id(s: &str) -> Id {
        Id::from(s)
    }

    /// A stay's (zone, entered).
    type Seen = Option<(String, Timestamp)>;
    /// A departure's (zone, at, dwell).
    type Gone = (String, Timestamp, i64);

    /// The stays at each tick and the departures before each.
    fn replay(i: &mut Installation, ticks: &[Timestamp]) -> Vec<(Seen, Vec<Gone>)> {
        ticks
            .iter()
            .map(|&tick| {
                let mut gone = Vec::new();
                let stay = i
                    .close(tick, TIMEOUT, |s, at| {
                        gone.push((s.zone_id.to_string(), at, s.last_seen - s.entered));
                    })
                    .map(|s| (s.zone_id.to_string(), s.entered));
                (stay, gone)
            })
            .collect()
    }

    #[test]
    fn a_stay_at_a_tick_ignores_sightings_at_or_after_it() {
        let mut i = Installation::default();
        i.see(10_000, &id("v"), &id("a"), TIMEOUT);
        i.see(70_000, &id("v"), &id("a"), TIMEOUT);
        // Read ahead of the 1:00 and 2:00 ticks: a move at 2:30.
        i.see(150_000, &id("v"), &id("b"), TIMEOUT);
        let got = replay(&mut i, &[60_000, 120_000, 180_000]);
        assert_eq!(got[0], (Some(("a".into(), 10_000)), vec![]));
        assert_eq!(got[1], (Some(("a".into(), 10_000)), vec![]));
        assert_eq!(
            got[2],
            (
                Some(("b".into(), 150_000)),
                vec![("a".into(), 150_000, 60_000)]
            )
        );
        assert!(!i.is_empty());
    }

    #[test]
    fn a_silence_longer_than_the_timeout_ends_the_stay_even_in_the_same_zone() {
        let mut i = Installation::default();
        i.see(10_000, &id("v"), &id("a"), TIMEOUT);
        i.see(20_000, &id("v"), &id("a"), TIMEOUT);
        // Silent for 160 s, then back in the same zone: read before any tick.
        i.see(180_000, &id("v"), &id("a"), TIMEOUT);
        let got = replay(&mut i, &[60_000, 120_000, 180_000, 240_000]);
        assert_eq!(got[1].0, Some(("a".into(), 10_000)), "20 s + 120 s >= 2:00");
        assert_eq!(
            got[2],
            (None, vec![("a".into(), 140_000, 10_000)]),
            "gone at 2:20; 3:00 itself is not before the 3:00 tick"
        );
        assert_eq!(got[3], (Some(("a".into(), 180_000)), vec![]));
    }

    #[test]
    fn dropping_a_redundant_sighting_changes_no_tick() {
        let times = [61_000, 70_000, 80_000, 95_000, 119_000, 125_000, 300_000];
        let ticks = [
            60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000,
        ];
        let mut all = Installation::default();
        let mut kept = Installation::default();
        for t in times {
            all.recent.push_back((t, id("v"), id("a")));
            kept.see(t, &id("v"), &id("a"), TIMEOUT);
        }
        assert!(kept.recent.len() < all.recent.len());
        assert_eq!(replay(&mut kept, &ticks), replay(&mut all, &ticks));
        assert!(kept.is_empty() && all.is_empty());
    }

    #[test]
    fn sightings_read_out_of_order_fold_in_time_order() {
        let mut i = Installation::default();
        i.see(100_000, &id("v"), &id("b"), TIMEOUT);
        i.see(30_000, &id("v"), &id("a"), TIMEOUT);
        assert_eq!(i.next_sighting(), Some(30_000));
        let got = replay(&mut i, &[120_000]);
        assert_eq!(
            got[0],
            (Some(("b".into(), 100_000)), vec![("a".into(), 100_000, 0)])
        );
    }
}
