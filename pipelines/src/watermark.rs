//! Event-time watermarks: how far event time has surely progressed, per source and
//! overall, with bounded out-of-orderness, idle sources, and the late-record test.
//!
//! Each source (an input topic, or later a partition) has a watermark of
//! `max event time seen - max_out_of_orderness`. The pipeline's watermark is the
//! minimum over the *active* sources and never moves back. A source that has not
//! delivered a record for `idle_timeout_ms` of processing time (from the clock the
//! runner is given), or that never delivered one, or that is finished, doesn't hold
//! the watermark back: a quiet social feed must not stall cart expiry.
//!
//! A record is *late* when its time is below `watermark - allowed_lateness_ms`; the
//! runtime routes it to the side output instead of dropping it. Windows close at
//! `end + allowed_lateness_ms`, so every record that is not late still counts.

use sellout_ingest::records::Timestamp;
use serde::{Deserialize, Serialize};

/// Watermark settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatermarkConfig {
    /// How far out of order records of one source may arrive, in milliseconds.
    pub max_out_of_orderness_ms: i64,
    /// How far behind the watermark a record may still be counted, in milliseconds;
    /// older records go to the `late` side output.
    pub allowed_lateness_ms: i64,
    /// Processing time after which a silent source stops holding the watermark back.
    pub idle_timeout_ms: i64,
}

impl Default for WatermarkConfig {
    fn default() -> Self {
        Self {
            max_out_of_orderness_ms: 5_000,
            allowed_lateness_ms: 60_000,
            idle_timeout_ms: 30_000,
        }
    }
}

