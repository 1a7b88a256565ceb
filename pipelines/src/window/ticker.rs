//! [`Ticker`]: the event-time clock of ticks (minutes, quarter hours) that jobs close
//! behind the watermark.

use sellout_ingest::records::Timestamp;
use serde::{Deserialize, Serialize};

use super::tumbling_start;

/// A clock of event-time ticks every `interval` ms (aligned to 0) that a job closes
/// once the watermark passed them by the allowed lateness, so each closed tick has
/// every record that wasn't routed to the late side output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticker {
    interval: i64,
    next: Option<Timestamp>,
}

impl Ticker {
    /// Ticks every `interval` ms, not started.
    pub fn new(interval: i64) -> Self {
        Self {
            interval: interval.max(1),
            next: None,
        }
    }

    /// Starts ticking (if stopped) with the first tick after `time`.
    pub fn start(&mut self, time: Timestamp) {
        if self.next.is_none() {
            self.next = Some(tumbling_start(time, self.interval) + self.interval);
        }
    }

    /// [`Ticker::start`], or, when running, moves the next tick back to the first after
    /// `time` if that is earlier (a record read after a skip ahead, older than the
    /// record the skip went to). Records are never older than a closed tick, so no
    /// tick closes twice.
    pub fn start_by(&mut self, time: Timestamp) {
        let tick = tumbling_start(time, self.interval) + self.interval;
        self.next = Some(self.next.map_or(tick, |next| next.min(tick)));
    }

    /// Stops until the next [`Ticker::start`] (nothing to close in quiet spells).
    pub fn stop(&mut self) {
        self.next = None;
    }

    /// The next tick closed by `watermark` with `lateness`, advancing past it.
    pub fn due(&mut self, watermark: Timestamp, lateness: i64) -> Option<Timestamp> {
        let tick = self.next?;
        if tick.saturating_add(lateness) > watermark {
            return None;
        }
        self.next = Some(tick + self.interval);
        Some(tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_close_behind_the_watermark_by_the_lateness() {
        let mut t = Ticker::new(60_000);
        assert_eq!(t.due(i64::MAX, 0), None, "not started");
        t.start(61_000);
        t.start(500_000);
        assert_eq!(t.due(129_999, 10_000), None);
        assert_eq!(t.due(130_000, 10_000), Some(120_000));
        assert_eq!(t.due(130_000, 10_000), None);
        assert_eq!(t.due(250_000, 10_000), Some(180_000));
        assert_eq!(t.due(250_000, 10_000), Some(240_000));
        t.stop();
        assert_eq!(t.due(i64::MAX, 0), None);
    }

    #[test]
    fn start_by_starts_or_moves_the_next_tick_back_never_forward() {
        let mut t = Ticker::new(60_000);
        t.start_by(500_000);
        t.start_by(130_000);
        t.start_by(700_000);
        assert_eq!(t.due(i64::MAX, 0), Some(180_000));
        assert_eq!(t.due(i64::MAX, 0), Some(240_000));
    }
}
