//! The structural forecast behind the sell-out model: the seats a category (or its
//! event) will be asked for within a horizon, split by where they come from, with the
//! uncertainty of each part; and its shortfall against the seats left.
//!
//! Two sources of demand, each with a level inferred from the sales path so far:
//! - **the opening spike**, whose excess pace decays exponentially (the decay time
//!   [`LevelModel::opening_decay_min`] learned from history). What is still to come of
//!   it is `s / (e^(15/τ) − 1)` for `s` the last 15 minutes' sales over the baseline,
//!   whatever the spike's age: the last quarter hour's sales tell how much is left.
//! - **the daily demand** (baseline and late rise): its current level in seats a day,
//!   projected over the horizon with the booking curve's shape ([`crate::shape`]). Past
//!   the first day the last 24 hours read it. On the first day they hold the opening,
//!   so the level is inferred instead: a prior from the opening's size (a regression
//!   learned from history: events that open big keep selling; [`LevelModel::prior`]),
//!   updated gamma–Poisson style with the last hour's sales once the spike has faded.
//!   Past the first day a day's sales are an uneven reading (waves and spikes), weighed
//!   against a prior from the path so far ([`LevelModel::later`]), a noisier one when
//!   above it ([`LevelModel::day_noise_up`]: waves lift days; the last hour likewise,
//!   [`LevelModel::hour_noise_up`]), and against longer
//!   windows: the six days before the last once the sale is a week old (and the days
//!   between the opening hours and that week), and before that the days between the
//!   opening hours and the last day (the features carry the opening's sales and the
//!   on-sale's age).
//! - In the spike's first quarter hour, before checkouts catch up, the share still to
//!   come is read from history instead ([`LevelModel::young_ratio`]).
//!
//! Past the first day the daily part is corrected by a bias learned by days ahead
//! ([`LevelModel::bias`]: a little less than the level says for the next day, a little
//! more for the second week).
//!
//! The forecast's variance adds the compound-Poisson noise of the seats (carts of
//! several seats) to the uncertainty of each level. Its shortfall against the seats
//! left is read on a log-normal law with that mean and variance
//! ([`Forecast::log_normal`]): the seats asked for over the days ahead scatter with a
//! heavier upper tail than a normal law's (waves lift days). The sell-out model reads the
//! resulting shortfall z-scores and coverage as features and calibrates them on
//! history. The constants are learned by [`LevelModel::fit`] (`level_fit.rs`).
//!
//! This module owns the forecast's types: what it learned ([`LevelModel`]), the sales
//! path it reads ([`Path`]) and the forecast itself ([`Forecast`], with its log-normal
//! shortfall). The reading (the spike still to come, [`LevelModel::daily_level`],
//! [`LevelModel::forecast`] and the later prior, [`later_prior`] over [`later_terms`])
//! is in `level_reading.rs`; the horizon bias is learned in `level_bias.rs`.

use sellout_pipelines::output::{OPENING_HOURS, SellOutFeatures};
use serde::{Deserialize, Serialize};

use crate::context::EventContext;

const HOUR_MS: i64 = 3_600_000;
/// Variance of the seats asked for per expected seat (carts of several seats).
const SEAT_DISPERSION: f64 = 3.3;
/// Mean seats per purchase, to turn seat counts into purchase counts.
const SEATS_PER_PURCHASE: f64 = 2.3;