impl WatermarkConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_out_of_orderness_ms < 0
            || self.allowed_lateness_ms < 0
            || self.idle_timeout_ms <= 0
        {
            return Err(format!(
                "watermark: max_out_of_orderness_ms ({}) and allowed_lateness_ms ({}) must be >= 0 and idle_timeout_ms ({}) > 0",
                self.max_out_of_orderness_ms, self.allowed_lateness_ms, self.idle_timeout_ms
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Source {
    /// Largest event time seen.
    max_time: Option<Timestamp>,
    /// Processing time of the last record.
    last_active_ms: i64,
    /// No more records will come (a bounded input read to its end).
    finished: bool,
}

/// Watermarks of a fixed set of sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watermarks {
    sources: Vec<Source>,
    current: Timestamp,
}

impl Watermarks {
    /// Watermarks for `sources` sources, starting before all time.
    pub fn new(sources: usize) -> Self {
        Self {
            sources: vec![Source::default(); sources],
            current: Timestamp::MIN,
        }
    }

    /// The pipeline's watermark.
    pub fn current(&self) -> Timestamp {
        self.current
    }

    /// True when a record of time `time` is beyond the allowed lateness.
    pub fn is_late(&self, config: &WatermarkConfig, time: Timestamp) -> bool {
        time < self.current.saturating_sub(config.allowed_lateness_ms)
    }

    /// Notes a record of `source` at event time `time`, seen at processing time `now_ms`.
    pub fn observe(&mut self, source: usize, time: Timestamp, now_ms: i64) {
        if let Some(s) = self.sources.get_mut(source) {
            s.max_time = Some(s.max_time.map_or(time, |m| m.max(time)));
            s.last_active_ms = now_ms;
            s.finished = false;
        }
    }

    /// Notes that the next record of `source` (already read, not yet processed) has
    /// event time `time`: a reader that merges sources by event time knows a silent
    /// source has nothing older coming, so it need not hold the watermark back.
    pub fn expect(&mut self, source: usize, time: Timestamp) {
        if let Some(s) = self.sources.get_mut(source) {
            s.max_time = Some(s.max_time.map_or(time, |m| m.max(time)));
        }
    }

    /// Marks `source` as finished: it no longer holds the watermark back.
    pub fn finish(&mut self, source: usize) {
        if let Some(s) = self.sources.get_mut(source) {
            s.finished = true;
        }
    }

    /// Recomputes the watermark at processing time `now_ms`; returns it when it moved.
    pub fn advance(&mut self, config: &WatermarkConfig, now_ms: i64) -> Option<Timestamp> {
        let mut active: Option<Timestamp> = None;
        let mut any: Option<Timestamp> = None;
        for s in &self.sources {
            let Some(max) = s.max_time else { continue };
            let wm = max.saturating_sub(config.max_out_of_orderness_ms);
            any = Some(any.map_or(wm, |a| a.max(wm)));
            let idle = now_ms.saturating_sub(s.last_active_ms) >= config.idle_timeout_ms;
            if !s.finished && !idle {
                active = Some(active.map_or(wm, |a| a.min(wm)));
            }
        }
        // With every source idle or finished, the freshest one leads.
        let candidate = active.or(any)?;
        if candidate > self.current {
            self.current = candidate;
            Some(candidate)
        } else {
            None
        }
    }

    /// Moves the watermark to the largest event time seen (end of a bounded input:
    /// nothing older can come, so every timer due by then fires).
    pub fn finish_all(&mut self) -> Option<Timestamp> {
        self.finish_at(None)
    }

    /// Like [`Watermarks::finish_all`], to at least `end`: the end of an input this
    /// reader saw only part of (one partition of topics whose other partitions other
    /// runners read), so that every part releases the same timers.
    pub fn finish_at(&mut self, end: Option<Timestamp>) -> Option<Timestamp> {
        let seen = self.sources.iter().filter_map(|s| s.max_time).max();
        let max = match (seen, end) {
            (Some(a), Some(b)) => a.max(b),
            (a, b) => a.or(b)?,
        };
        (max > self.current).then(|| {
            self.current = max;
            max
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WatermarkConfig {
        WatermarkConfig {
            max_out_of_orderness_ms: 100,
            allowed_lateness_ms: 1_000,
            idle_timeout_ms: 5_000,
        }
    }

    #[test]
    fn the_slowest_active_source_holds_the_watermark() {
        let c = config();
        let mut w = Watermarks::new(2);
        w.observe(0, 10_000, 0);
        assert_eq!(w.advance(&c, 0), Some(9_900));
        w.observe(1, 5_000, 0);
        // Source 1 is behind: the watermark doesn't move back, and doesn't advance.
        assert_eq!(w.advance(&c, 0), None);
        w.observe(0, 20_000, 1);
        assert_eq!(w.advance(&c, 1), None, "source 1 holds it at 4_900 < 9_900");
        w.observe(1, 15_000, 2);
        assert_eq!(w.advance(&c, 2), Some(14_900));
    }

    #[test]
    fn an_idle_source_stops_holding_the_watermark_back() {
        let c = config();
        let mut w = Watermarks::new(2);
        w.observe(1, 1_000, 0);
        w.observe(0, 50_000, 0);
        assert_eq!(w.advance(&c, 0), Some(900));
        w.observe(0, 60_000, 4_999);
        assert_eq!(w.advance(&c, 4_999), None);
        w.observe(0, 61_000, 5_000);
        assert_eq!(w.advance(&c, 5_000), Some(60_900));
        // It wakes up: it holds the watermark again, which still never goes back.
        w.observe(1, 70_000, 5_001);
        w.observe(0, 90_000, 5_001);
        assert_eq!(w.advance(&c, 5_001), Some(69_900));
    }

    #[test]
    fn a_source_whose_next_record_is_known_releases_the_watermark_up_to_it() {
        let c = config();
        let mut w = Watermarks::new(2);
        w.observe(1, 1_000, 0);
        w.observe(0, 50_000, 0);
        assert_eq!(w.advance(&c, 0), Some(900), "source 1 holds it back");
        // A merging reader sees source 1's next record at 40_000.
        w.expect(1, 40_000);
        assert_eq!(w.advance(&c, 0), Some(39_900));
        assert!(
            !w.is_late(&c, 40_000),
            "the expected record itself is in time"
        );
    }

    #[test]
    fn lateness_is_measured_from_the_watermark() {
        let c = config();
        let mut w = Watermarks::new(1);
        assert!(!w.is_late(&c, i64::MIN + 1));
        w.observe(0, 10_000, 0);
        w.advance(&c, 0);
        assert!(!w.is_late(&c, 8_900));
        assert!(w.is_late(&c, 8_899));
    }

    #[test]
    fn finish_all_releases_every_timer() {
        let c = config();
        let mut w = Watermarks::new(2);
        w.observe(0, 10_000, 0);
        w.observe(1, 3_000, 0);
        w.advance(&c, 0);
        assert_eq!(w.current(), 2_900);
        assert_eq!(w.finish_all(), Some(10_000));
        assert_eq!(w.finish_all(), None);
        assert_eq!(w.finish_at(Some(9_000)), None, "never backwards");
        assert_eq!(w.finish_at(Some(12_000)), Some(12_000));
        assert_eq!(Watermarks::new(1).finish_at(Some(5)), Some(5));
    }
}
