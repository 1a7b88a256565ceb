//! A stand's queue level with hysteresis and a cool-down, so a queue hovering at a
//! threshold doesn't flap: which `queue_long` / `queue_short` signal a minute raises.

use sellout_ingest::records::Timestamp;
use serde::{Deserialize, Serialize};

use super::{MINUTE, VenueConfig};
use crate::output::SignalKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Level {
    Short,
    Normal,
    Long,
}

/// One stand's queue level and when it last raised each signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Stand {
    level: Level,
    last_long: Option<Timestamp>,
    last_short: Option<Timestamp>,
}

impl Default for Stand {
    fn default() -> Self {
        Self {
            level: Level::Normal,
            last_long: None,
            last_short: None,
        }
    }
}

impl Stand {
    /// Moves the level for a wait of `wait` minutes at `tick` with `nearby` people in
    /// the venue; returns the signal to raise, if any.
    pub fn update(
        &mut self,
        c: &VenueConfig,
        tick: Timestamp,
        wait: f64,
        nearby: u32,
    ) -> Option<SignalKind> {
        let cooldown = i64::from(c.cooldown_minutes) * MINUTE;
        let next = match self.level {
            Level::Long if wait < c.long_clear_minutes => Level::Normal,
            Level::Short if wait > c.short_clear_minutes => Level::Normal,
            level => level,
        };
        let next = if wait >= c.long_wait_minutes {
            Level::Long
        } else if wait <= c.short_wait_minutes && next != Level::Long {
            Level::Short
        } else {
            next
        };
        let mut kind = None;
        if next != self.level {
            match next {
                Level::Long if self.last_long.is_none_or(|t| tick - t >= cooldown) => {
                    self.last_long = Some(tick);
                    kind = Some(SignalKind::QueueLong);
                }
                Level::Short
                    if nearby >= c.short_min_nearby
                        && self.last_short.is_none_or(|t| tick - t >= cooldown) =>
                {
                    self.last_short = Some(tick);
                    kind = Some(SignalKind::QueueShort);
                }
                _ => {}
            }
            self.level = next;
        }
        kind
    }
}