/// What the structural forecast learned from history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelModel {
    /// Minutes for the opening spike's excess pace to fall by a factor e.
    pub opening_decay_min: f64,
    /// `ln(daily seats / capacity)` after the opening ≈ `prior[0] + prior[1] ·
    /// ln(opening seats / capacity)`.
    pub prior: [f64; 2],
    /// Residual standard deviation of that regression (log scale).
    pub prior_sd: f64,
    /// Variance (log scale) of one day's sales as a reading of the daily level beyond
    /// the counting noise: waves and spikes make days uneven.
    #[serde(default)]
    pub day_noise: f64,
    /// Seats still to come of the opening per seat sold when every sale so far fell in
    /// the last 15 minutes (the spike's first minutes, before checkouts catch up).
    #[serde(default)]
    pub young_ratio: f64,
    /// [`Self::day_noise`] of a day read above the later prior (waves lift days, so
    /// such a day tells less of the level; 0: the same as any day).
    #[serde(default)]
    pub day_noise_up: f64,
    /// Past the first day: `ln(daily seats / capacity)` ≈ `later[0] + Σ later[k] ·
    /// x[k − 1]` over [`later_terms`] of the sold share, the days to the event and the
    /// opening's share of the seats, a prior the last day's reading is weighed against
    /// (empty: none; fewer terms: the first ones).
    #[serde(default)]
    pub later: Vec<f64>,
    /// Variance (log scale) of that prior beyond the readings' own noise.
    #[serde(default)]
    pub later_var: f64,
    /// Variance (log scale) of the last hour's sales (over the hour's share of a day)
    /// as a reading of the daily level beyond the counting noise (0: not read). Waves
    /// fade within hours, so the hour is a reading the day's waves mostly miss.
    #[serde(default)]
    pub hour_noise: f64,
    /// [`Self::hour_noise`] of an hour read above the later prior (0: the same).
    #[serde(default)]
    pub hour_noise_up: f64,
    /// Variance (log scale) of the six days before the last one (their sales over the
    /// booking curve's days' worth, [`crate::shape::past_days`]) as a reading of the
    /// daily level beyond the counting noise (0: not read). Read only when the sale
    /// began before them, so they hold no opening.
    #[serde(default)]
    pub week_noise: f64,
    /// [`Self::week_noise`] of the days between the opening and the last day, read
    /// when the sale began within the week (0: not read).
    #[serde(default)]
    pub middle_noise: f64,
    /// [`Self::week_noise`] of the days between the opening and the week, read once
    /// the sale is older than a week and them (0: not read).
    #[serde(default)]
    pub early_noise: f64,
    /// Past the first day, the daily demand's forecast over `k` days is multiplied by
    /// `exp(bias[0] + bias[1] · ln k)`, learned from what later snapshots sold
    /// (`level_bias.rs`; zeros: none).
    #[serde(default)]
    pub bias: [f64; 2],
    /// The share of its siblings' unmet demand a category receives (shoppers who find
    /// a category sold out look at another); chosen by the sell-out model's training.
    #[serde(default)]
    pub spill: f64,
}

impl Default for LevelModel {
    fn default() -> Self {
        Self {
            opening_decay_min: 25.0,
            prior: [-3.0, 0.5],
            prior_sd: 1.0,
            day_noise: 0.0,
            day_noise_up: 0.0,
            young_ratio: 0.0,
            later: Vec::new(),
            later_var: 0.0,
            hour_noise: 0.0,
            hour_noise_up: 0.0,
            week_noise: 0.0,
            middle_noise: 0.0,
            early_noise: 0.0,
            bias: [0.0; 2],
            spill: 0.5,
        }
    }
}

/// The sales path of a category or of an event (its open categories summed).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Path {
    /// Seats of capacity.
    pub capacity: f64,
    /// Seats sold so far (net).
    pub sold: f64,
    /// Seats left.
    pub remaining: f64,
    /// Last 15 minutes' sales.
    pub sales_15m: f64,
    /// Last hour's sales.
    pub sales_1h: f64,
    /// Last 24 hours' sales.
    pub sales_24h: f64,
    /// Last 7 days' sales.
    pub sales_7d: f64,
    /// Hours since the on-sale (0: unknown).
    pub age_hours: f64,
    /// Seats sold in the sale's opening hours
    /// ([`sellout_pipelines::output::OPENING_HOURS`]).
    pub opening: f64,
}

