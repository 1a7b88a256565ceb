//! The laws behind an event's announcements and social spikes: how many, when, how
//! strong. The realised waves are in [`crate::truth::EventTruth`]; these laws are what
//! an observer that knows the true parameters but not the realised future can know (the
//! sell-out oracle of the models' evaluation draws future waves from them).

use sellout_streams::Timestamp;

use crate::catalog::MINUTE;
use crate::truth::{SocialSpike, Wave};

/// The law an event's announcements or social spikes are drawn from (the realised ones
/// are in [`crate::truth::EventTruth`]): what an oracle that must not know the realised future knows.
///
/// Count uniform in `count`; times independent and uniform in [`wave_window`]; peak
/// extra multiple of the baseline uniform in `amplitude` times `hotness_base + hotness`
/// (or 1 when `hotness_base` is `None`); minutes (decay of an announcement, arrival lag
/// of a spike) uniform in `minutes`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaveLaw {
    /// Fewest and most waves per event.
    pub count: (u32, u32),
    /// Range of the peak extra multiple of the baseline, before the hotness factor.
    pub amplitude: (f64, f64),
    /// Added to the hotness for the amplitude's factor; `None`: no factor.
    pub hotness_base: Option<f64>,
    /// Range of the decay minutes (announcements) or arrival lag minutes (spikes).
    pub minutes: (f64, f64),
}

impl WaveLaw {
    /// The amplitude's factor for an event of this hotness.
    pub fn hotness_factor(&self, hotness: f64) -> f64 {
        self.hotness_base.map_or(1.0, |b| b + hotness)
    }
}

/// How announcements are drawn ([`crate::truth::Wave`]: `amplitude`, `decay_min`).
pub const ANNOUNCEMENT_LAW: WaveLaw = WaveLaw {
    count: (1, 3),
    amplitude: (2.0, 6.0),
    hotness_base: Some(0.5),
    minutes: (90.0, 240.0),
};

/// How social spikes are drawn ([`crate::truth::SocialSpike`]: `arrival_boost`, `arrival_lag_min`).
pub const SPIKE_LAW: WaveLaw = WaveLaw {
    count: (1, 4),
    amplitude: (1.0, 4.0),
    hotness_base: None,
    minutes: (60.0, 150.0),
};

/// The span (epoch ms, as reals) that announcement and spike times are drawn from: the
/// sale without its first and last tenth.
pub fn wave_window(on_sale: Timestamp, sales_close: Timestamp) -> (f64, f64) {
    let span_min = ((sales_close - on_sale) as f64 / MINUTE as f64).max(60.0);
    (
        on_sale as f64 + 0.1 * span_min * MINUTE as f64,
        sales_close as f64 - 0.1 * span_min * MINUTE as f64,
    )
}

impl Wave {
    /// Extra multiple of the daily arrivals at `t` (0 before the announcement).
    pub fn boost(&self, t: Timestamp) -> f64 {
        if t < self.time {
            return 0.0;
        }
        self.amplitude * (-((t - self.time) as f64 / MINUTE as f64) / self.decay_min).exp()
    }
}

impl SocialSpike {
    /// Extra multiple of the daily arrivals at `t` (0 before the burst).
    pub fn boost(&self, t: Timestamp) -> f64 {
        if t < self.time {
            return 0.0;
        }
        let x = (t - self.time) as f64 / MINUTE as f64 / self.arrival_lag_min;
        self.arrival_boost * x * (1.0 - x).exp()
    }
}