impl Path {
    /// A category's path.
    pub fn of(f: &SellOutFeatures) -> Self {
        Self {
            capacity: f64::from(f.capacity),
            sold: f64::from(f.sold),
            remaining: f64::from(f.remaining),
            sales_15m: f64::from(f.sales_15m),
            sales_1h: f64::from(f.sales_1h),
            sales_24h: f64::from(f.sales_24h),
            sales_7d: f64::from(f.sales_7d),
            age_hours: f.hours_since_on_sale,
            opening: f64::from(f.opening_sold),
        }
    }

    /// An event's path (its open categories).
    pub fn of_event(e: &EventContext) -> Self {
        Self {
            capacity: e.capacity as f64,
            sold: e.sold as f64,
            remaining: e.remaining as f64,
            sales_15m: e.sales_15m as f64,
            sales_1h: e.sales_1h as f64,
            sales_24h: e.sales_24h as f64,
            sales_7d: e.sales_7d as f64,
            age_hours: 0.0,
            opening: e.opening_sold as f64,
        }
    }

    /// Whether all its sales fall in the last 24 hours: the first day of the sale.
    pub fn first_day(&self) -> bool {
        self.sold - self.sales_24h <= (0.02 * self.sold).max(1.0)
    }

    /// The sales between the opening hours and a recent window, with how many hours
    /// back that window starts and their span in hours: before the week's reading
    /// applies, the days up to the last one (back 24 hours); after, the days before
    /// the week (back 168 hours). Only with a span of 6 hours or more: a reading of the
    /// level over days, which one wave day moves less than it moves the last day.
    pub fn middle(&self) -> Option<(f64, f64, f64)> {
        let opening = OPENING_HOURS as f64;
        let (sales, back) = if self.earlier_week().is_none() {
            (self.sold - self.sales_24h - self.opening, 24.0)
        } else {
            (self.sold - self.sales_7d - self.opening, 168.0)
        };
        let span = self.age_hours - back - opening;
        (span >= 6.0).then_some((sales.max(0.0), back, span))
    }

    /// The sales of the six days before the last one when the sale began before them
    /// (so they hold no opening): `sales_7d − sales_24h`.
    pub fn earlier_week(&self) -> Option<f64> {
        let before = self.sold - self.sales_7d;
        (before > (0.02 * self.sold).max(1.0)).then(|| (self.sales_7d - self.sales_24h).max(0.0))
    }
}

/// The forecast of seats asked for within a horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    /// Expected seats.
    pub mean: f64,
    /// Their variance.
    pub variance: f64,
}

impl Forecast {
    /// The log-normal law of the seats asked for plus one with this mean and variance:
    /// the mean and variance of their logarithm. Demand is a level known on a log scale
    /// times days lifted at random by waves, so its upper tail is heavier than a normal
    /// one's and its lower tail lighter (validation runs: 8% of the next days' sales
    /// exceed the mean by two standard deviations, 2.3% would under a normal law; lower
    /// Brier on the validation and extra runs than the normal law's z).
    pub fn log_normal(&self) -> (f64, f64) {
        let mean = self.mean.max(0.0) + 1.0;
        let s2 = (1.0 + (self.variance.max(0.0) + 1.0) / (mean * mean)).ln();
        (mean.ln() - s2 / 2.0, s2)
    }

    /// Standard deviations (of the [`Self::log_normal`] law) by which the forecast
    /// exceeds `left` seats (clamped ±10).
    pub fn shortfall_z(&self, left: f64) -> f64 {
        let (mu, s2) = self.log_normal();
        let z = (mu - (left.max(0.0) + 0.5).ln()) / s2.sqrt();
        if z.is_finite() {
            z.clamp(-10.0, 10.0)
        } else {
            0.0
        }
    }
}

#[path = "level_reading.rs"]
mod reading;
pub use reading::{LATER_TERMS, later_prior, later_terms};

#[path = "level_fit.rs"]
mod fit;

#[path = "level_bias.rs"]
mod bias;

#[cfg(test)]
#[path = "level_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "level_later_tests.rs"]
mod later_tests;
